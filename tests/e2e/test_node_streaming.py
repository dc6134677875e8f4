"""kubectl logs, exec, cp, port-forward, attach and `run --rm -i` against the real node: real kubectl
(1.32 WebSocket, 1.32 forced SPDY, 1.27 SPDY) → `kyb server` → its node's kubelet API → containerd.

Resources: API port 18970, cluster CIDR 10.45.0.0/16, bridge kybn2, /tmp/kyb-n2; port-forward
listens on ports kubectl picks itself (`:8080`), so no local port is fixed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kybernetes.testing.cluster import KybServer, find_kubectl
from kybernetes.testing.node import container_status, phase, pod, start_node_server, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PORT = 18970
IMAGE = "busybox:1.36"
HTTPD = "mkdir -p /www && echo hello-from-httpd > /www/index.html && echo web-up && exec httpd -f -p 8080 -h /www"
SPDY_ONLY = {"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"}
CLIENTS = [pytest.param("", {}, id="1.32-websocket"), pytest.param("", SPDY_ONLY, id="1.32-spdy"),
           pytest.param("1.27", {}, id="1.27-spdy")]


@pytest.fixture(scope="module")
def kyb() -> Iterator[KybServer]:
    server_iter = start_node_server(Path("/tmp/kyb-n2"), PORT, cluster_cidr="10.45.0.0/16", bridge="kybn2")
    server = next(server_iter)
    try:
        _workloads(server)
        yield server
    finally:
        for _ in server_iter:
            pass


def _workloads(server: KybServer) -> None:
    server.kubectl("apply", "-f", "-", input=f"""
