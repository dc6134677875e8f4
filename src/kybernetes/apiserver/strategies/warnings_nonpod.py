"""Upstream 1.32's warnings for kinds other than Pod (their WarningsOnCreate/WarningsOnUpdate).

A warning never rejects anything: it tells the writer (kubectl prints ``Warning: ...``) that a
valid object uses something deprecated or ineffective. Pod-template warnings of workloads come
from the Strategy base (``pod_warnings``); this module adds what the kinds themselves say.
All functions are pure and tolerate malformed input (they run after validation, but a warning
must never turn a valid write into an error).
"""

from __future__ import annotations

from typing import Any

from kybernetes.machinery.quantity import parse_quantity
from kybernetes.machinery.validation import child, go_quote, index, is_dns1123_label, key

Obj = dict[str, Any]

STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"
_STORAGE_CLASS_ANNOTATION_MSG = 'deprecated since v1.8; use "storageClassName" attribute instead'
INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
# Node labels that have a GA replacement (upstream's DeprecatedNodeLabels).
DEPRECATED_NODE_LABELS = {
    "beta.kubernetes.io/arch": 'deprecated since v1.14; use "kubernetes.io/arch" instead',
    "beta.kubernetes.io/os": 'deprecated since v1.14; use "kubernetes.io/os" instead',
    "failure-domain.beta.kubernetes.io/region": 'deprecated since v1.17; use "topology.kubernetes.io/region" instead',
    "failure-domain.beta.kubernetes.io/zone": 'deprecated since v1.17; use "topology.kubernetes.io/zone" instead',
    "beta.kubernetes.io/instance-type": 'deprecated since v1.17; use "node.kubernetes.io/instance-type" instead',
}
# PersistentVolume sources whose plugins were removed: (field, message).
_DEPRECATED_PV_SOURCES = (
    ("cephfs", "deprecated in v1.28, non-functional in v1.31+"),
    ("photonPersistentDisk", "deprecated in v1.11, non-functional in v1.16+"),
    ("scaleIO", "deprecated in v1.16, non-functional in v1.22+"),
    ("storageOS", "deprecated in v1.22, non-functional in v1.25+"),
    ("glusterfs", "deprecated in v1.25, non-functional in v1.26+"),
    ("rbd", "deprecated in v1.28, non-functional in v1.31+"),
)
_INDEXED_JOB_WARNING = (
    "In Indexed Jobs with a number of completions higher than 10^5 and a parallelism higher "
    "than 10^4, Kubernetes might not be able to track completedIndexes when a big number of "
    "indexes fail"
)


def _dict(v: Any) -> Obj:
    return v if isinstance(v, dict) else {}


def _list(v: Any) -> list[Obj]:
    return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []


def _annotations(obj: Obj) -> Obj:
    return _dict(_dict(obj.get("metadata")).get("annotations"))


def pod_name_warning(obj: Obj) -> list[str]:
    """Workloads whose name becomes part of pod names and hostnames."""
    msgs = is_dns1123_label(str(_dict(obj.get("metadata")).get("name") or ""))
    if not msgs:
        return []
    return [
        "metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; "
        f"a DNS label is recommended: [{' '.join(msgs)}]"
    ]


def job_spec_warnings(job_spec: Any, path: str) -> list[str]:
    """What upstream says about a JobSpec itself (the template is warned about elsewhere)."""
    s = _dict(job_spec)
    if s.get("completionMode") != "Indexed":
        return []
    completions, parallelism = s.get("completions") or 0, s.get("parallelism") or 0
    if (
        isinstance(completions, int)
        and isinstance(parallelism, int)
        and completions > 100_000
        and parallelism > 10_000
    ):
        return [f"{path}: {_INDEXED_JOB_WARNING}"]
    return []


def cron_schedule_warning(cronjob: Obj) -> list[str]:
    """On update only, as upstream: a time zone inside the schedule (the path text is upstream's)."""
    schedule = _dict(cronjob.get("spec")).get("schedule")
    if isinstance(schedule, str) and "TZ" in schedule:
        return [
            "cannot use TZ or CRON_TZ in spec.spec.schedule, use timeZone instead, see "
            "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details"
        ]
    return []


def ingress_warnings(ingress: Obj) -> list[str]:
    """On create: the pre-IngressClass annotation, unless spec.ingressClassName is set too."""
    if (
        INGRESS_CLASS_ANNOTATION in _annotations(ingress)
        and _dict(ingress.get("spec")).get("ingressClassName") is None
    ):
        return [
            f"annotation {go_quote(INGRESS_CLASS_ANNOTATION)} is deprecated, please use "
            "'spec.ingressClassName' instead"
        ]
    return []


def node_warnings(node: Obj) -> list[str]:
    s = _dict(node.get("spec"))
    out = []
    if s.get("configSource") is not None:
        out.append("spec.configSource: the feature is removed")
    if s.get("externalID"):
        out.append("spec.externalID: this field is deprecated, and is unused by Kubernetes")
    return out


def _storage_class_annotation(obj: Obj) -> list[str]:
    if STORAGE_CLASS_ANNOTATION in _annotations(obj):
        return [f"metadata.annotations[{STORAGE_CLASS_ANNOTATION}]: {_STORAGE_CLASS_ANNOTATION_MSG}"]
    return []


def pv_warnings(pv: Obj) -> list[str]:
    s = _dict(pv.get("spec"))
    out = _storage_class_annotation(pv)
    if s.get("persistentVolumeReclaimPolicy") == "Recycle":
        out.append(
            "spec.persistentVolumeReclaimPolicy: The Recycle reclaim policy is deprecated. Instead, the "
            "recommended approach is to use dynamic provisioning."
        )
    terms_path = "spec.nodeAffinity.required.nodeSelectorTerms"
    terms = _dict(_dict(s.get("nodeAffinity")).get("required")).get("nodeSelectorTerms")
    for i, term in enumerate(_list(terms)):
        for j, expr in enumerate(_list(term.get("matchExpressions"))):
            msg = DEPRECATED_NODE_LABELS.get(str(expr.get("key")))
            if msg:
                where = child(index(child(index(terms_path, i), "matchExpressions"), j), "key")
                out.append(f"{where}: {expr.get('key')} is {msg}")
    for name, msg in _DEPRECATED_PV_SOURCES:
        if s.get(name) is not None:
            out.append(f"spec.{name}: {msg}")
    return out


def _fractional_storage(resources: Obj, path: str) -> list[str]:
    value = resources.get("storage")
    if value is None:
        return []
    try:
        q = parse_quantity(str(value))
    except ValueError:
        return []
    if q.value.denominator == 1:
        return []
    return [
        f"{key(path, 'storage')}: fractional byte value {go_quote(str(q))} is invalid, must be an integer"
    ]


def pvc_warnings(pvc: Obj) -> list[str]:
    resources = _dict(_dict(pvc.get("spec")).get("resources"))
    out = _storage_class_annotation(pvc)
    out.extend(_fractional_storage(_dict(resources.get("requests")), "spec.resources.requests"))
    out.extend(_fractional_storage(_dict(resources.get("limits")), "spec.resources.limits"))
    return out


def storage_class_warnings(sc: Obj) -> list[str]:
    out = []
    for i, topo in enumerate(_list(sc.get("allowedTopologies"))):
        for j, expr in enumerate(_list(topo.get("matchLabelExpressions"))):
            msg = DEPRECATED_NODE_LABELS.get(str(expr.get("key")))
            if msg:
                out.append(
                    f"{index(child(index('allowedTopologies', i), 'matchLabelExpressions'), j)}: {msg}"
                )
    return out
