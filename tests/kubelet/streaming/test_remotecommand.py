"""The pure parts of exec/attach: stream options, protocol negotiation, streams and statuses."""

from __future__ import annotations

import pytest

from kybernetes.kubelet.streaming import remotecommand as rc

OPTIONS = [
    ("kubectl-spelling", {"stdin": "true", "stdout": "true", "stderr": "true"},
     rc.StreamOptions(stdin=True, stdout=True, stderr=True), ("error", "stdin", "stdout", "stderr")),
    ("apiserver-spelling", {"input": "1", "output": "1", "error": "1"},
     rc.StreamOptions(stdin=True, stdout=True, stderr=True), ("error", "stdin", "stdout", "stderr")),
    ("tty-drops-stderr", {"stdin": "true", "stdout": "true", "stderr": "true", "tty": "true"},
     rc.StreamOptions(stdin=True, stdout=True, tty=True), ("error", "stdin", "stdout", "resize")),
    ("output-only", {"stdout": "true"}, rc.StreamOptions(stdout=True), ("error", "stdout")),
    ("false-is-off", {"stdout": "false", "stdin": "0"}, rc.StreamOptions(), ("error",)),
]


@pytest.mark.parametrize(("name", "query", "opts", "streams"), OPTIONS, ids=[o[0] for o in OPTIONS])
def test_stream_options(name: str, query: dict[str, str], opts: rc.StreamOptions, streams: tuple[str, ...]) -> None:
    assert rc.parse_stream_options(query) == opts
    assert rc.expected_streams(opts) == streams


NEGOTIATIONS = [
    ("kubectl-1.32", ["v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io"], "v5.channel.k8s.io"),
    ("kubectl-1.27", ["v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"],
     "v4.channel.k8s.io"),
    ("comma-list", ["v3.channel.k8s.io, v4.channel.k8s.io"], "v4.channel.k8s.io"),
    ("nothing-common", ["v2.channel.k8s.io", "channel.k8s.io"], None),
    ("nothing-offered", [], None),
]


@pytest.mark.parametrize(("name", "offered", "chosen"), NEGOTIATIONS, ids=[n[0] for n in NEGOTIATIONS])
def test_negotiate(name: str, offered: list[str], chosen: str | None) -> None:
    assert rc.negotiate(offered, rc.SPDY_PROTOCOLS) == chosen


STATUSES = [
    ("empty-is-success", b"", {"metadata": {}, "status": "Success"}),
    ("success", b'{"metadata":{},"status":"Success"}', {"metadata": {}, "status": "Success"}),
    ("exit-code", b'{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode",'
                  b'"message":"3"}]}}',
     {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
      "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}),
    ("plain-text", b"executable file not found",
     {"metadata": {}, "status": "Failure", "message": "executable file not found", "reason": "InternalError",
      "code": 500}),
]


@pytest.mark.parametrize(("name", "raw", "status"), STATUSES, ids=[s[0] for s in STATUSES])
def test_status_from_error_stream(name: str, raw: bytes, status: dict[str, object]) -> None:
    assert rc.status_from_error_stream(raw) == status
