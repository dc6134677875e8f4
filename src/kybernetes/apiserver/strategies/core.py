"""Strategies of the core (v1) group, except Service (``service.py``) and Pod (``pod.py``)."""

from __future__ import annotations

import base64
import binascii
from typing import Any, ClassVar

from kybernetes.apiserver.strategies import warnings_nonpod
from kybernetes.apiserver.strategies.base import KindStrategy, get, spec
from kybernetes.apiserver.strategies.podspec import (
    default_pod_template,
    quantity_value,
    validate_pod_template,
)
from kybernetes.apiserver.strategy import Obj, register
from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import (
    FIELD_IMMUTABLE,
    child,
    forbidden,
    go_quote,
    index,
    invalid,
    is_config_map_key,
    is_qualified_name,
    key,
    name_is_dns_label,
    not_supported,
    render_value,
    required,
    selector_matches,
    too_long,
    validate_nonnegative,
)

MAX_SECRET_SIZE = 1024 * 1024
_STANDARD_FINALIZERS = ("kubernetes", "orphan", "foregroundDeletion")


def _validate_data_keys(data: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for k in sorted(data or {}):
        causes.extend(invalid(key(path, k), k, m) for m in is_config_map_key(k))
    return causes


def _immutable_data(new: Obj, old: Obj, fields: tuple[str, ...]) -> list[Cause]:
    """ConfigMaps and Secrets marked immutable keep their data and the flag."""
    if old.get("immutable") is not True:
        return []
    causes = []
    if new.get("immutable") is not True:
        causes.append(forbidden("immutable", "field is immutable when `immutable` is set"))
    for f in fields:
        if (new.get(f) or None) != (old.get(f) or None):
            causes.append(forbidden(f, "field is immutable when `immutable` is set"))
    return causes


# --- Namespace --------------------------------------------------------------------------------


@register("", "Namespace")
class NamespaceStrategy(KindStrategy):
    has_status = True

    def validate_name(self, name: str, prefix: bool) -> list[str]:
        return name_is_dns_label(name, prefix)

    def default(self, obj: Obj) -> None:
        name = get(obj, "metadata", "name")
        if name:
            labels = obj.setdefault("metadata", {}).get("labels") or {}
            labels["kubernetes.io/metadata.name"] = name
            obj["metadata"]["labels"] = labels
        status = obj.get("status")
        if isinstance(status, dict) and not status.get("phase"):
            status["phase"] = "Active"

    def prepare_for_create(self, obj: Obj) -> None:
        self.default(obj)
        obj["status"] = self.initial_status(obj)
        fins = spec(obj).setdefault("finalizers", [])
        if "kubernetes" not in fins:
            fins.append("kubernetes")

    def initial_status(self, obj: Obj) -> Any:
        return {"phase": "Active"}

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        # spec.finalizers change only through /finalize.
        super().prepare_for_update(new, old)
        if "spec" in old:
            new["spec"] = old["spec"]
        else:
            new.pop("spec", None)

    def deletion_held(self, obj: Obj) -> bool:
        # a namespace goes only when every spec.finalizer (the namespace controller's
        # "kubernetes") has been removed through /finalize
        return bool(get(obj, "spec", "finalizers"))

    def mark_deleting(self, obj: Obj) -> None:
        status = obj.get("status")
        if not isinstance(status, dict):
            status = obj["status"] = {}
        status["phase"] = "Terminating"

    def prepare_for_finalize_update(self, new: Obj, old: Obj) -> None:
        # /finalize changes spec.finalizers (and metadata); status stays the server's
        if "status" in old:
            new["status"] = old["status"]
        else:
            new.pop("status", None)
        fins = get(new, "spec", "finalizers")
        new["spec"] = {**(old.get("spec") or {}), "finalizers": list(fins or [])}
        if not new["spec"]["finalizers"]:
            del new["spec"]["finalizers"]

    def validate(self, obj: Obj) -> list[Cause]:
        causes: list[Cause] = []
        for f in get(obj, "spec", "finalizers") or []:
            causes.extend(invalid("spec.finalizers", f, m) for m in is_qualified_name(f))
            if "/" not in f and f not in _STANDARD_FINALIZERS:
                causes.append(
                    invalid(
                        "spec.finalizers",
                        f,
                        "name is neither a standard finalizer name nor is it fully qualified",
                    )
                )
        return causes

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return []

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        fields = super().selectable_fields(obj)
        fields["status.phase"] = get(obj, "status", "phase") or ""
        return fields


# --- Node -----------------------------------------------------------------------------------

_TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


@register("", "Node")
class NodeStrategy(KindStrategy):
    has_status = True

    def warnings_on_create(self, obj: Obj) -> list[str]:
        return warnings_nonpod.node_warnings(obj)

    def warnings_on_update(self, new: Obj, old: Obj) -> list[str]:
        return warnings_nonpod.node_warnings(new)

    def default(self, obj: Obj) -> None:
        status = obj.get("status")
        if isinstance(status, dict) and status.get("capacity") and status.get("allocatable") is None:
            status["allocatable"] = dict(status["capacity"])

    def prepare_for_create(self, obj: Obj) -> None:
        # The kubelet registers its node with a status: a Node keeps what it was created with.
        self.default(obj)
        obj.setdefault("status", {})

    def validate(self, obj: Obj) -> list[Cause]:
        causes: list[Cause] = []
        for i, t in enumerate(get(obj, "spec", "taints") or []):
            p = index("spec.taints", i)
            k = t.get("key") or ""
            if not k:
                causes.append(required(child(p, "key")))
            else:
                causes.extend(invalid(child(p, "key"), k, m) for m in is_qualified_name(k))
            eff = t.get("effect") or ""
            if not eff:
                causes.append(required(child(p, "effect")))
            elif eff not in _TAINT_EFFECTS:
                causes.append(not_supported(child(p, "effect"), eff, _TAINT_EFFECTS))
        return causes

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = self.validate(new)
        old_cidrs = get(old, "spec", "podCIDRs") or []
        if old_cidrs and (get(new, "spec", "podCIDRs") or []) != old_cidrs:
            causes.append(
                forbidden("spec.podCIDRs", 'node updates may not change podCIDR except from "" to valid')
            )
        old_pid = get(old, "spec", "providerID") or ""
        if old_pid and (get(new, "spec", "providerID") or "") != old_pid:
            causes.append(
                forbidden("spec.providerID", 'node updates may not change providerID except from "" to valid')
            )
        return causes

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        fields = super().selectable_fields(obj)
        fields["spec.unschedulable"] = "true" if get(obj, "spec", "unschedulable") else "false"
        return fields


# --- ConfigMap and Secret ---------------------------------------------------------------------


@register("", "ConfigMap")
class ConfigMapStrategy(KindStrategy):
    def validate(self, obj: Obj) -> list[Cause]:
        causes = _validate_data_keys(obj.get("data"), "data")
        binary = obj.get("binaryData") or {}
        for k in sorted(obj.get("data") or {}):
            if k in binary:
                causes.append(invalid(key("data", k), k, "duplicate of key present in binaryData"))
        causes.extend(_validate_data_keys(binary, "binaryData"))
        size = sum(len(str(v).encode()) for v in (obj.get("data") or {}).values())
        size += sum(_decoded_len(v) for v in binary.values())
        if size > MAX_SECRET_SIZE:
            causes.append(too_long("", MAX_SECRET_SIZE))  # upstream's path: the whole object
        return causes

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return _immutable_data(new, old, ("data", "binaryData")) + self.validate(new)


_SECRET_REQUIRED_KEYS = {
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
}


def _decoded_len(v: Any) -> int:
    if not isinstance(v, str):
        return 0
    try:
        return len(base64.b64decode(v, validate=False))
    except (binascii.Error, ValueError):
        return len(v)


@register("", "Secret")
class SecretStrategy(KindStrategy):
    def default(self, obj: Obj) -> None:
        if not obj.get("type"):
            obj["type"] = "Opaque"
        # stringData is write-only: it is folded into data (base64) and not kept.
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict) and string_data:
            data = obj.get("data") or {}
            for k, v in string_data.items():
                data[k] = base64.b64encode(str(v).encode()).decode()
            obj["data"] = data

    def validate(self, obj: Obj) -> list[Cause]:
        data = obj.get("data") or {}
        causes = _validate_data_keys(data, "data")
        if sum(_decoded_len(v) for v in data.values()) > MAX_SECRET_SIZE:
            causes.append(
                Cause("FieldValueTooLong", f"Too long: must have at most {MAX_SECRET_SIZE} bytes", "data")
            )
        typ = obj.get("type") or ""
        if typ == "kubernetes.io/service-account-token":
            if not get(obj, "metadata", "annotations", "kubernetes.io/service-account.name"):
                causes.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
        elif typ == "kubernetes.io/basic-auth" and "username" not in data and "password" not in data:
            # either may be empty, but one of them must be there
            causes.append(required("data[username]"))
            causes.append(required("data[password]"))
        elif typ == "kubernetes.io/ssh-auth" and not data.get("ssh-privatekey"):
            causes.append(required("data[ssh-privatekey]"))  # present and non-empty
        for k in _SECRET_REQUIRED_KEYS.get(typ, ()):
            if k not in data:
                causes.append(required(key("data", k)))
        return causes

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = []
        if (new.get("type") or "") != (old.get("type") or ""):
            causes.append(invalid("type", new.get("type") or "", FIELD_IMMUTABLE))
        return causes + _immutable_data(new, old, ("data",)) + self.validate(new)

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        fields = super().selectable_fields(obj)
        fields["type"] = obj.get("type") or ""
        return fields


