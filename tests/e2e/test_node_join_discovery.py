"""Token-based discovery and certificate rotation on a real joined node.

`kyb server --disable kubelet` with 60-second node certificates ($KYB_CLUSTER_SIGNING_DURATION) and
a separate `kyb agent --server URL --token T --ca-cert-hash H` (no CA file): the agent reads the
signed kube-public/cluster-info anonymously, verifies it with the token and the pin, joins, and then
renews its client and serving certificates while it runs. Refusals: a cluster-info served with an
altered kubeconfig but the old signatures (a man in the middle: a fake server on another port), and a
wrong --ca-cert-hash.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from cryptography import x509

from kybernetes.kubelet.teardown import teardown_node
from kybernetes.machinery import bootstraptoken, clusterinfo
from kybernetes.testing.cluster import KybServer, free_port
from kybernetes.testing.node import phase, wait_for
from kybernetes.util import pki

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PORT = 18978
MITM_PORT = 18979
ROOT = Path("/tmp/kyb-bs")
NODE_DIR = ROOT / "node"
BRIDGE = "kybbs0"
CIDR = "10.162.0.0/16"
NODE = "kyb-bs-node"


def kyb_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kybernetes.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
    )


def create_token(kyb: KybServer, *extra: str) -> tuple[str, str]:
    out = kyb_cli("token", "create", "--data-dir", str(kyb.data_dir), *extra)
    assert out.returncode == 0, out.stderr
    token, join = out.stdout.strip().splitlines()[:2]
    return token, join.split("--ca-cert-hash ")[1]


def cluster_info(kyb: KybServer) -> dict[str, Any]:
    return dict(
        json.loads(kyb.kubectl("get", "cm", "-n", "kube-public", "cluster-info", "-o", "json").stdout)
    )


def signed_for(kyb: KybServer, token: str) -> bool:
    key = clusterinfo.SIGNATURE_PREFIX + token.split(".")[0]
    return key in (cluster_info(kyb).get("data") or {})


@pytest.fixture(scope="module")
def kyb() -> Iterator[KybServer]:
    for _ in teardown_node(NODE_DIR, bridge=BRIDGE):
        pass
    subprocess.run(["rm", "-rf", str(ROOT / "server"), str(NODE_DIR), str(ROOT / "refused")], check=True)
    server = KybServer(
        ROOT / "server", port=PORT, cluster_cidr=CIDR, env={"KYB_CLUSTER_SIGNING_DURATION": "60s"}
    )
    server.start()
    try:
        yield server
    finally:
        server.kubectl("delete", "pods", "--all", "--wait=false", check=False)
        server.stop()


def run_agent_expecting_refusal(kyb: KybServer, server: str, token: str, pin: str) -> str:
    """Run `kyb agent` that must give up during discovery (before any container is started)."""
    data = ROOT / "refused"
    subprocess.run(["rm", "-rf", str(data)], check=True)
    out = kyb_cli(
        "agent", "--server", server, "--token", token, "--ca-cert-hash", pin, "--data-dir", str(data),
        "--node-name", "refused", "--bridge", "kybbs1", "--cluster-cidr", CIDR, timeout=90,
    )  # fmt: skip
    assert out.returncode == 2, out.stdout + out.stderr
    assert not (data / "kubelet.kubeconfig").exists()
    return out.stderr


def test_cluster_info_is_public_and_signed(kyb: KybServer) -> None:
    token, _ = create_token(kyb)
    wait_for(lambda: signed_for(kyb, token), timeout=30, what="the bootstrap signer")
    ctx = ssl.create_default_context(cafile=str(kyb.data_dir / "tls" / "ca.crt"))
    import urllib.request

    with urllib.request.urlopen(
        f"{kyb.url}/api/v1/namespaces/kube-public/configmaps/cluster-info", context=ctx
    ) as r:
        cm = json.loads(r.read())
    content = cm["data"]["kubeconfig"]
    assert clusterinfo.published_ca(content) == (kyb.data_dir / "tls" / "ca.crt").read_bytes()
    parsed = bootstraptoken.parse_token(token)
    assert parsed is not None and clusterinfo.verified_kubeconfig(cm, parsed) == content
    # anonymous users read only that: the CA bundle next to it still needs credentials
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(
            f"{kyb.url}/api/v1/namespaces/kube-public/configmaps/kube-root-ca.crt", context=ctx
        )
    assert e.value.code == 401
    e.value.close()
    # a request with a wrong token is not anonymous: 401 even for cluster-info
    bogus = urllib.request.Request(
        f"{kyb.url}/api/v1/namespaces/kube-public/configmaps/cluster-info",
        headers={"Authorization": "Bearer abcdef.0000000000000000"},
    )
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(bogus, context=ctx)
    assert e.value.code == 401
    e.value.close()
    # a token without the signing usage gets no signature
    auth_only, _ = create_token(kyb, "--usages", "authentication")
    wait_for(lambda: signed_for(kyb, token), timeout=10, what="signatures")
    assert not signed_for(kyb, auth_only)


def test_admin_edit_is_signed_afresh(kyb: KybServer) -> None:
    token, _ = create_token(kyb)
    wait_for(lambda: signed_for(kyb, token), timeout=30, what="the bootstrap signer")
    key = clusterinfo.SIGNATURE_PREFIX + token.split(".")[0]
    before = cluster_info(kyb)
    content = before["data"]["kubeconfig"]
    edited = {**before, "data": {**before["data"], "kubeconfig": content + "# edited by the administrator\n"}}
    kyb.kubectl("replace", "-f", "-", input=json.dumps(edited))
    parsed = bootstraptoken.parse_token(token)
    assert parsed is not None

    def resigned() -> bool:
        data = cluster_info(kyb)["data"]
        return data["kubeconfig"].endswith(
            "# edited by the administrator\n"
        ) and clusterinfo.signature_is_valid(data[key], data["kubeconfig"], parsed.id, parsed.secret)

    wait_for(resigned, timeout=20, what="the edited cluster-info signed again")
    restored = cluster_info(kyb)
    restored["data"]["kubeconfig"] = content
    kyb.kubectl("replace", "-f", "-", input=json.dumps(restored))


@pytest.fixture
def mitm(kyb: KybServer, tmp_path: Path) -> Iterator[str]:
    """A fake API server answering cluster-info with another CA and server, but the real signatures."""
    evil_ca = pki.generate_ca()
    forged_kubeconfig = clusterinfo.cluster_kubeconfig(f"https://127.0.0.1:{MITM_PORT}", evil_ca.cert_pem)
    cert, key = pki.issue_serving_cert(
        evil_ca, common_name="evil", dns_names=["localhost"], ip_addresses=["127.0.0.1"]
    )
    (tmp_path / "tls.crt").write_bytes(cert)
    (tmp_path / "tls.key").write_bytes(key)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(tmp_path / "tls.crt"), str(tmp_path / "tls.key"))

    async def answer(request: web.Request) -> web.Response:
        real = cluster_info(kyb)  # the signatures as they are now, kept; the kubeconfig swapped
        return web.json_response({**real, "data": {**real["data"], "kubeconfig": forged_kubeconfig}})

    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_get("/api/v1/namespaces/kube-public/configmaps/cluster-info", answer)
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", MITM_PORT, ssl_context=ctx).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{MITM_PORT}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.run_until_complete(runner.cleanup())
        loop.close()


def test_tampered_cluster_info_is_refused(kyb: KybServer, mitm: str) -> None:
    token, pin = create_token(kyb)
    wait_for(lambda: signed_for(kyb, token), timeout=30, what="the bootstrap signer")
    err = run_agent_expecting_refusal(kyb, mitm, token, pin)
    assert (
        "failed to verify JWS signature of received cluster info object, can't trust this API Server" in err
    )


def test_wrong_ca_cert_hash_is_refused(kyb: KybServer) -> None:
    token, _ = create_token(kyb)
    err = run_agent_expecting_refusal(kyb, kyb.url, token, "sha256:" + "0" * 64)
    assert "does not match --ca-cert-hash sha256:" + "0" * 64 in err


def test_token_only_discovery(kyb: KybServer) -> None:
    from kybernetes.kubelet.bootstrap import ensure_kubelet_kubeconfig

    token, _ = create_token(kyb)
    node_dir = ROOT / "server" / "token-only"
    path = asyncio.run(
        ensure_kubelet_kubeconfig(node_dir, server=kyb.url, token=token, node_name="token-only", timeout=30)
    )
    assert (node_dir / "ca.crt").read_bytes() == (kyb.data_dir / "tls" / "ca.crt").read_bytes()
    who = json.loads(kyb.kubectl("--kubeconfig", str(path), "auth", "whoami", "-o", "json").stdout)
    assert who["status"]["userInfo"]["username"] == "system:node:token-only"


# --- a real node: join with the token and the pin, then rotate --------------------------------------


def node_ready(kyb: KybServer) -> bool:
    out = kyb.kubectl("get", "node", NODE, "-o", "json", check=False)
    if out.returncode != 0:
        return False
    conds = json.loads(out.stdout).get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)


def client_cert() -> x509.Certificate:
    doc = yaml.safe_load((NODE_DIR / "kubelet.kubeconfig").read_text())
    return x509.load_pem_x509_certificate(
        base64.b64decode(doc["users"][0]["user"]["client-certificate-data"])
    )


def serving_cert_on_disk() -> x509.Certificate:
    return x509.load_pem_x509_certificate((NODE_DIR / "tls" / "kubelet.crt").read_bytes())


def served_serial(kyb: KybServer, port: int, tmp: Path) -> int:
    """The serial of the certificate the kubelet presents on a new connection (as the API server)."""
    ca = pki.CertificateAuthority.load(kyb.data_dir / "tls" / "ca.crt", kyb.data_dir / "tls" / "ca.key")
    cert, key = pki.issue_client_cert(ca, "kube-apiserver-kubelet-client", ("system:masters",))
    (tmp / "c.crt").write_bytes(cert)
    (tmp / "c.key").write_bytes(key)
    ctx = ssl.create_default_context(cafile=str(kyb.data_dir / "tls" / "ca.crt"))
    ctx.check_hostname = False
    ctx.load_cert_chain(str(tmp / "c.crt"), str(tmp / "c.key"))
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock, ctx.wrap_socket(sock) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return int(x509.load_der_x509_certificate(der).serial_number)


def test_node_joins_by_discovery_and_rotates_its_certificates(kyb: KybServer, tmp_path: Path) -> None:
    token, pin = create_token(kyb)
    kubelet_port = free_port()
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    log = open(NODE_DIR / "server.log", "ab")  # noqa: SIM115 - the child's
    agent = subprocess.Popen(
        [sys.executable, "-m", "kybernetes.cli.main", "agent", "--server", kyb.url, "--token", token,
         "--ca-cert-hash", pin, "--data-dir", str(NODE_DIR), "--node-name", NODE, "--bridge", BRIDGE,
         "--cluster-cidr", CIDR, "--kubelet-port", str(kubelet_port)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=dict(os.environ),
    )  # fmt: skip
    log.close()

    def agent_log() -> str:
        return (NODE_DIR / "server.log").read_text(errors="replace")[-5000:]

    try:
        try:
            wait_for(lambda: node_ready(kyb), timeout=120, what="the node joined by discovery Ready")
        except AssertionError:
            raise AssertionError(f"agent exit {agent.poll()}; log:\n{agent_log()}") from None
        assert (NODE_DIR / "ca.crt").read_bytes() == (kyb.data_dir / "tls" / "ca.crt").read_bytes()
        first_client, first_serving = client_cert(), serving_cert_on_disk()
        life = first_client.not_valid_after_utc - first_client.not_valid_before_utc
        assert life <= dt.timedelta(seconds=70), life  # the 60 s signing duration (+ a short backdate)
        kyb.kubectl("run", "rotating", "--image=busybox:1.36", "--restart=Never", "--",
                    "sh", "-c", "echo hello from a rotating node; sleep 3600")  # fmt: skip
        wait_for(lambda: phase(kyb, "rotating") == "Running", timeout=90, what="pod Running")

        def rotated() -> bool:
            return (
                client_cert().serial_number != first_client.serial_number
                and serving_cert_on_disk().serial_number != first_serving.serial_number
            )

        try:
            wait_for(rotated, timeout=120, what="client and serving certificates rotated", interval=1.0)
        except AssertionError:
            raise AssertionError(f"agent log:\n{agent_log()}") from None
        assert (
            "rotated the client certificate" in agent_log()
            and "rotated the serving certificate" in agent_log()
        )
        # the live kubelet server presents a rotated certificate on new connections
        assert served_serial(kyb, kubelet_port, tmp_path) != first_serving.serial_number
        # renewals were asked for with the node's own identity and approved
        csrs = json.loads(kyb.kubectl("get", "csr", "-o", "json").stdout)["items"]
        renewals = [
            c for c in csrs
            if c["spec"]["signerName"] == "kubernetes.io/kube-apiserver-client-kubelet"
            and c["spec"]["username"] == f"system:node:{NODE}"
        ]  # fmt: skip
        assert renewals and all(c["status"].get("certificate") for c in renewals[:-1])
        # well past the first client certificate's expiry the node still reports in, and the API
        # server still reaches the kubelet (logs) through the rotated serving certificate
        expired_at = first_client.not_valid_after_utc + dt.timedelta(seconds=10)
        wait_for(
            lambda: dt.datetime.now(dt.UTC) > expired_at, timeout=90, what="the first certificate expired"
        )
        lease = json.loads(kyb.kubectl("get", "lease", "-n", "kube-node-lease", NODE, "-o", "json").stdout)
        renewed = dt.datetime.fromisoformat(lease["spec"]["renewTime"].replace("Z", "+00:00"))
        assert renewed > first_client.not_valid_after_utc, (renewed, agent_log())
        assert node_ready(kyb)
        wait_for(
            lambda: "hello from a rotating node" in kyb.kubectl("logs", "rotating", check=False).stdout,
            timeout=30,
            what="kubectl logs through the rotated serving certificate",
        )
    finally:
        kyb.kubectl("delete", "pod", "rotating", "--wait=false", check=False)
        agent.terminate()
        try:
            agent.wait(20)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait()
        for _ in teardown_node(NODE_DIR, bridge=BRIDGE):
            pass
