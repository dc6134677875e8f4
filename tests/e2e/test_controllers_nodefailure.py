"""A node dies: its workloads move on, as upstream's controllers move them; and budgets follow scale.

The cluster is a `kyb server` without its own node or in-server simulator, plus two `kyb sim`
processes that each register one hollow node (north-0, south-0). Killing one simulator with
SIGKILL is a node that stops heartbeating: its Lease is no longer renewed, the node lifecycle
controller marks it Ready=Unknown and taints it unreachable (NoExecute and NoSchedule), and then,
exactly as upstream:

- Deployment pods tolerating the taint for 0 s are evicted (deleted; they stay Terminating, since
  no kubelet confirms), the ReplicaSet replaces them and the scheduler puts the replacements on the
  surviving node, where they run.
- A StatefulSet pod is evicted the same way but is NOT replaced while the old pod is Terminating
  (its identity must stay unique); force-deleting it (`kubectl delete --force --grace-period=0`)
  lets the StatefulSet recreate it on the surviving node.
- A DaemonSet pod tolerates unreachable:NoExecute forever (automatic toleration), so it is neither
  evicted nor recreated; the node's untolerated unreachable:NoSchedule taint means the DaemonSet
  should no longer run there, so the pod counts as misscheduled and desiredNumberScheduled drops.

The simulators renew their Leases every second and the server's node monitor grace period is
8 s (`KYB_NODE_MONITOR_GRACE_PERIOD`, upstream's default is 40 s), so the test takes seconds, not
minutes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer

PORT = 18850
GRACE = "8"  # node monitor grace period (s); far above the simulators' 1 s Lease renewals
TOLERATE_NOW = [{"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0}
                for key in ("node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")]
SPREAD = [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway"}]

Obj = dict[str, Any]


@dataclass
class Cluster:
    server: KybServer
    sims: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)  # node name -> simulator

    def kubectl(self, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        return self.server.kubectl(*args, **kw)


def profile_text(group: str, index: int) -> str:
    # Distinct node addresses and fallback pod ranges, so the two simulators never hand out the same IPs.
    return (f"nodeGroups:\n- name: {group}\n  count: 1\n"
            f"nodeAddressBase: 198.18.{index}.0\n"
            f"fakePodRange: 100.{64 + index}.0.0/16\n"
            "timing:\n  leaseRenewInterval: 1s\n  nodeStatusUpdateFrequency: 1s\n")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = Path(tmp_path_factory.mktemp("kyb-nodefailure"))
    keys = ("KYB_SIM_NODES", "KYB_SIM_PROFILE", "KYB_NODE_MONITOR_GRACE_PERIOD")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.pop("KYB_SIM_NODES", None)
    os.environ.pop("KYB_SIM_PROFILE", None)
    os.environ["KYB_NODE_MONITOR_GRACE_PERIOD"] = GRACE
    server = KybServer(base / "server", port=PORT)
    try:
        server.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    c = Cluster(server)
    logs = []
    try:
        for index, group in enumerate(("north", "south"), start=1):
            profile = base / f"{group}.yaml"
            profile.write_text(profile_text(group, index))
            log = open(base / f"sim-{group}.log", "wb")  # noqa: SIM115 - closed at teardown
            logs.append(log)
            c.sims[f"{group}-0"] = subprocess.Popen(
                [sys.executable, "-m", "kybernetes.cli.main", "sim", "--nodes", "1", "--profile", str(profile),
                 "--kubeconfig", str(server.kubeconfig)], stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        for name in c.sims:
            wait_for(lambda n=name: ready_status(get_json(c, "node", n, check=False)) == "True", 30,  # type: ignore[misc]
                     f"node {name} Ready")
        yield c
    finally:
        for proc in c.sims.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for log in logs:
            log.close()
        server.stop()


def get_json(c: Cluster, *args: str, check: bool = True) -> Any:
    out = c.kubectl("get", *args, "-o", "json", check=check)
    return json.loads(out.stdout) if out.returncode == 0 else {}


def wait_for(pred: Callable[[], Any], timeout: float, what: str, step: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}; last: {last}")


def condition(obj: Obj, type_: str) -> Obj | None:
    return next((dict(c) for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == type_), None)


def ready_status(node: Obj) -> str:
    c = condition(node, "Ready")
    return str(c["status"]) if c else ""


def pods(c: Cluster, selector: str) -> list[Obj]:
    return list(get_json(c, "pods", "-l", selector)["items"])


def live(items: list[Obj]) -> list[Obj]:
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def running_ready(pod: Obj) -> bool:
    c = condition(pod, "Ready")
    return pod["status"].get("phase") == "Running" and c is not None and c["status"] == "True"


def apply(c: Cluster, *objs: Obj) -> None:
    c.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objs)}))


def template(app: str, tolerations: list[Obj]) -> Obj:
    return {"metadata": {"labels": {"app": app}},
            "spec": {"containers": [{"name": "main", "image": "busybox"}], "tolerations": tolerations,
                     "topologySpreadConstraints": [dict(s, labelSelector={"matchLabels": {"app": app}})
                                                   for s in SPREAD]}}


# --- budgets follow the workload's scale ----------------------------------------------------------

def test_pdb_follows_deployment_scale(cluster: Cluster) -> None:
    c = cluster
    c.kubectl("create", "deployment", "scaled", "--image=busybox", "--replicas=2")
    c.kubectl("create", "pdb", "scaled", "--selector=app=scaled", "--min-available=50%")

    def budget(expected: int, healthy: int) -> Obj | None:
        st = get_json(c, "pdb", "scaled").get("status") or {}
        return st if (st.get("expectedPods"), st.get("currentHealthy")) == (expected, healthy) else None

    st = wait_for(lambda: budget(2, 2), 40, "budget of 2 pods")
    assert (st["desiredHealthy"], st["disruptionsAllowed"]) == (1, 1)

    c.kubectl("scale", "deployment", "scaled", "--replicas=4")
    st = wait_for(lambda: budget(4, 4), 40, "budget of 4 pods")
    assert (st["desiredHealthy"], st["disruptionsAllowed"]) == (2, 2)
    table = c.kubectl("get", "pdb", "scaled").stdout.splitlines()
    assert table[0].split() == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED", "DISRUPTIONS", "AGE"]
    assert table[1].split()[:4] == ["scaled", "50%", "N/A", "2"]

    c.kubectl("scale", "deployment", "scaled", "--replicas=1")
    st = wait_for(lambda: budget(1, 1), 40, "budget of 1 pod")
    assert (st["desiredHealthy"], st["disruptionsAllowed"]) == (1, 0)
    c.kubectl("delete", "pdb,deployment", "scaled")


# --- a node dies ------------------------------------------------------------------------------------

def test_dead_node_pods_are_replaced_elsewhere(cluster: Cluster) -> None:
    c = cluster
    apply(c,
          {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
           "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                    "template": template("web", TOLERATE_NOW)}},
          {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
           "spec": {"clusterIP": "None", "selector": {"app": "db"}, "ports": [{"port": 5432}]}},
          {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
           "spec": {"replicas": 2, "serviceName": "db", "podManagementPolicy": "Parallel",
                    "selector": {"matchLabels": {"app": "db"}}, "template": template("db", TOLERATE_NOW)}},
          {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
           "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": template("agent", [])}})

    def settled() -> dict[str, list[Obj]] | None:
        got = {app: pods(c, f"app={app}") for app in ("web", "db", "agent")}
        want = {"web": 4, "db": 2, "agent": 2}
        ok = all(len(got[a]) == n and all(running_ready(p) for p in got[a]) for a, n in want.items())
        return got if ok else None

    before = wait_for(settled, 60, "web, db and agent pods running")
    nodes_of = {app: [p["spec"]["nodeName"] for p in items] for app, items in before.items()}
    assert sorted(nodes_of["agent"]) == ["north-0", "south-0"]
    # The victim is the node of db-0; it must also host a web pod for the test to mean something.
    db0 = next(p for p in before["db"] if p["metadata"]["name"] == "db-0")
    victim = db0["spec"]["nodeName"]
    survivor = next(n for n in c.sims if n != victim)
    web_on_victim = {p["metadata"]["name"] for p in before["web"] if p["spec"]["nodeName"] == victim}
    assert web_on_victim, f"no web pod on {victim}: {nodes_of}"
    db_on_victim = {p["metadata"]["name"]: p["metadata"]["uid"] for p in before["db"]
                    if p["spec"]["nodeName"] == victim}
    agent_on_victim = next(p for p in before["agent"] if p["spec"]["nodeName"] == victim)

    proc = c.sims[victim]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = time.monotonic()

    # 1. The node controller notices: Ready=Unknown, then the unreachable taints.
    wait_for(lambda: ready_status(get_json(c, "node", victim)) == "Unknown", 40, f"{victim} Ready=Unknown")
    noticed = time.monotonic() - killed_at
    # (the last renewal may precede the kill by a renewal period or more on a loaded machine)
    assert noticed >= float(GRACE) / 2, f"marked Unknown after {noticed:.1f}s, well before the grace period"
    node = get_json(c, "node", victim)
    ready = condition(node, "Ready")
    assert ready is not None and ready["reason"] == "NodeStatusUnknown"

    def taints() -> set[tuple[str, str]]:
        return {(t["key"], t["effect"]) for t in get_json(c, "node", victim)["spec"].get("taints") or []}

    wait_for(lambda: {("node.kubernetes.io/unreachable", "NoExecute"),
                      ("node.kubernetes.io/unreachable", "NoSchedule")} <= taints(), 20, "unreachable taints")

    # 2. The Deployment's pods on the dead node are evicted and replaced on the survivor.
    def web_replaced() -> list[Obj] | None:
        items = pods(c, "app=web")
        alive = live(items)
        ok = (len(alive) == 4 and all(p["spec"].get("nodeName") == survivor and running_ready(p) for p in alive))
        return items if ok else None

    items = wait_for(web_replaced, 60, f"4 web pods running on {survivor}")
    stuck = {p["metadata"]["name"]: p for p in items if p["metadata"].get("deletionTimestamp")}
    assert set(stuck) == web_on_victim  # Terminating forever: no kubelet confirms (as upstream)
    for p in stuck.values():
        target = condition(p, "DisruptionTarget")
        assert target is not None and target["reason"] == "DeletionByTaintManager"
    dep = get_json(c, "deployment", "web")
    assert (dep["status"].get("replicas"), dep["status"].get("availableReplicas")) == (4, 4)

    # 3. The StatefulSet's pod is evicted but not replaced while it is Terminating ...
    def db_evicted() -> dict[str, Obj] | None:
        got = {p["metadata"]["name"]: p for p in pods(c, "app=db")}
        ok = all(n in got and got[n]["metadata"].get("deletionTimestamp") for n in db_on_victim)
        return got if ok else None

    wait_for(db_evicted, 30, "db pod on the dead node evicted")
    time.sleep(5)  # give the StatefulSet controller every chance to (wrongly) replace it
    got = {p["metadata"]["name"]: p for p in pods(c, "app=db")}
    for name, uid in db_on_victim.items():
        assert got[name]["metadata"]["uid"] == uid
        assert got[name]["spec"]["nodeName"] == victim
    assert len(got) == 2
    sts = get_json(c, "statefulset", "db")
    assert sts["status"].get("readyReplicas", 0) == 2 - len(db_on_victim)

    # ... until it is force-deleted: then it is recreated, under the same name, on the survivor.
    for name in db_on_victim:
        c.kubectl("delete", "pod", name, "--force", "--grace-period=0")

    def db_recreated() -> bool:
        got = {p["metadata"]["name"]: p for p in pods(c, "app=db")}
        return all(n in got and got[n]["metadata"]["uid"] != uid and got[n]["spec"].get("nodeName") == survivor
                   and running_ready(got[n]) for n, uid in db_on_victim.items())

    wait_for(db_recreated, 60, f"db pod recreated on {survivor}")

    # 4. The DaemonSet's pod stays (it tolerates unreachable:NoExecute forever): not evicted, not
    # recreated, its Ready condition False; the node no longer counts as one it should run on.
    def agent_counted() -> Obj | None:
        st = get_json(c, "daemonset", "agent").get("status") or {}
        return st if (st.get("desiredNumberScheduled"), st.get("numberMisscheduled")) == (1, 1) else None

    st = wait_for(agent_counted, 30, "daemonset status with the dead node misscheduled")
    assert (st["currentNumberScheduled"], st["numberReady"]) == (1, 1)
    agents = pods(c, "app=agent")
    assert len(agents) == 2
    stayed = next(p for p in agents if p["spec"]["nodeName"] == victim)
    assert stayed["metadata"]["uid"] == agent_on_victim["metadata"]["uid"]
    assert not stayed["metadata"].get("deletionTimestamp")
    not_ready = condition(stayed, "Ready")
    assert not_ready is not None and not_ready["status"] == "False"
