"""Real pods on the local node: `kyb server` with its kubelet on containerd, driven by kubectl.

The course's first examples end to end: pods get their own IPs, containers of a pod share
localhost and volumes, controllers' pods are recreated, Jobs complete, restart policies and
CrashLoopBackOff, graceful termination, env and volumes from ConfigMaps/Secrets/downward API.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kybernetes.testing.cluster import KybServer
from kybernetes.testing.node import container_status, phase, pod, start_node_server, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PORT = 18950
IMAGE = "busybox:1.36"


@pytest.fixture(scope="module")
def kyb() -> Iterator[KybServer]:
    yield from start_node_server(Path("/tmp/kyb-e2e-node"), PORT)


def apply(kyb: KybServer, manifest: str) -> None:
    kyb.kubectl("apply", "-f", "-", input=manifest)


def test_run_pod_gets_ip_and_logs(kyb: KybServer) -> None:
    kyb.kubectl("run", "hello", f"--image={IMAGE}", "--restart=Never", "--", "sh", "-c",
                "echo hello from $(hostname); sleep 3600")
    wait_for(lambda: phase(kyb, "hello") == "Running", what="hello Running")
    p = pod(kyb, "hello")
    assert ipaddress.ip_address(p["status"]["podIP"]) in ipaddress.ip_network("10.42.0.0/16")
    assert p["status"]["qosClass"] == "BestEffort"
    cs = container_status(kyb, "hello")
    assert cs["ready"] is True and cs["started"] is True and cs["restartCount"] == 0
    assert cs["containerID"].startswith("containerd://") and cs["imageID"]
    conds = {c["type"]: c["status"] for c in p["status"]["conditions"]}
    assert conds["Ready"] == "True" and conds["Initialized"] == "True" and conds["ContainersReady"] == "True"
    logs = wait_for(lambda: kyb.kubectl("logs", "hello", check=False).stdout, what="logs")
    assert "hello from hello" in logs
    out = kyb.kubectl("exec", "hello", "--", "sh", "-c", "echo $((6*7))").stdout
    assert out.strip() == "42"
    failed = kyb.kubectl("exec", "hello", "--", "sh", "-c", "exit 3", check=False)
    assert failed.returncode == 3


def test_two_containers_share_localhost_and_an_emptydir(kyb: KybServer) -> None:
    apply(kyb, f"""
apiVersion: v1
kind: Pod
metadata: {{name: pair}}
spec:
  volumes: [{{name: shared, emptyDir: {{}}}}]
  containers:
  - name: web
    image: {IMAGE}
    command: [sh, -c, "mkdir -p /www && echo served-over-localhost > /www/index.html && exec httpd -f -p 8080 -h /www"]
    volumeMounts: [{{name: shared, mountPath: /shared}}]
  - name: client
    image: {IMAGE}
    command: [sh, -c, "while true; do timeout 2 wget -qO /shared/got http://127.0.0.1:8080/ && cat /shared/got; sleep 1; done"]
    volumeMounts: [{{name: shared, mountPath: /shared}}]
