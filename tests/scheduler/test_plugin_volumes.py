"""VolumeRestrictions (disk conflicts, ReadWriteOncePod claims) and VolumeZone (PV zone labels
against node labels), table-driven."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sched_helpers import make_node, make_pod, node_info

from kybernetes.scheduler.framework import Code, CycleState, NodeInfo, QueueingHint, Snapshot
from kybernetes.scheduler.plugins.listers import Listers
from kybernetes.scheduler.plugins.volume_restrictions import (
    ERR_REASON_DISK_CONFLICT,
    ERR_REASON_READ_WRITE_ONCE_POD_CONFLICT,
    VolumeRestrictions,
    _pod_deleted_hint,
    volumes_conflict,
)
from kybernetes.scheduler.plugins.volume_zone import (
    BETA_ZONE,
    ERR_REASON_CONFLICT,
    REGION,
    ZONE,
    VolumeZone,
    zones_of,
)

Obj = dict[str, Any]


@dataclass
class Handle:
    snapshot: Snapshot


def with_volumes(p: Obj, *volumes: Obj) -> Obj:
    p["spec"]["volumes"] = [{"name": f"v{i}", **v} for i, v in enumerate(volumes)]
    return p


def gce(name: str, ro: bool = False) -> Obj:
    return {"gcePersistentDisk": {"pdName": name, "readOnly": ro}}


def rbd(monitors: list[str], image: str, pool: str = "", ro: bool = False) -> Obj:
    v: Obj = {"monitors": monitors, "image": image, "readOnly": ro}
    if pool:
        v["pool"] = pool
    return {"rbd": v}


def claim(name: str) -> Obj:
    return {"persistentVolumeClaim": {"claimName": name}}


CONFLICT_CASES = [
    ("same GCE PD", gce("d"), gce("d"), True),
    ("same GCE PD, both read-only", gce("d", True), gce("d", True), False),
    ("same GCE PD, one read-only", gce("d", True), gce("d"), True),
    ("other GCE PD", gce("d"), gce("e"), False),
    ("same EBS volume even read-only", {"awsElasticBlockStore": {"volumeID": "v", "readOnly": True}},
     {"awsElasticBlockStore": {"volumeID": "v", "readOnly": True}}, True),
    ("same iSCSI iqn", {"iscsi": {"iqn": "q", "targetPortal": "p"}}, {"iscsi": {"iqn": "q", "targetPortal": "x"}}, True),
    ("same iSCSI iqn read-only", {"iscsi": {"iqn": "q", "readOnly": True}}, {"iscsi": {"iqn": "q", "readOnly": True}},
     False),
    ("RBD sharing a monitor, same pool and image", rbd(["m1", "m2"], "img"), rbd(["m2"], "img", "rbd"), True),
    ("RBD without common monitor", rbd(["m1"], "img"), rbd(["m2"], "img"), False),
    ("RBD other pool", rbd(["m1"], "img", "a"), rbd(["m1"], "img", "b"), False),
    ("different kinds", gce("d"), {"awsElasticBlockStore": {"volumeID": "d"}}, False),
]


@pytest.mark.parametrize("name,a,b,want", CONFLICT_CASES, ids=[c[0] for c in CONFLICT_CASES])
def test_volumes_conflict(name: str, a: Obj, b: Obj, want: bool) -> None:
    assert volumes_conflict(a, b) is want


def pvc(name: str, *modes: str, volume: str = "", sc: str | None = None, ns: str = "default") -> Obj:
    spec: Obj = {"accessModes": list(modes) or ["ReadWriteOnce"]}
    if volume:
        spec["volumeName"] = volume
    if sc is not None:
        spec["storageClassName"] = sc
    return {"metadata": {"name": name, "namespace": ns}, "spec": spec}


def run_filter(pl: Any, p: Obj, nodes: list[NodeInfo]) -> dict[str, str] | str:
    state = CycleState()
    _, st = pl.pre_filter(state, p, nodes)
    if st is not None:
        return "SKIP" if st.code == Code.SKIP else f"{st.code.name}: {st.message()}"
    return {n.name: "" if (fs := pl.filter(state, p, n)) is None else f"{fs.code.name}: {fs.reasons[0]}"
            for n in nodes}


D = f"UNSCHEDULABLE: {ERR_REASON_DISK_CONFLICT}"
R = f"UNSCHEDULABLE: {ERR_REASON_READ_WRITE_ONCE_POD_CONFLICT}"
CLAIMS = [pvc("rwo"), pvc("rwop", "ReadWriteOncePod")]
RESTRICTION_CASES = [
    ("disk in use on n1", with_volumes(make_pod("p"), gce("d")),
     [with_volumes(make_pod("q", node="n1"), gce("d"))], {"n1": D, "n2": ""}),
    ("read-only sharing is fine", with_volumes(make_pod("p"), gce("d", True)),
     [with_volumes(make_pod("q", node="n1"), gce("d", True))], {"n1": "", "n2": ""}),
    ("no volumes: skipped", make_pod("p"), [], "SKIP"),
    ("ReadWriteOnce claim used elsewhere: skipped", with_volumes(make_pod("p"), claim("rwo")),
     [with_volumes(make_pod("q", node="n1"), claim("rwo"))], "SKIP"),
    ("ReadWriteOncePod claim in use: every node", with_volumes(make_pod("p"), claim("rwop")),
     [with_volumes(make_pod("q", node="n1"), claim("rwop"))], {"n1": R, "n2": R}),
    ("ReadWriteOncePod claim of another namespace", with_volumes(make_pod("p"), claim("rwop")),
     [with_volumes(make_pod("q", ns="other", node="n1"), claim("rwop"))], "SKIP"),
    ("ReadWriteOncePod claim free", with_volumes(make_pod("p"), claim("rwop")), [], "SKIP"),
    ("missing claim", with_volumes(make_pod("p"), claim("nope")), [],
     'UNSCHEDULABLE_AND_UNRESOLVABLE: persistentvolumeclaim "nope" not found'),
]


@pytest.mark.parametrize("name,p,placed,want", RESTRICTION_CASES, ids=[c[0] for c in RESTRICTION_CASES])
def test_volume_restrictions(name: str, p: Obj, placed: list[Obj], want: dict[str, str] | str) -> None:
    nodes = [node_info(make_node("n1")), node_info(make_node("n2"))]
    for q in placed:
        nodes[0].add_pod(q)
    pl = VolumeRestrictions({}, Handle(Snapshot.of(nodes)), Listers.of(persistentvolumeclaims=CLAIMS))
    assert run_filter(pl, p, nodes) == want


def test_read_write_once_pod_extensions() -> None:
    holder = with_volumes(make_pod("q", node="n1"), claim("rwop"))
    nodes = [node_info(make_node("n1"), holder)]
    pl = VolumeRestrictions({}, Handle(Snapshot.of(nodes)), Listers.of(persistentvolumeclaims=CLAIMS))
    p = with_volumes(make_pod("p"), claim("rwop"))
    state = CycleState()
    pl.pre_filter(state, p, nodes)
    assert pl.filter(state, p, nodes[0]) is not None
    pl.remove_pod(state, p, holder, nodes[0])  # preemption removes the holder
    assert pl.filter(state, p, nodes[0]) is None


def test_restriction_hints() -> None:
    p = with_volumes(make_pod("p"), gce("d"), claim("c"))
    assert _pod_deleted_hint(p, with_volumes(make_pod("q", node="n"), gce("d")), None) == QueueingHint.QUEUE
    assert _pod_deleted_hint(p, with_volumes(make_pod("q", node="n"), claim("c")), None) == QueueingHint.QUEUE
    assert _pod_deleted_hint(p, make_pod("q", node="n"), None) == QueueingHint.QUEUE_SKIP


def pv(name: str, **labels: str) -> Obj:
    return {"metadata": {"name": name, "labels": labels}, "spec": {}}


Z = f"UNSCHEDULABLE_AND_UNRESOLVABLE: {ERR_REASON_CONFLICT}"
STORAGE = Listers.of(
    persistentvolumeclaims=[pvc("in-a", volume="pv-a"), pvc("in-ab", volume="pv-ab"), pvc("beta", volume="pv-beta"),
                            pvc("region", volume="pv-region"), pvc("plain", volume="pv-plain"),
                            pvc("wait", sc="late"), pvc("now", sc="early"), pvc("nosc", sc=""),
                            pvc("lost", volume="pv-gone"), pvc("p-scratch", volume="pv-a")],
    persistentvolumes=[pv("pv-a", **{ZONE: "a"}), pv("pv-ab", **{ZONE: "a__b"}), pv("pv-beta", **{BETA_ZONE: "b"}),
                       pv("pv-region", **{REGION: "r1"}), pv("pv-plain")],
    storageclasses=[{"metadata": {"name": "late"}, "volumeBindingMode": "WaitForFirstConsumer"},
                    {"metadata": {"name": "early"}, "volumeBindingMode": "Immediate"}])
ZONE_CASES = [
    ("PV in zone a", [claim("in-a")], {"na": "", "nb": Z, "none": ""}),
    ("PV in zones a and b", [claim("in-ab")], {"na": "", "nb": "", "none": ""}),
    ("beta PV label matches the GA node label", [claim("beta")], {"na": Z, "nb": "", "none": ""}),
    ("region label the nodes lack", [claim("region")], {"na": Z, "nb": Z, "none": ""}),
    ("PV without topology: skipped", [claim("plain")], "SKIP"),
    ("unbound claim, WaitForFirstConsumer: skipped", [claim("wait")], "SKIP"),
    ("unbound claim, Immediate", [claim("now")], "UNSCHEDULABLE_AND_UNRESOLVABLE: PersistentVolume had no name"),
    ("unbound claim without class", [claim("nosc")],
     "UNSCHEDULABLE_AND_UNRESOLVABLE: PersistentVolumeClaim had no pv name and storageClass name"),
    ("missing PV", [claim("lost")], 'UNSCHEDULABLE_AND_UNRESOLVABLE: persistentvolume "pv-gone" not found'),
    ("missing claim", [claim("nope")], 'UNSCHEDULABLE_AND_UNRESOLVABLE: persistentvolumeclaim "nope" not found'),
    ("ephemeral volume's claim is <pod>-<volume>", [{"ephemeral": {"volumeClaimTemplate": {}}, "name": "scratch"}],
     {"na": "", "nb": Z, "none": ""}),
    ("no claims: skipped", [gce("d")], "SKIP"),
]


@pytest.mark.parametrize("name,volumes,want", ZONE_CASES, ids=[c[0] for c in ZONE_CASES])
def test_volume_zone(name: str, volumes: list[Obj], want: dict[str, str] | str) -> None:
    nodes = [node_info(make_node("na", labels={ZONE: "a"})), node_info(make_node("nb", labels={ZONE: "b"})),
             node_info(make_node("none"))]
    p = make_pod("p")
    p["spec"]["volumes"] = [{"name": f"v{i}", **v} for i, v in enumerate(volumes)]
    assert run_filter(VolumeZone({}, None, STORAGE), p, nodes) == want


def test_zones_of() -> None:
    assert zones_of("a__b") == {"a", "b"}
    assert zones_of("a") == {"a"}
    assert zones_of("") == set()
