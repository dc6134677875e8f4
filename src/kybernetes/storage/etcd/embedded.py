"""An etcd member run as a supervised child process (``kyb server --cluster-init``).

The member's settings are a value (``MemberConfig``) turned into etcd's command line by a pure
function (``etcd_command``); ``EtcdSupervisor`` starts the process, restarts it when it dies and
stops it by its PID. A first server creates a one-member cluster (``initial_cluster_state``
"new"); a server joining an existing cluster runs a member with the whole ``initial_cluster``
and state "existing" after the cluster has been told about it (etcd's MemberAdd). Once a member's
data directory exists etcd ignores the initial-cluster settings, so restarts need nothing else.

Layout: the data lives in DATA_DIR/db/etcd, the member's name in DATA_DIR/db/etcd-name (chosen
once: etcd refuses to restart a member under another name), its log in DATA_DIR/logs/etcd.log.
Clients talk to the member on 127.0.0.1 only; peers reach it on the node address.

Theory of operation:
  1. ``start`` spawns etcd and returns once its /health endpoint answers healthy.
  2. A supervising task waits for the process; if it exits while not stopping, it is spawned
     again after a pause that doubles up to a limit (and resets once a run lasted a minute).
     Clients ride over the gap: EtcdStorage reconnects and resumes watches.
  3. ``stop`` sets stopping first, then SIGTERM, then SIGKILL after a grace period.
  4. The member's PID is kept in DATA_DIR/db/etcd.pid. A server killed outright leaves its etcd
     running; the next start finds it by that file (checking its command line names this data
     dir) and stops it before starting its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from kybernetes.storage.etcd.settings import DEFAULT_CLIENT_PORT, DEFAULT_PEER_PORT

log = logging.getLogger(__name__)

_RESTART_PAUSE = (0.2, 10.0)
_STABLE_RUN = 60.0  # a run this long resets the restart pause


@dataclass(frozen=True, slots=True)
class MemberConfig:
    name: str
    data_dir: Path
    client_url: str  # where this member serves clients (listened on and advertised)
    peer_url: str  # where the other members reach this one (listened on and advertised)
    # "name=peer_url,..." of every member; defaults to this member alone
    initial_cluster: str = ""
    initial_cluster_state: str = "new"  # or "existing" when joining
    initial_cluster_token: str = "kybernetes"
    binary: str = ""
    extra_args: tuple[str, ...] = field(default=())

    @property
    def cluster(self) -> str:
        return self.initial_cluster or f"{self.name}={self.peer_url}"


def etcd_command(config: MemberConfig) -> list[str]:
    """etcd's command line for `config`."""
    return [
        config.binary or shutil.which("etcd") or "/usr/bin/etcd",
        f"--name={config.name}",
        f"--data-dir={config.data_dir}",
        f"--listen-client-urls={config.client_url}",
        f"--advertise-client-urls={config.client_url}",
        f"--listen-peer-urls={config.peer_url}",
        f"--initial-advertise-peer-urls={config.peer_url}",
        f"--initial-cluster={config.cluster}",
        f"--initial-cluster-state={config.initial_cluster_state}",
        f"--initial-cluster-token={config.initial_cluster_token}",
        # 3.4 keeps every revision until told otherwise; the API server compacts nothing yet,
        # so let etcd keep the last hour of history and no more
        "--auto-compaction-mode=periodic",
        "--auto-compaction-retention=1h",
        *config.extra_args,
    ]


def member_name(data_dir: Path) -> str:
    """This server's etcd member name, chosen once per data dir (hostname plus a random suffix,
    so two servers with one hostname still differ)."""
    path = data_dir / "db" / "etcd-name"
    with contextlib.suppress(FileNotFoundError):
        name = path.read_text().strip()
        if name:
            return name
    name = f"{socket.gethostname().split('.')[0] or 'kyb'}-{secrets.token_hex(4)}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(name + "\n")
    return name