# --- Event ------------------------------------------------------------------------------------


@register("", "Event")
class EventStrategy(KindStrategy):
    def validate(self, obj: Obj) -> list[Cause]:
        ns = get(obj, "metadata", "namespace") or ""
        ino = get(obj, "involvedObject", "namespace") or ""
        if (not ino and ns not in ("", "default")) or (ino and ns != ino):
            return [invalid("involvedObject.namespace", ino, "does not match event.namespace")]
        return []

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        fields = super().selectable_fields(obj)
        io = obj.get("involvedObject") or {}
        for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"):
            fields[f"involvedObject.{f}"] = io.get(f) or ""
        fields["reason"] = obj.get("reason") or ""
        fields["reportingComponent"] = obj.get("reportingComponent") or ""
        fields["source"] = get(obj, "source", "component") or obj.get("reportingComponent") or ""
        fields["type"] = obj.get("type") or ""
        return fields


# --- ReplicationController and PodTemplate ------------------------------------------------------


@register("", "ReplicationController")
class ReplicationControllerStrategy(KindStrategy):
    def warnings_on_create(self, obj: Obj) -> list[str]:
        return warnings_nonpod.pod_name_warning(obj) + super().warnings_on_create(obj)

    has_status = True
    tracks_generation = True

    def default(self, obj: Obj) -> None:
        s = spec(obj)
        template = s.get("template")
        labels = get(template, "metadata", "labels")
        if labels:
            if not s.get("selector"):
                s["selector"] = dict(labels)
            meta = obj.setdefault("metadata", {})
            if not meta.get("labels"):
                meta["labels"] = dict(labels)
        if s.get("replicas") is None:
            s["replicas"] = 1
        default_pod_template(template)

    def initial_status(self, obj: Obj) -> Any:
        return {"replicas": 0}

    def validate(self, obj: Obj) -> list[Cause]:
        s = obj.get("spec") or {}
        causes = validate_nonnegative(s.get("minReadySeconds", 0), "spec.minReadySeconds")
        selector = s.get("selector") or {}
        if not selector:
            causes.append(required("spec.selector"))
        causes.extend(validate_nonnegative(s.get("replicas", 0), "spec.replicas"))
        template = s.get("template")
        if not isinstance(template, dict):
            causes.append(required("spec.template"))
            return causes
        labels = get(template, "metadata", "labels") or {}
        if selector and not selector_matches({"matchLabels": selector}, labels):
            causes.append(
                invalid(
                    "spec.template.metadata.labels", labels, "`selector` does not match template `labels`"
                )
            )
        causes.extend(validate_pod_template(template, "spec.template"))
        rp = get(template, "spec", "restartPolicy")
        if rp and rp != "Always":
            causes.append(not_supported("spec.template.spec.restartPolicy", rp, ("Always",)))
        if get(template, "spec", "activeDeadlineSeconds") is not None:
            causes.append(
                invalid(
                    "spec.template.spec.activeDeadlineSeconds",
                    get(template, "spec", "activeDeadlineSeconds"),
                    "activeDeadlineSeconds in ReplicationController is not Supported",
                )
            )
        return causes

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        fields = super().selectable_fields(obj)
        fields["status.replicas"] = str(get(obj, "status", "replicas") or 0)
        return fields


