"""Pure decisions of the ReplicaSet loop: claiming, deletion order, slow start, status."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.controllers.replicaset import (
    REPLICASET,
    REPLICATIONCONTROLLER,
    calculate_status,
    claim_decisions,
    format_time,
    pod_from_template,
    pods_to_delete,
    slow_start_batches,
)
from kybernetes.machinery.labels import selector_from_set

NOW = 1_800_000_000.0


def pod(name: str, *, node: str = "n1", phase: str = "Running", ready: bool = True, ready_ago: float = 1000,
        created_ago: float = 2000, restarts: int = 0, labels: dict[str, str] | None = None,
        owner: str | None = "rs-uid", cost: int | None = None, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"uid-{name}",
                            "labels": {"app": "web"} if labels is None else labels,
                            "creationTimestamp": format_time(NOW - created_ago)}
    if owner:
        meta["ownerReferences"] = [{"kind": "ReplicaSet", "name": "rs", "uid": owner, "controller": True}]
    if cost is not None:
        meta["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": str(cost)}
    if deleting:
        meta["deletionTimestamp"] = format_time(NOW)
    conds = [{"type": "Ready", "status": "True" if ready else "False",
              "lastTransitionTime": format_time(NOW - ready_ago)}]
    return {"metadata": meta, "spec": {"nodeName": node} if node else {},
            "status": {"phase": phase, "conditions": conds, "containerStatuses": [{"restartCount": restarts}]}}


RS = {"metadata": {"name": "rs", "namespace": "default", "uid": "rs-uid", "generation": 3},
      "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
               "template": {"metadata": {"labels": {"app": "web", "tier": "fe"}}, "spec": {"containers": []}}}}


@pytest.mark.parametrize(("victim", "other"), [
    pytest.param(pod("a", node=""), pod("b"), id="unassigned-before-assigned"),
    pytest.param(pod("a", phase="Pending", ready=False), pod("b", phase="Running", ready=False), id="pending-before-running"),
    pytest.param(pod("a", phase="Unknown"), pod("b"), id="unknown-before-running"),
    pytest.param(pod("a", ready=False), pod("b"), id="not-ready-before-ready"),
    pytest.param(pod("a", cost=-5), pod("b", cost=10), id="lower-deletion-cost-first"),
    pytest.param(pod("a", ready_ago=10), pod("b", ready_ago=100_000), id="ready-more-recently-first"),
    pytest.param(pod("a", restarts=5), pod("b", restarts=0), id="more-restarts-first"),
    pytest.param(pod("a", created_ago=10, ready_ago=1000), pod("b", created_ago=100_000, ready_ago=1000),
                 id="newer-first"),
])
def test_deletion_order(victim: dict[str, Any], other: dict[str, Any]) -> None:
    for order in ([victim, other], [other, victim]):
        assert pods_to_delete(order, order, 1, NOW) == [victim]


def test_doubled_up_nodes_lose_pods_first() -> None:
    a, b, c = pod("a", node="n1"), pod("b", node="n1"), pod("c", node="n2")
    chosen = pods_to_delete([c, a, b], [a, b, c], 1, NOW)
    assert chosen[0]["metadata"]["name"] in ("a", "b")


def test_deleting_more_than_exist_returns_all() -> None:
    pods = [pod("a"), pod("b")]
    assert pods_to_delete(pods, pods, 5, NOW) == pods


@pytest.mark.parametrize(("count", "batches"), [
    pytest.param(0, [], id="zero"),
    pytest.param(1, [1], id="one"),
    pytest.param(3, [1, 2], id="three"),
    pytest.param(10, [1, 2, 4, 3], id="ten"),
    pytest.param(16, [1, 2, 4, 8, 1], id="sixteen"),
])
def test_slow_start_batches(count: int, batches: list[int]) -> None:
    assert slow_start_batches(count) == batches


def test_claim_adopts_orphans_releases_mismatches_ignores_others() -> None:
    mine = pod("mine")
    stray = pod("stray", labels={"app": "other"})
    orphan = pod("orphan", owner=None)
    orphan_deleting = pod("orphan2", owner=None, deleting=True)
    foreign = pod("foreign", owner="someone-else")
    kept, adopt, release = claim_decisions(RS, selector_from_set({"app": "web"}),
                                           [mine, stray, orphan, orphan_deleting, foreign])
    assert [p["metadata"]["name"] for p in kept] == ["mine"]
    assert [p["metadata"]["name"] for p in adopt] == ["orphan"]
    assert [p["metadata"]["name"] for p in release] == ["stray"]


def test_pod_from_template_carries_owner_and_generate_name() -> None:
    p = pod_from_template(RS, REPLICASET)
    assert p["metadata"]["generateName"] == "rs-"
    assert p["metadata"]["labels"] == {"app": "web", "tier": "fe"}
    ref = p["metadata"]["ownerReferences"][0]
    assert ref == {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "rs-uid", "controller": True,
                   "blockOwnerDeletion": True}


def test_rc_selector_defaults_to_template_labels() -> None:
    rc = {"spec": {"template": {"metadata": {"labels": {"app": "x"}}}}}
    assert REPLICATIONCONTROLLER.selector(rc).matches({"app": "x"})
    assert not REPLICATIONCONTROLLER.selector(rc).matches({"app": "y"})


def test_status_counts_and_min_ready_seconds() -> None:
    rs = {**RS, "spec": {**RS["spec"], "minReadySeconds": 30}}
    pods = [pod("a", labels={"app": "web", "tier": "fe"}, ready_ago=100), pod("b", ready_ago=5), pod("c", ready=False)]
    s = calculate_status(rs, pods, manage_error=None, now=NOW)
    assert s == {"replicas": 3, "fullyLabeledReplicas": 1, "readyReplicas": 2, "availableReplicas": 1,
                 "observedGeneration": 3}


def test_replica_failure_condition_set_then_cleared() -> None:
    s = calculate_status(RS, [], manage_error=("FailedCreate", "quota"), now=NOW)
    assert s["conditions"][0]["type"] == "ReplicaFailure" and s["conditions"][0]["reason"] == "FailedCreate"
    cleared = calculate_status({**RS, "status": s}, [], manage_error=None, now=NOW)
    assert "conditions" not in cleared
