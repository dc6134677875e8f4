"""A container's mounts for CRI: its volumeMounts resolved to host paths, plus /etc/hosts and
the termination-message file the kubelet manages.

Decisions are pure functions (``render_etc_hosts``, ``expand_subpath_expr``, ``mount_propagation``,
``mount_readonly``); ``container_mounts`` is the thin part that touches the filesystem to resolve
subPaths and create the kubelet-managed files. Behaviour follows upstream's makeMounts:

* configMap, secret, downwardAPI and projected volumes are always read-only in containers.
* A subPath is joined to the volume's host path; a missing one is created as a directory with
  the volume root's permissions. Symlinks are resolved here and must stay inside the volume, so
  a subPath of a configMap/secret key is the real file inside the current ``..<timestamp>``
  directory: the container keeps that version even when the volume is updated later.
* ``subPathExpr`` expands ``$(VAR)`` from the container's environment; a variable that is unset
  or empty is an error. ``$$`` is a literal ``$``.
* ``/etc/hosts`` is mounted unless the pod uses the host network, has no IP yet, or the container
  mounts something at /etc/hosts itself.
"""

from __future__ import annotations

import enum
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kybernetes.kubelet.volumes.kinds import PROJECTED_KINDS, PVC, volume_kind

ETC_HOSTS = "/etc/hosts"
ETC_HOSTS_FILE = "etc-hosts"
DEFAULT_TERMINATION_MESSAGE_PATH = "/dev/termination-log"
HOSTNAME_MAX_LEN = 63


class MountPropagation(enum.IntEnum):
    """CRI's MountPropagation enum values."""

    PRIVATE = 0
    HOST_TO_CONTAINER = 1
    BIDIRECTIONAL = 2


@dataclass(frozen=True)
class MountSpec:
    container_path: str
    host_path: Path
    readonly: bool = False
    propagation: MountPropagation = MountPropagation.PRIVATE


class ContainerMountError(Exception):
    """The container cannot be created with these mounts (upstream: CreateContainerConfigError)."""


# --- pure decisions -----------------------------------------------------------------------------

