"""Ephemeral containers: what `kubectl debug` adds to a running pod, and the rules for adding them.

Ephemeral containers reach a pod only through its ``ephemeralcontainers`` subresource (a create
with them is refused, a write to the pod itself may not change them). Upstream's rules, kept here:

1. A write to the subresource changes nothing but ``spec.ephemeralContainers``: everything else
   (spec, status, labels, annotations...) is taken from the stored pod
   (``prepare_ephemeral_containers_update``).
2. Existing ephemeral containers may be neither removed nor changed; new ones may be added
   (patches do not keep the order, so containers are matched by name).
3. Each one is validated like a container, plus: its name is unique among all the pod's
   containers, ``targetContainerName`` names a regular or init container, and the fields that
   would make it part of the workload (ports, probes, lifecycle, resources, resize and restart
   policies) are forbidden, as are ``subPath``/``subPathExpr`` mounts.
4. Static (mirror) pods take none.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from kybernetes.apiserver.strategies.podspec import (
    PULL_POLICIES,
    TERMINATION_MESSAGE_POLICIES,
)
from kybernetes.apiserver.strategies.podspec_container import (
    validate_env,
    validate_env_from,
    validate_security_context,
)
from kybernetes.apiserver.strategies.podspec_mounts import validate_volume_devices
from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import (
    child,
    duplicate,
    forbidden,
    index,
    invalid,
    is_dns1123_label,
    not_found,
    not_supported,
    required,
)

Obj = dict[str, Any]

MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"
NOT_FOR_EPHEMERAL = "cannot be set for an Ephemeral Container"
# The container fields an ephemeral container may not set, in the order of the Go struct (the
# order upstream reports them in).
DISALLOWED_FIELDS = (
    "ports",
    "resources",
    "resizePolicy",
    "restartPolicy",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle",
)
SPEC_PATH = "spec.ephemeralContainers"


def _is_set(value: Any) -> bool:
    """Whether a field differs from its Go zero value (an empty object or list counts as unset)."""
    return value not in (None, {}, [], "", False, 0)


def _names(spec: Obj, key: str) -> list[str]:
    return [str(c.get("name") or "") for c in spec.get(key) or [] if isinstance(c, dict)]


def _validate_common(c: Obj, path: str, volumes: set[str], by_name: dict[str, Obj]) -> list[Cause]:
    """The checks every kind of container gets (upstream's validateContainerCommon), less those
    on the fields an ephemeral container may not have anyway."""
    causes: list[Cause] = []
    name = c.get("name") or ""
    if not name:
        causes.append(required(child(path, "name")))
    else:
        causes.extend(invalid(child(path, "name"), name, m) for m in is_dns1123_label(str(name)))
    image = c.get("image")
    if not image:
        causes.append(required(child(path, "image")))
    elif isinstance(image, str) and image != image.strip():
        causes.append(invalid(child(path, "image"), image, "must not have leading or trailing whitespace"))
    tmp = c.get("terminationMessagePolicy") or ""
    if not tmp:
        causes.append(required(child(path, "terminationMessagePolicy")))
    elif tmp not in TERMINATION_MESSAGE_POLICIES:
        causes.append(
            not_supported(child(path, "terminationMessagePolicy"), tmp, TERMINATION_MESSAGE_POLICIES)
        )
    causes.extend(validate_env(c.get("env") or [], child(path, "env")))
    causes.extend(validate_env_from(c.get("envFrom") or [], child(path, "envFrom")))
    mount_paths: set[str] = set()
    for i, m in enumerate(c.get("volumeMounts") or []):
        if not isinstance(m, dict):
            continue
        mp = index(child(path, "volumeMounts"), i)
        vname = m.get("name") or ""
        if not vname:
            causes.append(required(child(mp, "name")))
        elif vname not in volumes:
            causes.append(not_found(child(mp, "name"), vname))
        mount_path = m.get("mountPath") or ""
        if not mount_path:
            causes.append(required(child(mp, "mountPath")))
        elif mount_path in mount_paths:
            causes.append(invalid(child(mp, "mountPath"), mount_path, "must be unique"))
        mount_paths.add(str(mount_path))
    causes.extend(validate_volume_devices(c, path, by_name))
    policy = c.get("imagePullPolicy") or ""
    if not policy:
        causes.append(required(child(path, "imagePullPolicy")))
    elif policy not in PULL_POLICIES:
        causes.append(not_supported(child(path, "imagePullPolicy"), policy, PULL_POLICIES))
    sc = c.get("securityContext")
    if isinstance(sc, dict):
        causes.extend(validate_security_context(sc, child(path, "securityContext")))
    return causes


def validate_ephemeral_containers(spec: Obj, path: str = SPEC_PATH) -> list[Cause]:
    """Rule 3 over ``spec.ephemeralContainers`` (none: nothing to say)."""
    ephemeral = spec.get("ephemeralContainers") or []
    if not isinstance(ephemeral, list) or not ephemeral:
        return []
    others = set(_names(spec, "containers")) | set(_names(spec, "initContainers"))
    every = set(others)
    by_name = {
        str(v.get("name")): v for v in spec.get("volumes") or [] if isinstance(v, dict) and v.get("name")
    }
    volumes = set(by_name)
    causes: list[Cause] = []
    for i, ec in enumerate(ephemeral):
        if not isinstance(ec, dict):
            continue
        ip = index(path, i)
        causes.extend(_validate_common(ec, ip, volumes, by_name))
        name = str(ec.get("name") or "")
        if name in every:
            causes.append(duplicate(child(ip, "name"), name))
        else:
            every.add(name)
        target = ec.get("targetContainerName") or ""
        if target and target not in others:
            causes.append(not_found(child(ip, "targetContainerName"), target))
        causes.extend(
            forbidden(child(ip, f), NOT_FOR_EPHEMERAL) for f in DISALLOWED_FIELDS if _is_set(ec.get(f))
        )
        for j, m in enumerate(ec.get("volumeMounts") or []):
            if not isinstance(m, dict):
                continue
            for sub in ("subPath", "subPathExpr"):
                if m.get(sub):
                    causes.append(
                        forbidden(child(index(child(ip, "volumeMounts"), j), sub), NOT_FOR_EPHEMERAL)
                    )
    return causes


def _struct_diff(old: Obj, new: Obj) -> str:
    """A short, cmp.Diff-like account of how one ephemeral container changed."""
    lines = ["  core.EphemeralContainer{"]
    for k in sorted(set(old) | set(new)):
        if old.get(k) == new.get(k):
            continue
        field = k[:1].upper() + k[1:]
        for sign, side in (("-", old), ("+", new)):
            if k in side:
                lines.append(
                    f"{sign}\t{field}: {json.dumps(side[k], sort_keys=True, separators=(',', ':'))},"
                )
    lines.append("  }")
    return "\n".join(lines)


def validate_ephemeral_containers_change(new_pod: Obj, old_pod: Obj) -> list[Cause]:
    """Rules 2 and 4: only additions, and none to a static pod."""
    annotations = (old_pod.get("metadata") or {}).get("annotations") or {}
    if MIRROR_POD_ANNOTATION in annotations:
        return [forbidden("[]", "static pods do not support ephemeral containers")]
    new_list = (new_pod.get("spec") or {}).get("ephemeralContainers") or []
    old_list = (old_pod.get("spec") or {}).get("ephemeralContainers") or []
    new_by_name = {str(c.get("name")): c for c in new_list if isinstance(c, dict)}
    causes: list[Cause] = []
    for old in old_list:
        if not isinstance(old, dict):
            continue
        name = str(old.get("name"))
        current = new_by_name.get(name)
        if current is None:
            causes.append(
                forbidden(SPEC_PATH, f'existing ephemeral containers "{name}" may not be removed\n')
            )
        elif current != old:
            causes.append(
                forbidden(
                    SPEC_PATH,
                    f'existing ephemeral containers "{name}" may not be changed\n'
                    + _struct_diff(old, current),
                )
            )
    return causes


def prepare_ephemeral_containers_update(new: Obj, old: Obj) -> None:
    """Rule 1: keep the stored pod and take only the new ``spec.ephemeralContainers``."""
    wanted = (new.get("spec") or {}).get("ephemeralContainers") if isinstance(new.get("spec"), dict) else None
    for k in list(new):
        if k != "metadata":
            del new[k]
    for k, v in old.items():
        if k != "metadata":
            new[k] = copy.deepcopy(v)
    new_meta = new.setdefault("metadata", {})
    old_meta = old.get("metadata") or {}
    for k in ("labels", "annotations", "finalizers", "ownerReferences"):
        if k in old_meta:
            new_meta[k] = copy.deepcopy(old_meta[k])
        else:
            new_meta.pop(k, None)
    spec = new.setdefault("spec", {})
    if wanted:
        spec["ephemeralContainers"] = copy.deepcopy(wanted)
    else:
        spec.pop("ephemeralContainers", None)
