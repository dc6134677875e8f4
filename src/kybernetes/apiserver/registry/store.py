"""The generic store: create, read, update, delete and list for every kind, over storage.

Every kind goes through the same steps (upstream's genericregistry.Store):
  create: name/generateName, namespace checks, system metadata, strategy (reset, default,
          validate), hooks (allocations), managedFields, storage create.
  update: read current, preconditions, carry system metadata, strategy, generation bump,
          no-op detection (an unchanged object is not written), compare-and-swap write;
          removing the last finalizer of an object being deleted completes its deletion.
  delete: preconditions, graceful deletion (pods on a node), finalizers and propagation
          policy, storage delete.
Objects are read from the watch cache (after waiting until it has every acknowledged write)
and written to storage; the cache follows storage's watch.

Stored objects are in the resource's storage version; version conversion happens in the
REST layer.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from kybernetes.api.resources import Resource
from kybernetes.apiserver import admission, warning
from kybernetes.apiserver.cache import Entry, WatchCache
from kybernetes.apiserver.strategy import Strategy
from kybernetes.machinery import errors, managedfields
from kybernetes.machinery.errors import Cause
from kybernetes.storage.interface import (
    CompactedError,
    KeyExistsError,
    KeyNotFoundError,
    RevisionMismatchError,
    Storage,
)

Obj = dict[str, Any]
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # upstream's generateName alphabet
MAX_UPDATE_RETRIES = 1000  # conflicts without a pinned resourceVersion retry, as upstream
INTERNAL_SUBRESOURCES = frozenset({"binding"})


def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def encode(obj: Obj) -> bytes:
    """Storage form: the object without resourceVersion (that is the key's mod revision)."""
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "resourceVersion" in meta:
        obj = dict(obj)
        obj["metadata"] = {k: v for k, v in meta.items() if k != "resourceVersion"}
    return orjson.dumps(obj)


@dataclass(slots=True)
class WriteOptions:
    dry_run: bool = False
    field_manager: str = ""
    user_agent: str = ""
    user: Any = None  # authn.UserInfo of the requester, for admission
    warnings: list[str] = field(default_factory=list)  # for the client, filled by admission


@dataclass(slots=True)
class DeleteOptions:
    grace_period_seconds: int | None = None
    propagation_policy: str | None = None  # Background, Foreground, Orphan
    precondition_uid: str | None = None
    precondition_rv: str | None = None
    dry_run: bool = False
    user: Any = None
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ListPage:
    items: list[Entry]
    revision: int
    continue_token: str | None
    remaining: int | None


class Hooks:
    """Side effects a kind needs around writes (ClusterIP/NodePort allocation, ...).
    Hooks may raise StatusError to refuse a write."""

    async def before_create(self, store: Store, obj: Obj, dry_run: bool) -> None:
        del store, obj, dry_run

    async def after_create_failed(self, store: Store, obj: Obj) -> None:
        del store, obj

    async def before_update(self, store: Store, new: Obj, old: Obj, dry_run: bool) -> None:
        del store, new, old, dry_run

    async def after_delete(self, store: Store, obj: Obj) -> None:
        del store, obj


def manager_from_user_agent(ua: str) -> str:
    """Default field manager as upstream: the user agent's first token up to '/'."""
    token = ua.split(" ", 1)[0] if ua else ""
    name = token.split("/", 1)[0]
    return name[:128] or "unknown"


class Store:
    def __init__(self, resource: Resource, storage: Storage, cache: WatchCache, strategy: Strategy,
                 *, hooks: Hooks | None = None, namespace_exists: Callable[[str], Awaitable[Obj | None]] | None = None,
                 allow_create_on_update: bool = False, admission_chain: admission.Chain | None = None) -> None:
        self.resource = resource
        self.storage = storage
        self.cache = cache
        self.strategy = strategy
        self.hooks = hooks or Hooks()
        self._namespace_lookup = namespace_exists
        self.allow_create_on_update = allow_create_on_update
        self.admission = admission_chain or admission.EMPTY_CHAIN
        self.prefix_root = resource.key_prefix()

    # --- keys ------------------------------------------------------------------------------------
    def key(self, namespace: str, name: str) -> str:
        if self.resource.namespaced:
            return f"{self.prefix_root}{namespace}/{name}"
        return f"{self.prefix_root}{name}"

    def prefix(self, namespace: str) -> str:
        if self.resource.namespaced and namespace:
            return f"{self.prefix_root}{namespace}/"
        return self.prefix_root

    @property
    def _res(self) -> str:
        return self.resource.plural

    @property
    def _group(self) -> str:
        return self.resource.group

    def _not_found(self, name: str) -> errors.StatusError:
        return errors.not_found(self._res, name, self._group)

    # --- reads -------------------------------------------------------------------------------------
    async def get(self, namespace: str, name: str, *, resource_version: str = "") -> Entry:
        if resource_version != "0":
            await self.cache.wait_fresh()
        entry = self.cache.get(self.key(namespace, name))
        if entry is None:
            raise self._not_found(name)
        return entry

    async def list(self, namespace: str, *, limit: int = 0, continue_token: str = "",
                   resource_version: str = "", resource_version_match: str = "",
                   predicate: Callable[[Entry], bool] | None = None) -> ListPage:
        if resource_version_match not in ("", "Exact", "NotOlderThan"):
            raise errors.bad_request(
                f'resourceVersionMatch: Unsupported value: "{resource_version_match}": '
                'supported values: "Exact", "NotOlderThan"')
        prefix = self.prefix(namespace)
        start_after = ""
        at_revision = 0
        if continue_token:
            at_revision, start_after = decode_continue(continue_token)
            if not start_after.startswith(prefix):
                raise errors.bad_request("continue key is not valid: does not match the requested prefix")
        elif resource_version_match and not resource_version:
            raise errors.bad_request("resourceVersionMatch is forbidden unless resourceVersion is provided")
        elif resource_version_match == "Exact":
            at_revision = _parse_rv(resource_version)
        if not at_revision:
            if resource_version not in ("", "0"):
                await self.cache.wait_for(_parse_rv(resource_version))
            elif resource_version == "":
                await self.cache.wait_fresh()
            return self._list_from_cache(prefix, limit, start_after, self.cache.revision, predicate)
        # A past revision: serve from the cache when nothing under this resource changed since.
        if self.cache.last_change(self.prefix_root) <= at_revision <= self.cache.revision:
            return self._list_from_cache(prefix, limit, start_after, at_revision, predicate)
        return await self._list_from_storage(prefix, limit, start_after, at_revision, predicate)

    def _list_from_cache(self, prefix: str, limit: int, after: str, revision: int,
                         predicate: Callable[[Entry], bool] | None) -> ListPage:
        items: list[Entry] = []
        last_key = ""
        more = False
        for k, e in self.cache.iter_prefix(prefix, after=after):
            if predicate is not None and not predicate(e):
                continue
            if limit and len(items) >= limit:
                more = True
                break
            items.append(e)
            last_key = k
        token = encode_continue(revision, last_key) if more else None
        remaining = None
        if more:
            remaining = sum(1 for _ in self.cache.iter_prefix(prefix, after=last_key)
                            if predicate is None or predicate(_[1]))
        return ListPage(items, revision, token, remaining)

    async def _list_from_storage(self, prefix: str, limit: int, after: str, revision: int,
                                 predicate: Callable[[Entry], bool] | None) -> ListPage:
        items: list[Entry] = []
        cursor = after
        more = False
        last_key = ""
        try:
            while True:
                batch = await self.storage.list(prefix, limit=max(limit, 500) if limit else 0,
                                                continue_key=cursor or None, revision=revision)
                for kv in batch.items:
                    cursor = kv.key
                    entry = self.cache.entry_from_value(kv.key, kv.value, kv.mod_revision)
                    if predicate is not None and not predicate(entry):
                        continue
                    if limit and len(items) >= limit:
                        more = True
                        break
                    items.append(entry)
                    last_key = kv.key
                if more or not batch.more or not limit:
                    break
        except CompactedError:
            raise errors.gone(
                "The provided continue parameter is too old to display a consistent list result. "
                "You can start a new list without the continue parameter, or use the continue token "
                "in this response to retrieve the remainder of the results. Continuing with the provided "
                "token results in an inconsistent list - objects that were created, modified, or deleted "
                "between the time the first chunk was returned and now may show up in the list.") from None
        token = encode_continue(revision, last_key) if more else None
        return ListPage(items, revision, token, None)

    # --- create ------------------------------------------------------------------------------------
    async def create(self, obj: Obj, *, namespace: str, opts: WriteOptions) -> Obj:
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = obj["metadata"] = {}
        if self.resource.namespaced:
            ns = meta.get("namespace") or namespace
            if namespace and ns != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request")
            meta["namespace"] = ns
            await self._check_namespace(ns, meta.get("name") or meta.get("generateName", ""))
        else:
            meta.pop("namespace", None)
        if meta.get("resourceVersion"):
            raise errors.bad_request("resourceVersion should not be set on objects to be created")
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(random.choices(_NAME_CHARS, k=5))
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(k, None)
        if self.strategy.tracks_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        self.strategy.default(obj)
        attrs = admission.Attributes(self.resource, admission.CREATE, meta.get("namespace", ""), meta.get("name", ""),
                                     obj, None, user=opts.user, dry_run=opts.dry_run,
                                     options={"warnings": opts.warnings})
        await self.admission.admit(attrs)
        with warning.recording(opts.warnings):
            self.strategy.prepare_for_create(obj)
        self.strategy.default(obj)
        self._validate_create(obj)
        opts.warnings.extend(self.strategy.warnings_on_create(obj))
        await self.admission.validate(attrs)
        self._record_fields(obj, opts, "", None)
        await self.hooks.before_create(self, obj, opts.dry_run)
        if opts.dry_run:
            return obj
        try:
            kv = await self.storage.create(self.key(meta.get("namespace", ""), meta["name"]), encode(obj))
        except KeyExistsError:
            await self.hooks.after_create_failed(self, obj)
            raise errors.already_exists(self._res, meta["name"], self._group) from None
        except BaseException:
            await self.hooks.after_create_failed(self, obj)
            raise
        meta["resourceVersion"] = str(kv.mod_revision)
        return obj

    async def _check_namespace(self, ns: str, name: str) -> None:
        if self._namespace_lookup is None:
            return
        nsobj = await self._namespace_lookup(ns)
        if nsobj is None:
            raise errors.not_found("namespaces", ns)
        if (nsobj.get("metadata", {}).get("deletionTimestamp")
                or nsobj.get("status", {}).get("phase") == "Terminating"):
            raise errors.StatusError(
                403, "Forbidden",
                f"{self._res}{'.' + self._group if self._group else ''} \"{name}\" is forbidden: "
                f"unable to create new content in namespace {ns} because it is being terminated",
                {"kind": self._res, "group": self._group} if self._group else {"kind": self._res})

    def _validate_create(self, obj: Obj) -> None:
        from kybernetes.apiserver.validate import validate_meta

        causes = validate_meta(self.resource, obj) + self.strategy.validate(obj)
        if causes:
            raise errors.invalid(self.resource.kind, obj["metadata"].get("name", ""), causes, self._group)

    def _record_fields(self, obj: Obj, opts: WriteOptions, subresource: str, old: Obj | None) -> None:
        """managedFields for a non-apply write of `old` (None: a create) into `obj`."""
        if managedfields.is_applying() or subresource in INTERNAL_SUBRESOURCES:
            return  # a server-side apply computed them already; bindings are not tracked upstream
        manager = opts.field_manager or manager_from_user_agent(opts.user_agent)
        managedfields.record_update(obj, old, manager=manager,
                                    api_version=obj.get("apiVersion", self.resource.group_version),
                                    now=now_rfc3339(), root=self.resource.schema, subresource=subresource,
                                    status_reset=self.resource.subresource("status") is not None)

    # --- update ------------------------------------------------------------------------------------
    async def update(self, namespace: str, name: str, new: Obj, *, opts: WriteOptions,
                     subresource: str = "") -> tuple[Obj, bool]:
        """Replace the object (PUT). Returns (object, created)."""
        meta = new.get("metadata")
        if not isinstance(meta, dict):
            meta = new["metadata"] = {}
        if meta.get("name", name) != name:
            raise errors.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})")
        if self.resource.namespaced and meta.get("namespace", namespace) != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request")
        wanted_rv = meta.get("resourceVersion") or ""
        key = self.key(namespace, name)
        await self.cache.wait_fresh()
        entry = self.cache.get(key)
        if entry is None:
            if self.allow_create_on_update and not subresource:
                meta.pop("resourceVersion", None)
                meta["name"] = name
                return await self.create(new, namespace=namespace, opts=opts), True
            raise self._not_found(name)
        if wanted_rv and wanted_rv != str(entry.revision):
            raise errors.conflict(self._res, name, self._group)

        async def mutate(current: Obj) -> Obj:
            return copy.deepcopy(new)

        return await self.guaranteed_update(namespace, name, mutate, opts=opts, subresource=subresource,
                                            precondition_rv=wanted_rv), False

    async def guaranteed_update(self, namespace: str, name: str,
                                mutate: Callable[[Obj], Awaitable[Obj]], *, opts: WriteOptions,
                                subresource: str = "", precondition_rv: str = "",
                                operation: str = "Update") -> Obj:
        """Read-modify-write with compare-and-swap, retried on conflicts unless the caller
        pinned a resourceVersion."""
        key = self.key(namespace, name)
        for _attempt in range(MAX_UPDATE_RETRIES):
            entry = await self.get(namespace, name)
            old = entry.obj
            old_rv = old["metadata"]["resourceVersion"]
            if precondition_rv and precondition_rv != old_rv:
                raise errors.conflict(self._res, name, self._group)
            new = await mutate(entry.obj)  # a fresh copy the mutation may change
            result = await self._prepare_update(new, old, opts=opts, subresource=subresource, operation=operation)
            if result is None:
                return old  # no-op: nothing to write
            if opts.dry_run:
                result["metadata"]["resourceVersion"] = old_rv
                return result
            if not subresource:
                await self.hooks.before_update(self, result, old, opts.dry_run)
            try:
                if self._deletion_complete(result):
                    kv = await self.storage.delete(key, expected_revision=int(old_rv))
                    await self.hooks.after_delete(self, result)
                    result["metadata"]["resourceVersion"] = str(kv.mod_revision)
                    return result
                kv = await self.storage.update(key, encode(result), expected_revision=int(old_rv))
            except RevisionMismatchError:
                if precondition_rv:
                    raise errors.conflict(self._res, name, self._group) from None
                continue
            except KeyNotFoundError:
                raise self._not_found(name) from None
            result["metadata"]["resourceVersion"] = str(kv.mod_revision)
            return result
        raise errors.conflict(self._res, name, self._group)

    async def _prepare_update(self, new: Obj, old: Obj, *, opts: WriteOptions, subresource: str,
                              operation: str) -> Obj | None:
        meta = new.get("metadata")
        if not isinstance(meta, dict):
            meta = new["metadata"] = {}
        old_meta = old["metadata"]
        new["apiVersion"] = old.get("apiVersion", new.get("apiVersion"))
        new["kind"] = old.get("kind", new.get("kind"))
        # System metadata is the server's.
        for k in ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp",
                  "deletionGracePeriodSeconds", "generation"):
            if k in old_meta:
                meta[k] = old_meta[k]
            else:
                meta.pop(k, None)
        meta.pop("selfLink", None)
        # an unconditional update (no resourceVersion) applies to the version we read
        meta["resourceVersion"] = old_meta.get("resourceVersion", "")
        # (a subresource write cannot set managedFields: what a client sends there is ignored)
        explicit_managed = (not subresource and "managedFields" in meta
                            and meta["managedFields"] != old_meta.get("managedFields"))
        if not explicit_managed:
            if "managedFields" in old_meta:
                meta["managedFields"] = copy.deepcopy(old_meta["managedFields"])
            else:
                meta.pop("managedFields", None)
        attrs = admission.Attributes(self.resource, admission.UPDATE, old_meta.get("namespace", ""),
                                     old_meta.get("name", ""), new, old, subresource=subresource,
                                     user=opts.user, dry_run=opts.dry_run, options={"warnings": opts.warnings})
        if subresource not in INTERNAL_SUBRESOURCES:
            self.strategy.default(new)
            await self.admission.admit(attrs)
        if subresource in INTERNAL_SUBRESOURCES:
            pass  # the server's own subresource writes (binding) set exactly what they mean to
        elif subresource == "status":
            self.strategy.prepare_for_status_update(new, old)
        elif subresource == "approval":
            self.strategy.prepare_for_approval_update(new, old)
        elif subresource == "finalize":
            self.strategy.prepare_for_finalize_update(new, old)
        elif subresource:  # (pods/ephemeralcontainers)
            self.strategy.prepare_for_subresource_update(subresource, new, old)
        else:
            self.strategy.prepare_for_update(new, old)
        self.strategy.default(new)
        if subresource in INTERNAL_SUBRESOURCES:
            causes = []
        elif subresource in ("status", "approval"):
            causes = self.strategy.validate_status_update(new, old)
        else:
            from kybernetes.apiserver.validate import validate_meta_update

            causes = validate_meta_update(self.resource, new, old) + (
                self.strategy.validate_subresource_update(subresource, new, old)
                if subresource and subresource != "finalize" else self.strategy.validate_update(new, old))
        if causes:
            raise errors.invalid(self.resource.kind, meta.get("name", ""), causes, self._group)
        if not subresource:
            opts.warnings.extend(self.strategy.warnings_on_update(new, old))
        if subresource not in INTERNAL_SUBRESOURCES:
            await self.admission.validate(attrs)
        if old_meta.get("deletionTimestamp") and set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or []):
            raise errors.invalid(self.resource.kind, meta.get("name", ""), [Cause(
                "FieldValueForbidden", "Forbidden: no new finalizers can be added if the object is being deleted",
                "metadata.finalizers")], self._group)
        if self.strategy.tracks_generation and self.strategy.spec_of(new) != self.strategy.spec_of(old):
            meta["generation"] = int(old_meta.get("generation") or 0) + 1
        if _same_ignoring(new, old) and not explicit_managed:
            return None  # (a write of managedFields alone is a change: kubectl's apply migration)
        if operation != "Apply":  # an apply brings its managedFields
            self._record_fields(new, opts, subresource, old)
        return new

    def _deletion_complete(self, obj: Obj) -> bool:
        meta = obj["metadata"]
        if not meta.get("deletionTimestamp") or meta.get("finalizers") or self.strategy.deletion_held(obj):
            return False
        # Pods wait for their node unless the grace period is already over (grace 0).
        return not (self.resource.kind == "Pod" and self.resource.group == ""
                    and int(meta.get("deletionGracePeriodSeconds") or 0) > 0)

    # --- delete ------------------------------------------------------------------------------------
    async def delete(self, namespace: str, name: str, options: DeleteOptions) -> tuple[Obj, bool]:
        """Returns (object, deleted_now)."""
        key = self.key(namespace, name)
        for _attempt in range(MAX_UPDATE_RETRIES):
            entry = await self.get(namespace, name)
            obj = entry.obj
            meta = obj["metadata"]
            if options.precondition_uid and options.precondition_uid != meta.get("uid"):
                raise errors.conflict(self._res, name, self._group, reason=(
                    f"Precondition failed: UID in precondition: {options.precondition_uid}, "
                    f"UID in object meta: {meta.get('uid')}"))
            if options.precondition_rv and options.precondition_rv != meta.get("resourceVersion"):
                raise errors.conflict(self._res, name, self._group, reason=(
                    f"Precondition failed: ResourceVersion in precondition: {options.precondition_rv}, "
                    f"ResourceVersion in meta: {meta.get('resourceVersion')}"))
            rv = int(meta["resourceVersion"])
            await self.admission.validate(admission.Attributes(
                self.resource, admission.DELETE, meta.get("namespace", ""), name, None, entry.obj,
                user=options.user, dry_run=options.dry_run, options={"warnings": options.warnings}))
            changed = self._begin_deletion(obj, options)
            if options.dry_run:
                return obj, not changed
            try:
                if changed:
                    kv = await self.storage.update(key, encode(obj), expected_revision=rv)
                    meta["resourceVersion"] = str(kv.mod_revision)
                    return obj, False
                kv = await self.storage.delete(key, expected_revision=rv)
            except RevisionMismatchError:
                continue
            except KeyNotFoundError:
                raise self._not_found(name) from None
            await self.hooks.after_delete(self, obj)
            meta["resourceVersion"] = str(kv.mod_revision)
            return obj, True
        raise errors.conflict(self._res, name, self._group)

    def _begin_deletion(self, obj: Obj, options: DeleteOptions) -> bool:
        """Decide graceful deletion and finalizers. Returns True when the object must stay
        (and was marked), False when it can be removed now."""
        meta = obj["metadata"]
        finalizers: list[str] = list(meta.get("finalizers") or [])
        policy = options.propagation_policy
        if policy == "Foreground" and "foregroundDeletion" not in finalizers and self._has_dependents(obj):
            finalizers.append("foregroundDeletion")
        if policy == "Orphan" and "orphan" not in finalizers and self._has_dependents(obj):
            finalizers.append("orphan")
        grace = self._grace_period(obj, options)
        already = bool(meta.get("deletionTimestamp"))
        if finalizers != list(meta.get("finalizers") or []):
            meta["finalizers"] = finalizers
        if grace > 0:
            if already:
                # a shorter grace period may be requested again, never a longer one
                current = int(meta.get("deletionGracePeriodSeconds") or 0)
                if grace >= current:
                    return True
            deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=grace)
            meta["deletionTimestamp"] = deadline.strftime("%Y-%m-%dT%H:%M:%SZ")
            meta["deletionGracePeriodSeconds"] = grace
            return True
        if finalizers or self.strategy.deletion_held(obj):
            if not already:
                meta["deletionTimestamp"] = now_rfc3339()
            meta["deletionGracePeriodSeconds"] = 0
            self.strategy.mark_deleting(obj)
            return True
        return False

    def _grace_period(self, obj: Obj, options: DeleteOptions) -> int:
        if not (self.resource.kind == "Pod" and self.resource.group == ""):
            return 0
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        if options.grace_period_seconds is not None:
            grace = int(options.grace_period_seconds)
        else:
            grace = int(spec.get("terminationGracePeriodSeconds", 30) or 0)
        # An unscheduled or finished pod has no containers to stop.
        if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
            return 0
        return max(grace, 0)

    def _has_dependents(self, obj: Obj) -> bool:
        uid = obj["metadata"].get("uid") or ""
        ns = obj["metadata"].get("namespace", "")
        needle = uid.encode()
        for entry in self.cache.all_entries():
            if not needle or needle not in entry.raw:
                continue  # cheap pre-filter before decoding
            dep = entry.obj
            for ref in dep.get("metadata", {}).get("ownerReferences") or []:
                if ref.get("uid") == uid and dep["metadata"].get("namespace", "") in ("", ns):
                    return True
        return False


def _same_ignoring(a: Obj, b: Obj) -> bool:
    """Equal apart from resourceVersion and managedFields timestamps (a no-op write)."""

    def strip(o: Obj) -> Obj:
        o = dict(o)
        m = dict(o.get("metadata") or {})
        m.pop("resourceVersion", None)
        m.pop("managedFields", None)
        o["metadata"] = m
        return o

    return strip(a) == strip(b)


def _parse_rv(rv: str) -> int:
    try:
        value = int(rv)
    except ValueError:
        raise errors.bad_request(f'resourceVersion: Invalid value: "{rv}": strconv.ParseUint: parsing "{rv}": invalid syntax') from None
    if value < 0:
        raise errors.bad_request(f'resourceVersion: Invalid value: "{rv}"')
    return value


def encode_continue(revision: int, key: str) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": key + "\x00"})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        d = orjson.loads(raw)
        rv = int(d["rv"])
        start = str(d["start"])
    except Exception:
        raise errors.bad_request("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)") from None
    if d.get("v") != "meta.k8s.io/v1" or rv <= 0:
        raise errors.bad_request("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    # the stored start key is "<last key>\x00": resume strictly after <last key>
    return rv, start[:-1] if start.endswith("\x00") else start
