"""``/apis/metrics.k8s.io/v1beta1``: the read-only metrics API, served by the API server itself.

`MetricsAPI.install` adds ``nodes`` (cluster-scoped, kind NodeMetrics) and ``pods`` (namespaced,
kind PodMetrics) to the server's resource table, so both discovery formats list the group and
kubectl's ``top`` finds it; requests for the group come to `handle` instead of the storage-backed
REST handler. Answers, as upstream's metrics-server gives them:

- get and list only; any other verb (watch included) is 405 MethodNotAllowed;
- list: ``labelSelector`` over the node's/pod's labels, ``fieldSelector`` over ``metadata.name``
  (and ``metadata.namespace``); items sorted by name (pods: namespace, then name); objects
  without usable metrics are left out, and so are pods that are not Running;
- get of a node or pod that does not exist: ``node "x" not found`` / ``pods "x" not found``;
  of one without metrics: ``nodemetrics.metrics.k8s.io "x" not found`` /
  ``podmetrics.metrics.k8s.io "<namespace>/x" not found`` (404 NotFound);
- a Table when the client asks for one (``kubectl get podmetrics``).

The data comes from the `MetricsStore` the `Scraper` fills, joined with the Nodes and Pods in
the API server's watch cache (labels, phase, uid: metrics of a re-created pod are not the new
pod's).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from kybernetes.api.resources import Resource, ResourceTable
from kybernetes.apiserver import codec
from kybernetes.apiserver.cache import WatchCache
from kybernetes.apiserver.requestinfo import RequestInfo
from kybernetes.apiserver.rest import include_object, json_response
from kybernetes.machinery import errors, fields, labels
from kybernetes.metrics import objects
from kybernetes.metrics.scraper import SIM_LABEL, SIM_STATS_URL_ANNOTATION, Scraper, default_period
from kybernetes.metrics.store import MetricsStore

log = logging.getLogger(__name__)

Obj = dict[str, Any]

GROUP = objects.GROUP
_SCHEMA = "io.k8s.metrics.pkg.apis.metrics.v1beta1."
# No singular names in discovery (as metrics-server long served them): kubectl then derives the
# singular from the kind, so `kubectl get nodemetrics` / `kubectl get podmetrics` work.
NODE_METRICS = Resource(
    GROUP, objects.VERSION, "NodeMetrics", "nodes", "", False, _SCHEMA + "NodeMetrics", verbs=("get", "list")
)
POD_METRICS = Resource(
    GROUP, objects.VERSION, "PodMetrics", "pods", "", True, _SCHEMA + "PodMetrics", verbs=("get", "list")
)
METRICS_RESOURCES = (NODE_METRICS, POD_METRICS)
# The resources' owner in the ResourceTable: no CustomResourceDefinition can have this name.
TABLE_OWNER = "<metrics.k8s.io>"

NODES_PREFIX = "/registry/nodes/"
PODS_PREFIX = "/registry/pods/"


class MetricsAPI:
    def __init__(
        self,
        cache: WatchCache,
        *,
        ssl_context: Callable[[], ssl.SSLContext],
        period: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cache = cache
        self.clock = clock
        self.period = default_period(dict(os.environ)) if period is None else period
        resolution = self.period or 15.0
        # a node that has not answered for a few periods (at least a minute) has no metrics
        self.store = MetricsStore(period=resolution, expire_after=max(4 * resolution, 60.0))
        self.scraper = Scraper(
            self.store,
            self._nodes,
            ssl_context,
            period=resolution,
            timeout=min(max(0.9 * resolution, 1.0), 10.0),
            clock=clock,
        )
        self._task: asyncio.Task[None] | None = None

    def install(self, table: ResourceTable) -> None:
        table.set(TABLE_OWNER, METRICS_RESOURCES)

    def start(self) -> None:
        if self.period > 0 and self._task is None:
            self._task = asyncio.create_task(self.scraper.run(), name="metrics-scraper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self.scraper.close()

    # --- the cluster's objects ---------------------------------------------------------------------
    def _nodes(self) -> list[Obj]:
        """The Nodes worth a look by the scraper. A simulated node whose simulator serves no stats
        is skipped without decoding it (a scale test may register thousands)."""
        out = []
        for _, e in self.cache.iter_prefix(NODES_PREFIX):
            if SIM_LABEL in e.labels and SIM_STATS_URL_ANNOTATION.encode() not in e.raw:
                continue
            out.append(e.obj)
        return out

    # --- HTTP --------------------------------------------------------------------------------------
    async def handle(self, request: web.Request, info: RequestInfo, resource: Resource) -> web.StreamResponse:
        if not codec.acceptable(request.headers.get("Accept")):
            raise errors.not_acceptable()
        if info.subresource or (not resource.namespaced and info.namespace):
            raise errors.server_not_found()
        if info.verb not in resource.verbs:
            raise errors.method_not_allowed()
        now = self.clock()
        if info.verb == "get":
            item = (
                self.get_node(info.name, now)
                if resource is NODE_METRICS
                else self.get_pod(info.namespace, info.name, now)
            )
            items = [item]
        else:
            label_sel = labels.parse_selector(request.query.get("labelSelector", ""))
            field_sel = fields.parse_field_selector(request.query.get("fieldSelector", ""))
            fields.check_supported(field_sel)
            if resource is NODE_METRICS:
                items = self.list_nodes(label_sel, field_sel, now)
            else:
                items = self.list_pods(info.namespace, label_sel, field_sel, now)
        if codec.wants_table(request.headers.get("Accept")):
            return json_response(objects.metrics_table(items, include_object=include_object(request)))
        if info.verb == "get":
            return json_response(items[0])
        return json_response(objects.metrics_list(resource.kind, items))

    # --- get and list (also what in-process callers use) ----------------------------------------------
    def get_node(self, name: str, now: float) -> Obj:
        entry = self.cache.get(NODES_PREFIX + name)
        if entry is None:
            raise errors.not_found("node", name)
        usage = self.store.node(name)
        if usage is None:
            raise errors.not_found("nodemetrics", name, GROUP)
        return objects.node_metrics(entry.obj, usage, now)

    def get_pod(self, namespace: str, name: str, now: float) -> Obj:
        entry = self.cache.get(f"{PODS_PREFIX}{namespace}/{name}")
        if entry is None:
            raise errors.not_found("pods", name)
        pod = entry.obj
        usage = self.store.pod(namespace, name)
        if usage is None or not _same_pod(pod, usage.uid) or not _running(pod):
            raise errors.not_found("podmetrics", f"{namespace}/{name}", GROUP)
        return objects.pod_metrics(pod, usage, now)

    def list_nodes(
        self, label_sel: labels.Selector, field_sel: fields.FieldSelector, now: float
    ) -> list[Obj]:
        out = []
        for key, e in self.cache.iter_prefix(NODES_PREFIX):
            name = key[len(NODES_PREFIX) :]
            usage = self.store.node(name)
            if (
                usage is None
                or not label_sel.matches(e.labels)
                or not field_sel.matches({"metadata.name": name})
            ):
                continue
            out.append(objects.node_metrics(e.obj, usage, now))
        return out  # key order is name order

    def list_pods(
        self, namespace: str, label_sel: labels.Selector, field_sel: fields.FieldSelector, now: float
    ) -> list[Obj]:
        usages = self.store.pods()
        prefix = f"{PODS_PREFIX}{namespace}/" if namespace else PODS_PREFIX
        out = []
        # only pods with usage are decoded
        for key, e in self.cache.iter_prefix(prefix):
            ns, _, name = key[len(PODS_PREFIX) :].partition("/")
            usage = usages.get((ns, name))
            if usage is None or not label_sel.matches(e.labels):
                continue
            if not field_sel.matches({"metadata.name": name, "metadata.namespace": ns}):
                continue
            pod = e.obj
            if _same_pod(pod, usage.uid) and _running(pod):
                out.append(objects.pod_metrics(pod, usage, now))
        return sorted(out, key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"]))


def _same_pod(pod: Obj, uid: str) -> bool:
    return not uid or (pod.get("metadata") or {}).get("uid") in (None, "", uid)


def _running(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running"
