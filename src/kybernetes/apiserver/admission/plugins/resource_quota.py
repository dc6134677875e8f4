"""ResourceQuota (validating, last): a write may not take a namespace past its quotas, and an
admitted write is charged to the quotas' `status.used` before it is stored.

Theory of operation (this server is one process; upstream's is one of several):
 1. Writes in one namespace are evaluated one at a time under a per-namespace asyncio.Lock.
    Inside it the plugin waits for the cache to hold every acknowledged write, reads the
    quotas, decides with `quota_usage.check_request`, and writes each changed quota's status
    with compare-and-swap on the resourceVersion it read (a conflict — someone else changed the
    quota — means read again and decide again). So concurrent creates never overshoot.
 2. The charge happens before the object is stored. Charged objects not yet in the cache are
    remembered for a while ("pending") so that a recalculation meanwhile does not drop them.
    A write that fails after being charged stays charged until the next recalculation (as
    upstream, where the quota controller later corrects it).
 3. Upstream's quota controller recomputes usage from all objects; there is no such controller
    here, so `recalculate(ctx, namespace)` does it and the plugin calls it: a new or changed
    quota gets its initial status (hard from spec, used counted from the namespace) in the same
    write; deleting a tracked object (or completing its deletion by removing the last finalizer,
    or a pod reaching Succeeded/Failed) recomputes the namespace's quotas without it.
    Graceful pod deletion releases the pod when its removal is final, as upstream.
 4. Dry-run requests are checked but never charged.
Subresource writes (including the quota's own status writes) are not evaluated.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Mapping

from kybernetes.api import resources as res
from kybernetes.apiserver.admission import CREATE, DELETE, UPDATE, AdmissionContext, Attributes, Obj, Plugin
from kybernetes.apiserver.admission.plugins import quota_usage as qu
from kybernetes.apiserver.admission.plugins._common import ResourceList, forbidden, parse_list, render_list
from kybernetes.machinery import errors

PENDING_SECONDS = 30.0
MAX_CONFLICT_RETRIES = 20
_MANAGER = "resourcequota-controller"


def _key_for(group: str, plural: str, namespace: str, name: str) -> str | None:
    for r in res.RESOURCES:
        if r.group == group and r.plural == plural and r.namespaced:
            return f"{r.key_prefix()}{namespace}/{name}"
    return None


def _tracked_kinds(hard_names: set[str]) -> set[tuple[str, str]]:
    """The (group, plural) of every resource a set of quota resource names counts."""
    kinds: set[tuple[str, str]] = set()
    for r in res.RESOURCES:
        if r.namespaced and r.stored_version == r.version and qu.matching_resources(r.group, r.plural, hard_names):
            kinds.add((r.group, r.plural))
    return kinds


class ResourceQuota(Plugin):
    name = "ResourceQuota"
    validating = True

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        # namespace → key → (group, plural, object, expiry)
        self._pending: dict[str, dict[str, tuple[str, str, Obj, float]]] = {}

    def _lock(self, namespace: str) -> asyncio.Lock:
        lock = self._locks.get(namespace)
        if lock is None:
            lock = self._locks[namespace] = asyncio.Lock()
        return lock

    @staticmethod
    def _quotas(ctx: AdmissionContext, namespace: str) -> list[Obj]:
        return ctx.list(f"/registry/resourcequotas/{namespace}/")

    async def validate(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        if not attrs.namespace or not attrs.resource.namespaced:
            return
        group, plural = attrs.group, attrs.resource.plural
        if attrs.subresource:
            if (group, plural) == ("", "pods") and attrs.obj is not None and qu.pod_is_terminal(attrs.obj) \
                    and attrs.old is not None and not qu.pod_is_terminal(attrs.old) and not attrs.dry_run:
                await self._recalculate_if_tracked(attrs, ctx, {self._key(attrs): attrs.obj})
            return
        if attrs.operation == DELETE:
            if attrs.old is not None and not attrs.dry_run and self._removed_now(attrs.old, group, plural):
                await self._recalculate_if_tracked(attrs, ctx, {self._key(attrs): None})
            return
        if attrs.obj is None or attrs.operation not in (CREATE, UPDATE):
            return
        if (attrs.operation == UPDATE and (attrs.obj.get("metadata") or {}).get("deletionTimestamp")
                and not attrs.dry_run and self._removed_now(attrs.obj, group, plural)):
            await self._recalculate_if_tracked(attrs, ctx, {self._key(attrs): None})
            return
        async with self._lock(attrs.namespace):
            await self._admit_locked(attrs, ctx)
            if (group, plural) == ("", "resourcequotas"):
                self._initial_status(attrs, ctx)

    def _key(self, attrs: Attributes) -> str:
        return _key_for(attrs.group, attrs.resource.plural, attrs.namespace, attrs.name) or ""

    @staticmethod
    def _removed_now(obj: Obj, group: str, plural: str) -> bool:
        """Whether deleting `obj` removes it at once (no finalizers, no grace period running)."""
        meta = obj.get("metadata") or {}
        if meta.get("finalizers"):
            return False
        if (group, plural) == ("", "pods") and not meta.get("deletionTimestamp"):
            spec = obj.get("spec") or {}
            return not spec.get("nodeName") or qu.pod_is_terminal(obj)
        return True

    async def _admit_locked(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        assert attrs.obj is not None
        group, plural = attrs.group, attrs.resource.plural
        store = ctx.stores[("", "resourcequotas")]
        for _attempt in range(MAX_CONFLICT_RETRIES):
            await ctx.cache.wait_fresh()
            quotas = self._quotas(ctx, attrs.namespace)
            if not quotas:
                return
            decision = qu.check_request(quotas, group, plural, attrs.operation, attrs.obj, attrs.old)
            if isinstance(decision, str):
                raise forbidden(attrs, decision)
            if not decision or attrs.dry_run:
                return
            by_name = {q["metadata"]["name"]: q for q in quotas}
            try:
                for name, used in decision.items():
                    await self._write_used(store, attrs.namespace, by_name[name], used)
            except errors.StatusError as e:
                if e.reason == "Conflict":
                    continue
                raise
            key = self._key(attrs)
            if attrs.operation == CREATE and key:
                self._pending.setdefault(attrs.namespace, {})[key] = (
                    group, plural, copy.deepcopy(attrs.obj), time.monotonic() + PENDING_SECONDS)
            return
        raise errors.StatusError(409, "Conflict", "quota usage could not be updated; please try again")

    @staticmethod
    async def _write_used(store: object, namespace: str, quota: Obj, used: ResourceList) -> None:
        from kybernetes.apiserver.registry.store import Store, WriteOptions

        assert isinstance(store, Store)
        rendered = render_list(used)

        async def mutate(current: Obj) -> Obj:
            status = current.setdefault("status", {})
            status["used"] = rendered
            return current

        await store.guaranteed_update(namespace, quota["metadata"]["name"], mutate,
                                      opts=WriteOptions(field_manager=_MANAGER), subresource="status",
                                      precondition_rv=quota["metadata"].get("resourceVersion", ""))

    # --- recalculation ---------------------------------------------------------------------------
    def _objects(self, ctx: AdmissionContext, namespace: str, kinds: set[tuple[str, str]],
                 overrides: Mapping[str, Obj | None]) -> dict[tuple[str, str], list[Obj]]:
        out: dict[tuple[str, str], list[Obj]] = {}
        now = time.monotonic()
        pending = self._pending.get(namespace, {})
        for key, (_g, _p, _o, expiry) in list(pending.items()):
            if expiry < now or ctx.get(key) is not None:
                del pending[key]
        for group, plural in kinds:
            prefix = _key_for(group, plural, namespace, "") or ""
            items: list[Obj] = []
            seen: set[str] = set()
            for key, entry in ctx.cache.iter_prefix(prefix):
                seen.add(key)
                obj = overrides.get(key, entry.obj)
                if obj is not None:
                    items.append(obj)
            for key, obj in overrides.items():
                if key.startswith(prefix) and key not in seen and obj is not None:
                    items.append(obj)
                    seen.add(key)
            for key, (g, p, obj, _e) in pending.items():
                if (g, p) == (group, plural) and key not in seen:
                    items.append(obj)
            out[(group, plural)] = items
        return out

    def compute_status(self, ctx: AdmissionContext, quota: Obj,
                       overrides: Mapping[str, Obj | None] | None = None) -> Obj:
        """A quota's status as the quota controller would write it."""
        hard = parse_list((quota.get("spec") or {}).get("hard"))
        namespace = quota["metadata"].get("namespace", "")
        objects = self._objects(ctx, namespace, _tracked_kinds(set(hard)), overrides or {})
        used = qu.calculate_usage(quota, hard, objects)
        return {"hard": render_list(hard), "used": render_list(used)}

    def _initial_status(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        assert attrs.obj is not None
        key = self._key(attrs)
        attrs.obj["status"] = self.compute_status(ctx, attrs.obj, {key: attrs.obj})

    async def _recalculate_if_tracked(self, attrs: Attributes, ctx: AdmissionContext,
                                      overrides: Mapping[str, Obj | None]) -> None:
        quotas = self._quotas(ctx, attrs.namespace)
        names: set[str] = set()
        for q in quotas:
            names.update(parse_list((q.get("spec") or {}).get("hard")))
        if quotas and qu.matching_resources(attrs.group, attrs.resource.plural, names):
            await self.recalculate(ctx, attrs.namespace, overrides=overrides)

    async def recalculate(self, ctx: AdmissionContext, namespace: str, *,
                          overrides: Mapping[str, Obj | None] | None = None) -> None:
        """Recompute and write the status of every quota in a namespace; `overrides` replaces
        (or with None removes) objects by storage key, for writes about to happen."""
        store = ctx.stores[("", "resourcequotas")]
        from kybernetes.apiserver.registry.store import WriteOptions

        async with self._lock(namespace):
            await ctx.cache.wait_fresh()
            for quota in self._quotas(ctx, namespace):
                key = f"/registry/resourcequotas/{namespace}/{quota['metadata']['name']}"
                if overrides and key in overrides and overrides[key] is None:
                    continue
                status = self.compute_status(ctx, quota, overrides)
                if quota.get("status") == status:
                    continue

                async def mutate(current: Obj, status: Obj = status) -> Obj:
                    current["status"] = status
                    return current

                try:
                    await store.guaranteed_update(namespace, quota["metadata"]["name"], mutate,
                                                  opts=WriteOptions(field_manager=_MANAGER), subresource="status")
                except errors.StatusError as e:
                    if e.reason != "NotFound":
                        raise
