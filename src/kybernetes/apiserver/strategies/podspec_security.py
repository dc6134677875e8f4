"""Pod security profiles and operating-system rules, as upstream 1.32: AppArmor and seccomp
fields and their legacy annotations, spec.os with the Windows/Linux field restrictions, and the
fields whose feature gates are off by default in 1.32 (dropped, as upstream's
DropDisabledPodFields does, rather than rejected).

The legacy annotations still matter: a pod created with only the AppArmor annotation gets the
equivalent field (upstream's version-skew handling, with a deprecation warning), and on create
an annotation and a field that both exist must agree.
"""

from __future__ import annotations

from typing import Any

from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import child, forbidden, invalid, key, not_supported, required, too_long

Obj = dict[str, Any]

APPARMOR_TYPES = ("Localhost", "RuntimeDefault", "Unconfined")
APPARMOR_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
SECCOMP_POD_KEY = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"
OS_NAMES = ("linux", "windows")
APPARMOR_DEPRECATED = 'deprecated since v1.30; use the "appArmorProfile" field instead'
_MAX_LOCALHOST_PROFILE = 4095
_CONTAINER_KINDS = ("initContainers", "containers", "ephemeralContainers")
# Alpha in 1.32 (or beta but off): upstream drops them on write unless the old object used them.
_GATED_SPEC_FIELDS = ("resources", "hostUsers")
_GATED_POD_SC_FIELDS = ("supplementalGroupsPolicy", "seLinuxChangePolicy")


def _dict(v: Any) -> Obj:
    return v if isinstance(v, dict) else {}


def containers_with_paths(spec: Obj, path: str) -> list[tuple[Obj, str]]:
    """Every container of the spec with its field path (init, regular, ephemeral)."""
    out = []
    for kind in _CONTAINER_KINDS:
        for i, c in enumerate(spec.get(kind) or []):
            if isinstance(c, dict):
                out.append((c, f"{child(path, kind)}[{i}]"))
    return out


def drop_disabled_fields(spec: Obj) -> None:
    """Fields behind feature gates that are off by default in 1.32 are silently removed."""
    for f in _GATED_SPEC_FIELDS:
        spec.pop(f, None)
    sc = spec.get("securityContext")
    if isinstance(sc, dict):
        for f in _GATED_POD_SC_FIELDS:
            sc.pop(f, None)
    for kind in ("initContainers", "containers"):
        for c in spec.get(kind) or []:
            if isinstance(c, dict):
                c.pop("resizePolicy", None)


# --- AppArmor -------------------------------------------------------------------------------


def apparmor_profile(profile: Any, path: str) -> list[Cause]:
    """ValidateAppArmorProfileField."""
    if not isinstance(profile, dict):
        return []
    typ = profile.get("type") or ""
    local = profile.get("localhostProfile")
    lp = child(path, "localhostProfile")
    if typ == "Localhost":
        if local is None:
            return [required(lp, "must be set when AppArmor type is Localhost")]
        causes: list[Cause] = []
        if not isinstance(local, str):
            return causes
        if local.strip() != local:
            causes.append(invalid(lp, local, "must not be padded with whitespace"))
        elif not local:
            causes.append(required(lp, "must be set when AppArmor type is Localhost"))
        if len(local) > _MAX_LOCALHOST_PROFILE:
            causes.append(too_long(lp, _MAX_LOCALHOST_PROFILE))
        return causes
    if typ in ("RuntimeDefault", "Unconfined"):
        if local is not None:
            return [invalid(lp, local, "can only be set when AppArmor type is Localhost")]
        return []
    if not typ:
        return [required(child(path, "type"), "type is required when appArmorProfile is set")]
    return [not_supported(child(path, "type"), typ, APPARMOR_TYPES)]


def apparmor_field_for_annotation(value: str) -> Obj | None:
    """The appArmorProfile an old-style annotation value stands for (None: none it can)."""
    if value == "runtime/default":
        return {"type": "RuntimeDefault"}
    if value == "unconfined":
        return {"type": "Unconfined"}
    if value.startswith("localhost/"):
        return {"type": "Localhost", "localhostProfile": value.removeprefix("localhost/")}
    return None


