"""Real containerd and a real `docker-registry` for the image tests, inside /tmp/kyb-h2.

The containerd here is a small private one (this task's own; the node agent's supervisor is
elsewhere): version-2 config with its own root, state, socket, runc root and certs.d, and
`restrict_oom_score_adj = true` (node-runtime-notes.md). Both daemons are stopped by PID.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kybernetes.images.testimages import PAUSE_IMAGE

WORK = Path("/tmp/kyb-h2")
REGISTRY_ADDRESS = "127.0.0.1:15002"


def _require(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.fail(f"{binary} is required for this test (Debian packages: containerd, docker-registry, skopeo)")
    return path


def _stop(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
    proc.wait()  # reap it: a zombie still answers kill(pid, 0)


def _unmount_under(root: Path) -> None:
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    for target in sorted((m for m in mounts if m.startswith(str(root) + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", target], check=False)


CONTAINERD_CONFIG = """\
version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "{d}/containerd.sock"

[ttrpc]
  address = "{d}/containerd.sock.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  enable_selinux = false
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        SystemdCgroup = false
        Root = "{d}/runc"

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{d}/cni"
    max_conf_num = 1

  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{d}/certs.d"
"""


class Containerd:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.socket = directory / "containerd.sock"
        self.certs_dir = directory / "certs.d"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = _require("containerd")
        for sub in ("root", "state", "runc", "cni", "certs.d", "opt"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        config = self.dir / "config.toml"
        config.write_text(CONTAINERD_CONFIG.format(d=self.dir, pause=PAUSE_IMAGE))
        self.socket.unlink(missing_ok=True)
        log = (self.dir / "containerd.log").open("wb")
        self.proc = subprocess.Popen([binary, "--config", str(config)], stdout=log, stderr=log,
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"containerd exited: {self.log_tail()}")
            if self.socket.exists() and self.ctr("version", check=False).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError(f"containerd did not answer: {self.log_tail()}")

    def log_tail(self) -> str:
        path = self.dir / "containerd.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def ctr(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["ctr", "-a", str(self.socket), "-n", "k8s.io", *args],
                              capture_output=True, text=True, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"ctr {' '.join(args)}: {done.stderr}")
        return done

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None
        _unmount_under(self.dir)


REGISTRY_CONFIG = """\
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {d}/storage
  delete:
    enabled: true
http:
  addr: {address}
{auth}"""


class Registry:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, htpasswd: Path | None = None) -> None:
        binary = _require("docker-registry")
        self.dir.mkdir(parents=True, exist_ok=True)
        auth = f"auth:\n  htpasswd:\n    realm: kybernetes-test\n    path: {htpasswd}\n" if htpasswd else ""
        config = self.dir / "config.yml"
        config.write_text(REGISTRY_CONFIG.format(d=self.dir, address=REGISTRY_ADDRESS, auth=auth))
        log = (self.dir / "registry.log").open("ab")
        self.proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log,
                                     start_new_session=True)
        log.close()
        host, port = REGISTRY_ADDRESS.split(":")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("docker-registry exited: " + (self.dir / "registry.log").read_text()[-2000:])
            with contextlib.suppress(OSError), socket.create_connection((host, int(port)), timeout=0.5):
                return
            time.sleep(0.05)
        raise RuntimeError("docker-registry did not listen on " + REGISTRY_ADDRESS)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None


@pytest.fixture(scope="module")
def work_dir() -> Iterator[Path]:
    d = WORK / f"e2e-{os.getpid()}"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    try:
        yield d
    finally:
        _unmount_under(d)
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def containerd(work_dir: Path) -> Iterator[Containerd]:
    c = Containerd(work_dir / "containerd")
    c.start()
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture()
def registry(work_dir: Path) -> Iterator[Registry]:
    r = Registry(work_dir / "registry")
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture(scope="module")
def test_images(work_dir: Path) -> dict[str, Path]:
    from kybernetes.images.testimages import ensure_test_images

    return ensure_test_images(work_dir / "cache")
