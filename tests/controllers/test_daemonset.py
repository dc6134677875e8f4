"""DaemonSet decisions: node eligibility with automatic tolerations, the per-node plan, rolling
update steps, status counts and revision history."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.controllers.daemonset.history import (
    FailedPodBackoff,
    history_plan,
    new_revision,
    pods_to_relabel,
    revision_data,
    revisions_to_delete,
)
from kybernetes.controllers.daemonset.placement import (
    calculate_status,
    daemon_tolerations,
    max_surge_unavailable,
    new_pod,
    node_plan,
    node_should_run,
    pods_by_node,
    rolling_plan,
    target_node,
)

Obj = dict[str, Any]
OLD = "2026-01-01T00:00:00Z"
NOW = 1767225600.0 + 86400  # a day after OLD


def ds(spec: Obj | None = None, *, strategy: Obj | None = None, min_ready: int = 0, generation: int = 2) -> Obj:
    return {"metadata": {"name": "agent", "namespace": "default", "uid": "ds-uid", "generation": generation},
            "spec": {"selector": {"matchLabels": {"app": "agent"}}, "minReadySeconds": min_ready,
                     "updateStrategy": strategy or {"type": "RollingUpdate",
                                                    "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
                     "template": {"metadata": {"labels": {"app": "agent"}},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}], **(spec or {})}}}}


def node(name: str, labels: Obj | None = None, taints: list[Obj] | None = None) -> Obj:
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints or []}}


def pod(name: str, node_name: str | None, *, hash_: str = "new", phase: str = "Running", ready: bool = True,
        deleting: bool = False, created: str = OLD, scheduled: bool = True) -> Obj:
    p: Obj = {"metadata": {"name": name, "uid": name, "creationTimestamp": created,
                           "labels": {"app": "agent", "controller-revision-hash": hash_}},
              "spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                  "nodeSelectorTerms": [{"matchFields": [
                      {"key": "metadata.name", "operator": "In", "values": [node_name]}]}]}}}},
              "status": {"phase": phase, "conditions": [
                  {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": OLD}]}}
    if scheduled and node_name:
        p["spec"]["nodeName"] = node_name
    if deleting:
        p["metadata"]["deletionTimestamp"] = OLD
    return p


def taint(key: str, effect: str, value: str = "") -> Obj:
    return {"key": key, "value": value, "effect": effect}


# --- eligibility ----------------------------------------------------------------------------------

ELIGIBILITY = [
    ("plain node", {}, node("n"), (True, True)),
    ("nodeSelector matches", {"nodeSelector": {"role": "edge"}}, node("n", {"role": "edge"}), (True, True)),
    ("nodeSelector misses", {"nodeSelector": {"role": "edge"}}, node("n", {"role": "core"}), (False, False)),
    ("required affinity misses",
     {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
         {"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}]}}}}, node("n"), (False, False)),
    ("required affinity by name",
     {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
         {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n"]}]}]}}}}, node("n"),
     (True, True)),
    ("spec.nodeName elsewhere", {"nodeName": "other"}, node("n"), (False, False)),
    ("untolerated NoSchedule: keep running", {}, node("n", taints=[taint("dedicated", "NoSchedule")]),
     (False, True)),
    ("untolerated NoExecute: evict", {}, node("n", taints=[taint("dedicated", "NoExecute")]), (False, False)),
    ("PreferNoSchedule ignored", {}, node("n", taints=[taint("dedicated", "PreferNoSchedule")]), (True, True)),
    ("tolerated by the template", {"tolerations": [{"key": "dedicated", "operator": "Exists"}]},
     node("n", taints=[taint("dedicated", "NoExecute")]), (True, True)),
    ("not-ready tolerated automatically", {}, node("n", taints=[taint("node.kubernetes.io/not-ready", "NoExecute")]),
     (True, True)),
    ("unreachable tolerated automatically", {},
     node("n", taints=[taint("node.kubernetes.io/unreachable", "NoExecute")]), (True, True)),
    ("unschedulable tolerated automatically", {},
     node("n", taints=[taint("node.kubernetes.io/unschedulable", "NoSchedule")]), (True, True)),
    ("disk pressure tolerated automatically", {},
     node("n", taints=[taint("node.kubernetes.io/disk-pressure", "NoSchedule")]), (True, True)),
    ("network-unavailable not tolerated without hostNetwork", {},
     node("n", taints=[taint("node.kubernetes.io/network-unavailable", "NoSchedule")]), (False, True)),
    ("network-unavailable tolerated with hostNetwork", {"hostNetwork": True},
     node("n", taints=[taint("node.kubernetes.io/network-unavailable", "NoSchedule")]), (True, True)),
]


@pytest.mark.parametrize(("spec", "n", "want"), [c[1:] for c in ELIGIBILITY], ids=[c[0] for c in ELIGIBILITY])
def test_node_should_run(spec: Obj, n: Obj, want: tuple[bool, bool]) -> None:
    assert node_should_run(n, ds(spec)) == want


def test_automatic_tolerations_have_no_seconds_and_replace_same_key() -> None:
    tols = daemon_tolerations({"tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                                                "effect": "NoExecute", "tolerationSeconds": 300}]})
    not_ready = [t for t in tols if t["key"] == "node.kubernetes.io/not-ready"]
    assert not_ready == [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}]
    assert len(tols) == 6
    assert len(daemon_tolerations({"hostNetwork": True})) == 7


def test_new_pod_is_pinned_by_affinity_and_labelled() -> None:
    p = new_pod(ds({"affinity": {"podAntiAffinity": {"x": 1}}}), "n1", "h1")
    assert p["metadata"]["generateName"] == "agent-"
    assert p["metadata"]["labels"] == {"app": "agent", "controller-revision-hash": "h1"}
    assert p["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"
    assert "nodeName" not in p["spec"]
    assert p["spec"]["affinity"]["podAntiAffinity"] == {"x": 1}
    assert target_node(p) == "n1"
    assert len(p["spec"]["tolerations"]) == 6


# --- per node -------------------------------------------------------------------------------------

def names(pods: list[Obj]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


PLANS = [
    ("should run, none: create", True, True, [], False, (True, [], [])),
    ("should run, one: nothing", True, True, [pod("a", "n")], False, (False, [], [])),
    ("deleting pod still counts as there", True, True, [pod("a", "n", deleting=True)], False, (False, [], [])),
    ("two running: keep the oldest", True, True,
     [pod("b", "n", created="2026-01-02T00:00:00Z"), pod("a", "n")], False, (False, ["b"], [])),
    ("two running, unscheduled one goes", True, True,
     [pod("a", "n", scheduled=False), pod("b", "n", created="2026-01-02T00:00:00Z")], False, (False, ["a"], [])),
    ("surge: one new and one old stay", True, True,
     [pod("a", "n", hash_="old"), pod("b", "n"), pod("c", "n", created="2026-01-02T00:00:00Z")], True,
     (False, ["c"], [])),
    ("failed pod is reported for backoff", True, True, [pod("a", "n", phase="Failed")], False, (False, [], ["a"])),
    ("succeeded pod is deleted", True, True, [pod("a", "n", phase="Succeeded")], False, (False, ["a"], [])),
    ("should not run, none: nothing", False, False, [], False, (False, [], [])),
    ("must not continue: delete all live", False, False, [pod("a", "n"), pod("b", "n", deleting=True)], False,
     (False, ["a"], [])),
    ("may continue but should not run: keep", False, True, [pod("a", "n")], False, (False, [], [])),
]


@pytest.mark.parametrize(("run", "cont", "pods", "surge", "want"), [c[1:] for c in PLANS], ids=[c[0] for c in PLANS])
def test_node_plan(run: bool, cont: bool, pods: list[Obj], surge: bool,
                   want: tuple[bool, list[str], list[str]]) -> None:
    d = node_plan(run, cont, pods, "new", surge=surge)
    assert (d.create, names(d.delete), names(d.failed)) == want


def test_pods_by_node_uses_affinity_for_unscheduled_and_drops_finished_deleting() -> None:
    by = pods_by_node([pod("a", "n1", scheduled=False), pod("b", "n2"),
                       pod("c", "n2", phase="Failed", deleting=True)])
    assert {k: names(v) for k, v in by.items()} == {"n1": ["a"], "n2": ["b"]}


# --- rolling update -------------------------------------------------------------------------------

def rolling(max_unavailable: Any = 1, max_surge: Any = 0) -> Obj:
    return {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": max_unavailable, "maxSurge": max_surge}}


SCALED = [
    ("ints", rolling(2, 0), 5, (0, 2)),
    ("percent rounds up", rolling("10%", 0), 5, (0, 1)),
    ("surge percent", rolling(0, "50%"), 5, (3, 0)),
    ("both zero becomes one unavailable", rolling(0, 0), 3, (0, 1)),
    ("OnDelete", {"type": "OnDelete"}, 3, (0, 0)),
]


@pytest.mark.parametrize(("strategy", "desired", "want"), [c[1:] for c in SCALED], ids=[c[0] for c in SCALED])
def test_max_surge_unavailable(strategy: Obj, desired: int, want: tuple[int, int]) -> None:
    assert max_surge_unavailable(ds(strategy=strategy), desired) == want


ROLLING = [
    ("one old pod at a time", rolling(1), {"n1": [pod("a", "n1", hash_="old")], "n2": [pod("b", "n2", hash_="old")]},
     (["a"], [])),
    ("two at a time", rolling(2), {"n1": [pod("a", "n1", hash_="old")], "n2": [pod("b", "n2", hash_="old")]},
     (["a", "b"], [])),
    ("a node without pod uses the budget", rolling(1), {"n2": [pod("b", "n2", hash_="old")]}, ([], [])),
    ("unready new pod uses the budget", rolling(1),
     {"n1": [pod("a", "n1", ready=False)], "n2": [pod("b", "n2", hash_="old")]}, ([], [])),
    ("unavailable old pod goes regardless", rolling(1),
     {"n1": [pod("a", "n1", ready=False)], "n2": [pod("b", "n2", hash_="old", ready=False)]}, (["b"], [])),
    ("all updated: nothing", rolling(1), {"n1": [pod("a", "n1")], "n2": [pod("b", "n2")]}, ([], [])),
    ("surge one node", rolling(0, 1), {"n1": [pod("a", "n1", hash_="old")], "n2": [pod("b", "n2", hash_="old")]},
     ([], ["n1"])),
    ("surge: new not ready waits", rolling(0, 1),
     {"n1": [pod("a", "n1", hash_="old"), pod("c", "n1", ready=False)], "n2": [pod("b", "n2", hash_="old")]},
     ([], [])),
    ("surge: new ready, old goes and next surges", rolling(0, 1),
     {"n1": [pod("a", "n1", hash_="old"), pod("c", "n1")], "n2": [pod("b", "n2", hash_="old")]},
     (["a"], ["n2"])),
    ("surge: unavailable old gets a new pod at once", rolling(0, 1),
     {"n1": [pod("a", "n1", hash_="old"), pod("c", "n1", ready=False)],
      "n2": [pod("b", "n2", hash_="old", ready=False)]}, ([], ["n2"])),
]


@pytest.mark.parametrize(("strategy", "by_node", "want"), [c[1:] for c in ROLLING], ids=[c[0] for c in ROLLING])
def test_rolling_plan(strategy: Obj, by_node: dict[str, list[Obj]], want: tuple[list[str], list[str]]) -> None:
    plan = rolling_plan(ds(strategy=strategy), ["n1", "n2"], by_node, "new", NOW)
    assert (names(plan.delete), plan.create_on) == want


# --- status ---------------------------------------------------------------------------------------

def test_status_counts() -> None:
    d = ds({"nodeSelector": {"run": "yes"}}, min_ready=60)
    nodes = [node("n1", {"run": "yes"}), node("n2", {"run": "yes"}), node("n3", {"run": "yes"}), node("n4")]
    pods = [pod("a", "n1"), pod("b", "n2", hash_="old", ready=False), pod("x", "n4")]
    import datetime as dt
    recent = dt.datetime.fromtimestamp(NOW - 10, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    pods.append(pod("c", "n3"))
    pods[-1]["status"]["conditions"][0]["lastTransitionTime"] = recent
    st = calculate_status(d, nodes, pods_by_node(pods), "new", NOW, observe_generation=True)
    assert st == {"currentNumberScheduled": 3, "numberMisscheduled": 1, "desiredNumberScheduled": 3,
                  "numberReady": 2, "updatedNumberScheduled": 2, "numberAvailable": 1, "numberUnavailable": 2,
                  "observedGeneration": 2}
    st = calculate_status(d, nodes, {}, "new", NOW, observe_generation=False)
    assert st["observedGeneration"] == 0 and st["numberUnavailable"] == 3


# --- history --------------------------------------------------------------------------------------

def rev(hash_: str, number: int, template_image: str) -> Obj:
    d = ds()
    d["spec"]["template"]["spec"]["containers"][0]["image"] = template_image
    return new_revision(d, hash_, number)


def test_revision_shape() -> None:
    r = new_revision(ds(), "h1", 3)
    assert r["metadata"]["name"] == "agent-h1"
    assert r["metadata"]["labels"] == {"app": "agent", "controller-revision-hash": "h1"}
    assert r["revision"] == 3
    assert r["data"]["spec"]["template"]["$patch"] == "replace"
    assert revision_data(ds())["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox"


HISTORY = [
    ("no revisions: create 1", [], None, None, 1),
    ("current is newest", [rev("a", 1, "old"), rev("b", 2, "busybox")], "b", None, 3),
    ("rollback renumbers", [rev("b", 1, "busybox"), rev("a", 2, "old")], "b", 3, 3),
    ("changed template: create next", [rev("a", 1, "old"), rev("c", 4, "other")], None, None, 5),
    ("duplicates: highest number kept", [rev("d1", 3, "busybox"), rev("a", 1, "old"), rev("d2", 2, "busybox")],
     "d1", None, 4),
    ("duplicates: renumbered above old", [rev("d1", 1, "busybox"), rev("a", 2, "old"), rev("d2", 1, "busybox")],
     "d2", 3, 3),
    ("current ties an old number: renumbered", [rev("a", 2, "old"), rev("b", 2, "busybox")], "b", 3, 3),
]


@pytest.mark.parametrize(("revs", "current", "renumber", "create"), [c[1:] for c in HISTORY],
                         ids=[c[0] for c in HISTORY])
def test_history_plan(revs: list[Obj], current: str | None, renumber: int | None, create: int) -> None:
    plan = history_plan(ds(), revs)
    got = plan.current["metadata"]["labels"]["controller-revision-hash"] if plan.current else None
    assert (got, plan.renumber_to, plan.create_number) == (current, renumber, create)
    assert len(plan.old) + len(plan.duplicates) == len(revs) - (1 if current else 0)
    assert all(r["data"] == plan.current["data"] for r in plan.duplicates) if plan.current else not plan.duplicates
    assert not any(r["data"] == revision_data(ds()) for r in plan.old)


def test_pods_to_relabel_only_the_duplicates_live_pods() -> None:
    dups = [rev("d2", 2, "busybox"), rev("d3", 1, "busybox")]
    pods = [pod("a", "n1", hash_="d1"), pod("b", "n2", hash_="d2"), pod("c", "n3", hash_="old"),
            pod("d", "n4", hash_="d3"), pod("e", "n5", hash_="d2", deleting=True)]
    assert [p["metadata"]["name"] for p in pods_to_relabel(pods, dups)] == ["b", "d"]


def test_revisions_to_delete_keeps_limit_and_live() -> None:
    d = ds()
    d["spec"]["revisionHistoryLimit"] = 1
    old = [rev("a", 1, "x"), rev("b", 2, "y"), rev("c", 3, "z")]
    assert [r["revision"] for r in revisions_to_delete(d, old, {"a"})] == [2, 3]
    assert [r["revision"] for r in revisions_to_delete(d, old, set())] == [1, 2]


def test_failed_pod_backoff_doubles_and_caps() -> None:
    b = FailedPodBackoff(1.0, 4.0)
    k = ("ns/ds", "n1")
    assert b.in_backoff(k, 0.0) is None
    b.next(k, 0.0)
    assert b.in_backoff(k, 0.5) == 0.5
    assert b.in_backoff(k, 1.5) is None
    for t in (2.0, 3.0, 4.0, 5.0):
        b.next(k, t)
    assert b.in_backoff(k, 5.0) == 4.0
    b.next(k, 100.0)  # idle beyond twice the maximum: start over
    assert b.in_backoff(k, 100.0) == 1.0


# --- duplicate revisions, through the controller --------------------------------------------------

class RecordingClient:
    """Just enough of APIClient for `_ensure_revision`: records writes, patches labels in place."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    async def patch(self, res: Any, name: str, body: Obj, *, namespace: str = "", patch_type: str = "") -> Obj:
        self.calls.append(("patch", res.plural, name))
        return {"metadata": {"name": name, "labels": dict(body["metadata"]["labels"]), "patched": True}}

    async def delete(self, res: Any, name: str, *, namespace: str = "", preconditions: Obj | None = None) -> Obj:
        self.calls.append(("delete", res.plural, name))
        return {}

    async def update(self, res: Any, body: Obj, *, namespace: str = "") -> Obj:
        self.calls.append(("update", res.plural, f"{body['metadata']['name']}@{body['revision']}"))
        return body


