"""postStart/preStop handlers: exec through a fake ExecSync, httpGet against a local server, sleep."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kybernetes.kubelet.prober.lifecycle import format_pod, post_start_error, run_handler

from .servers import CLOSED_PORT, HTTP_PORT, http_servers
from .test_handlers import FakeExec

POD: dict[str, Any] = {"metadata": {"name": "web", "namespace": "default", "uid": "u-1"},
                       "status": {"podIP": "127.0.0.1"}}
CONTAINER: dict[str, Any] = {"name": "app", "ports": [{"name": "http", "containerPort": HTTP_PORT}]}
WHERE = 'for Container "app" in Pod "web_default(u-1)"'


@pytest.fixture
async def seen_headers() -> AsyncIterator[list[dict[str, str]]]:
    async with http_servers() as seen:
        yield seen


EXEC_CASES = [
    ("exit-0", FakeExec(stdout=b"hi"), None),
    ("exit-2", FakeExec(code=2, stdout=b"out", stderr=b"bad"),
     f"Exec lifecycle hook ([sh -c boom]) {WHERE} failed - error: command 'sh -c boom' exited with 2: bad, "
     'message: "outbad"'),
    ("runtime-error", FakeExec(error=RuntimeError("no such container")),
     f'Exec lifecycle hook ([sh -c boom]) {WHERE} failed - error: no such container, message: ""'),
    ("grace-period-over", FakeExec(delay=5),
     f'Exec lifecycle hook ([sh -c boom]) {WHERE} failed - error: command "sh -c boom" timed out, message: ""'),
]


@pytest.mark.parametrize(("fake", "expected"), [c[1:] for c in EXEC_CASES], ids=[c[0] for c in EXEC_CASES])
async def test_exec_hook(fake: FakeExec, expected: str | None) -> None:
    handler = {"exec": {"command": ["sh", "-c", "boom"]}}
    assert await run_handler(handler, POD, CONTAINER, "cid-1", exec_sync=fake, timeout=0.2) == expected
    assert fake.calls == [("cid-1", ["sh", "-c", "boom"], 0.0)]


HTTP_CASES = [
    ("200", {"path": "/ok", "port": HTTP_PORT}, POD, None),
    ("500-still-succeeds", {"path": "/status/500", "port": "http"}, POD, None),
    ("https-falls-back-to-http", {"path": "/ok", "port": HTTP_PORT, "scheme": "HTTPS"}, POD, None),
    ("refused", {"path": "/hook", "port": CLOSED_PORT}, POD,
     f"HTTP lifecycle hook (/hook) {WHERE} failed - error: Get \"http://127.0.0.1:{CLOSED_PORT}/hook\": "
     f"dial tcp 127.0.0.1:{CLOSED_PORT}: connect: connection refused"),
    ("no-pod-ip", {"path": "/ok", "port": HTTP_PORT}, {**POD, "status": {}},
     f"HTTP lifecycle hook (/ok) {WHERE} failed - error: failed to find networking container"),
    ("explicit-host-without-pod-ip", {"path": "/ok", "port": HTTP_PORT, "host": "127.0.0.1"}, {**POD, "status": {}},
     None),
    ("unknown-port-name", {"path": "/ok", "port": "admin"}, POD,
     f"HTTP lifecycle hook (/ok) {WHERE} failed - error: port admin not found"),
]


@pytest.mark.parametrize(("action", "pod", "expected"), [c[1:] for c in HTTP_CASES], ids=[c[0] for c in HTTP_CASES])
async def test_http_hook(seen_headers: list[dict[str, str]], action: dict[str, Any], pod: dict[str, Any],
                         expected: str | None) -> None:
    assert await run_handler({"httpGet": action}, pod, CONTAINER, "cid", exec_sync=FakeExec(),
                             timeout=2) == expected


async def test_http_hook_user_agent(seen_headers: list[dict[str, str]]) -> None:
    assert await run_handler({"httpGet": {"path": "/ok", "port": HTTP_PORT}}, POD, CONTAINER, "cid",
                             exec_sync=FakeExec()) is None
    assert seen_headers[-1]["User-Agent"] == "kube-lifecycle/1.32"


async def test_sleep_hook_waits() -> None:
    start = time.monotonic()
    assert await run_handler({"sleep": {"seconds": 1}}, POD, CONTAINER, "cid", exec_sync=FakeExec()) is None
    assert time.monotonic() - start >= 0.95


async def test_sleep_hook_cut_by_grace_period() -> None:
    message = await run_handler({"sleep": {"seconds": 30}}, POD, CONTAINER, "cid", exec_sync=FakeExec(), timeout=0.1)
    assert message == (f"Sleep lifecycle hook (30) {WHERE} failed - "
                       "error: container terminated before sleep hook finished")


async def test_invalid_handler() -> None:
    message = await run_handler({}, POD, CONTAINER, "cid", exec_sync=FakeExec())
    assert message is not None and message.startswith("Cannot run handler: invalid handler")


def test_format_pod_and_post_start_error() -> None:
    assert format_pod(POD) == "web_default(u-1)"
    assert post_start_error("app", 'boom "x"') == \
        'failed to "StartContainer" for "app" with PostStartHookError: "boom \\"x\\""'
