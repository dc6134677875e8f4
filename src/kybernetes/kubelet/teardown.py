"""Remove a node from a machine: every container, its containerd, mounts, bridge and pod cgroups.

Used by `kyb node-reset` and by the tests after a real node ran (the agent itself leaves pods
running when it stops, on purpose: a restarted agent adopts them). Works from the node's data
dir alone, without the API and without containerd answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path


def _pids_with(needle: str) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in cmd and int(entry) != os.getpid():
            out.append(int(entry))
    return out


def mounts_under(root: Path, mountinfo: str) -> list[str]:
    """Mount points at or below `root`, deepest first (so children unmount before parents)."""
    prefix = str(root).rstrip("/")
    points = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) > 4:
            point = fields[4].replace("\\040", " ")
            if point == prefix or point.startswith(prefix + "/"):
                points.append(point)
    return sorted(set(points), key=lambda p: -p.count("/"))


def _kill(pids: list[int], sig: int = signal.SIGKILL) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


async def _stop_all_sandboxes(socket: Path, *, wait: float = 5.0) -> int:
    from kybernetes.kubelet.cri.client import CRIClient

    deadline = time.monotonic() + wait
    while not socket.exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    async with CRIClient(str(socket), request_timeout=15.0) as cri:
        while True:  # a just-started containerd answers "not initialized yet" for a moment
            try:
                sandboxes = await asyncio.wait_for(cri.list_pod_sandbox(), wait)
                break
            except Exception:
                if time.monotonic() > deadline + 10:
                    raise
                await asyncio.sleep(0.1)
        for sb in sandboxes:
            await cri.stop_pod_sandbox(sb.id)
        return len(sandboxes)


def _run_isolated(socket: Path) -> int:
    """`_stop_all_sandboxes` in a thread of its own: callers may already run an event loop."""
    result: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(_stop_all_sandboxes(socket)))
        except Exception as e:
            errors.append(e)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(120)
    if errors:
        raise RuntimeError(str(errors[0]))
    return result[0] if result else 0


def stop_sandboxes(containerd_dir: Path) -> int:
    """Stop every pod sandbox through containerd, so that CNI's DEL runs: without it the portmap
    plugin's hostPort rules and host-local's address leases would outlive the pods. Starts the
    node's containerd for the purpose when none is running (its config is still on disk) — also
    when the one found was on its way out (the agent stops it as it exits)."""
    config, socket = containerd_dir / "config.toml", containerd_dir / "containerd.sock"
    if not config.exists() or shutil.which("containerd") is None:
        return 0
    if _pids_with(f"--config {config}"):
        try:
            return _run_isolated(socket)
        except RuntimeError:
            deadline = time.monotonic() + 10
            while _pids_with(f"--config {config}") and time.monotonic() < deadline:
                time.sleep(0.1)
            if _pids_with(f"--config {config}"):
                raise
    socket.unlink(missing_ok=True)  # a stale socket would make the wait for the new one lie
    started = subprocess.Popen(["containerd", "--config", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        return _run_isolated(socket)
    finally:
        started.terminate()
        try:
            started.wait(5)
        except subprocess.TimeoutExpired:
            started.kill()
            started.wait()


def teardown_node(data_dir: Path, *, bridge: str = "kyb0", cgroup_parent: str = "",
                  cluster_cidr: str = "") -> Iterator[str]:
    cgroup_parent = cgroup_parent or ("kubepods" if bridge == "kyb0" else f"kubepods-{bridge}")
    containerd_dir = data_dir / "containerd"
    try:
        yield f"stopped {stop_sandboxes(containerd_dir)} pod sandboxes"
    except RuntimeError as e:  # go on with the blunt tools below
        yield f"could not stop pod sandboxes through containerd: {e}"
    runc_root = containerd_dir / "runc" / "k8s.io"
    if runc_root.exists():
        listed = subprocess.run(["runc", "--root", str(runc_root), "list", "-q"], capture_output=True, text=True,
                                check=False)
        for cid in listed.stdout.split():
            subprocess.run(["runc", "--root", str(runc_root), "delete", "-f", cid], capture_output=True, check=False)
        yield f"deleted {len(listed.stdout.split())} containers"
    socket = str(containerd_dir / "containerd.sock")
    shims = _pids_with(f"-address {socket}")
    _kill(shims)
    daemons = _pids_with(f"--config {containerd_dir / 'config.toml'}")
    _kill(daemons, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in daemons):
        time.sleep(0.05)
    _kill([p for p in daemons if Path(f"/proc/{p}").exists()])
    yield f"stopped containerd ({len(daemons)}) and shims ({len(shims)})"
    unmounted = 0
    for point in mounts_under(data_dir, Path("/proc/self/mountinfo").read_text()):
        if subprocess.run(["umount", "-l", point], capture_output=True, check=False).returncode == 0:
            unmounted += 1
    yield f"unmounted {unmounted} mounts"
    proxy_table = "kyb-proxy" if bridge == "kyb0" else f"kyb-proxy-{bridge}"
    netpol_table = "kyb-netpol" if bridge == "kyb0" else f"kyb-netpol-{bridge}"
    for table in (proxy_table, f"{proxy_table}-b", netpol_table):  # the proxy alternates between two names
        if subprocess.run(["nft", "delete", "table", "ip", table], capture_output=True, check=False).returncode == 0:
            yield f"deleted nftables table {table}"
    if Path(f"/sys/class/net/{bridge}").exists():
        subprocess.run(["ip", "link", "del", bridge], capture_output=True, check=False)
        yield f"deleted bridge {bridge}"
    from kybernetes.kubelet.vxlan import device_name, remove_vxlan_device

    if remove_vxlan_device(bridge):  # its routes, neighbours and FDB entries go with it
        yield f"deleted vxlan device {device_name(bridge)}"
    if cluster_cidr:  # the pod routes to other nodes (kubelet/routes.py marks them with its proto)
        from kybernetes.kubelet.routes import ROUTE_PROTO, parse_owned_routes

        shown = subprocess.run(["ip", "-j", "-4", "route", "show", "proto", str(ROUTE_PROTO)], capture_output=True,
                               text=True, check=False)
        routes = parse_owned_routes(shown.stdout, cluster_cidr=cluster_cidr) if shown.returncode == 0 else {}
        for cidr in routes:
            subprocess.run(["ip", "route", "del", cidr, "proto", str(ROUTE_PROTO)], capture_output=True, check=False)
        yield f"removed {len(routes)} pod routes"
    removed = 0
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        parent = hierarchy / cgroup_parent
        if not parent.is_dir():
            continue
        for d in sorted(parent.rglob("pod*"), key=lambda p: -len(p.parts)):
            for child in sorted((c for c in d.rglob("*") if c.is_dir()), key=lambda p: -len(p.parts)):
                with contextlib.suppress(OSError):
                    child.rmdir()
            with contextlib.suppress(OSError):
                d.rmdir()
                removed += 1
        # then the QoS tiers and the node's own tree (only empty directories go)
        for d in sorted((c for c in parent.rglob("*") if c.is_dir()), key=lambda p: -len(p.parts)):
            with contextlib.suppress(OSError):
                d.rmdir()
        with contextlib.suppress(OSError):
            parent.rmdir()
    yield f"removed {removed} pod cgroups"