def apply_apparmor_version_skew(pod: Obj) -> list[str]:
    """On pod create, a container with the AppArmor annotation but no field gets the field
    (unless the pod-level profile already says the same). Returns the deprecation warnings."""
    meta = pod.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    spec = pod.get("spec") or {}
    if (
        not isinstance(annotations, dict)
        or not isinstance(spec, dict)
        or (spec.get("os") or {}).get("name") == "windows"
    ):
        return []
    pod_sc = spec.get("securityContext")
    pod_profile = pod_sc.get("appArmorProfile") if isinstance(pod_sc, dict) else None
    warnings = []
    for c, _ in containers_with_paths(spec, "spec"):
        k = APPARMOR_PREFIX + str(c.get("name") or "")
        value = annotations.get(k)
        sc = c.get("securityContext")
        if not isinstance(value, str) or (isinstance(sc, dict) and sc.get("appArmorProfile") is not None):
            continue
        profile = apparmor_field_for_annotation(value)
        if profile is not None and apparmor_profile(profile, ""):
            profile = None  # an invalid profile is not copied
        warn = profile is None
        if profile is not None and profile != pod_profile:
            if not isinstance(sc, dict):
                sc = c["securityContext"] = {}
            sc["appArmorProfile"] = profile
            warn = True
        if warn:
            warnings.append(f"{key('metadata.annotations', k)}: {APPARMOR_DEPRECATED}")
    return warnings


def _apparmor_annotations(annotations: Obj, spec: Obj, path: str) -> list[Cause]:
    """ValidateAppArmorPodAnnotations: a known container, and a well-formed profile name."""
    names = {str(c.get("name") or "") for c, _ in containers_with_paths(spec, "spec")}
    causes = []
    for k, v in sorted(annotations.items()):
        if not k.startswith(APPARMOR_PREFIX):
            continue
        cname = k.removeprefix(APPARMOR_PREFIX)
        if cname not in names:
            causes.append(invalid(key(path, k), cname, "container not found"))
        if (
            isinstance(v, str)
            and v not in ("", "runtime/default", "unconfined")
            and not v.startswith("localhost/")
        ):
            causes.append(invalid(key(path, k), v, f'invalid AppArmor profile name: "{v}"'))
    return causes


def _seccomp_annotation_value(value: Any, path: str) -> list[Cause]:
    """ValidateSeccompProfile for an annotation value."""
    if value in ("runtime/default", "docker/default", "unconfined"):
        return []
    if isinstance(value, str) and value.startswith("localhost/"):
        rest = value.removeprefix("localhost/")
        causes = []
        if rest.startswith("/"):
            causes.append(invalid(path, rest, "must be a relative path"))
        if ".." in rest.split("/"):
            causes.append(invalid(path, rest, "must not contain '..'"))
        return causes
    return [invalid(path, value, "must be a valid seccomp profile")]


def validate_security_annotations(meta: Obj, spec: Obj, path: str) -> list[Cause]:
    """The seccomp and AppArmor parts of ValidatePodSpecificAnnotations (pods and templates)."""
    annotations = meta.get("annotations")
    if not isinstance(annotations, dict):
        return []
    causes = []
    for k, v in sorted(annotations.items()):
        if k == SECCOMP_POD_KEY or k.startswith(SECCOMP_CONTAINER_PREFIX):
            causes.extend(_seccomp_annotation_value(v, child(path, k)))
    return causes + _apparmor_annotations(annotations, spec, path)


def _annotation_matches(kind: str, annotation: str, field: Obj, path: str) -> list[Cause]:
    typ = field.get("type")
    mismatch = [forbidden(child(path, "type"), f"{kind} type in annotation and field must match")]
    if typ == "Unconfined":
        return mismatch if annotation != "unconfined" else []
    if typ == "RuntimeDefault":
        ok = ("runtime/default", "docker/default") if kind == "seccomp" else ("runtime/default",)
        return mismatch if annotation not in ok else []
    if typ == "Localhost":
        if not annotation.startswith("localhost/"):
            return mismatch
        if field.get("localhostProfile") != annotation.removeprefix("localhost/"):
            return [
                forbidden(
                    child(path, "localhostProfile"), f"{kind} profile in annotation and field must match"
                )
            ]
    return []


