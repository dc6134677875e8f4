"""Pod spec → CRI sandbox and container configs, as pure functions.

The builders return plain dicts keyed by the CRI proto's field names; `to_proto` turns them into
messages at the edge. Labels and annotations written here are how the agent finds its pods again
after a restart (it keeps no state of its own): the pod UID, names, the container's spec hash and
the termination grace period all travel with the runtime objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kybernetes.kubelet.actions import container_spec_hash

Obj = dict[str, Any]

POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
POD_UID = "io.kubernetes.pod.uid"
CONTAINER_NAME = "io.kubernetes.container.name"
CONTAINER_HASH = "io.kubernetes.container.hash"
RESTART_COUNT = "io.kubernetes.container.restartCount"
GRACE_PERIOD = "io.kubernetes.pod.terminationGracePeriod"
TERMINATION_MESSAGE_PATH = "io.kubernetes.container.terminationMessagePath"
TERMINATION_MESSAGE_POLICY = "io.kubernetes.container.terminationMessagePolicy"
PRESTOP = "io.kubernetes.container.preStopHandler"
INIT = "kybernetes.io/init-container"
CONTAINER_TYPE = "io.kubernetes.container.type"  # the kubelet's own label: "sandbox" or "container"

_PROTOCOLS = {"TCP": 0, "UDP": 1, "SCTP": 2}
_NS_POD, _NS_CONTAINER, _NS_NODE, _NS_TARGET = 0, 1, 2, 3


def pod_log_directory(logs_root: str, pod: Mapping[str, Any]) -> str:
    m = pod["metadata"]
    return f"{logs_root}/{m['namespace']}_{m['name']}_{m['uid']}"


def container_log_path(name: str, attempt: int) -> str:
    """Relative to the sandbox's log directory (CRI's convention: <container>/<attempt>.log)."""
    return f"{name}/{attempt}.log"


def parse_resolv_conf(text: str) -> Obj:
    servers, searches, options = [], [], []
    for line in text.splitlines():
        parts = line.split("#", 1)[0].split()
        if not parts:
            continue
        if parts[0] == "nameserver" and len(parts) > 1:
            servers.append(parts[1])
        elif parts[0] in ("search", "domain"):
            searches = parts[1:]
        elif parts[0] == "options":
            options.extend(parts[1:])
    return {"servers": servers, "searches": searches, "options": options}


def dns_config(pod: Mapping[str, Any], *, cluster_dns: Sequence[str], cluster_domain: str,
               host_resolv: Obj) -> Obj:
    """The pod's resolv.conf per dnsPolicy, as upstream (ClusterFirst falls back to the host's
    when the pod uses the host network, unless ClusterFirstWithHostNet)."""
    spec = pod.get("spec") or {}
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    host_net = bool(spec.get("hostNetwork"))
    if policy == "ClusterFirst" and host_net:
        policy = "Default"
    if policy == "ClusterFirstWithHostNet":
        policy = "ClusterFirst"
    out: Obj = {"servers": [], "searches": [], "options": []}
    if policy == "Default":
        out = {k: list(v) for k, v in host_resolv.items()}
    elif policy == "ClusterFirst" and cluster_dns:
        ns = pod["metadata"].get("namespace") or "default"
        out = {"servers": list(cluster_dns),
               "searches": [f"{ns}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain,
                            *host_resolv.get("searches", [])],
               "options": ["ndots:5"]}
    elif policy == "ClusterFirst":
        out = {k: list(v) for k, v in host_resolv.items()}
    extra = spec.get("dnsConfig") or {}
    out["servers"] = _dedupe([*out["servers"], *(extra.get("nameservers") or [])])[:3]
    out["searches"] = _dedupe([*out["searches"], *(extra.get("searches") or [])])[:32]
    opts: dict[str, str | None] = {}
    for o in out["options"]:
        name, _, value = o.partition(":")
        opts[name] = value or None
    for o in extra.get("options") or []:
        opts[o["name"]] = o.get("value")
    out["options"] = [f"{k}:{v}" if v is not None else k for k, v in opts.items()]
    return out


def _dedupe(items: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for i in items:
        seen.setdefault(i, None)
    return list(seen)


def namespace_options(pod: Mapping[str, Any]) -> Obj:
    spec = pod.get("spec") or {}
    return {
        "network": _NS_NODE if spec.get("hostNetwork") else _NS_POD,
        # proto3's default (POD) would share the pid namespace: say CONTAINER unless asked (pitfall 6)
        "pid": _NS_NODE if spec.get("hostPID") else (_NS_POD if spec.get("shareProcessNamespace") else _NS_CONTAINER),
        "ipc": _NS_NODE if spec.get("hostIPC") else _NS_POD,
    }


def port_mappings(pod: Mapping[str, Any]) -> list[Obj]:
    out = []
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if not p.get("hostPort"):
                continue
            out.append({"protocol": _PROTOCOLS.get(p.get("protocol") or "TCP", 0),
                        "container_port": int(p["containerPort"]), "host_port": int(p["hostPort"]),
                        "host_ip": p.get("hostIP") or ""})
    return out


def sandbox_config(pod: Mapping[str, Any], *, attempt: int, logs_root: str, cgroup_parent: str,
                   dns: Obj) -> Obj:
    meta = pod["metadata"]
    spec = pod.get("spec") or {}
    labels = {**(meta.get("labels") or {}), POD_NAME: meta["name"], POD_NAMESPACE: meta["namespace"],
              POD_UID: meta["uid"], CONTAINER_TYPE: "sandbox"}
    psc = spec.get("securityContext") or {}
    security: Obj = {"namespace_options": namespace_options(pod),
                     "privileged": any(((c.get("securityContext") or {}).get("privileged"))
                                       for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])])}
    if psc.get("runAsUser") is not None:
        security["run_as_user"] = {"value": int(psc["runAsUser"])}
    if psc.get("runAsGroup") is not None:
        security["run_as_group"] = {"value": int(psc["runAsGroup"])}
    if psc.get("supplementalGroups"):
        security["supplemental_groups"] = [int(g) for g in psc["supplementalGroups"]]
    config: Obj = {
        "metadata": {"name": meta["name"], "uid": meta["uid"], "namespace": meta["namespace"], "attempt": attempt},
        "log_directory": pod_log_directory(logs_root, pod),
        "dns_config": dns,
        "port_mappings": port_mappings(pod),
        "labels": labels,
        "annotations": dict(meta.get("annotations") or {}),
        "linux": {"cgroup_parent": cgroup_parent, "security_context": security,
                  "sysctls": {s["name"]: str(s.get("value", "")) for s in psc.get("sysctls") or []}},
    }
    if not spec.get("hostNetwork"):  # a host-network sandbox must not set a hostname (pitfall 8)
        config["hostname"] = pod_hostname(pod)
    return config


def pod_hostname(pod: Mapping[str, Any]) -> str:
    spec = pod.get("spec") or {}
    return str(spec.get("hostname") or pod["metadata"]["name"])[:63].rstrip("-.")


def container_security(pod: Mapping[str, Any], container: Mapping[str, Any]) -> Obj:
    psc = (pod.get("spec") or {}).get("securityContext") or {}
    csc = container.get("securityContext") or {}
    out: Obj = {"namespace_options": namespace_options(pod), "privileged": bool(csc.get("privileged"))}
    user = csc.get("runAsUser", psc.get("runAsUser"))
    group = csc.get("runAsGroup", psc.get("runAsGroup"))
    if user is not None:
        out["run_as_user"] = {"value": int(user)}
    if group is not None:
        out["run_as_group"] = {"value": int(group)}
    if psc.get("supplementalGroups"):
        out["supplemental_groups"] = [int(g) for g in psc["supplementalGroups"]]
    if csc.get("readOnlyRootFilesystem"):
        out["readonly_rootfs"] = True
    caps = csc.get("capabilities") or {}
    if caps.get("add") or caps.get("drop"):
        out["capabilities"] = {"add_capabilities": list(caps.get("add") or []),
                               "drop_capabilities": list(caps.get("drop") or [])}
    if csc.get("allowPrivilegeEscalation") is False:
        out["no_new_privs"] = True
    return out


def container_config(pod: Mapping[str, Any], container: Mapping[str, Any], *, attempt: int, image_ref: str,
                     command: list[str], args: list[str], env: list[tuple[str, str]], mounts: list[Obj],
                     resources: Obj, init: bool = False, target_id: str = "") -> Obj:
    """``target_id``: for an ephemeral container with a targetContainerName, the id of that
    container, whose process namespace it joins (unless the pod shares one or uses the host's)."""
    meta = pod["metadata"]
    spec = pod.get("spec") or {}
    name = container["name"]
    annotations = {
        CONTAINER_HASH: container_spec_hash(container),
        RESTART_COUNT: str(attempt),
        GRACE_PERIOD: str(spec.get("terminationGracePeriodSeconds", 30)),
        TERMINATION_MESSAGE_PATH: container.get("terminationMessagePath") or "/dev/termination-log",
        TERMINATION_MESSAGE_POLICY: container.get("terminationMessagePolicy") or "File",
    }
    if init:
        annotations[INIT] = "true"
    security = container_security(pod, container)
    if target_id and security["namespace_options"]["pid"] == _NS_CONTAINER:
        security["namespace_options"] = {**security["namespace_options"], "pid": _NS_TARGET, "target_id": target_id}
    return {
        "metadata": {"name": name, "attempt": attempt},
        "image": {"image": image_ref},
        "command": command,
        "args": args,
        "working_dir": container.get("workingDir") or "",
        "envs": [{"key": k, "value": v} for k, v in env],
        "mounts": mounts,
        "labels": {POD_NAME: meta["name"], POD_NAMESPACE: meta["namespace"], POD_UID: meta["uid"],
                   CONTAINER_NAME: name, CONTAINER_TYPE: "container"},
        "annotations": annotations,
        "log_path": container_log_path(name, attempt),
        "stdin": bool(container.get("stdin")),
        "stdin_once": bool(container.get("stdinOnce")),
        "tty": bool(container.get("tty")),
        "linux": {"resources": resources, "security_context": security},
    }


def mount_entry(container_path: str, host_path: str, *, readonly: bool = False, propagation: int = 0) -> Obj:
    """A CRI Mount; `propagation` is CRI's enum (0 private, 1 host-to-container, 2 bidirectional)."""
    return {"container_path": container_path, "host_path": host_path, "readonly": readonly,
            "propagation": propagation}


def to_proto(data: Mapping[str, Any], message: Any) -> Any:
    """Fill `message` (a generated CRI message) from a dict of this module's shape."""
    from google.protobuf import json_format

    return json_format.ParseDict(data, message)
