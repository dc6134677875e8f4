"""Validation of a pod's volume sources and of the file paths they project, as upstream.

podspec.py checks what every volume has (a name, exactly one source); this module checks the
inside of the common sources (secret, configMap, downwardAPI, projected, persistentVolumeClaim,
hostPath, nfs, emptyDir) with upstream's field paths and texts, and offers the path rules
(relative, no '..') that volume mounts share.
"""

from __future__ import annotations

import posixpath
from typing import Any

from kybernetes.machinery.errors import Cause
from kybernetes.machinery.quantity import parse_quantity
from kybernetes.machinery.validation import (
    child,
    forbidden,
    index,
    invalid,
    is_dns1123_subdomain,
    is_qualified_name,
    not_supported,
    required,
)

Obj = dict[str, Any]

FILE_MODE_ERROR = "must be a number between 0 and 0777 (octal), both inclusive"
HOST_PATH_TYPES = (
    "",
    "BlockDevice",
    "CharDevice",
    "Directory",
    "DirectoryOrCreate",
    "File",
    "FileOrCreate",
    "Socket",
)
# Downward API paths a volume file may expose (the env list is in podspec_container).
VOLUME_FIELD_PATHS = (
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
)
RESOURCE_FIELD_PATHS = (
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
)
_RESOURCE_FIELD_PREFIXES = ("limits.hugepages-", "requests.hugepages-")
# Every field label the v1 downward API converts (anything else fails conversion).
_CONVERTIBLE_FIELD_LABELS = frozenset(
    {
        "metadata.annotations",
        "metadata.labels",
        "metadata.name",
        "metadata.namespace",
        "metadata.uid",
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.serviceAccountName",
        "spec.schedulerName",
        "status.phase",
        "status.hostIP",
        "status.hostIPs",
        "status.podIP",
        "status.podIPs",
        "spec.host",
    }
)


# --- paths ----------------------------------------------------------------------------------


def no_backsteps(target: str, path: str) -> list[Cause]:
    if ".." in target.split("/"):
        return [invalid(path, target, "must not contain '..'")]
    return []


def local_descending_path(target: str, path: str) -> list[Cause]:
    """A path below the volume root: relative and without '..' elements."""
    causes = []
    if target.startswith("/"):
        causes.append(invalid(path, target, "must be a relative path"))
    return causes + no_backsteps(target, path)


def local_non_reserved_path(target: str, path: str) -> list[Cause]:
    causes = local_descending_path(target, path)
    if not causes and posixpath.normpath(target).startswith(".."):
        causes.append(invalid(path, target, "must not start with '..'"))
    return causes


def _mode(value: Any, path: str) -> list[Cause]:
    if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= 0o777:
        return [invalid(path, value, FILE_MODE_ERROR)]
    return []


