"""Robustness of the node agent with real kubectl: restarts of the agent and of containerd,
static pods from a manifest directory, node-pressure eviction.

The agent and containerd are found by their command lines (both carry this node's data dir) and
killed with SIGKILL, as a crash would; `kyb server` restarts the agent, the agent restarts
containerd, and the pods must not notice.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kybernetes.testing.cluster import KybServer
from kybernetes.testing.node import container_status, node_ready, phase, pod, start_node_server, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PORT = 18980
DATA = Path("/tmp/kyb-n3")
IMAGE = "busybox:1.36"


@pytest.fixture(scope="module")
def kyb() -> Iterator[KybServer]:
    for server in start_node_server(DATA, PORT, cluster_cidr="10.46.0.0/16", bridge="kybn3"):
        try:
            yield server
        finally:  # the fixture removes the data dir; keep the log of the last run to read
            with contextlib.suppress(OSError):
                shutil.copy(DATA / "server.log", "/tmp/kyb-n3-last.log")


def apply(kyb: KybServer, manifest: str) -> None:
    kyb.kubectl("apply", "-f", "-", input=manifest)


def pids_with(*parts: str) -> list[int]:
    """Processes whose command line holds every part, in order (e.g. flag then value)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        joined = " ".join(a.decode(errors="replace") for a in argv)
        if all(p in joined for p in parts):
            found.append(int(entry.name))
    return found


def agent_pid() -> int | None:
    pids = pids_with("kybernetes.cli.main agent", f"--kubeconfig {DATA}/kubeconfig")
    return pids[0] if len(pids) == 1 else None


def containerd_pid() -> int | None:
    pids = [p for p in pids_with(f"--config {DATA}/node/containerd/config.toml") if _comm(p) == "containerd"]
    return pids[0] if len(pids) == 1 else None


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def containers_of(kyb: KybServer, selector: str) -> dict[str, tuple[str, int, bool]]:
    """pod/container -> (containerID, restartCount, ready)."""
    items = json.loads(kyb.kubectl("get", "pods", "-l", selector, "-o", "json").stdout)["items"]
    out = {}
    for p in items:
        for cs in p.get("status", {}).get("containerStatuses") or []:
            out[f"{p['metadata']['name']}/{cs['name']}"] = (cs.get("containerID", ""), cs.get("restartCount", 0),
                                                            cs.get("ready", False))
    return out


def pod_ready(p: dict[str, object]) -> bool:
    conds = (p.get("status") or {}).get("conditions") or []  # type: ignore[attr-defined]
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)


class ReadyWatcher:
    """Samples a pod's Ready condition in the background; reports the longest not-ready stretch."""

    def __init__(self, kyb: KybServer, name: str) -> None:
        self.kyb, self.name = kyb, name
        self.longest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ReadyWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        since: float | None = None
        while not self._stop.is_set():
            p = pod(self.kyb, self.name)
            now = time.monotonic()
            if p and not pod_ready(p):
                since = since if since is not None else now
                self.longest = max(self.longest, now - since)
            elif p:
                since = None
            time.sleep(0.3)


def sleeping(tag: str) -> bool:
    return bool(pids_with(f"sleep {tag}"))


def test_agent_restart_adopts_running_containers(kyb: KybServer) -> None:
    kyb.kubectl("create", "deployment", "steady", f"--image={IMAGE}", "--replicas=3", "--", "sleep", "3600")
    apply(kyb, f"""
apiVersion: v1
kind: Pod
metadata: {{name: probed, labels: {{app: probed}}}}
spec:
  containers:
  - name: app
    image: {IMAGE}
    command: [sh, -c, "touch /tmp/ok; exec sleep 3600"]
    readinessProbe: {{exec: {{command: [cat, /tmp/ok]}}, periodSeconds: 2}}
---
apiVersion: v1
kind: Pod
metadata: {{name: doomed-graceful}}
spec:
  terminationGracePeriodSeconds: 2
  containers: [{{name: app, image: {IMAGE}, command: [sleep, "7771"]}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: doomed-forced}}
spec:
  containers: [{{name: app, image: {IMAGE}, command: [sleep, "7772"]}}]
""")

    def all_ready() -> dict[str, tuple[str, int, bool]] | None:
        now = {**containers_of(kyb, "app=steady"), **containers_of(kyb, "app=probed")}
        return now if len(now) == 4 and all(r for _, _, r in now.values()) else None

    before = wait_for(all_ready, timeout=90, what="3 replicas and the probed pod ready")
    wait_for(lambda: sleeping("7771") and sleeping("7772"), what="doomed pods running")
    old = wait_for(agent_pid, what="the agent process")

    with ReadyWatcher(kyb, "probed") as watcher:
        os.kill(old, signal.SIGKILL)
        # While the agent is down: one pod deleted gracefully (waits for the kubelet), one forced.
        kyb.kubectl("delete", "pod", "doomed-graceful", "--wait=false")
        kyb.kubectl("delete", "pod", "doomed-forced", "--grace-period=0", "--force", "--wait=false")
        new = wait_for(lambda: (p := agent_pid()) not in (None, old) and p, timeout=30, what="a new agent")
        assert new != old
        wait_for(lambda: node_ready(kyb), what="node Ready")
        wait_for(lambda: not sleeping("7771") and not sleeping("7772"), timeout=30,
                 what="containers of pods deleted while the agent was down stopped")
        wait_for(lambda: not pod(kyb, "doomed-graceful"), timeout=30, what="graceful pod deleted by the kubelet")
        time.sleep(4)  # a couple of probe periods and relists after the restart
        after = all_ready()
    assert after == before, "same containers, no restarts, still ready"
    assert watcher.longest < 3, f"readiness flapped for {watcher.longest:.1f}s across the agent restart"
    kyb.kubectl("run", "fresh", f"--image={IMAGE}", "--", "sleep", "3600")
    wait_for(lambda: phase(kyb, "fresh") == "Running", what="a new pod runs after the restart")


def test_containerd_killed_is_restarted_and_pods_keep_running(kyb: KybServer) -> None:
    kyb.kubectl("run", "survivor", f"--image={IMAGE}", "--", "sleep", "3600")
    wait_for(lambda: phase(kyb, "survivor") == "Running", what="survivor Running")
    cid = container_status(kyb, "survivor")["containerID"]
    old = wait_for(containerd_pid, what="containerd process")
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: containerd_pid() not in (None, old), timeout=30, what="containerd restarted")
    out = wait_for(lambda: (r := kyb.kubectl("exec", "survivor", "--", "echo", "still-here", check=False))
                   .returncode == 0 and r.stdout, timeout=30, what="exec after the containerd restart")
    assert out.strip() == "still-here"
    cs = container_status(kyb, "survivor")
    assert cs["containerID"] == cid and cs["restartCount"] == 0 and cs["ready"] is True
    assert phase(kyb, "survivor") == "Running"
    kyb.kubectl("run", "after-containerd", f"--image={IMAGE}", "--", "sleep", "3600")
    wait_for(lambda: phase(kyb, "after-containerd") == "Running", what="a new pod runs after the containerd restart")
