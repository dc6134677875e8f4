"""The Job controller against an in-process API server over real HTTP, with the test playing the
kubelet (it writes pod phases and exit codes): podFailurePolicy FailJob, backoffLimitPerIndex with
failure counts carried to the replacement pod, a success policy, podReplacementPolicy Failed and
a Job managed by another controller."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from kybernetes.apiserver.server import APIServer, ServerConfig
from kybernetes.client import APIClient, ClientConfig, EventRecorder, SharedInformerFactory, resource
from kybernetes.client.store import index_by_owner_uid
from kybernetes.controllers.job import controller as jobctl
from kybernetes.controllers.job import logic, perindex
from kybernetes.storage.memory import MemoryStorage

Obj = dict[str, Any]
JOBS = resource("batch/v1", "jobs")
PODS = resource("v1", "pods")
_names = itertools.count()


@dataclass
class Cluster:
    client: APIClient
    ns: str

    async def until(self, check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        last: Any = None
        while asyncio.get_running_loop().time() < deadline:
            last = await check()
            if last:
                return last
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}: {last!r}")

    async def job(self, name: str) -> Obj:
        return await self.client.get(JOBS, name, namespace=self.ns)

    async def pods(self, name: str) -> list[Obj]:
        items = (await self.client.list(PODS, namespace=self.ns, label_selector=f"job-name={name}"))["items"]
        return list(items)

    async def finish(self, pod: Obj, exit_code: int) -> None:
        """What a kubelet writes when the pod's only container exits."""
        pod = await self.client.get(PODS, pod["metadata"]["name"], namespace=self.ns)
        stamp = "2024-05-01T12:00:00Z"
        pod["status"] = {
            "phase": "Succeeded" if exit_code == 0 else "Failed",
            "containerStatuses": [
                {
                    "name": "app",
                    "image": "busybox",
                    "imageID": "",
                    "ready": False,
                    "restartCount": 0,
                    "state": {
                        "terminated": {
                            "exitCode": exit_code,
                            "reason": "Completed" if exit_code == 0 else "Error",
                            "startedAt": stamp,
                            "finishedAt": stamp,
                        }
                    },
                }
            ],
        }
        await self.client.update_status(PODS, pod, namespace=self.ns)

    async def condition(self, name: str, type_: str) -> Obj | None:
        return logic.find_condition((await self.job(name)).get("status") or {}, type_)


@pytest.fixture
async def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Cluster]:
    monkeypatch.setattr(logic, "BACKOFF_BASE", 0.05)  # replacement pods without the 10 s wait
    server = APIServer(
        ServerConfig(data_dir=tmp_path, anonymous_auth=True, advertise_address="127.0.0.1"), MemoryStorage()
    )
    await server.start()
    ts = TestServer(server.app())
    await ts.start_server()
    client = APIClient(ClientConfig(server=str(ts.make_url("")).rstrip("/")), user_agent="job-tests")
    factory = SharedInformerFactory(client)
    recorder = EventRecorder(client, jobctl.COMPONENT)
    ctl = jobctl.JobController(
        client,
        factory.informer(JOBS),
        factory.informer(PODS, indexers={jobctl.OWNER_INDEX: index_by_owner_uid}),
        recorder,
    )
    factory.start()
    await factory.wait_for_cache_sync()
    task = asyncio.create_task(ctl.run())
    ns = f"jobs{next(_names)}"
    await client.create(resource("v1", "namespaces"), {"metadata": {"name": ns}})
    try:
        yield Cluster(client, ns)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await recorder.close()
        await factory.shutdown()
        await client.close()
        await ts.close()
        await server.stop()


def job(name: str, **spec: Any) -> Obj:
    body: Obj = {
        "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "app", "image": "busybox"}]}}
    }
    body.update(spec)
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": body}


def index_of(pod: Obj) -> int | None:
    return logic.pod_index(pod)


async def test_fail_job_rule_sets_failure_target_then_failed(cluster: Cluster) -> None:
    rule = {"action": "FailJob", "onExitCodes": {"containerName": "app", "operator": "In", "values": [42]}}
    await cluster.client.create(
        JOBS, job("fj", backoffLimit=6, podFailurePolicy={"rules": [rule]}), namespace=cluster.ns
    )
    pods = await cluster.until(lambda: cluster.pods("fj"), "the first pod")
    await cluster.finish(pods[0], 42)
    failed = await cluster.until(lambda: cluster.condition("fj", "Failed"), "Failed")
    msg = f"Container app for pod {cluster.ns}/{pods[0]['metadata']['name']} failed with exit code 42 matching FailJob rule at index 0"
    assert (failed["reason"], failed["message"]) == ("PodFailurePolicy", msg)
    st = (await cluster.job("fj"))["status"]
    assert [c["type"] for c in st["conditions"]] == ["FailureTarget", "Failed"]
    assert st["failed"] == 1 and len(await cluster.pods("fj")) == 1  # no replacement


