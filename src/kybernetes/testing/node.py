"""A `kyb server` with its real local node (kubelet on containerd), for tests of real pods.

The node's data lives under a fixed /tmp path so that leftovers of a crashed run are found and
removed by the next one; teardown deletes every pod, stops the server (the agent leaves pods
running on purpose) and then removes the node: containers, containerd, mounts, bridge, cgroups.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kybernetes.kubelet.teardown import teardown_node
from kybernetes.testing.cluster import KybServer


def wait_for(check: Callable[[], Any], timeout: float = 60.0, what: str = "", interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")


def node_ready(kyb: KybServer) -> bool:
    out = kyb.kubectl("get", "nodes", "-o", "json", check=False)
    if out.returncode != 0:
        return False
    for node in json.loads(out.stdout)["items"]:
        for c in node.get("status", {}).get("conditions", []):
            if c["type"] == "Ready" and c["status"] == "True":
                return True
    return False


def start_node_server(data_dir: Path, port: int, *, cluster_cidr: str = "", bridge: str = "kyb0") -> Iterator[KybServer]:
    """A server with its node; tests that may run beside others give their own pod range and bridge."""
    if data_dir.exists():
        for _ in teardown_node(data_dir / "node", bridge=bridge):
            pass
        shutil.rmtree(data_dir, ignore_errors=True)
    server = KybServer(data_dir, port=port, node=True, cluster_cidr=cluster_cidr, bridge=bridge)
    try:
        server.start()
        wait_for(lambda: node_ready(server), timeout=90, what="node Ready")
        yield server
    finally:
        if server.proc is not None:
            # A graceful delete lets the node stop each sandbox itself (CNI DEL removes hostPort
            # rules and address leases); node-reset below is the fallback for whatever is left.
            server.kubectl("delete", "pods", "--all", "--all-namespaces", "--grace-period=1", "--wait=true",
                           "--timeout=60s", check=False, timeout=90)
        server.stop(timeout=30)
        for _ in teardown_node(data_dir / "node", bridge=bridge):
            pass
        shutil.rmtree(data_dir, ignore_errors=True)


def pod(kyb: KybServer, name: str, namespace: str = "default") -> dict[str, Any]:
    out = kyb.kubectl("get", "pod", name, "-n", namespace, "-o", "json", check=False)
    return json.loads(out.stdout) if out.returncode == 0 else {}


def phase(kyb: KybServer, name: str) -> str:
    return str(pod(kyb, name).get("status", {}).get("phase", ""))


def container_status(kyb: KybServer, name: str, container: str = "") -> dict[str, Any]:
    for cs in pod(kyb, name).get("status", {}).get("containerStatuses", []) or []:
        if not container or cs["name"] == container:
            return dict(cs)
    return {}
