"""The PV controller and the local-path provisioner against an in-process API server over real HTTP:
static binding (best match, pre-bound volumes, claims naming a volume), phases, Retain and Delete
reclaim, Lost claims, and provisioning for an Immediate class."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kybernetes.apiserver import admission
from kybernetes.client import APIClient, ClientConfig, EventRecorder, SharedInformerFactory, resource
from kybernetes.controllers.volume import localpath, pvcontroller
from kybernetes.machinery import pvbinding as pb
from kybernetes.testing.inprocess import serve_api

Obj = dict[str, Any]
PVS = resource("v1", "persistentvolumes")
PVCS = resource("v1", "persistentvolumeclaims")
NODES = resource("v1", "nodes")
EVENTS = resource("v1", "events")
CLASSES = resource("storage.k8s.io/v1", "storageclasses")
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

    async def pv(self, name: str) -> Obj | None:
        try:
            return await self.client.get(PVS, name)
        except Exception:
            return None

    async def pvc(self, name: str) -> Obj:
        return await self.client.get(PVCS, name, namespace=self.ns)

    async def events(self, name: str) -> list[tuple[str, str]]:
        items = (await self.client.list(EVENTS, namespace=self.ns))["items"]
        return [(e["reason"], e["message"]) for e in items if e["involvedObject"]["name"] == name]


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    # No protection controller runs here to take the storage finalizers off again (as upstream's PV
    # integration tests, the server runs without StorageObjectInUseProtection).
    plugins = admission.default_plugins(frozenset({"StorageObjectInUseProtection"}))
    async with serve_api(tmp_path, admission_plugins=plugins) as api:
        client = APIClient(ClientConfig(server=api.base_url), user_agent="pv-tests")
        factory = SharedInformerFactory(client)
        recorder = EventRecorder(client, pvcontroller.COMPONENT)
        binder = pvcontroller.PersistentVolumeController(
            client,
            volumes=factory.informer(PVS),
            claims=factory.informer(PVCS),
            classes=factory.informer(CLASSES),
            pods=None,
            recorder=recorder,
            resync=1.0,
        )
        provisioner = localpath.LocalPathProvisioner(
            client,
            claims=factory.informer(PVCS),
            volumes=factory.informer(PVS),
            classes=factory.informer(CLASSES),
            nodes=factory.informer(NODES),
            recorder=recorder,
        )
        factory.start()
        await factory.wait_for_cache_sync()
        tasks = [asyncio.create_task(binder.run()), asyncio.create_task(provisioner.run())]
        ns = f"pv{next(_names)}"
        await client.create(resource("v1", "namespaces"), {"metadata": {"name": ns}})
        try:
            yield Cluster(client, ns)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await recorder.close()
            await factory.shutdown()
            await client.close()


def pv(
    name: str,
    size: str = "1Gi",
    *,
    cls: str = "manual",
    modes: tuple[str, ...] = ("ReadWriteOnce",),
    policy: str = "Retain",
    labels: dict[str, str] | None = None,
    claim_ref: Obj | None = None,
) -> Obj:
    spec: Obj = {
        "capacity": {"storage": size},
        "accessModes": list(modes),
        "storageClassName": cls,
        "persistentVolumeReclaimPolicy": policy,
        "hostPath": {"path": f"/tmp/{name}"},
    }
    if claim_ref is not None:
        spec["claimRef"] = claim_ref
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": spec}


def claim(
    name: str,
    size: str = "100Mi",
    *,
    cls: str | None = "manual",
    volume: str = "",
    selector: Obj | None = None,
) -> Obj:
    spec: Obj = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if cls is not None:
        spec["storageClassName"] = cls
    if volume:
        spec["volumeName"] = volume
    if selector is not None:
        spec["selector"] = selector
    return {"metadata": {"name": name}, "spec": spec}


async def bound_to(c: Cluster, name: str) -> str:
    obj = await c.pvc(name)
    return str(obj["spec"].get("volumeName", "")) if obj["status"].get("phase") == "Bound" else ""


async def test_claim_binds_the_smallest_matching_volume(cluster: Cluster) -> None:
    c = cluster
    for v in (
        pv("big", "10Gi"),
        pv("small", "200Mi"),
        pv("tiny", "50Mi"),
        pv("other-class", "100Mi", cls="gold"),
    ):
        await c.client.create(PVS, v)
    # The binder picks among the volumes it has seen: wait until it marked each one Available,
    # or under load it may bind the claim before "small" reached its cache.
    for name in ("big", "small", "tiny", "other-class"):
        await c.until(lambda n=name: _phase_is(c, n, "Available"), f"{name} Available")  # type: ignore[misc]
    await c.client.create(PVCS, claim("data"), namespace=c.ns)
    assert await c.until(lambda: bound_to(c, "data"), "data bound") == "small"
    got = await c.pvc("data")
    assert got["metadata"]["annotations"] == {pb.ANN_BIND_COMPLETED: "yes", pb.ANN_BOUND_BY_CONTROLLER: "yes"}
    assert got["status"]["capacity"] == {"storage": "200Mi"} and got["status"]["accessModes"] == [
        "ReadWriteOnce"
    ]
    volume = await c.pv("small")
    assert volume is not None and volume["status"]["phase"] == "Bound"
    assert volume["metadata"]["annotations"][pb.ANN_BOUND_BY_CONTROLLER] == "yes"
    assert volume["spec"]["claimRef"]["uid"] == got["metadata"]["uid"]
    big = await c.until(lambda: c.pv("big"), "big")
    await c.until(lambda: _phase_is(c, "big", "Available"), "big Available")
    assert "claimRef" not in big["spec"]

    # Retain: the claim goes, the volume is Released and keeps its claimRef
    await c.client.delete(PVCS, "data", namespace=c.ns)
    await c.until(lambda: _phase_is(c, "small", "Released"), "small Released")
    kept = await c.pv("small")
    assert kept is not None and kept["spec"]["claimRef"]["name"] == "data"


async def _phase_is(c: Cluster, name: str, phase: str) -> bool:
    v = await c.pv(name)
    return v is not None and v.get("status", {}).get("phase") == phase


async def test_pre_bound_and_named_volumes(cluster: Cluster) -> None:
    c = cluster
    # a volume the administrator reserved for one claim is used by that claim only
    await c.client.create(PVS, pv("reserved", "5Gi", claim_ref={"namespace": c.ns, "name": "vip"}))
    await c.client.create(PVS, pv("cheap", "1Gi"))
    await c.client.create(PVCS, claim("vip"), namespace=c.ns)
    assert await c.until(lambda: bound_to(c, "vip"), "vip bound") == "reserved"
    reserved = await c.pv("reserved")
    assert reserved is not None and pb.ANN_BOUND_BY_CONTROLLER not in (
        reserved["metadata"].get("annotations") or {}
    )
    # a claim naming a volume too small for it is told why and stays Pending
    await c.client.create(PVS, pv("small-one", "10Mi"))
    await c.client.create(PVCS, claim("named", volume="small-one"), namespace=c.ns)
    await c.until(
        lambda: _has_event(
            c,
            "named",
            ("VolumeMismatch", 'Cannot bind to requested volume "small-one": requested PV is too small'),
        ),
        "VolumeMismatch",
    )
    assert (await c.pvc("named"))["status"]["phase"] == "Pending"
    # a claim naming a fitting volume gets it (not bound-by-controller: the user chose)
    await c.client.create(PVCS, claim("named-ok", volume="cheap"), namespace=c.ns)
    assert await c.until(lambda: bound_to(c, "named-ok"), "named-ok bound") == "cheap"
    ann = (await c.pvc("named-ok"))["metadata"]["annotations"]
    assert ann == {pb.ANN_BIND_COMPLETED: "yes"}


async def _has_event(c: Cluster, name: str, event: tuple[str, str]) -> bool:
    return event in await c.events(name)


async def test_claims_without_volumes(cluster: Cluster) -> None:
    c = cluster
    await c.client.create(PVCS, claim("classless", cls=""), namespace=c.ns)
    await c.until(
        lambda: _has_event(c, "classless", ("FailedBinding", pvcontroller.NO_CLASS_MESSAGE)), "FailedBinding"
    )
    await c.client.create(PVCS, claim("ghost-class", cls="ghost"), namespace=c.ns)
    await c.until(
        lambda: _has_event(
            c, "ghost-class", ("ProvisioningFailed", 'storageclass.storage.k8s.io "ghost" not found')
        ),
        "ProvisioningFailed",
    )
    await c.client.create(CLASSES, {"metadata": {"name": "ext"}, "provisioner": "example.com/disk"})
    await c.client.create(PVCS, claim("external", cls="ext"), namespace=c.ns)
    await c.until(
        lambda: _has_event(
            c,
            "external",
            ("ExternalProvisioning", pvcontroller.external_provisioning_message("example.com/disk")),
        ),
        "ExternalProvisioning",
    )
    ann = (await c.pvc("external"))["metadata"]["annotations"]
    assert ann[pb.ANN_STORAGE_PROVISIONER] == ann[pb.ANN_BETA_STORAGE_PROVISIONER] == "example.com/disk"
    # the default local-path class waits for a consumer
    await c.client.create(PVCS, claim("later", cls=pb.LOCAL_PATH_CLASS), namespace=c.ns)
    await c.until(lambda: _has_event(c, "later", ("WaitForFirstConsumer", pvcontroller.WAIT_MESSAGE)), "WFFC")
    assert (await c.pvc("later"))["status"]["phase"] == "Pending"


async def test_static_volume_with_delete_policy_fails_and_lost_claim(cluster: Cluster) -> None:
    c = cluster
    await c.client.create(PVS, pv("doomed", policy="Delete", cls="del"))
    await c.client.create(PVCS, claim("d", cls="del"), namespace=c.ns)
    await c.until(lambda: bound_to(c, "d"), "d bound")
    await c.client.delete(PVCS, "d", namespace=c.ns)
    await c.until(lambda: _phase_is(c, "doomed", "Failed"), "doomed Failed (no deleter for hostPath)")
    doomed = await c.pv("doomed")
    assert doomed is not None and "no deletable volume plugin matched" in doomed["status"]["message"]
    # a bound claim whose volume disappears is Lost
    await c.client.create(PVS, pv("vanishing", cls="lost"))
    await c.client.create(PVCS, claim("l", cls="lost"), namespace=c.ns)
    await c.until(lambda: bound_to(c, "l"), "l bound")
    await c.client.delete(PVS, "vanishing")
    await c.until(lambda: _claim_phase_is(c, "l", "Lost"), "l Lost")
    assert (
        "ClaimLost",
        "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
    ) in await c.events("l")


async def _claim_phase_is(c: Cluster, name: str, phase: str) -> bool:
    return bool((await c.pvc(name))["status"].get("phase") == phase)


async def test_immediate_local_path_class_provisions_binds_and_deletes(cluster: Cluster) -> None:
    c = cluster
    assert await c.until(lambda: _class_exists(c), "default class created")
    node = {
        "metadata": {
            "name": "n1",
            "labels": {"kubernetes.io/hostname": "n1"},
            "annotations": {pb.ANN_LOCAL_PATH_ROOT: "/data/kyb"},
        }
    }
    created = await c.client.create(NODES, node)
    created["status"] = {"conditions": [{"type": "Ready", "status": "True"}]}
    await c.client.update_status(NODES, created)
    await c.client.create(
        CLASSES,
        {
            "metadata": {"name": "now"},
            "provisioner": pb.LOCAL_PATH_PROVISIONER,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate",
        },
    )
    await c.client.create(PVCS, claim("fast", "64Mi", cls="now"), namespace=c.ns)
    name = await c.until(lambda: bound_to(c, "fast"), "fast bound")
    got = await c.pvc("fast")
    assert name == f"pvc-{got['metadata']['uid']}"
    volume = await c.pv(name)
    assert volume is not None
    assert volume["spec"]["local"] == {"path": f"/data/kyb/{name}"}
    assert volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"] == [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["n1"]}
    ]
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert volume["spec"]["capacity"] == {"storage": "64Mi"}
    reasons = [r for r, _ in await c.events("fast")]
    assert {"ExternalProvisioning", "Provisioning", "ProvisioningSucceeded"} <= set(reasons)
    await c.client.delete(PVCS, "fast", namespace=c.ns)
    await c.until(lambda: _gone(c, name), "the provisioned volume deleted")


async def _class_exists(c: Cluster) -> bool:
    items = (await c.client.list(CLASSES))["items"]
    return any(sc["metadata"]["name"] == pb.LOCAL_PATH_CLASS for sc in items)


async def _gone(c: Cluster, name: str) -> bool:
    return await c.pv(name) is None
