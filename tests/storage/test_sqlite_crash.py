"""Acknowledged writes survive SIGKILL.

A child process (crash_writer.py) runs a write storm with many concurrent writers and prints
every acknowledged write; the test kills it with SIGKILL mid-storm, reopens the database and
checks that every acknowledged write is in the log at its revision, that each key's latest value
matches the log, that the log has no holes, and that the store takes new writes. The rounds
reuse one database, so each also proves recovery of a store that was itself recovered.
"""

from __future__ import annotations

import hashlib
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kybernetes.storage.interface import Event, EventType
from kybernetes.storage.sqlite import SQLiteStorage

from .conftest import take

HELPER = Path(__file__).with_name("crash_writer.py")


def run_storm_until(db: Path, acks_wanted: int, timeout: float = 60.0) -> list[str]:
    """Start the storm, SIGKILL it after `acks_wanted` acknowledgements, return complete lines."""
    child = subprocess.Popen(
        [sys.executable, str(HELPER), str(db), "32"],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert child.stdout is not None
    fd = child.stdout.fileno()
    buffer = b""
    deadline = time.monotonic() + timeout
    try:
        while buffer.count(b"\n") < acks_wanted + 1:  # +1 for the READY line
            remaining = deadline - time.monotonic()
            assert remaining > 0, "the write storm produced too few acknowledgements"
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 65536)
                assert chunk, f"the writer exited early with {child.poll()}"
                buffer += chunk
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        # Lines written before the kill are still in the pipe.
        while chunk := os.read(fd, 65536):
            buffer += chunk
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    complete = buffer[: buffer.rfind(b"\n") + 1].decode()
    lines = complete.splitlines()
    assert lines[0].startswith("READY ")
    return lines[1:]


async def verify(db: Path, acks: list[str]) -> int:
    store = SQLiteStorage(str(db))
    await store.open()
    try:
        current = await store.current_revision()
        log: list[Event] = await take(store.watch("", 1), current, timeout=30)
        assert [e.revision for e in log] == list(range(1, current + 1)), "holes in the log"
        by_revision = {e.revision: e for e in log}
        deletes = {(e.key, e.prev.mod_revision) for e in log if e.type is EventType.DELETE and e.prev}
        for line in acks:
            kind, key, revision_text, *rest = line.split()
            revision = int(revision_text)
            if kind == "PUT":
                event = by_revision.get(revision)
                assert event is not None and event.kv is not None, line
                assert event.key == key, line
                assert hashlib.sha256(event.kv.value).hexdigest() == rest[0], line
            else:
                assert (key, revision) in deletes, line
        latest: dict[str, Event] = {}
        for event in log:
            latest[event.key] = event
        for key, event in latest.items():
            assert await store.get(key) == event.kv, key
        assert await store.count("") == sum(1 for e in latest.values() if e.kv is not None)
        # The recovered store takes new writes after the old ones.
        kv = await store.create(f"/after-crash/{current}", b"ok")
        assert kv.mod_revision == current + 1
        some = next(iter(latest.values()))
        if some.kv is not None:
            updated = await store.update(some.key, b"new", expected_revision=some.kv.mod_revision)
            assert updated.mod_revision == current + 2
        return await store.current_revision()
    finally:
        await store.close()


@pytest.mark.slow
async def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "kv.db"
    previous = 0
    for acks_wanted in (150, 600, 1500):
        acks = run_storm_until(db, acks_wanted)
        assert len(acks) >= acks_wanted
        revision = await verify(db, acks)
        assert revision > previous
        previous = revision
