"""The node's side of the built-in local-path provisioner: the directories behind its volumes.

The provisioner (controllers/volume/localpath.py) runs in the controller manager and may be on
another machine, so it only writes API objects; this node owns the disk. Design, chosen for being
the simplest that stays correct across restarts and node outages:

- Where: the agent publishes ``kybernetes.io/local-path-root: <data dir>/storage`` on its Node;
  the provisioner puts each volume at ``<root>/<pv name>`` (``pvc-<claim uid>``).
- Create on first mount: a ``local`` PersistentVolume annotated ``pv.kubernetes.io/provisioned-by:
  kybernetes.io/local-path`` whose directory is missing is created (mode 0777, so containers
  running as any user can write, as other local-path provisioners do) when a pod mounts it. No
  round trip, nothing to do for volumes never used.
- Remove when the PersistentVolume is gone: a PV informer wakes a collector on every deletion
  (and every ``period`` seconds); it removes directories under the root that look like provisioned
  volumes (``pvc-<uuid>``), are named by no PV in the cache, and — checked against the API right
  before removal, so a lagging cache never costs data — have no PersistentVolume of that name.
  A node that was down when its volume was deleted cleans up when it comes back.

Nothing here ever touches a directory it did not create by that naming rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from kybernetes.api.resources import lookup
from kybernetes.client import APIClient, Informer, is_not_found
from kybernetes.client.rest import ResourceLike
from kybernetes.machinery import pvbinding as pb

log = logging.getLogger("kyb.kubelet.localpath")

PVS: ResourceLike = lookup("", "v1", "persistentvolumes")  # type: ignore[assignment]
NODES: ResourceLike = lookup("", "v1", "nodes")  # type: ignore[assignment]
VOLUME_DIR = re.compile(r"^pvc-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DIR_MODE = 0o777
COLLECT_PERIOD = 30.0


def is_provisioned_here(pv: Mapping[str, Any]) -> bool:
    return pb.annotations_of(pv).get(pb.ANN_PROVISIONED_BY) == pb.LOCAL_PATH_PROVISIONER


def prepare_dir(pv: Mapping[str, Any], path: Path) -> bool:
    """Create the missing directory of a local-path volume; False for any other volume."""
    if not is_provisioned_here(pv) or not path.is_absolute():
        return False
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)  # the umask must not narrow it
    return True


def volume_paths(pvs: Iterable[Mapping[str, Any]]) -> set[str]:
    out = set()
    for pv in pvs:
        spec = pv.get("spec") or {}
        for source in ("local", "hostPath"):
            path = (spec.get(source) or {}).get("path")
            if path:
                out.add(os.path.normpath(str(path)))
    return out


def orphan_candidates(root: Path, entries: Iterable[str], pvs: Iterable[Mapping[str, Any]]) -> list[str]:
    """Directory names under `root` that look like provisioned volumes no PV refers to."""
    used = volume_paths(pvs)
    return sorted(n for n in entries if VOLUME_DIR.match(n) and os.path.normpath(str(root / n)) not in used)


class LocalPathStorage:
    """Publishes the node's volume root and removes directories of deleted volumes."""

    def __init__(
        self, client: APIClient, node_name: str, root: Path, *, period: float = COLLECT_PERIOD
    ) -> None:
        self.client = client
        self.node_name = node_name
        self.root = Path(os.path.abspath(root))
        self.period = period
        self.volumes = Informer(client, PVS)
        self._wake = asyncio.Event()

    async def run(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        await self._publish_root()
        self.volumes.add_handlers(on_delete=lambda _pv: self._wake.set())
        self.volumes.start()
        try:
            await self.volumes.wait_synced()
            while True:
                try:
                    await self.collect()
                except Exception:
                    log.warning("local-path cleanup failed", exc_info=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.period)
                self._wake.clear()
        finally:
            await self.volumes.stop()

    async def _publish_root(self) -> None:
        patch = {"metadata": {"annotations": {pb.ANN_LOCAL_PATH_ROOT: str(self.root)}}}
        for attempt in range(30):
            try:
                await self.client.patch(NODES, self.node_name, patch)
                return
            except Exception as e:
                if attempt == 29:
                    log.warning("cannot publish the local-path root on node %s: %s", self.node_name, e)
                await asyncio.sleep(1)

    async def collect(self) -> list[str]:
        """Remove the directories of volumes that no longer exist; the names removed."""
        if not self.volumes.has_synced():
            return []
        try:
            entries = [e.name for e in os.scandir(self.root) if e.is_dir(follow_symlinks=False)]
        except FileNotFoundError:
            return []
        removed = []
        for name in orphan_candidates(self.root, entries, self.volumes.store.list()):
            try:
                pv = await self.client.get(PVS, name)
            except Exception as e:
                if not is_not_found(e):
                    raise
                pv = None
            if pv is not None:
                continue  # the cache lagged behind a new volume (or one of that name lives elsewhere)
            shutil.rmtree(self.root / name, ignore_errors=True)
            log.info("removed the directory of deleted volume %s", name)
            removed.append(name)
        return removed
