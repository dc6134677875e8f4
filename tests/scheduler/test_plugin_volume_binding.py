"""VolumeBinding: claim groups, per-node decisions (static volume, provisioning, conflicts), Reserve
keeping a volume for one pod, and PreBind's writes and wait, table-driven over fixed listers and a
fake API."""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field
from typing import Any

import pytest
from sched_helpers import make_node, make_pod, node_info

from kybernetes.machinery import pvbinding as pb
from kybernetes.scheduler.framework import Code, CycleState
from kybernetes.scheduler.plugins.listers import Listers
from kybernetes.scheduler.plugins.volume_binding import (
    ERR_REASON_BIND_CONFLICT,
    ERR_REASON_NODE_CONFLICT,
    ERR_REASON_PV_NOT_EXIST,
    ERR_UNBOUND_IMMEDIATE,
    VolumeBinding,
    topology_allows,
)

Obj = dict[str, Any]
WFFC = {
    "metadata": {"name": "wffc"},
    "provisioner": "example.com/disk",
    "volumeBindingMode": "WaitForFirstConsumer",
}
STATIC = {
    "metadata": {"name": "static"},
    "provisioner": pb.NO_PROVISIONER,
    "volumeBindingMode": "WaitForFirstConsumer",
}
IMMEDIATE = {"metadata": {"name": "now"}, "provisioner": "example.com/disk", "volumeBindingMode": "Immediate"}
ZONED = {
    **WFFC,
    "metadata": {"name": "zoned"},
    "allowedTopologies": [{"matchLabelExpressions": [{"key": "zone", "values": ["a"]}]}],
}


def claim(name: str, cls: str, *, volume: str = "", bound: bool = False, size: str = "1Gi") -> Obj:
    spec: Obj = {
        "storageClassName": cls,
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
    }
    if volume:
        spec["volumeName"] = volume
    ann = {pb.ANN_BIND_COMPLETED: "yes"} if bound else {}
    return {
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "annotations": ann},
        "spec": spec,
        "status": {"phase": "Bound" if bound else "Pending"},
    }


def volume(name: str, cls: str, *, host: str = "", size: str = "1Gi", ref: Obj | None = None) -> Obj:
    spec: Obj = {
        "storageClassName": cls,
        "accessModes": ["ReadWriteOnce"],
        "capacity": {"storage": size},
        "local": {"path": f"/mnt/{name}"},
    }
    if host:
        spec["nodeAffinity"] = {
            "required": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": "kubernetes.io/hostname", "operator": "In", "values": [host]}
                        ]
                    }
                ]
            }
        }
    if ref is not None:
        spec["claimRef"] = ref
    return {"metadata": {"name": name}, "spec": spec, "status": {"phase": "Bound" if ref else "Available"}}


def using(*claims: str) -> Obj:
    p = make_pod("p")
    p["metadata"]["uid"] = "pod-uid"
    p["spec"]["volumes"] = [
        {"name": f"v{i}", "persistentVolumeClaim": {"claimName": c}} for i, c in enumerate(claims)
    ]
    return p


def plugin(claims: list[Obj], volumes: list[Obj], handle: Any = None) -> VolumeBinding:
    listers = Listers.of(
        persistentvolumeclaims=claims,
        persistentvolumes=volumes,
        storageclasses=[WFFC, STATIC, IMMEDIATE, ZONED],
    )
    return VolumeBinding({"bindTimeoutSeconds": 2}, handle, listers)


NODE_A = make_node("a", labels={"zone": "a"})
NODE_B = make_node("b", labels={"zone": "b"})


def outcome(vb: VolumeBinding, pod: Obj, node: Obj) -> str:
    state = CycleState()
    _, st = vb.pre_filter(state, pod, [])
    if st is not None:
        return "skip" if st.code == Code.SKIP else f"prefilter: {st.message()}"
    st = vb.filter(state, pod, node_info(node))
    if st is not None:
        return f"{st.code.name}: {st.message()}"
    return "fits"


