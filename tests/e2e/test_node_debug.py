"""`kubectl debug` against the real node: ephemeral containers end to end, and node debugging.

kubectl PATCHes ``pods/<name>/ephemeralcontainers`` (a strategic merge patch), waits for the new
container in ``status.ephemeralContainerStatuses`` and attaches to it when asked; the agent starts
it in the pod's sandbox, in the target container's PID namespace, and never restarts it.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer, find_kubectl
from kybernetes.testing.node import phase, pod, start_node_server, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PORT = 18985
IMAGE = "busybox:1.36"


@pytest.fixture(scope="module")
def kyb() -> Iterator[KybServer]:
    yield from start_node_server(Path("/tmp/kyb-dbg"), PORT, cluster_cidr="10.163.0.0/16", bridge="kybdb0")


@pytest.fixture(scope="module")
def target(kyb: KybServer) -> str:
    kyb.kubectl(
        "apply",
        "-f",
        "-",
        input=f"""
apiVersion: v1
kind: Pod
metadata: {{name: target}}
spec:
  restartPolicy: Never
  containers: [{{name: app, image: "{IMAGE}", command: [sleep, "3600"]}}]
""",
    )
    wait_for(lambda: phase(kyb, "target") == "Running", what="target Running")
    return "target"


def ephemeral_status(kyb: KybServer, pod_name: str, name: str) -> dict[str, Any]:
    for st in pod(kyb, pod_name).get("status", {}).get("ephemeralContainerStatuses") or []:
        if st["name"] == name:
            return dict(st)
    return {}


def test_debug_shares_the_target_process_namespace(kyb: KybServer, target: str) -> None:
    out = kyb.kubectl(
        "debug", target, f"--image={IMAGE}", "--target=app", "-c", "dbg", "--", "sh", "-c", "ps; sleep 1"
    )
    assert 'Targeting container "app"' in out.stdout + out.stderr
    spec = pod(kyb, target)["spec"]["ephemeralContainers"]
    assert [(c["name"], c["targetContainerName"]) for c in spec] == [("dbg", "app")]
    wait_for(
        lambda: "terminated" in ephemeral_status(kyb, target, "dbg").get("state", {}),
        what="dbg ran to its end",
    )
    logs = kyb.kubectl("logs", target, "-c", "dbg").stdout
    assert "sleep 3600" in logs, logs  # the target's process, seen from the debug container
    state = json.loads(
        kyb.kubectl(
            "get", "pod", target, "-o", "jsonpath={.status.ephemeralContainerStatuses[0].state}"
        ).stdout
    )
    assert state["terminated"]["exitCode"] == 0 and state["terminated"]["reason"] == "Completed"
    first = ephemeral_status(kyb, target, "dbg")
    time.sleep(3)  # several syncs later it is still the same, finished instance: never restarted
    again = ephemeral_status(kyb, target, "dbg")
    assert again["containerID"] == first["containerID"] and again["restartCount"] == 0
    assert "terminated" in again["state"] and again["ready"] is False
    p = pod(kyb, target)
    assert p["status"]["phase"] == "Running"
    assert {c["type"]: c["status"] for c in p["status"]["conditions"]}["Ready"] == "True"


def interactive(kyb: KybServer, args: list[str], line: str, expect: str, timeout: float = 60) -> str:
    """Run kubectl with stdin kept open until ``expect`` shows on its stdout (as a person at a
    terminal would): an attach without stdinOnce ends when the client's stdin does, so a closed
    pipe could end it before the container has answered."""
    env = {**os.environ, "KUBECONFIG": str(kyb.kubeconfig), "HOME": str(kyb.data_dir / "home")}
    env.pop("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", None)
    seen: list[str] = []
    with subprocess.Popen(
        [find_kubectl(), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    ) as proc:
        stdin, stdout = proc.stdin, proc.stdout
        assert stdin is not None and stdout is not None
        reader = threading.Thread(target=lambda: seen.extend(iter(stdout.readline, "")), daemon=True)
        reader.start()
        try:
            stdin.write(line)
            stdin.flush()
            wait_for(lambda: expect in "".join(seen), timeout=timeout, what=f"{expect!r} from kubectl {args}")
        finally:
            stdin.close()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            reader.join(timeout=5)
    return "".join(seen)


def test_interactive_debug_goes_through_attach(kyb: KybServer, target: str) -> None:
    script = "read x; echo got-$x; ps; sleep 1"
    out = interactive(
        kyb,
        ["debug", "-i", target, f"--image={IMAGE}", "--target=app", "-c", "talk", "--", "sh", "-c", script],
        "typed\n",
        "sleep 3600",
    )
    assert "got-typed" in out, out
    spec = next(c for c in pod(kyb, target)["spec"]["ephemeralContainers"] if c["name"] == "talk")
    assert spec["stdin"] is True
    wait_for(
        lambda: "terminated" in ephemeral_status(kyb, target, "talk").get("state", {}), what="talk finished"
    )
    assert "got-typed" in kyb.kubectl("logs", target, "-c", "talk").stdout


def test_existing_ephemeral_containers_cannot_be_removed_or_changed(kyb: KybServer, target: str) -> None:
    wait_for(lambda: ephemeral_status(kyb, target, "dbg"), what="dbg present")
    current = pod(kyb, target)
    removed = json.loads(json.dumps(current))
    removed["spec"]["ephemeralContainers"] = removed["spec"]["ephemeralContainers"][1:]
    raw = f"/api/v1/namespaces/default/pods/{target}/ephemeralcontainers"
    out = kyb.kubectl("replace", "--raw", raw, "-f", "-", input=json.dumps(removed), check=False)
    assert out.returncode != 0
    assert (
        'existing ephemeral containers \\"dbg\\" may not be removed' in out.stderr
        or 'existing ephemeral containers "dbg" may not be removed' in out.stderr
    ), out.stderr
    changed = json.loads(json.dumps(current))
    changed["spec"]["ephemeralContainers"][0]["image"] = "busybox:1"
    out = kyb.kubectl("replace", "--raw", raw, "-f", "-", input=json.dumps(changed), check=False)
    assert out.returncode != 0 and "may not be changed" in out.stderr, out.stderr
    # nor through the pod itself
    out = kyb.kubectl("replace", "-f", "-", input=json.dumps(changed), check=False)
    assert out.returncode != 0 and "pod updates may not change fields" in out.stderr, out.stderr
    # a name already in use is refused by the subresource's validation
    out = kyb.kubectl("debug", target, f"--image={IMAGE}", "-c", "app", "--", "true", check=False)
    assert out.returncode != 0 and 'spec.ephemeralContainers[2].name: Duplicate value: "app"' in out.stderr, (
        out.stderr
    )


def test_debug_a_node(kyb: KybServer) -> None:
    node = json.loads(kyb.kubectl("get", "nodes", "-o", "json").stdout)["items"][0]["metadata"]["name"]
    out = kyb.kubectl(
        "debug",
        f"node/{node}",
        f"--image={IMAGE}",
        "--",
        "sh",
        "-c",
        "test -d /host/etc && echo host-root-mounted; hostname; ps",
    )
    assert "Creating debugging pod node-debugger-" in out.stdout + out.stderr
    names = [n.split("/", 1)[1] for n in kyb.kubectl("get", "pods", "-o", "name").stdout.split()]
    name = next(n for n in names if n.startswith(f"node-debugger-{node}-"))
    spec = pod(kyb, name)["spec"]
    assert spec["hostPID"] and spec["hostNetwork"] and spec["nodeName"] == node
    wait_for(lambda: phase(kyb, name) == "Succeeded", what="node debugger finished")
    logs = kyb.kubectl("logs", name).stdout
    assert "host-root-mounted" in logs
    assert "containerd" in logs  # the host's processes: hostPID


def test_debug_a_copy_of_the_pod(kyb: KybServer, target: str) -> None:
    # the copy drops the original's ephemeral containers (a create may not have any); asked to, it
    # shares one process namespace between all its containers
    kyb.kubectl("debug", target, f"--image={IMAGE}", "-c", "before-copy", "--", "true")
    kyb.kubectl(
        "debug",
        target,
        "--copy-to=target-copy",
        "--share-processes",
        f"--image={IMAGE}",
        "-c",
        "dbg",
        "--",
        "sh",
        "-c",
        "ps; sleep 3600",
    )
    copy = pod(kyb, "target-copy")["spec"]
    assert copy.get("shareProcessNamespace") is True and "ephemeralContainers" not in copy, copy
    wait_for(
        lambda: "sleep 3600" in kyb.kubectl("logs", "target-copy", "-c", "dbg", check=False).stdout,
        what="the copy's debug container sees the app's processes",
    )
