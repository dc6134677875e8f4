"""What one write does to one key: the pure decision both backends share.

A backend looks up the key's latest value, calls `decide`, and either gets the event to record
(with the new and the previous value) or the contract error to hand back to the caller. Keeping
this in one pure function means the memory and SQLite backends cannot disagree on the rules of
invariant 2 in interface.py (create on a present key, compare-and-swap, delete of an absent key).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from kybernetes.storage.interface import (
    Event,
    EventType,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    RevisionMismatchError,
)


class OpKind(Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class WriteOp:
    kind: OpKind
    key: str
    value: bytes = b""
    # 0 skips the comparison (update/delete); ignored by create.
    expected_revision: int = 0


def decide(op: WriteOp, current: KeyValue | None, revision: int) -> Event:
    """The event `op` produces at `revision` given the key's `current` value.

    Raises KeyExistsError, KeyNotFoundError or RevisionMismatchError when the op must fail;
    a failed op consumes no revision.
    """
    if op.kind is OpKind.CREATE:
        if current is not None:
            raise KeyExistsError(op.key)
        kv = KeyValue(op.key, op.value, create_revision=revision, mod_revision=revision)
        return Event(EventType.PUT, op.key, revision, kv, None)
    if current is None:
        raise KeyNotFoundError(op.key)
    if op.expected_revision and op.expected_revision != current.mod_revision:
        raise RevisionMismatchError(op.key, op.expected_revision, current.mod_revision)
    if op.kind is OpKind.UPDATE:
        kv = KeyValue(op.key, op.value, create_revision=current.create_revision, mod_revision=revision)
        return Event(EventType.PUT, op.key, revision, kv, current)
    return Event(EventType.DELETE, op.key, revision, None, current)


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with `prefix` (None: no bound)."""
    stripped = prefix.rstrip(chr(0x10FFFF))
    if not stripped:
        return None
    return stripped[:-1] + chr(ord(stripped[-1]) + 1)