async def test_ignore_rule_does_not_count_and_replaces(cluster: Cluster) -> None:
    rule = {"action": "Ignore", "onExitCodes": {"operator": "In", "values": [3]}}
    await cluster.client.create(
        JOBS, job("ig", backoffLimit=0, podFailurePolicy={"rules": [rule]}), namespace=cluster.ns
    )
    first = (await cluster.until(lambda: cluster.pods("ig"), "the first pod"))[0]
    await cluster.finish(first, 3)

    async def replacement() -> Obj | None:
        return next(
            (p for p in await cluster.pods("ig") if p["metadata"]["uid"] != first["metadata"]["uid"]), None
        )

    second = await cluster.until(replacement, "a replacement pod")
    await cluster.finish(second, 0)
    done = await cluster.until(lambda: cluster.condition("ig", "Complete"), "Complete")
    assert done["reason"] == "CompletionsReached"
    assert not (await cluster.job("ig"))["status"].get("failed")


async def test_backoff_limit_per_index(cluster: Cluster) -> None:
    await cluster.client.create(
        JOBS,
        job("pi", completionMode="Indexed", completions=2, parallelism=2, backoffLimitPerIndex=1),
        namespace=cluster.ns,
    )
    pods = await cluster.until(lambda: _two(cluster, "pi"), "two pods")
    by_index = {index_of(p): p for p in pods}
    assert by_index[1]["metadata"]["annotations"][perindex.FAILURE_COUNT_ANNOTATION] == "0"
    await cluster.finish(by_index[0], 0)
    await cluster.finish(by_index[1], 1)

    async def second_try() -> Obj | None:
        return next(
            (
                p
                for p in await cluster.pods("pi")
                if index_of(p) == 1 and p["metadata"]["uid"] != by_index[1]["metadata"]["uid"]
            ),
            None,
        )

    retry = await cluster.until(second_try, "a second pod for index 1")
    assert retry["metadata"]["annotations"][perindex.FAILURE_COUNT_ANNOTATION] == "1"
    await cluster.finish(retry, 1)
    failed = await cluster.until(lambda: cluster.condition("pi", "Failed"), "Failed")
    assert (failed["reason"], failed["message"]) == ("FailedIndexes", "Job has failed indexes")
    st = (await cluster.job("pi"))["status"]
    assert (st["failedIndexes"], st["completedIndexes"], st["failed"], st["succeeded"]) == ("1", "0", 2, 1)


async def _two(cluster: Cluster, name: str) -> list[Obj] | None:
    pods = await cluster.pods(name)
    return pods if len(pods) == 2 else None


async def test_success_policy_completes_early(cluster: Cluster) -> None:
    await cluster.client.create(
        JOBS,
        job(
            "sp",
            completionMode="Indexed",
            completions=3,
            parallelism=3,
            successPolicy={"rules": [{"succeededIndexes": "0"}]},
        ),
        namespace=cluster.ns,
    )

    async def three() -> list[Obj] | None:
        pods = await cluster.pods("sp")
        return pods if len(pods) == 3 else None

    pods = await cluster.until(three, "three pods")
    await cluster.finish(next(p for p in pods if index_of(p) == 0), 0)
    done = await cluster.until(lambda: cluster.condition("sp", "Complete"), "Complete")
    assert (done["reason"], done["message"]) == ("SuccessPolicy", "Matched rules at index 0")
    st = (await cluster.job("sp"))["status"]
    assert [c["type"] for c in st["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    assert st["completedIndexes"] == "0" and not st.get("active") and not st.get("terminating")
    assert [index_of(p) for p in await cluster.pods("sp")] == [0]  # the others were removed


async def test_replacement_waits_for_termination_when_policy_is_failed(cluster: Cluster) -> None:
    await cluster.client.create(JOBS, job("rp", podReplacementPolicy="Failed"), namespace=cluster.ns)
    first = (await cluster.until(lambda: cluster.pods("rp"), "the first pod"))[0]
    await cluster.client.delete(PODS, first["metadata"]["name"], namespace=cluster.ns)

    async def terminating() -> int:
        return int((await cluster.job("rp")).get("status", {}).get("terminating") or 0)

    assert await cluster.until(terminating, "status.terminating") == 1
    await asyncio.sleep(0.5)
    assert len(await cluster.pods("rp")) == 1  # no replacement while the old pod terminates
    await cluster.finish(first, 137)

    async def replacement() -> Obj | None:
        return next(
            (p for p in await cluster.pods("rp") if p["metadata"]["uid"] != first["metadata"]["uid"]), None
        )

    await cluster.until(replacement, "a replacement once the old pod failed")


async def test_job_managed_elsewhere_is_left_alone(cluster: Cluster) -> None:
    await cluster.client.create(JOBS, job("mb", managedBy="kueue.x-k8s.io/multikueue"), namespace=cluster.ns)
    await asyncio.sleep(0.5)
    assert await cluster.pods("mb") == []
    assert not (await cluster.job("mb")).get("status", {}).get("startTime")
