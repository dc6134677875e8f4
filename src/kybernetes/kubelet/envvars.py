"""A container's environment, as the kubelet builds it before CreateContainer.

Sources, in the order later ones override earlier ones:
  1. ``envFrom`` ConfigMaps and Secrets (with an optional name prefix), in declaration order;
  2. ``env`` entries in declaration order: a literal ``value`` (with ``$(VAR)`` references expanded
     against what is defined so far plus the service variables) or a ``valueFrom`` source
     (configMapKeyRef, secretKeyRef, fieldRef, resourceFieldRef);
  3. service variables (``FOO_SERVICE_HOST`` and the docker-links style ``FOO_PORT_80_TCP...``) for
     names the container did not define itself.

A missing non-optional ConfigMap, Secret or key raises ``CreateContainerConfigError`` with the
message upstream shows in the container's waiting state. The result is deterministic: the
container's own variables in first-definition order, then the service variables sorted.

Expansion (upstream's ``expansion`` package): ``$(NAME)`` is replaced when NAME is known and left
as written otherwise; ``$$`` is a literal ``$``; any other ``$`` is kept as is.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kybernetes.machinery.quantity import parse_quantity

Obj = dict[str, Any]
Lookup = Callable[[str], "Obj | None"]


class CreateContainerConfigError(Exception):
    """The container cannot be configured yet (reason ``CreateContainerConfigError``)."""

    reason = "CreateContainerConfigError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- $(VAR) expansion -------------------------------------------------------------------------


def expand(text: str, mapping: Callable[[str], str]) -> str:
    """Expand ``$(VAR)`` references in ``text`` with ``mapping`` (see the module docstring)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "$" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            close = text.find(")", i + 2)
            if close < 0:
                # No closing paren: the "$(" stays, scanning resumes after it.
                out.append("$(")
                i += 2
            else:
                out.append(mapping(text[i + 2:close]))
                i = close + 1
        else:
            out.append("$" + nxt)
            i += 2
    return "".join(out)


def mapping_for(*contexts: Mapping[str, str]) -> Callable[[str], str]:
    """Look names up in each context in turn; unknown names stay written as ``$(NAME)``."""

    def lookup(name: str) -> str:
        for ctx in contexts:
            if name in ctx:
                return ctx[name]
        return f"$({name})"

    return lookup


