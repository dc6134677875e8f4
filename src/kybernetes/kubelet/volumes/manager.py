"""Set up, refresh and tear down a pod's volumes on this node.

The pod executor calls ``setup_pod`` before creating containers and hands the returned host
paths to ``container_mounts``; it calls ``refresh_pod`` on running pods so configMap, secret,
downwardAPI and projected volumes follow their sources, and ``teardown_pod`` once a pod is gone.

Layout (upstream's): ``<pods_dir>/<uid>/volumes/<plugin>/<volume>``, plugin names like
``kubernetes.io~secret``. hostPath and persistent volumes are used in place.

Invariants:
  1. Secret content never touches disk: secret volumes, and projected volumes carrying secrets
     or tokens, are written only after a tmpfs is mounted on their directory.
  2. ``setup_pod`` is idempotent: an existing emptyDir keeps its data, a mounted tmpfs is not
     mounted twice, an unchanged projection is not rewritten. A failed call can be retried.
  3. ``teardown_pod`` trusts only the kernel's mount table: it unmounts every mount below the
     pod directory (deepest first) and deletes the directory only when none is left, so it
     never deletes through a mount; it works after a crash and when called twice.
  4. Calls for one pod are serialised by a per-pod lock (the atomic writer needs one writer).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from kybernetes.kubelet.volumes import kinds, localpath
from kybernetes.kubelet.volumes.atomic_writer import FileProjection, current_data_dir, write_atomically
from kybernetes.kubelet.volumes.hostpath import check_host_path
from kybernetes.kubelet.volumes.mounts import LinuxMounter, Mounter, mounts_under
from kybernetes.kubelet.volumes.projections import (
    Payload,
    VolumeSetupError,
    configmap_payload,
    downward_api_payload,
    needs_memory_medium,
    projected_payload,
    secret_payload,
)
from kybernetes.machinery.quantity import parse_quantity

log = logging.getLogger(__name__)

ObjectGetter = Callable[[str, str], Awaitable[dict[str, Any] | None]]
PVGetter = Callable[[str], Awaitable[dict[str, Any] | None]]
TokenSource = Callable[[dict[str, Any], dict[str, Any]], Awaitable[str]]

EMPTY_DIR_MODE = 0o777


def memory_volume_size(
    pod: Mapping[str, Any], node_allocatable: Mapping[str, Any], size_limit: Any = None,
) -> int | None:
    """tmpfs size for a memory-backed volume: the smallest of node allocatable memory, the pod's
    memory limit (when every container has one) and the volume's sizeLimit; None = no cap known."""
    size: int | None = None
    if node_allocatable.get("memory") is not None:
        size = parse_quantity(str(node_allocatable["memory"])).value_int()
    pod_limit = pod_memory_limit(pod)
    if pod_limit and (size is None or pod_limit < size):
        size = pod_limit
    if size_limit is not None:
        limit = parse_quantity(str(size_limit)).value_int()
        if limit > 0 and (size is None or limit < size):
            size = limit
    return size


def pod_memory_limit(pod: Mapping[str, Any]) -> int | None:
    """The pod cgroup's memory limit, or None unless every container (init ones too) sets one.

    Sidecars (init containers with restartPolicy Always) run alongside the app containers and
    add to them; a regular init container runs with the sidecars started before it.
    """
    spec = pod.get("spec") or {}
    limits: list[tuple[Mapping[str, Any], int | None]] = []
    for c in (*(spec.get("initContainers") or ()), *(spec.get("containers") or ())):
        value = ((c.get("resources") or {}).get("limits") or {}).get("memory")
        limits.append((c, parse_quantity(str(value)).value_int() if value is not None else None))
    if not spec.get("containers") or any(v is None or v <= 0 for _, v in limits):
        return None
    inits = len(spec.get("initContainers") or ())
    sidecars = init_peak = 0
    for c, v in limits[:inits]:
        assert v is not None
        if c.get("restartPolicy") == "Always":
            sidecars += v
        else:
            init_peak = max(init_peak, v + sidecars)
    app = sum(v for _, v in limits[inits:] if v is not None)
    return max(app + sidecars, init_peak)


