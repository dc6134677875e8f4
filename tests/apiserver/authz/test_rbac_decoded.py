"""CacheRoleSource keeps decoded roles and bindings per cache entry: an unchanged entry is not
decoded again, a replaced one is, a deleted one is gone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from kybernetes.apiserver.authz.rbac import CacheRoleSource


class CountingEntry:
    decodes = 0

    def __init__(self, obj: dict[str, Any]) -> None:
        self.raw = orjson.dumps(obj)

    @property
    def obj(self) -> dict[str, Any]:
        CountingEntry.decodes += 1
        decoded: dict[str, Any] = orjson.loads(self.raw)
        return decoded


class FakeCache:
    def __init__(self) -> None:
        self.entries: dict[str, CountingEntry] = {}

    def get(self, key: str) -> CountingEntry | None:
        return self.entries.get(key)

    def iter_prefix(self, prefix: str) -> Iterator[tuple[str, CountingEntry]]:
        for key in sorted(self.entries):
            if key.startswith(prefix):
                yield key, self.entries[key]


def binding(name: str, user: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "roleRef": {"kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "User", "name": user}],
    }


def test_unchanged_entries_are_decoded_once() -> None:
    cache = FakeCache()
    cache.entries["/registry/clusterrolebindings/a"] = CountingEntry(binding("a", "alice"))
    cache.entries["/registry/clusterroles/view"] = CountingEntry({"metadata": {"name": "view"}, "rules": []})
    source = CacheRoleSource(cache)
    CountingEntry.decodes = 0
    for _ in range(3):
        assert [b["metadata"]["name"] for b in source.cluster_role_bindings()] == ["a"]
        assert source.cluster_role("view") == {"metadata": {"name": "view"}, "rules": []}
    assert CountingEntry.decodes == 2


def test_replaced_and_deleted_entries_are_seen() -> None:
    cache = FakeCache()
    cache.entries["/registry/clusterrolebindings/a"] = CountingEntry(binding("a", "alice"))
    source = CacheRoleSource(cache)
    assert source.cluster_role_bindings()[0]["subjects"][0]["name"] == "alice"
    cache.entries["/registry/clusterrolebindings/a"] = CountingEntry(binding("a", "bob"))
    assert source.cluster_role_bindings()[0]["subjects"][0]["name"] == "bob"
    del cache.entries["/registry/clusterrolebindings/a"]
    assert source.cluster_role_bindings() == []
    assert source.cluster_role("missing") is None


def test_the_kept_decodings_are_bounded() -> None:
    cache = FakeCache()
    source = CacheRoleSource(cache)
    for i in range(CacheRoleSource.MAX_DECODED + 10):
        cache.entries[f"/registry/roles/ns/r{i}"] = CountingEntry({"metadata": {"name": f"r{i}"}})
        assert source.role("ns", f"r{i}") is not None
    assert len(source._decoded) <= CacheRoleSource.MAX_DECODED