def expand_command(
    command: Sequence[str] | None, args: Sequence[str] | None, env: Sequence[tuple[str, str]] | Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """``$(VAR)`` references in command and args, expanded against the container environment."""
    m = mapping_for(dict(env.items() if isinstance(env, Mapping) else env))
    return [expand(c, m) for c in command or ()], [expand(a, m) for a in args or ()]


# --- service links ------------------------------------------------------------------------------


def _env_name(s: str) -> str:
    return s.replace("-", "_").upper()


def _host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _service_vars(svc: Mapping[str, Any]) -> list[tuple[str, str]]:
    spec = svc.get("spec") or {}
    ip = spec.get("clusterIP") or ""
    ports = spec.get("ports") or []
    if not ports:
        return []
    prefix = _env_name((svc.get("metadata") or {}).get("name") or "")
    out = [(f"{prefix}_SERVICE_HOST", ip), (f"{prefix}_SERVICE_PORT", str(ports[0].get("port")))]
    for p in ports:
        if p.get("name"):
            out.append((f"{prefix}_SERVICE_PORT_{_env_name(p['name'])}", str(p.get("port"))))
    for i, p in enumerate(ports):
        proto = p.get("protocol") or "TCP"
        url = f"{proto.lower()}://{_host_port(ip, int(p.get('port') or 0))}"
        if i == 0:
            out.append((f"{prefix}_PORT", url))
        pp = f"{prefix}_PORT_{p.get('port')}_{proto.upper()}"
        out += [(pp, url), (pp + "_PROTO", proto.lower()), (pp + "_PORT", str(p.get("port"))), (pp + "_ADDR", ip)]
    return out


def service_env_vars(services: Sequence[Mapping[str, Any]], namespace: str, enable_service_links: bool) -> dict[str, str]:
    """Service variables for a pod in ``namespace``: ``default/kubernetes`` always, the namespace's
    own services when links are enabled. Headless and ExternalName services have no address and
    contribute nothing."""
    chosen: dict[str, Mapping[str, Any]] = {}
    master: Mapping[str, Any] | None = None
    for svc in services:
        meta = svc.get("metadata") or {}
        ip = (svc.get("spec") or {}).get("clusterIP") or ""
        if ip in ("", "None"):
            continue
        name, ns = meta.get("name") or "", meta.get("namespace") or ""
        if ns == "default" and name == "kubernetes":
            master = svc
        elif ns == namespace and enable_service_links:
            chosen[name] = svc
    if master is not None:
        chosen["kubernetes"] = master  # the master service wins over a same-named local one
    out: dict[str, str] = {}
    for name in sorted(chosen):
        out.update(_service_vars(chosen[name]))
    return out


# --- downward API -----------------------------------------------------------------------------


def _go_quote(s: str) -> str:
    """Go's %q for the strings labels and annotations hold."""
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def format_map(m: Mapping[str, str]) -> str:
    """``k="v"`` lines sorted by key, as the downward API renders labels and annotations."""
    return "\n".join(f"{k}={_go_quote(m[k])}" for k in sorted(m))


_SUBSCRIPT = re.compile(r"^(metadata\.(?:labels|annotations))\['(.*)'\]$")


def field_ref_value(
    pod: Mapping[str, Any], field_path: str, *, pod_ip: str, pod_ips: Sequence[str], host_ips: Sequence[str]
) -> str:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    ips = list(pod_ips) or ([pod_ip] if pod_ip else [])
    simple: dict[str, Callable[[], str]] = {
        "metadata.name": lambda: meta.get("name") or "",
        "metadata.namespace": lambda: meta.get("namespace") or "",
        "metadata.uid": lambda: meta.get("uid") or "",
        "metadata.labels": lambda: format_map(meta.get("labels") or {}),
        "metadata.annotations": lambda: format_map(meta.get("annotations") or {}),
        "spec.nodeName": lambda: spec.get("nodeName") or "",
        "spec.serviceAccountName": lambda: spec.get("serviceAccountName") or "",
        "status.hostIP": lambda: host_ips[0] if host_ips else "",
        "status.hostIPs": lambda: ",".join(host_ips),
        "status.podIP": lambda: ips[0] if ips else "",
        "status.podIPs": lambda: ",".join(ips),
        "spec.terminationGracePeriodSeconds": lambda: str(spec.get("terminationGracePeriodSeconds", 30)),
    }
    if field_path in simple:
        return simple[field_path]()
    m = _SUBSCRIPT.match(field_path)
    if m:
        which = "labels" if m.group(1).endswith("labels") else "annotations"
        return str((meta.get(which) or {}).get(m.group(2), ""))
    raise CreateContainerConfigError(f"unsupported fieldPath: {field_path}")


def _limits_defaulted(container: Mapping[str, Any], allocatable: Mapping[str, Any]) -> dict[str, Any]:
    """Limits with cpu/memory/ephemeral-storage filled from node allocatable where unset."""
    limits = dict((container.get("resources") or {}).get("limits") or {})
    for name in ("cpu", "memory", "ephemeral-storage"):
        unset = name not in limits or parse_quantity(str(limits[name])).is_zero()
        if unset and name in allocatable:
            limits[name] = allocatable[name]
    return limits


def resource_field_value(
    pod: Mapping[str, Any], container: Mapping[str, Any], selector: Mapping[str, Any], allocatable: Mapping[str, Any]
) -> str:
    """``resourceFieldRef``: the quantity divided by the divisor, rounded up (cpu in cores by
    default, memory and storage in bytes)."""
    target = container
    if selector.get("containerName"):
        spec = pod.get("spec") or {}
        found = [c for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])
                 if c.get("name") == selector["containerName"]]
        if not found:
            raise CreateContainerConfigError(f"container {selector['containerName']} not found")
        target = found[0]
    resource = str(selector.get("resource") or "")
    kind, _, name = resource.partition(".")
    if kind not in ("limits", "requests") or not name:
        raise CreateContainerConfigError(f"unsupported container resource : {resource}")
    if kind == "limits":
        values = _limits_defaulted(target, allocatable)
    else:
        values = dict((target.get("resources") or {}).get("requests") or {})
    divisor_q = parse_quantity(str(selector.get("divisor") or "0"))
    if divisor_q.is_zero():
        divisor_q = parse_quantity("1")
    q = parse_quantity(str(values.get(name, "0")))
    if name == "cpu":
        return str(math.ceil(q.milli_value() / divisor_q.milli_value()))
    if name in ("memory", "ephemeral-storage") or name.startswith("hugepages-"):
        return str(math.ceil(q.value_int() / divisor_q.value_int()))
    raise CreateContainerConfigError(f"unsupported container resource : {resource}")


# --- the environment ------------------------------------------------------------------------------


