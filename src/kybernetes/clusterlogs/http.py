"""The log store's HTTP face, mounted in the API server under ``/kyb/logs/v1/``.

Mounting it there means it is authenticated and authorized like any API request, with no port,
certificate or discovery of its own: the paths are RBAC ``nonResourceURLs``.
- ``POST /kyb/logs/v1/ingest`` (verb ``post``): a batch ``{"records": [...]}`` from a node's
  shipper. Nodes (group system:nodes) may post through the ``system:node`` rules; a node's records
  are stamped with its own name whatever they claim.
- ``GET /kyb/logs/v1/query`` (verb ``get``): ``namespace``, ``pod``, ``container``, ``node``,
  ``labelSelector``, ``sinceSeconds`` or ``sinceTime``, ``grep`` (a regular expression over the
  line), ``limit`` (default 1000, at most 10000) and ``after`` (a cursor: follow from there).
  Answers ``{"items": [records oldest first], "cursor": N}``. cluster-admin (system:masters) may
  query; grant others ``nonResourceURLs: ["/kyb/logs/v1/query"], verbs: ["get"]``.
Store work runs in a thread so a long scan never stalls the API server's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from kybernetes.clusterlogs.store import (
    MAX_LIMIT,
    NS,
    LogStore,
    Query,
    RecordError,
    StoreSettings,
    validate_record,
)
from kybernetes.machinery import errors
from kybernetes.machinery.labels import parse_selector
from kybernetes.util.times import parse_time

PREFIX = "/kyb/logs/v1/"
INGEST_PATH = PREFIX + "ingest"
QUERY_PATH = PREFIX + "query"
MAX_BODY = 8 * 1024 * 1024
MAX_RECORDS = 20_000
RETENTION_PERIOD = 60.0
NODE_USER_PREFIX = "system:node:"

log = logging.getLogger("kyb.logstore")


def parse_query(params: Mapping[str, str], *, now_ns: int) -> Query:
    """The query string as a `Query`; a 400 StatusError with the reason when it is not one."""

    def integer(name: str, minimum: int) -> int | None:
        text = params.get(name, "")
        if text == "":
            return None
        try:
            value = int(text)
        except ValueError:
            raise errors.bad_request(f'invalid value for {name}: "{text}"') from None
        if value < minimum:
            raise errors.bad_request(f"{name}: Invalid value: must be greater than or equal to {minimum}")
        return value

    since_seconds = integer("sinceSeconds", 1)
    since_time = params.get("sinceTime", "")
    if since_seconds is not None and since_time:
        raise errors.bad_request("at most one of `sinceTime` or `sinceSeconds` may be specified")
    since_ns = now_ns - since_seconds * NS if since_seconds is not None else None
    if since_time:
        try:
            since_ns = int(parse_time(since_time) * NS)
        except ValueError:
            raise errors.bad_request(f'invalid value for sinceTime: "{since_time}"') from None
    grep = None
    if params.get("grep"):
        try:
            grep = re.compile(params["grep"])
        except re.error as e:
            raise errors.bad_request(f"grep: invalid regular expression: {e}") from None
    selector = parse_selector(params["labelSelector"]) if params.get("labelSelector") else None
    limit = integer("limit", 1)
    return Query(
        namespace=params.get("namespace", ""),
        pod=params.get("pod", ""),
        container=params.get("container", ""),
        node=params.get("node", ""),
        selector=selector,
        since_ns=since_ns,
        grep=grep,
        after=integer("after", 0),
        limit=min(limit, MAX_LIMIT) if limit is not None else 1000,
    )


def node_of(user_name: str) -> str | None:
    """The node a node identity speaks for; None for anyone else (an admin may post for any node)."""
    return user_name[len(NODE_USER_PREFIX) :] if user_name.startswith(NODE_USER_PREFIX) else None


def parse_batch(body: bytes, *, user_name: str) -> list[dict[str, Any]]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise errors.bad_request(f"the batch is not JSON: {e}") from None
    records = doc.get("records") if isinstance(doc, dict) else None
    if not isinstance(records, list):
        raise errors.bad_request('the batch must be an object with a "records" list')
    if len(records) > MAX_RECORDS:
        raise errors.request_entity_too_large(f"at most {MAX_RECORDS} records per batch")
    node = node_of(user_name)
    out = []
    for i, raw in enumerate(records):
        try:
            out.append(validate_record(raw, node=node))
        except RecordError as e:
            raise errors.bad_request(f"records[{i}].{e}") from None
    return out


class LogAPI:
    """The store plus its routes; the API server calls `handle` for paths under `PREFIX`."""

    def __init__(self, directory: Path, settings: StoreSettings | None = None) -> None:
        self.store = LogStore(directory, settings)
        self._opened = False
        self._open_lock = asyncio.Lock()
        self._last_retention = time.monotonic()

    async def _ensure_open(self) -> None:
        """The store opens on first use: a server nobody ships logs to holds no files."""
        if self._opened:
            return
        async with self._open_lock:
            if not self._opened:
                await asyncio.to_thread(self.store.open)
                self._opened = True

    async def stop(self) -> None:
        if self._opened:
            await asyncio.to_thread(self.store.close)
            self._opened = False

    async def _maybe_retain(self) -> None:
        """Age retention runs beside ingestion, once a minute (size retention runs on each roll)."""
        if time.monotonic() - self._last_retention < RETENTION_PERIOD:
            return
        self._last_retention = time.monotonic()
        try:
            removed = await asyncio.to_thread(self.store.enforce_retention)
        except OSError as e:
            log.warning("log store retention failed: %s", e)
            return
        if removed:
            log.info("log store retention removed %d segment(s)", len(removed))

    async def handle(self, request: web.Request, user_name: str) -> web.StreamResponse:
        await self._ensure_open()
        if request.path == INGEST_PATH:
            if request.method != "POST":
                raise errors.method_not_allowed()
            return await self._ingest(request, user_name)
        if request.path == QUERY_PATH:
            if request.method not in ("GET", "HEAD"):
                raise errors.method_not_allowed()
            return await self._query(request)
        raise errors.server_not_found()

    async def _ingest(self, request: web.Request, user_name: str) -> web.StreamResponse:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise errors.request_entity_too_large(f"a batch may be at most {MAX_BODY} bytes")
        body = await request.content.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            raise errors.request_entity_too_large(f"a batch may be at most {MAX_BODY} bytes")
        records = parse_batch(body, user_name=user_name)
        cursor = await asyncio.to_thread(self.store.append, records)
        await self._maybe_retain()
        return _json({"accepted": len(records), "cursor": cursor})

    async def _query(self, request: web.Request) -> web.StreamResponse:
        q = parse_query(request.query, now_ns=time.time_ns())
        result = await asyncio.to_thread(self.store.query, q)
        return _json({"items": result.records, "cursor": result.cursor})


def _json(body: Any) -> web.Response:
    return web.Response(body=orjson.dumps(body), content_type="application/json")
