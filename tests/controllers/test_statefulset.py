"""StatefulSet decisions: ordinal planning (OrderedReady vs Parallel), rolling update with partition,
identities, PVCs, revisions, status and claim retention."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.controllers.statefulset import revisions as rev
from kybernetes.controllers.statefulset.controller import claim_owner_refs
from kybernetes.controllers.statefulset.plan import (
    Create,
    Delete,
    claims_for,
    compute_status,
    new_pod,
    plan_step,
)

Obj = dict[str, Any]
NOW = 1_000_000.0


def sset(replicas: int = 3, *, parallel: bool = False, partition: int = 0, on_delete: bool = False,
         min_ready: int = 0, claims: bool = False) -> Obj:
    strategy: Obj = {"type": "OnDelete"} if on_delete else {"type": "RollingUpdate",
                                                             "rollingUpdate": {"partition": partition}}
    spec: Obj = {"replicas": replicas, "serviceName": "nginx", "selector": {"matchLabels": {"app": "web"}},
                 "podManagementPolicy": "Parallel" if parallel else "OrderedReady", "updateStrategy": strategy,
                 "minReadySeconds": min_ready,
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}
    if claims:
        spec["volumeClaimTemplates"] = [{"metadata": {"name": "www"},
                                         "spec": {"accessModes": ["ReadWriteOnce"],
                                                  "resources": {"requests": {"storage": "1Gi"}}}}]
    return {"metadata": {"name": "web", "namespace": "ns", "uid": "set-uid", "generation": 2}, "spec": spec}


def pod(ordinal: int, state: str = "ready", revision: str = "web-new") -> Obj:
    """state: ready | pending (created, not ready) | failed | terminating."""
    p: Obj = {"metadata": {"name": f"web-{ordinal}", "uid": f"uid-{ordinal}",
                           "labels": {"app": "web", "controller-revision-hash": revision}},
              "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
    if state == "pending":
        p["status"] = {"phase": "Pending"}
    elif state == "failed":
        p["status"] = {"phase": "Failed"}
    elif state == "terminating":
        p["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return p


def describe(actions: list[Any]) -> list[str]:
    out = []
    for a in actions:
        if isinstance(a, Create):
            out.append(f"create {a.ordinal} {a.revision}")
        else:
            assert isinstance(a, Delete)
            out.append(f"delete {a.pod['metadata']['name']} {a.why}")
    return out


PLAN_CASES = [
    ("ordered: empty set creates ordinal 0 only", sset(3), [], ["create 0 update"]),
    ("ordered: waits for 0 to be ready", sset(3), [pod(0, "pending")], []),
    ("ordered: 0 ready, creates 1", sset(3), [pod(0)], ["create 1 update"]),
    ("ordered: gap is filled first", sset(3), [pod(0), pod(2)], ["create 1 update"]),
    ("ordered: failed pod is deleted to be recreated", sset(3), [pod(0), pod(1, "failed")], ["delete web-1 failed"]),
    ("ordered: terminating pod blocks", sset(3), [pod(0, "terminating")], []),
    ("ordered: scale down removes the highest first", sset(1), [pod(0), pod(1), pod(2)], ["delete web-2 condemned"]),
    ("ordered: scale down waits for an unhealthy pod", sset(1), [pod(0), pod(1, "pending"), pod(2)], []),
    ("ordered: scale down waits for a terminating one", sset(1), [pod(0), pod(1), pod(2, "terminating")], []),
    ("ordered: all ready, nothing to do", sset(3), [pod(0), pod(1), pod(2)], []),
    ("parallel: creates every missing ordinal", sset(3, parallel=True), [],
     ["create 0 update", "create 1 update", "create 2 update"]),
    ("parallel: does not wait for readiness", sset(3, parallel=True), [pod(0, "pending")],
     ["create 1 update", "create 2 update"]),
    ("parallel: deletes every condemned pod", sset(1, parallel=True), [pod(0), pod(1, "pending"), pod(2)],
     ["delete web-2 condemned", "delete web-1 condemned"]),
    ("partition: ordinals below it are created at the current revision", sset(3, partition=2), [pod(0)],
     ["create 1 current"]),
]


@pytest.mark.parametrize(("s", "pods", "want"), [c[1:] for c in PLAN_CASES], ids=[c[0] for c in PLAN_CASES])
def test_plan_step_creates_and_deletes(s: Obj, pods: list[Obj], want: list[str]) -> None:
    assert describe(plan_step(s, pods, "web-new", NOW).actions) == want


OLD = "web-old"
UPDATE_CASES = [
    ("highest ordinal goes first", sset(3), [pod(0, revision=OLD), pod(1, revision=OLD), pod(2, revision=OLD)],
     ["delete web-2 update"]),
    ("then the next, once the updated one is ready", sset(3), [pod(0, revision=OLD), pod(1, revision=OLD), pod(2)],
     ["delete web-1 update"]),
    ("waits while the updated pod is not ready", sset(3),
     [pod(0, revision=OLD), pod(1, revision=OLD), pod(2, "pending")], []),
    ("waits for the terminating old pod", sset(3),
     [pod(0, revision=OLD), pod(1, revision=OLD), pod(2, "terminating", OLD)], []),
    ("partition 1 stops above ordinal 0", sset(3, partition=1), [pod(0, revision=OLD), pod(1), pod(2)], []),
    ("partition 1 updates ordinal 1", sset(3, partition=1), [pod(0, revision=OLD), pod(1, revision=OLD), pod(2)],
     ["delete web-1 update"]),
    ("partition above replicas updates nothing", sset(3, partition=5),
     [pod(0, revision=OLD), pod(1, revision=OLD), pod(2, revision=OLD)], []),
    ("OnDelete never deletes for an update", sset(3, on_delete=True),
     [pod(0, revision=OLD), pod(1, revision=OLD), pod(2, revision=OLD)], []),
    ("parallel still updates one at a time", sset(3, parallel=True),
     [pod(0, revision=OLD), pod(1, revision=OLD), pod(2, revision=OLD)], ["delete web-2 update"]),
]


@pytest.mark.parametrize(("s", "pods", "want"), [c[1:] for c in UPDATE_CASES], ids=[c[0] for c in UPDATE_CASES])
def test_rolling_update_with_partition(s: Obj, pods: list[Obj], want: list[str]) -> None:
    assert describe(plan_step(s, pods, "web-new", NOW).actions) == want


def test_min_ready_seconds_holds_ordered_creation() -> None:
    p0 = pod(0)
    p0["status"]["conditions"][0]["lastTransitionTime"] = "1970-01-12T13:46:35Z"  # NOW - 5 s
    assert describe(plan_step(sset(3, min_ready=10), [p0], "web-new", NOW).actions) == []
    assert describe(plan_step(sset(3, min_ready=10), [p0], "web-new", NOW + 10).actions) == ["create 1 update"]


def test_pod_identity_and_claims() -> None:
    s = sset(3, claims=True)
    p = new_pod(s, s["spec"]["template"], "web-abc", 1)
    assert p["metadata"]["name"] == "web-1"
    assert p["metadata"]["labels"] == {"app": "web", "statefulset.kubernetes.io/pod-name": "web-1",
                                       "apps.kubernetes.io/pod-index": "1", "controller-revision-hash": "web-abc"}
    assert p["spec"]["hostname"] == "web-1" and p["spec"]["subdomain"] == "nginx"
    assert p["spec"]["volumes"] == [{"name": "www", "persistentVolumeClaim": {"claimName": "www-web-1"}}]
    assert p["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
    [c] = claims_for(s, 1)
    assert c["metadata"]["name"] == "www-web-1" and c["metadata"]["labels"] == {"app": "web"}
    assert "ownerReferences" not in c["metadata"]  # Retain: nothing owns the claim
    assert s["spec"]["template"]["spec"].get("volumes") is None  # the set is untouched


def test_revisions_hash_reuse_and_history() -> None:
    s = sset(3)
    r1 = rev.new_revision(s, 1, 0)
    assert r1["metadata"]["name"].startswith("web-")
    assert r1["metadata"]["labels"]["controller.kubernetes.io/hash"] == r1["metadata"]["name"][len("web-"):]
    assert rev.new_revision(s, 7, 0)["metadata"]["name"] == r1["metadata"]["name"]
    assert rev.new_revision(s, 1, 1)["metadata"]["name"] != r1["metadata"]["name"]
    assert rev.template_of(r1) == s["spec"]["template"]
    s2 = sset(3)
    s2["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    r2 = rev.new_revision(s2, 2, 0)
    assert rev.choose_update([r1, r2], rev.new_revision(s2, 3, 0)) == (r2, None)
    assert rev.choose_update([r1, r2], rev.new_revision(s, 3, 0)) == (r1, 3)  # rollback renumbers
    assert rev.choose_update([r1], rev.new_revision(s2, 2, 0)) == (None, None)
    names = [rev.new_revision(s, n, n)["metadata"]["name"] for n in range(5)]
    revs = [{**rev.new_revision(s, n, n), "revision": n + 1} for n in range(5)]
    assert [r["metadata"]["name"] for r in rev.history_to_delete(revs, {names[0], names[4]}, 2)] == [names[1]]


def test_status_counts_and_finished_rollout() -> None:
    s = sset(3)
    pods = [pod(0, revision=OLD), pod(1, "pending"), pod(2)]
    st = compute_status(s, pods, OLD, "web-new", 0, NOW)
    assert {k: st[k] for k in ("replicas", "readyReplicas", "currentReplicas", "updatedReplicas",
                               "availableReplicas", "observedGeneration")} == {
        "replicas": 3, "readyReplicas": 2, "currentReplicas": 1, "updatedReplicas": 2, "availableReplicas": 2,
        "observedGeneration": 2}
    assert st["currentRevision"] == OLD
    done = compute_status(s, [pod(0), pod(1), pod(2)], OLD, "web-new", 0, NOW)
    assert done["currentRevision"] == "web-new" and done["currentReplicas"] == 3


RETENTION_CASES = [
    ("Retain/Retain owns nothing", {}, 0, []),
    ("whenDeleted Delete: the set owns it", {"whenDeleted": "Delete"}, 0, ["set-uid"]),
    ("whenScaled Delete, live ordinal: nobody", {"whenScaled": "Delete"}, 0, []),
    ("whenScaled Delete, condemned ordinal: the pod", {"whenScaled": "Delete"}, 2, ["uid-2"]),
    ("both, live ordinal: the set", {"whenDeleted": "Delete", "whenScaled": "Delete"}, 0, ["set-uid"]),
    ("both, condemned: the pod alone", {"whenDeleted": "Delete", "whenScaled": "Delete"}, 2, ["uid-2"]),
]


@pytest.mark.parametrize(("policy", "ordinal", "want"), [c[1:] for c in RETENTION_CASES],
                         ids=[c[0] for c in RETENTION_CASES])
def test_claim_retention_owner_refs(policy: Obj, ordinal: int, want: list[str]) -> None:
    s = sset(2, claims=True)
    s["spec"]["persistentVolumeClaimRetentionPolicy"] = policy
    claim = {"metadata": {"name": f"www-web-{ordinal}",
                          "ownerReferences": [{"kind": "Other", "uid": "other"}]}}
    refs = claim_owner_refs(s, claim, pod(ordinal), 2, ordinal)
    assert [r["uid"] for r in refs] == ["other", *want]
