"""PersistentVolume decisions, table-driven: which volume a claim gets, what binding writes, the
claim's status, events while waiting, the local-path provisioner's choices and the node's cleanup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kybernetes.controllers.volume import localpath as lp
from kybernetes.controllers.volume import pvcontroller as pvc
from kybernetes.controllers.volume import pvcprotection as prot
from kybernetes.kubelet.volumes import localpath as node_lp
from kybernetes.machinery import pvbinding as pb

Obj = dict[str, Any]
UID = "0f0e0d0c-0b0a-4909-8807-060504030201"


def pv(
    name: str,
    size: str = "1Gi",
    *,
    cls: str = "fast",
    modes: tuple[str, ...] = ("ReadWriteOnce",),
    phase: str = "Available",
    labels: dict[str, str] | None = None,
    ref: Obj | None = None,
    mode: str | None = None,
    deleting: bool = False,
) -> Obj:
    meta: Obj = {"name": name, "labels": labels or {}}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    spec: Obj = {"capacity": {"storage": size}, "accessModes": list(modes), "storageClassName": cls}
    if ref is not None:
        spec["claimRef"] = ref
    if mode is not None:
        spec["volumeMode"] = mode
    return {"metadata": meta, "spec": spec, "status": {"phase": phase}}


def claim(
    size: str = "1Gi",
    *,
    cls: str | None = "fast",
    modes: tuple[str, ...] = ("ReadWriteOnce",),
    selector: Obj | None = None,
    mode: str | None = None,
    annotations: dict[str, str] | None = None,
) -> Obj:
    spec: Obj = {"accessModes": list(modes), "resources": {"requests": {"storage": size}}}
    if cls is not None:
        spec["storageClassName"] = cls
    if selector is not None:
        spec["selector"] = selector
    if mode is not None:
        spec["volumeMode"] = mode
    return {
        "metadata": {
            "name": "data",
            "namespace": "ns",
            "uid": "claim-uid",
            "resourceVersion": "7",
            "annotations": annotations or {},
        },
        "spec": spec,
        "status": {"phase": "Pending"},
    }


MINE = {"namespace": "ns", "name": "data"}
MATCH_CASES = [
    ("smallest fitting volume wins", claim("1Gi"), [pv("a", "5Gi"), pv("b", "2Gi"), pv("c", "500Mi")], "b"),
    ("exact size fits", claim("1Gi"), [pv("a", "1Gi")], "a"),
    (
        "quantity forms compare by value",
        claim("900Mi"),
        [pv("a", "1Gi"), pv("b", "1G"), pv("c", "900M")],
        "b",
    ),
    ("other class does not match", claim(cls="slow"), [pv("a")], None),
    ("no class matches only classless volumes", claim(cls=""), [pv("a"), pv("b", cls="")], "b"),
    (
        "beta class annotation wins over the field",
        claim(cls="fast", annotations={pb.ANN_BETA_STORAGE_CLASS: "slow"}),
        [pv("a"), pv("b", cls="slow")],
        "b",
    ),
    ("not Available is skipped", claim(), [pv("a", phase="Released"), pv("b", phase="Pending")], None),
    (
        "claimed by another claim is skipped",
        claim(),
        [pv("a", ref={"namespace": "ns", "name": "other"})],
        None,
    ),
    (
        "pre-bound to this claim wins over a smaller free one",
        claim(),
        [pv("a", "1Gi"), pv("big", "9Gi", phase="Available", ref=MINE)],
        "big",
    ),
    (
        "pre-bound wins even when not Available",
        claim(),
        [pv("a", phase="Bound", ref={**MINE, "uid": "claim-uid"})],
        "a",
    ),
    (
        "pre-bound to an older claim of the same name is skipped",
        claim(),
        [pv("a", ref={**MINE, "uid": "old"})],
        None,
    ),
    ("block volume does not serve a filesystem claim", claim(), [pv("a", mode="Block")], None),
    ("block claim takes a block volume", claim(mode="Block"), [pv("a"), pv("b", mode="Block")], "b"),
    ("missing access mode", claim(modes=("ReadWriteMany",)), [pv("a")], None),
    (
        "fewer access modes are preferred over a smaller volume",
        claim(modes=("ReadWriteOnce",)),
        [pv("small-many", "1Gi", modes=("ReadWriteOnce", "ReadOnlyMany")), pv("big-one", "5Gi")],
        "big-one",
    ),
    (
        "selector picks by labels",
        claim(selector={"matchLabels": {"tier": "gold"}}),
        [pv("a", "1Gi"), pv("g", "8Gi", labels={"tier": "gold"})],
        "g",
    ),
    (
        "selector expressions",
        claim(selector={"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["gold"]}]}),
        [pv("g", labels={"tier": "gold"}), pv("s", labels={"tier": "silver"})],
        "s",
    ),
    ("volume being deleted is skipped", claim(), [pv("a", deleting=True)], None),
    ("too small", claim("2Gi"), [pv("a", "1Gi")], None),
]


@pytest.mark.parametrize(
    ("c", "volumes", "want"), [x[1:] for x in MATCH_CASES], ids=[x[0] for x in MATCH_CASES]
)
def test_best_match_for_claim(c: Obj, volumes: list[Obj], want: str | None) -> None:
    got = pb.find_best_match_for_claim(c, volumes, delay_binding=False)
    assert (got["metadata"]["name"] if got else None) == want


def test_delay_binding_takes_only_prebound_volumes() -> None:
    free, mine = pv("free"), pv("mine", ref=MINE)
    assert pb.find_best_match_for_claim(claim(), [free], delay_binding=True) is None
    assert pb.find_best_match_for_claim(claim(), [free, mine], delay_binding=True) is mine


def test_node_fits_restricts_and_a_prebound_volume_elsewhere_is_no_match() -> None:
    here, there = pv("here", "2Gi", labels={"node": "a"}), pv("there", "1Gi", labels={"node": "b"})
    on_a = lambda v: v["metadata"]["labels"].get("node") == "a"  # noqa: E731
    assert pb.find_matching_volume(claim(), [here, there], node_fits=on_a) is here
    pinned = pv("pinned", labels={"node": "b"}, ref=MINE)
    assert pb.find_matching_volume(claim(), [pinned, here], node_fits=on_a) is None


@pytest.mark.parametrize(
    ("volume", "want"),
    [
        pytest.param(pv("a"), None, id="fits"),
        pytest.param(pv("a", "1Mi"), "requested PV is too small", id="small"),
        pytest.param(pv("a", cls="x"), "storageClassName does not match", id="class"),
        pytest.param(pv("a", mode="Block"), "incompatible volumeMode", id="mode"),
        pytest.param(pv("a", modes=("ReadOnlyMany",)), "incompatible accessMode", id="access"),
        pytest.param(pv("a", deleting=True), 'the volume is marked for deletion "a"', id="deleting"),
    ],
)
def test_named_volume_checks(volume: Obj, want: str | None) -> None:
    assert pb.check_volume_satisfies_claim(volume, claim()) == want


def test_binding_writes() -> None:
    free = pv("a")
    bound, dirty = pvc.volume_bound_to_claim(free, claim())
    assert dirty and bound["spec"]["claimRef"] == {
        "kind": "PersistentVolumeClaim",
        "namespace": "ns",
        "name": "data",
        "uid": "claim-uid",
        "apiVersion": "v1",
        "resourceVersion": "7",
    }
    assert bound["metadata"]["annotations"] == {pb.ANN_BOUND_BY_CONTROLLER: "yes"}
    assert "claimRef" not in free["spec"], "the cached object is never changed"
    again, dirty = pvc.volume_bound_to_claim(bound, claim())
    assert not dirty and again == bound
    # pre-bound by the user: the uid is filled in, no bound-by-controller
    user, dirty = pvc.volume_bound_to_claim(pv("u", ref=dict(MINE)), claim())
    assert dirty and user["spec"]["claimRef"]["uid"] == "claim-uid"
    assert pb.ANN_BOUND_BY_CONTROLLER not in (user["metadata"].get("annotations") or {})

    c, dirty = pvc.claim_bound_to_volume(claim(), bound)
    assert dirty and c["spec"]["volumeName"] == "a"
    assert c["metadata"]["annotations"] == {pb.ANN_BOUND_BY_CONTROLLER: "yes", pb.ANN_BIND_COMPLETED: "yes"}
    named = claim()
    named["spec"]["volumeName"] = "a"
    c, dirty = pvc.claim_bound_to_volume(named, bound)
    assert dirty and c["metadata"]["annotations"] == {pb.ANN_BIND_COMPLETED: "yes"}
    assert pvc.claim_bound_to_volume(c, bound) == (c, False)


def test_claim_status_and_unbinding() -> None:
    status = pvc.claim_status(claim(), "Bound", pv("a", "2Gi"))
    assert status == {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "2Gi"}}
    assert pvc.claim_status(claim(), "Pending", None) is None, "nothing changes"
    bound = {**claim(), "status": status}
    assert pvc.claim_status(bound, "Lost", None) == {"phase": "Lost"}
    by_us = pv("a", ref={**MINE, "uid": "u"})
    by_us["metadata"]["annotations"] = {pb.ANN_BOUND_BY_CONTROLLER: "yes"}
    rolled = pvc.volume_unbound(by_us)
    assert "claimRef" not in rolled["spec"] and rolled["metadata"]["annotations"] == {}
    by_user = pvc.volume_unbound(pv("b", ref={**MINE, "uid": "u"}))
    assert by_user["spec"]["claimRef"] == MINE, "a user's pre-binding stays, without the uid"


def pod(name: str, claim_name: str, *, node: str = "", phase: str = "Pending", ns: str = "ns") -> Obj:
    spec: Obj = {"volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": claim_name}}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name, "namespace": ns}, "spec": spec, "status": {"phase": phase}}


@pytest.mark.parametrize(
    ("pods", "want"),
    [
        pytest.param(
            [], ("WaitForFirstConsumer", "waiting for first consumer to be created before binding"), id="none"
        ),
        pytest.param(
            [pod("p", "data")], ("WaitForPodScheduled", "waiting for pod p to be scheduled"), id="one"
        ),
        pytest.param(
            [pod("q", "data"), pod("p", "data")],
            ("WaitForPodScheduled", "waiting for pods p,q to be scheduled"),
            id="two",
        ),
        pytest.param(
            [
                pod("p", "data", node="n1"),
                pod("x", "other"),
                pod("y", "data", ns="elsewhere"),
                pod("z", "data", phase="Succeeded"),
            ],
            ("WaitForFirstConsumer", "waiting for first consumer to be created before binding"),
            id="scheduled-other-claim-namespace-finished",
        ),
    ],
)
def test_wait_event(pods: list[Obj], want: tuple[str, str]) -> None:
    assert pvc.wait_event(claim(), pods) == want


# --- the local-path provisioner ------------------------------------------------------------------------


def node(name: str, *, ready: bool = True, unschedulable: bool = False, root: str | None = None) -> Obj:
    meta: Obj = {"name": name, "labels": {"kubernetes.io/hostname": name}}
    if root:
        meta["annotations"] = {pb.ANN_LOCAL_PATH_ROOT: root}
    return {
        "metadata": meta,
        "spec": {"unschedulable": unschedulable},
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


WFFC = {
    "metadata": {"name": "local-path"},
    "provisioner": pb.LOCAL_PATH_PROVISIONER,
    "volumeBindingMode": "WaitForFirstConsumer",
    "reclaimPolicy": "Delete",
}
IMMEDIATE = {**WFFC, "volumeBindingMode": "Immediate"}


@pytest.mark.parametrize(
    ("annotations", "sc", "nodes", "want"),
    [
        pytest.param({}, WFFC, [node("a")], None, id="wffc-waits-for-the-scheduler"),
        pytest.param({pb.ANN_SELECTED_NODE: "b"}, WFFC, [node("a")], "b", id="selected-node"),
        pytest.param(
            {},
            IMMEDIATE,
            [node("c"), node("b"), node("a", ready=False), node("0", unschedulable=True)],
            "b",
            id="immediate-first-ready-schedulable",
        ),
        pytest.param({}, IMMEDIATE, [], None, id="immediate-without-nodes"),
    ],
)
def test_target_node(annotations: dict[str, str], sc: Obj, nodes: list[Obj], want: str | None) -> None:
    assert lp.target_node(claim(annotations=annotations), sc, nodes) == want


def test_volume_for_claim() -> None:
    c = claim("64Mi", cls="local-path")
    c["metadata"]["uid"] = UID
    v = lp.volume_for(c, {**WFFC, "mountOptions": ["noatime"]}, node("n1", root="/srv/kyb/storage/"))
    assert v["metadata"] == {
        "name": f"pvc-{UID}",
        "annotations": {pb.ANN_PROVISIONED_BY: pb.LOCAL_PATH_PROVISIONER},
    }
    assert v["spec"]["local"] == {"path": f"/srv/kyb/storage/pvc-{UID}"}
    assert v["spec"]["capacity"] == {"storage": "64Mi"} and v["spec"]["storageClassName"] == "local-path"
    assert v["spec"]["persistentVolumeReclaimPolicy"] == "Delete" and v["spec"]["mountOptions"] == ["noatime"]
    assert v["spec"]["claimRef"]["uid"] == UID
    assert lp.volume_root(node("n1"), WFFC) == pb.DEFAULT_LOCAL_PATH_ROOT
    assert lp.volume_root(node("n1", root="/x"), {**WFFC, "parameters": {"basePath": "/data/"}}) == "/data"


@pytest.mark.parametrize(
    ("c", "want"),
    [
        pytest.param(
            claim(annotations={pb.ANN_STORAGE_PROVISIONER: pb.LOCAL_PATH_PROVISIONER}), True, id="ours"
        ),
        pytest.param(
            claim(annotations={pb.ANN_BETA_STORAGE_PROVISIONER: pb.LOCAL_PATH_PROVISIONER}), True, id="beta"
        ),
        pytest.param(
            claim(annotations={pb.ANN_STORAGE_PROVISIONER: "example.com/x"}), False, id="someone-elses"
        ),
        pytest.param(claim(), False, id="not-handed-over"),
    ],
)
def test_wants_us(c: Obj, want: bool) -> None:
    assert lp.wants_us(c) is want


def test_provision_problems_and_deletion() -> None:
    assert lp.provision_problem(claim()) is None
    assert lp.provision_problem(claim(mode="Block")) == "only the Filesystem volume mode is supported"
    assert (
        lp.provision_problem(claim(selector={"matchLabels": {"a": "b"}})) == "claim Selector is not supported"
    )
    ours = pv("x", phase="Released")
    ours["metadata"]["annotations"] = {pb.ANN_PROVISIONED_BY: pb.LOCAL_PATH_PROVISIONER}
    ours["spec"]["persistentVolumeReclaimPolicy"] = "Delete"
    assert lp.should_delete(ours)
    assert not lp.should_delete({**ours, "status": {"phase": "Bound"}})
    assert not lp.should_delete({**ours, "spec": {**ours["spec"], "persistentVolumeReclaimPolicy": "Retain"}})
    assert not lp.should_delete({**ours, "metadata": {"name": "x"}}), "not provisioned by us"


# --- the node's directories ----------------------------------------------------------------------------


def test_orphan_candidates() -> None:
    root = Path("/var/lib/kyb/storage")
    live = {"spec": {"local": {"path": f"{root}/pvc-{UID}"}}}
    other_uid = UID.replace("0f0e", "aaaa")
    entries = [f"pvc-{UID}", f"pvc-{other_uid}", "lost+found", "pvc-not-a-uuid", "notes"]
    assert node_lp.orphan_candidates(root, entries, [live]) == [f"pvc-{other_uid}"]
    assert (
        node_lp.orphan_candidates(
            root, entries, [live, {"spec": {"hostPath": {"path": f"{root}/pvc-{other_uid}/"}}}]
        )
        == []
    )


def test_prepare_dir_only_for_our_volumes(tmp_path: Path) -> None:
    ours = {"metadata": {"annotations": {pb.ANN_PROVISIONED_BY: pb.LOCAL_PATH_PROVISIONER}}}
    target = tmp_path / "storage" / "pvc-x"
    assert node_lp.prepare_dir(ours, target) and target.is_dir()
    assert target.stat().st_mode & 0o777 == 0o777
    assert not node_lp.prepare_dir({"metadata": {}}, tmp_path / "other")
    assert not (tmp_path / "other").exists()


# --- in-use protection ---------------------------------------------------------------------------------


def test_claims_of_pod_and_use() -> None:
    p = pod("web", "data", node="n1")
    p["spec"]["volumes"].append({"name": "scratch", "ephemeral": {"volumeClaimTemplate": {}}})
    assert prot.claims_of_pod(p) == ["data", "web-scratch"]
    assert prot.pod_uses_claim(p, "data") and prot.pod_uses_claim(p, "web-scratch")
    assert not prot.pod_uses_claim(pod("p", "data"), "data"), "an unscheduled pod does not hold the claim"


@pytest.mark.parametrize(
    ("finalizers", "deleting", "in_use", "want"),
    [
        pytest.param([], False, False, [prot.PVC_FINALIZER], id="live-gets-it"),
        pytest.param(["x"], False, True, ["x", prot.PVC_FINALIZER], id="live-keeps-others"),
        pytest.param([prot.PVC_FINALIZER], False, False, None, id="live-has-it"),
        pytest.param([prot.PVC_FINALIZER, "x"], True, False, ["x"], id="deleted-unused-drops-it"),
        pytest.param([prot.PVC_FINALIZER], True, True, None, id="deleted-in-use-keeps-it"),
        pytest.param([], True, False, None, id="deleted-without-it"),
    ],
)
def test_finalizer_change(
    finalizers: list[str], deleting: bool, in_use: bool, want: list[str] | None
) -> None:
    meta: Obj = {"name": "c", "finalizers": finalizers}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert prot.finalizer_change({"metadata": meta}, prot.PVC_FINALIZER, in_use) == want