BOUND_ON_A = volume("pv-a", "static", host="a", ref={"namespace": "default", "name": "c", "uid": "uid-c"})
CASES = [
    ("no claims: skip", [], [], using(), NODE_A, "skip"),
    ("missing claim", [], [], using("c"), NODE_A, 'prefilter: persistentvolumeclaim "c" not found'),
    (
        "unbound immediate claim",
        [claim("c", "now")],
        [],
        using("c"),
        NODE_A,
        f"prefilter: {ERR_UNBOUND_IMMEDIATE}",
    ),
    (
        "claim naming a volume but not bound yet counts as immediate",
        [claim("c", "wffc", volume="x")],
        [],
        using("c"),
        NODE_A,
        f"prefilter: {ERR_UNBOUND_IMMEDIATE}",
    ),
    (
        "bound volume on this node",
        [claim("c", "static", volume="pv-a", bound=True)],
        [BOUND_ON_A],
        using("c"),
        NODE_A,
        "fits",
    ),
    (
        "bound volume on another node",
        [claim("c", "static", volume="pv-a", bound=True)],
        [BOUND_ON_A],
        using("c"),
        NODE_B,
        f"UNSCHEDULABLE_AND_UNRESOLVABLE: {ERR_REASON_NODE_CONFLICT}",
    ),
    (
        "bound to a volume that is gone",
        [claim("c", "static", volume="gone", bound=True)],
        [],
        using("c"),
        NODE_A,
        f"UNSCHEDULABLE_AND_UNRESOLVABLE: {ERR_REASON_PV_NOT_EXIST}",
    ),
    ("wffc with a provisioner fits anywhere", [claim("c", "wffc")], [], using("c"), NODE_B, "fits"),
    (
        "no-provisioner with a local volume on this node",
        [claim("c", "static")],
        [volume("l", "static", host="a")],
        using("c"),
        NODE_A,
        "fits",
    ),
    (
        "no-provisioner and the only volume is elsewhere",
        [claim("c", "static")],
        [volume("l", "static", host="a")],
        using("c"),
        NODE_B,
        f"UNSCHEDULABLE_AND_UNRESOLVABLE: {ERR_REASON_BIND_CONFLICT}",
    ),
    ("allowed topologies admit zone a", [claim("c", "zoned")], [], using("c"), NODE_A, "fits"),
    (
        "allowed topologies refuse zone b",
        [claim("c", "zoned")],
        [],
        using("c"),
        NODE_B,
        f"UNSCHEDULABLE_AND_UNRESOLVABLE: {ERR_REASON_BIND_CONFLICT}",
    ),
    (
        "two claims cannot share one static volume",
        [claim("c1", "static"), claim("c2", "static")],
        [volume("l", "static", host="a")],
        using("c1", "c2"),
        NODE_A,
        f"UNSCHEDULABLE_AND_UNRESOLVABLE: {ERR_REASON_BIND_CONFLICT}",
    ),
]


@pytest.mark.parametrize(
    ("claims", "volumes", "pod", "node", "want"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_filter(claims: list[Obj], volumes: list[Obj], pod: Obj, node: Obj, want: str) -> None:
    assert outcome(plugin(claims, volumes), pod, node) == want


def test_topology_allows() -> None:
    assert topology_allows({}, {})
    assert topology_allows(ZONED, {"zone": "a"}) and not topology_allows(ZONED, {"zone": "b"})


def test_reserve_keeps_a_static_volume_for_one_pod() -> None:
    vb = plugin([claim("c", "static"), claim("d", "static")], [volume("l", "static", host="a")])
    state = CycleState()
    pod = using("c")
    vb.pre_filter(state, pod, [])
    assert vb.filter(state, pod, node_info(NODE_A)) is None
    vb.reserve(state, pod, "a")
    assert vb.taken == {"l": "default/c"}
    other = using("d")
    other["metadata"]["uid"] = "other"
    assert outcome(vb, other, NODE_A).endswith(ERR_REASON_BIND_CONFLICT), "taken by the first pod"
    assert outcome(vb, pod, NODE_A) == "fits", "but still the first pod's"
    vb.unreserve(state, pod, "a")
    assert vb.taken == {} and outcome(vb, other, NODE_A) == "fits"


@dataclass
class FakeAPI:
    """get/update over dicts; an update to a claim or volume can be observed by the test."""

    objects: dict[str, Obj]
    updates: list[Obj] = field(default_factory=list)

    async def get(self, res: Any, name: str, *, namespace: str = "") -> Obj:
        return copy.deepcopy(self.objects[name])

    async def update(self, res: Any, obj: Obj, *, namespace: str = "") -> Obj:
        self.updates.append(obj)
        self.objects[obj["metadata"]["name"]] = obj
        return obj


@dataclass
class Handle:
    client: FakeAPI


async def test_prebind_annotates_the_claim_and_waits_for_the_binding() -> None:
    c = claim("c", "wffc")
    api = FakeAPI({"c": copy.deepcopy(c)})
    vb = plugin([c], [], Handle(api))
    state, pod = CycleState(), using("c")
    vb.pre_filter(state, pod, [])
    vb.filter(state, pod, node_info(NODE_A))
    vb.reserve(state, pod, "a")

    async def controller_binds_later() -> None:
        await asyncio.sleep(0.3)
        done = claim("c", "wffc", volume="pvc-1", bound=True)
        vb.listers.stores["persistentvolumeclaims"].upsert(done)

    binder = asyncio.create_task(controller_binds_later())
    assert await vb.pre_bind(state, pod, "a") is None
    await binder
    assert api.updates[0]["metadata"]["annotations"][pb.ANN_SELECTED_NODE] == "a"


async def test_prebind_binds_the_static_volume_and_times_out() -> None:
    c = claim("c", "static")
    v = volume("l", "static", host="a")
    api = FakeAPI({"l": copy.deepcopy(v)})
    vb = plugin([c], [v], Handle(api))
    vb.bind_timeout = 0.3
    state, pod = CycleState(), using("c")
    vb.pre_filter(state, pod, [])
    vb.filter(state, pod, node_info(NODE_A))
    vb.reserve(state, pod, "a")
    st = await vb.pre_bind(state, pod, "a")
    assert st is not None and st.code == Code.ERROR
    assert st.message() == "binding volumes: context deadline exceeded"
    written = api.updates[0]
    assert written["spec"]["claimRef"]["uid"] == "uid-c"
    assert written["metadata"]["annotations"][pb.ANN_BOUND_BY_CONTROLLER] == "yes"
    assert vb.taken == {}, "PreBind releases what Reserve kept"