async def test_duplicate_current_revisions_are_removed_and_their_pods_relabelled() -> None:
    from typing import cast

    from kybernetes.client import APIClient, EventRecorder, Informer
    from kybernetes.client.store import NAMESPACE_INDEX, index_by_namespace, index_by_owner_uid
    from kybernetes.controllers.daemonset.controller import (
        DAEMONSETS,
        NODES,
        PODS,
        REVISIONS,
        DaemonSetController,
    )
    from kybernetes.controllers.replicaset import OWNER_INDEX

    client = RecordingClient()
    api = cast(APIClient, client)
    idx = {NAMESPACE_INDEX: index_by_namespace, OWNER_INDEX: index_by_owner_uid}
    revisions = Informer(api, REVISIONS, indexers=idx)
    ctl = DaemonSetController(api, Informer(api, PODS, indexers=idx), Informer(api, NODES),
                              Informer(api, DAEMONSETS, indexers={NAMESPACE_INDEX: index_by_namespace}), revisions,
                              cast(EventRecorder, None))
    for r, uid in ((rev("keep", 2, "busybox"), "u-keep"), (rev("dup", 1, "busybox"), "u-dup"),
                   (rev("old", 3, "old"), "u-old")):
        r["metadata"]["uid"] = uid
        revisions.store.upsert(r)
    pods = [pod("a", "n1", hash_="keep"), pod("b", "n2", hash_="dup"), pod("c", "n3", hash_="old")]
    for p in pods:
        p["metadata"]["namespace"] = "default"
        p["metadata"]["ownerReferences"] = [{"kind": "DaemonSet", "uid": "ds-uid", "controller": True}]
    hash_ = await ctl._ensure_revision(ds(), pods)
    assert hash_ == "keep"
    # The duplicate's pod is relabelled before the duplicate goes; the kept revision is renumbered
    # above the old template's (3); the old template's pod keeps its hash.
    assert client.calls == [("patch", "pods", "b"), ("delete", "controllerrevisions", "agent-dup"),
                            ("update", "controllerrevisions", "agent-keep@4")]
    assert [p["metadata"]["labels"]["controller-revision-hash"] for p in pods] == ["keep", "keep", "old"]
    assert pods[1]["metadata"].get("patched") is True
