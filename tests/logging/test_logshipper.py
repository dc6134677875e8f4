"""The node's log shipper: chunk parsing and committed offsets, where a restart resumes, and a
shipper over real files through rotation, failed sends, a restart and container removal."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from kybernetes.kubelet import logshipper as ls
from kybernetes.kubelet.logrotation import log_symlink_name

T = "2026-11-27T10:00:00.000000001Z"
TS = 1_795_773_600 * 1_000_000_000 + 1


def cri(stream: str, tag: str, text: str) -> bytes:
    return f"{T} {stream} {tag} {text}\n".encode()


CHUNKS = [
    ("two-full-lines", cri("stdout", "F", "a") + cri("stderr", "F", "b"), False, ["a", "b"], "all"),
    ("unfinished-raw-line-waits", cri("stdout", "F", "a") + b"2026-11-27T10:00", False, ["a"], "first"),
    ("partial-run-joined", cri("stdout", "P", "he") + cri("stdout", "F", "llo"), False, ["hello"], "all"),
    ("partial-run-open-waits", cri("stdout", "F", "a") + cri("stdout", "P", "he"), False, ["a"], "first"),
    (
        "other-stream-inside-partial-waits",
        cri("stdout", "P", "he") + cri("stderr", "F", "x"),
        False,
        [],
        "none",
    ),
    ("final-flushes-partial", cri("stdout", "F", "a") + cri("stdout", "P", "he"), True, ["a", "he"], "all"),
    ("garbage-line-skipped", b"not a cri line\n" + cri("stdout", "F", "a"), False, ["a"], "all"),
]


@pytest.mark.parametrize(("name", "data", "final", "texts", "used"), CHUNKS, ids=[c[0] for c in CHUNKS])
def test_parse_chunk(name: str, data: bytes, final: bool, texts: list[str], used: str) -> None:
    lines, consumed = ls.parse_chunk(data, final=final)
    assert [line.text for line in lines] == texts
    expected = {"all": len(data), "none": 0, "first": len(cri("stdout", "F", "a"))}[used]
    assert consumed == expected
    assert all(line.ts_ns == TS for line in lines)


def test_parse_chunk_never_stalls_on_a_huge_partial_run() -> None:
    data = cri("stdout", "P", "x" * 1000) * (ls.READ_PER_FILE // 1000 + 10)
    lines, consumed = ls.parse_chunk(data[: ls.READ_PER_FILE])
    assert consumed > 0 and len(lines) == 1


SAVED = ls.SavedOffset("/l/0.log", 7, 120)
RESUMES = [
    ("new-container", None, 7, {}, ("", 0)),
    ("same-live-file", SAVED, 7, {}, ("/l/0.log", 120)),
    ("rotated-while-down", SAVED, 9, {"/l/0.log.20261127-100000": 7}, ("/l/0.log.20261127-100000", 120)),
    ("compressed-or-gone", SAVED, 9, {"/l/0.log.20261127-100000": 8}, ("", 0)),
]


@pytest.mark.parametrize(
    ("name", "saved", "live", "rotated", "expected"), RESUMES, ids=[r[0] for r in RESUMES]
)
def test_choose_resume(
    name: str, saved: ls.SavedOffset | None, live: int, rotated: dict[str, int], expected: tuple[str, int]
) -> None:
    assert ls.choose_resume(saved, live, rotated) == expected


FILES = {"/l/0.log.20261127-100000": (5, 100), "/l/0.log.20261127-100001": (6, 200), "/l/0.log": (7, 300)}
NEXT = [
    ("nothing-read-yet-oldest", None, "/l/0.log.20261127-100000"),
    ("after-oldest-the-next-rotated", (5, 100), "/l/0.log.20261127-100001"),
    ("after-newest-rotated-the-live", (6, 200), "/l/0.log"),
    ("compressed-meanwhile-newer-only", (4, 150), "/l/0.log.20261127-100001"),
    ("live-itself-nothing-after", (7, 300), None),
]


@pytest.mark.parametrize(("name", "current", "expected"), NEXT, ids=[n[0] for n in NEXT])
def test_next_file(name: str, current: tuple[int, int] | None, expected: str | None) -> None:
    assert ls.next_file(current, FILES) == expected


def test_offsets_round_trip_and_bad_files() -> None:
    offsets = {"c1": ls.SavedOffset("/a", 1, 2)}
    assert ls.load_offsets(ls.dump_offsets(offsets).decode()) == offsets
    assert ls.load_offsets("{not json") == {}
    assert ls.load_offsets('{"c1": {"path": "/a", "inode": 1, "offset": -5}, "c2": 3}') == {}


# --- a shipper over real files ---

CID = "c" * 64


class Harness:
    def __init__(self, tmp_path: Path) -> None:
        self.links = tmp_path / "containers"
        self.state = tmp_path / "logship"
        self.live = tmp_path / "pods" / "default_web_u1" / "app" / "0.log"
        self.live.parent.mkdir(parents=True)
        self.links.mkdir()
        self.link = self.links / log_symlink_name("web", "default", "app", CID)
        self.sent: list[dict[str, Any]] = []
        self.fail = False

    def shipper(self) -> ls.LogShipper:
        async def send(records: list[dict[str, Any]]) -> None:
            if self.fail:
                raise ConnectionError("store unreachable")
            self.sent.extend(records)

        return ls.LogShipper(
            symlink_dir=self.links,
            state_dir=self.state,
            node_name="n1",
            send=send,
            pod_meta=lambda ns, pod: ("u1", {"app": "web"}) if pod == "web" else None,
        )

    def write(self, *texts: str) -> None:
        with open(self.live, "ab") as f:
            for t in texts:
                f.write(cri("stdout", "F", t))

    def rotate(self) -> None:
        os.rename(self.live, str(self.live) + ".20261127-100000")
        self.live.touch()

    def texts(self) -> list[str]:
        return [r["log"] for r in self.sent]


async def round_(s: ls.LogShipper) -> None:
    await s.step()


async def test_ships_with_metadata_through_rotation_failure_restart_and_removal(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.write("one", "two")
    os.symlink(h.live, h.link)
    s = h.shipper()
    await round_(s)
    assert h.texts() == ["one", "two"]
    first = h.sent[0]
    assert {k: first[k] for k in ("node", "namespace", "pod", "uid", "container", "labels", "stream")} == {
        "node": "n1",
        "namespace": "default",
        "pod": "web",
        "uid": "u1",
        "container": "app",
        "labels": {"app": "web"},
        "stream": "stdout",
    }

    # a failed send commits nothing: the lines come again
    h.write("three")
    h.fail = True
    with pytest.raises(ConnectionError):
        await round_(s)
    h.fail = False
    await round_(s)
    assert h.texts() == ["one", "two", "three"]

    # rotation: the rest of the old file, then the new one
    h.write("four")
    h.rotate()
    h.write("five")
    for _ in range(3):
        await round_(s)
    assert h.texts() == ["one", "two", "three", "four", "five"]

    # restart: the saved offset resumes without repeating
    for t in s.tails.values():
        t.close()
    h.write("six")
    s2 = h.shipper()
    s2.load_state()
    await round_(s2)
    assert h.texts()[-2:] == ["five", "six"] and h.texts().count("five") == 1

    # the container goes: its tail finishes the file and forgets its offset
    h.write("seven")
    h.link.unlink()
    for _ in range(2):
        await round_(s2)
    assert h.texts()[-1] == "seven"
    assert s2.tails == {}
    assert ls.load_offsets((h.state / "offsets.json").read_text()) == {}


async def test_restart_after_rotation_while_down_finishes_the_rotated_file(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.write("a")
    os.symlink(h.live, h.link)
    s = h.shipper()
    await round_(s)
    for t in s.tails.values():
        t.close()
    h.write("b")  # written while the shipper is down, then rotated away
    h.rotate()
    h.write("c")
    s2 = h.shipper()
    s2.load_state()
    for _ in range(3):
        await round_(s2)
    assert h.texts() == ["a", "b", "c"]


async def test_a_shipper_behind_by_rotations_reads_every_plain_file(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.write("a")
    os.symlink(h.live, h.link)
    s = h.shipper()
    await round_(s)
    h.write("b")
    os.rename(h.live, str(h.live) + ".20261127-100000")
    h.write("c")
    os.utime(str(h.live) + ".20261127-100000", ns=(1, 1))  # make the order plain however fast we ran
    h.write("d")
    os.rename(h.live, str(h.live) + ".20261127-100001")
    h.write("e")
    await round_(s)
    assert h.texts() == ["a", "b", "c", "d", "e"]


async def test_a_new_container_starts_with_its_rotated_file(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.write("first")
    h.rotate()
    h.write("second")
    os.symlink(h.live, h.link)
    await round_(h.shipper())
    assert h.texts() == ["first", "second"]
