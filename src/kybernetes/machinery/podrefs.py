"""The objects a pod refers to by name: Secrets, ConfigMaps, PersistentVolumeClaims.

Two readers need the same answer: the API server's Node authorizer (a kubelet may read an object
only when a pod bound to it refers to it) and the kubelet (it watches exactly those objects).
References come from volumes (secret, configMap, projected sources, persistentVolumeClaim,
generic ephemeral volumes whose claim is ``<pod>-<volume>``), container and init/ephemeral
container env (``valueFrom``) and ``envFrom``, and ``imagePullSecrets``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Obj = dict[str, Any]


def _dicts(value: Any) -> Iterator[Obj]:
    if isinstance(value, list):
        yield from (v for v in value if isinstance(v, dict))


def _containers(spec: Obj) -> Iterator[Obj]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from _dicts(spec.get(key))


def _name(ref: Any) -> str:
    return str(ref.get("name") or "") if isinstance(ref, dict) else ""


def referenced_secrets(pod: Obj) -> set[str]:
    spec = pod.get("spec") or {}
    names = {_name(r) for r in _dicts(spec.get("imagePullSecrets"))}
    for v in _dicts(spec.get("volumes")):
        names.add(str((v.get("secret") or {}).get("secretName") or ""))
        for source in _dicts((v.get("projected") or {}).get("sources")):
            names.add(_name(source.get("secret")))
        for kind in ("cephfs", "cinder", "flexVolume", "rbd", "scaleIO", "storageos", "iscsi", "csi"):
            src = v.get(kind) or {}
            names.add(_name(src.get("secretRef") or src.get("nodePublishSecretRef")))
        names.add(str((v.get("azureFile") or {}).get("secretName") or ""))
    for c in _containers(spec):
        for env in _dicts(c.get("env")):
            names.add(_name((env.get("valueFrom") or {}).get("secretKeyRef")))
        for env_from in _dicts(c.get("envFrom")):
            names.add(_name(env_from.get("secretRef")))
    names.discard("")
    return names


def referenced_configmaps(pod: Obj) -> set[str]:
    spec = pod.get("spec") or {}
    names: set[str] = set()
    for v in _dicts(spec.get("volumes")):
        names.add(_name(v.get("configMap")))
        for source in _dicts((v.get("projected") or {}).get("sources")):
            names.add(_name(source.get("configMap")))
    for c in _containers(spec):
        for env in _dicts(c.get("env")):
            names.add(_name((env.get("valueFrom") or {}).get("configMapKeyRef")))
        for env_from in _dicts(c.get("envFrom")):
            names.add(_name(env_from.get("configMapRef")))
    names.discard("")
    return names


def referenced_claims(pod: Obj) -> set[str]:
    spec = pod.get("spec") or {}
    pod_name = str((pod.get("metadata") or {}).get("name") or "")
    names: set[str] = set()
    for v in _dicts(spec.get("volumes")):
        names.add(str((v.get("persistentVolumeClaim") or {}).get("claimName") or ""))
        if isinstance(v.get("ephemeral"), dict) and pod_name:
            names.add(f"{pod_name}-{v.get('name', '')}")
    names.discard("")
    return names


def service_account(pod: Obj) -> str:
    spec = pod.get("spec") or {}
    return str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "")
