"""EndpointSlice decisions: endpoint conditions, grouping, packing into slices, mirroring."""

from __future__ import annotations

from typing import Any

from endpoint_objects import pod, svc

from kybernetes.controllers import endpointslice as esc
from kybernetes.controllers import endpointslicemirroring as mir

Obj = dict[str, Any]


def eps_of(plan_slices: list[Obj]) -> list[str]:
    return sorted(e["addresses"][0] for s in plan_slices for e in s["endpoints"])


def test_conditions() -> None:
    s = svc()
    assert esc.slice_endpoint(s, pod("a"), "10.42.0.1", {})["conditions"] == \
        {"ready": True, "serving": True, "terminating": False}
    assert esc.slice_endpoint(s, pod("a", ready=False), "10.42.0.1", {})["conditions"] == \
        {"ready": False, "serving": False, "terminating": False}
    assert esc.slice_endpoint(s, pod("a", deleting=True), "10.42.0.1", {"n1": "z1"})["conditions"] == \
        {"ready": False, "serving": True, "terminating": True}
    assert esc.slice_endpoint(svc(publish=True), pod("a", ready=False, deleting=True), "10.42.0.1", {})["conditions"] \
        == {"ready": True, "serving": True, "terminating": True}
    assert esc.slice_endpoint(s, pod("a"), "10.42.0.1", {"n1": "z1"})["zone"] == "z1"


def test_groups_keep_terminating_and_split_by_ports() -> None:
    groups = esc.desired_groups(svc(), [pod("a"), pod("b", "10.42.0.2", port=9090, deleting=True)], {})
    assert sorted((k[0], k[1][0][1], len(v[1])) for k, v in groups.items()) == [("IPv4", 8080, 1), ("IPv4", 9090, 1)]


def test_dual_stack_address_types() -> None:
    s = svc()
    s["spec"]["ipFamilies"] = ["IPv4", "IPv6"]
    p = pod("a")
    p["status"]["podIPs"] = [{"ip": "10.42.0.1"}, {"ip": "fd00::1"}]
    groups = esc.desired_groups(s, [p], {})
    assert sorted(k[0] for k in groups) == ["IPv4", "IPv6"]


def test_packing_at_most_100_per_slice_and_labels_owner() -> None:
    s = svc()
    pods = [pod(f"p{i}", f"10.42.{i // 250}.{i % 250 + 1}") for i in range(250)]
    plan = esc.plan_slices(esc.SliceOwner.of_service(s), [], esc.desired_groups(s, pods, {}), now="T")
    assert [len(x["endpoints"]) for x in plan.create] == [100, 100, 50]
    first = plan.create[0]
    assert first["metadata"]["labels"] == {"kubernetes.io/service-name": "web",
                                           "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}
    assert first["metadata"]["ownerReferences"][0]["kind"] == "Service"
    assert first["metadata"]["generateName"] == "web-"


def _existing(plan: esc.SlicePlan) -> list[Obj]:
    out = []
    for i, x in enumerate(plan.create):
        x = dict(x)
        x["metadata"] = {**x["metadata"], "name": f"web-{i}", "uid": f"sl{i}"}
        out.append(x)
    return out


def test_reconcile_keeps_endpoints_in_place_and_removes_gone_ones() -> None:
    s = svc()
    who = esc.SliceOwner.of_service(s)
    pods = [pod(f"p{i}", f"10.42.0.{i + 1}") for i in range(150)]
    existing = _existing(esc.plan_slices(who, [], esc.desired_groups(s, pods, {}), now="T"))
    # unchanged: nothing to do
    assert esc.plan_slices(who, existing, esc.desired_groups(s, pods, {}), now="T2").empty
    # one pod gone, one new: the new one goes into the slice being rewritten anyway
    pods2 = [*pods[1:], pod("new", "10.42.1.1")]
    plan = esc.plan_slices(who, existing, esc.desired_groups(s, pods2, {}), now="T2")
    assert not plan.create and not plan.delete and len(plan.update) == 1
    assert "10.42.1.1" in eps_of(plan.update) and "10.42.0.1" not in eps_of(plan.update)
    # a new pod with nothing being rewritten goes into the slice with room
    plan = esc.plan_slices(who, existing, esc.desired_groups(s, [*pods, pod("new", "10.42.1.1")], {}), now="T3")
    assert not plan.create and [len(u["endpoints"]) for u in plan.update] == [51]


def test_placeholder_when_no_endpoints() -> None:
    s = svc()
    who = esc.SliceOwner.of_service(s)
    plan = esc.plan_slices(who, [], {}, now="T")
    assert len(plan.create) == 1 and plan.create[0]["endpoints"] == [] and plan.create[0]["addressType"] == "IPv4"
    existing = _existing(esc.plan_slices(who, [], esc.desired_groups(s, [pod("a")], {}), now="T"))
    plan = esc.plan_slices(who, existing, {}, now="T")
    assert [x["metadata"]["name"] for x in plan.delete] == ["web-0"] and len(plan.create) == 1


def test_mirroring() -> None:
    ep = {"metadata": {"name": "ext", "namespace": "ns", "uid": "e1", "labels": {"team": "a"}},
          "subsets": [{"addresses": [{"ip": "10.9.0.1"}], "notReadyAddresses": [{"ip": "10.9.0.2"}],
                       "ports": [{"port": 8080}]}]}
    selectorless = {"metadata": {"name": "ext"}, "spec": {"ports": [{"port": 80}]}}
    assert mir.should_mirror(ep, selectorless)
    assert not mir.should_mirror(ep, svc())
    assert not mir.should_mirror({"metadata": {"labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}}},
                                 selectorless)
    plan = esc.plan_slices(mir.mirror_owner(ep), [], mir.mirror_groups(ep), now="T")
    (sl,) = plan.create
    assert sl["metadata"]["labels"] == {"team": "a", "kubernetes.io/service-name": "ext",
                                        "endpointslice.kubernetes.io/managed-by": mir.MIRROR_CONTROLLER}
    assert sl["metadata"]["ownerReferences"][0]["kind"] == "Endpoints"
    assert [(e["addresses"][0], e["conditions"]["ready"]) for e in sl["endpoints"]] == [
        ("10.9.0.1", True), ("10.9.0.2", False)]
    assert sl["ports"] == [{"name": "", "port": 8080, "protocol": "TCP"}]
    assert esc.plan_slices(mir.mirror_owner(ep), [], {}, now="T").empty  # no placeholder for mirrors
