"""Pod specs and pod templates: defaulting, validation and QoS, shared by Pod and every workload.

Upstream applies the same SetDefaults_PodSpec / SetDefaults_Container to every PodSpec it
decodes (a Deployment's template gets them as much as a Pod), but a few defaults belong to the
Pod only (enableServiceLinks, requests copied from limits, priority from admission); those live
in ``default_pod``. Validation follows upstream's ValidatePodSpec for the parts users hit.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from kybernetes.apiserver.strategies.podspec_container import validate_container_details, validate_resources
from kybernetes.apiserver.strategies.podspec_mounts import validate_mount_options, validate_volume_devices
from kybernetes.apiserver.strategies.podspec_scheduling import validate_pod_scheduling
from kybernetes.apiserver.strategies.podspec_security import (
    drop_disabled_fields,
    validate_os,
    validate_security_annotations,
)
from kybernetes.apiserver.strategies.podspec_volumes import validate_volume_source
from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import (
    child,
    duplicate,
    forbidden,
    index,
    invalid,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_port_name,
    is_valid_port_num,
    not_found,
    not_supported,
    required,
    validate_annotations,
    validate_labels,
)

Obj = dict[str, Any]

RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
PROTOCOLS = ("SCTP", "TCP", "UDP")  # upstream lists the set sorted
TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
_DEFAULT_MODE = 0o644  # 420: secret, configMap, downwardAPI and projected volumes

_VOLUME_SOURCES = (
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
)


# --- defaulting -------------------------------------------------------------------------------


def image_pull_policy_for(image: str) -> str:
    """Always for ':latest' or an image without tag and digest, else IfNotPresent."""
    ref = image
    if "@" in ref:
        return "IfNotPresent"  # pinned by digest: no implicit 'latest'
    last = ref.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def _default_probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    # upstream defaults zero values too (a Go int32 cannot tell 0 from unset)
    for field, default in (
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ):
        if not probe.get(field):
            probe[field] = default
    http = probe.get("httpGet")
    if isinstance(http, dict):
        if not http.get("path"):
            http["path"] = "/"
        if not http.get("scheme"):
            http["scheme"] = "HTTP"


def _default_lifecycle_handler(handler: Any) -> None:
    if isinstance(handler, dict) and isinstance(handler.get("httpGet"), dict):
        http = handler["httpGet"]
        if not http.get("path"):
            http["path"] = "/"
        if not http.get("scheme"):
            http["scheme"] = "HTTP"


def default_container(c: Obj) -> None:
    if not c.get("imagePullPolicy"):
        image = c.get("image")
        # An unparsable (e.g. missing) image has no tag: IfNotPresent, as upstream.
        c["imagePullPolicy"] = (
            image_pull_policy_for(image) if isinstance(image, str) and image else "IfNotPresent"
        )
    if not c.get("terminationMessagePath"):
        c["terminationMessagePath"] = "/dev/termination-log"
    if not c.get("terminationMessagePolicy"):
        c["terminationMessagePolicy"] = "File"
    if c.get("resources") is None:
        c["resources"] = {}
    for p in c.get("ports") or []:
        if isinstance(p, dict) and not p.get("protocol"):
            p["protocol"] = "TCP"
    for e in c.get("env") or []:
        ref = (e.get("valueFrom") or {}).get("fieldRef") if isinstance(e, dict) else None
        if isinstance(ref, dict) and not ref.get("apiVersion"):
            ref["apiVersion"] = "v1"
    for name in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(c.get(name))
    lifecycle = c.get("lifecycle")
    if isinstance(lifecycle, dict):
        _default_lifecycle_handler(lifecycle.get("postStart"))
        _default_lifecycle_handler(lifecycle.get("preStop"))


def _default_volume(v: Obj) -> None:
    if not any(k in v for k in _VOLUME_SOURCES):
        v["emptyDir"] = {}
    for src in ("secret", "configMap", "downwardAPI", "projected"):
        s = v.get(src)
        if isinstance(s, dict) and s.get("defaultMode") is None:
            s["defaultMode"] = _DEFAULT_MODE
    hp = v.get("hostPath")
    if isinstance(hp, dict) and "type" not in hp:
        hp["type"] = ""
    items = list((v.get("downwardAPI") or {}).get("items") or [])
    for source in (v.get("projected") or {}).get("sources") or []:  # projected downwardAPI too
        if isinstance(source, dict):
            items += (source.get("downwardAPI") or {}).get("items") or []
    for item in items:
        ref = item.get("fieldRef") if isinstance(item, dict) else None
        if isinstance(ref, dict) and not ref.get("apiVersion"):
            ref["apiVersion"] = "v1"


def default_pod_spec(spec: Obj) -> None:
    """SetDefaults_PodSpec and the per-container/volume defaults, for pods and templates."""
    if not spec.get("dnsPolicy"):
        spec["dnsPolicy"] = "ClusterFirst"
    if not spec.get("restartPolicy"):
        spec["restartPolicy"] = "Always"
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = 30
    if not spec.get("schedulerName"):
        spec["schedulerName"] = "default-scheduler"
    drop_disabled_fields(spec)
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(key) or []:
            if isinstance(c, dict):
                default_container(c)
                if spec.get("hostNetwork"):
                    for p in c.get("ports") or []:
                        if isinstance(p, dict) and not p.get("hostPort") and p.get("containerPort"):
                            p["hostPort"] = p["containerPort"]
    for v in spec.get("volumes") or []:
        if isinstance(v, dict):
            _default_volume(v)


def default_pod_template(template: Obj | None) -> None:
    """A PodTemplateSpec inside a workload: the pod spec defaults, and the template's
    metadata as upstream serialises it (its zero creationTimestamp prints as null)."""
    if not isinstance(template, dict):
        return
    meta = template.setdefault("metadata", {})
    if isinstance(meta, dict):
        meta.setdefault("creationTimestamp", None)
    spec = template.setdefault("spec", {})
    if isinstance(spec, dict):
        default_pod_spec(spec)


def default_pod(pod: Obj) -> None:
    """Defaults of a Pod object: the pod spec's, plus those upstream applies to Pods only."""
    spec = pod.setdefault("spec", {})
    default_pod_spec(spec)
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            res = c.get("resources") if isinstance(c, dict) else None
            if isinstance(res, dict) and isinstance(res.get("limits"), dict) and res["limits"]:
                requests = res.setdefault("requests", {})
                for k, v in res["limits"].items():
                    requests.setdefault(k, v)
    # priority and preemptionPolicy are set by the Priority admission plugin, as upstream.


