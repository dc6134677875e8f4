"""Every filesystem test works in its own directory under /tmp/kyb-h4 (this area's data root) and
leaves nothing behind: mounts below it are undone before it is deleted."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kybernetes.kubelet.volumes.mounts import LinuxMounter, mounts_under

DATA_ROOT = Path("/tmp/kyb-h4")


@pytest.fixture
def work() -> Iterator[Path]:
    path = DATA_ROOT / f"t-{uuid.uuid4().hex[:10]}"
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        mounter = LinuxMounter()
        for m in mounts_under(mounter.list_mounts(), path):
            mounter.unmount(Path(m.mount_point))
        shutil.rmtree(path, ignore_errors=True)