""")
    wait_for(lambda: phase(kyb, "pair") == "Running", what="pair Running")
    wait_for(lambda: "served-over-localhost" in kyb.kubectl("logs", "pair", "-c", "client", check=False).stdout,
             what="client fetched over localhost")
    # the file the client wrote into the emptyDir is visible to the other container
    out = kyb.kubectl("exec", "pair", "-c", "web", "--", "cat", "/shared/got").stdout
    assert "served-over-localhost" in out


def test_deleted_replicaset_pod_is_recreated(kyb: KybServer) -> None:
    kyb.kubectl("create", "deployment", "web", f"--image={IMAGE}", "--replicas=2", "--", "sleep", "3600")
    def running() -> list[str]:
        items = json.loads(kyb.kubectl("get", "pods", "-l", "app=web", "-o", "json").stdout)["items"]
        return [p["metadata"]["name"] for p in items
                if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]
    first = wait_for(lambda: len(running()) == 2 and running(), what="2 running")
    kyb.kubectl("delete", "pod", first[0], "--wait=false")
    wait_for(lambda: len(running()) == 2 and first[0] not in running(), what="replacement running")
    ips = {pod(kyb, n)["status"]["podIP"] for n in running()}
    assert len(ips) == 2, "each pod has its own IP"


def test_job_runs_to_completion(kyb: KybServer) -> None:
    kyb.kubectl("create", "job", "pi", f"--image={IMAGE}", "--", "sh", "-c", "echo computing; sleep 1; echo done")
    wait_for(lambda: json.loads(kyb.kubectl("get", "job", "pi", "-o", "json").stdout)
             .get("status", {}).get("succeeded") == 1, what="job succeeded")
    items = json.loads(kyb.kubectl("get", "pods", "-l", "job-name=pi", "-o", "json").stdout)["items"]
    assert items and items[0]["status"]["phase"] == "Succeeded"
    term = items[0]["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] == 0 and term["reason"] == "Completed"
    assert "done" in kyb.kubectl("logs", "job/pi").stdout


def test_restart_policy_and_crashloop_backoff(kyb: KybServer) -> None:
    kyb.kubectl("run", "crasher", f"--image={IMAGE}", "--restart=Always", "--", "sh", "-c", "echo boom; exit 2")
    cs = wait_for(lambda: (c := container_status(kyb, "crasher")).get("restartCount", 0) >= 2 and c,
                  timeout=90, what="two restarts")
    assert cs["lastState"]["terminated"]["exitCode"] == 2
    assert cs["lastState"]["terminated"]["reason"] == "Error"
    wait_for(lambda: container_status(kyb, "crasher").get("state", {}).get("waiting", {}).get("reason")
             == "CrashLoopBackOff", timeout=60, what="CrashLoopBackOff")
    # --previous shows the last terminated instance's output
    assert "boom" in kyb.kubectl("logs", "crasher", "--previous").stdout
    kyb.kubectl("run", "once", f"--image={IMAGE}", "--restart=Never", "--", "sh", "-c", "exit 4")
    wait_for(lambda: phase(kyb, "once") == "Failed", what="Failed")
    assert container_status(kyb, "once")["restartCount"] == 0


def test_graceful_termination_sigterm_then_sigkill(kyb: KybServer) -> None:
    apply(kyb, f"""
apiVersion: v1
kind: Pod
metadata: {{name: polite}}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: app
    image: {IMAGE}
    command: [sh, -c, "trap 'echo got SIGTERM; exit 0' TERM; while true; do sleep 0.2; done"]
---
apiVersion: v1
kind: Pod
metadata: {{name: stubborn}}
spec:
  terminationGracePeriodSeconds: 3
  containers:
  - name: app
    image: {IMAGE}
    command: [sleep, "3600"]
""")
    wait_for(lambda: phase(kyb, "polite") == "Running" and phase(kyb, "stubborn") == "Running", what="both running")
    began = time.monotonic()
    kyb.kubectl("delete", "pod", "polite", "--wait=true", "--timeout=40s")
    polite = time.monotonic() - began
    assert polite < 10, f"a container that exits on SIGTERM stops at once (took {polite:.1f}s)"
    began = time.monotonic()
    kyb.kubectl("delete", "pod", "stubborn", "--wait=false")
    wait_for(lambda: pod(kyb, "stubborn").get("metadata", {}).get("deletionTimestamp"), what="Terminating")
    assert "Terminating" in kyb.kubectl("get", "pod", "stubborn").stdout
    wait_for(lambda: not pod(kyb, "stubborn"), timeout=30, what="stubborn gone")
    stubborn = time.monotonic() - began
    assert 2.5 <= stubborn < 12, f"SIGKILL at the 3 s grace period (took {stubborn:.1f}s)"


def test_env_from_configmap_secret_and_downward_api(kyb: KybServer) -> None:
    kyb.kubectl("create", "configmap", "settings", "--from-literal=COLOR=blue", "--from-literal=SIZE=xl")
    kyb.kubectl("create", "secret", "generic", "creds", "--from-literal=password=s3cret")
    apply(kyb, f"""
