"""Validation of the inside of one container, as upstream: probes, lifecycle handlers, env and
envFrom, resource requirements, volume mount paths and the container's securityContext.

Each check mirrors one of upstream's validators (validateProbe, validateHandler, ValidateEnv,
ValidateContainerResourceRequirements, ...) with its field paths and message texts, because
kubectl prints them verbatim. podspec.py calls ``validate_container_details`` for every
container after its own checks of names, images, ports and mount references.
"""

from __future__ import annotations

import re
from typing import Any, TypeGuard

from kybernetes.apiserver.strategies.podspec_security import apparmor_profile
from kybernetes.apiserver.strategies.podspec_volumes import (
    local_descending_path,
    object_field_selector,
    resource_field_selector,
)
from kybernetes.machinery.errors import Cause
from kybernetes.machinery.quantity import Quantity, parse_quantity
from kybernetes.machinery.validation import (
    IS_NEGATIVE,
    child,
    forbidden,
    inclusive_range_error,
    index,
    invalid,
    is_config_map_key,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_port_name,
    is_valid_port_num,
    key,
    not_supported,
    regex_error,
    required,
)

Obj = dict[str, Any]

HTTP_SCHEMES = ("HTTP", "HTTPS")
ENV_FIELD_PATHS = (
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
)
SECCOMP_TYPES = ("Localhost", "RuntimeDefault", "Unconfined")
PROC_MOUNT_TYPES = ("Default", "Unmasked")
# 1.32 text (the AllowPodLifecycleSleepActionZeroValue gate is alpha, off)
SLEEP_RANGE = (
    "must be greater than 0 and less than terminationGracePeriodSeconds ({grace}). "
    "Enable AllowPodLifecycleSleepActionZeroValue feature gate for zero sleep."
)
INIT_ONLY_WITH_ALWAYS = "may not be set for init containers without restartPolicy=Always"
_MAX_ID = 2**31 - 1
_HEADER_FMT = "[-A-Za-z0-9]+"
_header_re = re.compile(_HEADER_FMT)
_RELAXED_ENV_MSG = (
    "a valid environment variable name must consist only of printable ASCII characters other than '='"
)
_STANDARD_CONTAINER_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})
_STANDARD_RESOURCES = frozenset(
    {
        "cpu",
        "memory",
        "ephemeral-storage",
        "requests.cpu",
        "requests.memory",
        "requests.ephemeral-storage",
        "limits.cpu",
        "limits.memory",
        "limits.ephemeral-storage",
        "pods",
        "services",
        "replicationcontrollers",
        "resourcequotas",
        "secrets",
        "persistentvolumeclaims",
        "configmaps",
        "storage",
        "requests.storage",
        "services.nodeports",
        "services.loadbalancers",
    }
)


