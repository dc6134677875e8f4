"""`APIClient`: typed verbs over the Kubernetes REST API, for every component that is not the apiserver.

One aiohttp session per client keeps connections alive; bodies are JSON (orjson) in and out; objects
stay plain dicts. A resource is anything with ``group``, ``version``, ``plural`` and ``namespaced``:
the built-in `kybernetes.api.resources.Resource` declarations, or a `ResourceRef` for anything else
(custom resources). Failures raise `APIError` with the server's Status.

Watches are async iterators of `WatchEvent(type, object)` read from the chunked JSON-lines stream; an
ERROR event raises `APIError` (a 410 there means "relist", see `is_gone`).

Assumptions: the session is created lazily inside the running event loop and belongs to it; a
client is closed with `close()` (or ``async with``). 429 answers are retried a few times after the
server's Retry-After, as client-go does; nothing else is retried here (informers and controllers own
their retry policies).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Protocol, Self
from urllib.parse import quote

import aiohttp
import orjson

from kybernetes.api.resources import lookup
from kybernetes.client import failover
from kybernetes.client.config import ClientConfig
from kybernetes.client.errors import APIError, status_from_response

Obj = dict[str, Any]
PatchType = Literal["merge", "strategic", "json", "apply"]

PATCH_CONTENT_TYPES: dict[str, str] = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}
DEFAULT_PAGE_SIZE = 500
MAX_429_RETRIES = 3
# PUT carries a resourceVersion precondition and DELETE is answered NotFound the second time,
# so repeating them after a dropped connection cannot apply a change twice.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})


class ResourceLike(Protocol):
    @property
    def group(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def plural(self) -> str: ...
    @property
    def namespaced(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class ResourceRef:
    """A resource the built-in table does not declare (custom resources, other API servers)."""

    group: str
    version: str
    plural: str
    namespaced: bool
    kind: str = ""


def resource(api_version: str, plural: str, *, namespaced: bool | None = None) -> ResourceLike:
    """The built-in resource for ``apps/v1`` + ``deployments``; else an ad-hoc one (then `namespaced`
    must be given)."""
    group, _, version = api_version.rpartition("/")
    found = lookup(group, version, plural)
    if found is not None:
        return found
    if namespaced is None:
        raise ValueError(f"{plural}.{api_version} is not a built-in resource: say whether it is namespaced")
    return ResourceRef(group, version, plural, namespaced)


def resource_path(res: ResourceLike, *, namespace: str = "", name: str = "", subresource: str = "") -> str:
    """The URL path of a collection, an object or an object's subresource."""
    base = f"/apis/{res.group}/{res.version}" if res.group else f"/api/{res.version}"
    if res.namespaced and namespace:
        base += f"/namespaces/{quote(namespace, safe='')}"
    base += f"/{res.plural}"
    if name:
        base += f"/{quote(name, safe='')}"
        if subresource:
            base += f"/{subresource}"
    return base


class WatchEvent(NamedTuple):
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK
    object: Obj