apiVersion: v1
kind: Pod
metadata: {{name: envy, labels: {{tier: backend}}}}
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: {IMAGE}
    command: [sh, -c, "env | sort; echo ARGS $(GREETING)"]
    envFrom: [{{configMapRef: {{name: settings}}, prefix: CFG_}}]
    env:
    - {{name: GREETING, value: "hi-$(CFG_COLOR)"}}
    - {{name: PASSWORD, valueFrom: {{secretKeyRef: {{name: creds, key: password}}}}}}
    - {{name: MY_POD, valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}}}
    - {{name: MY_IP, valueFrom: {{fieldRef: {{fieldPath: status.podIP}}}}}}
    - {{name: MY_TIER, valueFrom: {{fieldRef: {{fieldPath: "metadata.labels['tier']"}}}}}}
""")
    wait_for(lambda: phase(kyb, "envy") == "Succeeded", what="envy done")
    out = kyb.kubectl("logs", "envy").stdout
    ip = pod(kyb, "envy")["status"]["podIP"]
    for line in ("CFG_COLOR=blue", "CFG_SIZE=xl", "GREETING=hi-blue", "PASSWORD=s3cret", "MY_POD=envy",
                 f"MY_IP={ip}", "MY_TIER=backend", "ARGS hi-blue"):
        assert line in out, (line, out)


def test_configmap_volume_updates_and_secret_is_tmpfs(kyb: KybServer) -> None:
    kyb.kubectl("create", "configmap", "live", "--from-literal=motd=first")
    kyb.kubectl("create", "secret", "generic", "vault", "--from-literal=key=abc")
    apply(kyb, f"""
apiVersion: v1
kind: Pod
metadata: {{name: mounts}}
spec:
  volumes:
  - {{name: cfg, configMap: {{name: live}}}}
  - {{name: sec, secret: {{secretName: vault}}}}
  containers:
  - name: app
    image: {IMAGE}
    command: [sleep, "3600"]
    volumeMounts:
    - {{name: cfg, mountPath: /etc/cfg}}
    - {{name: sec, mountPath: /etc/sec, readOnly: true}}
""")
    wait_for(lambda: phase(kyb, "mounts") == "Running", what="mounts Running")
    assert kyb.kubectl("exec", "mounts", "--", "cat", "/etc/cfg/motd").stdout == "first"
    assert kyb.kubectl("exec", "mounts", "--", "cat", "/etc/sec/key").stdout == "abc"
    mountinfo = kyb.kubectl("exec", "mounts", "--", "cat", "/proc/self/mountinfo").stdout
    sec_line = next(line for line in mountinfo.splitlines() if " /etc/sec " in line)
    assert " - tmpfs " in sec_line, sec_line
    kyb.kubectl("patch", "configmap", "live", "-p", '{"data":{"motd":"second"}}')
    wait_for(lambda: kyb.kubectl("exec", "mounts", "--", "cat", "/etc/cfg/motd", check=False).stdout == "second",
             timeout=60, what="configmap update visible in the running pod")


def test_security_context_user_readonly_root_and_capabilities(kyb: KybServer) -> None:
    apply(kyb, f"""
apiVersion: v1
kind: Pod
metadata: {{name: locked}}
spec:
  restartPolicy: Never
  securityContext: {{runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000]}}
  containers:
  - name: app
    image: {IMAGE}
    command: [sh, -c, "id; touch /x 2>/dev/null && echo root-writable || echo root-readonly; grep CapEff /proc/self/status"]
    securityContext:
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      capabilities: {{drop: [ALL]}}
""")
    wait_for(lambda: phase(kyb, "locked") == "Succeeded", what="locked done")
    out = kyb.kubectl("logs", "locked").stdout
    assert "uid=1000" in out and "gid=3000" in out and "4000" in out, out
    assert "root-readonly" in out, out
    assert "CapEff:\t0000000000000000" in out, out