def _int(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


# --- handlers and probes --------------------------------------------------------------------


def port_num_or_name(port: Any, path: str) -> list[Cause]:
    """ValidatePortNumOrName for an int-or-string port."""
    if isinstance(port, str):
        return [invalid(path, port, m) for m in is_valid_port_name(port)]
    if _int(port):
        return [invalid(path, port, m) for m in is_valid_port_num(port)]
    return [invalid(path, port, m) for m in is_valid_port_num(0)]


def _http_get(h: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    if not h.get("path"):
        causes.append(required(child(path, "path")))
    causes.extend(port_num_or_name(h.get("port"), child(path, "port")))
    scheme = h.get("scheme") or ""
    if scheme not in HTTP_SCHEMES:
        causes.append(not_supported(child(path, "scheme"), scheme, HTTP_SCHEMES))
    for header in h.get("httpHeaders") or []:
        name = header.get("name", "") if isinstance(header, dict) else ""
        if not _header_re.fullmatch(name):
            causes.append(
                invalid(
                    child(path, "httpHeaders"),
                    name,
                    regex_error(
                        "a valid HTTP header must consist of alphanumeric characters or '-'",
                        _HEADER_FMT,
                        "X-Header-Name",
                    ),
                )
            )
    return causes


def validate_handler(h: Obj, path: str, kinds: tuple[str, ...], grace: Any) -> list[Cause]:
    """validateHandler: exactly one action of `kinds`, each checked."""
    causes: list[Cause] = []
    count = 0
    for kind in kinds:
        action = h.get(kind)
        if action is None:
            continue
        ap = child(path, kind)
        if count:
            causes.append(forbidden(ap, "may not specify more than 1 handler type"))
            continue
        count += 1
        if not isinstance(action, dict):
            continue
        if kind == "exec" and not action.get("command"):
            causes.append(required(child(ap, "command")))
        elif kind == "httpGet":
            causes.extend(_http_get(action, ap))
        elif kind == "tcpSocket":
            causes.extend(port_num_or_name(action.get("port"), child(ap, "port")))
        elif kind == "grpc":
            causes.extend(
                invalid(child(ap, "port"), action.get("port"), m)
                for m in is_valid_port_num(action.get("port"))
            )
        elif kind == "sleep" and _int(grace):
            secs = action.get("seconds")
            if _int(secs) and (secs <= 0 or secs > grace):
                causes.append(invalid(ap, secs, SLEEP_RANGE.format(grace=grace)))
    if count == 0:
        causes.append(required(path, "must specify a handler type"))
    return causes


_PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
_LIFECYCLE_HANDLERS = ("exec", "httpGet", "tcpSocket", "sleep")


def validate_probe(probe: Obj, path: str, kind: str, grace: Any) -> list[Cause]:
    """validateProbe plus the liveness/startup (successThreshold 1) and readiness rules."""
    causes = validate_handler(probe, path, _PROBE_HANDLERS, grace)
    for f in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        v = probe.get(f)
        if _int(v) and v < 0:
            causes.append(invalid(child(path, f), v, IS_NEGATIVE))
    tgps = probe.get("terminationGracePeriodSeconds")
    if _int(tgps) and tgps <= 0:
        causes.append(invalid(child(path, "terminationGracePeriodSeconds"), tgps, "must be greater than 0"))
    if kind in ("livenessProbe", "startupProbe"):
        st = probe.get("successThreshold")
        if st is not None and st != 1:
            causes.append(invalid(child(path, "successThreshold"), st, "must be 1"))
    if kind == "readinessProbe" and tgps is not None:
        causes.append(
            invalid(child(path, "terminationGracePeriodSeconds"), tgps, "must not be set for readinessProbes")
        )
    return causes


# --- env ------------------------------------------------------------------------------------


def relaxed_env_var_name(name: str) -> list[str]:
    """IsRelaxedEnvVarName (the RelaxedEnvironmentVariableValidation rule, on by default)."""
    if not name:
        return ["environment variable name must be non-empty"]
    if any(not " " <= ch <= "~" or ch == "=" for ch in name):
        return [_RELAXED_ENV_MSG]
    return []


def _key_selector(ref: Obj, path: str) -> list[Cause]:
    name = ref.get("name") or ""
    causes = [invalid(child(path, "name"), name, m) for m in is_dns1123_subdomain(name)]
    k = ref.get("key") or ""
    if not k:
        causes.append(required(child(path, "key")))
    else:
        causes.extend(invalid(child(path, "key"), k, m) for m in is_config_map_key(k))
    return causes


def _value_from(e: Obj, path: str) -> list[Cause]:
    vf = e.get("valueFrom")
    if not isinstance(vf, dict):
        return []
    causes: list[Cause] = []
    sources = 0
    if isinstance(vf.get("fieldRef"), dict):
        sources += 1
        causes.extend(object_field_selector(vf["fieldRef"], ENV_FIELD_PATHS, child(path, "fieldRef")))
    if isinstance(vf.get("resourceFieldRef"), dict):
        sources += 1
        causes.extend(
            resource_field_selector(vf["resourceFieldRef"], child(path, "resourceFieldRef"), in_volume=False)
        )
    for k in ("configMapKeyRef", "secretKeyRef"):
        if isinstance(vf.get(k), dict):
            sources += 1
            causes.extend(_key_selector(vf[k], child(path, k)))
    if sources == 0:
        causes.append(
            invalid(
                path,
                "",
                "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
            )
        )
    elif e.get("value"):
        causes.append(invalid(path, "", "may not be specified when `value` is not empty"))
    elif sources > 1:
        causes.append(invalid(path, "", "may not have more than one field specified at a time"))
    return causes


def validate_env(env: list[Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    for i, e in enumerate(env):
        if not isinstance(e, dict):
            continue
        ip = index(path, i)
        name = e.get("name") or ""
        if not name:
            causes.append(required(child(ip, "name")))
        else:
            causes.extend(invalid(child(ip, "name"), name, m) for m in relaxed_env_var_name(name))
        causes.extend(_value_from(e, child(ip, "valueFrom")))
    return causes


def validate_env_from(env_from: list[Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    for i, e in enumerate(env_from):
        if not isinstance(e, dict):
            continue
        ip = index(path, i)
        prefix = e.get("prefix") or ""
        if prefix:
            causes.extend(invalid(child(ip, "prefix"), prefix, m) for m in relaxed_env_var_name(prefix))
        sources = 0
        for k in ("configMapRef", "secretRef"):
            ref = e.get(k)
            if not isinstance(ref, dict):
                continue
            sources += 1
            name = ref.get("name") or ""
            if not name:
                causes.append(required(child(ip, k, "name")))
            else:
                masked = name[:-1] + "a" if len(name) > 1 and name.endswith("-") else name
                causes.extend(invalid(child(ip, k, "name"), name, m) for m in is_dns1123_subdomain(masked))
        if sources == 0:
            causes.append(invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"))
        elif sources > 1:
            causes.append(invalid(path, "", "may not have more than one field specified at a time"))
    return causes


# --- resources ------------------------------------------------------------------------------


def _is_native(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def _is_hugepages(name: str) -> bool:
    return name.startswith("hugepages-")


def _is_extended(name: str) -> bool:
    return (
        not _is_native(name)
        and not name.startswith("requests.")
        and not is_qualified_name("requests." + name)
    )


def _overcommit_allowed(name: str) -> bool:
    return _is_native(name) and not _is_hugepages(name)


def _resource_name(name: str, path: str) -> list[Cause]:
    """validateContainerResourceName (with validateResourceName first)."""
    causes = [invalid(path, name, m) for m in is_qualified_name(name)]
    if causes:
        return causes
    if "/" not in name:
        if (
            name not in _STANDARD_RESOURCES
            and not _is_hugepages(name)
            and not name.startswith("requests.hugepages-")
        ):
            causes.append(invalid(path, name, "must be a standard resource type or fully qualified"))
        if name not in _STANDARD_CONTAINER_RESOURCES and not _is_hugepages(name):
            causes.append(invalid(path, name, "must be a standard resource for containers"))
    elif not _is_native(name) and not _is_extended(name):
        causes.append(invalid(path, name, "doesn't follow extended resource name standard"))
    return causes


def _quantity(q: Any) -> Quantity | None:
    if isinstance(q, bool):
        return None
    try:
        return parse_quantity(q if isinstance(q, str) else str(q))
    except ValueError:
        return None  # the decoder reports unparsable quantities


def _quantity_value(name: str, q: Quantity, path: str) -> list[Cause]:
    causes = []
    if q.value < 0:
        causes.append(invalid(path, str(q), IS_NEGATIVE))
    if _is_extended(name) and q.value.denominator != 1:
        causes.append(invalid(path, str(q), "must be an integer"))
    return causes


def validate_resources(res: Obj, path: str) -> list[Cause]:
    """ValidateContainerResourceRequirements: names, quantities, requests against limits."""
    causes: list[Cause] = []
    lim_path, req_path = child(path, "limits"), child(path, "requests")
    limits: Obj = res["limits"] if isinstance(res.get("limits"), dict) else {}
    requests: Obj = res["requests"] if isinstance(res.get("requests"), dict) else {}
    parsed_limits: dict[str, Quantity] = {}
    for name in sorted(limits):
        p = key(lim_path, name)
        causes.extend(_resource_name(name, p))
        q = _quantity(limits[name])
        if q is not None:
            parsed_limits[name] = q
            causes.extend(_quantity_value(name, q, p))
    for name in sorted(requests):
        p = key(req_path, name)
        causes.extend(_resource_name(name, p))
        q = _quantity(requests[name])
        if q is None:
            continue
        causes.extend(_quantity_value(name, q, p))
        lim = parsed_limits.get(name)
        if lim is not None:
            if q.value != lim.value and not _overcommit_allowed(name):
                causes.append(invalid(req_path, str(q), f"must be equal to {name} limit of {lim}"))
            elif q.value > lim.value:
                causes.append(
                    invalid(req_path, str(q), f"must be less than or equal to {name} limit of {lim}")
                )
        elif name not in limits and not _overcommit_allowed(name):
            causes.append(required(lim_path, "Limit must be set for non overcommitable resources"))
    named = set(limits) | set(requests)
    if any(_is_hugepages(n) for n in named) and not named & {"cpu", "memory"}:
        causes.append(forbidden(path, "HugePages require cpu or memory"))
    return causes


# --- security context -----------------------------------------------------------------------


def id_range(value: Any, path: str) -> list[Cause]:
    """IsValidUserID / IsValidGroupID: 0..2147483647."""
    if _int(value) and not 0 <= value <= _MAX_ID:
        return [invalid(path, value, inclusive_range_error(0, _MAX_ID))]
    return []


def seccomp_profile(sp: Any, path: str) -> list[Cause]:
    if not isinstance(sp, dict):
        return []
    causes: list[Cause] = []
    typ = sp.get("type") or ""
    if not typ:
        causes.append(required(child(path, "type"), "type is required when seccompProfile is set"))
    elif typ not in SECCOMP_TYPES:
        causes.append(not_supported(child(path, "type"), typ, SECCOMP_TYPES))
    prof = sp.get("localhostProfile")
    if typ == "Localhost":
        if prof is None:
            causes.append(
                required(child(path, "localhostProfile"), "must be set when seccomp type is Localhost")
            )
        else:
            causes.extend(local_descending_path(prof, child(path, "localhostProfile")))
    elif prof is not None:
        causes.append(
            invalid(child(path, "localhostProfile"), sp, "can only be set when seccomp type is Localhost")
        )
    return causes


def validate_security_context(sc: Obj, path: str) -> list[Cause]:
    causes = id_range(sc.get("runAsUser"), child(path, "runAsUser"))
    causes += id_range(sc.get("runAsGroup"), child(path, "runAsGroup"))
    pm = sc.get("procMount")
    if isinstance(pm, str) and pm not in PROC_MOUNT_TYPES:
        causes.append(not_supported(child(path, "procMount"), pm, PROC_MOUNT_TYPES))
    causes += seccomp_profile(sc.get("seccompProfile"), child(path, "seccompProfile"))
    causes += apparmor_profile(sc.get("appArmorProfile"), child(path, "appArmorProfile"))
    if sc.get("allowPrivilegeEscalation") is False:
        if sc.get("privileged") is True:
            causes.append(
                invalid(path, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true")
            )
        for cap in (sc.get("capabilities") or {}).get("add") or []:
            if cap == "CAP_SYS_ADMIN":
                causes.append(
                    invalid(
                        path,
                        sc,
                        "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
                    )
                )
    return causes


# --- the container --------------------------------------------------------------------------


def validate_container_details(c: Obj, path: str, *, init: bool, grace: Any) -> list[Cause]:
    """Everything inside a container that podspec.py does not check itself."""
    causes: list[Cause] = []
    restart = c.get("restartPolicy")
    sidecar = init and restart == "Always"
    if init and restart is not None and restart != "Always":
        causes.append(not_supported(child(path, "restartPolicy"), restart, ("Always",)))
    elif not init and restart is not None:
        causes.append(forbidden(child(path, "restartPolicy"), "may not be set for non-init containers"))
    lifecycle = c.get("lifecycle")
    if init and not sidecar and lifecycle is not None:
        causes.append(forbidden(child(path, "lifecycle"), INIT_ONLY_WITH_ALWAYS))
    elif isinstance(lifecycle, dict):
        for hook in ("postStart", "preStop"):
            h = lifecycle.get(hook)
            if isinstance(h, dict):
                causes.extend(validate_handler(h, child(path, "lifecycle", hook), _LIFECYCLE_HANDLERS, grace))
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = c.get(kind)
        if probe is None:
            continue
        if init and not sidecar:
            causes.append(forbidden(child(path, kind), INIT_ONLY_WITH_ALWAYS))
        elif isinstance(probe, dict):
            causes.extend(validate_probe(probe, child(path, kind), kind, grace))
    causes.extend(validate_env(c.get("env") or [], child(path, "env")))
    causes.extend(validate_env_from(c.get("envFrom") or [], child(path, "envFrom")))
    res = c.get("resources")
    if isinstance(res, dict):
        causes.extend(validate_resources(res, child(path, "resources")))
    mounts_path = child(path, "volumeMounts")
    for i, m in enumerate(c.get("volumeMounts") or []):
        if not isinstance(m, dict):
            continue
        sub, expr = m.get("subPath") or "", m.get("subPathExpr") or ""
        if sub:
            # upstream reports these at volumeMounts.subPath, without the index
            causes.extend(local_descending_path(sub, child(mounts_path, "subPath")))
        if expr:
            if sub:
                causes.append(
                    invalid(
                        child(index(mounts_path, i), "subPathExpr"),
                        expr,
                        "subPathExpr and subPath are mutually exclusive",
                    )
                )
            causes.extend(local_descending_path(expr, child(mounts_path, "subPathExpr")))
    sc = c.get("securityContext")
    if isinstance(sc, dict):
        causes.extend(validate_security_context(sc, child(path, "securityContext")))
    return causes
