"""Priority: class resolution, the global default, system classes, and refusals."""

from __future__ import annotations

from typing import Any

import pytest
from admission_helpers import Api, ApiFactory, pod

from kybernetes.apiserver.admission.plugins import Priority
from kybernetes.apiserver.admission.plugins.priority import default_class, resolve

NS = "/api/v1/namespaces/default"
PCS = "/apis/scheduling.k8s.io/v1/priorityclasses"


def pc(name: str, value: int, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name},
            "value": value, **extra}


@pytest.fixture
async def api(make_api: ApiFactory) -> Api:
    return await make_api([Priority()])


async def test_named_class_sets_priority_and_policy(api: Api) -> None:
    await api.ok("POST", PCS, pc("high", 1000, preemptionPolicy="Never"))
    got = await api.ok("POST", f"{NS}/pods", pod("p", priorityClassName="high"))
    assert got["spec"]["priority"] == 1000 and got["spec"]["preemptionPolicy"] == "Never"


async def test_no_class_gives_zero(api: Api) -> None:
    got = await api.ok("POST", f"{NS}/pods", pod("p"))
    assert got["spec"]["priority"] == 0 and got["spec"]["preemptionPolicy"] == "PreemptLowerPriority"
    assert "priorityClassName" not in got["spec"]


async def test_global_default_applies(api: Api) -> None:
    await api.ok("POST", PCS, pc("normal", 100, globalDefault=True))
    got = await api.ok("POST", f"{NS}/pods", pod("p"))
    assert got["spec"]["priority"] == 100 and got["spec"]["priorityClassName"] == "normal"
    code, st = await api.req("POST", PCS, pc("other", 5, globalDefault=True))
    assert code == 403 and st["message"] == (
        'priorityclasses.scheduling.k8s.io "other" is forbidden: PriorityClass normal is already marked as default. '
        "Only one default can exist")
    assert st["details"] == {"name": "other", "group": "scheduling.k8s.io", "kind": "priorityclasses"}


@pytest.mark.parametrize(("spec", "message"), [
    ({"priorityClassName": "nope"}, 'pods "p" is forbidden: no PriorityClass with name nope was found'),
    ({"priorityClassName": "high", "priority": 5},
     'pods "p" is forbidden: the integer value of priority (5) must not be provided in pod spec; '
     "priority admission controller computed 1000 from the given PriorityClass name"),
    ({"priorityClassName": "high", "preemptionPolicy": "Never"},
     'pods "p" is forbidden: the string value of PreemptionPolicy (Never) must not be provided in pod spec; '
     "priority admission controller computed PreemptLowerPriority from the given PriorityClass name"),
], ids=["unknown-class", "priority-given", "policy-given"])
async def test_refusals(api: Api, spec: dict[str, Any], message: str) -> None:
    await api.ok("POST", PCS, pc("high", 1000))
    code, st = await api.req("POST", f"{NS}/pods", pod("p", **spec))
    assert code == 403 and st["message"] == message


async def test_bootstrap_creates_system_classes(api: Api) -> None:
    plugin = api.server.admission.plugins[0]
    assert isinstance(plugin, Priority)
    await plugin.bootstrap(api.ctx)
    await plugin.bootstrap(api.ctx)  # idempotent
    node = await api.ok("GET", f"{PCS}/system-node-critical")
    cluster = await api.ok("GET", f"{PCS}/system-cluster-critical")
    assert (node["value"], cluster["value"]) == (2000001000, 2000000000)
    got = await api.ok("POST", "/api/v1/namespaces/kube-system/pods", pod("p", priorityClassName="system-node-critical"))
    assert got["spec"]["priority"] == 2000001000


def test_lowest_global_default_wins() -> None:
    classes = [pc("a", 10, globalDefault=True), pc("b", 5, globalDefault=True), pc("c", 1)]
    chosen = default_class(classes)
    assert chosen is not None and chosen["metadata"]["name"] == "b"
    assert resolve({}, {c["metadata"]["name"]: c for c in classes}) == ("b", 5, "PreemptLowerPriority")