def expand_subpath_expr(expr: str, env: Mapping[str, str]) -> str:
    """Expand ``$(VAR)`` references; unset or empty variables are an error, as upstream."""
    out: list[str] = []
    missing: set[str] = set()
    i = 0
    while i < len(expr):
        ch = expr[i]
        if ch != "$" or i + 1 == len(expr):
            out.append(ch)
            i += 1
            continue
        nxt = expr[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            close = expr.find(")", i + 2)
            if close == -1:
                out.append("$(")
                i += 2
                continue
            name = expr[i + 2:close]
            value = env.get(name, "")
            if not value:
                missing.add(name)
            out.append(value)
            i = close + 1
        else:
            out.append("$" + nxt)
            i += 2
    if missing:
        raise ContainerMountError(f"missing value for {', '.join(sorted(missing))}")
    return "".join(out)


def validate_subpath(sub_path: str) -> None:
    if sub_path.startswith("/"):
        raise ContainerMountError(f"error SubPath `{sub_path}` must not be an absolute path")
    if ".." in sub_path.split("/"):
        raise ContainerMountError(f"unable to provision SubPath `{sub_path}`: must not contain '..'")


def mount_propagation(volume_mount: Mapping[str, Any], *, privileged: bool) -> MountPropagation:
    mode = volume_mount.get("mountPropagation")
    if mode in (None, "", "None"):
        return MountPropagation.PRIVATE
    if mode == "HostToContainer":
        return MountPropagation.HOST_TO_CONTAINER
    if mode == "Bidirectional":
        if not privileged:
            raise ContainerMountError("Bidirectional mount propagation is available only to privileged containers")
        return MountPropagation.BIDIRECTIONAL
    raise ContainerMountError(f"invalid MountPropagation mode: {mode!r}")


def mount_readonly(volume_mount: Mapping[str, Any], volume: Mapping[str, Any]) -> bool:
    kind = volume_kind(volume)
    if volume_mount.get("readOnly") or kind in PROJECTED_KINDS:
        return True
    return kind == PVC and bool(volume[PVC].get("readOnly"))


def pod_hostname_and_domain(pod: Mapping[str, Any], cluster_domain: str) -> tuple[str, str]:
    """The pod's hostname (spec.hostname or its name, cut to 63) and its subdomain FQDN suffix."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    hostname = str(spec.get("hostname") or meta.get("name", ""))
    if len(hostname) > HOSTNAME_MAX_LEN:
        hostname = hostname[:HOSTNAME_MAX_LEN].rstrip("-.")
    domain = ""
    if spec.get("subdomain") and cluster_domain:
        domain = f"{spec['subdomain']}.{meta.get('namespace', '')}.svc.{cluster_domain}"
    return hostname, domain


def render_etc_hosts(
    pod: Mapping[str, Any], pod_ips: Sequence[str], host_aliases: Sequence[Mapping[str, Any]] | None = None,
    *, cluster_domain: str = "cluster.local",
) -> str:
    """The kubelet-managed /etc/hosts of a pod (``host_aliases`` default to spec.hostAliases)."""
    if host_aliases is None:
        host_aliases = (pod.get("spec") or {}).get("hostAliases") or []
    hostname, domain = pod_hostname_and_domain(pod, cluster_domain)
    lines = [
        "# Kubernetes-managed hosts file.",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "fe00::0\tip6-mcastprefix",
        "fe00::1\tip6-allnodes",
        "fe00::2\tip6-allrouters",
    ]
    for ip in pod_ips:
        lines.append(f"{ip}\t{hostname}.{domain}\t{hostname}" if domain else f"{ip}\t{hostname}")
    if host_aliases:
        lines.append("")
        lines.append("# Entries added by HostAliases.")
        for alias in host_aliases:
            lines.append("\t".join([str(alias.get("ip", "")), *(str(h) for h in alias.get("hostnames") or ())]))
    return "\n".join(lines) + "\n"


def wants_etc_hosts(pod: Mapping[str, Any], container: Mapping[str, Any], pod_ips: Sequence[str]) -> bool:
    if (pod.get("spec") or {}).get("hostNetwork") or not pod_ips:
        return False
    return all(m.get("mountPath") != ETC_HOSTS for m in container.get("volumeMounts") or ())


# --- filesystem part ----------------------------------------------------------------------------

def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def resolve_subpath(volume_root: Path, sub_path: str) -> Path:
    """The real host path of ``sub_path`` inside a volume, creating it as a directory if missing."""
    validate_subpath(sub_path)
    root = Path(os.path.realpath(volume_root))
    if not root.is_dir():
        raise ContainerMountError(f"unable to provision SubPath `{sub_path}`: volume is not a directory")
    joined = volume_root / sub_path
    if not os.path.lexists(joined):
        _make_subpath_dirs(root, sub_path)
    real = Path(os.path.realpath(joined))
    if not _within(real, root):
        raise ContainerMountError(f"subpath {str(real)!r} not within volume path {str(root)!r}")
    return real


def _make_subpath_dirs(root: Path, sub_path: str) -> None:
    """mkdir each missing component with the root's mode, refusing to follow links out of it."""
    perm = stat.S_IMODE(os.stat(root).st_mode)
    current = root
    for part in (p for p in sub_path.split("/") if p not in ("", ".")):
        current = current / part
        if os.path.lexists(current):
            current = Path(os.path.realpath(current))
            if not _within(current, root):
                raise ContainerMountError(f"subpath {str(current)!r} not within volume path {str(root)!r}")
            continue
        os.mkdir(current)
        os.chmod(current, perm)


def _write_if_changed(path: Path, content: bytes, mode: int) -> None:
    try:
        if path.read_bytes() == content:
            return
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def container_mounts(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    volume_paths: Mapping[str, Path],
    pod_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    pod_ips: Sequence[str] = (),
    termination_log_path: Path | None = None,
    cluster_domain: str = "cluster.local",
) -> list[MountSpec]:
    """Every mount of ``container``, in upstream's order: volumeMounts, /etc/hosts, termination log.

    ``volume_paths`` is what ``VolumeManager.setup_pod`` returned; ``env`` the container's
    resolved environment (for subPathExpr); ``termination_log_path`` the per-instance file the
    caller chose under ``pod_dir/containers/<name>/`` (created here, mode 0666).
    """
    volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or ()}
    privileged = bool((container.get("securityContext") or {}).get("privileged"))
    name = container.get("name", "")
    out: list[MountSpec] = []
    for vm in container.get("volumeMounts") or ():
        volume_name = vm.get("name", "")
        if volume_name not in volume_paths or volume_name not in volumes:
            raise ContainerMountError(f"cannot find volume {volume_name!r} to mount into container {name!r}")
        host_path = volume_paths[volume_name]
        sub_path = str(vm.get("subPath") or "")
        if vm.get("subPathExpr"):
            sub_path = expand_subpath_expr(str(vm["subPathExpr"]), env or {})
        if sub_path:
            try:
                host_path = resolve_subpath(host_path, sub_path)
            except OSError as e:
                raise ContainerMountError(
                    f"failed to create subPath directory for volumeMount {volume_name!r} of container {name!r}"
                ) from e
        out.append(MountSpec(
            container_path=str(vm.get("mountPath", "")), host_path=host_path,
            readonly=mount_readonly(vm, volumes[volume_name]),
            propagation=mount_propagation(vm, privileged=privileged)))

    if wants_etc_hosts(pod, container, pod_ips):
        hosts = pod_dir / ETC_HOSTS_FILE
        pod_dir.mkdir(parents=True, exist_ok=True)
        _write_if_changed(hosts, render_etc_hosts(pod, pod_ips, cluster_domain=cluster_domain).encode(), 0o644)
        out.append(MountSpec(container_path=ETC_HOSTS, host_path=hosts))

    message_path = container.get("terminationMessagePath", DEFAULT_TERMINATION_MESSAGE_PATH)
    if message_path and termination_log_path is not None:
        termination_log_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(termination_log_path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o666)
        os.fchmod(fd, 0o666)  # the container may run as any user and must be able to write it
        os.close(fd)
        out.append(MountSpec(container_path=str(message_path), host_path=termination_log_path))
    return out
