"""`kyb server --cluster-init`: the whole control plane on its own supervised etcd member, driven
by the real kubectl. Objects survive a server restart; an etcd SIGKILLed under the running server
is restarted by the supervisor and the API (watches included) carries on.

The member uses this suite's ports (client 23792, peer 23793); the data dir is under /tmp/kyb-etcd*.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kybernetes.testing.cluster import KybServer

pytestmark = pytest.mark.e2e

ETCD_ARGS = ["--cluster-init", "--etcd-client-port", "23792", "--etcd-peer-port", "23793"]


@pytest.fixture(scope="module")
def kyb() -> Iterator[KybServer]:
    directory = Path(tempfile.mkdtemp(prefix="kyb-etcd-e2e-", dir="/tmp"))
    server = KybServer(directory / "server", extra_args=ETCD_ARGS)
    server.start(timeout=90)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def etcd_pids(server: KybServer) -> list[int]:
    """The etcd processes serving this server's data dir."""
    marker = f"--data-dir={server.data_dir / 'db' / 'etcd'}".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in cmdline and cmdline[0].endswith(b"etcd"):
            pids.append(int(proc.name))
    return pids


def wait_until(predicate: object, timeout: float, what: str) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_server_runs_on_its_embedded_etcd(kyb: KybServer) -> None:
    assert len(etcd_pids(kyb)) == 1
    assert (kyb.data_dir / "db" / "etcd" / "member").is_dir()
    assert not (kyb.data_dir / "db" / "state.db").exists()


def test_create_get_watch_delete(kyb: KybServer) -> None:
    watch = subprocess.Popen(
        ["kubectl", "get", "configmaps", "-n", "default", "--watch-only", "--output-watch-events"],
        env={"KUBECONFIG": str(kyb.kubeconfig), "PATH": "/usr/bin:/bin", "HOME": str(kyb.data_dir)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.0)  # let the watch start
        kyb.kubectl("create", "configmap", "crud", "--from-literal=a=1")
        got = json.loads(kyb.kubectl("get", "configmap", "crud", "-o", "json").stdout)
        assert got["data"] == {"a": "1"}
        assert int(got["metadata"]["resourceVersion"]) > 0
        kyb.kubectl("patch", "configmap", "crud", "-p", '{"data":{"a":"2"}}')
        kyb.kubectl("delete", "configmap", "crud")
        assert kyb.kubectl("get", "configmap", "crud", check=False).returncode != 0
    finally:
        time.sleep(1.0)
        watch.send_signal(signal.SIGTERM)
        out, _ = watch.communicate(timeout=10)
    lines = [line.split() for line in out.splitlines() if "crud" in line]
    assert [line[0] for line in lines] == ["ADDED", "MODIFIED", "DELETED"], out


def test_sigkilled_etcd_is_restarted_and_the_api_recovers(kyb: KybServer) -> None:
    [before] = etcd_pids(kyb)
    watch = subprocess.Popen(
        ["kubectl", "get", "configmaps", "-n", "default", "--watch-only", "-o", "name"],
        env={"KUBECONFIG": str(kyb.kubeconfig), "PATH": "/usr/bin:/bin", "HOME": str(kyb.data_dir)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.0)
        os.kill(before, signal.SIGKILL)
        wait_until(lambda: etcd_pids(kyb) not in ([], [before]), 30, "the supervisor to restart etcd")
        wait_until(
            lambda: kyb.kubectl("create", "configmap", "after-crash", check=False).returncode == 0,
            30,
            "the API to accept writes again",
        )
        assert "after-crash" in kyb.kubectl("get", "configmaps", "-o", "name").stdout
    finally:
        time.sleep(1.5)
        watch.send_signal(signal.SIGTERM)
        out, _ = watch.communicate(timeout=10)
    # the watch opened before the crash saw the write after it: the server's etcd watch resumed
    assert "configmap/after-crash" in out.split(), out
    assert "etcd exited" in kyb.logs()


def test_restart_keeps_objects(kyb: KybServer) -> None:
    kyb.kubectl("create", "namespace", "kept")
    kyb.kubectl("create", "configmap", "kept", "-n", "kept", "--from-literal=k=v")
    kyb.stop()
    assert etcd_pids(kyb) == []  # stopping the server stopped its member
    kyb.start(timeout=90)
    got = json.loads(kyb.kubectl("get", "configmap", "kept", "-n", "kept", "-o", "json").stdout)
    assert got["data"] == {"k": "v"}
    assert len(etcd_pids(kyb)) == 1


def test_a_killed_server_leaves_no_etcd_behind_on_restart(kyb: KybServer) -> None:
    [orphan] = etcd_pids(kyb)
    kyb.kill()  # SIGKILL: no chance to stop its member
    kyb.start(timeout=90)
    pids = etcd_pids(kyb)
    assert len(pids) == 1 and orphan not in pids
    assert "kept" in kyb.kubectl("get", "namespaces", "-o", "name").stdout
