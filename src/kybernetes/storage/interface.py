"""The storage contract: etcd v3 semantics, whatever the backend.

Keys are strings (``/registry/pods/default/web-1``), values opaque bytes (the apiserver stores
JSON). Every successful write advances one global revision; a key's ``mod_revision`` is the
revision of its last write and becomes the object's ``resourceVersion``.

Invariants every backend keeps (the contract tests in tests/storage check them):
  1. Revisions are strictly increasing integers starting at 1; the revision of a write is the
     store's current revision right after it.
  2. create fails with KeyExistsError if the key is present; update/delete with
     ``expected_revision`` fail with RevisionMismatchError unless it equals the key's
     mod_revision, and with KeyNotFoundError if the key is absent.
  3. A write is acknowledged (its coroutine returns) only once it is durable.
  4. watch(prefix, from_revision) yields every event with revision >= from_revision in
     revision order, each with the previous value of the key (``prev``), then live events.
     A from_revision at or below the compacted revision raises CompactedError.
  5. list at a past revision returns the keys as they were then, unless compacted.
  6. Ordering of list results is by key; ``continue_key`` resumes after a key (exclusive).
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import Enum


class StorageError(Exception):
    pass


class KeyExistsError(StorageError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key exists: {key}")
        self.key = key


class KeyNotFoundError(StorageError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key not found: {key}")
        self.key = key


class RevisionMismatchError(StorageError):
    """Compare-and-swap failed: the key's mod_revision is not the expected one."""

    def __init__(self, key: str, expected: int, actual: int) -> None:
        super().__init__(f"revision mismatch on {key}: expected {expected}, have {actual}")
        self.key = key
        self.expected = expected
        self.actual = actual


class CompactedError(StorageError):
    """The requested revision has been compacted away (the API maps this to 410 Gone)."""

    def __init__(self, requested: int, compacted: int) -> None:
        super().__init__(f"required revision {requested} has been compacted (compacted at {compacted})")
        self.requested = requested
        self.compacted = compacted


class FutureRevisionError(StorageError):
    """A list or watch asked for a revision the store has not reached yet."""

    def __init__(self, requested: int, current: int) -> None:
        super().__init__(f"revision {requested} is newer than the current revision {current}")
        self.requested = requested
        self.current = current


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int


class EventType(Enum):
    PUT = "PUT"
    DELETE = "DELETE"


@dataclass(frozen=True, slots=True)
class Event:
    type: EventType
    key: str
    revision: int
    # The key's value after the event (PUT) or None (DELETE).
    kv: KeyValue | None
    # The key's value before the event, None when the key was created by it.
    prev: KeyValue | None

    @property
    def is_create(self) -> bool:
        return self.type is EventType.PUT and self.prev is None


@dataclass(frozen=True, slots=True)
class ListResult:
    items: list[KeyValue]
    revision: int  # the revision the list reflects
    more: bool  # True when `limit` cut the result short


class Storage(abc.ABC):
    """A revisioned key-value store. All methods are coroutines safe to call concurrently."""

    @abc.abstractmethod
    async def get(self, key: str) -> KeyValue | None: ...

    @abc.abstractmethod
    async def list(
        self,
        prefix: str,
        *,
        limit: int = 0,
        continue_key: str | None = None,
        revision: int = 0,
    ) -> ListResult:
        """Keys under `prefix` in key order. `limit` 0 means all; `continue_key` resumes after
        that key; `revision` 0 means current, otherwise the state at that revision."""

    @abc.abstractmethod
    async def count(self, prefix: str) -> int: ...

    @abc.abstractmethod
    async def create(self, key: str, value: bytes) -> KeyValue: ...

    @abc.abstractmethod
    async def update(self, key: str, value: bytes, *, expected_revision: int) -> KeyValue:
        """Replace the value if the key's mod_revision equals `expected_revision`.
        An `expected_revision` of 0 skips the comparison (the key must still exist)."""

    @abc.abstractmethod
    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        """Delete the key; returns its last value. `expected_revision` 0 skips the comparison."""

    @abc.abstractmethod
    def watch(self, prefix: str, from_revision: int) -> AsyncIterator[Event]:
        """Events under `prefix` with revision >= `from_revision`, then live ones, until the
        consumer stops iterating. `from_revision` 0 means only future events."""

    @abc.abstractmethod
    async def compact(self, revision: int) -> None:
        """Forget history up to and including `revision` (the latest value of each live key is
        always kept)."""

    @abc.abstractmethod
    async def current_revision(self) -> int: ...

    @abc.abstractmethod
    async def compacted_revision(self) -> int: ...

    @abc.abstractmethod
    async def close(self) -> None: ...
