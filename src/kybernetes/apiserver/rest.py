"""REST handlers: one function per verb, shared by every resource.

A request arrives parsed (``RequestInfo``) with its resource resolved; the handler decodes the
body, converts between the served and the stored version, calls the generic store and writes
the answer (object, list, Table, Status or a watch stream).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import jsonpatch
import orjson
from aiohttp import web

from kybernetes.api.resources import Resource
from kybernetes.api.schemas import REGISTRY
from kybernetes.apiserver import authn, codec, tables
from kybernetes.apiserver.authn import UserInfo
from kybernetes.apiserver.cache import CacheEvent, Entry
from kybernetes.apiserver.crd import conversion_client
from kybernetes.apiserver.registry import accessreview, eviction, podproxy, tokenrequest
from kybernetes.apiserver.registry.store import DeleteOptions, ListPage, Store, WriteOptions
from kybernetes.apiserver.requestinfo import RequestInfo
from kybernetes.machinery import errors, fieldcheck, fields, labels, managedfields, satoken
from kybernetes.machinery.apply import operation as ssa
from kybernetes.machinery.patch.merge import apply_merge_patch
from kybernetes.machinery.patch.strategic import apply_strategic_merge_patch

Obj = dict[str, Any]
BOOKMARK_INTERVAL = 60.0
COALESCE_WINDOW = 0.01  # seconds: watch events closer than this are sent in batches
SCALE_MESSAGE = "io.k8s.api.autoscaling.v1.Scale"
DELETE_OPTIONS_MESSAGE = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
USER_KEY: web.RequestKey[UserInfo | None] = web.RequestKey("user", UserInfo)  # type: ignore[arg-type]
# Warnings for the client (admission, field validation), sent as `Warning: 299 - "..."` headers.
WARNINGS_KEY: web.RequestKey[list[str]] = web.RequestKey("warnings", list)  # type: ignore[arg-type]


def add_warning_headers(resp: web.StreamResponse, warnings: list[str]) -> None:
    for value in fieldcheck.warning_headers(warnings):
        resp.headers.add("Warning", value)


def add_warnings(request: web.Request, texts: list[str]) -> None:
    """Queue warnings for the response (the server's middleware writes the headers)."""
    queued = request.get(WARNINGS_KEY)
    if queued is None:
        request[WARNINGS_KEY] = queued = []
    queued.extend(texts)


# --- version conversion ------------------------------------------------------------------------------


def to_storage(resource: Resource, obj: Obj) -> Obj:
    if resource.group == "autoscaling" and resource.version == "v1":
        from kybernetes.api import conversion

        return conversion.hpa_v1_to_v2(obj)
    stored = resource.stored_version
    obj["apiVersion"] = f"{resource.group}/{stored}" if resource.group else stored
    obj["kind"] = resource.kind
    return obj


def from_storage(resource: Resource, obj: Obj) -> Obj:
    if resource.group == "autoscaling" and resource.version == "v1":
        from kybernetes.api import conversion

        return conversion.hpa_v2_to_v1(obj)
    if resource.custom is not None:  # custom resources: apiVersion, read-time defaults (crd.model)
        served: Obj = resource.custom.from_storage(obj)
        return served
    return obj


def needs_conversion(resource: Resource) -> bool:
    if resource.custom is not None:
        return bool(resource.custom.convert_on_read)
    return resource.storage_version != "" and resource.storage_version != resource.version


def check_body(resource: Resource, obj: Obj, body: bytes | None, *, duplicates: bool) -> fieldcheck.CheckResult:
    """Unknown/duplicate fields and wrong types of a whole object: by the kind's declaration, or
    for custom resources by their CRD's structural schema (pruned and defaulted)."""
    if resource.custom is not None:
        result: fieldcheck.CheckResult = resource.custom.check(obj, body, duplicates=duplicates)
        return result
    if body is None:
        return fieldcheck.check_and_prune(obj, resource.schema, REGISTRY)
    return fieldcheck.check_json_body(obj, body, resource.schema, REGISTRY, duplicates=duplicates)


# --- query parameters ----------------------------------------------------------------------------------


def q_bool(request: web.Request, name: str) -> bool:
    v = request.query.get(name, "")
    return v.lower() in ("true", "1", "yes")


def q_int(request: web.Request, name: str) -> int | None:
    v = request.query.get(name)
    if v is None or v == "":
        return None
    try:
        return int(v)
    except ValueError:
        raise errors.bad_request(f'invalid value for {name}: "{v}"') from None


def include_object(request: web.Request) -> str:
    value = request.query.get("includeObject", "") or "Metadata"
    if value not in ("None", "Metadata", "Object"):
        raise errors.bad_request(
            f'includeObject: Unsupported value: "{value}": supported values: "None", "Metadata", "Object"')
    return value


def write_options(request: web.Request) -> WriteOptions:
    dry = request.query.getall("dryRun", [])
    for d in dry:
        if d != "All":
            raise errors.bad_request(f'Invalid dry run value: "{d}": supported values: "All"')
    fm = request.query.get("fieldManager", "")
    if len(fm) > 128:
        raise errors.invalid("", "", [errors.Cause("FieldValueTooLong", "Too long: may not be more than 128 bytes", "fieldManager")])
    fv = request.query.get("fieldValidation", "")
    if fv not in ("", "Strict", "Warn", "Ignore"):
        raise errors.bad_request(f'fieldValidation: Unsupported value: "{fv}": supported values: "Ignore", "Strict", "Warn"')
    return WriteOptions(dry_run=bool(dry), field_manager=fm, user_agent=request.headers.get("User-Agent", ""),
                        user=request.get(USER_KEY), warnings=request.get(WARNINGS_KEY, []))


# --- response helpers ----------------------------------------------------------------------------------


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return web.Response(body=raw, status=status, content_type="application/json", headers=headers)


def status_response(err: errors.StatusError) -> web.Response:
    return json_response(err.status(), err.code, headers=err.headers or None)


class RestHandler:
    """Serves the resource endpoints for one API server."""

    def __init__(self, stores: dict[tuple[str, str], Store], decode_protobuf: Callable[[bytes], Obj] | None) -> None:
        self.stores = stores  # (group, plural) -> Store (in the storage version)
        self.decode_protobuf = decode_protobuf
        self.pod_proxy: podproxy.PodProxy | None = None  # pods/log, exec, attach, portforward → kubelet
        self.sa_tokens: satoken.ServiceAccountTokens | None = None  # serviceaccounts/token, TokenReview
        self.authorizer: Any = None  # authz.authorizer.Authorizer: the authorization.k8s.io reviews ask it
        self.watch_events_sent: Callable[[Resource, int], None] | None = None  # apiserver_watch_events_total

    def store_for(self, resource: Resource) -> Store:
        return self.stores[(resource.group, resource.plural)]

    # --- conversion (custom resources' conversion webhooks: apiserver.crd.conversion_client) ------------
    def _service(self, namespace: str, name: str) -> Obj | None:
        store = self.stores.get(("", "services"))
        entry = store.cache.get(store.key(namespace, name)) if store is not None else None
        return entry.obj if entry is not None else None

    async def served(self, resource: Resource, objs: list[Obj]) -> list[Obj]:
        """Stored objects in the request's version; a CRD's webhook converts them in one review."""
        if conversion_client.uses_webhook(resource.custom):
            return await conversion_client.to_served(resource.custom, objs, self._service)
        return [from_storage(resource, o) if needs_conversion(resource) else o for o in objs]

    async def served_one(self, resource: Resource, obj: Obj) -> Obj:
        return (await self.served(resource, [obj]))[0]

    async def stored(self, resource: Resource, obj: Obj) -> Obj:
        """A request's object in the storage version."""
        if conversion_client.uses_webhook(resource.custom):
            obj = await conversion_client.to_stored(resource.custom, obj, self._service)
        return to_storage(resource, obj)

    # --- entry ----------------------------------------------------------------------------------------
    async def handle(self, request: web.Request, info: RequestInfo, resource: Resource) -> web.StreamResponse:
        if not codec.acceptable(request.headers.get("Accept")):
            raise errors.not_acceptable()
        if resource.namespaced is False and info.namespace and resource.plural != "namespaces":
            raise errors.server_not_found()
        sub = info.subresource
        verb = info.verb
        if resource.group == tokenrequest.GROUP and not sub:
            return await self._authentication_review(request, info, resource)
        if resource.group == accessreview.GROUP and not sub:
            return await self._access_review(request, info, resource)
        if sub:
            return await self._subresource(request, info, resource, sub)
        if not info.name and resource.namespaced is False and info.namespace:
            raise errors.server_not_found()
        if verb not in resource.verbs:
            raise errors.method_not_allowed()
        if verb == "get":
            return await self.get(request, info, resource)
        if verb == "list":
            return await self.list(request, info, resource)
        if verb == "watch":
            return await self.watch(request, info, resource)
        if verb == "create":
            if info.name:
                raise errors.method_not_allowed()
            return await self.create(request, info, resource)
        if verb == "update":
            if not info.name:
                raise errors.method_not_allowed()
            return await self.update(request, info, resource)
        if verb == "patch":
            if not info.name:
                raise errors.method_not_allowed()
            return await self.patch(request, info, resource)
        if verb == "delete":
            return await self.delete(request, info, resource)
        if verb == "deletecollection":
            return await self.delete_collection(request, info, resource)
        raise errors.method_not_allowed()

    # --- bodies ---------------------------------------------------------------------------------------
    async def read_body(self, request: web.Request) -> bytes:
        if request.content_length is not None and request.content_length > codec.MAX_BODY_BYTES:
            raise errors.request_entity_too_large()
        chunks = []
        size = 0
        async for chunk in request.content.iter_chunked(65536):
            size += len(chunk)
            if size > codec.MAX_BODY_BYTES:
                raise errors.request_entity_too_large()
            chunks.append(chunk)
        return b"".join(chunks)

    async def read_object(self, request: web.Request, resource: Resource) -> Obj:
        return await self.read_checked(request, resource.schema, resource.kind, resource.version, resource=resource)

    async def read_checked(self, request: web.Request, message: str, kind: str, version: str, *,
                           resource: Resource | None = None, allow_empty: bool = False) -> Obj:
        """Decode a body and check it against `message`: unknown fields pruned; wrong types,
        and under Strict unknown/duplicate fields, are a 400."""
        body = await self.read_body(request)
        if not body.strip():
            if allow_empty:
                return {}
            raise errors.bad_request("the body of the request was empty")
        ctype = request.headers.get("Content-Type", "")
        yaml_strict: list[str] = []
        obj = codec.decode_object_body(body, ctype, protobuf_decoder=self.decode_protobuf, strict_errors=yaml_strict)
        if resource is not None:
            check_kind(obj, resource)
        mt = codec.media_type(ctype) or codec.JSON
        if mt == codec.PROTOBUF:
            return obj  # decoded by schema: no unknown fields, no wrong types
        mode = fieldcheck.normalize_mode(request.query.get("fieldValidation"))
        if resource is not None and resource.custom is not None:
            result = check_body(resource, obj, body if mt == codec.JSON else None, duplicates=mode != fieldcheck.IGNORE)
        else:
            result = fieldcheck.check_json_body(obj, body if mt == codec.JSON else None, message, REGISTRY,
                                                duplicates=mode != fieldcheck.IGNORE)
        add_warnings(request, fieldcheck.decide_body(result, mode, kind=kind, version=version,
                                                     prior_strict=yaml_strict))
        return result.obj

    # --- get / list ----------------------------------------------------------------------------------
    async def get(self, request: web.Request, info: RequestInfo, resource: Resource) -> web.StreamResponse:
        store = self.store_for(resource)
        entry = await store.get(info.namespace, info.name, resource_version=request.query.get("resourceVersion", ""))
        if codec.wants_table(request.headers.get("Accept")):
            obj = await self.served_one(resource, entry.obj)
            table = tables.build_table(resource, [obj], include_object=include_object(request),
                                       now=dt.datetime.now(dt.UTC), resource_version=obj["metadata"].get("resourceVersion", ""))
            return json_response(table)
        if needs_conversion(resource):
            return json_response(await self.served_one(resource, entry.obj))
        return json_response(entry.raw)

    def predicate(self, request: web.Request, resource: Resource) -> Callable[[Entry], bool] | None:
        ls_text = request.query.get("labelSelector", "")
        fs_text = request.query.get("fieldSelector", "")
        preds: list[Callable[[Entry], bool]] = []
        if ls_text:
            sel = labels.parse_selector(ls_text)
            if not sel.empty:
                preds.append(lambda e: sel.matches(e.labels))
        if fs_text:
            fsel = fields.parse_field_selector(fs_text)
            strategy = self.store_for(resource).strategy
            supported = strategy.selectable_fields({"metadata": {}})
            fields.check_supported(fsel, supported.keys(), resource.plural)
            preds.append(lambda e: fsel.matches(e.fields if e.fields is not None
                                                 else strategy.selectable_fields(e.obj)))
        if not preds:
            return None
        if len(preds) == 1:
            return preds[0]
        return lambda e: all(p(e) for p in preds)

    async def list(self, request: web.Request, info: RequestInfo, resource: Resource) -> web.StreamResponse:
        store = self.store_for(resource)
        limit = q_int(request, "limit") or 0
        if limit < 0:
            limit = 0
        page = await store.list(info.namespace, limit=limit, continue_token=request.query.get("continue", ""),
                                resource_version=request.query.get("resourceVersion", ""),
                                resource_version_match=request.query.get("resourceVersionMatch", ""),
                                predicate=self.predicate(request, resource))
        if codec.wants_table(request.headers.get("Accept")):
            objs = await self.served(resource, [e.obj for e in page.items])
            table = tables.build_table(resource, objs, include_object=include_object(request),
                                       now=dt.datetime.now(dt.UTC), resource_version=str(page.revision),
                                       continue_token=page.continue_token, remaining=page.remaining)
            return json_response(table)
        return web.Response(body=await self._list_body(resource, page), content_type="application/json")

    def _served(self, resource: Resource, e: Entry) -> Obj:
        return from_storage(resource, e.obj) if needs_conversion(resource) else e.obj

    async def _list_body(self, resource: Resource, page: ListPage) -> bytes:
        meta: Obj = {"resourceVersion": str(page.revision)}
        if page.continue_token:
            meta["continue"] = page.continue_token
            if page.remaining is not None:
                meta["remainingItemCount"] = page.remaining
        head = orjson.dumps({"kind": resource.kind_list, "apiVersion": resource.group_version, "metadata": meta})
        if needs_conversion(resource):
            items = b",".join(orjson.dumps(o) for o in await self.served(resource, [e.obj for e in page.items]))
        else:
            items = b",".join(e.raw for e in page.items)
        return head[:-1] + b',"items":[' + items + b"]}"

    # --- watch -----------------------------------------------------------------------------------------
    async def watch(self, request: web.Request, info: RequestInfo, resource: Resource) -> web.StreamResponse:
        store = self.store_for(resource)
        cache = store.cache
        pred = self.predicate(request, resource)
        rv_text = request.query.get("resourceVersion", "")
        bookmarks = q_bool(request, "allowWatchBookmarks")
        timeout = q_int(request, "timeoutSeconds")
        as_table = codec.wants_table(request.headers.get("Accept"))
        include = include_object(request)
        prefix = store.prefix(info.namespace)
        if info.name:
            # /namespaces/x/pods/name?watch (legacy): a field selector on the name
            pred = _and_name(pred, info.name)

        initial: list[Entry] = []
        if rv_text in ("", "0"):
            if rv_text == "":
                await cache.wait_fresh()
            start_rev = cache.revision
            initial = [e for _, e in cache.iter_prefix(prefix) if pred is None or pred(e)]
        else:
            try:
                start_rev = int(rv_text)
            except ValueError:
                raise errors.bad_request(f'resourceVersion: Invalid value: "{rv_text}"') from None
        watcher = cache.register(prefix, start_rev)

        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json",
                                                       "Cache-Control": "no-cache, private"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        headers_sent = False

        def encode_event(etype: str, obj: Obj) -> bytes:
            nonlocal headers_sent
            if as_table and etype != "BOOKMARK":
                table = tables.build_table(resource, [obj], include_object=include, now=dt.datetime.now(dt.UTC),
                                           no_headers=headers_sent, resource_version=obj["metadata"].get("resourceVersion", ""))
                headers_sent = True
                return orjson.dumps({"type": etype, "object": table}) + b"\n"
            return orjson.dumps({"type": etype, "object": obj}) + b"\n"

        if watcher is None:
            status = errors.gone(f"too old resource version: {start_rev} ({cache.oldest_revision})").status()
            await resp.write(orjson.dumps({"type": "ERROR", "object": status}) + b"\n")
            await resp.write_eof()
            return resp
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout else None
        # One timer per watch, re-armed only when it fires, wakes the watch for its deadline and
        # for bookmarks (a bookmark goes out after BOOKMARK_INTERVAL without events or bookmarks).
        timer: asyncio.TimerHandle | None = None
        last_bookmark = last_event = loop.time()

        def fire() -> None:
            nonlocal timer
            timer = None
            watcher.wake()

        def arm() -> None:
            nonlocal timer
            due = max(last_bookmark, last_event) + BOOKMARK_INTERVAL if bookmarks else None
            if deadline is not None:
                due = deadline if due is None else min(due, deadline)
            timer = loop.call_at(due, fire) if due is not None else None

        try:
            if initial:
                if as_table or needs_conversion(resource):
                    served = await self.served(resource, [e.obj for e in initial])
                    await resp.write(b"".join(encode_event("ADDED", o) for o in served))
                else:
                    await resp.write(b"".join(b'{"type":"ADDED","object":' + e.raw + b"}\n" for e in initial))
                if self.watch_events_sent is not None:
                    self.watch_events_sent(resource, len(initial))
            last_bookmark = last_event = loop.time()
            last_write = 0.0
            arm()
            while True:
                if deadline is not None and loop.time() >= deadline:
                    break
                await watcher.wait()
                if not watcher.pending and not watcher.closed:  # the timer
                    now = loop.time()
                    if bookmarks and now - max(last_bookmark, last_event) >= BOOKMARK_INTERVAL:
                        await resp.write(self._bookmark(resource, cache.revision))
                        last_bookmark = now
                    arm()
                    continue
                # Send everything pending in one write, at most one write per COALESCE_WINDOW: each
                # write costs a TLS record and a system call here (about half of the per-watcher
                # time) and a chunk to parse in the client. An event after a quiet spell goes out
                # at once; one soon after a write waits at most COALESCE_WINDOW.
                now = last_event = loop.time()
                if now - last_write < COALESCE_WINDOW and not watcher.closed:
                    await asyncio.sleep(last_write + COALESCE_WINDOW - now)
                last_write = loop.time()
                closed = watcher.closed
                events = watcher.take()
                for first in range(0, len(events), 512):
                    chunk = events[first : first + 512]
                    await self._send_events(resp, resource, chunk, pred, as_table, encode_event)
                if closed:
                    break
                if timer is None:  # it fired while this watch was busy sending
                    arm()
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        except errors.StatusError as e:  # a conversion webhook failed: the watch ends with an ERROR event
            with contextlib.suppress(ConnectionResetError, RuntimeError):
                await resp.write(orjson.dumps({"type": "ERROR", "object": errors.internal(e.message).status()}) + b"\n")
        finally:
            if timer is not None:
                timer.cancel()
            cache.unregister(watcher)
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await resp.write_eof()
        return resp

    async def _send_events(self, resp: web.StreamResponse, resource: Resource, events: Sequence[CacheEvent],
                           pred: Callable[[Entry], bool] | None, as_table: bool,
                           encode_event: Callable[[str, Obj], bytes]) -> None:
        """One write with the watch lines of `events` (filtered, converted where needed)."""
        batch: list[bytes] = []
        pending: list[tuple[str, Obj]] = []  # events whose objects a conversion webhook converts
        for ev in events:
            out = self._filter_event(ev, pred)
            if out is None:
                continue
            etype, entry = out
            if conversion_client.uses_webhook(resource.custom):
                pending.append((etype, entry.obj))
            elif as_table or needs_conversion(resource):
                batch.append(encode_event(etype, self._served(resource, entry)))
            else:
                batch.append(ev.line(etype, entry))
        if pending:
            converted = await self.served(resource, [o for _, o in pending])
            batch += [encode_event(t, o) for (t, _), o in zip(pending, converted, strict=True)]
        if batch:
            await resp.write(b"".join(batch))
            if self.watch_events_sent is not None:
                self.watch_events_sent(resource, len(batch))

    def _bookmark(self, resource: Resource, revision: int) -> bytes:
        return orjson.dumps({"type": "BOOKMARK", "object": {
            "kind": resource.kind, "apiVersion": resource.group_version,
            "metadata": {"resourceVersion": str(revision)}}}) + b"\n"

    @staticmethod
    def _filter_event(ev: CacheEvent, pred: Callable[[Entry], bool] | None) -> tuple[str, Entry] | None:
        """Upstream's filtered watch: an object moving into the selection is ADDED; one moving
        out of it is DELETED, carrying its previous state at the event's resourceVersion."""
        if pred is None:
            return ev.type, ev.entry
        cur = pred(ev.entry)
        if ev.type in ("ADDED", "DELETED"):
            return (ev.type, ev.entry) if cur else None
        was = ev.prev is not None and pred(ev.prev)
        if cur and was:
            return "MODIFIED", ev.entry
        if cur:
            return "ADDED", ev.entry
        if was and ev.prev is not None:
            return "DELETED", Entry.from_obj(ev.prev.obj, ev.revision)
        return None

    # --- writes ----------------------------------------------------------------------------------------
    async def create(self, request: web.Request, info: RequestInfo, resource: Resource) -> web.StreamResponse:
        opts = write_options(request)
        obj = await self.read_object(request, resource)
        obj = await self.stored(resource, obj)
        store = self.store_for(resource)
        created = await store.create(obj, namespace=info.namespace, opts=opts)
        return json_response(await self.served_one(resource, created), 201)

    async def update(self, request: web.Request, info: RequestInfo, resource: Resource,
                     subresource: str = "") -> web.StreamResponse:
        opts = write_options(request)
        obj = await self.read_object(request, resource)
        obj = await self.stored(resource, obj)
        store = self.store_for(resource)
        result, created = await store.update(info.namespace, info.name, obj, opts=opts, subresource=subresource)
        return json_response(await self.served_one(resource, result), 201 if created else 200)

    async def patch(self, request: web.Request, info: RequestInfo, resource: Resource,
                    subresource: str = "") -> web.StreamResponse:
        opts = write_options(request)
        ctype = codec.media_type(request.headers.get("Content-Type"))
        if ctype not in codec.PATCH_TYPES:
            raise errors.unsupported_media_type(ctype)
        if ctype == codec.STRATEGIC_PATCH and resource.custom is not None:
            raise errors.StatusError(415, "UnsupportedMediaType", (
                "the body of the request was in an unknown format - accepted media types include: "
                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"))
        body = await self.read_body(request)
        store = self.store_for(resource)
        if ctype == codec.APPLY_PATCH_YAML:
            return await self._apply(request, info, resource, body, opts, subresource)
        patch_doc = codec.decode_json(body) if body.strip() else None
        if patch_doc is None:
            raise errors.bad_request("the body of the request was empty")
        mode = fieldcheck.normalize_mode(request.query.get("fieldValidation"))
        patch_strict = [] if mode == fieldcheck.IGNORE else fieldcheck.patch_duplicates(
            body, patch_doc, json_patch=ctype == codec.JSON_PATCH)
        pinned_rv = ""
        if isinstance(patch_doc, dict):
            m = patch_doc.get("metadata")
            if isinstance(m, dict) and isinstance(m.get("resourceVersion"), str):
                pinned_rv = m["resourceVersion"]

        async def mutate(current: Obj) -> Obj:
            served = await self.served_one(resource, current)
            patched = apply_patch(ctype, served, patch_doc, resource)
            if not isinstance(patched, dict):
                raise errors.bad_request("the patch produced something other than an object")
            meta = patched.get("metadata")
            if not isinstance(meta, dict):
                raise errors.bad_request("metadata must be an object")
            if meta.get("name", info.name) != info.name:
                raise errors.invalid(resource.kind, info.name, [errors.Cause(
                    "FieldValueInvalid", f'Invalid value: "{meta.get("name")}": field is immutable', "metadata.name")],
                    resource.group)
            rv_after = meta.get("resourceVersion")
            if rv_after and rv_after != current["metadata"]["resourceVersion"]:
                raise errors.conflict(resource.plural, info.name, resource.group)
            check_kind(patched, resource)
            checked = check_body(resource, patched, None, duplicates=False)
            add_warnings(request, fieldcheck.decide_patch(checked, mode, patch_strict=patch_strict))
            return await self.stored(resource, checked.obj)

        result = await store.guaranteed_update(info.namespace, info.name, mutate, opts=opts,
                                               subresource=subresource, precondition_rv=pinned_rv)
        return json_response(await self.served_one(resource, result))

    async def _apply(self, request: web.Request, info: RequestInfo, resource: Resource, body: bytes,
                     opts: WriteOptions, subresource: str) -> web.StreamResponse:
        """Server-side apply (machinery.apply): create when absent (201), otherwise merge the
        applied configuration into the live object, with conflicts against other managers
        (409 unless ``force=true``) and the manager's Apply entry in managedFields."""
        if not opts.field_manager:
            raise errors.bad_request("PATCH, application/apply-patch+yaml requests must supply a fieldManager parameter")
        yaml_strict: list[str] = []
        if body.lstrip().startswith(b"{"):
            applied = codec.decode_json(body)
        else:
            applied, yaml_strict = codec.decode_yaml_checked(body)
        if not isinstance(applied, dict):
            raise errors.bad_request("error decoding YAML: the applied configuration must be an object")
        check_kind(applied, resource)
        applied_meta = applied.get("metadata")
        if not isinstance(applied_meta, dict):
            applied_meta = {}
        checked = fieldcheck.check_and_prune(applied, resource.schema, REGISTRY)
        add_warnings(request, fieldcheck.decide_apply(
            checked, fieldcheck.normalize_mode(request.query.get("fieldValidation")),
            group_version=resource.group_version,
            kind=resource.kind, namespace=str(applied_meta.get("namespace") or ""),
            name=str(applied_meta.get("name") or ""), yaml_strict=yaml_strict))
        config: Obj = checked.obj
        if applied_meta.get("name", info.name) != info.name:
            raise errors.bad_request(
                f"the name of the object ({applied_meta.get('name')}) does not match the name on the URL ({info.name})")
        force = q_bool(request, "force")
        store = self.store_for(resource)

        def run_apply(live: Obj | None) -> Obj:
            return ssa.apply(live, config, manager=opts.field_manager, api_version=resource.group_version,
                             now=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), root=resource.schema,
                             subresource=subresource, status_reset=resource.subresource("status") is not None,
                             force=force)

        await store.cache.wait_fresh()
        if store.cache.get(store.key(info.namespace, info.name)) is None:
            if subresource:
                raise errors.not_found(resource.plural, info.name, resource.group)
            obj = run_apply(None)
            obj.setdefault("metadata", {})["name"] = info.name
            try:
                with managedfields.applying():  # the Apply entry is already computed
                    created = await store.create(await self.stored(resource, obj), namespace=info.namespace,
                                                 opts=opts)
                return json_response(await self.served_one(resource, created), 201)
            except errors.StatusError as e:
                if e.reason != "AlreadyExists":
                    raise  # (created meanwhile: apply to it below)

        async def mutate(current: Obj) -> Obj:
            served = await self.served_one(resource, current)
            return await self.stored(resource, run_apply(served))

        result = await store.guaranteed_update(info.namespace, info.name, mutate, opts=opts,
                                               subresource=subresource, operation="Apply")
        return json_response(await self.served_one(resource, result))

    async def delete(self, request: web.Request, info: RequestInfo, resource: Resource) -> web.StreamResponse:
        options = await self._delete_options(request)
        store = self.store_for(resource)
        obj, deleted = await store.delete(info.namespace, info.name, options)
        if not deleted or resource.kind == "Pod":
            return json_response(await self.served_one(resource, obj))
        details: Obj = {"name": info.name}
        if resource.group:
            details["group"] = resource.group
        details["kind"] = resource.plural
        details["uid"] = obj["metadata"].get("uid", "")
        return json_response(errors.success_status(details))

    async def _delete_options(self, request: web.Request) -> DeleteOptions:
        opts = await self.read_checked(request, DELETE_OPTIONS_MESSAGE, "DeleteOptions", "v1", allow_empty=True)
        grace = opts.get("gracePeriodSeconds")
        qgrace = q_int(request, "gracePeriodSeconds")
        if qgrace is not None:
            grace = qgrace
        policy = opts.get("propagationPolicy") or request.query.get("propagationPolicy") or None
        if policy is None:
            orphan = opts.get("orphanDependents")
            if orphan is None and "orphanDependents" in request.query:
                orphan = q_bool(request, "orphanDependents")
            if orphan is True:
                policy = "Orphan"
        if policy not in (None, "Background", "Foreground", "Orphan"):
            raise errors.invalid("DeleteOptions", "", [errors.Cause(
                "FieldValueNotSupported",
                f'Unsupported value: "{policy}": supported values: "Foreground", "Background", "Orphan"',
                "propagationPolicy")])
        pre = opts.get("preconditions") or {}
        dry = opts.get("dryRun") or request.query.getall("dryRun", [])
        return DeleteOptions(grace_period_seconds=int(grace) if grace is not None else None,
                             propagation_policy=policy, precondition_uid=pre.get("uid"),
                             precondition_rv=pre.get("resourceVersion"), dry_run=bool(dry),
                             user=request.get(USER_KEY), warnings=request.get(WARNINGS_KEY, []))

    async def delete_collection(self, request: web.Request, info: RequestInfo, resource: Resource) -> web.StreamResponse:
        options = await self._delete_options(request)
        store = self.store_for(resource)
        page = await store.list(info.namespace, predicate=self.predicate(request, resource))
        deleted = []
        for e in page.items:
            meta = e.obj["metadata"]
            with contextlib.suppress(errors.StatusError):
                obj, _ = await store.delete(meta.get("namespace", ""), meta["name"], options)
                deleted.append(await self.served_one(resource, obj))
        return json_response({"kind": resource.kind_list, "apiVersion": resource.group_version,
                              "metadata": {"resourceVersion": str(store.cache.revision)}, "items": deleted})

    # --- subresources ------------------------------------------------------------------------------------
    async def _subresource(self, request: web.Request, info: RequestInfo, resource: Resource,
                           sub: str) -> web.StreamResponse:
        spec = resource.subresource(sub)
        if spec is None or not info.name:
            raise errors.server_not_found()
        verb = info.verb
        # (approval: CertificateSigningRequests' conditions; ephemeralcontainers: `kubectl debug`)
        if sub in ("status", "approval") or (sub == "ephemeralcontainers" and resource.plural == "pods"):
            if verb == "get":
                return await self.get(request, info, resource)
            if verb == "update":
                return await self.update(request, info, resource, subresource=sub)
            if verb == "patch":
                return await self.patch(request, info, resource, subresource=sub)
            raise errors.method_not_allowed()
        if sub == "finalize":
            if verb == "update":
                return await self.update(request, info, resource, subresource="finalize")
            raise errors.method_not_allowed()
        if sub == "scale":
            return await self._scale(request, info, resource, verb)
        if sub == "binding" and verb == "create":
            return await self._binding(request, info)
        if sub == "eviction" and verb == "create" and resource.plural == "pods":
            body = await self.read_checked(request, "io.k8s.api.policy.v1.Eviction", "Eviction", "v1")
            status = await eviction.evict(body, info.namespace, info.name, pods=self.stores[("", "pods")],
                                          pdbs=self.stores[("policy", "poddisruptionbudgets")],
                                          user=request.get(USER_KEY), dry_run=bool(request.query.getall("dryRun", [])))
            return json_response(status, 201)
        if sub == "token" and verb == "create" and resource.plural == "serviceaccounts" and self.sa_tokens is not None:
            body = await self.read_checked(request, "io.k8s.api.authentication.v1.TokenRequest", "TokenRequest", "v1")
            return json_response(await tokenrequest.create_token(body, info.namespace, info.name, stores=self.stores,
                                                                 tokens=self.sa_tokens), 201)
        if sub in podproxy.PROXIED and resource.plural == "pods" and self.pod_proxy is not None:
            return await self.pod_proxy.handle(request, info, sub)
        if sub == "proxy" and resource.plural == "nodes" and self.pod_proxy is not None:
            return await self.pod_proxy.handle_node(request, info)
        raise errors.StatusError(405, "MethodNotAllowed",
                                 f"{resource.plural}/{sub} is not served by this server yet")

    async def _authentication_review(self, request: web.Request, info: RequestInfo,
                                     resource: Resource) -> web.StreamResponse:
        """SelfSubjectReview and TokenReview: create-only, answered and never stored."""
        if info.verb != "create" or info.name:
            raise errors.method_not_allowed()
        body = await self.read_object(request, resource)
        if resource.plural == "selfsubjectreviews":
            return json_response(tokenrequest.self_subject_review(request.get(USER_KEY)), 201)
        return json_response(tokenrequest.token_review(body, self.sa_tokens, authn.user_of_subject), 201)

    async def _access_review(self, request: web.Request, info: RequestInfo, resource: Resource) -> web.StreamResponse:
        """SubjectAccessReview and friends: create-only, answered by the authorizer, never stored."""
        if info.verb != "create" or info.name:
            raise errors.method_not_allowed()
        body = await self.read_object(request, resource)
        user = request.get(USER_KEY) or UserInfo("system:anonymous", ("system:unauthenticated",))
        return json_response(accessreview.review(resource.plural, body, user, info.namespace, self.authorizer), 201)

    async def _scale(self, request: web.Request, info: RequestInfo, resource: Resource, verb: str) -> web.StreamResponse:
        store = self.store_for(resource)
        if verb == "get":
            entry = await store.get(info.namespace, info.name)
            return json_response(scale_of(entry.obj, resource))
        opts = write_options(request)
        pinned = ""
        if verb == "update":
            scale_in = await self.read_checked(request, SCALE_MESSAGE, "Scale", "v1")
            pinned = str((scale_in.get("metadata") or {}).get("resourceVersion") or "")
        elif verb == "patch":
            ctype = codec.media_type(request.headers.get("Content-Type"))
            if ctype not in (codec.JSON_PATCH, codec.MERGE_PATCH, codec.STRATEGIC_PATCH):
                raise errors.unsupported_media_type(ctype)
            patch_doc = codec.decode_json(await self.read_body(request))
        else:
            raise errors.method_not_allowed()

        async def mutate(current: Obj) -> Obj:
            scale = scale_of(current, resource)
            if verb == "update":
                new_scale = scale_in
            else:
                patched = apply_patch(ctype, scale, patch_doc, None)
                if not isinstance(patched, dict):
                    raise errors.bad_request("the patch produced something other than an object")
                checked = fieldcheck.check_and_prune(patched, SCALE_MESSAGE, REGISTRY)
                fieldcheck.decide_body(checked, fieldcheck.IGNORE, kind="Scale", version="v1")
                new_scale = checked.obj
            replicas = (new_scale.get("spec") or {}).get("replicas", 0)
            if not isinstance(replicas, int) or replicas < 0:
                raise errors.invalid("Scale", info.name, [errors.Cause(
                    "FieldValueInvalid", f"Invalid value: {replicas}: must be greater than or equal to 0",
                    "spec.replicas")], "autoscaling")
            if resource.custom is not None:
                resource.custom.set_replicas(current, replicas)
            else:
                current.setdefault("spec", {})["replicas"] = replicas
            return current

        result = await store.guaranteed_update(info.namespace, info.name, mutate, opts=opts, precondition_rv=pinned)
        return json_response(scale_of(result, resource))

    async def _binding(self, request: web.Request, info: RequestInfo) -> web.StreamResponse:
        binding = await self.read_checked(request, "io.k8s.api.core.v1.Binding", "Binding", "v1")
        target = binding.get("target") or {}
        node = target.get("name", "")
        if not node:
            raise errors.invalid("Binding", info.name, [errors.Cause("FieldValueRequired", "Required value", "target.name")])
        store = self.stores[("", "pods")]
        opts = write_options(request)

        async def mutate(pod: Obj) -> Obj:
            spec = pod.setdefault("spec", {})
            if pod["metadata"].get("deletionTimestamp"):
                raise errors.conflict("pods", info.name, reason=f"pod {info.name} is being deleted, cannot be assigned to a host")
            if spec.get("nodeName"):
                raise errors.conflict("pods", info.name, reason=f'pod {info.name} is already assigned to node "{spec["nodeName"]}"')
            spec["nodeName"] = node
            conds = [c for c in (pod.setdefault("status", {}).get("conditions") or []) if c.get("type") != "PodScheduled"]
            conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                          "lastTransitionTime": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})
            pod["status"]["conditions"] = conds
            return pod

        await store.guaranteed_update(info.namespace, info.name, mutate, opts=opts, subresource="binding")
        return json_response(errors.success_status(), 201)