@register("", "PodTemplate")
class PodTemplateStrategy(KindStrategy):
    def default(self, obj: Obj) -> None:
        default_pod_template(obj.get("template"))

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_pod_template(obj.get("template"), "template")


# --- PersistentVolume and PersistentVolumeClaim -------------------------------------------------

ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
VOLUME_MODES = ("Block", "Filesystem")
RECLAIM_POLICIES = ("Delete", "Recycle", "Retain")
_PV_SOURCES = (
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "hostPath",
    "glusterfs",
    "nfs",
    "rbd",
    "iscsi",
    "cinder",
    "cephfs",
    "fc",
    "flocker",
    "flexVolume",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "local",
    "storageos",
    "csi",
)


def not_supported_rendered(path: str, value: Any, supported: tuple[str, ...], shown: str | None) -> Cause:
    cause = not_supported(path, value, supported)
    if shown is None:
        return cause
    return Cause(cause.type, cause.message.replace(render_value(value), shown, 1), cause.field)


def _validate_access_modes(modes: Any, path: str, detail: str) -> list[Cause]:
    if not modes:
        return [required(path, detail)]
    return [not_supported(path, m, ACCESS_MODES) for m in modes if m not in ACCESS_MODES]


@register("", "PersistentVolume")
class PersistentVolumeStrategy(KindStrategy):
    has_status = True

    def warnings_on_create(self, obj: Obj) -> list[str]:
        return warnings_nonpod.pv_warnings(obj)

    def warnings_on_update(self, new: Obj, old: Obj) -> list[str]:
        return warnings_nonpod.pv_warnings(new)

    def default(self, obj: Obj) -> None:
        s = spec(obj)
        if not s.get("persistentVolumeReclaimPolicy"):
            s["persistentVolumeReclaimPolicy"] = "Retain"
        if not s.get("volumeMode"):
            s["volumeMode"] = "Filesystem"
        hp = s.get("hostPath")
        if isinstance(hp, dict) and "type" not in hp:
            hp["type"] = ""
        status = obj.get("status")
        if isinstance(status, dict) and not status.get("phase"):
            status["phase"] = "Pending"

    def initial_status(self, obj: Obj) -> Any:
        return {"phase": "Pending"}

    def validate(self, obj: Obj) -> list[Cause]:
        s = obj.get("spec") or {}
        causes = _validate_access_modes(s.get("accessModes"), "spec.accessModes", "")
        modes = s.get("accessModes") or []
        if "ReadWriteOncePod" in modes and len(modes) > 1:
            causes.append(
                forbidden("spec.accessModes", "may not use ReadWriteOncePod with other access modes")
            )
        cap = s.get("capacity") or {}
        if not cap:
            causes.append(required("spec.capacity"))
        if "storage" not in cap or len(cap) > 1:
            shown = "core.ResourceList(nil)" if not cap else None  # Go's %#v of an empty list
            causes.append(not_supported_rendered("spec.capacity", cap, ("storage",), shown))
        rp = s.get("persistentVolumeReclaimPolicy") or ""
        if rp and rp not in RECLAIM_POLICIES:
            causes.append(not_supported("spec.persistentVolumeReclaimPolicy", rp, RECLAIM_POLICIES))
        vm = s.get("volumeMode")
        if vm and vm not in VOLUME_MODES:
            causes.append(not_supported("spec.volumeMode", vm, VOLUME_MODES))
        if not any(s.get(k) is not None for k in _PV_SOURCES):
            causes.append(required("spec", "must specify a volume type"))
        return causes

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        fields = super().selectable_fields(obj)
        fields["name"] = get(obj, "metadata", "name") or ""
        return fields


