"""Warnings about pods and pod templates that are valid but probably not what was meant, as
upstream 1.32's pkg/api/pod warnings: deprecated node labels and volume plugins, annotations
that no longer do anything, duplicate or overlapping definitions, fractional byte quantities.

They reach the client as `Warning: 299` headers (kubectl prints them on stderr). A Pod gets
them on create only; a workload gets them for its template on create, and on an update that
changes its spec. Paths carry the template's prefix (``spec.template.spec.containers[0]...``).
"""

from __future__ import annotations

from typing import Any

from kybernetes.apiserver.strategies.podspec_security import (
    APPARMOR_DEPRECATED,
    APPARMOR_PREFIX,
    SECCOMP_CONTAINER_PREFIX,
    SECCOMP_POD_KEY,
    containers_with_paths,
)
from kybernetes.machinery.quantity import parse_quantity
from kybernetes.machinery.validation import child, index, is_dns1123_label, key

Obj = dict[str, Any]

DEPRECATED_NODE_LABELS = {
    "beta.kubernetes.io/arch": 'deprecated since v1.14; use "kubernetes.io/arch" instead',
    "beta.kubernetes.io/os": 'deprecated since v1.14; use "kubernetes.io/os" instead',
    "failure-domain.beta.kubernetes.io/region": 'deprecated since v1.17; use "topology.kubernetes.io/region" instead',
    "failure-domain.beta.kubernetes.io/zone": 'deprecated since v1.17; use "topology.kubernetes.io/zone" instead',
    "beta.kubernetes.io/instance-type": 'deprecated since v1.17; use "node.kubernetes.io/instance-type" instead',
    "app.kubernetes.io/created-by": "deprecated since v1.9",
    "scheduler.alpha.kubernetes.io/preferAvoidPods": "deprecated since v1.22; use Taints and Tolerations instead",
    "node-role.kubernetes.io/master": 'use "node-role.kubernetes.io/control-plane" instead',
}
DEPRECATED_ANNOTATIONS = {
    "scheduler.alpha.kubernetes.io/critical-pod": 'non-functional in v1.16+; use the "priorityClassName" field instead',
    "security.alpha.kubernetes.io/sysctls": 'non-functional in v1.11+; use the "sysctls" field instead',
    "security.alpha.kubernetes.io/unsafe-sysctls": 'non-functional in v1.11+; use the "sysctls" field instead',
}
DEPRECATED_VOLUMES = (
    ("photonPersistentDisk", "deprecated in v1.11, non-functional in v1.16+"),
    ("gitRepo", "deprecated in v1.11"),
    ("scaleIO", "deprecated in v1.16, non-functional in v1.22+"),
    ("flocker", "deprecated in v1.22, non-functional in v1.25+"),
    ("storageos", "deprecated in v1.22, non-functional in v1.25+"),
    ("quobyte", "deprecated in v1.22, non-functional in v1.25+"),
    ("glusterfs", "deprecated in v1.25, non-functional in v1.26+"),
    ("cephfs", "deprecated in v1.28, non-functional in v1.31+"),
    ("rbd", "deprecated in v1.28, non-functional in v1.31+"),
)
# upstream names storageos by its Go field (storageOS) in the warning path
_VOLUME_PATH_NAMES = {"storageos": "storageOS"}
SECCOMP_DEPRECATED = 'non-functional in v1.27+; use the "seccompProfile" field instead'
NULL_SELECTOR = "a null labelSelector results in matching no pod"
_BYTE_RESOURCES = ("memory", "ephemeral-storage")


def _list(v: Any) -> list[Obj]:
    return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []


def _dict(v: Any) -> Obj:
    return v if isinstance(v, dict) else {}


def _node_term(term: Obj, path: str) -> list[str]:
    out = []
    for i, e in enumerate(_list(term.get("matchExpressions"))):
        msg = DEPRECATED_NODE_LABELS.get(str(e.get("key")))
        if msg:
            out.append(f"{child(index(child(path, 'matchExpressions'), i), 'key')}: {e.get('key')} is {msg}")
    return out


