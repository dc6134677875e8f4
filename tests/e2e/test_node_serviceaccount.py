"""A process in a pod talks to the API server as its service account (real node, real kubectl).

The pod reads /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace} (the
kube-api-access-* projected volume, its token a TokenRequest token bound to the pod) and reaches
the API server's port. The `kubernetes` Service ClusterIP is not routed yet (no proxy), so the pod
uses the node itself: its default gateway (the node's bridge address) and the server's port —
which is why this server binds every address, not only loopback.

The HTTPS call itself is made from the test with the token read out of the pod: busybox wget's
built-in TLS (the test image has no openssl) offers only SHA-1 signature algorithms, which
OpenSSL's default security level refuses ("no shared cipher"); real clients (Go, Python) are fine.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kybernetes.kubelet.teardown import teardown_node
from kybernetes.testing.cluster import KybServer
from kybernetes.testing.node import node_ready, phase, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PORT = 18750
DATA = Path("/tmp/kyb-n5")
CIDR = "10.48.0.0/16"
BRIDGE = "kybn5"
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


@pytest.fixture(scope="module")
def kyb() -> Iterator[KybServer]:
    if DATA.exists():
        for _ in teardown_node(DATA / "node", bridge=BRIDGE):
            pass
        shutil.rmtree(DATA, ignore_errors=True)
    # the later --bind-address wins: pods reach the server through the node's bridge address
    server = KybServer(DATA, port=PORT, node=True, cluster_cidr=CIDR, bridge=BRIDGE,
                       extra_args=["--bind-address", "0.0.0.0"])
    try:
        server.start()
        wait_for(lambda: node_ready(server), timeout=90, what="node Ready")
        yield server
    finally:
        if server.proc is not None:
            server.kubectl("delete", "pods", "--all", "--all-namespaces", "--grace-period=0", "--force",
                           "--wait=false", check=False)
            time.sleep(1)
        server.stop(timeout=30)
        for _ in teardown_node(DATA / "node", bridge=BRIDGE):
            pass
        shutil.rmtree(DATA, ignore_errors=True)


def test_pod_calls_the_api_with_its_token(kyb: KybServer) -> None:
    wait_for(lambda: kyb.kubectl("get", "sa/default", "configmap/kube-root-ca.crt", check=False).returncode == 0,
             what="default service account and kube-root-ca.crt")
    script = (f"cat {SA_DIR}/namespace; echo; head -c 3 {SA_DIR}/token; echo; "
              f"grep -c 'BEGIN CERTIFICATE' {SA_DIR}/ca.crt; "
              # the TCP path from the pod to the API server (see the module docstring)
              f"GW=$(ip route | awk '/^default/ {{print $3}}'); echo | timeout 5 nc $GW {PORT}; echo nc-exit=$?; "
              "sleep 3600")
    kyb.kubectl("run", "caller", "--image=busybox:1.36", "--restart=Never", "--", "sh", "-c", script)
    wait_for(lambda: phase(kyb, "caller") == "Running", what="caller Running")

    def finished() -> str:
        out = kyb.kubectl("logs", "caller", check=False).stdout
        return out if "nc-exit" in out else ""

    logs = wait_for(finished, timeout=40, what="the pod's script")
    lines = logs.splitlines()
    assert lines[:3] == ["default", "eyJ", "1"] and lines[-1] == "nc-exit=0", logs
    mode = kyb.kubectl("exec", "caller", "--", "stat", "-L", "-c", "%a", f"{SA_DIR}/token").stdout.strip()
    assert mode == "644"
    mounts = kyb.kubectl("exec", "caller", "--", "grep", SA_DIR, "/proc/mounts").stdout
    assert " ro," in mounts and "tmpfs" in mounts, mounts

    # the mounted token is bound to the pod, names its node, and authenticates kubectl too
    token = kyb.kubectl("exec", "caller", "--", "cat", f"{SA_DIR}/token").stdout.strip()
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
    got = json.loads(kyb.kubectl("create", "-o", "json", "-f", "-", input=json.dumps(review)).stdout)
    user = got["status"]["user"]
    assert got["status"]["authenticated"] is True and user["username"] == "system:serviceaccount:default:default"
    assert user["extra"]["authentication.kubernetes.io/pod-name"] == ["caller"]
    assert user["extra"]["authentication.kubernetes.io/node-name"]
    plain = kyb.data_dir / "plain.kubeconfig"
    plain.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": kyb.url, "certificate-authority": str(kyb.data_dir / "tls/ca.crt")}}],
        "users": [{"name": "u", "user": {}}], "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    env = {"KUBECONFIG": str(plain)}
    # authorization is on (RBAC): the account reads pods once bound to a role that allows it
    kyb.kubectl("create", "rolebinding", "default-view", "--clusterrole=view", "--serviceaccount=default:default")
    assert "caller" in kyb.kubectl("get", "pods", "--token", token, env=env).stdout

    # deleting the pod kills its token at once
    kyb.kubectl("delete", "pod", "caller", "--grace-period=0", "--force")
    wait_for(lambda: kyb.kubectl("get", "pod", "caller", check=False).returncode != 0, what="caller gone")
    denied = kyb.kubectl("get", "pods", "--token", token, env=env, check=False)
    assert denied.returncode != 0 and "Unauthorized" in denied.stderr
