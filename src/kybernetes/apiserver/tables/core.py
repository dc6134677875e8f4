"""Printers for core/v1 kinds other than pods: services, endpoints, nodes, namespaces, config
maps, secrets, service accounts, events, persistent volumes and claims, resource quotas — plus
discovery.k8s.io endpoint slices, which sit next to endpoints.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kybernetes.apiserver.tables.format import (
    NONE,
    UNKNOWN,
    Obj,
    age,
    as_dict,
    as_int,
    as_list,
    dig,
    format_labels,
    list_with_more,
    meta,
    name,
    quantity,
    since,
)
from kybernetes.apiserver.tables.printer import AGE, NAME, Printer, col

# --- services --------------------------------------------------------------------------------


def _lb_ingress(status_lb: Any) -> list[str]:
    """IPs (or else hostnames) of a load-balancer status, de-duplicated and sorted."""
    found: set[str] = set()
    for ing in as_list(as_dict(status_lb).get("ingress")):
        ing = as_dict(ing)
        if ing.get("ip"):
            found.add(str(ing["ip"]))
        elif ing.get("hostname"):
            found.add(str(ing["hostname"]))
    return sorted(found)


def service_external_ip(svc: Obj) -> str:
    spec = as_dict(svc.get("spec"))
    svc_type = spec.get("type") or "ClusterIP"
    external_ips = [str(ip) for ip in as_list(spec.get("externalIPs"))]
    if svc_type in ("ClusterIP", "NodePort"):
        return ",".join(external_ips) if external_ips else NONE
    if svc_type == "LoadBalancer":
        # Server-side tables are always built wide, so the list is never clipped.
        lb = _lb_ingress(dig(svc, "status", "loadBalancer"))
        if external_ips:
            return ",".join(lb + external_ips)
        return ",".join(lb) if lb else "<pending>"
    if svc_type == "ExternalName":
        return str(spec.get("externalName", ""))
    return UNKNOWN


def service_ports(ports: Any) -> str:
    pieces = []
    for port in as_list(ports):
        port = as_dict(port)
        protocol = port.get("protocol") or "TCP"
        node_port = as_int(port.get("nodePort"))
        if node_port > 0:
            pieces.append(f"{as_int(port.get('port'))}:{node_port}/{protocol}")
        else:
            pieces.append(f"{as_int(port.get('port'))}/{protocol}")
    return ",".join(pieces) or NONE


def _service(svc: Obj, now: datetime) -> list[Any]:
    spec = as_dict(svc.get("spec"))
    cluster_ips = as_list(spec.get("clusterIPs"))
    cluster_ip = str(cluster_ips[0]) if cluster_ips else str(spec.get("clusterIP") or NONE)
    return [
        name(svc),
        str(spec.get("type") or "ClusterIP"),
        cluster_ip,
        service_external_ip(svc),
        service_ports(spec.get("ports")),
        age(svc, now),
        format_labels(spec.get("selector")),
    ]


SERVICE = Printer(
    (
        NAME,
        col("Type", "How the service is exposed."),
        col("Cluster-IP", "The virtual IP inside the cluster."),
        col("External-IP", "Addresses the service is reachable at from outside."),
        col("Port(s)", "Service ports, with node ports where allocated."),
        AGE,
        col("Selector", "Labels of the pods behind the service.", priority=1),
    ),
    _service,
)

# --- endpoints and slices -----------------------------------------------------------------------


def format_endpoints(obj: Obj) -> str:
    subsets = as_list(obj.get("subsets"))
    if not subsets:
        return NONE
    entries: list[str] = []
    for subset in subsets:
        subset = as_dict(subset)
        addresses = [str(as_dict(a).get("ip", "")) for a in as_list(subset.get("addresses"))]
        ports = as_list(subset.get("ports"))
        if not ports:
            entries.extend(addresses)  # headless services may have no ports
            continue
        for port in ports:
            number = as_int(as_dict(port).get("port"))
            for ip in addresses:
                host = f"[{ip}]" if ":" in ip else ip
                entries.append(f"{host}:{number}")
    return list_with_more(entries, empty="")


ENDPOINTS = Printer(
    (NAME, col("Endpoints", "Ready addresses and ports, the first few of them."), AGE),
    lambda obj, now: [name(obj), format_endpoints(obj), age(obj, now)],
)


def _slice_ports(ports: Any) -> str:
    out = []
    for port in as_list(ports):
        port = as_dict(port)
        if port.get("port") is not None:
            out.append(str(as_int(port["port"])))
        elif port.get("name") is not None:
            out.append(str(port["name"]))
        else:
            out.append("*")
    return list_with_more(out)


def _slice_endpoints(endpoints: Any) -> str:
    return list_with_more(str(a) for ep in as_list(endpoints) for a in as_list(as_dict(ep).get("addresses")))


ENDPOINTSLICE = Printer(
    (
        NAME,
        col("AddressType", "The kind of addresses in the slice."),
        col("Ports", "Port numbers of the slice."),
        col("Endpoints", "Addresses of the endpoints, the first few of them."),
        AGE,
    ),
    lambda obj, now: [
        name(obj), str(obj.get("addressType", "")), _slice_ports(obj.get("ports")),
        _slice_endpoints(obj.get("endpoints")), age(obj, now),
    ],
)

# --- nodes and namespaces ----------------------------------------------------------------------

_ROLE_PREFIX = "node-role.kubernetes.io/"
_ROLE_LABEL = "kubernetes.io/role"


def node_status(node: Obj) -> str:
    parts: list[str] = []
    for cond in as_list(dig(node, "status", "conditions")):
        cond = as_dict(cond)
        if cond.get("type") == "Ready":
            parts = ["Ready" if cond.get("status") == "True" else "NotReady"]
    if not parts:
        parts = ["Unknown"]
    if dig(node, "spec", "unschedulable"):
        parts.append("SchedulingDisabled")
    return ",".join(parts)


def node_roles(node: Obj) -> str:
    roles: set[str] = set()
    for key, value in as_dict(meta(node).get("labels")).items():
        if key.startswith(_ROLE_PREFIX) and key[len(_ROLE_PREFIX):]:
            roles.add(key[len(_ROLE_PREFIX):])
        elif key == _ROLE_LABEL and value:
            roles.add(str(value))
    return ",".join(sorted(roles)) or NONE


def _node_address(node: Obj, kind: str) -> str:
    for addr in as_list(dig(node, "status", "addresses")):
        if as_dict(addr).get("type") == kind:
            return str(as_dict(addr).get("address", ""))
    return NONE


def _node(node: Obj, now: datetime) -> list[Any]:
    info = as_dict(dig(node, "status", "nodeInfo"))
    return [
        name(node), node_status(node), node_roles(node), age(node, now), str(info.get("kubeletVersion", "")),
        _node_address(node, "InternalIP"), _node_address(node, "ExternalIP"),
        str(info.get("osImage") or UNKNOWN),
        str(info.get("kernelVersion") or UNKNOWN),
        str(info.get("containerRuntimeVersion") or UNKNOWN),
    ]


NODE = Printer(
    (
        NAME,
        col("Status", "Readiness of the node, and whether scheduling is disabled."),
        col("Roles", "Roles from the node's node-role.kubernetes.io labels."),
        AGE,
        col("Version", "The kubelet's version."),
        col("Internal-IP", "The node's internal address.", priority=1),
        col("External-IP", "The node's external address.", priority=1),
        col("OS-Image", "The operating system the node reports.", priority=1),
        col("Kernel-Version", "The node's kernel version.", priority=1),
        col("Container-Runtime", "The container runtime and its version.", priority=1),
    ),
    _node,
)

NAMESPACE = Printer(
    (NAME, col("Status", "Whether the namespace is active or being deleted."), AGE),
    lambda obj, now: [name(obj), str(dig(obj, "status", "phase") or ""), age(obj, now)],
)

# --- configuration objects ---------------------------------------------------------------------

CONFIGMAP = Printer(
    (NAME, col("Data", "Number of keys (text and binary)."), AGE),
    lambda obj, now: [
        name(obj), len(as_dict(obj.get("data"))) + len(as_dict(obj.get("binaryData"))), age(obj, now),
    ],
)

SECRET = Printer(
    (NAME, col("Type", "The secret's type."), col("Data", "Number of keys."), AGE),
    lambda obj, now: [name(obj), str(obj.get("type", "")), len(as_dict(obj.get("data"))), age(obj, now)],
)

SERVICEACCOUNT = Printer(
    (NAME, col("Secrets", "Number of secrets listed on the account."), AGE),
    lambda obj, now: [name(obj), len(as_list(obj.get("secrets"))), age(obj, now)],
)

# --- events --------------------------------------------------------------------------------------


def _core_event_view(ev: Obj) -> Obj:
    """An events.k8s.io/v1 event seen with core/v1 field names (the same stored event)."""
    if "regarding" not in ev and "note" not in ev and "deprecatedSource" not in ev:
        return ev
    return {
        "metadata": ev.get("metadata"),
        "involvedObject": ev.get("regarding"),
        "reason": ev.get("reason"),
        "message": ev.get("note"),
        "source": ev.get("deprecatedSource"),
        "firstTimestamp": ev.get("deprecatedFirstTimestamp"),
        "lastTimestamp": ev.get("deprecatedLastTimestamp"),
        "count": ev.get("deprecatedCount"),
        "type": ev.get("type"),
        "eventTime": ev.get("eventTime"),
        "series": ev.get("series"),
        "reportingComponent": ev.get("reportingController"),
        "reportingInstance": ev.get("reportingInstance"),
    }


def _event(raw: Obj, now: datetime) -> list[Any]:
    ev = _core_event_view(raw)
    first = since(ev.get("firstTimestamp"), now) if ev.get("firstTimestamp") else since(ev.get("eventTime"), now)
    last = since(ev.get("lastTimestamp"), now) if ev.get("lastTimestamp") else first
    count = as_int(ev.get("count"))
    series = ev.get("series")
    if isinstance(series, dict):
        last = since(series.get("lastObservedTime"), now)
        count = as_int(series.get("count"))
    elif count == 0:
        count = 1  # singleton events carry no count in the newer API
    involved = as_dict(ev.get("involvedObject"))
    kind = str(involved.get("kind", "")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = as_dict(ev.get("source"))
    component = str(source.get("component") or ev.get("reportingComponent") or "")
    instance = str(source.get("host") or ev.get("reportingInstance") or "")
    return [
        last,
        str(ev.get("type") or ""),
        str(ev.get("reason") or ""),
        target,
        str(involved.get("fieldPath") or ""),
        f"{component}, {instance}" if instance else component,
        str(ev.get("message") or "").strip(),
        first,
        count,
        name(raw),
    ]


EVENT = Printer(
    (
        col("Last Seen", "Time since the event was last seen."),
        col("Type", "Normal or Warning."),
        col("Reason", "Short machine-readable reason."),
        col("Object", "The object the event is about, as kind/name."),
        col("Subobject", "The part of the object, such as a container.", priority=1),
        col("Source", "The component that reported the event.", priority=1),
        col("Message", "What happened, in words."),
        col("First Seen", "Time since the event was first seen.", priority=1),
        col("Count", "How often the event happened.", priority=1),
        col("Name", "Name of the event object.", format="name", priority=1),
    ),
    _event,
)

# --- storage -------------------------------------------------------------------------------------

_ACCESS_MODES = (
    ("ReadWriteOnce", "RWO"),
    ("ReadOnlyMany", "ROX"),
    ("ReadWriteMany", "RWX"),
    ("ReadWriteOncePod", "RWOP"),
)
_BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"


def access_modes(modes: Any) -> str:
    present = set(as_list(modes))
    return ",".join(short for mode, short in _ACCESS_MODES if mode in present)


def _storage_class(obj: Obj) -> str:
    annotations = as_dict(meta(obj).get("annotations"))
    if _BETA_CLASS_ANNOTATION in annotations:
        return str(annotations[_BETA_CLASS_ANNOTATION])
    return str(dig(obj, "spec", "storageClassName") or "")


def _volume_mode(obj: Obj) -> str:
    mode = dig(obj, "spec", "volumeMode")
    return "<unset>" if mode is None else str(mode)


def _attributes_class(obj: Obj) -> str:
    cls = dig(obj, "spec", "volumeAttributesClassName")
    return "<unset>" if cls is None else str(cls)


def _phase(obj: Obj) -> str:
    if meta(obj).get("deletionTimestamp"):
        return "Terminating"
    return str(dig(obj, "status", "phase") or "")


def _pv(obj: Obj, now: datetime) -> list[Any]:
    spec = as_dict(obj.get("spec"))
    claim = as_dict(spec.get("claimRef"))
    claim_cell = f"{claim.get('namespace', '')}/{claim.get('name', '')}" if spec.get("claimRef") is not None else ""
    return [
        name(obj),
        quantity(dig(spec, "capacity", "storage")),
        access_modes(spec.get("accessModes")),
        str(spec.get("persistentVolumeReclaimPolicy") or ""),
        _phase(obj),
        claim_cell,
        _storage_class(obj),
        _attributes_class(obj),
        str(dig(obj, "status", "reason") or ""),
        age(obj, now),
        _volume_mode(obj),
    ]


PERSISTENTVOLUME = Printer(
    (
        NAME,
        col("Capacity", "Size of the volume."),
        col("Access Modes", "How the volume can be mounted."),
        col("Reclaim Policy", "What happens to the volume when its claim is released."),
        col("Status", "The volume's phase."),
        col("Claim", "The claim bound to the volume, as namespace/name."),
        col("StorageClass", "Storage class of the volume."),
        col("VolumeAttributesClass", "Volume attributes class of the volume."),
        col("Reason", "Why the volume is in its phase."),
        AGE,
        col("VolumeMode", "Filesystem or Block.", priority=1),
    ),
    _pv,
)


def _pvc(obj: Obj, now: datetime) -> list[Any]:
    spec, status = as_dict(obj.get("spec")), as_dict(obj.get("status"))
    volume = str(spec.get("volumeName") or "")
    capacity = modes = ""
    if volume:
        capacity = quantity(dig(status, "capacity", "storage"))
        modes = access_modes(status.get("accessModes"))
    annotations = as_dict(meta(obj).get("annotations"))
    if _BETA_CLASS_ANNOTATION in annotations:
        storage_class = str(annotations[_BETA_CLASS_ANNOTATION])
    else:
        storage_class = str(spec.get("storageClassName") or "")
    return [
        name(obj), _phase(obj), volume, capacity, modes, storage_class, _attributes_class(obj),
        age(obj, now), _volume_mode(obj),
    ]


PERSISTENTVOLUMECLAIM = Printer(
    (
        NAME,
        col("Status", "The claim's phase."),
        col("Volume", "The volume bound to the claim."),
        col("Capacity", "Size of the bound volume."),
        col("Access Modes", "How the bound volume can be mounted."),
        col("StorageClass", "Storage class of the claim."),
        col("VolumeAttributesClass", "Volume attributes class of the claim."),
        AGE,
        col("VolumeMode", "Filesystem or Block.", priority=1),
    ),
    _pvc,
)


def _resource_quota(obj: Obj, now: datetime) -> list[Any]:
    hard = as_dict(dig(obj, "status", "hard"))
    used = as_dict(dig(obj, "status", "used"))
    requests: list[str] = []
    limits: list[str] = []
    for resource in sorted(hard):
        text = f"{resource}: {quantity(used.get(resource))}/{quantity(hard[resource])}"
        pieces = resource.split(".")
        (limits if len(pieces) > 1 and pieces[0] == "limits" else requests).append(text)
    return [name(obj), ", ".join(requests), ", ".join(limits), age(obj, now)]


RESOURCEQUOTA = Printer(
    (
        NAME,
        col("Request", "Used out of hard limits, for everything but limits.*."),
        col("Limit", "Used out of hard limits, for limits.*."),
        AGE,
    ),
    _resource_quota,
)