def _scheduling(spec: Obj, sp: str) -> list[str]:
    out = []
    for k in sorted(_dict(spec.get("nodeSelector"))):
        if k in DEPRECATED_NODE_LABELS:
            out.append(f"{key(child(sp, 'nodeSelector'), k)}: {DEPRECATED_NODE_LABELS[k]}")
    na = _dict(_dict(spec.get("affinity")).get("nodeAffinity"))
    req = na.get("requiredDuringSchedulingIgnoredDuringExecution")
    if isinstance(req, dict):
        tp = child(
            sp,
            "affinity",
            "nodeAffinity",
            "requiredDuringSchedulingIgnoredDuringExecution",
            "nodeSelectorTerms",
        )
        for i, term in enumerate(_list(req.get("nodeSelectorTerms"))):
            out += _node_term(term, index(tp, i))
    pp = child(sp, "affinity", "nodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution")
    for i, pt in enumerate(_list(na.get("preferredDuringSchedulingIgnoredDuringExecution"))):
        out += _node_term(_dict(pt.get("preference")), child(index(pp, i), "preference"))
    for i, c in enumerate(_list(spec.get("topologySpreadConstraints"))):
        cp = index(child(sp, "topologySpreadConstraints"), i)
        tk = str(c.get("topologyKey") or "")
        if tk in DEPRECATED_NODE_LABELS:
            out.append(f"{child(cp, 'topologyKey')}: {tk} is {DEPRECATED_NODE_LABELS[tk]}")
        if c.get("labelSelector") is None:
            out.append(f"{child(cp, 'labelSelector')}: {NULL_SELECTOR}")
    return out


def _volumes(spec: Obj, sp: str) -> list[str]:
    out = []
    volumes = _list(spec.get("volumes"))
    for i, v in enumerate(volumes):
        vp = index(child(sp, "volumes"), i)
        for source, msg in DEPRECATED_VOLUMES:
            if v.get(source) is not None:
                out.append(f"{child(vp, _VOLUME_PATH_NAMES.get(source, source))}: {msg}")
    token_paths = {
        str(_dict(s.get("serviceAccountToken")).get("path") or "")
        for v in volumes
        for s in _list(_dict(v.get("projected")).get("sources"))
        if isinstance(s.get("serviceAccountToken"), dict)
    }
    if not token_paths:
        return out
    for i, v in enumerate(volumes):
        sources_path = child(index(child(sp, "volumes"), i), "projected", "sources")
        for s in _list(_dict(v.get("projected")).get("sources")):
            # upstream names the secret list "secrets" here, and indexes the items on the source
            for kind, label in (
                ("configMap", "configMap"),
                ("secret", "secrets"),
                ("downwardAPI", "downwardAPI"),
            ):
                for j, item in enumerate(_list(_dict(s.get(kind)).get("items"))):
                    if item.get("path") in token_paths:
                        out.append(
                            f"{index(child(sources_path, label), j)}: has duplicated path with "
                            f'ServiceAccountToken "{item.get("path")}"'
                        )
            ctb = s.get("clusterTrustBundle")
            if isinstance(ctb, dict) and ctb.get("path") in token_paths:
                out.append(
                    f"{child(sources_path, 'ClusterTrustBundle')}: has duplicated path with "
                    f'ServiceAccountToken "{ctb.get("path")}"'
                )
    return out


def _duplicates(spec: Obj, sp: str) -> list[str]:
    out = []
    seen: set[str] = set()
    for i, a in enumerate(_list(spec.get("hostAliases"))):
        ip = str(a.get("ip") or "")
        if ip in seen:
            out.append(f'{child(index(child(sp, "hostAliases"), i), "ip")}: duplicate ip "{ip}"')
        seen.add(ip)
    seen = set()
    secrets = _list(spec.get("imagePullSecrets"))
    for i, s in enumerate(secrets):
        name = str(s.get("name") or "")
        if name in seen:
            out.append(f'{child(index(child(sp, "imagePullSecrets"), i), "name")}: duplicate name "{name}"')
        seen.add(name)
    for i, s in enumerate(secrets):
        if not s.get("name"):
            out.append(f'{child(index(child(sp, "imagePullSecrets"), i), "name")}: invalid empty name ""')
    return out