def _and_name(pred: Callable[[Entry], bool] | None, name: str) -> Callable[[Entry], bool]:
    def named(e: Entry) -> bool:
        actual = e.fields.get("metadata.name") if e.fields is not None else e.obj["metadata"].get("name")
        return bool(actual == name and (pred is None or pred(e)))

    return named


def scale_of(obj: Obj, resource: Resource | None = None) -> Obj:
    if resource is not None and resource.custom is not None:  # the CRD's replica paths
        custom_scale: Obj = resource.custom.scale_of(obj)
        return custom_scale
    meta = obj["metadata"]
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    selector = ""
    sel = spec.get("selector")
    if isinstance(sel, dict):
        selector = str(labels.selector_from_label_selector(sel)) if ("matchLabels" in sel or "matchExpressions" in sel) \
            else ",".join(f"{k}={v}" for k, v in sorted(sel.items()))
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta},
        "spec": {"replicas": spec.get("replicas", 0)},
        "status": {"replicas": status.get("replicas", 0), "selector": selector},
    }


def apply_patch(ctype: str, current: Obj, patch_doc: Any, resource: Resource | None) -> Any:
    if ctype == codec.JSON_PATCH:
        if not isinstance(patch_doc, list):
            raise errors.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        try:
            return jsonpatch.JsonPatch(patch_doc).apply(current)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError, IndexError) as e:
            raise errors.StatusError(422, "Invalid", f"the server rejected our request due to an error in our request: {e}") from None
    if not isinstance(patch_doc, dict):
        raise errors.bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
    if ctype == codec.MERGE_PATCH:
        return apply_merge_patch(current, patch_doc)
    return apply_strategic_merge_patch(current, patch_doc, REGISTRY if resource else None,
                                       resource.schema if resource else None)


def check_kind(obj: Obj, resource: Resource) -> None:
    """The body's apiVersion/kind, when given, must be the endpoint's."""
    kind = obj.get("kind")
    api_version = obj.get("apiVersion")
    if kind is not None and not isinstance(kind, str):
        raise errors.bad_request("Object 'Kind' is not a string")
    if api_version is not None and not isinstance(api_version, str):
        raise errors.bad_request("Object 'apiVersion' is not a string")
    if kind and kind != resource.kind:
        raise errors.bad_request(
            f"the kind in the request body ({kind}) does not match the kind of the resource ({resource.kind})")
    if api_version and api_version != resource.group_version:
        raise errors.bad_request(
            f"the API version in the data ({api_version}) does not match the expected API version ({resource.group_version})")
