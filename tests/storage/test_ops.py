"""Table-driven tests of the pure pieces: write decisions, prefix bounds, the latest index."""

from __future__ import annotations

import pytest

from kybernetes.storage.index import LatestIndex
from kybernetes.storage.interface import (
    EventType,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    RevisionMismatchError,
    StorageError,
)
from kybernetes.storage.ops import OpKind, WriteOp, decide, prefix_end

A3 = KeyValue("a", b"old", create_revision=2, mod_revision=3)

DECIDE_OK = [
    pytest.param(WriteOp(OpKind.CREATE, "a", b"v"), None, EventType.PUT, KeyValue("a", b"v", 7, 7), None, id="create-absent"),
    pytest.param(WriteOp(OpKind.UPDATE, "a", b"v", 3), A3, EventType.PUT, KeyValue("a", b"v", 2, 7), A3, id="update-cas-match"),
    pytest.param(WriteOp(OpKind.UPDATE, "a", b"v", 0), A3, EventType.PUT, KeyValue("a", b"v", 2, 7), A3, id="update-unconditional"),
    pytest.param(WriteOp(OpKind.DELETE, "a", expected_revision=3), A3, EventType.DELETE, None, A3, id="delete-cas-match"),
    pytest.param(WriteOp(OpKind.DELETE, "a"), A3, EventType.DELETE, None, A3, id="delete-unconditional"),
]


@pytest.mark.parametrize(("op", "current", "etype", "kv", "prev"), DECIDE_OK)
def test_decide_ok(op: WriteOp, current: KeyValue | None, etype: EventType, kv: KeyValue | None, prev: KeyValue | None) -> None:
    event = decide(op, current, 7)
    assert (event.type, event.key, event.revision, event.kv, event.prev) == (etype, "a", 7, kv, prev)


DECIDE_ERR = [
    pytest.param(WriteOp(OpKind.CREATE, "a", b"v"), A3, KeyExistsError, id="create-present"),
    pytest.param(WriteOp(OpKind.UPDATE, "a", b"v", 2), A3, RevisionMismatchError, id="update-cas-mismatch"),
    pytest.param(WriteOp(OpKind.UPDATE, "a", b"v", 3), None, KeyNotFoundError, id="update-absent-with-cas"),
    pytest.param(WriteOp(OpKind.UPDATE, "a", b"v", 0), None, KeyNotFoundError, id="update-absent"),
    pytest.param(WriteOp(OpKind.DELETE, "a", expected_revision=4), A3, RevisionMismatchError, id="delete-cas-mismatch"),
    pytest.param(WriteOp(OpKind.DELETE, "a"), None, KeyNotFoundError, id="delete-absent"),
]


@pytest.mark.parametrize(("op", "current", "error"), DECIDE_ERR)
def test_decide_errors(op: WriteOp, current: KeyValue | None, error: type[StorageError]) -> None:
    with pytest.raises(error):
        decide(op, current, 7)


def test_revision_mismatch_carries_both_revisions() -> None:
    with pytest.raises(RevisionMismatchError) as info:
        decide(WriteOp(OpKind.UPDATE, "a", b"v", 2), A3, 7)
    assert (info.value.expected, info.value.actual) == (2, 3)


@pytest.mark.parametrize(
    ("prefix", "end"),
    [
        pytest.param("", None, id="empty-unbounded"),
        pytest.param("/registry/", "/registry0", id="slash"),
        pytest.param("a", "b", id="one-char"),
        pytest.param("a" + chr(0x10FFFF), "b", id="max-codepoint-carries"),
        pytest.param(chr(0x10FFFF), None, id="only-max-codepoint"),
    ],
)
def test_prefix_end(prefix: str, end: str | None) -> None:
    assert prefix_end(prefix) == end


def _index(*keys: str) -> LatestIndex:
    index = LatestIndex()
    for i, key in enumerate(keys, start=1):
        index.put(KeyValue(key, b"", i, i))
    return index


@pytest.mark.parametrize(
    ("prefix", "limit", "continue_key", "keys", "more"),
    [
        pytest.param("/p/", 0, None, ["/p/a", "/p/b", "/p/c"], False, id="prefix-all"),
        pytest.param("/p/", 2, None, ["/p/a", "/p/b"], True, id="limit-cuts"),
        pytest.param("/p/", 3, None, ["/p/a", "/p/b", "/p/c"], False, id="limit-exact"),
        pytest.param("/p/", 0, "/p/a", ["/p/b", "/p/c"], False, id="continue-exclusive"),
        pytest.param("/p/", 1, "/p/a", ["/p/b"], True, id="continue-and-limit"),
        pytest.param("/p/", 0, "/p/c", [], False, id="continue-past-end"),
        pytest.param("/p/", 0, "/a", ["/p/a", "/p/b", "/p/c"], False, id="continue-before-prefix"),
        pytest.param("", 0, None, ["/p/a", "/p/b", "/p/c", "/pa", "/q"], False, id="empty-prefix"),
        pytest.param("/z", 0, None, [], False, id="no-match"),
    ],
)
def test_index_range(prefix: str, limit: int, continue_key: str | None, keys: list[str], more: bool) -> None:
    index = _index("/q", "/p/c", "/pa", "/p/a", "/p/b")
    items, got_more = index.range(prefix, limit=limit, continue_key=continue_key)
    assert ([kv.key for kv in items], got_more) == (keys, more)
    assert index.count(prefix) == len(index.range(prefix)[0])


def test_index_remove_keeps_order() -> None:
    index = _index("c", "a", "b")
    index.remove("b")
    index.remove("missing")
    assert [kv.key for kv in index.range("")[0]] == ["a", "c"]
    assert len(index) == 2
