"""A private containerd for one node: its config, its CNI network, and a supervisor that keeps it up.

Every node agent starts its own containerd with a generated config so that several nodes can share
one host (tests, multi-node on one machine): root, state, socket, runc root, CNI conf/IPAM dirs,
bridge, pod subnet and stream server are all per node (node-runtime-notes pitfall 2).
``render_config`` and ``render_cni_conflist`` are pure; ``ContainerdSupervisor`` writes them,
runs ``containerd --config FILE`` and restarts it when it dies (pods survive: the shims outlive
it). ``check_node_prerequisites`` explains, before anything starts, why a node cannot run.

Egress NAT: the CNI bridge plugin's ``ipMasq`` masquerades everything that leaves the pod subnet,
other nodes' pods included, and has no way to exempt the cluster CIDR. Pods must see each other's
real IPs, so the conflist turns it off; the node networking code (issue 7) adds one nftables rule
per node, masquerading traffic from the node's pod CIDR to destinations outside the cluster CIDR.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kybernetes.kubelet.cri.client import CRIClient
from kybernetes.kubelet.cri.errors import CRIError

log = logging.getLogger(__name__)

# The name kybernetes.images.testimages gives the static pause it builds and imports (`kyb image import`).
PAUSE_IMAGE = "kybernetes.local/pause:3.10"
CNI_BIN_DIR = Path("/usr/lib/cni")
RUNC_BINARY = "/usr/sbin/runc"
CNI_PLUGINS = ("bridge", "host-local", "portmap", "loopback")
# Snapshotters and tracing plugins the node never uses; disabling them trims startup noise.
DISABLED_PLUGINS = (
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.zfs",
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.tracing.processor.v1.otlp",
    "io.containerd.internal.v1.tracing",
)
CRI_PLUGIN = "io.containerd.grpc.v1.cri"


class ContainerdError(RuntimeError):
    """containerd could not be started (the message carries the tail of its log)."""


@dataclass
class ContainerdSettings:
    root_dir: Path                      # the node's data dir; everything containerd owns lives below it
    node_name: str
    pod_cidr: str                       # this node's pod subnet, e.g. 10.42.1.0/24
    cluster_cidr: str = "10.42.0.0/16"
    bridge: str = "kyb0"                # Linux interface names are at most 15 characters
    network_name: str = "kyb"
    stream_address: str = "127.0.0.1"   # the node IP the exec/attach/port-forward server binds
    pause_image: str = PAUSE_IMAGE
    netns: str | None = None            # run containerd inside /var/run/netns/NAME (multi-node)
    registry_config_dir: Path | None = None  # containerd `config_path`: <registry>/hosts.toml dirs
    mtu: int = 0                        # pod interfaces' MTU; 0: the plugin's default (vxlan: underlay - 50)
    cni_bin_dir: Path = field(default=CNI_BIN_DIR)
    runc_binary: str = RUNC_BINARY
    containerd_binary: str = "containerd"
    log_level: str = "info"

    def __post_init__(self) -> None:
        self.root_dir = Path(self.root_dir)

    @property
    def containerd_dir(self) -> Path:
        return self.root_dir / "containerd"

    @property
    def config_path(self) -> Path:
        return self.containerd_dir / "config.toml"

    @property
    def containerd_root(self) -> Path:
        return self.containerd_dir / "root"

    @property
    def state_dir(self) -> Path:
        return self.containerd_dir / "state"

    @property
    def socket_path(self) -> Path:
        return self.containerd_dir / "containerd.sock"

    @property
    def ttrpc_socket_path(self) -> Path:
        return self.containerd_dir / "containerd.sock.ttrpc"

    @property
    def runc_root(self) -> Path:
        return self.containerd_dir / "runc"

    @property
    def opt_dir(self) -> Path:
        return self.containerd_dir / "opt"

    @property
    def containerd_log(self) -> Path:
        return self.containerd_dir / "containerd.log"

    @property
    def cni_conf_dir(self) -> Path:
        return self.root_dir / "cni" / "net.d"

    @property
    def cni_conflist_path(self) -> Path:
        return self.cni_conf_dir / f"10-{self.network_name}.conflist"

    @property
    def cni_ipam_dir(self) -> Path:
        return self.root_dir / "cni" / "ipam"

    @property
    def log_dir(self) -> Path:
        """Where pod log directories go (``<log_dir>/<namespace>_<name>_<uid>/``)."""
        return self.root_dir / "pods"


# ---- pure rendering ----

def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str | Path):
        # JSON string escapes are valid TOML basic-string escapes.
        return json.dumps(str(v))
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"no TOML form for {type(v).__name__}")


def _toml_table(name: str, values: dict[str, Any]) -> list[str]:
    lines = [f"[{name}]"]
    lines += [f"  {k} = {_toml_value(v)}" for k, v in values.items()]
    return [*lines, ""]


def render_config(s: ContainerdSettings) -> str:
    """containerd's version 2 config for this node (node-runtime-notes, "config settings that matter")."""
    cri = f'plugins."{CRI_PLUGIN}"'
    out = [
        f"# containerd for kybernetes node {s.node_name}; generated, rewritten at every start.",
        "version = 2",
        f"root = {_toml_value(s.containerd_root)}",
        f"state = {_toml_value(s.state_dir)}",
        f"disabled_plugins = {_toml_value(list(DISABLED_PLUGINS))}",
        "",
    ]
    out += _toml_table("grpc", {"address": s.socket_path})
    out += _toml_table("ttrpc", {"address": s.ttrpc_socket_path})
    out += _toml_table("debug", {"level": s.log_level})
    out += _toml_table('plugins."io.containerd.internal.v1.opt"', {"path": s.opt_dir})
    out += _toml_table(cri, {
        "sandbox_image": s.pause_image,
        "stream_server_address": s.stream_address,
        "stream_server_port": "0",           # random: nodes on one host never collide
        "disable_apparmor": True,
        "enable_selinux": False,
        # Without CAP_SYS_RESOURCE runc cannot lower oom_score_adj and every sandbox fails.
        "restrict_oom_score_adj": True,
        "netns_mounts_under_state_dir": True,
        "max_container_log_line_size": 16384,
    })
    out += _toml_table(f"{cri}.containerd", {"snapshotter": "overlayfs", "default_runtime_name": "runc"})
    out += _toml_table(f"{cri}.containerd.runtimes.runc", {"runtime_type": "io.containerd.runc.v2"})
    out += _toml_table(f"{cri}.containerd.runtimes.runc.options", {
        "BinaryName": s.runc_binary,
        "SystemdCgroup": False,
        "Root": s.runc_root,                 # the default runc state dir is shared host-wide
    })
    out += _toml_table(f"{cri}.cni", {"bin_dir": s.cni_bin_dir, "conf_dir": s.cni_conf_dir, "max_conf_num": 1})
    out += _toml_table(f"{cri}.registry", {"config_path": s.registry_config_dir or ""})
    return "\n".join(out)


