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
from typing import Any

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
    print(f"longest not-ready stretch across the agent restart: {watcher.longest:.1f}s")
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


def node_name(kyb: KybServer) -> str:
    return kyb.kubectl("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}").stdout.strip()


STATIC = """
apiVersion: v1
kind: Pod
metadata: {{name: static-web, labels: {{app: static-web}}}}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - {{name: app, image: "busybox:1.36", command: [sleep, "{tag}"]}}
"""


def test_static_pods_from_the_manifest_directory(kyb: KybServer) -> None:
    manifests = DATA / "node" / "manifests"
    manifests.mkdir(parents=True, exist_ok=True)
    name = f"static-web-{node_name(kyb)}"
    (manifests / "web.yaml").write_text(STATIC.format(tag="8881"))
    wait_for(lambda: phase(kyb, name) == "Running" and container_status(kyb, name).get("ready"), timeout=60,
             what="the mirror pod shows the static pod running")
    assert sleeping("8881")
    mirror = pod(kyb, name)
    ann = mirror["metadata"]["annotations"]
    assert ann["kubernetes.io/config.source"] == "file"
    assert ann["kubernetes.io/config.mirror"] == ann["kubernetes.io/config.hash"]
    [owner] = mirror["metadata"]["ownerReferences"]
    assert owner["kind"] == "Node" and owner["name"] == node_name(kyb) and owner["controller"] is True
    assert kyb.kubectl("exec", name, "--", "echo", "static-exec").stdout.strip() == "static-exec"
    cid = container_status(kyb, name)["containerID"]

    # Deleting the mirror pod does not stop the static pod: the mirror comes back.
    kyb.kubectl("delete", "pod", name, "--timeout=30s")
    wait_for(lambda: (p := pod(kyb, name)) and p["metadata"]["uid"] != mirror["metadata"]["uid"]
             and not p["metadata"].get("deletionTimestamp"), timeout=30, what="mirror pod recreated")
    wait_for(lambda: container_status(kyb, name).get("containerID") == cid, timeout=30,
             what="the recreated mirror shows the same container")

    # Editing the file restarts the pod with the new spec.
    (manifests / "web.yaml").write_text(STATIC.format(tag="8882"))
    wait_for(lambda: sleeping("8882") and not sleeping("8881"), timeout=30, what="edited static pod restarted")
    wait_for(lambda: (cs := container_status(kyb, name)).get("containerID") not in (None, cid) and cs.get("ready"),
             timeout=30, what="the mirror shows the new container")
    assert pod(kyb, name)["metadata"]["annotations"]["kubernetes.io/config.mirror"] != ann["kubernetes.io/config.mirror"]

    # Removing the file stops the pod and deletes its mirror.
    (manifests / "web.yaml").unlink()
    wait_for(lambda: not sleeping("8882"), timeout=30, what="static pod stopped")
    wait_for(lambda: not pod(kyb, name), timeout=30, what="mirror pod deleted")


def mem_available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no MemAvailable")


def node_obj(kyb: KybServer) -> dict[str, object]:
    return dict(json.loads(kyb.kubectl("get", "node", node_name(kyb), "-o", "json").stdout))


def memory_pressure(kyb: KybServer) -> str:
    conds = node_obj(kyb).get("status", {}).get("conditions", [])  # type: ignore[attr-defined]
    return next((c["status"] for c in conds if c["type"] == "MemoryPressure"), "")


def has_pressure_taint(kyb: KybServer) -> bool:
    taints = node_obj(kyb).get("spec", {}).get("taints") or []  # type: ignore[attr-defined]
    return any(t["key"] == "node.kubernetes.io/memory-pressure" and t["effect"] == "NoSchedule" for t in taints)


def test_memory_pressure_evicts_besteffort_before_guaranteed(kyb: KybServer) -> None:
    # Only the two pods of this test may be candidates.
    kyb.kubectl("delete", "deployment", "--all", "--wait=false")
    kyb.kubectl("delete", "pods", "--all", "--grace-period=0", "--force", "--wait=false")
    apply(kyb, f"""
apiVersion: v1
kind: Pod
metadata: {{name: besteffort}}
spec:
  containers: [{{name: app, image: {IMAGE}, command: [sleep, "9991"]}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: besteffort-spare}}
spec:
  containers: [{{name: app, image: {IMAGE}, command: [sleep, "9993"]}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: guaranteed}}
spec:
  containers:
  - name: app
    image: {IMAGE}
    command: [sleep, "9992"]
    resources: {{requests: {{cpu: 10m, memory: 32Mi}}, limits: {{cpu: 10m, memory: 32Mi}}}}
""")
    # A second BestEffort pod: while the test waits for the taint, pressure goes on and the next
    # eviction (10 s later) must still find a BestEffort pod before the Guaranteed one.
    wait_for(lambda: all(phase(kyb, n) == "Running" for n in ("besteffort", "besteffort-spare", "guaranteed")),
             what="the pods running")
    assert pod(kyb, "guaranteed")["status"]["qosClass"] == "Guaranteed"
    cid = container_status(kyb, "guaranteed")["containerID"]
    config = DATA / "node" / "config.yaml"
    threshold = (mem_available() >> 20) + 2048  # well above what is available: pressure
    config.write_text(f"apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                      f"evictionHard: {{memory.available: {threshold}Mi}}\n")
    seen = {"pressure": False, "taint": False}

    def evicted_pod() -> dict[str, object] | None:
        seen["pressure"] = seen["pressure"] or memory_pressure(kyb) == "True"
        seen["taint"] = seen["taint"] or has_pressure_taint(kyb)
        evicted = [p for n in ("besteffort", "besteffort-spare")
                   if (p := pod(kyb, n)).get("status", {}).get("reason") == "Evicted"]
        return evicted[0] if evicted and seen["pressure"] and seen["taint"] else None

    try:
        evicted = wait_for(evicted_pod, timeout=30, what=f"the BestEffort pod evicted under pressure ({seen})")
    finally:
        config.write_text("kind: KubeletConfiguration\nevictionHard: {memory.available: 100Mi}\n")
    st: dict[str, Any] = evicted["status"]  # type: ignore[assignment]
    assert st["phase"] == "Failed"
    assert st["message"].startswith(f"The node was low on resource: memory. Threshold quantity: {threshold}Mi, "
                                    "available: "), st["message"]
    assert any(c["type"] == "DisruptionTarget" and c["reason"] == "TerminationByKubelet" for c in st["conditions"])
    tag = "9991" if evicted["metadata"]["name"] == "besteffort" else "9993"  # type: ignore[index]
    wait_for(lambda: not sleeping(tag), timeout=15, what="the evicted pod's container killed")
    assert phase(kyb, "guaranteed") == "Running" and container_status(kyb, "guaranteed")["containerID"] == cid
    wait_for(lambda: memory_pressure(kyb) == "False", timeout=30, what="MemoryPressure cleared after restoring")
    time.sleep(3)
    assert phase(kyb, "guaranteed") == "Running" and container_status(kyb, "guaranteed")["containerID"] == cid