def is_env_var_name(name: str) -> bool:
    """Whether a key from envFrom can be an environment variable: printable ASCII without ``=``
    (the relaxed rule the API server now applies to ``env`` names)."""
    return bool(name) and all(0x20 <= ord(ch) < 0x7F for ch in name) and "=" not in name


def _secret_value(raw: Any) -> str:
    return base64.b64decode(str(raw)).decode("utf-8", errors="replace")


def make_environment(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    *,
    configmaps: Lookup,
    secrets: Lookup,
    service_env: Mapping[str, str],
    node_ip: str = "",
    pod_ip: str = "",
    pod_ips: Sequence[str] = (),
    host_ip: str = "",
    host_ips: Sequence[str] | None = None,
    node_allocatable: Mapping[str, Any] | None = None,
    on_event: Callable[[str, str], None] | None = None,
) -> list[tuple[str, str]]:
    """The container's environment (see the module docstring). ``configmaps``/``secrets`` return
    the object in the pod's namespace by name, or None when it does not exist; ``on_event``
    receives (reason, message) warnings such as skipped envFrom keys."""
    ns = (pod.get("metadata") or {}).get("namespace") or ""
    hips = list(host_ips) if host_ips else [ip for ip in (host_ip or node_ip,) if ip]
    allocatable = node_allocatable or {}
    cache: dict[tuple[str, str], Obj | None] = {}

    def fetch(kind: str, name: str) -> Obj | None:
        if (kind, name) not in cache:
            cache[(kind, name)] = (configmaps if kind == "configmap" else secrets)(name)
        return cache[(kind, name)]

    env: dict[str, str] = {}
    for source in container.get("envFrom") or ():
        prefix = source.get("prefix") or ""
        for kind, ref_key in (("configmap", "configMapRef"), ("secret", "secretRef")):
            ref = source.get(ref_key)
            if ref is None:
                continue
            obj = fetch(kind, ref.get("name") or "")
            if obj is None:
                if ref.get("optional"):
                    continue
                raise CreateContainerConfigError(f'{kind} "{ref.get("name")}" not found')
            invalid = []
            for k, v in (obj.get("data") or {}).items():
                name = prefix + k
                if not is_env_var_name(name):
                    invalid.append(name)
                    continue
                env[name] = _secret_value(v) if kind == "secret" else str(v)
            if invalid and on_event is not None:
                label = "configMap" if kind == "configmap" else "secret"
                on_event("InvalidEnvironmentVariableNames",
                         f"Keys [{', '.join(sorted(invalid))}] from the EnvFrom {label} {ns}/{ref.get('name')} "
                         "were skipped since they are considered invalid environment variable names.")

    lookup = mapping_for(env, service_env)
    for var in container.get("env") or ():
        name = var.get("name") or ""
        value = var.get("value") or ""
        source = var.get("valueFrom")
        if value:
            value = expand(value, lookup)
        elif source:
            got = _value_from(pod, container, source, ns, fetch, pod_ip=pod_ip, pod_ips=pod_ips,
                              host_ips=hips, allocatable=allocatable)
            if got is None:
                continue  # optional and absent: the variable is not set at all
            value = got
        env[name] = value

    result = list(env.items())
    result += sorted((k, v) for k, v in service_env.items() if k not in env)
    return result


def _value_from(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    source: Mapping[str, Any],
    ns: str,
    fetch: Callable[[str, str], Obj | None],
    *,
    pod_ip: str,
    pod_ips: Sequence[str],
    host_ips: Sequence[str],
    allocatable: Mapping[str, Any],
) -> str | None:
    if source.get("fieldRef"):
        return field_ref_value(pod, str(source["fieldRef"].get("fieldPath") or ""), pod_ip=pod_ip,
                               pod_ips=pod_ips, host_ips=host_ips)
    if source.get("resourceFieldRef"):
        return resource_field_value(pod, container, source["resourceFieldRef"], allocatable)
    for kind, ref_key, label in (("configmap", "configMapKeyRef", "ConfigMap"), ("secret", "secretKeyRef", "Secret")):
        ref = source.get(ref_key)
        if not ref:
            continue
        name, key, optional = ref.get("name") or "", ref.get("key") or "", bool(ref.get("optional"))
        obj = fetch(kind, name)
        if obj is None:
            if optional:
                return None
            raise CreateContainerConfigError(f'{kind} "{name}" not found')
        data = obj.get("data") or {}
        if key not in data:
            if optional:
                return None
            raise CreateContainerConfigError(f"couldn't find key {key} in {label} {ns}/{name}")
        return _secret_value(data[key]) if kind == "secret" else str(data[key])
    return ""