def render_cni_conflist(s: ContainerdSettings) -> dict[str, Any]:
    """The node's CNI network: bridge with host-local IPAM on the pod CIDR, then portmap for hostPorts."""
    return {
        "cniVersion": "1.0.0",
        "name": s.network_name,
        "plugins": [
            {
                "type": "bridge",
                "bridge": s.bridge,
                "isGateway": True,
                "hairpinMode": True,         # a pod reaching itself through a Service IP
                "ipMasq": False,             # see the module docstring: egress NAT is issue 7's rule
                **({"mtu": s.mtu} if s.mtu else {}),  # bridge, veths and the pod's eth0
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": s.pod_cidr}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(s.cni_ipam_dir),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def _alive(pid: int) -> bool:
    """Running and not a zombie (an orphan's new parent may be slow to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def containerd_command(s: ContainerdSettings) -> list[str]:
    """The argv that starts this node's containerd (inside its network namespace if it has one)."""
    cmd = [s.containerd_binary, "--config", str(s.config_path)]
    if s.netns:
        # Not `ip netns exec`: it remounts /sys and runc then finds no cgroup mounts (pitfall 10).
        cmd = ["nsenter", f"--net=/var/run/netns/{s.netns}", *cmd]
    return cmd


# ---- prerequisites ----

def check_node_prerequisites(settings: ContainerdSettings | None = None) -> list[str]:
    """Human-readable reasons this machine cannot run a node, each with its fix; empty means fine."""
    s = settings or ContainerdSettings(root_dir=Path("/nonexistent"), node_name="", pod_cidr="")
    problems: list[str] = []
    if os.geteuid() != 0:
        problems.append("not running as root: a node starts containerd, runc and CNI plugins; run it as root")
    if shutil.which(s.containerd_binary) is None:
        problems.append(f"{s.containerd_binary} not found on PATH: apt-get install containerd")
    elif shutil.which("containerd-shim-runc-v2") is None:
        problems.append("containerd-shim-runc-v2 not found on PATH: apt-get install containerd")
    if not (os.access(s.runc_binary, os.X_OK) or shutil.which(s.runc_binary)):
        problems.append(f"runc not found at {s.runc_binary}: apt-get install runc")
    missing = [p for p in CNI_PLUGINS if not os.access(s.cni_bin_dir / p, os.X_OK)]
    if missing:
        problems.append(f"CNI plugins {', '.join(missing)} missing from {s.cni_bin_dir}: "
                        "apt-get install containernetworking-plugins")
    if s.netns and shutil.which("nsenter") is None:
        problems.append("nsenter not found: apt-get install util-linux")
    if s.netns and not Path(f"/var/run/netns/{s.netns}").exists():
        problems.append(f"network namespace {s.netns} does not exist: ip netns add {s.netns}")
    problems += _kernel_problems(_read("/proc/self/mountinfo"), _read("/proc/filesystems"))
    return problems


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _kernel_problems(mountinfo: str, filesystems: str) -> list[str]:
    problems = []
    fstypes = {line.split(" - ", 1)[1].split()[0] for line in mountinfo.splitlines() if " - " in line}
    if not fstypes & {"cgroup", "cgroup2"}:
        problems.append("no cgroup filesystem is mounted: mount cgroup2 on /sys/fs/cgroup "
                        "(mount -t cgroup2 none /sys/fs/cgroup)")
    if filesystems and "overlay" not in filesystems.split():
        problems.append("the kernel lacks overlayfs, containerd's snapshotter: modprobe overlay")
    return problems


# ---- supervision ----

class ContainerdSupervisor:
    """Runs one node's containerd and restarts it when it dies (node-runtime-notes pitfall 13)."""

    def __init__(self, settings: ContainerdSettings, *, ready_timeout: float = 30.0,
                 max_restart_delay: float = 10.0) -> None:
        self.settings = settings
        self.ready_timeout = ready_timeout
        self.max_restart_delay = max_restart_delay
        self.restarts = 0
        self.last_start_seconds: float | None = None   # spawn → CRI Version answers
        self._proc: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._ready = asyncio.Event()

    @property
    def socket_path(self) -> str:
        return str(self.settings.socket_path)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.returncode is None else None

    @property
    def running(self) -> bool:
        return self.pid is not None and self._ready.is_set()

    def prepare(self) -> None:
        """Create the node's directories and write containerd's config and the CNI conflist."""
        s = self.settings
        for d in (s.containerd_dir, s.containerd_root, s.state_dir, s.runc_root, s.opt_dir,
                  s.cni_conf_dir, s.cni_ipam_dir, s.log_dir):
            d.mkdir(parents=True, exist_ok=True)
        s.config_path.write_text(render_config(s))
        s.cni_conflist_path.write_text(json.dumps(render_cni_conflist(s), indent=2) + "\n")

    async def start(self) -> None:
        """Write the config, start containerd and return once CRI answers; then keep it running."""
        if self._task is not None:
            return
        self._stopping = False
        self.prepare()
        await self._stop_orphan()
        await self._spawn_until_ready()
        self._task = asyncio.create_task(self._supervise(), name=f"containerd-{self.settings.node_name}")

    async def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until containerd answers CRI again (e.g. after a restart)."""
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM containerd, SIGKILL it after ``timeout``; running pods (shims) are left alone."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._terminate(timeout)
        self._ready.clear()
        self._remove_sockets()

    async def _terminate(self, timeout: float) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            if proc is not None:
                await proc.wait()
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    @property
    def _pid_file(self) -> Path:
        return self.settings.containerd_dir / "containerd.pid"

    async def _stop_orphan(self, timeout: float = 10.0) -> None:
        """A containerd left running by an agent that was killed holds the node's metadata lock, so
        a new one would hang: stop it first (the shims, and so the pods, keep running)."""
        try:
            pid = int(self._pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return
        if str(self.settings.config_path).encode() not in cmdline:
            return  # the pid was reused by something else
        log.info("stopping containerd pid %d left over from a previous agent", pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid):
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            await asyncio.sleep(0.05)

    def _remove_sockets(self) -> None:
        for p in (self.settings.socket_path, self.settings.ttrpc_socket_path):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()

    async def _spawn_until_ready(self) -> None:
        s = self.settings
        self._ready.clear()
        self._remove_sockets()   # a stale socket would make readiness checks lie
        env = dict(os.environ)
        env["PATH"] = env.get("PATH", "") + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        with open(s.containerd_log, "ab") as logf:
            logf.write(f"\n==== kybernetes: starting containerd at {time.strftime('%FT%T')}\n".encode())
            logf.flush()
            t0 = time.monotonic()
            self._proc = await asyncio.create_subprocess_exec(
                *containerd_command(s), stdin=asyncio.subprocess.DEVNULL, stdout=logf, stderr=logf,
                env=env, start_new_session=True)
        self._pid_file.write_text(f"{self._proc.pid}\n")
        try:
            await self._wait_cri(self._proc, t0 + self.ready_timeout)
        except BaseException:
            await self._terminate(2.0)
            raise
        self.last_start_seconds = time.monotonic() - t0
        self._ready.set()
        log.info("containerd for %s ready in %.0f ms (pid %d)", s.node_name,
                 self.last_start_seconds * 1000, self._proc.pid)

    async def _wait_cri(self, proc: asyncio.subprocess.Process, deadline: float) -> None:
        sock = self.settings.socket_path
        while True:
            if proc.returncode is not None:
                raise ContainerdError(f"containerd exited with {proc.returncode} during startup:\n{self._log_tail()}")
            if time.monotonic() > deadline:
                raise ContainerdError(f"containerd did not answer CRI within {self.ready_timeout}s:\n"
                                      f"{self._log_tail()}")
            if sock.exists():
                # A fresh channel per try: a failed dial puts a channel into reconnect backoff.
                client = CRIClient(str(sock), request_timeout=1.0)
                try:
                    await client.version()
                    return
                except CRIError:
                    pass
                finally:
                    await client.close()
            await asyncio.sleep(0.01)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = self.settings.containerd_log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    async def _supervise(self) -> None:
        delay = 0.1
        while not self._stopping:
            proc = self._proc
            if proc is not None:
                rc = await proc.wait()
                if self._stopping:
                    return
                log.warning("containerd for %s exited with %s; restarting", self.settings.node_name, rc)
            self._ready.clear()
            self.restarts += 1
            await asyncio.sleep(delay)
            try:
                await self._spawn_until_ready()
                delay = 0.1
            except ContainerdError as e:
                log.error("containerd for %s failed to restart: %s", self.settings.node_name, e)
                delay = min(delay * 2, self.max_restart_delay)
