"""Randomized model test: random operations against each backend and against a plain dict model.

After every operation the outcome (value or error type) must match the model; at the end every
revision still in history lists exactly the model's snapshot, and a watch from the oldest
available revision replays the model's event log.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kybernetes.storage.interface import (
    CompactedError,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    RevisionMismatchError,
    Storage,
    StorageError,
)

from .conftest import BACKENDS, open_store, take

KEYS = ["/a", "/b", "/c/1", "/c/2"]

# ("create"|"update"|"delete"|"compact", key index, value, cas mode: 0 none, 1 right, 2 wrong)
operation = st.tuples(
    st.sampled_from(["create", "update", "delete", "create", "update", "compact"]),
    st.integers(0, len(KEYS) - 1),
    st.binary(max_size=8),
    st.integers(0, 2),
)


@dataclass
class Model:
    # key -> (value, create_revision, mod_revision)
    state: dict[str, tuple[bytes, int, int]] = field(default_factory=dict)
    snapshots: dict[int, dict[str, tuple[bytes, int, int]]] = field(default_factory=lambda: {0: {}})
    log: list[tuple[str, int, bytes | None]] = field(default_factory=list)
    rev: int = 0
    compacted: int = 0

    def write(self, key: str, value: bytes | None, create_revision: int) -> None:
        self.rev += 1
        if value is None:
            del self.state[key]
        else:
            self.state[key] = (value, create_revision or self.rev, self.rev)
        self.snapshots[self.rev] = dict(self.state)
        self.log.append((key, self.rev, value))


async def run_ops(store: Storage, ops: list[tuple[str, int, bytes, int]]) -> None:
    model = Model()
    for name, k, value, cas in ops:
        key = KEYS[k]
        current = model.state.get(key)
        expected = 0
        if cas == 1:
            expected = current[2] if current else 1
        elif cas == 2:
            expected = (current[2] if current else 0) + 1000
        outcome: object
        try:
            if name == "create":
                outcome = await store.create(key, value)
            elif name == "update":
                outcome = await store.update(key, value, expected_revision=expected)
            elif name == "delete":
                outcome = await store.delete(key, expected_revision=expected)
            else:
                target = model.rev // 2
                await store.compact(target)
                model.compacted = max(model.compacted, target)
                continue
        except StorageError as err:
            outcome = err
        if name == "create":
            if current is not None:
                assert isinstance(outcome, KeyExistsError)
                continue
            model.write(key, value, 0)
        elif current is None:
            assert isinstance(outcome, KeyNotFoundError)
            continue
        elif expected and expected != current[2]:
            assert isinstance(outcome, RevisionMismatchError)
            continue
        elif name == "update":
            model.write(key, value, current[1])
        else:
            model.write(key, None, 0)
        assert not isinstance(outcome, StorageError), outcome
        assert await store.current_revision() == model.rev

    assert await store.current_revision() == model.rev
    assert await store.compacted_revision() == model.compacted
    for revision, snapshot in model.snapshots.items():
        if revision == 0 and model.rev > 0:
            continue
        if revision < model.compacted:
            try:
                await store.list("", revision=revision)
            except CompactedError:
                continue
            raise AssertionError(f"list at compacted revision {revision} did not fail")
        listed = await store.list("", revision=revision)
        got = {kv.key: (kv.value, kv.create_revision, kv.mod_revision) for kv in listed.items}
        assert got == snapshot, revision
        prefixed = await store.list("/c/", revision=revision)
        assert [kv.key for kv in prefixed.items] == sorted(k for k in snapshot if k.startswith("/c/"))
    try:
        await store.list("", revision=model.rev + 1)
        raise AssertionError("list at a future revision did not fail")
    except FutureRevisionError:
        pass
    first = model.compacted + 1
    expected_log = [entry for entry in model.log if entry[1] >= first]
    if expected_log:
        events = await take(store.watch("", first), len(expected_log))
        assert [(e.key, e.revision, e.kv.value if e.kv else None) for e in events] == expected_log


async def check(kind: str, ops: list[tuple[str, int, bytes, int]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        store = await open_store(kind, Path(directory))
        try:
            await run_ops(store, ops)
        finally:
            await store.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(operation, max_size=40))
def test_memory_matches_model(ops: list[tuple[str, int, bytes, int]]) -> None:
    asyncio.run(check(BACKENDS[0], ops))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(operation, max_size=40))
def test_sqlite_matches_model(ops: list[tuple[str, int, bytes, int]]) -> None:
    asyncio.run(check(BACKENDS[1], ops))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(operation, max_size=40))
def test_etcd_matches_model(ops: list[tuple[str, int, bytes, int]]) -> None:
    asyncio.run(check("etcd", ops))
