"""Logging on a real node: a chatty container's log is rotated (small --container-log-max-size via
KYB_CONTAINER_LOG_MAX_SIZE) while `kubectl logs` keeps showing its newest lines; containers/
symlinks; logs of a deleted pod are still returned by `kyb logs query`; the store's paths need
credentials and rights."""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

from kybernetes.testing.cluster import KybServer, find_kubectl
from kybernetes.testing.node import phase, pod, start_node_server, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PORT = 18968
DATA = Path("/tmp/kyb-log-e2e")
IMAGE = "busybox:1.36"
MAX_SIZE = 16 * 1024


@pytest.fixture(scope="module")
def kyb() -> Iterator[KybServer]:
    knobs = {
        "KYB_CONTAINER_LOG_MAX_SIZE": str(MAX_SIZE),
        "KYB_CONTAINER_LOG_MAX_FILES": "3",
        "KYB_CONTAINER_LOG_MONITOR_INTERVAL": "1",
    }
    with mock.patch.dict(os.environ, knobs):
        yield from start_node_server(DATA, PORT, cluster_cidr="10.156.0.0/16", bridge="kybl0")


def kyb_logs(kyb: KybServer, *args: str) -> str:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "kybernetes.cli.main",
            "logs",
            "query",
            "--kubeconfig",
            str(kyb.kubeconfig),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"line (\d+) ", text)]


def test_chatty_container_log_is_rotated_and_kubectl_logs_follows(kyb: KybServer) -> None:
    script = (
        "i=0; while true; do i=$((i+1)); echo \"line $i $(printf '%060d' 0)\"; "
        "[ $((i % 50)) -eq 0 ] && sleep 0.4; done"
    )
    kyb.kubectl("run", "chatty", f"--image={IMAGE}", "--restart=Never", "--", "sh", "-c", script)
    wait_for(lambda: phase(kyb, "chatty") == "Running", what="chatty Running")
    uid = pod(kyb, "chatty")["metadata"]["uid"]
    log_dir = DATA / "node" / "pods" / f"default_chatty_{uid}" / "chatty"

    def rotated() -> list[str]:
        names = sorted(p.name for p in log_dir.iterdir())
        return names if any(n.endswith(".gz") for n in names) else []

    names = wait_for(rotated, timeout=60, what="a compressed rotated log")
    assert "0.log" in names and len(names) <= 3  # max files 3: live, one plain, one gz
    assert all(re.fullmatch(r"0\.log(\.\d{8}-\d{6}(\.gz)?)?", n) for n in names), names
    # the live file stays near the limit (one monitoring interval of output beyond it at most)
    assert (log_dir / "0.log").stat().st_size < MAX_SIZE * 8

    # `kubectl logs` reads the live file: its newest lines keep coming, past the rotated ones
    # (right after a rotation the live file holds few lines, as upstream: wait for three)
    first = wait_for(lambda: numbers(kyb.kubectl("logs", "chatty", "--tail=3").stdout)[-3:], what="3 lines")
    assert len(first) == 3 and first == list(range(first[0], first[0] + 3))
    wait_for(
        lambda: (numbers(kyb.kubectl("logs", "chatty", "--tail=1").stdout) or [0])[-1] > first[-1] + 200,
        timeout=30,
        what="newer lines after rotation",
    )

    # the flat symlink the shippers read points at the live log
    links = list((DATA / "node" / "containers").glob("chatty_default_chatty-*.log"))
    assert len(links) == 1 and os.readlink(links[0]) == str(log_dir / "0.log")

    # `kubectl logs -f` goes on across rotations without losing a line
    follower = subprocess.Popen(
        [find_kubectl(), "logs", "-f", "--tail=1", "chatty"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "KUBECONFIG": str(kyb.kubeconfig)},
    )
    try:
        time.sleep(4)  # several monitoring rounds, so several rotations
    finally:
        follower.terminate()
        followed, _ = follower.communicate(timeout=10)
    seen = numbers(followed)
    assert len(seen) > 200 and seen == list(range(seen[0], seen[0] + len(seen)))

    # the shipper followed through the rotations too: the store has the lines, consecutive
    shipped = numbers(kyb_logs(kyb, "--pod", "chatty", "--tail", "500"))
    assert len(shipped) == 500 and shipped == list(range(shipped[0], shipped[0] + 500))
    kyb.kubectl("delete", "pod", "chatty", "--grace-period=1", "--wait=true")
    wait_for(lambda: not links[0].is_symlink(), timeout=30, what="the symlink removed with the container")
    server_log = kyb.logs()
    assert "rotated the log of container" in server_log
    for problem in (
        "log shipping failed",
        "container log housekeeping failed",
        "WARNING kyb.kubelet.logs",
    ):
        assert problem not in server_log