def embedded_member(
    data_dir: Path,
    *,
    node_address: str,
    client_port: int = DEFAULT_CLIENT_PORT,
    peer_port: int = DEFAULT_PEER_PORT,
    initial_cluster: str = "",
    initial_cluster_state: str = "new",
) -> MemberConfig:
    """The member a `kyb server` with DATA_DIR runs."""
    host = f"[{node_address}]" if ":" in node_address else node_address
    return MemberConfig(
        name=member_name(data_dir),
        data_dir=data_dir / "db" / "etcd",
        client_url=f"http://127.0.0.1:{client_port}",
        peer_url=f"http://{host}:{peer_port}",
        initial_cluster=initial_cluster,
        initial_cluster_state=initial_cluster_state,
    )


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the server process dies (Linux prctl)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class EtcdSupervisor:
    def __init__(self, config: MemberConfig, *, log_path: Path) -> None:
        self.config = config
        self.log_path = log_path
        self.restarts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def client_url(self) -> str:
        return self.config.client_url

    @property
    def pid_path(self) -> Path:
        return self.config.data_dir.parent / "etcd.pid"

    def _spawn(self) -> None:
        self.config.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            # Own session: a signal to the server's process group must not kill etcd behind the
            # supervisor's back (it would restart it while the server is going down); the
            # parent-death signal still ends etcd when the server dies, even by SIGKILL.
            self._proc = subprocess.Popen(
                etcd_command(self.config),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        self.pid_path.write_text(f"{self._proc.pid}\n")
        log.info("etcd member %s started (pid %d)", self.config.name, self._proc.pid)

    async def start(self, timeout: float = 60.0) -> None:
        stop_stale_member(self.pid_path, self.config.data_dir)
        self._spawn()
        await self.wait_healthy(timeout)
        self._task = asyncio.create_task(self._supervise(), name="etcd-supervisor")

    async def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None and self._task is None:
                raise RuntimeError(f"etcd exited with {self._proc.returncode}: {self._log_tail()}")
            if await healthy(self.config.client_url):
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"etcd not healthy after {timeout:g}s: {self._log_tail()}")

    async def _supervise(self) -> None:
        pause = _RESTART_PAUSE[0]
        while not self._stopping:
            started = time.monotonic()
            proc = self._proc
            assert proc is not None
            code = await asyncio.to_thread(proc.wait)
            if self._stopping:
                return
            if time.monotonic() - started > _STABLE_RUN:
                pause = _RESTART_PAUSE[0]
            log.warning("etcd exited with %s; restarting in %.1fs", code, pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, _RESTART_PAUSE[1])
            if self._stopping:
                return
            self.restarts += 1
            self._spawn()

    async def stop(self, grace: float = 10.0) -> None:
        self._stopping = True
        proc = self._proc
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                await asyncio.to_thread(proc.wait, grace)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                await asyncio.to_thread(proc.wait)
        with contextlib.suppress(FileNotFoundError):
            self.pid_path.unlink()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, 5)

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-2000:]
        return ""


def stop_stale_member(pid_path: Path, data_dir: Path) -> None:
    """Kill the etcd a previous, killed server left running on `data_dir` (invariant 4)."""
    try:
        pid = int(pid_path.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return
    if f"--data-dir={data_dir}".encode() not in cmdline:
        return  # the PID was reused by something else
    log.warning("stopping etcd (pid %d) left running by a previous server", pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        # an orphan is reaped by init; wait until it is gone so its ports are free
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)


async def healthy(client_url: str) -> bool:
    """Whether the member at `client_url` answers its /health endpoint with health "true"."""
    import aiohttp

    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session,
            session.get(f"{client_url}/health") as response,
        ):
            body = await response.json(content_type=None)
            return response.status == 200 and str(body.get("health")) == "true"
    except (TimeoutError, aiohttp.ClientError, OSError, ValueError):
        return False