apiVersion: v1
kind: Pod
metadata: {{name: shell, labels: {{app: shell}}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {{name: main, image: "{IMAGE}", command: [sh, -c, "echo one; echo two; echo three; exec sleep 3600"]}}
  - {{name: side, image: "{IMAGE}", command: [sh, -c, "echo side-car; exec sleep 3600"]}}
""")
    server.kubectl("create", "deployment", "web", f"--image={IMAGE}", "--", "sh", "-c", HTTPD)
    server.kubectl("expose", "deployment", "web", "--port=80", "--target-port=8080")
    wait_for(lambda: phase(server, "shell") == "Running", what="shell Running")
    wait_for(lambda: "web-up" in server.kubectl("logs", "deploy/web", check=False).stdout, what="web serving")


# ---- logs ------------------------------------------------------------------------------------------------------


def test_logs_tail_container_label_and_deployment(kyb: KybServer) -> None:
    assert kyb.kubectl("logs", "shell", "-c", "main").stdout == "one\ntwo\nthree\n"
    assert kyb.kubectl("logs", "shell", "-c", "main", "--tail=1").stdout == "three\n"
    assert kyb.kubectl("logs", "shell", "-c", "side").stdout == "side-car\n"
    assert kyb.kubectl("logs", "-l", "app=shell", "-c", "main").stdout == "one\ntwo\nthree\n"
    assert "side-car" in kyb.kubectl("logs", "-l", "app=shell", "--all-containers", "--prefix").stdout
    assert kyb.kubectl("logs", "deploy/web").stdout == "web-up\n"
    assert kyb.kubectl("logs", "-l", "app=web").stdout == "web-up\n"
    stamped = kyb.kubectl("logs", "shell", "-c", "main", "--timestamps", "--tail=1").stdout
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z three\n", stamped), stamped


@pytest.mark.parametrize("version", ["", "1.27"], ids=["1.32", "1.27"])
def test_logs_follow_ends_when_the_container_exits(kyb: KybServer, version: str) -> None:
    name = f"counter{version.replace('.', '')}"
    kyb.kubectl("run", name, f"--image={IMAGE}", "--restart=Never", "--", "sh", "-c",
                "for i in 1 2 3 4 5; do echo count-$i; sleep 0.5; done")
    wait_for(lambda: container_status(kyb, name).get("state", {}).get("running"), what="counter running")
    began = time.monotonic()
    out = kyb.kubectl("logs", "-f", name, version=version, timeout=40)
    assert out.stdout == "".join(f"count-{i}\n" for i in range(1, 6))
    assert time.monotonic() - began < 20


def test_logs_previous_after_a_restart(kyb: KybServer) -> None:
    kyb.kubectl("run", "again", f"--image={IMAGE}", "--restart=Always", "--", "sh", "-c",
                "echo run-$(date +%s%N); sleep 1; exit 1")
    wait_for(lambda: container_status(kyb, "again").get("restartCount", 0) >= 1, timeout=60, what="a restart")
    previous = kyb.kubectl("logs", "again", "--previous").stdout
    assert previous.startswith("run-"), previous
    bad = kyb.kubectl("logs", "shell", "-c", "main", "--previous", check=False)
    assert bad.returncode != 0 and "previous terminated container" in bad.stderr, bad.stderr


# ---- exec ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "env"), CLIENTS)
def test_exec_output_exit_codes_and_stdin(kyb: KybServer, version: str, env: dict[str, str]) -> None:
    out = kyb.kubectl("exec", "shell", "-c", "main", "--", "sh", "-c", "echo out; echo err >&2",
                      version=version, env=env)
    assert (out.stdout, out.stderr) == ("out\n", "err\n")
    failed = kyb.kubectl("exec", "shell", "-c", "main", "--", "sh", "-c", "exit 7", version=version, env=env,
                         check=False)
    assert failed.returncode == 7 and "command terminated with exit code 7" in failed.stderr
    text = "".join(f"line {i}\n" for i in range(500))
    echoed = kyb.kubectl("exec", "-i", "shell", "-c", "main", "--", "cat", input=text, version=version, env=env,
                         timeout=30)
    assert echoed.stdout == text
    missing = kyb.kubectl("exec", "shell", "-c", "main", "--", "/no/such", version=version, env=env, check=False)
    assert missing.returncode != 0


def test_exec_defaults_to_the_first_container(kyb: KybServer) -> None:
    out = kyb.kubectl("exec", "shell", "--", "echo", "defaulted")
    assert out.stdout == "defaulted\n"
    assert 'Defaulted container "main" out of: main, side' in out.stderr


# ---- cp --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["", "1.27"], ids=["1.32", "1.27"])
def test_cp_both_ways(kyb: KybServer, tmp_path: Path, version: str) -> None:
    payload = os.urandom(200_000)
    (tmp_path / "up.bin").write_bytes(payload)
    target = f"/tmp/up-{version or 'new'}.bin"
    kyb.kubectl("cp", str(tmp_path / "up.bin"), f"shell:{target}", "-c", "main", version=version)
    size = kyb.kubectl("exec", "shell", "-c", "main", "--", "wc", "-c", target).stdout.split()[0]
    assert size == str(len(payload))
    kyb.kubectl("cp", f"shell:{target}", str(tmp_path / "down.bin"), "-c", "main", version=version)
    assert (tmp_path / "down.bin").read_bytes() == payload


# ---- port-forward ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["", "1.27"], ids=["1.32", "1.27"])
@pytest.mark.parametrize("target", ["pod", "svc"])
def test_port_forward_to_httpd(kyb: KybServer, version: str, target: str) -> None:
    if target == "pod":
        items = json.loads(kyb.kubectl("get", "pods", "-l", "app=web", "-o", "json").stdout)["items"]
        ref, remote = f"pod/{items[0]['metadata']['name']}", "8080"
    else:
        ref, remote = "svc/web", "80"  # the service port maps to the pod's targetPort 8080
    env = dict(os.environ, KUBECONFIG=str(kyb.kubeconfig), HOME=str(kyb.data_dir / "home"))
    with subprocess.Popen([find_kubectl(version), "port-forward", ref, f":{remote}"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            found = re.match(r"Forwarding from 127\.0\.0\.1:(\d+) -> 8080", line)
            assert found, line
            for _ in range(3):
                with urllib.request.urlopen(f"http://127.0.0.1:{found.group(1)}/", timeout=10) as r:
                    assert r.read() == b"hello-from-httpd\n"
            assert proc.poll() is None
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        errors = proc.stderr.read() if proc.stderr is not None else ""
    assert "error" not in errors.lower(), errors


# ---- attach and run -i -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "env"), CLIENTS)
def test_attach_to_a_process_reading_stdin(kyb: KybServer, version: str, env: dict[str, str]) -> None:
    name = f"reader{version.replace('.', '')}{'s' if env else ''}"
    kyb.kubectl("run", name, f"--image={IMAGE}", "--restart=Never", "-i", "--attach=false", "--", "sh", "-c",
                "echo ready; read line; echo got-$line")
    spec = pod(kyb, name)["spec"]["containers"][0]
    assert spec["stdin"] is True and spec["stdinOnce"] is True
    wait_for(lambda: "ready" in kyb.kubectl("logs", name, check=False).stdout, what="reader started")
    out = kyb.kubectl("attach", "-i", name, input="hello\n", version=version, env=env, timeout=30)
    assert "got-hello" in out.stdout
    wait_for(lambda: phase(kyb, name) == "Succeeded", what="reader finished after its stdin closed")


def test_run_rm_interactive_prints_and_deletes(kyb: KybServer) -> None:
    # Attach sees only what is written after it connects (as upstream): the command waits a moment
    # so the test does not race kubectl's attach against a container that has already printed.
    out = kyb.kubectl("run", "tmp", "--rm", "-i", f"--image={IMAGE}", "--restart=Never", "--", "sh", "-c",
                      "sleep 2; echo hi", timeout=60)
    assert "hi\n" in out.stdout
    assert 'pod "tmp" deleted' in out.stdout
    piped = kyb.kubectl("run", "tmp2", "--rm", "-i", f"--image={IMAGE}", "--restart=Never", "--", "sh", "-c",
                        "read x; echo got-$x", input="typed\n", timeout=60)
    assert "got-typed" in piped.stdout
    wait_for(lambda: not pod(kyb, "tmp") and not pod(kyb, "tmp2"), what="both deleted")
