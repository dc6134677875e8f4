"""ResourceQuota: usage evaluation (pure), refusals with upstream's texts, charging and
releasing status.used, scopes, dry-run, and concurrent creates that must not overshoot."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from admission_helpers import Api, ApiFactory, container, pod

from kybernetes.apiserver.admission.plugins import ResourceQuota
from kybernetes.apiserver.admission.plugins import quota_usage as qu
from kybernetes.apiserver.admission.plugins._common import render_list

NS = "/api/v1/namespaces/default"


def quota(name: str, hard: dict[str, str], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name}, "spec": {"hard": hard, **spec}}


@pytest.fixture
async def api(make_api: ApiFactory) -> Api:
    return await make_api([ResourceQuota()])


async def used(api: Api, name: str) -> dict[str, str]:
    got = await api.ok("GET", f"{NS}/resourcequotas/{name}")
    return dict(got["status"]["used"])


@pytest.mark.parametrize(("group", "plural", "obj", "want"), [
    ("", "pods", pod("p", container(requests={"cpu": "100m", "memory": "64Mi"}, limits={"memory": "128Mi"})),
     {"count/pods": "1", "pods": "1", "cpu": "100m", "requests.cpu": "100m", "memory": "64Mi",
      "requests.memory": "64Mi", "limits.memory": "128Mi"}),
    ("", "pods", {**pod("done"), "status": {"phase": "Succeeded"}}, {"count/pods": "1"}),
    ("", "services", {"spec": {"type": "NodePort", "ports": [{"port": 1}, {"port": 2}]}},
     {"count/services": "1", "services": "1", "services.loadbalancers": "0", "services.nodeports": "2"}),
    ("", "persistentvolumeclaims", {"spec": {"storageClassName": "fast", "resources": {"requests": {"storage": "1Gi"}}}},
     {"persistentvolumeclaims": "1", "count/persistentvolumeclaims": "1", "requests.storage": "1Gi",
      "fast.storageclass.storage.k8s.io/persistentvolumeclaims": "1",
      "fast.storageclass.storage.k8s.io/requests.storage": "1Gi"}),
    ("", "configmaps", {}, {"count/configmaps": "1", "configmaps": "1"}),
    ("apps", "deployments", {}, {"count/deployments.apps": "1"}),
], ids=["pod", "terminal-pod", "nodeport-service", "claim", "configmap", "deployment"])
def test_usage(group: str, plural: str, obj: dict[str, Any], want: dict[str, str]) -> None:
    assert render_list(qu.usage(group, plural, obj)) == dict(sorted(want.items()))


@pytest.mark.parametrize(("scopes", "spec", "matches"), [
    ([("BestEffort", "Exists", [])], {"containers": [{"name": "c"}]}, True),
    ([("BestEffort", "Exists", [])], {"containers": [container(requests={"cpu": "1"})]}, False),
    ([("NotBestEffort", "Exists", [])], {"containers": [container(requests={"cpu": "1"})]}, True),
    ([("Terminating", "Exists", [])], {"activeDeadlineSeconds": 5, "containers": []}, True),
    ([("NotTerminating", "Exists", [])], {"activeDeadlineSeconds": 5, "containers": []}, False),
    ([("PriorityClass", "In", ["high"])], {"priorityClassName": "high", "containers": []}, True),
    ([("PriorityClass", "NotIn", ["high"])], {"priorityClassName": "high", "containers": []}, False),
    ([("PriorityClass", "Exists", [])], {"containers": []}, False),
], ids=["besteffort", "besteffort-no", "notbesteffort", "terminating", "notterminating", "pc-in", "pc-notin",
        "pc-exists-none"])
def test_scopes(scopes: list[tuple[str, str, list[str]]], spec: dict[str, Any], matches: bool) -> None:
    p = {"metadata": {"name": "p"}, "spec": spec}
    assert all(qu.pod_matches_scope(s, op, v, p) for s, op, v in scopes) is matches


async def test_initial_status_and_pod_count_refusal(api: Api) -> None:
    await api.ok("POST", f"{NS}/pods", pod("before"))
    got = await api.ok("POST", f"{NS}/resourcequotas", quota("q", {"pods": "2"}))
    assert got["status"] == {"hard": {"pods": "2"}, "used": {"pods": "1"}}
    await api.ok("POST", f"{NS}/pods", pod("p1"))
    assert await used(api, "q") == {"pods": "2"}
    code, st = await api.req("POST", f"{NS}/pods", pod("p2"))
    assert code == 403 and st["reason"] == "Forbidden"
    assert st["message"] == 'pods "p2" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2'
    assert st["details"] == {"name": "p2", "kind": "pods"}


async def test_compute_resources_and_constraints(api: Api) -> None:
    await api.ok("POST", f"{NS}/resourcequotas", quota("compute", {"requests.cpu": "1", "limits.memory": "1Gi"}))
    code, st = await api.req("POST", f"{NS}/pods", pod("p", container("a", requests={"cpu": "100m"})))
    assert code == 403
    assert st["message"] == 'pods "p" is forbidden: failed quota: compute: must specify limits.memory for: a'
    ok = pod("p", container("a", requests={"cpu": "600m"}, limits={"memory": "512Mi"}))
    await api.ok("POST", f"{NS}/pods", ok)
    assert await used(api, "compute") == {"limits.memory": "512Mi", "requests.cpu": "600m"}
    code, st = await api.req("POST", f"{NS}/pods",
                             pod("q", container("a", requests={"cpu": "500m"}, limits={"memory": "768Mi"})))
    assert code == 403 and st["message"] == (
        'pods "q" is forbidden: exceeded quota: compute, requested: limits.memory=768Mi,requests.cpu=500m, '
        "used: limits.memory=512Mi,requests.cpu=600m, limited: limits.memory=1Gi,requests.cpu=1")


async def test_object_counts_and_release_on_delete(api: Api) -> None:
    await api.ok("POST", f"{NS}/resourcequotas", quota("objects", {
        "configmaps": "1", "count/secrets": "5", "services.nodeports": "1", "resourcequotas": "2"}))
    assert await used(api, "objects") == {"configmaps": "0", "count/secrets": "0", "resourcequotas": "1",
                                          "services.nodeports": "0"}
    await api.ok("POST", f"{NS}/configmaps", {"metadata": {"name": "a"}, "data": {}})
    code, st = await api.req("POST", f"{NS}/configmaps", {"metadata": {"name": "b"}, "data": {}})
    assert code == 403 and st["message"] == (
        'configmaps "b" is forbidden: exceeded quota: objects, requested: configmaps=1, used: configmaps=1, '
        "limited: configmaps=1")
    await api.ok("DELETE", f"{NS}/configmaps/a")
    assert (await used(api, "objects"))["configmaps"] == "0"
    await api.ok("POST", f"{NS}/configmaps", {"metadata": {"name": "b"}, "data": {}})
    svc = {"metadata": {"name": "np"}, "spec": {"type": "NodePort", "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}]}}
    code, st = await api.req("POST", f"{NS}/services", svc)
    assert code == 403 and "requested: services.nodeports=2, used: services.nodeports=0" in st["message"]


async def test_scoped_quota_counts_only_matching_pods(api: Api) -> None:
    await api.ok("POST", f"{NS}/resourcequotas", quota("be", {"pods": "1"}, scopes=["BestEffort"]))
    await api.ok("POST", f"{NS}/pods", pod("besteffort"))
    await api.ok("POST", f"{NS}/pods", pod("burstable", container(requests={"cpu": "1"})))
    assert await used(api, "be") == {"pods": "1"}
    code, _ = await api.req("POST", f"{NS}/pods", pod("another"))
    assert code == 403


async def test_dry_run_is_not_charged(api: Api) -> None:
    await api.ok("POST", f"{NS}/resourcequotas", quota("q", {"pods": "1"}))
    code, _ = await api.req("POST", f"{NS}/pods?dryRun=All", pod("p"))
    assert code == 201
    assert await used(api, "q") == {"pods": "0"}


async def test_quota_spec_change_recomputes_status(api: Api) -> None:
    await api.ok("POST", f"{NS}/resourcequotas", quota("q", {"pods": "1"}))
    await api.ok("POST", f"{NS}/pods", pod("p"))
    q = await api.ok("GET", f"{NS}/resourcequotas/q")
    q["spec"]["hard"] = {"pods": "3", "count/configmaps": "4"}
    got = await api.ok("PUT", f"{NS}/resourcequotas/q", q)
    assert got["status"] == {"hard": {"count/configmaps": "4", "pods": "3"},
                             "used": {"count/configmaps": "0", "pods": "1"}}


async def test_concurrent_creates_never_overshoot(api: Api) -> None:
    await api.ok("POST", f"{NS}/resourcequotas", quota("q", {"pods": "5"}))
    results = await asyncio.gather(*(api.req("POST", f"{NS}/pods", pod(f"p{i}")) for i in range(20)))
    codes = sorted(code for code, _ in results)
    assert codes.count(201) == 5 and codes.count(403) == 15
    assert await used(api, "q") == {"pods": "5"}
    code, lst = await api.req("GET", f"{NS}/pods")
    assert code == 200 and len(lst["items"]) == 5


async def test_recalculate_helper(api: Api) -> None:
    plugin = api.server.admission.plugins[0]
    assert isinstance(plugin, ResourceQuota)
    await api.ok("POST", f"{NS}/resourcequotas", quota("q", {"count/configmaps": "9"}))
    for i in range(3):
        await api.ok("POST", f"{NS}/configmaps", {"metadata": {"name": f"c{i}"}, "data": {}})
    q = await api.ok("GET", f"{NS}/resourcequotas/q")
    q["status"]["used"] = {"count/configmaps": "0"}  # someone wrote a wrong status
    await api.ok("PUT", f"{NS}/resourcequotas/q/status", q)
    await plugin.recalculate(api.ctx, "default")
    assert await used(api, "q") == {"count/configmaps": "3"}
