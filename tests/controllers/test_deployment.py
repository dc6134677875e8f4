"""Pure decisions of the Deployment loop: fenceposts, rolling steps, proportional scaling,
revisions, history cleanup, hashes and conditions."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.controllers.deployment import history, progress, rolling, scaling
from kybernetes.controllers.deployment.util import (
    REVISION,
    REVISION_HISTORY,
    compute_hash,
    equal_ignore_hash,
    fenceposts,
    find_new_rs,
    set_new_rs_annotations,
)

NOW = 1_800_000_000.0


def deploy(replicas: int = 10, surge: Any = "25%", unavailable: Any = "25%", *, strategy: str = "RollingUpdate",
           **spec: Any) -> dict[str, Any]:
    strat: dict[str, Any] = {"type": strategy}
    if strategy == "RollingUpdate":
        strat["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    return {"metadata": {"name": "web", "uid": "d-uid", "generation": 1, "annotations": {}},
            "spec": {"replicas": replicas, "strategy": strat, "template": {"metadata": {"labels": {"app": "web"}}},
                     **spec}, "status": {}}


def rs(name: str, size: int, available: int | None = None, *, created: int = 0, rev: int | None = None,
       ann: dict[str, str] | None = None) -> dict[str, Any]:
    annotations = dict(ann or {})
    if rev is not None:
        annotations[REVISION] = str(rev)
    return {"metadata": {"name": name, "creationTimestamp": f"2026-01-01T00:00:{created:02d}Z",
                         "annotations": annotations, "generation": 1},
            "spec": {"replicas": size},
            "status": {"replicas": size, "availableReplicas": size if available is None else available,
                       "observedGeneration": 1}}


@pytest.mark.parametrize(("replicas", "surge", "unavailable", "want"), [
    pytest.param(10, "25%", "25%", (3, 2), id="percent-surge-rounds-up-unavailable-down"),
    pytest.param(4, "25%", "25%", (1, 1), id="defaults-on-4"),
    pytest.param(1, "25%", "25%", (1, 0), id="one-replica"),
    pytest.param(3, 0, 0, (0, 1), id="both-zero-means-one-unavailable"),
    pytest.param(5, 2, "0%", (2, 0), id="ints"),
    pytest.param(10, "0%", "100%", (0, 10), id="all-unavailable"),
])
def test_fenceposts(replicas: int, surge: Any, unavailable: Any, want: tuple[int, int]) -> None:
    assert fenceposts(deploy(replicas, surge, unavailable)) == want


def simulate(d: dict[str, Any], old_size: int, *, lag: bool) -> list[tuple[int, int, int]]:
    """Run rolling steps to completion; pods become available one step after they are asked for
    when `lag`. Returns (total pods, available, new) after each step."""
    old = rs("old", old_size, created=0)
    new = rs("new", 0, created=1)
    trace = []
    for _ in range(100):
        size = rolling.reconcile_new_rs(d, [old, new], new)
        if size is not None:
            new["spec"]["replicas"] = size
        else:
            plan = rolling.old_rs_scale_down(d, [old], new)
            if not plan:
                break
            old["spec"]["replicas"] = plan["old"]
        for r in (old, new):
            want = r["spec"]["replicas"]
            have = r["status"]["availableReplicas"]
            if not lag or want <= have:
                r["status"]["availableReplicas"] = want
            else:
                r["status"]["availableReplicas"] = have + 1
            r["status"]["replicas"] = want
        trace.append((old["spec"]["replicas"] + new["spec"]["replicas"],
                      old["status"]["availableReplicas"] + new["status"]["availableReplicas"],
                      new["spec"]["replicas"]))
        if old["spec"]["replicas"] == 0 and new["status"]["availableReplicas"] == d["spec"]["replicas"]:
            break
    return trace


@pytest.mark.parametrize(("replicas", "surge", "unavailable"), [
    pytest.param(10, "25%", "25%", id="defaults"),
    pytest.param(4, 1, 0, id="surge-only"),
    pytest.param(4, 0, 1, id="unavailable-only"),
    pytest.param(5, "50%", "20%", id="percent-mix"),
    pytest.param(3, 3, 3, id="wide"),
])
@pytest.mark.parametrize("lag", [False, True], ids=["instant", "lagging"])
def test_rolling_steps_respect_bounds(replicas: int, surge: Any, unavailable: Any, lag: bool) -> None:
    d = deploy(replicas, surge, unavailable)
    max_surge, max_unavail = fenceposts(d)
    trace = simulate(d, replicas, lag=lag)
    assert trace[-1][2] == replicas
    for total, _available, _new in trace:
        assert total <= replicas + max_surge
    # Availability is checked where the controller decides: before each scale-down.
    for (_t, available, _n) in trace:
        assert available >= replicas - max_unavail or lag


def test_surge_only_first_step_adds_one() -> None:
    d = deploy(4, 1, 0)
    assert rolling.reconcile_new_rs(d, [rs("old", 4), rs("new", 0)], rs("new", 0)) == 1
    # new pod not available yet: no old pod may go
    assert rolling.old_rs_scale_down(d, [rs("old", 4)], rs("new", 1, 0)) == {}
    assert rolling.old_rs_scale_down(d, [rs("old", 4)], rs("new", 1, 1)) == {"old": 3}


def test_unhealthy_old_pods_are_cleaned_first() -> None:
    olds = [rs("older", 2, 0, created=0), rs("old", 2, 2, created=1)]
    # Only one pod may go (4 pods, 3 must stay): an unavailable one, not a serving one.
    assert rolling.old_rs_scale_down(deploy(4, 0, 1), olds, rs("new", 0)) == {"older": 1}
    assert rolling.old_rs_scale_down(deploy(4, 0, 2), olds, rs("new", 0)) == {"older": 0}


def test_proportional_scaling_keeps_the_rollout_shape() -> None:
    d = deploy(20, 3, 2)  # was 10 replicas (max-replicas 13), now 20 (max 23)
    old = rs("old", 8, created=0, ann={"deployment.kubernetes.io/max-replicas": "13"})
    new = rs("new", 5, 0, created=1, ann={"deployment.kubernetes.io/max-replicas": "13"})
    sizes, op = scaling.scale_plan(d, new, [old])
    assert op == "up"
    assert sizes["old"] + sizes["new"] == 23
    assert sizes == {"old": 14, "new": 9}


def test_scaling_a_finished_rollout_touches_only_the_active_set() -> None:
    d = deploy(6)
    assert scaling.scale_plan(d, rs("new", 3), [rs("old", 0)]) == ({"new": 6}, "up")


def test_revisions_move_to_history_on_rollback() -> None:
    d = deploy(3, **{})
    d["metadata"]["annotations"] = {"kubernetes.io/change-cause": "undo", REVISION: "3"}
    back = rs("back", 0, rev=1)
    assert set_new_rs_annotations(d, back, 4, exists=True)
    ann = back["metadata"]["annotations"]
    assert ann[REVISION] == "4" and ann[REVISION_HISTORY] == "1" and ann["kubernetes.io/change-cause"] == "undo"
    assert not set_new_rs_annotations(d, back, 4, exists=True)


def test_new_set_gets_replica_annotations() -> None:
    d = deploy(10)
    r = rs("new", 0)
    set_new_rs_annotations(d, r, 1, exists=False)
    ann = r["metadata"]["annotations"]
    assert (ann[REVISION], ann["deployment.kubernetes.io/desired-replicas"],
            ann["deployment.kubernetes.io/max-replicas"]) == ("1", "10", "13")


def test_history_cleanup_keeps_limit_and_skips_scaled_sets() -> None:
    d = deploy(3, revisionHistoryLimit=1)
    olds = [rs("r1", 0, rev=1), rs("r2", 1, rev=2), rs("r3", 0, rev=3)]
    assert [r["metadata"]["name"] for r in history.sets_to_clean_up(d, olds)] == ["r1"]
    assert history.max_revision(olds) == 3


def test_hash_is_stable_and_collision_count_changes_it() -> None:
    t = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    h = compute_hash(t, None)
    assert h == compute_hash({"spec": t["spec"], "metadata": t["metadata"]}, None)
    assert h != compute_hash(t, 1)
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_template_equality_ignores_hash_label_and_empty_maps() -> None:
    a = {"metadata": {"labels": {"app": "web", "pod-template-hash": "abc"}, "annotations": {}}, "spec": {}}
    b = {"metadata": {"labels": {"app": "web"}}, "spec": {}}
    assert equal_ignore_hash(a, b)
    d = deploy()
    d["spec"]["template"] = b
    older = {**rs("x", 1, created=0), "spec": {"template": a}}
    assert find_new_rs(d, [older]) is older


def test_progressing_conditions_tell_the_story() -> None:
    d = deploy(2, progressDeadlineSeconds=600)
    new = rs("new", 2, 1)
    s = progress.rollout_status(d, [new], new, NOW)
    prog = next(c for c in s["conditions"] if c["type"] == "Progressing")
    assert prog["reason"] == "ReplicaSetUpdated" and prog["message"] == 'ReplicaSet "new" is progressing.'
    d["status"] = s
    done = rs("new", 2, 2)
    s2 = progress.rollout_status(d, [done], done, NOW + 5)
    prog2 = next(c for c in s2["conditions"] if c["type"] == "Progressing")
    assert prog2["reason"] == "NewReplicaSetAvailable"
    assert next(c for c in s2["conditions"] if c["type"] == "Available")["reason"] == "MinimumReplicasAvailable"


def test_progress_deadline_exceeded() -> None:
    d = deploy(2, progressDeadlineSeconds=10)
    stuck = rs("new", 2, 0)
    d["status"] = progress.rollout_status(d, [stuck], stuck, NOW)
    d["status"]["conditions"] = [c for c in d["status"]["conditions"] if c["type"] != "Progressing"] + [
        {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated", "message": "",
         "lastUpdateTime": progress.fmt_time(NOW), "lastTransitionTime": progress.fmt_time(NOW)}]
    assert progress.requeue_after(d, d["status"], NOW) == 11
    s = progress.rollout_status(d, [stuck], stuck, NOW + 20)
    prog = next(c for c in s["conditions"] if c["type"] == "Progressing")
    assert (prog["status"], prog["reason"]) == ("False", "ProgressDeadlineExceeded")


def test_pause_and_resume_conditions() -> None:
    d = deploy(2, paused=True, progressDeadlineSeconds=600)
    s = progress.paused_condition(d, NOW)
    assert s is not None and s["conditions"][0]["reason"] == "DeploymentPaused"
    d["status"] = s
    assert progress.paused_condition(d, NOW) is None
    d["spec"]["paused"] = False
    s2 = progress.paused_condition(d, NOW)
    assert s2 is not None and s2["conditions"][0]["reason"] == "DeploymentResumed"
