"""CRI log parsing, options and the file reader (tail, since, timestamps, limitBytes, follow, rotation)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from kybernetes.kubelet import logs

NS = 1_000_000_000
T0 = 1_700_000_000  # 2023-11-14T22:13:20Z

TIMESTAMPS = [
    ("nanoseconds", "2023-11-14T22:13:20.123456789Z", T0 * NS + 123_456_789),
    ("trailing-zeros-dropped", "2023-11-14T22:13:20.5Z", T0 * NS + 500_000_000),
    ("no-fraction", "2023-11-14T22:13:20Z", T0 * NS),
    ("offset-east", "2023-11-15T00:13:20.000000001+02:00", T0 * NS + 1),
    ("offset-west", "2023-11-14T17:13:20.25-05:00", T0 * NS + 250_000_000),
]


@pytest.mark.parametrize(("name", "text", "ns"), TIMESTAMPS, ids=[t[0] for t in TIMESTAMPS])
def test_parse_timestamp(name: str, text: str, ns: int) -> None:
    assert logs.parse_timestamp(text) == ns


def test_format_timestamp_has_nine_digits_in_utc() -> None:
    assert logs.format_timestamp(T0 * NS + 500_000_000) == "2023-11-14T22:13:20.500000000Z"
    assert logs.format_timestamp(T0 * NS) == "2023-11-14T22:13:20.000000000Z"


LINES = [
    ("full", b"2023-11-14T22:13:20.1Z stdout F hello world",
     logs.LogRecord(T0 * NS + 100_000_000, "stdout", False, b"hello world")),
    ("partial", b"2023-11-14T22:13:20Z stderr P abc", logs.LogRecord(T0 * NS, "stderr", True, b"abc")),
    ("empty-message", b"2023-11-14T22:13:20Z stdout F ", logs.LogRecord(T0 * NS, "stdout", False, b"")),
    ("no-message-field", b"2023-11-14T22:13:20Z stdout F", logs.LogRecord(T0 * NS, "stdout", False, b"")),
    ("spaces-kept", b"2023-11-14T22:13:20Z stdout F  a  b ", logs.LogRecord(T0 * NS, "stdout", False, b" a  b ")),
    ("extra-tags", b"2023-11-14T22:13:20Z stdout P:x y", logs.LogRecord(T0 * NS, "stdout", True, b"y")),
    ("bad-stream", b"2023-11-14T22:13:20Z stdweird F x", None),
    ("bad-tag", b"2023-11-14T22:13:20Z stdout X x", None),
    ("bad-time", b"yesterday stdout F x", None),
    ("too-short", b"garbage", None),
]


@pytest.mark.parametrize(("name", "raw", "record"), LINES, ids=[t[0] for t in LINES])
def test_parse_cri_line(name: str, raw: bytes, record: logs.LogRecord | None) -> None:
    assert logs.parse_cri_line(raw) == record


def test_partials_join_per_stream_with_the_first_timestamp() -> None:
    raw = [b"2023-11-14T22:13:20Z stdout P hel",
           b"2023-11-14T22:13:21Z stderr F err",
           b"2023-11-14T22:13:22Z stdout P lo ",
           b"2023-11-14T22:13:23Z stdout F world"]
    assert list(logs.assemble(raw)) == [logs.LogLine((T0 + 1) * NS, "stderr", b"err\n"),
                                        logs.LogLine(T0 * NS, "stdout", b"hello world\n")]


OPTIONS = [
    ("defaults", {}, logs.LogOptions()),
    ("all", {"follow": "true", "previous": "1", "tailLines": "3", "timestamps": "true", "limitBytes": "10"},
     logs.LogOptions(follow=True, previous=True, tail_lines=3, timestamps=True, limit_bytes=10)),
    ("since-seconds", {"sinceSeconds": "60"}, logs.LogOptions(since_ns=(T0 - 60) * NS)),
    ("since-time", {"sinceTime": "2023-11-14T22:13:20Z"}, logs.LogOptions(since_ns=T0 * NS)),
    ("tail-zero", {"tailLines": "0"}, logs.LogOptions(tail_lines=0)),
]


@pytest.mark.parametrize(("name", "query", "opts"), OPTIONS, ids=[t[0] for t in OPTIONS])
def test_parse_log_options(name: str, query: dict[str, str], opts: logs.LogOptions) -> None:
    assert logs.parse_log_options(query, now_ns=T0 * NS) == opts


BAD_OPTIONS = [
    ("negative-tail", {"tailLines": "-1"}, "tailLines: Invalid value: must be greater than or equal to 0"),
    ("zero-limit", {"limitBytes": "0"}, "limitBytes: Invalid value: must be greater than 0"),
    ("zero-since", {"sinceSeconds": "0"}, "sinceSeconds: Invalid value: must be greater than 0"),
    ("both-since", {"sinceSeconds": "5", "sinceTime": "2023-11-14T22:13:20Z"},
     "at most one of `sinceTime` or `sinceSeconds` may be specified"),
    ("not-a-number", {"tailLines": "x"}, 'invalid value for tailLines: "x"'),
    ("bad-time", {"sinceTime": "now"}, 'invalid value for sinceTime: "now"'),
]


@pytest.mark.parametrize(("name", "query", "message"), BAD_OPTIONS, ids=[t[0] for t in BAD_OPTIONS])
def test_bad_log_options(name: str, query: dict[str, str], message: str) -> None:
    with pytest.raises(logs.LogOptionsError) as info:
        logs.parse_log_options(query, now_ns=T0 * NS)
    assert str(info.value) == message


def cri(i: int, text: str, *, stream: str = "stdout", tag: str = "F") -> str:
    return f"2023-11-14T22:13:{20 + i:02d}.{i}Z {stream} {tag} {text}\n"


@pytest.fixture
def logfile(tmp_path: Path) -> Path:
    path = tmp_path / "0.log"
    path.write_text(cri(0, "zero") + cri(1, "one-a", tag="P") + cri(2, "one-b") + cri(3, "two", stream="stderr")
                    + cri(4, "three"))
    return path


async def read(path: Path, opts: logs.LogOptions, running: bool = False) -> bytes:
    out = bytearray()

    async def write(data: bytes) -> None:
        out.extend(data)

    await logs.stream_log(str(path), opts, write, still_running=lambda: running, poll_interval=0.01)
    return bytes(out)


READS = [
    ("everything", logs.LogOptions(), b"zero\none-aone-b\ntwo\nthree\n"),
    ("tail-2", logs.LogOptions(tail_lines=2), b"two\nthree\n"),
    ("tail-3-keeps-partials-whole", logs.LogOptions(tail_lines=3), b"one-aone-b\ntwo\nthree\n"),
    ("tail-more-than-there", logs.LogOptions(tail_lines=50), b"zero\none-aone-b\ntwo\nthree\n"),
    ("tail-0", logs.LogOptions(tail_lines=0), b""),
    ("since", logs.LogOptions(since_ns=(T0 + 3) * NS), b"two\nthree\n"),
    ("limit", logs.LogOptions(limit_bytes=7), b"zero\non"),
    ("timestamps", logs.LogOptions(tail_lines=1, timestamps=True), b"2023-11-14T22:13:24.400000000Z three\n"),
]


@pytest.mark.parametrize(("name", "opts", "want"), READS, ids=[t[0] for t in READS])
async def test_stream_log(logfile: Path, name: str, opts: logs.LogOptions, want: bytes) -> None:
    assert await read(logfile, opts) == want


async def test_tail_reads_backwards_across_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "READ_BLOCK", 64)
    path = tmp_path / "big.log"
    path.write_text("".join(cri(i % 30, f"line-{i:04d}") for i in range(500)))
    got = await read(path, logs.LogOptions(tail_lines=7))
    assert got == b"".join(f"line-{i:04d}\n".encode() for i in range(493, 500))


async def test_missing_file_is_empty_without_follow(tmp_path: Path) -> None:
    assert await read(tmp_path / "nope.log", logs.LogOptions()) == b""


async def test_follow_sees_new_lines_rotation_and_stops_when_the_container_exits(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_text(cri(0, "first"))
    running = True
    out = bytearray()
    seen = asyncio.Event()

    async def write(data: bytes) -> None:
        out.extend(data)
        seen.set()

    task = asyncio.create_task(logs.stream_log(str(path), logs.LogOptions(follow=True), write,
                                               still_running=lambda: running, poll_interval=0.01))

    async def wait_for(text: bytes) -> None:
        for _ in range(300):
            if out.endswith(text):
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"never saw {text!r} in {bytes(out)!r}")

    await wait_for(b"first\n")
    with path.open("a") as f:  # a line written in two pieces is only emitted once complete
        f.write(cri(1, "sec")[:30])
        f.flush()
        await asyncio.sleep(0.05)
        assert out == b"first\n"
        f.write(cri(1, "sec")[30:])
    await wait_for(b"sec\n")
    # rotation: the old file moves away with a last line, a new file takes the path
    with path.open("a") as f:
        f.write(cri(2, "last-in-old"))
    os.rename(path, tmp_path / "0.log.1")
    path.write_text(cri(3, "new-file"))
    await wait_for(b"new-file\n")
    assert bytes(out) == b"first\nsec\nlast-in-old\nnew-file\n"
    with path.open("a") as f:
        f.write(cri(4, "final words"))
    running = False
    await asyncio.wait_for(task, 2)
    assert bytes(out).endswith(b"final words\n")


async def test_follow_stops_at_limit_bytes(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_text(cri(0, "0123456789"))
    got = await asyncio.wait_for(read(path, logs.LogOptions(follow=True, limit_bytes=4), running=True), 2)
    assert got == b"0123"