def test_logs_of_a_deleted_pod_are_queryable(kyb: KybServer) -> None:
    kyb.kubectl(
        "apply",
        "-f",
        "-",
        input=f"""
apiVersion: v1
kind: Pod
metadata: {{name: ephemeral, labels: {{app: ephemeral, tier: demo}}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: talker
    image: {IMAGE}
    command: ["sh", "-c", "for i in 1 2 3; do echo hello-from-ephemeral $i; done; echo oops >&2; sleep 3600"]
""",
    )
    wait_for(
        lambda: "hello-from-ephemeral 3" in kyb.kubectl("logs", "ephemeral", check=False).stdout,
        what="kubectl logs",
    )
    kyb.kubectl("delete", "pod", "ephemeral", "--wait=true")
    assert kyb.kubectl("get", "pod", "ephemeral", check=False).returncode != 0

    out = wait_for(
        lambda: kyb_logs(kyb, "-l", "app=ephemeral", "--pod", "ephemeral", "-c", "talker"),
        timeout=30,
        what="the deleted pod's lines in the store",
    )
    # (stdout and stderr are stamped apart by containerd: only each stream's order is certain)
    assert [line for line in out.splitlines() if line != "oops"] == [
        f"hello-from-ephemeral {i}" for i in (1, 2, 3)
    ]
    assert "oops" in out.splitlines()
    # prefixes, selectors, grep, JSON with the pod's metadata
    assert "[default/ephemeral/talker] hello-from-ephemeral 2" in kyb_logs(kyb, "-l", "tier=demo")
    assert kyb_logs(kyb, "-l", "tier=demo", "--grep", "ephemeral [13]$", "--no-prefix").split() == [
        "hello-from-ephemeral",
        "1",
        "hello-from-ephemeral",
        "3",
    ]
    assert kyb_logs(kyb, "-l", "tier=other") == ""
    assert kyb_logs(kyb, "-n", "kube-system", "--pod", "ephemeral") == ""
    record = json.loads(kyb_logs(kyb, "--pod", "ephemeral", "--grep", "oops", "-o", "json").splitlines()[0])
    assert record["stream"] == "stderr" and record["labels"] == {"app": "ephemeral", "tier": "demo"}
    assert record["node"] and record["uid"] and record["namespace"] == "default"


def test_kyb_logs_query_follow_prints_new_lines(kyb: KybServer) -> None:
    cmd = [
        sys.executable,
        "-m",
        "kybernetes.cli.main",
        "logs",
        "query",
        "--kubeconfig",
        str(kyb.kubeconfig),
        "--pod",
        "ticker",
        "-f",
        "--no-prefix",
    ]
    lines: list[str] = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as follower:
        out = follower.stdout
        assert out is not None
        reader = threading.Thread(target=lambda: lines.extend(iter(out.readline, "")), daemon=True)
        reader.start()
        try:
            kyb.kubectl(
                "run",
                "ticker",
                f"--image={IMAGE}",
                "--restart=Never",
                "--",
                "sh",
                "-c",
                "for i in 1 2 3; do echo tick $i; sleep 1; done; sleep 3600",
            )
            wait_for(lambda: "tick 3\n" in lines, timeout=40, what="followed lines")
            assert lines[:3] == ["tick 1\n", "tick 2\n", "tick 3\n"]
        finally:
            follower.terminate()
            follower.wait(timeout=10)
            reader.join(timeout=10)
    kyb.kubectl("delete", "pod", "ticker", "--grace-period=1", "--wait=false")


def _get(kyb: KybServer, path: str, token: str = "") -> int:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    req = urllib.request.Request(
        kyb.url + path, headers={"Authorization": f"Bearer {token}"} if token else {}
    )
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def test_store_paths_need_credentials_and_rights(kyb: KybServer) -> None:
    assert _get(kyb, "/kyb/logs/v1/query") == 401
    token = kyb.kubectl("create", "token", "default").stdout.strip()
    assert _get(kyb, "/kyb/logs/v1/query", token) == 403
    kyb.kubectl("create", "clusterrole", "log-reader", "--verb=get", "--non-resource-url=/kyb/logs/v1/query")
    kyb.kubectl(
        "create",
        "clusterrolebinding",
        "log-reader",
        "--clusterrole=log-reader",
        "--serviceaccount=default:default",
    )
    wait_for(lambda: _get(kyb, "/kyb/logs/v1/query?limit=1", token) == 200, timeout=20, what="RBAC grant")
    assert _get(kyb, "/kyb/logs/v1/query?limit=0", token) == 400
