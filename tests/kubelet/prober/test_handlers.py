"""Each probe handler against real local servers (HTTP, HTTPS, TCP, gRPC) and a fake ExecSync."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from kybernetes.kubelet.prober import grpc_health
from kybernetes.kubelet.prober.handlers import (
    MAX_OUTPUT,
    Outcome,
    ProbeResult,
    build_http_request,
    go_duration,
    probe_exec,
    resolve_port,
    run_probe,
)

from .servers import (
    CLOSED_PORT,
    GRPC_BARE_PORT,
    GRPC_PORT,
    HTTP_PORT,
    HTTPS_PORT,
    grpc_servers,
    http_servers,
)

CONTAINER: dict[str, Any] = {"name": "app", "ports": [{"name": "http", "containerPort": HTTP_PORT},
                                                     {"name": "web", "containerPort": 8080}]}


async def _never(container_id: str, cmd: list[str], timeout: float) -> tuple[int, bytes, bytes]:
    raise AssertionError("exec_sync must not be called")


async def probe(spec: dict[str, Any], *, timeout: float = 1.0, exec_sync: Any = _never) -> ProbeResult:
    return await run_probe(spec, container=CONTAINER, container_id="cid", pod_ip="127.0.0.1",
                           exec_sync=exec_sync, timeout=timeout)


@pytest.fixture
async def seen_headers() -> AsyncIterator[list[dict[str, str]]]:
    async with http_servers() as seen:
        yield seen


# -- httpGet ----------------------------------------------------------------------------------

HTTP_CASES = [
    ("200", {"path": "/ok", "port": HTTP_PORT}, Outcome.SUCCESS, "ok body"),
    ("204", {"path": "/status/204", "port": HTTP_PORT}, Outcome.SUCCESS, ""),
    ("path-without-slash", {"path": "ok", "port": HTTP_PORT}, Outcome.SUCCESS, "ok body"),
    ("redirect-same-host-followed", {"path": "/redirect-same", "port": HTTP_PORT}, Outcome.SUCCESS, "ok body"),
    ("redirect-other-host-warns", {"path": "/redirect-other", "port": HTTP_PORT}, Outcome.WARNING,
     "Probe terminated redirects, Response body: moved away"),
    ("302-without-location", {"path": "/status/302", "port": HTTP_PORT}, Outcome.WARNING,
     "Probe terminated redirects, Response body: status body"),
    ("redirect-loop", {"path": "/loop", "port": HTTP_PORT}, Outcome.FAILURE,
     f'Get "http://127.0.0.1:{HTTP_PORT}/loop": stopped after 10 redirects'),
    ("399-is-success", {"path": "/status/399", "port": HTTP_PORT}, Outcome.WARNING,
     "Probe terminated redirects, Response body: status body"),
    ("400", {"path": "/status/400", "port": HTTP_PORT}, Outcome.FAILURE, "HTTP probe failed with statuscode: 400"),
    ("500", {"path": "/status/500", "port": HTTP_PORT}, Outcome.FAILURE, "HTTP probe failed with statuscode: 500"),
    ("timeout", {"path": "/slow", "port": HTTP_PORT}, Outcome.FAILURE,
     f'Get "http://127.0.0.1:{HTTP_PORT}/slow": context deadline exceeded '
     "(Client.Timeout exceeded while awaiting headers)"),
    ("named-port", {"path": "/ok", "port": "http"}, Outcome.SUCCESS, "ok body"),
    ("numeric-string-port", {"path": "/ok", "port": str(HTTP_PORT)}, Outcome.SUCCESS, "ok body"),
    ("unknown-named-port", {"path": "/ok", "port": "metrics"}, Outcome.UNKNOWN, "port metrics not found"),
    ("connection-refused", {"path": "/", "port": CLOSED_PORT}, Outcome.FAILURE,
     f'Get "http://127.0.0.1:{CLOSED_PORT}/": dial tcp 127.0.0.1:{CLOSED_PORT}: connect: connection refused'),
    ("https-self-signed", {"path": "/ok", "port": HTTPS_PORT, "scheme": "HTTPS"}, Outcome.SUCCESS, "ok body"),
    ("explicit-host", {"path": "/ok", "port": HTTP_PORT, "host": "localhost"}, Outcome.SUCCESS, "ok body"),
]


@pytest.mark.parametrize(("action", "outcome", "output"), [c[1:] for c in HTTP_CASES],
                         ids=[c[0] for c in HTTP_CASES])
async def test_http_probe(seen_headers: list[dict[str, str]], action: dict[str, Any],
                          outcome: Outcome, output: str) -> None:
    result = await probe({"httpGet": action}, timeout=0.5)
    assert result == ProbeResult(outcome, output)


async def test_http_default_headers(seen_headers: list[dict[str, str]]) -> None:
    assert (await probe({"httpGet": {"path": "/ok", "port": HTTP_PORT}})).ok
    headers = seen_headers[-1]
    assert headers["User-Agent"] == "kube-probe/1.32"
    assert headers["Accept"] == "*/*"
    assert headers["Host"] == f"127.0.0.1:{HTTP_PORT}"


async def test_http_header_overrides(seen_headers: list[dict[str, str]]) -> None:
    action = {"path": "/ok", "port": HTTP_PORT, "httpHeaders": [
        {"name": "Host", "value": "example.test"},
        {"name": "X-Custom", "value": "yes"},
        {"name": "User-Agent", "value": "mine/1"},
        {"name": "Accept", "value": ""}]}
    assert (await probe({"httpGet": action})).ok
    headers = seen_headers[-1]
    assert headers["Host"] == "example.test"
    assert headers["X-Custom"] == "yes"
    assert headers["User-Agent"] == "mine/1"
    assert "Accept" not in headers


async def test_http_body_capped_at_10k(seen_headers: list[dict[str, str]]) -> None:
    result = await probe({"httpGet": {"path": "/big", "port": HTTP_PORT}})
    assert result.outcome is Outcome.SUCCESS
    assert len(result.output) == MAX_OUTPUT


BUILD_CASES = [
    ("defaults", {"port": 80}, "10.42.0.5", "http://10.42.0.5:80/"),
    ("https-scheme", {"port": 443, "scheme": "HTTPS", "path": "/h"}, "10.42.0.5", "https://10.42.0.5:443/h"),
    ("query-kept", {"port": 80, "path": "/h?a=b&c"}, "10.42.0.5", "http://10.42.0.5:80/h?a=b&c"),
    ("ipv6-pod-ip", {"port": "web", "path": "/"}, "fd00::5", "http://[fd00::5]:8080/"),
]


@pytest.mark.parametrize(("action", "pod_ip", "url"), [c[1:] for c in BUILD_CASES], ids=[c[0] for c in BUILD_CASES])
def test_build_http_request_url(action: dict[str, Any], pod_ip: str, url: str) -> None:
    assert build_http_request(action, container=CONTAINER, pod_ip=pod_ip).url == url


PORT_CASES = [
    ("int", 80, 80),
    ("named", "web", 8080),
    ("numeric-string", "81", 81),
    ("unknown-name", "nope", "port nope not found"),
    ("zero", 0, "invalid port number: 0"),
    ("too-big", 70000, "invalid port number: 70000"),
]


@pytest.mark.parametrize(("port", "expected"), [c[1:] for c in PORT_CASES], ids=[c[0] for c in PORT_CASES])
def test_resolve_port(port: Any, expected: int | str) -> None:
    if isinstance(expected, int):
        assert resolve_port(port, CONTAINER) == expected
    else:
        with pytest.raises(ValueError, match=expected):
            resolve_port(port, CONTAINER)


# -- tcpSocket --------------------------------------------------------------------------------

TCP_CASES = [
    ("open", {"port": HTTP_PORT}, ProbeResult(Outcome.SUCCESS, "")),
    ("named-port", {"port": "http"}, ProbeResult(Outcome.SUCCESS, "")),
    ("closed", {"port": CLOSED_PORT},
     ProbeResult(Outcome.FAILURE, f"dial tcp 127.0.0.1:{CLOSED_PORT}: connect: connection refused")),
    ("unknown-named-port", {"port": "nope"}, ProbeResult(Outcome.UNKNOWN, "port nope not found")),
]


@pytest.mark.parametrize(("action", "expected"), [c[1:] for c in TCP_CASES], ids=[c[0] for c in TCP_CASES])
async def test_tcp_probe(seen_headers: list[dict[str, str]], action: dict[str, Any], expected: ProbeResult) -> None:
    assert await probe({"tcpSocket": action}) == expected


# -- grpc -------------------------------------------------------------------------------------

GRPC_CASES = [
    ("serving-default-service", {"port": GRPC_PORT}, ProbeResult(Outcome.SUCCESS, "service healthy")),
    ("serving-named-service", {"port": GRPC_PORT, "service": "good"}, ProbeResult(Outcome.SUCCESS, "service healthy")),
    ("not-serving", {"port": GRPC_PORT, "service": "bad"},
     ProbeResult(Outcome.FAILURE, 'service unhealthy (responded with "NOT_SERVING")')),
    ("service-unknown-status", {"port": GRPC_PORT, "service": "gone"},
     ProbeResult(Outcome.FAILURE, 'service unhealthy (responded with "SERVICE_UNKNOWN")')),
    ("rpc-error", {"port": GRPC_PORT, "service": "missing"},
     ProbeResult(Outcome.FAILURE, "error: health rpc probe failed: rpc error: code = NotFound desc = unknown service")),
    ("unimplemented", {"port": GRPC_BARE_PORT},
     ProbeResult(Outcome.FAILURE, "error: this server does not implement the grpc health protocol "
                                  "(grpc.health.v1.Health): Method not found!")),
    ("nothing-listening", {"port": CLOSED_PORT},
     ProbeResult(Outcome.FAILURE, f'timeout: failed to connect service "127.0.0.1:{CLOSED_PORT}" '
                                  "within 300ms: context deadline exceeded")),
]


@pytest.mark.parametrize(("action", "expected"), [c[1:] for c in GRPC_CASES], ids=[c[0] for c in GRPC_CASES])
async def test_grpc_probe(action: dict[str, Any], expected: ProbeResult) -> None:
    statuses = {"": grpc_health.SERVING, "good": grpc_health.SERVING, "bad": 2, "gone": 3}
    async with grpc_servers(statuses):
        assert await probe({"grpc": action}, timeout=0.3) == expected


CODEC_CASES = [
    ("empty-request", grpc_health.encode_request(""), b""),
    ("request", grpc_health.encode_request("svc"), b"\x0a\x03svc"),
    ("serving", grpc_health.encode_response(1), b"\x08\x01"),
    ("unknown-is-empty", grpc_health.encode_response(0), b""),
]


@pytest.mark.parametrize(("encoded", "wire"), [c[1:] for c in CODEC_CASES], ids=[c[0] for c in CODEC_CASES])
def test_health_codec_bytes(encoded: bytes, wire: bytes) -> None:
    assert encoded == wire


def test_health_codec_round_trip_and_unknown_fields() -> None:
    long_name = "s" * 300   # a two-byte varint length
    assert grpc_health.decode_request(grpc_health.encode_request(long_name)) == long_name
    # an unknown varint field 2 and a length-delimited field 3 before the status are skipped
    assert grpc_health.decode_response(b"\x10\x05\x1a\x02ab\x08\x02") == 2
    assert grpc_health.status_name(7) == "7"


# -- exec -------------------------------------------------------------------------------------

@dataclass
class FakeExec:
    code: int = 0
    stdout: bytes = b""
    stderr: bytes = b""
    delay: float = 0.0
    error: Exception | None = None
    calls: list[tuple[str, list[str], float]] = field(default_factory=list)

    async def __call__(self, container_id: str, cmd: list[str], timeout: float) -> tuple[int, bytes, bytes]:
        self.calls.append((container_id, cmd, timeout))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return self.code, self.stdout, self.stderr


EXEC_CASES = [
    ("exit-0", FakeExec(stdout=b"fine\n"), ProbeResult(Outcome.SUCCESS, "fine\n")),
    ("exit-1", FakeExec(code=1, stdout=b"out ", stderr=b"err"), ProbeResult(Outcome.FAILURE, "out err")),
    ("timeout", FakeExec(delay=5), ProbeResult(Outcome.FAILURE, 'command "cat /tmp/healthy" timed out')),
    ("runtime-timeout", FakeExec(error=TimeoutError()),
     ProbeResult(Outcome.FAILURE, 'command "cat /tmp/healthy" timed out')),
    ("runtime-error", FakeExec(error=RuntimeError("container not running")),
     ProbeResult(Outcome.UNKNOWN, "container not running")),
]


@pytest.mark.parametrize(("fake", "expected"), [c[1:] for c in EXEC_CASES], ids=[c[0] for c in EXEC_CASES])
async def test_exec_probe(fake: FakeExec, expected: ProbeResult) -> None:
    result = await probe({"exec": {"command": ["cat", "/tmp/healthy"]}}, timeout=0.2, exec_sync=fake)
    assert result == expected
    assert fake.calls == [("cid", ["cat", "/tmp/healthy"], 0.2)]


async def test_exec_output_capped() -> None:
    fake = FakeExec(stdout=b"a" * 8000, stderr=b"b" * 8000)
    result = await probe_exec(["x"], container_id="c", exec_sync=fake, timeout=1)
    assert result.output == "a" * 8000 + "b" * (MAX_OUTPUT - 8000)


async def test_missing_handler_is_unknown() -> None:
    assert (await probe({"periodSeconds": 1})).outcome is Outcome.UNKNOWN


DURATION_CASES = [(1.0, "1s"), (0.3, "300ms"), (1.5, "1.5s"), (90.0, "1m30s"), (3600.0, "1h0m0s")]


@pytest.mark.parametrize(("seconds", "text"), DURATION_CASES, ids=[t for _, t in DURATION_CASES])
def test_go_duration(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


async def test_https_probe_against_plain_http_fails(seen_headers: list[dict[str, str]]) -> None:
    result = await probe({"httpGet": {"path": "/ok", "port": HTTP_PORT, "scheme": "HTTPS"}})
    assert result.outcome is Outcome.FAILURE
    assert result.output.startswith(f'Get "https://127.0.0.1:{HTTP_PORT}/ok": ')
