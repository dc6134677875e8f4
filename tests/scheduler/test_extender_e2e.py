"""Extenders end to end: `kyb server`, a second `kyb scheduler --config` with two extenders — a real
aiohttp extender in this test (filters out node n1, prefers n3, binds through the API with the
official Python client) and an ignorable one that is down — and pods through real kubectl."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml
from aiohttp import web
from sched_helpers import make_node

from kybernetes.testing.cluster import KybServer

PORT = 18991
EXT_PORT = 18983
DOWN_PORT = 18984  # nothing listens here
SCHEDULER = "ext-scheduler"
Obj = dict[str, Any]


class Extender:
    """Runs an aiohttp app on its own loop in a thread; records what it was asked."""

    def __init__(self, kubeconfig: Path) -> None:
        self.calls: list[tuple[str, Obj]] = []
        self.kubeconfig = kubeconfig
        self.loop = asyncio.new_event_loop()
        self.runner: web.AppRunner | None = None
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def handle(self, request: web.Request) -> web.Response:
        verb = request.match_info["verb"]
        body = await request.json()
        self.calls.append((verb, body))
        if verb == "filter":
            names = body["NodeNames"]
            return web.json_response({"NodeNames": [n for n in names if n != "n1"],
                                      "FailedNodes": {"n1": "extender says no"} if "n1" in names else {},
                                      "Error": ""})
        if verb == "prioritize":
            return web.json_response([{"Host": n, "Score": 10 if n == "n3" else 0} for n in body["NodeNames"]])
        if verb == "bind":
            await asyncio.get_running_loop().run_in_executor(None, self.bind, body)
            return web.json_response({"Error": ""})
        return web.Response(status=404)

    def bind(self, args: Obj) -> None:
        api = kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(config_file=str(self.kubeconfig)))
        try:
            api.create_namespaced_pod_binding(
                args["PodName"], args["PodNamespace"],
                kubernetes.client.V1Binding(metadata=kubernetes.client.V1ObjectMeta(name=args["PodName"]),
                                            target=kubernetes.client.V1ObjectReference(kind="Node", name=args["Node"])),
                _preload_content=False)
        finally:
            api.api_client.close()

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/ext/{verb}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", EXT_PORT).start()

    def stop(self) -> None:
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KybServer, Extender]]:
    data = Path(tmp_path_factory.mktemp("kyb"))
    server = KybServer(data, port=PORT)
    server.start()
    ext = Extender(server.kubeconfig)
    proc: subprocess.Popen[bytes] | None = None
    try:
        nodes = [make_node(f"n{i}", cpu="2", memory="4Gi") for i in (1, 2, 3)]
        server.kubectl("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": nodes}))
        ext.start()
        config = data / "sched.yaml"
        config.write_text(yaml.safe_dump({
            "apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration",
            "leaderElection": {"leaderElect": True, "resourceName": SCHEDULER, "resourceNamespace": "kube-system"},
            "profiles": [{"schedulerName": SCHEDULER}],
            "extenders": [
                {"urlPrefix": f"http://127.0.0.1:{EXT_PORT}/ext", "filterVerb": "filter", "prioritizeVerb": "prioritize",
                 "weight": 1, "bindVerb": "bind", "nodeCacheCapable": True, "httpTimeout": "5s"},
                {"urlPrefix": f"http://127.0.0.1:{DOWN_PORT}/down", "filterVerb": "filter",
                 "prioritizeVerb": "prioritize", "weight": 5, "ignorable": True}]}))
        proc = subprocess.Popen([sys.executable, "-m", "kybernetes.cli.main", "scheduler", "--kubeconfig",
                                 str(server.kubeconfig), "--config", str(config)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        yield server, ext
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        ext.stop()
        server.stop()


def pod_manifest(name: str, **spec: Any) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                       "spec": {"schedulerName": SCHEDULER, "containers": [{"name": "c", "image": "busybox"}],
                                **spec}})


def wait_for(kyb: KybServer, pod: str, jsonpath: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    out = ""
    while time.monotonic() < deadline:
        out = kyb.kubectl("get", "pod", pod, "-o", f"jsonpath={jsonpath}").stdout
        if out:
            return out
        time.sleep(0.2)
    raise AssertionError(f"{pod}: {jsonpath} stayed empty")


def test_extender_filters_prioritizes_and_binds(cluster: tuple[KybServer, Extender]) -> None:
    kyb, ext = cluster
    kyb.kubectl("create", "-f", "-", input=pod_manifest("via-extender"))
    assert wait_for(kyb, "via-extender", "{.spec.nodeName}") == "n3"
    verbs = [v for v, _ in ext.calls]
    assert verbs[:3] == ["filter", "prioritize", "bind"]
    filter_args = ext.calls[0][1]
    assert sorted(filter_args["NodeNames"]) == ["n1", "n2", "n3"] and filter_args["Nodes"] is None
    assert filter_args["Pod"]["metadata"]["name"] == "via-extender"
    assert sorted(ext.calls[1][1]["NodeNames"]) == ["n2", "n3"]  # n1 was filtered out
    bind = ext.calls[2][1]
    assert (bind["PodName"], bind["PodNamespace"], bind["Node"]) == ("via-extender", "default", "n3")
    assert bind["PodUID"] == kyb.kubectl("get", "pod", "via-extender", "-o", "jsonpath={.metadata.uid}").stdout
    events = json.loads(kyb.kubectl("get", "events", "--field-selector", "involvedObject.name=via-extender",
                                    "-o", "json").stdout)["items"]
    assert any(e["reason"] == "Scheduled" and e["message"] == "Successfully assigned default/via-extender to n3"
               for e in events)


def test_extender_rejection_in_the_failure_message(cluster: tuple[KybServer, Extender]) -> None:
    kyb, _ = cluster
    kyb.kubectl("create", "-f", "-", input=pod_manifest("only-n1", nodeSelector={"kubernetes.io/hostname": "n1"}))
    msg = wait_for(kyb, "only-n1", "{.status.conditions[?(@.type=='PodScheduled')].message}")
    assert msg == ("0/3 nodes are available: 1 extender says no, 2 node(s) didn't match Pod's node "
                   "affinity/selector. preemption: 0/3 nodes are available: 1 No preemption victims found for "
                   "incoming pod, 2 Preemption is not helpful for scheduling..")
