"""How the storage contract's keys and revisions map onto etcd's, as pure functions.

Keys: the API server's keys (``/registry/pods/default/web``) are stored as they are, after an
optional prefix (``--etcd-prefix``-style: ``/kyb`` stores ``/kyb/registry/...``) so that several
clusters, or test runs, can share one etcd.

Revisions: a fresh etcd starts at revision 1 and gives its first write revision 2, while the
contract (interface.py invariant 1) numbers writes from 1. The store therefore reports etcd's
revision minus an offset: 1 by default, which keeps a fresh etcd's history numbered exactly like
the other backends'. Every API server on one etcd must use the same offset, since the offset
revisions are the objects' resourceVersions. Tests sharing one etcd set the offset to the
revision at which they start, so each sees a store that begins at 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from kybernetes.storage.etcd import rpc_pb2
from kybernetes.storage.interface import KeyValue

# etcd's convention: a range_end of one zero byte means "every key from `key` on".
ALL_FOLLOWING = b"\x00"


def range_end(prefix: bytes) -> bytes:
    """The smallest key greater than every key starting with `prefix` (etcd's prefix range)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return ALL_FOLLOWING
    return stripped[:-1] + bytes([stripped[-1] + 1])


@dataclass(frozen=True, slots=True)
class Keyspace:
    prefix: bytes = b""
    revision_offset: int = 1

    def key(self, key: str) -> bytes:
        return self.prefix + key.encode("utf-8", "surrogateescape")

    def user_key(self, raw: bytes) -> str:
        return raw[len(self.prefix) :].decode("utf-8", "surrogateescape")

    def range_of(self, prefix: str, continue_key: str | None = None) -> tuple[bytes, bytes]:
        """[start, end) covering the keys under `prefix`, starting after `continue_key`."""
        # etcd rejects an empty key; "\0" is the smallest key there is
        start = self.key(prefix) or b"\x00"
        end = range_end(start) if start != b"\x00" else ALL_FOLLOWING
        if continue_key is not None:
            after = self.key(continue_key) + b"\x00"  # the next key after continue_key
            start = max(start, after)
        return start, end

    def to_etcd(self, revision: int) -> int:
        return revision + self.revision_offset

    def from_etcd(self, revision: int) -> int:
        return max(revision - self.revision_offset, 0)

    def key_value(self, kv: rpc_pb2.KeyValue) -> KeyValue:
        return KeyValue(
            self.user_key(kv.key),
            kv.value,
            create_revision=self.from_etcd(kv.create_revision),
            mod_revision=self.from_etcd(kv.mod_revision),
        )