def _fs_group(pod: Mapping[str, Any]) -> int | None:
    value = ((pod.get("spec") or {}).get("securityContext") or {}).get("fsGroup")
    return int(value) if value is not None else None


class VolumeManager:
    def __init__(
        self,
        pods_dir: Path,
        *,
        get_configmap: ObjectGetter,
        get_secret: ObjectGetter,
        get_pvc: ObjectGetter,
        get_pv: PVGetter,
        node_allocatable: Mapping[str, Any],
        service_account_token: TokenSource | None = None,
        mounter: Mounter | None = None,
    ) -> None:
        # Mount points in mountinfo are canonical paths; compare like with like.
        self.pods_dir = Path(os.path.realpath(pods_dir))
        self._get_configmap = get_configmap
        self._get_secret = get_secret
        self._get_pvc = get_pvc
        self._get_pv = get_pv
        self.node_allocatable = dict(node_allocatable)
        self._token = service_account_token
        self._mounter: Mounter = mounter or LinuxMounter()
        self._locks: dict[str, asyncio.Lock] = {}

    # --- paths ----------------------------------------------------------------------------------

    def pod_dir(self, uid: str) -> Path:
        return self.pods_dir / uid

    def volume_dir(self, uid: str, kind: str, name: str) -> Path:
        return self.pod_dir(uid) / "volumes" / kinds.PLUGIN_DIRS[kind] / name

    def mounted_pods(self) -> set[str]:
        """UIDs that have a pod directory here (for orphan cleanup)."""
        try:
            return {e.name for e in os.scandir(self.pods_dir) if e.is_dir(follow_symlinks=False)}
        except FileNotFoundError:
            return set()

    def _lock(self, uid: str) -> asyncio.Lock:
        return self._locks.setdefault(uid, asyncio.Lock())

    # --- setup ----------------------------------------------------------------------------------

    async def setup_pod(self, pod: dict[str, Any]) -> dict[str, Path]:
        """Make every volume of ``pod`` ready; volume name → host path (directory or file)."""
        uid = str(pod["metadata"]["uid"])
        async with self._lock(uid):
            paths: dict[str, Path] = {}
            failures: dict[str, str] = {}
            for volume in (pod.get("spec") or {}).get("volumes") or ():
                name = str(volume.get("name", ""))
                try:
                    paths[name] = await self._setup_volume(pod, volume)
                except VolumeSetupError as e:
                    failures[name] = str(e)
                except OSError as e:
                    failures[name] = f"{e.strerror or e}: {e.filename}" if e.filename else str(e)
            if failures:
                first = next(iter(failures))
                raise VolumeSetupError(
                    f'MountVolume.SetUp failed for volume "{first}" : {failures[first]}',
                    volume=first, failures=failures)
            return paths

    async def _setup_volume(self, pod: dict[str, Any], volume: Mapping[str, Any]) -> Path:
        kind = kinds.volume_kind(volume)
        uid, name = str(pod["metadata"]["uid"]), str(volume.get("name", ""))
        if kind == kinds.HOST_PATH:
            path = Path(str(volume[kind].get("path", "")))
            check_host_path(path, volume[kind].get("type"))
            return path
        if kind == kinds.PVC:
            return await self._setup_pvc(pod, volume[kind])
        if kind == kinds.EMPTY_DIR:
            return self._setup_empty_dir(pod, volume, self.volume_dir(uid, kind, name))
        if kind in kinds.PROJECTED_KINDS:
            directory = self.volume_dir(uid, kind, name)
            self._prepare_dir(directory, memory=needs_memory_medium(volume), pod=pod, size_limit=None)
            group = _fs_group(pod)
            if group is not None:
                os.chown(directory, -1, group)
            await self._project(pod, volume, directory)
            return directory
        raise VolumeSetupError("no volume plugin matched")

    def _setup_empty_dir(self, pod: Mapping[str, Any], volume: Mapping[str, Any], directory: Path) -> Path:
        source = volume[kinds.EMPTY_DIR]
        medium = source.get("medium") or ""
        if medium not in ("", "Memory"):
            raise VolumeSetupError(f"emptyDir medium {medium!r} is not supported on this node")
        self._prepare_dir(directory, memory=medium == "Memory", pod=pod, size_limit=source.get("sizeLimit"))
        group = _fs_group(pod)
        if group is not None:
            # New files inherit the group through the setgid bit, as upstream's ownership walk sets.
            os.chown(directory, -1, group)
            os.chmod(directory, os.stat(directory).st_mode & 0o7777 | 0o2000)
        return directory

    def _prepare_dir(self, directory: Path, *, memory: bool, pod: Mapping[str, Any], size_limit: Any) -> None:
        if not directory.is_dir():
            directory.mkdir(parents=True, exist_ok=True)
            os.chmod(directory, EMPTY_DIR_MODE)  # umask must not narrow it
        if memory and not self._is_mounted(directory):
            self._mounter.mount_tmpfs(directory, size_bytes=memory_volume_size(pod, self.node_allocatable,
                                                                             size_limit))

    def _is_mounted(self, directory: Path) -> bool:
        # A stat against the parent (a mount point has another device) instead of parsing
        # /proc/self/mountinfo, which grows with every pod on the host and was the agent's biggest
        # cost in a burst of pod starts (bench/node_bench.py profile).
        return os.path.ismount(directory)

    async def _setup_pvc(self, pod: Mapping[str, Any], source: Mapping[str, Any]) -> Path:
        namespace = str(pod["metadata"].get("namespace", ""))
        claim_name = str(source.get("claimName", ""))
        pvc = await self._get_pvc(namespace, claim_name)
        if pvc is None:
            raise VolumeSetupError(f'persistentvolumeclaim "{claim_name}" not found')
        if (pvc.get("metadata") or {}).get("deletionTimestamp"):
            raise VolumeSetupError(f'persistentvolumeclaim "{claim_name}" is being deleted')
        phase = (pvc.get("status") or {}).get("phase", "")
        pv_name = (pvc.get("spec") or {}).get("volumeName", "")
        if phase != "Bound" or not pv_name:
            raise VolumeSetupError(
                f'PVC {namespace}/{claim_name} has non-bound phase ("{phase}") or empty pvc.Spec.VolumeName ("{pv_name}")')
        pv = await self._get_pv(pv_name)
        if pv is None:
            raise VolumeSetupError(f'persistentvolume "{pv_name}" not found')
        claim_ref = (pv.get("spec") or {}).get("claimRef") or {}
        pvc_uid = (pvc.get("metadata") or {}).get("uid")
        if claim_ref.get("uid") and pvc_uid and claim_ref["uid"] != pvc_uid:
            raise VolumeSetupError(f'the PV\'s claimRef ("{claim_ref.get("uid")}") does not point to the PVC ("{pvc_uid}")')
        spec = pv.get("spec") or {}
        if spec.get("hostPath") is not None:
            path = Path(str(spec["hostPath"].get("path", "")))
            check_host_path(path, spec["hostPath"].get("type"))
            return path
        if spec.get("local") is not None:
            path = Path(str(spec["local"].get("path", "")))
            if not path.exists() and not localpath.prepare_dir(pv, path):
                raise VolumeSetupError(f"local volume path {path} does not exist")
            return path
        raise VolumeSetupError(f'persistentvolume "{pv_name}" has a volume type this node cannot mount')

    # --- projection ------------------------------------------------------------------------------

    async def _payload(self, pod: dict[str, Any], volume: Mapping[str, Any]) -> Payload:
        namespace = str(pod["metadata"].get("namespace", ""))
        kind = kinds.volume_kind(volume)
        if kind == kinds.CONFIG_MAP:
            source = volume[kind]
            return configmap_payload(source, await self._fetch(self._get_configmap, namespace, source.get("name")))
        if kind == kinds.SECRET:
            source = volume[kind]
            return secret_payload(source, await self._fetch(self._get_secret, namespace, source.get("secretName")))
        if kind == kinds.DOWNWARD_API:
            source = volume[kind]
            mode = source.get("defaultMode")
            return downward_api_payload(source.get("items"), pod, self.node_allocatable,
                                        int(mode) if mode is not None else 0o644)
        source = volume[kinds.PROJECTED]
        configmaps: dict[str, dict[str, Any] | None] = {}
        secrets: dict[str, dict[str, Any] | None] = {}
        tokens: dict[str, str] = {}
        for s in source.get("sources") or ():
            if s.get("configMap") is not None:
                cm_name = str(s["configMap"].get("name", ""))
                configmaps[cm_name] = await self._fetch(self._get_configmap, namespace, cm_name)
            elif s.get("secret") is not None:
                secret_name = str(s["secret"].get("name", ""))
                secrets[secret_name] = await self._fetch(self._get_secret, namespace, secret_name)
            elif s.get("serviceAccountToken") is not None and self._token is not None:
                projection = s["serviceAccountToken"]
                try:
                    tokens[str(projection.get("path", ""))] = await self._token(pod, projection)
                except Exception as e:
                    raise VolumeSetupError(f"failed to fetch token: {e}") from e
        return projected_payload(
            source, pod, get_configmap=configmaps.get, get_secret=secrets.get,
            node_allocatable=self.node_allocatable,
            service_account_token=(lambda p: tokens[str(p.get("path", ""))]) if self._token else None,
            fs_owner_set=_fs_group(pod) is not None)

    async def _fetch(self, getter: ObjectGetter, namespace: str, name: Any) -> dict[str, Any] | None:
        try:
            return await getter(namespace, str(name or ""))
        except Exception as e:
            raise VolumeSetupError(str(e)) from e

    async def _project(self, pod: dict[str, Any], volume: Mapping[str, Any], directory: Path) -> bool:
        payload = await self._payload(pod, volume)
        group = _fs_group(pod)
        owner = None
        if group is not None:
            # fsGroup: files belong to the group and are group-readable (read-only volume mask).
            owner = (-1, group)
            payload = {p: FileProjection(f.data, f.mode | 0o440) for p, f in payload.items()}
        return await asyncio.to_thread(write_atomically, directory, payload, owner=owner)

    async def refresh_pod(self, pod: dict[str, Any]) -> list[str]:
        """Re-project the pod's configMap/secret/downwardAPI/projected volumes that are set up;
        the names whose content changed. A source that fails now keeps its last content."""
        uid = str(pod["metadata"]["uid"])
        changed: list[str] = []
        async with self._lock(uid):
            for volume in (pod.get("spec") or {}).get("volumes") or ():
                kind = kinds.volume_kind(volume)
                if kind not in kinds.PROJECTED_KINDS:
                    continue
                name = str(volume.get("name", ""))
                directory = self.volume_dir(uid, kind, name)
                if not directory.is_dir() or current_data_dir(directory) is None:
                    continue  # never set up: setup_pod's job
                if needs_memory_medium(volume) and not self._is_mounted(directory):
                    log.error("volume %s of pod %s lost its tmpfs; not writing secrets to disk", name, uid)
                    continue
                try:
                    if await self._project(pod, volume, directory):
                        changed.append(name)
                except (VolumeSetupError, OSError) as e:
                    log.warning("refresh of volume %s of pod %s failed: %s", name, uid, e)
        return changed

    # --- teardown --------------------------------------------------------------------------------

    async def teardown_pod(self, uid: str) -> None:
        """Unmount everything below the pod directory and delete it; safe to repeat."""
        if not uid or "/" in uid or uid in (".", ".."):
            raise ValueError(f"invalid pod uid {uid!r}")
        pod_dir = self.pod_dir(uid)
        async with self._lock(uid):
            for mount in mounts_under(self._mounter.list_mounts(), pod_dir):
                self._mounter.unmount(Path(mount.mount_point))
            left = mounts_under(self._mounter.list_mounts(), pod_dir)
            if left:
                raise OSError(f"pod {uid}: still mounted after unmount: {[m.mount_point for m in left]}")
            if pod_dir.exists():
                await asyncio.to_thread(shutil.rmtree, pod_dir)
        self._locks.pop(uid, None)