# --- QoS ------------------------------------------------------------------------------------

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}


def quantity_value(q: Any) -> Fraction | None:
    """The numeric value of a resource quantity ("100m", "1Gi", "2e3"), None if unparsable."""
    if isinstance(q, bool):
        return None
    if isinstance(q, int | float):
        return Fraction(q)
    if not isinstance(q, str):
        return None
    s = q.strip()
    for suf, mult in _BINARY.items():
        if s.endswith(suf):
            num, factor = s[: -len(suf)], Fraction(mult)
            break
    else:
        if len(s) > 1 and s[-1] in _DECIMAL and s[-1] != "":
            num, factor = s[:-1], _DECIMAL[s[-1]]
        else:
            num, factor = s, Fraction(1)
    try:
        return Fraction(num) * factor
    except (ValueError, ZeroDivisionError):
        return None


_QOS_RESOURCES = ("cpu", "memory")


def pod_qos_class(spec: Obj) -> str:
    """BestEffort / Burstable / Guaranteed as upstream's GetPodQOS (cpu and memory count)."""
    requests: dict[str, Fraction] = {}
    limits: dict[str, Fraction] = {}
    guaranteed = True
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        res = (c.get("resources") or {}) if isinstance(c, dict) else {}
        for name, q in (res.get("requests") or {}).items():
            v = quantity_value(q)
            if name in _QOS_RESOURCES and v is not None and v > 0:
                requests[name] = requests.get(name, Fraction(0)) + v
        found = set()
        for name, q in (res.get("limits") or {}).items():
            v = quantity_value(q)
            if name in _QOS_RESOURCES and v is not None and v > 0:
                found.add(name)
                limits[name] = limits.get(name, Fraction(0)) + v
        if not set(_QOS_RESOURCES) <= found:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed:
        for name, req in requests.items():
            if limits.get(name) != req:
                guaranteed = False
    if guaranteed and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


# --- validation -----------------------------------------------------------------------------