def _key_to_paths(items: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for i, kp in enumerate(items or []):
        if not isinstance(kp, dict):
            continue
        ip = index(path, i)
        if not kp.get("key"):
            causes.append(required(child(ip, "key")))
        p = kp.get("path") or ""
        if not p:
            causes.append(required(child(ip, "path")))
        causes.extend(local_non_reserved_path(p, child(ip, "path")))
        causes.extend(_mode(kp.get("mode"), child(ip, "mode")))
    return causes


# --- downward API selectors (shared with env valueFrom) -------------------------------------


def object_field_selector(ref: Obj, allowed: tuple[str, ...], path: str) -> list[Cause]:
    """validateObjectFieldSelector: apiVersion and fieldPath, subscripts only on labels/annotations."""
    version = ref.get("apiVersion") or ""
    if not version:
        return [required(child(path, "apiVersion"))]
    fp = ref.get("fieldPath") or ""
    if not fp:
        return [required(child(path, "fieldPath"))]
    subscripted = fp.endswith("']") and "['" in fp
    base = fp[: fp.index("['")] if subscripted else fp
    if version != "v1":
        return [
            invalid(
                child(path, "fieldPath"),
                fp,
                f"error converting fieldPath: unsupported pod version: {version}",
            )
        ]
    if subscripted and base not in ("metadata.annotations", "metadata.labels"):
        return [
            invalid(
                child(path, "fieldPath"),
                fp,
                f"error converting fieldPath: field label does not support subscript: {fp}",
            )
        ]
    if not subscripted and fp not in _CONVERTIBLE_FIELD_LABELS:
        return [
            invalid(
                child(path, "fieldPath"), fp, f"error converting fieldPath: field label not supported: {fp}"
            )
        ]
    if subscripted:
        sub = fp[fp.index("['") + 2 : -2]
        name = sub.lower() if base == "metadata.annotations" else sub
        return [invalid(path, name, m) for m in is_qualified_name(name)]
    if fp == "spec.host":
        fp = "spec.nodeName"
    if fp not in allowed:
        return [not_supported(child(path, "fieldPath"), fp, allowed)]
    return []


def resource_field_selector(ref: Obj, path: str, *, in_volume: bool) -> list[Cause]:
    causes: list[Cause] = []
    if in_volume and not ref.get("containerName"):
        causes.append(required(child(path, "containerName")))
    res = ref.get("resource") or ""
    if not res:
        causes.append(required(child(path, "resource")))
    elif res not in RESOURCE_FIELD_PATHS and not res.startswith(_RESOURCE_FIELD_PREFIXES):
        causes.append(not_supported(child(path, "resource"), res, RESOURCE_FIELD_PATHS))
    divisor = ref.get("divisor")
    if isinstance(divisor, str) and divisor not in ("", "0"):
        try:
            ok = parse_quantity(divisor).value > 0
        except ValueError:
            ok = True  # the decoder reports unparsable quantities
        if not ok:
            causes.append(invalid(child(path, "divisor"), divisor, "must be greater than zero"))
    return causes


# --- volume sources -------------------------------------------------------------------------


def _downward_items(items: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for i, f in enumerate(items or []):
        if not isinstance(f, dict):
            continue
        ip = index(path, i)
        p = f.get("path") or ""
        if not p:
            causes.append(required(child(ip, "path")))
        causes.extend(local_non_reserved_path(p, child(ip, "path")))
        if isinstance(f.get("fieldRef"), dict):
            causes.extend(object_field_selector(f["fieldRef"], VOLUME_FIELD_PATHS, child(ip, "fieldRef")))
            if f.get("resourceFieldRef") is not None:
                causes.append(
                    invalid(
                        ip, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"
                    )
                )
        elif isinstance(f.get("resourceFieldRef"), dict):
            causes.extend(
                resource_field_selector(f["resourceFieldRef"], child(ip, "resourceFieldRef"), in_volume=True)
            )
        else:
            causes.append(required(ip, "one of fieldRef and resourceFieldRef is required"))
        causes.extend(_mode(f.get("mode"), child(ip, "mode")))
    return causes


def _projected(src: Obj, path: str) -> list[Cause]:
    causes = _mode(src.get("defaultMode"), child(path, "defaultMode"))
    for i, s in enumerate(src.get("sources") or []):
        if not isinstance(s, dict):
            continue
        sp = index(child(path, "sources"), i)
        kinds = [
            k
            for k in ("secret", "configMap", "downwardAPI", "serviceAccountToken", "clusterTrustBundle")
            if s.get(k) is not None
        ]
        if not kinds:
            causes.append(required(sp, "must specify exactly 1 volume type"))
        for extra in kinds[1:]:
            causes.append(forbidden(child(sp, extra), "may not specify more than 1 volume type per source"))
        for k in ("secret", "configMap"):
            ref = s.get(k)
            if isinstance(ref, dict):
                if not ref.get("name"):
                    causes.append(required(child(sp, k, "name")))
                causes.extend(_key_to_paths(ref.get("items"), child(sp, k, "items")))
        dapi = s.get("downwardAPI")
        if isinstance(dapi, dict):
            causes.extend(_downward_items(dapi.get("items"), child(sp, "downwardAPI", "items")))
        sat = s.get("serviceAccountToken")
        if isinstance(sat, dict):
            causes.extend(_service_account_token(sat, child(sp, "serviceAccountToken")))
    return causes


def _service_account_token(sat: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    exp = sat.get("expirationSeconds")
    if isinstance(exp, int) and not isinstance(exp, bool):
        if exp < 10 * 60:
            causes.append(
                invalid(
                    child(path, "expirationSeconds"), exp, "may not specify a duration less than 10 minutes"
                )
            )
        if exp > 2**32:
            causes.append(
                invalid(
                    child(path, "expirationSeconds"),
                    exp,
                    "may not specify a duration larger than 2^32 seconds",
                )
            )
    p = sat.get("path") or ""
    if not p:
        causes.append(required(child(path, "path")))
    return causes + local_non_reserved_path(p, child(path, "path"))


def validate_volume_source(v: Obj, path: str) -> list[Cause]:
    """The inside of one volume's source (which source is set is podspec's business)."""
    causes: list[Cause] = []
    secret = v.get("secret")
    if isinstance(secret, dict):
        sp = child(path, "secret")
        if not secret.get("secretName"):
            causes.append(required(child(sp, "secretName")))
        causes.extend(_mode(secret.get("defaultMode"), child(sp, "defaultMode")))
        causes.extend(_key_to_paths(secret.get("items"), child(sp, "items")))
    cm = v.get("configMap")
    if isinstance(cm, dict):
        cp = child(path, "configMap")
        if not cm.get("name"):
            causes.append(required(child(cp, "name")))
        causes.extend(_mode(cm.get("defaultMode"), child(cp, "defaultMode")))
        causes.extend(_key_to_paths(cm.get("items"), child(cp, "items")))
    dapi = v.get("downwardAPI")
    if isinstance(dapi, dict):
        dp = child(path, "downwardAPI")
        causes.extend(_mode(dapi.get("defaultMode"), child(dp, "defaultMode")))
        causes.extend(_downward_items(dapi.get("items"), child(dp, "items")))
    proj = v.get("projected")
    if isinstance(proj, dict):
        causes.extend(_projected(proj, child(path, "projected")))
    pvc = v.get("persistentVolumeClaim")
    if isinstance(pvc, dict):
        name = pvc.get("claimName") or ""
        if not name:
            causes.append(required(child(path, "persistentVolumeClaim", "claimName")))
        else:
            causes.extend(
                invalid(child(path, "persistentVolumeClaim", "claimName"), name, m)
                for m in is_dns1123_subdomain(name)
            )
    hp = v.get("hostPath")
    if isinstance(hp, dict):
        hpp = child(path, "hostPath")
        hpath = hp.get("path") or ""
        if not hpath:
            causes.append(required(child(hpp, "path")))
        else:
            causes.extend(no_backsteps(hpath, child(hpp, "path")))
        typ = hp.get("type")
        if isinstance(typ, str) and typ not in HOST_PATH_TYPES:
            causes.append(not_supported(child(hpp, "type"), typ, HOST_PATH_TYPES))
    nfs = v.get("nfs")
    if isinstance(nfs, dict):
        np_ = child(path, "nfs")
        if not nfs.get("server"):
            causes.append(required(child(np_, "server")))
        npath = nfs.get("path") or ""
        if not npath:
            causes.append(required(child(np_, "path")))
        elif not npath.startswith("/"):
            causes.append(invalid(child(np_, "path"), npath, "must be an absolute path"))
    ed = v.get("emptyDir")
    if isinstance(ed, dict):
        size = ed.get("sizeLimit")
        if isinstance(size, str):
            try:
                negative = parse_quantity(size).value < 0
            except ValueError:
                negative = False
            if negative:
                causes.append(
                    forbidden(
                        child(path, "emptyDir", "sizeLimit"),
                        "SizeLimit field must be a valid resource quantity",
                    )
                )
    return causes
