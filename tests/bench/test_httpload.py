"""The benchmark's own load tools: response framing, kubeconfig parsing, open-loop timing, watch scanning."""

from __future__ import annotations

import asyncio
import base64
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
import httpload  # a bench/ module, found through the line above

CASES = [
    ("incomplete-head", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", None),
    ("content-length", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", (200, 40)),
    ("content-length-short", b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n{}", None),
    ("next-response-left", b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\nHTTP/1.1", (404, 45)),
    ("chunked", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", (200, 59)),
    ("chunked-unfinished", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n", None),
    ("no-body", b"HTTP/1.1 204 No Content\r\n\r\n", (204, 27)),
]


@pytest.mark.parametrize(("raw", "want"), [(raw, want) for _, raw, want in CASES], ids=[c[0] for c in CASES])
def test_parse_response(raw: bytes, want: tuple[int, int] | None) -> None:
    assert httpload.parse_response(raw) == want


def test_kubeconfig_credentials_follow_current_context() -> None:
    def b64(s: str) -> str:
        return base64.b64encode(s.encode()).decode()

    doc = {
        "current-context": "b",
        "contexts": [{"name": "a", "context": {"cluster": "c1", "user": "u1"}},
                     {"name": "b", "context": {"cluster": "c2", "user": "u2"}}],
        "clusters": [{"name": "c1", "cluster": {"server": "https://one", "certificate-authority-data": b64("ca1")}},
                     {"name": "c2", "cluster": {"server": "https://two", "certificate-authority-data": b64("ca2")}}],
        "users": [{"name": "u1", "user": {"client-certificate-data": b64("c1"), "client-key-data": b64("k1")}},
                  {"name": "u2", "user": {"client-certificate-data": b64("c2"), "client-key-data": b64("k2")}}],
    }
    assert httpload.kubeconfig_credentials(doc) == ("https://two", b"ca2", b"c2", b"k2")


@pytest.mark.parametrize(("samples", "q", "want"), [([], 0.5, 0.0), ([3.0, 1.0, 2.0], 0.5, 2.0),
                                                   ([1.0] * 99 + [9.0], 0.99, 9.0)],
                         ids=["empty", "median", "tail"])
def test_percentile(samples: list[float], q: float, want: float) -> None:
    assert httpload.percentile(samples, q) == want


async def test_open_loop_does_not_wait_for_slow_replies() -> None:
    # Every call takes 0.2 s; 50 calls due over 0.25 s must still all start on time, and the
    # latencies count from the due time.
    async def slow(_: int) -> bool:
        await asyncio.sleep(0.2)
        return True

    began = time.perf_counter()
    result = await httpload.open_loop(slow, rate=200, seconds=0.25)
    assert result.ok == 50 and result.failed == 0
    assert time.perf_counter() - began < 0.6
    assert min(result.latencies) >= 0.2


async def test_open_loop_counts_exceptions_as_failures() -> None:
    async def broken(i: int) -> bool:
        if i % 2:
            raise ValueError("boom")
        return True

    result = await httpload.open_loop(broken, rate=100, seconds=0.1)
    assert (result.ok, result.failed) == (5, 5)
    assert result.report()["errors"] == {"ValueError": 5}


async def test_watch_stream_reads_timestamps_across_reads() -> None:
    delays: list[float] = []
    stream = httpload.WatchStream(delays)
    sent = time.perf_counter()
    line = b'{"type":"ADDED","object":{"data":{"bench-sent":"%.6f"}}}\n' % sent
    stream.data_received(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert await stream.headers_seen == 200
    chunk = b"%x\r\n" % len(line) + line + b"\r\n"
    stream.data_received(chunk[:20])
    assert delays == []
    stream.data_received(chunk[20:] + chunk)
    assert len(delays) == 2 and all(0 <= d < 5 for d in delays)
