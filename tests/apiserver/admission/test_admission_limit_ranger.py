"""LimitRanger: defaults applied to containers and init containers, min/max/ratio for containers,
pods and claims, with upstream's messages."""

from __future__ import annotations

from typing import Any

import pytest
from admission_helpers import Api, ApiFactory, container, pod

from kybernetes.apiserver.admission.plugins import LimitRanger
from kybernetes.apiserver.admission.plugins.limit_ranger import effective_item, ratio_text

NS = "/api/v1/namespaces/default"


def limit_range(name: str, *items: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": name}, "spec": {"limits": list(items)}}


@pytest.fixture
async def api(make_api: ApiFactory) -> Api:
    return await make_api([LimitRanger()])


async def test_defaults_and_annotation(api: Api) -> None:
    await api.ok("POST", f"{NS}/limitranges", limit_range("lr", {
        "type": "Container", "default": {"cpu": "500m", "memory": "256Mi"}, "defaultRequest": {"cpu": "100m"}}))
    body = pod("p", container("app"), container("side", requests={"cpu": "200m"}))
    body["spec"]["initContainers"] = [container("init")]
    got = await api.ok("POST", f"{NS}/pods", body)
    app, side = got["spec"]["containers"]
    assert app["resources"] == {"limits": {"cpu": "500m", "memory": "256Mi"},
                                "requests": {"cpu": "100m", "memory": "256Mi"}}
    assert side["resources"]["requests"] == {"cpu": "200m", "memory": "256Mi"}
    assert got["spec"]["initContainers"][0]["resources"]["limits"] == {"cpu": "500m", "memory": "256Mi"}
    assert got["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app; "
        "memory request for container side; cpu, memory limit for container side; "
        "cpu, memory request for init container init; cpu, memory limit for init container init")


async def test_no_annotation_when_nothing_set(api: Api) -> None:
    await api.ok("POST", f"{NS}/limitranges", limit_range("lr", {"type": "Container", "default": {"cpu": "1"}}))
    got = await api.ok("POST", f"{NS}/pods", pod("p", container(requests={"cpu": "1"}, limits={"cpu": "1"})))
    assert "kubernetes.io/limit-ranger" not in (got["metadata"].get("annotations") or {})


REJECTIONS = [
    pytest.param({"type": "Container", "max": {"cpu": "1"}},
                 pod("p", container(limits={"cpu": "2"})),
                 'pods "p" is forbidden: maximum cpu usage per Container is 1, but limit is 2', id="container-max"),
    pytest.param({"type": "Container", "min": {"memory": "64Mi"}},
                 pod("p", container(requests={"memory": "32Mi"})),
                 'pods "p" is forbidden: minimum memory usage per Container is 64Mi, but request is 32Mi',
                 id="container-min"),
    pytest.param({"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}},
                 pod("p", container(requests={"cpu": "100m"}, limits={"cpu": "500m"})),
                 'pods "p" is forbidden: cpu max limit to request ratio per Container is 2, but provided ratio is 5.000000',
                 id="container-ratio"),
    pytest.param({"type": "Pod", "max": {"cpu": "1"}},
                 pod("p", container("a", limits={"cpu": "600m"}), container("b", limits={"cpu": "600m"})),
                 'pods "p" is forbidden: maximum cpu usage per Pod is 1, but limit is 1200m', id="pod-max-sum"),
    pytest.param({"type": "Pod", "max": {"memory": "1Gi"}},
                 pod("p", container("a")),
                 'pods "p" is forbidden: maximum memory usage per Pod is 1Gi.  No limit is specified', id="pod-no-limit"),
    pytest.param({"type": "Container", "max": {"cpu": "1", "memory": "1Gi"}},
                 pod("p", container(limits={"cpu": "2", "memory": "2Gi"})),
                 'pods "p" is forbidden: [maximum cpu usage per Container is 1, but limit is 2, '
                 "maximum memory usage per Container is 1Gi, but limit is 2Gi]", id="aggregated"),
]


@pytest.mark.parametrize(("item", "body", "message"), REJECTIONS)
async def test_rejections(api: Api, item: dict[str, Any], body: dict[str, Any], message: str) -> None:
    await api.ok("POST", f"{NS}/limitranges", limit_range("lr", item))
    code, st = await api.req("POST", f"{NS}/pods", body)
    assert code == 403 and st["reason"] == "Forbidden" and st["message"] == message


async def test_max_defaults_the_limit(api: Api) -> None:
    # a Container max with no default: the limit defaults to the max, the request to the limit
    await api.ok("POST", f"{NS}/limitranges", limit_range("lr", {"type": "Container", "max": {"cpu": "1"}}))
    got = await api.ok("POST", f"{NS}/pods", pod("p"))
    assert got["spec"]["containers"][0]["resources"] == {"limits": {"cpu": "1"}, "requests": {"cpu": "1"}}


def claim(name: str, storage: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}}


@pytest.mark.parametrize(("storage", "message"), [
    ("10Gi", 'persistentvolumeclaims "c" is forbidden: maximum storage usage per PersistentVolumeClaim is 5Gi, '
             "but request is 10Gi"),
    ("500Mi", 'persistentvolumeclaims "c" is forbidden: minimum storage usage per PersistentVolumeClaim is 1Gi, '
              "but request is 500Mi"),
    ("2Gi", ""),
], ids=["too-big", "too-small", "fits"])
async def test_claims(api: Api, storage: str, message: str) -> None:
    await api.ok("POST", f"{NS}/limitranges", limit_range("lr", {
        "type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "5Gi"}}))
    code, st = await api.req("POST", f"{NS}/persistentvolumeclaims", claim("c", storage))
    if message:
        assert code == 403 and st["message"] == message
    else:
        assert code == 201


@pytest.mark.parametrize(("item", "want"), [
    ({"type": "Container", "max": {"cpu": "2"}},
     {"type": "Container", "max": {"cpu": "2"}, "default": {"cpu": "2"}, "defaultRequest": {"cpu": "2"}}),
    ({"type": "Container", "min": {"cpu": "1"}, "default": {"memory": "1Gi"}},
     {"type": "Container", "min": {"cpu": "1"}, "default": {"memory": "1Gi"},
      "defaultRequest": {"memory": "1Gi", "cpu": "1"}}),
    ({"type": "Pod", "max": {"cpu": "2"}}, {"type": "Pod", "max": {"cpu": "2"}}),
], ids=["max-to-default", "min-to-request", "pod-untouched"])
def test_effective_item(item: dict[str, Any], want: dict[str, Any]) -> None:
    assert effective_item(item) == want


@pytest.mark.parametrize(("num", "den", "want"), [(5, 1, "5.000000"), (1, 3, "0.333333"), (2, 3, "0.666667")])
def test_ratio_text(num: int, den: int, want: str) -> None:
    from fractions import Fraction

    assert ratio_text(Fraction(num, den)) == want
