"""Issue 5's chaos acceptance test: SIGKILL the controller manager again and again while it works.

kyb server runs without its in-process loops (`--disable controllers`) but with five simulated nodes;
the loops run in a separate `kyb controller-manager` process that the test kills with SIGKILL every
~2 s and starts again. The manager runs with `--no-leader-elect`: with leader election a successor
would wait for the dead holder's Lease to expire (15 s) before acting, which only slows the test
down without exercising anything more (the old process is dead, so there is never a second leader).

Watches (raw HTTP streams, so every intermediate state is seen, not just polled samples) record:
- Deployment rollout of 100 replicas: no ReplicaSet ever owns more live pods than the highest
  spec.replicas it ever had, the ReplicaSets' spec.replicas never sum above replicas + maxSurge,
  and live pods never exceed replicas + maxSurge by more than the one documented lag (below).
- Job with completions 20 / parallelism 5: exactly 20 pods ever succeed, status.succeeded never
  goes above 20 or backwards, and at the end it is 20 with the Complete condition.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer, admin_ssl_context

PORT = 19020
METRICS_PORT = 19022

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    saved = os.environ.get("KYB_SIM_NODES")
    os.environ["KYB_SIM_NODES"] = "5"
    server = KybServer(Path(tmp_path_factory.mktemp("kyb-chaos")), port=PORT,
                       extra_args=["--disable", "controllers"])
    try:
        server.start()
    finally:
        if saved is None:
            os.environ.pop("KYB_SIM_NODES", None)
        else:
            os.environ["KYB_SIM_NODES"] = saved
    try:
        yield server
    finally:
        server.stop()


class Manager:
    """The `kyb controller-manager` subprocess, killed hard and restarted on demand."""

    def __init__(self, kyb: KybServer) -> None:
        self.kyb = kyb
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0
        self.log = kyb.data_dir / "controller-manager.log"

    def start(self) -> None:
        out = open(self.log, "ab")  # noqa: SIM115 - owned by the child for its lifetime
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kybernetes.cli.main", "controller-manager",
             "--kubeconfig", str(self.kyb.kubeconfig), "--no-leader-elect",
             "--metrics-port", str(METRICS_PORT)],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.kills += 1
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None

    def chaos_until(self, done: Callable[[], bool], every: float = 2.0, max_rounds: int = 12) -> int:
        """SIGKILL and restart every `every` seconds until `done()`; the number of kills made while
        the work was still in progress."""
        kills = 0
        for _ in range(max_rounds):
            time.sleep(every)
            if done():
                break
            self.kill()
            self.start()
            kills += 1
        return kills


@pytest.fixture
def manager(kyb: KybServer) -> Iterator[Manager]:
    m = Manager(kyb)
    m.start()
    try:
        yield m
    finally:
        m.stop()


class Watcher(threading.Thread):
    """Follows one watch stream and calls `on_event(type, object, all_objects)` for every event."""

    def __init__(self, kyb: KybServer, path: str, on_event: Callable[[str, dict[str, Any],
                                                                      dict[str, dict[str, Any]]], None]) -> None:
        super().__init__(daemon=True)
        self.conn = http.client.HTTPSConnection("127.0.0.1", kyb.port, context=admin_ssl_context(kyb.kubeconfig))
        self.path = path
        self.on_event = on_event
        self.objects: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.error: BaseException | None = None
        self.stopping = False

    def run(self) -> None:
        try:
            sep = "&" if "?" in self.path else "?"
            self.conn.request("GET", f"{self.path}{sep}watch=true")
            resp = self.conn.getresponse()
            assert resp.status == 200, resp.read()
            while True:
                line = resp.readline()
                if not line:
                    if not self.stopping:  # the server ended the watch: later states went unobserved
                        self.error = AssertionError(f"watch {self.path} ended early")
                    return
                event = json.loads(line)
                obj = event["object"]
                key = obj["metadata"]["uid"]
                with self.lock:
                    if event["type"] == "DELETED":
                        self.objects.pop(key, None)
                    elif event["type"] in ("ADDED", "MODIFIED"):
                        self.objects[key] = obj
                    else:
                        continue
                    self.on_event(event["type"], obj, self.objects)
        except (OSError, ValueError, http.client.HTTPException) as e:
            if not self.stopping:
                self.error = e
        except BaseException as e:  # an assertion inside on_event: report it from the test thread
            self.error = e

    def stop(self) -> None:
        self.stopping = True
        if self.conn.sock is not None:
            with contextlib.suppress(OSError):
                self.conn.sock.shutdown(socket.SHUT_RDWR)
        self.join(5)
        self.conn.close()
        if self.error is not None:
            raise self.error


def get_json(kyb: KybServer, *args: str) -> Any:
    return json.loads(kyb.kubectl("get", *args, "-o", "json").stdout)


def wait_for(pred: Callable[[], Any], timeout: float, what: str, step: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}; last: {last}")


def live(pod: dict[str, Any]) -> bool:
    """A pod that counts against a ReplicaSet's or Deployment's bounds: not terminating, not done."""
    return not pod["metadata"].get("deletionTimestamp") and pod.get("status", {}).get("phase") not in (
        "Succeeded", "Failed")


def controller_uid(obj: dict[str, Any]) -> str | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref["uid"])
    return None


REPLICAS = 100
MAX_SURGE = 25  # the default 25% of 100
# Pods take a moment to start, so the rollout spans several manager lifetimes.
DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "chaos", "labels": {"app": "chaos"}},
    "spec": {"replicas": REPLICAS, "selector": {"matchLabels": {"app": "chaos"}},
             "template": {"metadata": {"labels": {"app": "chaos"},
                                       "annotations": {"sim.kybernetes.io/startup-delay": "3s"}},
                          "spec": {"containers": [{"name": "main", "image": "busybox:1"}]}}}}


def rolled_out(kyb: KybServer) -> bool:
    d = get_json(kyb, "deploy", "chaos")
    st = d.get("status") or {}
    return bool(st.get("observedGeneration", 0) >= d["metadata"]["generation"]
                and st.get("updatedReplicas") == st.get("replicas") == st.get("availableReplicas") == REPLICAS)


def test_rolling_update_survives_manager_kills(kyb: KybServer, manager: Manager) -> None:
    max_pods_per_rs: dict[str, int] = {}
    max_spec_per_rs: dict[str, int] = {}
    max_live = 0
    max_spec_sum = 0

    def on_pod(_: str, __: dict[str, Any], pods: dict[str, dict[str, Any]]) -> None:
        nonlocal max_live
        counts: dict[str, int] = {}
        for p in pods.values():
            owner = controller_uid(p)
            if owner and live(p):
                counts[owner] = counts.get(owner, 0) + 1
        for owner, n in counts.items():
            max_pods_per_rs[owner] = max(max_pods_per_rs.get(owner, 0), n)
        max_live = max(max_live, sum(counts.values()))

    def on_rs(_: str, __: dict[str, Any], sets: dict[str, dict[str, Any]]) -> None:
        nonlocal max_spec_sum
        for uid, rs in sets.items():
            max_spec_per_rs[uid] = max(max_spec_per_rs.get(uid, 0), rs["spec"].get("replicas", 1))
        max_spec_sum = max(max_spec_sum, sum(rs["spec"].get("replicas", 1) for rs in sets.values()))

    pod_watch = Watcher(kyb, "/api/v1/namespaces/default/pods?labelSelector=app%3Dchaos", on_pod)
    rs_watch = Watcher(kyb, "/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dchaos", on_rs)
    pod_watch.start()
    rs_watch.start()
    try:
        kyb.kubectl("apply", "-f", "-", input=json.dumps(DEPLOYMENT))
        kyb.kubectl("rollout", "status", "deploy/chaos", "--timeout=60s", timeout=70)
        kyb.kubectl("set", "image", "deploy/chaos", "main=busybox:2")
        kills = manager.chaos_until(lambda: rolled_out(kyb), every=1.5)
        out = kyb.kubectl("rollout", "status", "deploy/chaos", "--timeout=60s", timeout=70).stdout
        assert 'deployment "chaos" successfully rolled out' in out
    finally:
        pod_watch.stop()
        rs_watch.stop()
    assert kills >= 3, kills  # the rollout really was interrupted, more than once

    deploy = get_json(kyb, "deploy", "chaos")
    assert deploy["status"]["updatedReplicas"] == REPLICAS
    assert deploy["status"]["availableReplicas"] == REPLICAS
    sets = get_json(kyb, "rs", "-l", "app=chaos")["items"]
    assert len(sets) == 2
    assert sorted(rs["spec"]["replicas"] for rs in sets) == [0, REPLICAS]
    pods = [p for p in get_json(kyb, "pods", "-l", "app=chaos")["items"] if live(p)]
    assert len(pods) == REPLICAS
    assert {p["spec"]["containers"][0]["image"] for p in pods} == {"busybox:2"}

    # No ReplicaSet ever had more live pods than it was ever asked for: a manager that lost its
    # expectations on SIGKILL must rebuild them from the API, not create a second batch.
    for uid, n in max_pods_per_rs.items():
        assert n <= max_spec_per_rs.get(uid, 0), (uid, n, max_spec_per_rs)
    # The deployment controller keeps the sum of desired replicas within replicas + maxSurge.
    assert max_spec_sum <= REPLICAS + MAX_SURGE
    # Live pods: the deployment controller accounts by spec.replicas (as upstream does), so after it
    # lowers the old ReplicaSet it may raise the new one before the old one's pods are marked for
    # deletion; that lag is at most one scale-down step (maxSurge + maxUnavailable pods).
    assert max_live <= REPLICAS + MAX_SURGE + 25, max_live


COMPLETIONS = 20
PARALLELISM = 5


def test_job_survives_manager_kills(kyb: KybServer, manager: Manager) -> None:
    succeeded_pods: set[str] = set()
    max_active = 0
    seen_succeeded: list[int] = []

    def on_pod(_: str, pod: dict[str, Any], pods: dict[str, dict[str, Any]]) -> None:
        nonlocal max_active
        if pod.get("status", {}).get("phase") == "Succeeded":
            succeeded_pods.add(pod["metadata"]["uid"])
        max_active = max(max_active, sum(1 for p in pods.values() if live(p)))

    def on_job(_: str, job: dict[str, Any], __: dict[str, dict[str, Any]]) -> None:
        seen_succeeded.append(int((job.get("status") or {}).get("succeeded") or 0))

    pod_watch = Watcher(kyb, "/api/v1/namespaces/default/pods?labelSelector=batch.kubernetes.io%2Fjob-name%3Dchaos",
                        on_pod)
    job_watch = Watcher(kyb, "/apis/batch/v1/namespaces/default/jobs?fieldSelector=metadata.name%3Dchaos", on_job)
    pod_watch.start()
    job_watch.start()
    try:
        kyb.kubectl("apply", "-f", "-", input=json.dumps({
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "chaos"},
            "spec": {"completions": COMPLETIONS, "parallelism": PARALLELISM,
                     "template": {"metadata": {"annotations": {"sim.kybernetes.io/startup-delay": "1s",
                                                           "sim.kybernetes.io/complete-after": "1s"}},
                                  "spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "main", "image": "busybox"}]}}}}))

        def complete() -> bool:
            job = get_json(kyb, "job", "chaos")
            return any(c["type"] == "Complete" and c["status"] == "True"
                       for c in (job.get("status") or {}).get("conditions") or [])

        kills = manager.chaos_until(complete, every=1.5)
        wait_for(complete, 60, "job chaos to complete")
        time.sleep(1)  # let any stray extra pod show up in the watch before counting
    finally:
        pod_watch.stop()
        job_watch.stop()
    assert kills >= 3, kills

    job = get_json(kyb, "job", "chaos")
    assert job["status"]["succeeded"] == COMPLETIONS
    assert job["status"].get("failed", 0) == 0
    assert job["status"].get("active", 0) == 0
    assert len(succeeded_pods) == COMPLETIONS, len(succeeded_pods)
    assert max(seen_succeeded) == COMPLETIONS
    assert seen_succeeded == sorted(seen_succeeded), "status.succeeded went backwards"
    assert max_active <= PARALLELISM, max_active
    pods = get_json(kyb, "pods", "-l", "batch.kubernetes.io/job-name=chaos")["items"]
    assert sum(1 for p in pods if p["status"].get("phase") == "Succeeded") == COMPLETIONS

    # The surviving manager serves its work queue metrics.
    with urllib.request.urlopen(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=5) as r:
        body = r.read().decode()
    adds = [line for line in body.splitlines() if line.startswith('workqueue_adds_total{name="job"}')]
    assert adds and int(adds[0].split()[-1]) > 0, body[:2000]
    assert 'workqueue_work_duration_seconds_count{name="job"}' in body
