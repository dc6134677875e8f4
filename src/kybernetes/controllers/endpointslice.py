"""The EndpointSlice controller: a Service's discovery.k8s.io/v1 EndpointSlices from its pods.

What the proxy and DNS read. For each Service with a selector, the selected pods become endpoints
(one address each) with conditions ready / serving / terminating, their node and zone, grouped by
address family (``spec.ipFamilies``) and by resolved port set, at most 100 to a slice. Terminating
pods stay listed (terminating=true, ready=false) so that proxies can drain them. A Service with no
endpoints keeps one empty placeholder slice. Slices carry the labels ``kubernetes.io/service-name``
and ``endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io`` and a controller
ownerReference to the Service (so the garbage collector removes them with it).

`plan_slices` decides (pure): endpoints stay in the slice that has them when possible; new ones go
to slices being rewritten anyway, then to one untouched slice with room for all of them, then to
new slices; emptied slices are deleted. `EndpointSliceController.sync` executes the plan.
Topology hints are not computed.

Acting on a stale slice cache. The plan is made from the informer's copy of the slices, and a
sync can run before that copy shows the controller's own previous writes (a Service add and its
pods turning Ready a few milliseconds later is enough). Planning from a cache that lacks a slice
just created creates a second one for the same endpoints, and since the informer delivering our
own writes triggers nothing, the duplicate stays. `SliceTracker` (upstream's EndpointSliceTracker
idea) remembers the generation of every slice this controller wrote and which ones it deleted; a
sync whose cache is behind them plans nothing and looks again shortly, and slice events that are
not our own writes (someone else's change, a slice we did not expect) sync the Service.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kybernetes.api.resources import lookup
from kybernetes.client import APIClient, ResourceLike, is_forbidden, is_not_found
from kybernetes.client.store import split_key
from kybernetes.controllers.endpoints import (
    TRIGGER_TIME,
    ServicePodLoop,
    find_port,
    go_time_nano,
    hostname_for,
    is_headless,
    pod_in_endpoints,
    pod_ready,
    selects,
)
from kybernetes.controllers.manager import ControllerContext, register

log = logging.getLogger("kyb.controllers.endpointslice")

Obj = dict[str, Any]
ENDPOINT_SLICES: ResourceLike = lookup("discovery.k8s.io", "v1", "endpointslices")  # type: ignore[assignment]
NODES: ResourceLike = lookup("", "v1", "nodes")  # type: ignore[assignment]
MAX_ENDPOINTS_PER_SLICE = 100
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
HEADLESS_LABEL = "service.kubernetes.io/headless"
ZONE_LABEL = "topology.kubernetes.io/zone"
SERVICE_INDEX = "service"
STALE_RECHECK = 0.05  # seconds until a sync skipped for a stale slice cache runs again
DELETION_EXPECTED = -1

GroupKey = tuple[str, tuple[tuple[str, int, str, str], ...]]  # (addressType, ports)


# --- pure decisions ------------------------------------------------------------------------------
def address_types(service: Mapping[str, Any]) -> list[str]:
    spec = service.get("spec") or {}
    families = spec.get("ipFamilies") or []
    if not families:
        families = ["IPv6" if ":" in str(spec.get("clusterIP") or "") else "IPv4"]
    return [str(f) for f in families if f in ("IPv4", "IPv6")]


def pod_ip(pod: Mapping[str, Any], address_type: str) -> str:
    status = pod.get("status") or {}
    ips = [str(p.get("ip")) for p in status.get("podIPs") or [] if p.get("ip")] or \
        ([str(status["podIP"])] if status.get("podIP") else [])
    for ip in ips:
        if (":" in ip) == (address_type == "IPv6"):
            return ip
    return ""


def slice_ports(service: Mapping[str, Any], pod: Mapping[str, Any]) -> list[Obj]:
    out = []
    for sp in (service.get("spec") or {}).get("ports") or []:
        num = find_port(pod, sp)
        if num is None:
            continue
        port: Obj = {"name": sp.get("name") or "", "port": num, "protocol": sp.get("protocol") or "TCP"}
        if sp.get("appProtocol"):
            port["appProtocol"] = sp["appProtocol"]
        out.append(port)
    return sorted(out, key=lambda p: (p["name"], p["port"], p["protocol"]))


def ports_key(ports: Sequence[Mapping[str, Any]] | None) -> tuple[tuple[str, int, str, str], ...]:
    return tuple(sorted((str(p.get("name") or ""), int(p.get("port") or 0), str(p.get("protocol") or "TCP"),
                         str(p.get("appProtocol") or "")) for p in ports or []))


def slice_endpoint(service: Mapping[str, Any], pod: Mapping[str, Any], ip: str,
                   zones: Mapping[str, str]) -> Obj:
    meta = pod.get("metadata") or {}
    publish = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    serving = publish or pod_ready(pod)
    terminating = bool(meta.get("deletionTimestamp"))
    ep: Obj = {"addresses": [ip],
               "conditions": {"ready": publish or (serving and not terminating), "serving": serving,
                              "terminating": terminating}}
    hostname = hostname_for(service, pod)
    if hostname:
        ep["hostname"] = hostname
    ep["targetRef"] = {"kind": "Pod", "namespace": meta.get("namespace", ""), "name": meta.get("name", ""),
                       "uid": meta.get("uid", "")}
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        ep["nodeName"] = node
        if zones.get(node):
            ep["zone"] = zones[node]
    return ep


def desired_groups(service: Mapping[str, Any], pods: Iterable[Mapping[str, Any]],
                   zones: Mapping[str, str]) -> dict[GroupKey, tuple[list[Obj], list[Obj]]]:
    """(addressType, ports) -> (ports, endpoints) for the pods `service` selects."""
    has_ports = bool((service.get("spec") or {}).get("ports"))
    groups: dict[GroupKey, tuple[list[Obj], list[Obj]]] = {}
    types = address_types(service)
    for pod in pods:
        if not selects(service, pod) or not pod_in_endpoints(pod, include_terminating=True):
            continue
        ports = slice_ports(service, pod)
        if has_ports and not ports:
            continue
        for at in types:
            ip = pod_ip(pod, at)
            if not ip:
                continue
            groups.setdefault((at, ports_key(ports)), (ports, []))[1].append(slice_endpoint(service, pod, ip, zones))
    for _, eps in groups.values():
        eps.sort(key=lambda e: (e["addresses"][0], e["targetRef"]["name"]))
    return groups


def slice_labels(service: Mapping[str, Any], controller: str = CONTROLLER_NAME) -> dict[str, str]:
    meta = service.get("metadata") or {}
    out = {k: v for k, v in (meta.get("labels") or {}).items()
           if k not in (SERVICE_NAME_LABEL, MANAGED_BY_LABEL, HEADLESS_LABEL)}
    out[SERVICE_NAME_LABEL] = str(meta.get("name") or "")
    out[MANAGED_BY_LABEL] = controller
    if is_headless(service):
        out[HEADLESS_LABEL] = ""
    return out


def owner_reference(service: Mapping[str, Any]) -> Obj:
    meta = service.get("metadata") or {}
    return {"apiVersion": "v1", "kind": "Service", "name": meta.get("name"), "uid": meta.get("uid"),
            "controller": True, "blockOwnerDeletion": True}


@dataclass(frozen=True, slots=True)
class SliceOwner:
    """Who the slices belong to: their name prefix, namespace, labels and ownerReference."""

    namespace: str
    generate_name: str
    labels: Mapping[str, str]
    owner: Mapping[str, Any]
    placeholder_type: str = ""  # "" = no placeholder when there are no endpoints

    @classmethod
    def of_service(cls, service: Mapping[str, Any]) -> SliceOwner:
        meta = service.get("metadata") or {}
        return cls(str(meta.get("namespace") or ""), f"{meta.get('name')}-", slice_labels(service),
                   owner_reference(service), (address_types(service) or ["IPv4"])[0])


def new_slice(who: SliceOwner, address_type: str, ports: list[Obj], endpoints: list[Obj], now: str) -> Obj:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"generateName": who.generate_name, "namespace": who.namespace,
                         "labels": dict(who.labels), "annotations": {TRIGGER_TIME: now},
                         "ownerReferences": [dict(who.owner)]},
            "addressType": address_type, "endpoints": endpoints, "ports": ports}


@dataclass(slots=True)
class SlicePlan:
    create: list[Obj] = field(default_factory=list)
    update: list[Obj] = field(default_factory=list)
    delete: list[Obj] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.create or self.update or self.delete)


def _ep_key(ep: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(ep.get("addresses") or [])


def plan_slices(who: SliceOwner, existing: Sequence[Mapping[str, Any]],
                groups: Mapping[GroupKey, tuple[list[Obj], list[Obj]]], *, now: str,
                max_per_slice: int = MAX_ENDPOINTS_PER_SLICE) -> SlicePlan:
    """Creates, updates and deletes that make `existing` (the owner's slices) hold `groups`."""
    plan = SlicePlan()
    labels = dict(who.labels)
    owner = dict(who.owner)
    by_group: dict[GroupKey, list[Mapping[str, Any]]] = {}
    for s in existing:
        by_group.setdefault((str(s.get("addressType")), ports_key(s.get("ports"))), []).append(s)

    if not any(eps for _, eps in groups.values()):
        # no endpoints: keep (or make) one empty placeholder, when the owner wants one
        keep = next((s for s in existing if who.placeholder_type and not s.get("endpoints")
                     and not s.get("ports") and s.get("addressType") == who.placeholder_type), None)
        for s in existing:
            if s is not keep:
                plan.delete.append(dict(s))
        if not who.placeholder_type:
            return plan
        if keep is None:
            plan.create.append(new_slice(who, who.placeholder_type, [], [], now))
        elif (keep.get("metadata") or {}).get("labels") != labels:
            upd = copy.deepcopy(dict(keep))
            upd["metadata"]["labels"] = labels
            plan.update.append(upd)
        return plan

    for key, slices in by_group.items():
        if key not in groups or not groups[key][1]:
            plan.delete.extend(dict(s) for s in slices)
    for key, (ports, wanted) in groups.items():
        if not wanted:
            continue
        wanted_by_key = {_ep_key(e): e for e in wanted}
        placed: set[tuple[str, ...]] = set()
        rewritten: list[Obj] = []
        untouched: list[Mapping[str, Any]] = []
        for s in by_group.get(key, []):
            kept = []
            for ep in s.get("endpoints") or []:
                k = _ep_key(ep)
                if k in wanted_by_key and k not in placed:
                    kept.append(wanted_by_key[k])
                    placed.add(k)
            meta = s.get("metadata") or {}
            changed = (kept != list(s.get("endpoints") or []) or meta.get("labels") != labels
                       or list(s.get("ports") or []) != ports or meta.get("ownerReferences") != [owner])
            if not kept:
                plan.delete.append(dict(s))
            elif changed:
                upd = copy.deepcopy(dict(s))
                upd["endpoints"] = kept
                upd["ports"] = ports
                upd["metadata"]["labels"] = labels
                upd["metadata"]["ownerReferences"] = [owner]
                upd["metadata"].setdefault("annotations", {})[TRIGGER_TIME] = now
                rewritten.append(upd)
            else:
                untouched.append(s)
        remaining = [e for e in wanted if _ep_key(e) not in placed]
        for upd in rewritten:
            room = max_per_slice - len(upd["endpoints"])
            if room > 0 and remaining:
                upd["endpoints"].extend(remaining[:room])
                remaining = remaining[room:]
        if remaining and len(remaining) < max_per_slice:
            for s in untouched:
                if max_per_slice - len(s.get("endpoints") or []) >= len(remaining):
                    upd = copy.deepcopy(dict(s))
                    upd["endpoints"] = list(upd.get("endpoints") or []) + remaining
                    upd["metadata"].setdefault("annotations", {})[TRIGGER_TIME] = now
                    rewritten.append(upd)
                    remaining = []
                    break
        for i in range(0, len(remaining), max_per_slice):
            plan.create.append(new_slice(who, key[0], ports, remaining[i:i + max_per_slice], now))
        for upd in rewritten:
            upd["endpoints"].sort(key=lambda e: (e["addresses"][0], (e.get("targetRef") or {}).get("name", "")))
        plan.update.extend(rewritten)
    return plan


def zones_by_node(nodes: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    out = {}
    for n in nodes:
        meta = n.get("metadata") or {}
        zone = (meta.get("labels") or {}).get(ZONE_LABEL)
        if zone:
            out[str(meta.get("name"))] = str(zone)
    return out


# --- the loop -------------------------------------------------------------------------------------
def index_by_service(obj: Obj) -> list[str]:
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    name = labels.get(SERVICE_NAME_LABEL)
    return [f"{meta.get('namespace')}/{name}"] if name else []


# --- our own writes versus the cache ------------------------------------------------------------
def _uid(s: Mapping[str, Any]) -> str:
    return str((s.get("metadata") or {}).get("uid") or "")


def _generation(s: Mapping[str, Any]) -> int:
    return int((s.get("metadata") or {}).get("generation") or 0)


def service_key_of(s: Mapping[str, Any]) -> str:
    keys = index_by_service(dict(s))
    return keys[0] if keys else ""


class SliceTracker:
    """The generation of each slice this controller last wrote, per Service key (DELETION_EXPECTED
    for the ones it deleted), to tell a cache that has not caught up with those writes."""

    def __init__(self) -> None:
        self._generations: dict[str, dict[str, int]] = {}
        self._service_uids: dict[str, str] = {}

    def written(self, s: Mapping[str, Any]) -> None:
        """`s` is what the server answered to our create or update."""
        key, uid = service_key_of(s), _uid(s)
        if key and uid:
            self._generations.setdefault(key, {})[uid] = _generation(s)

    def deleted(self, s: Mapping[str, Any]) -> None:
        key, uid = service_key_of(s), _uid(s)
        if key and uid:
            self._generations.setdefault(key, {})[uid] = DELETION_EXPECTED

    def gone(self, s: Mapping[str, Any]) -> bool:
        """The informer saw `s` deleted; True when that was our own deletion."""
        gens = self._generations.get(service_key_of(s))
        if gens is None or _uid(s) not in gens:
            return False
        return gens.pop(_uid(s)) == DELETION_EXPECTED

    def is_own(self, s: Mapping[str, Any]) -> bool:
        """`s` (from an informer event) is a state we wrote ourselves, or an older one."""
        g = (self._generations.get(service_key_of(s)) or {}).get(_uid(s))
        return g is not None and g != DELETION_EXPECTED and _generation(s) <= g

    def stale(self, key: str, service_uid: str, cached: Sequence[Mapping[str, Any]]) -> bool:
        """Whether `cached` (the Service's slices in the informer) is behind our writes: a slice we
        wrote is missing or older, or a slice we deleted is still there."""
        if self._service_uids.get(key, service_uid) != service_uid:
            self._generations.pop(key, None)  # a new Service of the same name: old writes are moot
        self._service_uids[key] = service_uid
        gens = self._generations.get(key)
        if not gens:
            return False
        seen = {_uid(s): _generation(s) for s in cached}
        for uid, g in gens.items():
            if g == DELETION_EXPECTED:
                if uid in seen:
                    return True
            elif uid not in seen or seen[uid] < g:
                return True
        return False

    def forget_service(self, key: str) -> None:
        self._generations.pop(key, None)
        self._service_uids.pop(key, None)


async def execute_plan(client: APIClient, plan: SlicePlan, namespace: str,
                       tracker: SliceTracker | None = None) -> None:
    """Write `plan`; every write that succeeds is told to `tracker` at once (a later one may fail)."""
    tracker = tracker or SliceTracker()
    try:
        for s in plan.delete:
            try:
                await client.delete(ENDPOINT_SLICES, s["metadata"]["name"], namespace=namespace,
                                    preconditions={"uid": s["metadata"].get("uid", "")})
                tracker.deleted(s)
            except Exception as e:
                if not is_not_found(e):
                    raise
                tracker.gone(s)
        for s in plan.update:
            tracker.written(await client.update(ENDPOINT_SLICES, s, namespace=namespace))
        for s in plan.create:
            tracker.written(await client.create(ENDPOINT_SLICES, s, namespace=namespace))
    except Exception as e:
        if is_forbidden(e):
            return  # the namespace is terminating
        raise


class EndpointSliceController(ServicePodLoop):
    name = "endpointslice"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.slices = ctx.informers.informer(ENDPOINT_SLICES, indexers={SERVICE_INDEX: index_by_service})
        self.nodes = ctx.informers.informer(NODES)
        self.tracker = SliceTracker()
        self.slices.add_handlers(on_add=self._slice_added, on_update=self._slice_updated,
                                 on_delete=self._slice_deleted)
        self.nodes.add_handlers(on_update=self._node_updated)

    def _enqueue_for(self, s: Obj) -> None:
        labels = (s.get("metadata") or {}).get("labels") or {}
        if labels.get(MANAGED_BY_LABEL) == CONTROLLER_NAME:
            for key in index_by_service(s):
                self.controller.queue.add(key)

    def _slice_added(self, s: Obj) -> None:
        if not self.tracker.is_own(s):  # not our create arriving: someone else's slice to reconcile
            self._enqueue_for(s)

    def _slice_updated(self, old: Obj, new: Obj) -> None:
        old_labels = (old.get("metadata") or {}).get("labels") or {}
        new_labels = (new.get("metadata") or {}).get("labels") or {}
        if old_labels != new_labels:  # labels do not move the generation; moved to/from a Service?
            if (old_labels.get(SERVICE_NAME_LABEL), old_labels.get(MANAGED_BY_LABEL)) != \
                    (new_labels.get(SERVICE_NAME_LABEL), new_labels.get(MANAGED_BY_LABEL)):
                self.tracker.gone(old)  # no longer among the old Service's slices we wait for
            self._enqueue_for(old)
            self._enqueue_for(new)
        elif not self.tracker.is_own(new):
            self._enqueue_for(new)

    def _slice_deleted(self, s: Obj) -> None:
        if not self.tracker.gone(s):  # someone else removed one of the Service's slices
            self._enqueue_for(s)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if ((old.get("metadata") or {}).get("labels") or {}).get(ZONE_LABEL) == \
                ((new.get("metadata") or {}).get("labels") or {}).get(ZONE_LABEL):
            return
        node = (new.get("metadata") or {}).get("name")
        for pod in self.pods.store.list():
            if (pod.get("spec") or {}).get("nodeName") == node:
                self._pod_changed(pod)

    def owned_slices(self, key: str) -> list[Obj]:
        return [s for s in self.slices.store.by_index(SERVICE_INDEX, key)
                if ((s.get("metadata") or {}).get("labels") or {}).get(MANAGED_BY_LABEL) == CONTROLLER_NAME]

    async def sync(self, key: str) -> None:
        ns, _ = split_key(key)
        service = self.services.store.get(key)
        if service is None:
            self.tracker.forget_service(key)
        # slices on their way out (finalizers) are neither kept nor deleted again
        existing = [s for s in self.owned_slices(key) if not (s.get("metadata") or {}).get("deletionTimestamp")]
        if service is not None and self.tracker.stale(key, str((service.get("metadata") or {}).get("uid") or ""),
                                                      existing):
            # the cache has not shown our last writes yet; planning now would redo them
            log.debug("endpointslice: slice cache of %s is behind our writes, looking again", key)
            self.controller.queue.add_after(key, STALE_RECHECK)
            return
        if service is None or not (service.get("spec") or {}).get("selector") \
                or (service.get("metadata") or {}).get("deletionTimestamp"):
            # gone (the garbage collector removes owned slices too) or selector-less (mirroring's)
            plan = SlicePlan(delete=[dict(s) for s in existing]) if existing else SlicePlan()
        else:
            groups = desired_groups(service, self.pods_in(ns), zones_by_node(self.nodes.store.list()))
            plan = plan_slices(SliceOwner.of_service(service), existing, groups, now=go_time_nano())
        if not plan.empty:
            await execute_plan(self.client, plan, ns, self.tracker if service is not None else None)


@register("endpointslice")
def new_endpointslice_controller(ctx: ControllerContext) -> EndpointSliceController:
    return EndpointSliceController(ctx)
