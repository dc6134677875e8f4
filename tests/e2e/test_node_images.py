"""Images on the real node: what `kyb image ls` and the Node object show, pull errors as kubectl
shows them, pulls through a registries.yaml mirror from a loopback `docker-registry`, with and
without imagePullSecrets; and the node's stats through the API server's nodes/proxy.

`registries.yaml` sits in the server's data dir before `kyb server` starts (the server hands it
to its node agent); it maps a made-up registry host to the loopback registry, so pulling
`registry.example.test/...` proves the mirror path end to end.

Resources: API port 18970, cluster CIDR 10.45.0.0/16, bridge kybn2, /tmp/kyb-n2, registry 127.0.0.1:15012.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.images.testimages import BUSYBOX_NAMES, PAUSE_IMAGE, ensure_test_images
from kybernetes.kubelet.teardown import teardown_node
from kybernetes.testing.cluster import KybServer
from kybernetes.testing.node import container_status, node_ready, phase, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
DATA = Path("/tmp/kyb-n2")
PORT = 18970
CIDR = "10.45.0.0/16"
BRIDGE = "kybn2"
REGISTRY = "127.0.0.1:15012"
MIRRORED = "registry.example.test"
USER, PASSWORD = "puller", "s3cret-pw"


class Registry:
    """Debian's docker-registry on loopback, optionally behind htpasswd; stopped by PID."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, htpasswd: Path | None = None) -> None:
        binary = shutil.which("docker-registry")
        if binary is None:
            pytest.fail("docker-registry is required (Debian package docker-registry)")
        self.dir.mkdir(parents=True, exist_ok=True)
        auth = f"auth:\n  htpasswd:\n    realm: kybernetes-test\n    path: {htpasswd}\n" if htpasswd else ""
        config = self.dir / "config.yml"
        config.write_text(f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: "
                          f"{self.dir}/storage\nhttp:\n  addr: {REGISTRY}\n{auth}")
        with (self.dir / "registry.log").open("ab") as log:
            self.proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log,
                                         start_new_session=True)
        host, port = REGISTRY.split(":")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.dir / "registry.log").read_text()[-2000:]
            with contextlib.suppress(OSError), socket.create_connection((host, int(port)), timeout=0.5):
                return
            time.sleep(0.05)
        raise AssertionError(f"docker-registry did not listen on {REGISTRY}")

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                os.kill(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.proc = None


def bcrypt_line(user: str, password: str) -> str:
    """An htpasswd line with a bcrypt hash (docker-registry accepts no other kind)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))
    assert hashed.startswith("$2"), hashed
    return f"{user}:{hashed}\n"


def push(archive: Path, dest: str, creds: tuple[str, str] | None = None) -> None:
    auth = ["--dest-creds", ":".join(creds)] if creds else []
    done = subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", *auth,
                           f"oci-archive:{archive}:docker.io/library/busybox:1.36", f"docker://{REGISTRY}/{dest}"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def _clean() -> None:
    if DATA.exists():
        for _ in teardown_node(DATA / "node", bridge=BRIDGE):
            pass
        shutil.rmtree(DATA, ignore_errors=True)


@pytest.fixture(scope="module")
def kyb() -> Iterator[KybServer]:
    """Like testing.node.start_node_server, with registries.yaml written before the server starts."""
    _clean()
    DATA.mkdir(parents=True)
    (DATA / "registries.yaml").write_text(f'mirrors:\n  {MIRRORED}:\n    endpoint: ["http://{REGISTRY}"]\n')
    server = KybServer(DATA, port=PORT, node=True, cluster_cidr=CIDR, bridge=BRIDGE)
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
        _clean()


@pytest.fixture(scope="module")
def registry() -> Iterator[Registry]:
    r = Registry(DATA / "registry")
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture(scope="module")
def busybox_archive() -> Path:
    return ensure_test_images(DATA / "image-cache")[BUSYBOX_NAMES[0]]


def waiting(kyb: KybServer, name: str) -> dict[str, str]:
    return dict(container_status(kyb, name).get("state", {}).get("waiting") or {})


def status_column(kyb: KybServer, name: str) -> str:
    out = kyb.kubectl("get", "pod", name, "--no-headers", check=False).stdout.split()
    return out[2] if len(out) > 2 else ""


def test_image_ls_and_node_status_images(kyb: KybServer) -> None:
    done = subprocess.run([sys.executable, "-m", "kybernetes.cli.main", "image", "ls", "--data-dir", str(DATA)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    rows = [line.split()[:2] for line in done.stdout.splitlines()[1:]]
    assert ["docker.io/library/busybox", "1.36"] in rows and ["kybernetes.local/pause", "3.10"] in rows
    node = json.loads(kyb.kubectl("get", "node", "-o", "json").stdout)["items"][0]
    names = {n for image in node["status"]["images"] for n in image["names"]}
    assert {PAUSE_IMAGE, "docker.io/library/busybox:1.36"} <= names
    assert all(image["sizeBytes"] > 0 for image in node["status"]["images"])


def test_missing_image_err_image_pull_then_back_off(kyb: KybServer) -> None:
    kyb.kubectl("run", "nope", "--image=kybernetes.local/nope:1", "--restart=Never")
    wait_for(lambda: status_column(kyb, "nope") == "ErrImagePull", what="ErrImagePull", interval=0.1)
    message = waiting(kyb, "nope")["message"]
    assert message.startswith("rpc error: code = ") and 'failed to pull and unpack image "kybernetes.local/nope:1"' in message
    wait_for(lambda: status_column(kyb, "nope") == "ImagePullBackOff", timeout=30, what="ImagePullBackOff")
    assert waiting(kyb, "nope")["message"].startswith(
        'Back-off pulling image "kybernetes.local/nope:1": ErrImagePull: rpc error: ')
    assert phase(kyb, "nope") == "Pending"


def test_pull_policy_never_with_a_missing_image(kyb: KybServer) -> None:
    kyb.kubectl("run", "never", "--image=kybernetes.local/nope:1", "--restart=Never", "--image-pull-policy=Never")
    wait_for(lambda: status_column(kyb, "never") == "ErrImageNeverPull", what="ErrImageNeverPull")
    assert waiting(kyb, "never")["message"] == \
        'Container image "kybernetes.local/nope:1" is not present with pull policy of Never'


def test_pull_through_a_registries_yaml_mirror(kyb: KybServer, registry: Registry, busybox_archive: Path) -> None:
    registry.start()
    push(busybox_archive, "library/busybox:pushed")
    kyb.kubectl("run", "mirrored", f"--image={MIRRORED}/library/busybox:pushed", "--restart=Never", "--",
                "sh", "-c", "echo from-the-mirror; sleep 3600")
    wait_for(lambda: phase(kyb, "mirrored") == "Running", what="mirrored Running")
    cs = container_status(kyb, "mirrored")
    assert cs["imageID"].startswith(f"{MIRRORED}/library/busybox@sha256:"), cs
    wait_for(lambda: "from-the-mirror" in kyb.kubectl("logs", "mirrored", check=False).stdout, what="logs")
    registry.stop()


def test_private_registry_needs_image_pull_secrets(kyb: KybServer, registry: Registry, busybox_archive: Path) -> None:
    htpasswd = DATA / "htpasswd"
    htpasswd.write_text(bcrypt_line(USER, PASSWORD))
    registry.start(htpasswd)
    push(busybox_archive, "team/private:1", creds=(USER, PASSWORD))
    image = f"{MIRRORED}/team/private:1"
    # First without credentials (the image must not be on the node yet, or IfNotPresent would use it).
    kyb.kubectl("run", "anonymous", f"--image={image}", "--restart=Never", "--", "sleep", "3600")
    wait_for(lambda: waiting(kyb, "anonymous").get("reason") == "ErrImagePull", what="ErrImagePull")
    assert "401 Unauthorized" in waiting(kyb, "anonymous")["message"]
    kyb.kubectl("create", "secret", "docker-registry", "regcred", f"--docker-server={MIRRORED}",
                f"--docker-username={USER}", f"--docker-password={PASSWORD}")
    kyb.kubectl("apply", "-f", "-", input=f"""
apiVersion: v1
kind: Pod
metadata: {{name: authorized}}
spec:
  imagePullSecrets: [{{name: regcred}}]
  containers: [{{name: app, image: "{image}", command: [sleep, "3600"]}}]
""")
    wait_for(lambda: phase(kyb, "authorized") == "Running", what="authorized Running")
    # The same bytes as busybox:pushed, so containerd may name the image id by either repository.
    assert "@sha256:" in container_status(kyb, "authorized")["imageID"]
    # Now on the node, the image also starts the pod without credentials (IfNotPresent), as upstream
    # does unless its alpha KubeletEnsureSecretPulledImages gate is on.
    registry.stop()


def test_stats_summary_through_the_node_proxy(kyb: KybServer) -> None:
    node = json.loads(kyb.kubectl("get", "nodes", "-o", "json").stdout)["items"][0]["metadata"]["name"]
    kyb.kubectl("run", "measured", "--image=busybox:1.36", "--restart=Never", "--", "sleep", "3600")
    wait_for(lambda: phase(kyb, "measured") == "Running", what="measured Running")

    def summary() -> dict[str, Any]:
        out = kyb.kubectl("get", "--raw", f"/api/v1/nodes/{node}/proxy/stats/summary")
        return dict(json.loads(out.stdout))
    found = wait_for(lambda: any(p["podRef"]["name"] == "measured" for p in summary()["pods"]) and summary(),
                     what="the pod in the summary")
    assert found["node"]["nodeName"] == node
    assert found["node"]["memory"]["workingSetBytes"] > 0
    healthz = kyb.kubectl("get", "--raw", f"/api/v1/nodes/{node}/proxy/healthz").stdout
    assert healthz.strip() == "ok"