def _fractional_bytes(resources: Obj, path: str) -> list[str]:
    out = []
    for r in _BYTE_RESOURCES:
        if r not in resources:
            continue
        try:
            q = parse_quantity(str(resources[r]))
        except ValueError:
            continue
        if q.value.denominator != 1:
            out.append(f'{key(path, r)}: fractional byte value "{q}" is invalid, must be an integer')
    return out


def _env(c: Obj, cpath: str) -> list[str]:
    out = []
    seen: set[str] = set()
    for i, e in enumerate(_list(c.get("env"))):
        name = str(e.get("name") or "")
        if name not in seen:
            seen.add(name)
            continue
        ref, value = f"$({name})", str(e.get("value") or "")
        if e.get("valueFrom") is not None or value == ref or ref not in value:
            out.append(
                f'{index(child(cpath, "env"), i)}: hides previous definition of "{name}", '
                "which may be dropped when using apply"
            )
    return out


def _go_port(p: Obj) -> str:
    """A container port as Go's %+v prints upstream's internal struct."""
    return (
        f"{{Name:{p.get('name') or ''} HostPort:{p.get('hostPort') or 0} ContainerPort:{p.get('containerPort') or 0} "
        f"Protocol:{p.get('protocol') or ''} HostIP:{p.get('hostIP') or ''}}}"
    )


def _ports(containers: list[tuple[Obj, str]]) -> list[str]:
    out = []
    seen: dict[str, list[tuple[str, Obj]]] = {}
    for c, cpath in containers:
        for i, p in enumerate(_list(c.get("ports"))):
            pp = index(child(cpath, "ports"), i)
            hp, hip = p.get("hostPort") or 0, p.get("hostIP") or ""
            if hip and not hp:
                out.append(f"{pp}: hostIP set without hostPort: {_go_port(p)}")
            k = f"{p.get('containerPort') or 0}/{p.get('protocol') or ''}"
            for other_path, other in seen.get(k, []):
                ohp, ohip = other.get("hostPort") or 0, other.get("hostIP") or ""
                if hip == ohip and hp == ohp:
                    out.append(f"{pp}: duplicate port definition with {other_path}")
                elif not hp or not ohp:
                    out.append(f"{pp}: overlapping port definition with {other_path}")
                elif hp == ohp and (not hip) != (not ohip):
                    out.append(f"{pp}: dangerously ambiguous port definition with {other_path}")
            seen.setdefault(k, []).append((pp, p))
    return out


def _affinity_selectors(spec: Obj, sp: str) -> list[str]:
    out = []
    aff = _dict(spec.get("affinity"))
    for kind in ("podAffinity", "podAntiAffinity"):
        pa = aff.get(kind)
        if not isinstance(pa, dict):
            continue
        rp = child(sp, "affinity", kind, "requiredDuringSchedulingIgnoredDuringExecution")
        for i, t in enumerate(_list(pa.get("requiredDuringSchedulingIgnoredDuringExecution"))):
            if t.get("labelSelector") is None:
                out.append(f"{child(index(rp, i), 'labelSelector')}: {NULL_SELECTOR}")
        wp = child(sp, "affinity", kind, "preferredDuringSchedulingIgnoredDuringExecution")
        for i, t in enumerate(_list(pa.get("preferredDuringSchedulingIgnoredDuringExecution"))):
            if _dict(t.get("podAffinityTerm")).get("labelSelector") is None:
                out.append(f"{child(index(wp, i), 'podAffinityTerm', 'labelSelector')}: {NULL_SELECTOR}")
    return out


