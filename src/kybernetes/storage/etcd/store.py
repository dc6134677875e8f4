"""The storage contract over etcd's v3 gRPC API: the backend of an HA control plane.

Every write is one etcd transaction whose comparison carries the contract's precondition, so the
decision is made by etcd, atomically, whichever API server sends it:
  create      compare create_revision(key) == 0            then put, else nothing
  update/del  compare mod_revision(key) == expected         then put/delete (with prev_kv),
              (or mod_revision > 0 when nothing is expected) else read the key to tell
                                                              "absent" from "changed"
A write returns after etcd's commit (replicated to a quorum and fsynced): invariant 3.

Keys and revisions are translated by ``keyspace.Keyspace`` (an optional prefix, an offset of 1).

Watches are one etcd watch stream each (prev_kv and progress notifications on). Theory:
  1. The stream remembers the next revision it owes the consumer: one past the last event
     delivered, or past the revision a progress notification or the creation confirmed.
  2. When the stream breaks (etcd restarted, member lost, keepalive timeout) it is reopened from
     that revision after a short backoff, so the consumer sees a pause, never a gap, duplicate
     or error. Only history lost to compaction ends it, with CompactedError, as the contract
     says; closing the store ends it quietly.
  3. A watch from revision 0 starts after the newest revision this store has seen: events of
     writes acknowledged to this process before watch() was called are never delivered, later
     ones always are.

Compaction: etcd keeps no readable "compacted revision", so the store remembers what it compacted
and what etcd reported while refusing old revisions, and asks etcd when it opens
(``_probe_compacted``). The contract's edge (a watch *from* the compacted revision is refused,
etcd would serve it) is enforced here with that knowledge.

Failures: a request that etcd does not answer in ``request_timeout`` raises EtcdTimeoutError (a
TimeoutError: the API answers 504); an unreachable etcd raises EtcdUnavailableError (500).
Reads retry while etcd is unavailable within their deadline; writes never retry, since etcd may
have applied one whose answer was lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc

from kybernetes.storage.etcd import rpc_pb2 as pb
from kybernetes.storage.etcd.channel import EtcdConnection, open_channel
from kybernetes.storage.etcd.keyspace import Keyspace
from kybernetes.storage.interface import (
    CompactedError,
    Event,
    EventType,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    ListResult,
    RevisionMismatchError,
    Storage,
    StorageError,
)

log = logging.getLogger(__name__)

# etcd's messages for the two revision errors (gRPC status OUT_OF_RANGE)
_COMPACTED = "required revision has been compacted"
_FUTURE = "required revision is a future revision"
# etcd cancels a watch on a member that lost its leader only when asked to by this metadata
_REQUIRE_LEADER = (("hasleader", "true"),)
_WATCH_BACKOFF = (0.1, 2.0)  # first and longest pause before reopening a broken watch


class EtcdUnavailableError(StorageError):
    """etcd could not be reached or refused the request for now (no leader, shutting down)."""


class EtcdTimeoutError(EtcdUnavailableError, TimeoutError):
    """etcd did not answer within the request timeout."""


class EtcdStorage(Storage):
    """``store = EtcdStorage(EtcdConnection(...)); await store.open()`` ... ``await store.close()``.

    The store belongs to the event loop that ran ``open()`` (grpc.aio channels do).
    """

    def __init__(self, connection: EtcdConnection, *, revision_offset: int = 1) -> None:
        self.connection = connection
        self.keys = Keyspace(connection.prefix.encode(), revision_offset)
        self._timeout = connection.request_timeout
        self._channel: Any = None
        self._kv: Any = None
        self._watch: Any = None
        self._seen = 0  # newest etcd revision any response carried
        self._compacted = 0  # newest compacted revision known, in our numbering
        self._calls: set[Any] = set()
        self._closed = False
        self._probe_key = self.keys.key("/\x00kyb-probe")  # a key nobody writes

    # -- lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        from kybernetes.storage.etcd import rpc_pb2_grpc

        self._channel = open_channel(self.connection)
        self._kv = rpc_pb2_grpc.KVStub(self._channel)  # type: ignore[no-untyped-call]
        self._watch = rpc_pb2_grpc.WatchStub(self._channel)  # type: ignore[no-untyped-call]
        await self.current_revision()
        self._compacted = await self._probe_compacted()

    async def close(self) -> None:
        self._closed = True
        for call in list(self._calls):
            call.cancel()
        if self._channel is not None:
            await self._channel.close()

    # -- calls ----------------------------------------------------------------------------

    def _saw(self, header: pb.ResponseHeader) -> int:
        self._seen = max(self._seen, header.revision)
        return int(header.revision)

    async def _unary(self, method: Any, request: Any, *, retry: bool) -> Any:
        if self._closed:
            raise StorageError("storage is closed")
        deadline = time.monotonic() + self._timeout
        pause = 0.05
        while True:
            remaining = deadline - time.monotonic()
            try:
                return await method(request, timeout=max(remaining, 0.001), wait_for_ready=True)
            except grpc.aio.AioRpcError as err:
                code = err.code()
                if code is grpc.StatusCode.DEADLINE_EXCEEDED:
                    raise EtcdTimeoutError(f"etcd did not answer within {self._timeout:g}s") from None
                if code is grpc.StatusCode.OUT_OF_RANGE:
                    raise _RevisionRangeError(err.details() or "") from None
                if code is grpc.StatusCode.UNAVAILABLE:
                    if retry and time.monotonic() + pause < deadline and not self._closed:
                        await asyncio.sleep(pause)
                        pause = min(pause * 2, 1.0)
                        continue
                    raise EtcdUnavailableError(f"etcd unavailable: {err.details()}") from None
                if code is grpc.StatusCode.CANCELLED and self._closed:
                    raise StorageError("storage is closed") from None
                raise StorageError(f"etcd: {code.name}: {err.details()}") from None

    async def _range(self, request: pb.RangeRequest) -> pb.RangeResponse:
        response: pb.RangeResponse = await self._unary(self._kv.Range, request, retry=True)
        self._saw(response.header)
        return response

    async def _txn(self, request: pb.TxnRequest) -> pb.TxnResponse:
        response: pb.TxnResponse = await self._unary(self._kv.Txn, request, retry=False)
        self._saw(response.header)
        return response

    # -- reads ----------------------------------------------------------------------------

    async def get(self, key: str) -> KeyValue | None:
        response = await self._range(pb.RangeRequest(key=self.keys.key(key)))
        return self.keys.key_value(response.kvs[0]) if response.kvs else None

    async def count(self, prefix: str) -> int:
        start, end = self.keys.range_of(prefix)
        response = await self._range(pb.RangeRequest(key=start, range_end=end, count_only=True))
        return int(response.count)

    async def list(
        self,
        prefix: str,
        *,
        limit: int = 0,
        continue_key: str | None = None,
        revision: int = 0,
    ) -> ListResult:
        if revision and revision < self._compacted:
            raise CompactedError(revision, self._compacted)
        start, end = self.keys.range_of(prefix, continue_key)
        request = pb.RangeRequest(key=start, range_end=end, limit=limit)
        if revision:
            request.revision = self.keys.to_etcd(revision)
        try:
            response = await self._range(request)
        except _RevisionRangeError as err:
            raise await self._revision_error(err, revision) from None
        items = [self.keys.key_value(kv) for kv in response.kvs]
        return ListResult(
            items, revision or self.keys.from_etcd(response.header.revision), bool(response.more)
        )

    async def current_revision(self) -> int:
        # any read answers with the store's revision; one absent key is the cheapest
        response = await self._range(pb.RangeRequest(key=self._probe_key, count_only=True))
        return self.keys.from_etcd(response.header.revision)

    async def compacted_revision(self) -> int:
        self._compacted = max(self._compacted, await self._probe_compacted())
        return self._compacted

    async def _revision_error(self, err: _RevisionRangeError, requested: int) -> StorageError:
        if _COMPACTED in err.details:
            self._compacted = max(self._compacted, await self._probe_compacted())
            return CompactedError(requested, self._compacted)
        if _FUTURE in err.details:
            return FutureRevisionError(requested, await self.current_revision())
        return StorageError(f"etcd: {err.details}")

    async def _probe_compacted(self) -> int:
        """etcd's compacted revision, in our numbering. A read at revision 1 succeeds unless
        something was compacted; then a watch from revision 1 is cancelled with the compacted
        revision in its answer."""
        probe = self._probe_key
        try:
            await self._range(pb.RangeRequest(key=probe, revision=1, count_only=True))
            return 0
        except _RevisionRangeError as refused:
            if _COMPACTED not in refused.details:
                raise StorageError(f"etcd: {refused.details}") from None
        call = self._watch.Watch(timeout=self._timeout, wait_for_ready=True)
        self._calls.add(call)
        try:
            await call.write(
                pb.WatchRequest(create_request=pb.WatchCreateRequest(key=probe, start_revision=1))
            )
            while True:
                response = await call.read()
                if response is grpc.aio.EOF:
                    raise EtcdUnavailableError("etcd ended the compaction probe")
                if response.compact_revision:
                    return self.keys.from_etcd(response.compact_revision)
                if response.canceled:
                    raise StorageError(f"etcd refused the compaction probe: {response.cancel_reason}")
        except grpc.aio.AioRpcError as err:
            raise EtcdUnavailableError(f"etcd compaction probe failed: {err.details()}") from None
        finally:
            call.cancel()
            self._calls.discard(call)

    # -- writes ---------------------------------------------------------------------------

    async def create(self, key: str, value: bytes) -> KeyValue:
        raw = self.keys.key(key)
        response = await self._txn(
            pb.TxnRequest(
                compare=[
                    pb.Compare(result=pb.Compare.EQUAL, target=pb.Compare.CREATE, key=raw, create_revision=0)
                ],
                success=[pb.RequestOp(request_put=pb.PutRequest(key=raw, value=value))],
            )
        )
        if not response.succeeded:
            raise KeyExistsError(key)
        revision = self.keys.from_etcd(response.header.revision)
        return KeyValue(key, value, create_revision=revision, mod_revision=revision)

    def _precondition(self, raw: bytes, expected_revision: int) -> pb.Compare:
        if expected_revision:
            return pb.Compare(
                result=pb.Compare.EQUAL,
                target=pb.Compare.MOD,
                key=raw,
                mod_revision=self.keys.to_etcd(expected_revision),
            )
        return pb.Compare(result=pb.Compare.GREATER, target=pb.Compare.MOD, key=raw, mod_revision=0)

    def _failed(self, key: str, expected_revision: int, response: pb.TxnResponse) -> StorageError:
        current = response.responses[0].response_range.kvs if response.responses else []
        if not current:
            return KeyNotFoundError(key)
        return RevisionMismatchError(key, expected_revision, self.keys.from_etcd(current[0].mod_revision))

    async def update(self, key: str, value: bytes, *, expected_revision: int) -> KeyValue:
        raw = self.keys.key(key)
        response = await self._txn(
            pb.TxnRequest(
                compare=[self._precondition(raw, expected_revision)],
                success=[pb.RequestOp(request_put=pb.PutRequest(key=raw, value=value, prev_kv=True))],
                failure=[pb.RequestOp(request_range=pb.RangeRequest(key=raw, keys_only=True))],
            )
        )
        if not response.succeeded:
            raise self._failed(key, expected_revision, response)
        prev = response.responses[0].response_put.prev_kv
        return KeyValue(
            key,
            value,
            create_revision=self.keys.from_etcd(prev.create_revision),
            mod_revision=self.keys.from_etcd(response.header.revision),
        )

    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        raw = self.keys.key(key)
        response = await self._txn(
            pb.TxnRequest(
                compare=[self._precondition(raw, expected_revision)],
                success=[pb.RequestOp(request_delete_range=pb.DeleteRangeRequest(key=raw, prev_kv=True))],
                failure=[pb.RequestOp(request_range=pb.RangeRequest(key=raw, keys_only=True))],
            )
        )
        if not response.succeeded:
            raise self._failed(key, expected_revision, response)
        deleted = response.responses[0].response_delete_range.prev_kvs
        if not deleted:  # the comparison held, so the key existed; only a broken etcd gets here
            raise KeyNotFoundError(key)
        return self.keys.key_value(deleted[0])

    async def compact(self, revision: int) -> None:
        if revision <= self._compacted:
            return
        try:
            response = await self._unary(
                self._kv.Compact, pb.CompactionRequest(revision=self.keys.to_etcd(revision)), retry=False
            )
        except _RevisionRangeError as err:
            if _COMPACTED in err.details:  # someone compacted past it already: nothing to do
                self._compacted = max(self._compacted, await self._probe_compacted())
                return
            raise await self._revision_error(err, revision) from None
        self._saw(response.header)
        self._compacted = max(self._compacted, revision)

    # -- watch ----------------------------------------------------------------------------

    def watch(self, prefix: str, from_revision: int) -> AsyncIterator[Event]:
        # Fix the start now (theory 3), not when the consumer first iterates.
        start = from_revision or (self.keys.from_etcd(self._seen) + 1 if self._seen else 0)
        return self._follow(prefix, start, explicit=from_revision != 0)

    async def _follow(self, prefix: str, from_revision: int, *, explicit: bool) -> AsyncIterator[Event]:
        if self._closed:
            return
        if explicit:
            if from_revision <= self._compacted:
                raise CompactedError(from_revision, self._compacted)
            current = self.keys.from_etcd(self._seen)
            if from_revision > current + 1:
                current = await self.current_revision()
                if from_revision > current + 1:
                    raise FutureRevisionError(from_revision, current)
        start, end = self.keys.range_of(prefix)
        next_revision = from_revision  # theory 1; 0 until the first stream confirms a start
        pause = _WATCH_BACKOFF[0]
        while not self._closed:
            call = self._watch.Watch(metadata=_REQUIRE_LEADER, wait_for_ready=True)
            self._calls.add(call)
            try:
                create = pb.WatchCreateRequest(key=start, range_end=end, prev_kv=True, progress_notify=True)
                if next_revision:
                    create.start_revision = self.keys.to_etcd(next_revision)
                await call.write(pb.WatchRequest(create_request=create))
                while True:
                    response = await call.read()
                    if response is grpc.aio.EOF:
                        break
                    self._saw(response.header)
                    pause = _WATCH_BACKOFF[0]
                    if response.compact_revision:
                        compacted = self.keys.from_etcd(response.compact_revision)
                        self._compacted = max(self._compacted, compacted)
                        if not explicit and not next_revision:
                            break  # a watch "from now" just starts again from now
                        raise CompactedError(next_revision, compacted)
                    if response.canceled:
                        log.warning("etcd cancelled a watch on %r: %s", prefix, response.cancel_reason)
                        break
                    if not response.events:
                        # created or a progress notification: everything up to the header's
                        # revision has been sent
                        next_revision = max(next_revision, self.keys.from_etcd(response.header.revision) + 1)
                        continue
                    for raw in response.events:
                        event = self._event(raw)
                        next_revision = event.revision + 1
                        yield event
            except grpc.aio.AioRpcError as err:
                if self._closed:
                    return
                log.info(
                    "etcd watch on %r broke (%s); resuming from revision %d",
                    prefix,
                    err.code().name,
                    next_revision,
                )
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if self._closed and not (task is not None and task.cancelling()):
                    return  # close() cancelled the call, not our consumer
                raise
            finally:
                call.cancel()
                self._calls.discard(call)
            if self._closed:
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, _WATCH_BACKOFF[1])

    def _event(self, raw: pb.Event) -> Event:
        prev = self.keys.key_value(raw.prev_kv) if raw.HasField("prev_kv") else None
        key = self.keys.user_key(raw.kv.key)
        revision = self.keys.from_etcd(raw.kv.mod_revision)
        if raw.type == pb.Event.DELETE:
            return Event(EventType.DELETE, key, revision, None, prev)
        return Event(EventType.PUT, key, revision, self.keys.key_value(raw.kv), prev)


class _RevisionRangeError(Exception):
    """etcd refused a revision (compacted or in the future); callers turn it into the contract's
    error with what they know about the request."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.details = details