@register("", "PersistentVolumeClaim")
class PersistentVolumeClaimStrategy(KindStrategy):
    has_status = True

    def warnings_on_create(self, obj: Obj) -> list[str]:
        return warnings_nonpod.pvc_warnings(obj)

    def warnings_on_update(self, new: Obj, old: Obj) -> list[str]:
        return warnings_nonpod.pvc_warnings(new)

    def default(self, obj: Obj) -> None:
        s = spec(obj)
        if not s.get("volumeMode"):
            s["volumeMode"] = "Filesystem"
        if s.get("resources") is None:
            s["resources"] = {}
        status = obj.get("status")
        if isinstance(status, dict) and not status.get("phase"):
            status["phase"] = "Pending"

    def initial_status(self, obj: Obj) -> Any:
        return {"phase": "Pending"}

    def validate(self, obj: Obj) -> list[Cause]:
        s = obj.get("spec") or {}
        causes = _validate_access_modes(
            s.get("accessModes"), "spec.accessModes", "at least 1 access mode is required"
        )
        storage = get(s, "resources", "requests", "storage")
        if storage is None:
            causes.append(required("spec.resources[storage]"))
        else:
            v = quantity_value(storage)
            if v is not None and v <= 0:
                causes.append(invalid("spec.resources[storage]", storage, "must be greater than zero"))
        vm = s.get("volumeMode")
        if vm and vm not in VOLUME_MODES:
            causes.append(not_supported("spec.volumeMode", vm, VOLUME_MODES))
        return causes

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = self.validate(new)
        ns, os_ = dict(new.get("spec") or {}), dict(old.get("spec") or {})
        if not os_.get("volumeName"):
            os_["volumeName"] = ns.get("volumeName")
        if get(old, "status", "phase") == "Bound":
            nr, or_ = dict(ns.get("resources") or {}), dict(os_.get("resources") or {})
            nr["requests"] = dict(nr.get("requests") or {})
            nr["requests"]["storage"] = get(or_, "requests", "storage")
            ns["resources"] = nr
        if {k: v for k, v in ns.items() if v is not None} != {k: v for k, v in os_.items() if v is not None}:
            causes.append(
                forbidden(
                    "spec", "spec is immutable after creation except resources.requests for bound claims"
                )
            )
        return causes

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        fields = super().selectable_fields(obj)
        fields["name"] = get(obj, "metadata", "name") or ""
        return fields