def pod_spec_warnings(spec: Any, meta: Any, prefix: str, *, template: bool) -> list[str]:
    """warningsForPodSpecAndMeta: `prefix` is "" for a Pod, the template's path otherwise."""
    spec, meta = _dict(spec), _dict(meta)
    annotations = _dict(meta.get("annotations"))
    sp, ap = child(prefix, "spec"), child(prefix, "metadata", "annotations")
    out = _scheduling(spec, sp)
    out += [f"{key(ap, k)}: {msg}" for k, msg in DEPRECATED_ANNOTATIONS.items() if k in annotations]
    out += _volumes(spec, sp)
    out += _duplicates(spec, sp)
    out += _fractional_bytes(_dict(spec.get("overhead")), child(sp, "overhead"))
    pod_sc = _dict(spec.get("securityContext"))
    if pod_sc.get("seccompProfile") is None and SECCOMP_POD_KEY in annotations:
        out.append(f"{key(ap, SECCOMP_POD_KEY)}: {SECCOMP_DEPRECATED}")
    containers = containers_with_paths(spec, sp)
    for c, cpath in containers:
        sc, name = _dict(c.get("securityContext")), str(c.get("name") or "")
        if sc.get("seccompProfile") is None and SECCOMP_CONTAINER_PREFIX + name in annotations:
            out.append(f"{key(ap, SECCOMP_CONTAINER_PREFIX + name)}: {SECCOMP_DEPRECATED}")
        has_apparmor = pod_sc.get("appArmorProfile") is not None or sc.get("appArmorProfile") is not None
        if template and not has_apparmor and APPARMOR_PREFIX + name in annotations:
            out.append(f"{key(ap, APPARMOR_PREFIX + name)}: {APPARMOR_DEPRECATED}")
        res = _dict(c.get("resources"))
        for part in ("limits", "requests"):
            out += _fractional_bytes(_dict(res.get(part)), child(cpath, "resources", part))
        out += _env(c, cpath)
    out += _ports(containers)
    tgps = spec.get("terminationGracePeriodSeconds")
    if isinstance(tgps, int) and tgps < 0:
        out.append(
            f"{child(sp, 'terminationGracePeriodSeconds')}: must be >= 0; negative values are invalid "
            "and will be treated as 1"
        )
    return out + _affinity_selectors(spec, sp)


def pod_warnings_on_create(pod: Obj) -> list[str]:
    """A new Pod: a name that is no DNS label (it becomes the hostname), then the spec's."""
    meta = _dict(pod.get("metadata"))
    out = []
    msgs = is_dns1123_label(str(meta.get("name") or ""))
    if msgs:
        out.append(
            "metadata.name: this is used in the Pod's hostname, which can result in surprising behavior; "
            f"a DNS label is recommended: [{' '.join(msgs)}]"
        )
    return out + pod_spec_warnings(pod.get("spec"), meta, "", template=False)


def template_warnings(template: Any, path: str) -> list[str]:
    """GetWarningsForPodTemplate for the template at `path` (e.g. "spec.template")."""
    if not isinstance(template, dict):
        return []
    return pod_spec_warnings(template.get("spec"), template.get("metadata"), path, template=True)


# Where each kind keeps its pod template (upstream calls GetWarningsForPodTemplate with these).
TEMPLATE_PATHS: dict[tuple[str, str], tuple[str, ...]] = {
    ("apps", "Deployment"): ("spec", "template"),
    ("apps", "ReplicaSet"): ("spec", "template"),
    ("apps", "StatefulSet"): ("spec", "template"),
    ("apps", "DaemonSet"): ("spec", "template"),
    ("batch", "Job"): ("spec", "template"),
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template"),
    ("", "ReplicationController"): ("spec", "template"),
    ("", "PodTemplate"): ("template",),
}


def workload_template_warnings(group: str, kind: str, obj: Obj) -> list[str]:
    """The template warnings of a workload object (nothing for kinds without a template)."""
    fields = TEMPLATE_PATHS.get((group, kind))
    if fields is None:
        return []
    node: Any = obj
    for f in fields:
        node = node.get(f) if isinstance(node, dict) else None
    return template_warnings(node, ".".join(fields))