def _ns_of(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata")
    return str(meta.get("namespace") or "") if isinstance(meta, Mapping) else ""


def _name_of(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata")
    return str(meta.get("name") or "") if isinstance(meta, Mapping) else ""


def _query(**params: Any) -> dict[str, str]:
    """Query parameters without the unset ones; booleans as Go writes them."""
    out: dict[str, str] = {}
    for k, v in params.items():
        if v is None or v == "" or v is False:
            continue
        out[k] = "true" if v is True else str(v)
    return out


_BACKGROUND: set[asyncio.Future[None]] = set()  # session closes under way (a reference keeps them alive)


class APIClient:
    """An API server connection. Keyword arguments:

    - ``user_agent``: sent on every request (``kyb-scheduler/0.1``); also the default field manager
      (its part before ``/``) when ``field_manager`` is not given.
    - ``field_manager``: the fieldManager for create/update/patch.
    - ``request_timeout``: seconds for one non-watch request.
    """

    def __init__(self, config: ClientConfig, *, user_agent: str = "kybernetes", field_manager: str = "",
                 request_timeout: float = 30.0) -> None:
        self.config = config
        self.user_agent = user_agent
        self.field_manager = field_manager or user_agent.split("/", 1)[0]
        self.request_timeout = request_timeout
        self._session: aiohttp.ClientSession | None = None
        self._ssl = config.ssl_context()
        self._retiring: builtins.list[aiohttp.ClientSession] = []  # see use_client_certificate

    # --- lifecycle ----------------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        retiring, self._retiring = self._retiring, []
        for session in retiring:
            await session.close()

    def use_client_certificate(self, cert_pem: bytes, key_pem: bytes, *, retire_after: float = 10.0) -> None:
        """Authenticate with a new client certificate from now on (certificate rotation). New requests
        go out on a new session whose TLS context holds the new pair; the old session, with its pooled
        connections and open watches still on the old certificate, is closed after `retire_after`
        seconds (requests under way get that long), so that watches come back under the new one."""
        self.config.client_cert_data, self.config.client_key_data = cert_pem, key_pem
        self.config.client_cert_file = self.config.client_key_file = ""
        self._ssl = self.config.ssl_context()
        old, self._session = self._session, None
        if old is not None and not old.closed:
            self._retiring.append(old)
            asyncio.get_running_loop().call_later(retire_after, self._retire, old)

    def _retire(self, session: aiohttp.ClientSession) -> None:
        if session in self._retiring:  # else close() has taken care of it
            self._retiring.remove(session)
            task = asyncio.ensure_future(session.close())
            _BACKGROUND.add(task)
            task.add_done_callback(_BACKGROUND.discard)

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else False, limit=0,
                                             keepalive_timeout=60.0)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=None, connect=10.0))
        return self._session

    def _headers(self, content_type: str = "") -> dict[str, str]:
        h = {"User-Agent": self.user_agent, "Accept": "application/json"}
        token = self.config.bearer_token()
        if token:
            h["Authorization"] = f"Bearer {token}"
        if content_type:
            h["Content-Type"] = content_type
        return h

    def _request_kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {}
        if self.config.tls_server_name:
            kw["server_hostname"] = self.config.tls_server_name
        return kw

    # --- raw ------------------------------------------------------------------------------------------
    async def request(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                      body: Any = None, content_type: str = "application/json",
                      timeout: float | None = None) -> Any:
        """One request; the decoded JSON answer (or text when the answer is not JSON).
        Raises `APIError` for any status >= 400."""
        data: bytes | None = None
        if body is not None:
            data = body if isinstance(body, bytes) else orjson.dumps(body)
        session = self._get_session()
        t = aiohttp.ClientTimeout(total=timeout if timeout is not None else self.request_timeout)
        stale_retry = method in IDEMPOTENT
        attempt = 0
        switches = 0
        while True:
            server = self.config.server
            url = server + path
            try:
                async with session.request(method, url, params=params, data=data, timeout=t,
                                           headers=self._headers(content_type if data is not None else ""),
                                           **self._request_kwargs()) as resp:
                    raw = await resp.read()
                    if resp.status == 429 and attempt < MAX_429_RETRIES:
                        attempt += 1
                        await asyncio.sleep(_retry_after(resp.headers.get("Retry-After")))
                        continue
                    decoded = _decode(raw, resp.content_type)
                    if resp.status >= 400:
                        text = raw.decode(errors="replace") if not isinstance(decoded, dict) else ""
                        raise APIError(status_from_response(resp.status, decoded, text))
                    return decoded
            except aiohttp.ServerDisconnectedError:
                # A pooled keep-alive connection the server had closed (e.g. it restarted): one
                # retry on a fresh connection, for requests that are safe to repeat.
                if not stale_retry:
                    raise
                stale_retry = False
            except aiohttp.ClientConnectorError:
                # nothing was sent: another API server of an HA control plane may take it (failover.py)
                switches += 1
                if switches > len(self.config.alternate_servers) or not failover.fail_over(self.config, server):
                    raise

    # --- verbs ------------------------------------------------------------------------------------
    def _ns(self, res: ResourceLike, namespace: str | None, obj: Mapping[str, Any] | None = None) -> str:
        if not res.namespaced:
            return ""
        if namespace:
            return namespace
        if obj is not None and _ns_of(obj):
            return _ns_of(obj)
        return self.config.namespace

    async def get(self, res: ResourceLike, name: str, *, namespace: str = "") -> Obj:
        path = resource_path(res, namespace=self._ns(res, namespace), name=name)
        out: Obj = await self.request("GET", path)
        return out

    async def list(self, res: ResourceLike, *, namespace: str = "", label_selector: str = "",
                   field_selector: str = "", limit: int = 0, continue_token: str = "",
                   resource_version: str = "", resource_version_match: str = "") -> Obj:
        """One list call: the List object (items, metadata.resourceVersion, metadata.continue).
        An empty `namespace` lists across all namespaces."""
        path = resource_path(res, namespace=namespace)
        params = _query(labelSelector=label_selector, fieldSelector=field_selector, limit=limit or None,
                        resourceVersion=resource_version, resourceVersionMatch=resource_version_match,
                        **{"continue": continue_token})
        out: Obj = await self.request("GET", path, params=params)
        return out

    async def list_pages(self, res: ResourceLike, *, namespace: str = "", label_selector: str = "",
                         field_selector: str = "", page_size: int = DEFAULT_PAGE_SIZE) -> AsyncGenerator[Obj, None]:
        """Every page of a list (each a List object), following continue tokens; all pages come from
        one snapshot, the first page's resourceVersion."""
        token = ""
        while True:
            page = await self.list(res, namespace=namespace, label_selector=label_selector,
                                   field_selector=field_selector, limit=page_size, continue_token=token)
            yield page
            token = str((page.get("metadata") or {}).get("continue") or "")
            if not token:
                return

    async def list_all(self, res: ResourceLike, *, namespace: str = "", label_selector: str = "",
                       field_selector: str = "", page_size: int = DEFAULT_PAGE_SIZE) -> tuple[builtins.list[Obj], str]:
        """All items across pages and the snapshot's resourceVersion."""
        items: builtins.list[Obj] = []
        rv = ""
        async for page in self.list_pages(res, namespace=namespace, label_selector=label_selector,
                                          field_selector=field_selector, page_size=page_size):
            items.extend(page.get("items") or [])
            rv = rv or str((page.get("metadata") or {}).get("resourceVersion") or "")
        return items, rv

    def _write_params(self, dry_run: bool, field_manager: str | None) -> dict[str, str]:
        fm = self.field_manager if field_manager is None else field_manager
        return _query(dryRun="All" if dry_run else None, fieldManager=fm)

    async def create(self, res: ResourceLike, obj: Mapping[str, Any], *, namespace: str = "",
                     dry_run: bool = False, field_manager: str | None = None) -> Obj:
        """POST to the collection; the namespace is `namespace`, else the object's, else the config's."""
        path = resource_path(res, namespace=self._ns(res, namespace, obj))
        out: Obj = await self.request("POST", path, body=obj, params=self._write_params(dry_run, field_manager))
        return out

    async def update(self, res: ResourceLike, obj: Mapping[str, Any], *, namespace: str = "",
                     dry_run: bool = False, field_manager: str | None = None) -> Obj:
        """PUT the whole object; its metadata.resourceVersion makes this a compare-and-swap."""
        return await self._put(res, obj, "", namespace, dry_run, field_manager)

    async def update_status(self, res: ResourceLike, obj: Mapping[str, Any], *, namespace: str = "",
                            dry_run: bool = False, field_manager: str | None = None) -> Obj:
        """PUT to the status subresource (only .status changes)."""
        return await self._put(res, obj, "status", namespace, dry_run, field_manager)

    async def _put(self, res: ResourceLike, obj: Mapping[str, Any], sub: str, namespace: str, dry_run: bool,
                   field_manager: str | None) -> Obj:
        path = resource_path(res, namespace=self._ns(res, namespace, obj), name=_name_of(obj), subresource=sub)
        out: Obj = await self.request("PUT", path, body=obj, params=self._write_params(dry_run, field_manager))
        return out

    async def patch(self, res: ResourceLike, name: str, patch: Any, *, namespace: str = "",
                    patch_type: PatchType = "merge", subresource: str = "", field_manager: str | None = None,
                    force: bool | None = None, dry_run: bool = False) -> Obj:
        """PATCH an object. `patch` is a dict (merge, strategic, apply), a list of operations (json),
        or pre-encoded bytes. Apply needs a field manager (the client's default) and takes `force`."""
        path = resource_path(res, namespace=self._ns(res, namespace), name=name, subresource=subresource)
        params = self._write_params(dry_run, field_manager)
        if force is not None:
            if patch_type != "apply":
                raise ValueError("force is only valid for apply patches")
            params["force"] = "true" if force else "false"
        out: Obj = await self.request("PATCH", path, body=patch, params=params,
                                      content_type=PATCH_CONTENT_TYPES[patch_type])
        return out

    async def delete(self, res: ResourceLike, name: str, *, namespace: str = "",
                     grace_period_seconds: int | None = None,
                     propagation_policy: Literal["Orphan", "Background", "Foreground"] | None = None,
                     preconditions: Mapping[str, str] | None = None, dry_run: bool = False) -> Obj:
        """DELETE with DeleteOptions. The answer is the deleted object (or the object with a
        deletionTimestamp when finalizers or grace hold it) or a Success Status.
        `preconditions` takes ``uid`` and/or ``resourceVersion``."""
        opts: Obj = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period_seconds is not None:
            opts["gracePeriodSeconds"] = grace_period_seconds
        if propagation_policy is not None:
            opts["propagationPolicy"] = propagation_policy
        if preconditions:
            opts["preconditions"] = dict(preconditions)
        if dry_run:
            opts["dryRun"] = ["All"]
        path = resource_path(res, namespace=self._ns(res, namespace), name=name)
        out: Obj = await self.request("DELETE", path, body=opts)
        return out

    async def create_subresource(self, res: ResourceLike, name: str, subresource: str, body: Mapping[str, Any],
                                 *, namespace: str = "", dry_run: bool = False) -> Obj:
        """POST to a subresource: pods/binding, pods/eviction, serviceaccounts/token."""
        path = resource_path(res, namespace=self._ns(res, namespace), name=name, subresource=subresource)
        out: Obj = await self.request("POST", path, body=body, params=_query(dryRun="All" if dry_run else None))
        return out

    async def get_subresource(self, res: ResourceLike, name: str, subresource: str, *, namespace: str = "",
                              params: Mapping[str, str] | None = None) -> Any:
        """GET a subresource: status, scale (a dict) or log (text)."""
        path = resource_path(res, namespace=self._ns(res, namespace), name=name, subresource=subresource)
        return await self.request("GET", path, params=params)

    # --- watch ------------------------------------------------------------------------------------
    async def watch(self, res: ResourceLike, *, namespace: str = "", label_selector: str = "",
                    field_selector: str = "", resource_version: str = "", allow_bookmarks: bool = True,
                    timeout_seconds: int | None = None) -> AsyncGenerator[WatchEvent, None]:
        """Watch a collection from `resource_version`; ends when the server closes the stream
        (after `timeout_seconds`). An ERROR event raises `APIError`. A consumer that stops early
        closes the stream with ``contextlib.aclosing(client.watch(...))``."""
        path = resource_path(res, namespace=namespace)
        params = _query(watch=True, labelSelector=label_selector, fieldSelector=field_selector,
                        resourceVersion=resource_version, allowWatchBookmarks=allow_bookmarks,
                        timeoutSeconds=timeout_seconds)
        # No overall deadline; a stalled connection is noticed when nothing (not even a bookmark)
        # arrives for well over the server's own timeout.
        read = (timeout_seconds + 30.0) if timeout_seconds else None
        t = aiohttp.ClientTimeout(total=None, connect=10.0, sock_read=read)
        session = self._get_session()
        server = self.config.server
        try:
            resp = await session.get(server + path, params=params, headers=self._headers(), timeout=t,
                                     **self._request_kwargs())
        except aiohttp.ClientConnectorError:
            failover.fail_over(self.config, server)  # the caller's next watch goes to another server
            raise
        async with resp:
            if resp.status >= 400:
                raw = await resp.read()
                decoded = _decode(raw, resp.content_type)
                raise APIError(status_from_response(resp.status, decoded, raw.decode(errors="replace")))
            try:
                buf = b""
                async for chunk in resp.content.iter_any():
                    buf += chunk
                    while True:
                        nl = buf.find(b"\n")
                        if nl < 0:
                            break
                        line, buf = buf[:nl], buf[nl + 1:]
                        if line.strip():
                            yield _watch_event(line)
                if buf.strip():
                    yield _watch_event(buf)
            except BaseException:
                # Left mid-stream (cancelled, closed early, bad data): this connection cannot be
                # reused, and a graceful TLS shutdown would wait on a peer that is still streaming
                # (and outlive a closing event loop), so drop it at once.
                conn = resp.connection
                if conn is not None and conn.transport is not None:
                    conn.transport.abort()
                raise


def _watch_event(line: bytes) -> WatchEvent:
    ev = orjson.loads(line)
    etype = str(ev.get("type", ""))
    obj = ev.get("object") or {}
    if etype == "ERROR":
        raise APIError(status_from_response(int(obj.get("code") or 500), obj))
    return WatchEvent(etype, obj)


def _decode(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    if content_type.endswith("json") or raw[:1] in (b"{", b"["):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return raw.decode(errors="replace")


def _retry_after(value: str | None) -> float:
    with contextlib.suppress(TypeError, ValueError):
        return min(max(float(value or 1), 0.0), 10.0)
    return 1.0