# --- small kinds --------------------------------------------------------------------------------


# Resource names a quota may limit without a domain prefix (upstream's standardQuotaResources).
STANDARD_QUOTA_RESOURCES = frozenset(
    {
        "cpu",
        "memory",
        "ephemeral-storage",
        "requests.cpu",
        "requests.memory",
        "requests.storage",
        "requests.ephemeral-storage",
        "limits.cpu",
        "limits.memory",
        "limits.ephemeral-storage",
        "pods",
        "resourcequotas",
        "services",
        "replicationcontrollers",
        "secrets",
        "persistentvolumeclaims",
        "configmaps",
        "services.nodeports",
        "services.loadbalancers",
    }
)
QUOTA_SCOPES = (
    "Terminating",
    "NotTerminating",
    "BestEffort",
    "NotBestEffort",
    "PriorityClass",
    "CrossNamespacePodAffinity",
)
_CONFLICTING_SCOPES = (("BestEffort", "NotBestEffort"), ("Terminating", "NotTerminating"))


def _is_standard_quota_resource(name: str) -> bool:
    return name in STANDARD_QUOTA_RESOURCES or name.startswith(("hugepages-", "requests.hugepages-"))


def validate_resource_quota_spec(s: Obj) -> list[Cause]:
    """Upstream's ValidateResourceQuotaSpec: names and values of spec.hard, the scopes."""
    causes: list[Cause] = []
    for name, value in sorted((s.get("hard") or {}).items()):
        path = key("spec.hard", name)
        causes.extend(invalid(path, name, m) for m in is_qualified_name(name))
        if "/" not in name and not _is_standard_quota_resource(name):
            causes.append(invalid(path, name, "must be a standard resource for quota"))
        v = quantity_value(value)
        if v is not None and v < 0:
            causes.append(invalid(path, str(value), "must be greater than or equal to 0"))
    scopes = list(s.get("scopes") or [])
    shown = "[]core.ResourceQuotaScope{" + ", ".join(go_quote(str(x)) for x in scopes) + "}"
    for scope in scopes:
        if scope not in QUOTA_SCOPES:
            causes.append(invalid("spec.scopes", scopes, "unsupported scope", rendered=shown))
    for pair in _CONFLICTING_SCOPES:
        if all(x in scopes for x in pair):
            causes.append(invalid("spec.scopes", scopes, "conflicting scopes", rendered=shown))
    return causes


@register("", "ResourceQuota")
class ResourceQuotaStrategy(KindStrategy):
    has_status = True

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_resource_quota_spec(obj.get("spec") or {})


@register("", "LimitRange")
class LimitRangeStrategy(KindStrategy):
    _TYPES: ClassVar[tuple[str, ...]] = ("Container", "Pod", "PersistentVolumeClaim")

    def validate(self, obj: Obj) -> list[Cause]:
        causes: list[Cause] = []
        for i, item in enumerate(get(obj, "spec", "limits") or []):
            t = item.get("type") or ""
            p = child(index("spec.limits", i), "type")
            if not t:
                causes.append(required(p))
        return causes


@register("", "ServiceAccount")
class ServiceAccountStrategy(KindStrategy):
    pass


@register("", "Endpoints")
class EndpointsStrategy(KindStrategy):
    def default(self, obj: Obj) -> None:
        for subset in obj.get("subsets") or []:
            for p in subset.get("ports") or [] if isinstance(subset, dict) else []:
                if isinstance(p, dict) and not p.get("protocol"):
                    p["protocol"] = "TCP"


@register("", "Binding")
class BindingStrategy(KindStrategy):
    def validate(self, obj: Obj) -> list[Cause]:
        if not get(obj, "target", "name"):
            return [required("target.name")]
        return []
