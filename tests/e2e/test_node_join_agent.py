"""A real node joins with a bootstrap token: `kyb server --disable kubelet` plus a separate
`kyb agent --server URL --token T --ca-file CA`. The agent gets its client certificate through a
CSR (identity system:node:<name>), its kubelet serving certificate through a kubelet-serving CSR,
becomes Ready, runs a pod, and the API server reaches it for logs and exec.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from kybernetes.kubelet.teardown import teardown_node
from kybernetes.testing.cluster import KybServer, free_port
from kybernetes.testing.node import phase, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PORT = 18602
ROOT = Path("/tmp/kyb-m1")
NODE_DIR = ROOT / "node"
BRIDGE = "kybm1"
NODE = "kyb-m1-node"


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[KybServer, subprocess.Popen[bytes]]]:
    for _ in teardown_node(NODE_DIR, bridge=BRIDGE):
        pass
    subprocess.run(["rm", "-rf", str(ROOT / "server"), str(NODE_DIR)], check=True)
    kyb = KybServer(ROOT / "server", port=PORT, cluster_cidr="10.50.0.0/16")
    kyb.start()
    agent: subprocess.Popen[bytes] | None = None
    try:
        out = subprocess.run([sys.executable, "-m", "kybernetes.cli.main", "token", "create", "--data-dir",
                              str(kyb.data_dir)], capture_output=True, text=True, check=True)
        token = out.stdout.splitlines()[0]
        NODE_DIR.mkdir(parents=True)
        log = open(NODE_DIR / "server.log", "ab")  # noqa: SIM115 - the child's
        agent = subprocess.Popen(
            [sys.executable, "-m", "kybernetes.cli.main", "agent", "--server", kyb.url, "--token", token,
             "--ca-file", str(kyb.data_dir / "tls" / "ca.crt"), "--data-dir", str(NODE_DIR), "--node-name", NODE,
             "--bridge", BRIDGE, "--cluster-cidr", "10.50.0.0/16", "--kubelet-port", str(free_port())],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=dict(os.environ))
        log.close()
        yield kyb, agent
    finally:
        with_pods = kyb.kubectl("delete", "pods", "--all", "--wait=false", check=False)
        del with_pods
        if agent is not None:
            agent.terminate()
            try:
                agent.wait(20)
            except subprocess.TimeoutExpired:
                agent.kill()
                agent.wait()
        kyb.stop()
        for _ in teardown_node(NODE_DIR, bridge=BRIDGE):
            pass


def agent_log() -> str:
    path = NODE_DIR / "server.log"
    return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def node_ready(kyb: KybServer) -> bool:
    out = kyb.kubectl("get", "node", NODE, "-o", "json", check=False)
    if out.returncode != 0:
        return False
    conds = json.loads(out.stdout).get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)


def test_agent_joins_with_its_own_identity(cluster: tuple[KybServer, subprocess.Popen[bytes]]) -> None:
    kyb, agent = cluster
    try:
        wait_for(lambda: node_ready(kyb), timeout=120, what="the joined node Ready")
    except AssertionError:
        raise AssertionError(f"agent exit {agent.poll()}; log:\n{agent_log()}") from None
    doc = yaml.safe_load((NODE_DIR / "kubelet.kubeconfig").read_text())
    cert = x509.load_pem_x509_certificate(base64.b64decode(doc["users"][0]["user"]["client-certificate-data"]))
    assert cert.subject.rfc4514_string() == f"CN=system:node:{NODE},O=system:nodes"
    assert "token" not in doc["users"][0]["user"]
    csrs = json.loads(kyb.kubectl("get", "csr", "-o", "json").stdout)["items"]
    by_signer = {c["spec"]["signerName"]: c for c in csrs}
    client = by_signer["kubernetes.io/kube-apiserver-client-kubelet"]
    assert client["spec"]["username"].startswith("system:bootstrap:")
    serving = by_signer["kubernetes.io/kubelet-serving"]
    assert serving["spec"]["username"] == f"system:node:{NODE}"
    assert serving["status"].get("certificate")
    node = json.loads(kyb.kubectl("get", "node", NODE, "-o", "json").stdout)
    assert node["spec"]["podCIDR"].startswith("10.50.")


def test_pod_runs_and_api_server_reaches_the_kubelet(cluster: tuple[KybServer, subprocess.Popen[bytes]]) -> None:
    kyb, _ = cluster
    wait_for(lambda: node_ready(kyb), timeout=120, what="node Ready")
    kyb.kubectl("run", "joined", "--image=busybox:1.36", "--restart=Never", "--", "sh", "-c",
                "echo hello from the joined node; sleep 3600")
    wait_for(lambda: phase(kyb, "joined") == "Running", timeout=90, what="pod Running")
    p = json.loads(kyb.kubectl("get", "pod", "joined", "-o", "json").stdout)
    assert p["spec"]["nodeName"] == NODE
    wait_for(lambda: "hello from the joined node" in kyb.kubectl("logs", "joined", check=False).stdout,
             what="logs through the kubelet's CSR-issued serving certificate")
    out = kyb.kubectl("exec", "joined", "--", "echo", "exec-ok")
    assert out.stdout.strip() == "exec-ok"
