"""PodDisruptionBudget math tables: desired/expected, healthy counting, disruptedPods expiry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kybernetes.controllers import disruption as d

NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)


def pdb(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "b", "generation": 3}, "spec": {"selector": {"matchLabels": {"a": "b"}}, **spec}}


def pod(name: str, *, ready: bool = True, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if deleting:
        meta["deletionTimestamp"] = "2024-05-01T11:00:00Z"
    return {"metadata": meta, "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


@pytest.mark.parametrize(("value", "total", "up", "want"), [
    (3, 10, True, 3), ("50%", 5, True, 3), ("50%", 5, False, 2), ("10%", 10, True, 1), ("0%", 7, True, 0),
], ids=["int", "half-up", "half-down", "ten-percent", "zero"])
def test_scaled(value: Any, total: int, up: bool, want: int) -> None:
    assert d.scaled(value, total, round_up=up) == want


@pytest.mark.parametrize(("spec", "n_pods", "scale", "want"), [
    ({"minAvailable": 2}, 3, None, (2, 3)),
    ({"minAvailable": "50%"}, 3, 5, (3, 5)),
    ({"maxUnavailable": 1}, 3, 4, (3, 4)),
    ({"maxUnavailable": "25%"}, 3, 4, (3, 4)),
    ({"maxUnavailable": 5}, 3, 4, (0, 4)),
], ids=["min-int", "min-percent", "max-int", "max-percent", "max-beyond"])
def test_desired_and_expected(spec: dict[str, Any], n_pods: int, scale: int | None, want: tuple[int, int]) -> None:
    assert d.desired_and_expected(pdb(**spec), [pod(str(i)) for i in range(n_pods)], scale) == want


def test_status_counts_healthy_and_allows() -> None:
    pods = [pod("a"), pod("b"), pod("c", ready=False), pod("d", deleting=True)]
    st = d.compute_status(pdb(minAvailable=1), pods, 4, NOW).status
    assert (st["currentHealthy"], st["desiredHealthy"], st["expectedPods"], st["disruptionsAllowed"]) == (2, 1, 4, 1)
    assert st["observedGeneration"] == 3
    cond = st["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == ("DisruptionAllowed", "True", "SufficientPods")


def test_status_insufficient() -> None:
    st = d.compute_status(pdb(minAvailable=2), [pod("a"), pod("b", ready=False)], 2, NOW).status
    assert st["disruptionsAllowed"] == 0
    assert st["conditions"][0]["reason"] == "InsufficientPods"


def test_disrupted_pods_do_not_count_and_expire() -> None:
    fresh = "2024-05-01T11:59:30Z"
    stale = "2024-05-01T11:57:00Z"
    b = pdb(minAvailable=1)
    b["status"] = {"disruptedPods": {"a": fresh, "b": stale, "gone": fresh, "c": fresh}}
    pods = [pod("a"), pod("b"), pod("c", deleting=True), pod("d")]
    got = d.compute_status(b, pods, 4, NOW)
    assert got.status["disruptedPods"] == {"a": fresh}
    assert got.status["currentHealthy"] == 2  # b and d
    assert got.recheck_after == pytest.approx(90.0)


def test_fail_safe_without_controllers() -> None:
    st = d.compute_status(pdb(maxUnavailable=1), [pod("a"), pod("b")], None, NOW).status
    assert st["disruptionsAllowed"] == 0
    assert st["conditions"][0]["reason"] == "SyncFailed"


# --- requeue on a workload's scale -----------------------------------------------------------------

def labelled_pdb(name: str, match: dict[str, str], ns: str = "default") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"selector": {"matchLabels": match}}}


@pytest.mark.parametrize(("labels", "want"), [
    ([{"a": "b", "x": "y"}], True),
    ([{"a": "c"}, {"a": "b"}], True),
    ([{"a": "c"}], False),
    ([], False),
], ids=["superset", "second-set", "other-value", "no-labels"])
def test_selects_any(labels: list[dict[str, str]], want: bool) -> None:
    assert d.selects_any(labelled_pdb("p", {"a": "b"}), labels) is want


def test_selects_any_without_or_with_a_broken_selector() -> None:
    assert not d.selects_any({"spec": {}}, [{"a": "b"}])
    broken = {"spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "Bogus"}]}}}
    assert not d.selects_any(broken, [{"a": "b"}])


def workload(replicas: int, uid: str = "w1") -> dict[str, Any]:
    return {"metadata": {"name": "w", "namespace": "default", "uid": uid, "resourceVersion": "1"},
            "spec": {"replicas": replicas}, "status": {"replicas": 0}}


@pytest.mark.parametrize(("old", "new", "want"), [
    (None, workload(2), True),
    (workload(2), None, True),
    (workload(2), workload(4), True),
    (workload(2), workload(2, uid="w2"), True),
    (workload(2), dict(workload(2), status={"replicas": 2, "readyReplicas": 2}), False),
    ({"metadata": {"uid": "w1"}, "spec": {}}, workload(1), False),
], ids=["added", "deleted", "scaled", "recreated", "status-only", "default-replicas-is-one"])
def test_scale_changed(old: dict[str, Any] | None, new: dict[str, Any] | None, want: bool) -> None:
    assert d.scale_changed(old, new) is want


async def _drain(queue: Any) -> set[str]:
    keys: set[str] = set()
    while len(queue):
        key = await queue.get()
        queue.done(key)
        keys.add(key)
    return keys


async def test_scaling_a_workload_requeues_the_budgets_of_its_pods() -> None:
    from typing import cast

    from kybernetes.client import APIClient, EventRecorder, Informer
    from kybernetes.client.store import NAMESPACE_INDEX, index_by_namespace

    client = cast(APIClient, None)
    idx = {NAMESPACE_INDEX: index_by_namespace}
    pdbs, pods = Informer(client, d.PDBS, indexers=idx), Informer(client, d.PODS, indexers=idx)
    owners = {k: Informer(client, r) for k, r in
              (("ReplicaSet", d.RSS), ("Deployment", d.DEPLOYMENTS), ("StatefulSet", d.STATEFULSETS),
               ("ReplicationController", d.RCS))}
    dc = d.DisruptionController(client, pdbs, pods, owners, cast(EventRecorder, None))
    for b in (labelled_pdb("web", {"app": "web"}), labelled_pdb("hashed", {"pod-template-hash": "abc"}),
              labelled_pdb("db", {"app": "db"}), labelled_pdb("other-ns", {"app": "web"}, ns="elsewhere")):
        pdbs.store.upsert(b)
    dep: dict[str, Any] = {"metadata": {"name": "web", "namespace": "default", "uid": "dep"},
           "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "web"}}}}}
    rs = {"metadata": {"name": "web-abc", "namespace": "default", "uid": "rs",
                       "ownerReferences": [{"kind": "Deployment", "uid": "dep", "controller": True}]},
          "spec": {"replicas": 2}}
    owners["ReplicaSet"].store.upsert(rs)
    pods.store.upsert({"metadata": {"name": "web-abc-1", "namespace": "default", "uid": "p1",
                                    "labels": {"app": "web", "pod-template-hash": "abc"},
                                    "ownerReferences": [{"kind": "ReplicaSet", "uid": "rs", "controller": True}]}})
    await _drain(dc.controller.queue)

    scaled = {**dep, "spec": {**dep["spec"], "replicas": 4}}
    on_update = owners["Deployment"]._handlers[0].on_update  # what the informer calls
    assert on_update is not None
    on_update(dep, scaled)
    # The template selects "web"; the pod (through the Deployment's ReplicaSet) also selects "hashed".
    assert await _drain(dc.controller.queue) == {"default/web", "default/hashed"}

    dc._workload_scaled("Deployment", scaled, {**scaled, "status": {"replicas": 4}})
    assert await _drain(dc.controller.queue) == set()

    sts = {"metadata": {"name": "db", "namespace": "default", "uid": "sts"},
           "spec": {"replicas": 3, "template": {"metadata": {"labels": {"app": "db"}}}}}
    dc._workload_scaled("StatefulSet", None, sts)
    assert await _drain(dc.controller.queue) == {"default/db"}