def _validate_ports(ports: list[Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    names: set[str] = set()
    for i, p in enumerate(ports):
        if not isinstance(p, dict):
            continue
        ip = index(path, i)
        name = p.get("name") or ""
        if name:
            msgs = is_valid_port_name(name)
            if msgs:
                causes.extend(invalid(child(ip, "name"), name, m) for m in msgs)
            elif name in names:
                causes.append(duplicate(child(ip, "name"), name))
            else:
                names.add(name)
        cp = p.get("containerPort")
        if not cp:
            causes.append(required(child(ip, "containerPort")))
        else:
            causes.extend(invalid(child(ip, "containerPort"), cp, m) for m in is_valid_port_num(cp))
        hp = p.get("hostPort")
        if hp:
            causes.extend(invalid(child(ip, "hostPort"), hp, m) for m in is_valid_port_num(hp))
        proto = p.get("protocol") or ""
        if not proto:
            causes.append(required(child(ip, "protocol")))
        elif proto not in PROTOCOLS:
            causes.append(not_supported(child(ip, "protocol"), proto, PROTOCOLS))
    return causes


def _validate_container(c: Obj, path: str, volumes: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    if not c.get("image"):
        causes.append(required(child(path, "image")))
    elif c["image"] != c["image"].strip():
        causes.append(
            invalid(child(path, "image"), c["image"], "must not have leading or trailing whitespace")
        )
    policy = c.get("imagePullPolicy") or ""
    if not policy:
        causes.append(required(child(path, "imagePullPolicy")))
    elif policy not in PULL_POLICIES:
        causes.append(not_supported(child(path, "imagePullPolicy"), policy, PULL_POLICIES))
    tmp = c.get("terminationMessagePolicy") or ""
    if not tmp:
        causes.append(required(child(path, "terminationMessagePolicy")))
    elif tmp not in TERMINATION_MESSAGE_POLICIES:
        causes.append(
            not_supported(child(path, "terminationMessagePolicy"), tmp, TERMINATION_MESSAGE_POLICIES)
        )
    causes.extend(_validate_ports(c.get("ports") or [], child(path, "ports")))
    mount_paths: set[str] = set()
    for i, m in enumerate(c.get("volumeMounts") or []):
        if not isinstance(m, dict):
            continue
        mp = index(child(path, "volumeMounts"), i)
        name = m.get("name") or ""
        if not name:
            causes.append(required(child(mp, "name")))
        elif name not in volumes:
            causes.append(not_found(child(mp, "name"), name))
        mount_path = m.get("mountPath") or ""
        if not mount_path:
            causes.append(required(child(mp, "mountPath")))
        elif mount_path in mount_paths:
            causes.append(invalid(child(mp, "mountPath"), mount_path, "must be unique"))
        mount_paths.add(mount_path)
    return causes


def _validate_volumes(volumes: list[Any], path: str) -> tuple[set[str], list[Cause]]:
    causes: list[Cause] = []
    names: set[str] = set()
    for i, v in enumerate(volumes):
        if not isinstance(v, dict):
            continue
        vp = index(path, i)
        causes.extend(validate_volume_source(v, vp))
        sources = [k for k in _VOLUME_SOURCES if v.get(k) is not None]
        if not sources:
            causes.append(required(vp, "must specify a volume type"))
        for extra in sources[1:]:
            causes.append(forbidden(child(vp, extra), "may not specify more than 1 volume type"))
        name = v.get("name") or ""
        if not name:
            causes.append(required(child(vp, "name")))
        else:
            causes.extend(invalid(child(vp, "name"), name, m) for m in is_dns1123_label(name))
        if name in names:
            causes.append(duplicate(child(vp, "name"), name))
        names.add(name)
    return names, causes


def _validate_gates(spec: Obj, path: str) -> list[Cause]:
    """validateReadinessGates and validateSchedulingGates: qualified names, gates unique."""
    causes: list[Cause] = []
    for i, g in enumerate(spec.get("readinessGates") or []):
        if isinstance(g, dict):
            ct = str(g.get("conditionType") or "")
            gp = child(index(child(path, "readinessGates"), i), "conditionType")
            causes.extend(invalid(gp, ct, m) for m in is_qualified_name(ct))
    seen: set[str] = set()
    for i, g in enumerate(spec.get("schedulingGates") or []):
        if isinstance(g, dict):
            name = str(g.get("name") or "")
            gp = index(child(path, "schedulingGates"), i)
            causes.extend(invalid(gp, name, m) for m in is_qualified_name(name))
            if name in seen:
                causes.append(duplicate(gp, name))
            seen.add(name)
    return causes


def _validate_host_network_ports(spec: Obj, path: str) -> list[Cause]:
    """validatePodHostNetworkDeps: with hostNetwork a hostPort must equal its containerPort
    (pods have it defaulted from containerPort, so only a different explicit value fails)."""
    if not spec.get("hostNetwork"):
        return []
    causes = []
    for ci, c in enumerate(spec.get("containers") or []):
        for pi, p in enumerate((c.get("ports") or []) if isinstance(c, dict) else []):
            if isinstance(p, dict) and p.get("hostPort") and p.get("hostPort") != p.get("containerPort"):
                pp = child(index(child(index(child(path, "containers"), ci), "ports"), pi), "hostPort")
                causes.append(
                    invalid(pp, p["hostPort"], "must match `containerPort` when `hostNetwork` is true")
                )
    return causes


def validate_pod_spec(spec: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    volumes, vol_causes = _validate_volumes(spec.get("volumes") or [], child(path, "volumes"))
    causes.extend(vol_causes)
    by_name = {
        str(v.get("name")): v for v in spec.get("volumes") or [] if isinstance(v, dict) and v.get("name")
    }
    containers = spec.get("containers") or []
    all_names: set[str] = set()
    for key in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(key) or []):
            if not isinstance(c, dict):
                continue
            cp = index(child(path, key), i)
            name = c.get("name") or ""
            if not name:
                causes.append(required(child(cp, "name")))
            else:
                causes.extend(invalid(child(cp, "name"), name, m) for m in is_dns1123_label(name))
            if name and name in all_names:
                causes.append(duplicate(child(cp, "name"), name))
            all_names.add(name)
            causes.extend(_validate_container(c, cp, volumes))
            causes.extend(validate_mount_options(c, cp, by_name))
            causes.extend(validate_volume_devices(c, cp, by_name))
            causes.extend(
                validate_container_details(
                    c, cp, init=key == "initContainers", grace=spec.get("terminationGracePeriodSeconds")
                )
            )
    if not containers:
        causes.append(required(child(path, "containers")))
    rp = spec.get("restartPolicy") or ""
    if not rp:
        causes.append(required(child(path, "restartPolicy")))
    elif rp not in RESTART_POLICIES:
        causes.append(not_supported(child(path, "restartPolicy"), rp, RESTART_POLICIES))
    dp = spec.get("dnsPolicy") or ""
    if not dp:
        causes.append(required(child(path, "dnsPolicy")))
    elif dp not in DNS_POLICIES:
        causes.append(not_supported(child(path, "dnsPolicy"), dp, DNS_POLICIES))
    elif dp == "None" and not spec.get("dnsConfig"):
        causes.append(required(child(path, "dnsConfig"), "must provide `dnsConfig` when `dnsPolicy` is None"))
    ads = spec.get("activeDeadlineSeconds")
    if ads is not None and (not isinstance(ads, int) or not 1 <= ads <= 2**31 - 1):
        causes.append(
            invalid(child(path, "activeDeadlineSeconds"), ads, "must be between 1 and 2147483647, inclusive")
        )
    for field in ("nodeName", "serviceAccountName"):
        v = spec.get(field)
        if v:
            causes.extend(invalid(child(path, field), v, m) for m in is_dns1123_subdomain(v))
    causes.extend(validate_pod_scheduling(spec, path))
    causes.extend(_validate_gates(spec, path))
    causes.extend(_validate_host_network_ports(spec, path))
    overhead = spec.get("overhead")
    if isinstance(overhead, dict):  # validateOverhead reuses the container rules, as limits
        causes.extend(validate_resources({"limits": overhead}, child(path, "overhead")))
    causes.extend(validate_os(spec, path))
    return causes


def validate_pod_template(template: Any, path: str) -> list[Cause]:
    """ValidatePodTemplateSpec: the template's labels and annotations, then its pod spec."""
    if not isinstance(template, dict):
        return [required(path)]
    meta = template.get("metadata") or {}
    causes = validate_labels(meta.get("labels"), child(path, "metadata", "labels"))
    causes.extend(validate_annotations(meta.get("annotations"), child(path, "metadata", "annotations")))
    spec = template.get("spec")
    causes.extend(
        validate_security_annotations(
            meta, spec if isinstance(spec, dict) else {}, child(path, "metadata", "annotations")
        )
    )
    causes.extend(validate_pod_spec(template.get("spec") or {}, child(path, "spec")))
    return causes