def validate_annotations_match_fields(pod: Obj) -> list[Cause]:
    """On create, seccomp and AppArmor annotations that exist next to fields must agree."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(annotations, dict) or not isinstance(spec, dict):
        return []
    causes: list[Cause] = []
    pod_sc = _dict(spec.get("securityContext"))
    pod_seccomp = pod_sc.get("seccompProfile")
    if isinstance(pod_seccomp, dict) and isinstance(annotations.get(SECCOMP_POD_KEY), str):
        causes += _annotation_matches(
            "seccomp", annotations[SECCOMP_POD_KEY], pod_seccomp, "spec.securityContext.seccompProfile"
        )
    for c, cpath in containers_with_paths(spec, "spec"):
        sc = _dict(c.get("securityContext"))
        value = annotations.get(SECCOMP_CONTAINER_PREFIX + str(c.get("name") or ""))
        if isinstance(sc.get("seccompProfile"), dict) and isinstance(value, str):
            causes += _annotation_matches(
                "seccomp", value, sc["seccompProfile"], child(cpath, "securityContext", "seccompProfile")
            )
    if (spec.get("os") or {}).get("name") == "windows":
        return causes
    for c, cpath in containers_with_paths(spec, "spec"):
        sc = _dict(c.get("securityContext"))
        profile = sc.get("appArmorProfile") or pod_sc.get("appArmorProfile")
        value = annotations.get(APPARMOR_PREFIX + str(c.get("name") or ""))
        if isinstance(profile, dict) and isinstance(value, str):
            causes += _annotation_matches(
                "apparmor", value, profile, child(cpath, "securityContext", "appArmorProfile")
            )
    return causes


# --- operating system -----------------------------------------------------------------------

# Upstream's order; a None field name reads from the pod spec rather than its securityContext.
_WINDOWS_POD_FIELDS = (
    ("securityContext", "appArmorProfile"),
    ("securityContext", "seLinuxOptions"),
    (None, "hostUsers"),
    (None, "hostPID"),
    (None, "hostIPC"),
    ("securityContext", "seccompProfile"),
    ("securityContext", "fsGroup"),
    ("securityContext", "fsGroupChangePolicy"),
    ("securityContext", "sysctls"),
    (None, "shareProcessNamespace"),
    ("securityContext", "runAsUser"),
    ("securityContext", "runAsGroup"),
    ("securityContext", "supplementalGroups"),
    ("securityContext", "supplementalGroupsPolicy"),
    ("securityContext", "seLinuxChangePolicy"),
)
_WINDOWS_CONTAINER_FIELDS = (
    "appArmorProfile",
    "seLinuxOptions",
    "seccompProfile",
    "capabilities",
    "readOnlyRootFilesystem",
    "privileged",
    "allowPrivilegeEscalation",
    "procMount",
    "runAsUser",
    "runAsGroup",
)
# booleans that count only when true, lists only when non-empty (as upstream's Go zero values)
_SET_WHEN_TRUTHY = ("hostPID", "hostIPC", "sysctls")
_NOT_FOR_WINDOWS = "cannot be set for a windows pod"


def _windows(spec: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    sc = _dict(spec.get("securityContext"))
    for where, f in _WINDOWS_POD_FIELDS:
        holder = sc if where else spec
        value = holder.get(f)
        if value if f in _SET_WHEN_TRUTHY else value is not None:
            causes.append(forbidden(child(path, *((where, f) if where else (f,))), _NOT_FOR_WINDOWS))
    for c, cpath in containers_with_paths(spec, path):
        csc = c.get("securityContext")
        if isinstance(csc, dict):
            for f in _WINDOWS_CONTAINER_FIELDS:
                if csc.get(f) is not None:
                    causes.append(forbidden(child(cpath, "securityContext", f), _NOT_FOR_WINDOWS))
    return causes


def _linux(spec: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    message = "windows options cannot be set for a linux pod"
    sc = spec.get("securityContext")
    if isinstance(sc, dict) and sc.get("windowsOptions") is not None:
        causes.append(forbidden(child(path, "securityContext", "windowsOptions"), message))
    for c, cpath in containers_with_paths(spec, path):
        csc = c.get("securityContext")
        if isinstance(csc, dict) and csc.get("windowsOptions") is not None:
            causes.append(forbidden(child(cpath, "securityContext", "windowsOptions"), message))
    return causes


def validate_os(spec: Obj, path: str) -> list[Cause]:
    """spec.os: a known name, then the fields the other OS's pods may not set."""
    pod_os = spec.get("os")
    if not isinstance(pod_os, dict):
        return []
    name = pod_os.get("name") or ""
    if not name:
        return [required(child(path, "os", "name"), "cannot be empty")]
    if name not in OS_NAMES:
        return [not_supported(child(path, "os"), name, OS_NAMES)]
    return _linux(spec, path) if name == "linux" else _windows(spec, path)
