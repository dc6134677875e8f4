"""Discovery documents: structure, Accept negotiation, and real kubectl reading them."""

from __future__ import annotations

import os
from typing import Any

import orjson
import pytest
from discovery_app import KUBECTL, KUBECTL_1_27, serve
from openapi_fixture import small_registry

from kybernetes.api.resources import GROUP_ORDER, RESOURCES
from kybernetes.apiserver import discovery

ACCEPT_132 = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
)
ACCEPT_127 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        pytest.param(ACCEPT_132, "v2", id="kubectl-1.32"),
        pytest.param(ACCEPT_127, "v2beta1", id="kubectl-1.27"),
        pytest.param("application/json", None, id="plain-json"),
        pytest.param("application/json, */*", None, id="json-any"),
        pytest.param("", None, id="no-accept"),
        pytest.param("*/*", None, id="any"),
        pytest.param(
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;q=0.5,application/json;q=0.9",
            None, id="q-prefers-legacy",
        ),
        pytest.param(
            "application/json;q=0.1, application/json; g=apidiscovery.k8s.io; v=v2; as=APIGroupDiscoveryList",
            "v2", id="q-prefers-aggregated-with-spaces",
        ),
        pytest.param("application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList,application/json",
                     None, id="unknown-version"),
        pytest.param("application/json;as=Table;v=v1;g=meta.k8s.io", None, id="other-typed-json"),
    ],
)
def test_negotiate_discovery(accept: str, expected: str | None) -> None:
    assert discovery.negotiate_discovery(accept) == expected


def _by_resource(version: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["resource"]: r for r in version["resources"]}


@pytest.mark.parametrize("version", ["v2", "v2beta1"])
def test_aggregated_core(version: str) -> None:
    doc = discovery.aggregated_discovery("api", version)  # type: ignore[arg-type]
    assert doc["kind"] == "APIGroupDiscoveryList"
    assert doc["apiVersion"] == f"apidiscovery.k8s.io/{version}"
    [item] = doc["items"]
    assert item["metadata"]["name"] == ""
    [v1] = item["versions"]
    assert v1["version"] == "v1" and v1["freshness"] == "Current"
    pods = _by_resource(v1)["pods"]
    assert pods["responseKind"] == {"group": "", "version": "v1", "kind": "Pod"}
    assert pods["scope"] == "Namespaced" and pods["singularResource"] == "pod"
    assert pods["shortNames"] == ["po"] and pods["categories"] == ["all"]
    assert "watch" in pods["verbs"]
    subs = {s["subresource"]: s for s in pods["subresources"]}
    assert subs["eviction"]["responseKind"] == {"group": "policy", "version": "v1", "kind": "Eviction"}
    assert subs["status"]["responseKind"] == {"group": "", "version": "v1", "kind": "Pod"}
    assert _by_resource(v1)["namespaces"]["scope"] == "Cluster"


def test_aggregated_groups_in_order_with_preferred_version_first() -> None:
    doc = discovery.aggregated_discovery("apis", "v2")
    names = [i["metadata"]["name"] for i in doc["items"]]
    assert names == [g for g in GROUP_ORDER if g]
    autoscaling = next(i for i in doc["items"] if i["metadata"]["name"] == "autoscaling")
    assert [v["version"] for v in autoscaling["versions"]] == ["v2", "v1"]
    apps = next(i for i in doc["items"] if i["metadata"]["name"] == "apps")
    deployments = _by_resource(apps["versions"][0])["deployments"]
    scale = next(s for s in deployments["subresources"] if s["subresource"] == "scale")
    assert scale["responseKind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}


def test_aggregated_bytes_are_the_document() -> None:
    body = discovery.aggregated_discovery_bytes("apis", "v2beta1")
    assert orjson.loads(body) == orjson.loads(orjson.dumps(discovery.aggregated_discovery("apis", "v2beta1")))
    assert discovery.discovery_etag(body) == discovery.discovery_etag(bytes(body))
    assert discovery.discovery_etag(body).startswith('"') and discovery.discovery_etag(body) != discovery.discovery_etag(b"x")
    assert discovery.AGGREGATED_CONTENT_TYPE["v2"] == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def test_legacy_documents() -> None:
    versions = discovery.api_versions("10.0.0.1:6443")
    assert versions == {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "10.0.0.1:6443"}],
    }
    groups = {g["name"]: g for g in discovery.api_group_list()["groups"]}
    assert "" not in groups
    assert groups["autoscaling"]["preferredVersion"] == {"groupVersion": "autoscaling/v2", "version": "v2"}
    assert [v["version"] for v in groups["autoscaling"]["versions"]] == ["v2", "v1"]
    apps = discovery.api_group("apps")
    assert apps is not None and apps["kind"] == "APIGroup" and apps["name"] == "apps"
    assert discovery.api_group("nope.example.com") is None
    assert discovery.api_group("") is None


def test_legacy_resource_list_has_subresources_and_eviction_for_drain() -> None:
    doc = discovery.api_resource_list("", "v1")
    assert doc is not None and doc["groupVersion"] == "v1" and doc["kind"] == "APIResourceList"
    entries = {e["name"]: e for e in doc["resources"]}
    assert entries["pods"]["shortNames"] == ["po"] and entries["pods"]["namespaced"] is True
    # kubectl drain evicts only when this entry names policy/v1 Eviction.
    assert entries["pods/eviction"] == {
        "name": "pods/eviction", "singularName": "", "namespaced": True,
        "group": "policy", "version": "v1", "kind": "Eviction", "verbs": ["create"],
    }
    assert entries["pods/status"]["kind"] == "Pod" and "group" not in entries["pods/status"]
    assert entries["pods/log"]["verbs"] == ["get"]
    apps = discovery.api_resource_list("apps", "v1")
    assert apps is not None
    scale = next(e for e in apps["resources"] if e["name"] == "deployments/scale")
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
    assert discovery.api_resource_list("apps", "v1beta1") is None


def test_version_info() -> None:
    info = discovery.version_info()
    assert (info["major"], info["minor"]) == ("1", "32")
    assert info["gitVersion"].startswith("v1.32.")
    assert info["platform"] == "linux/amd64"
    assert set(info) >= {"gitCommit", "gitTreeState", "buildDate", "goVersion", "compiler"}


# --------------------------------------------------------------------------------------------
# Real kubectl

needs_kubectl = pytest.mark.skipif(
    not (os.access(KUBECTL, os.X_OK) and os.access(KUBECTL_1_27, os.X_OK)),
    reason="real kubectl (Cloud SDK dispatcher and kubectl.1.27) not installed",
)
PORT = 18300


def _rows(out: str) -> dict[tuple[str, str], list[str]]:
    """api-resources rows keyed by (name, apiVersion)."""
    rows: dict[tuple[str, str], list[str]] = {}
    for line in out.splitlines()[1:]:
        cols = line.split()
        if len(cols) == 4:  # no short names
            cols.insert(1, "")
        rows[(cols[0], cols[2])] = cols
    return rows


@needs_kubectl
async def test_dispatcher_stays_on_embedded_132() -> None:
    async with serve(small_registry(), PORT) as app:
        rc, out, err = await app.kubectl("version")
    assert rc == 0, err
    assert "Server Version: v1.32.4-kyb" in out
    assert "exceeds the supported minor version skew" not in err
    assert app.requests[0].path == "/version"


@needs_kubectl
@pytest.mark.parametrize("aggregated", [True, False], ids=["aggregated", "legacy"])
async def test_kubectl_api_resources(aggregated: bool) -> None:
    async with serve(small_registry(), PORT, aggregated=aggregated) as app:
        rc, out, err = await app.kubectl("api-resources")
    assert rc == 0, err
    rows = _rows(out)
    assert rows[("deployments", "apps/v1")] == ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    assert rows[("pods", "v1")] == ["pods", "po", "v1", "true", "Pod"]
    assert rows[("namespaces", "v1")] == ["namespaces", "ns", "v1", "false", "Namespace"]
    assert rows[("horizontalpodautoscalers", "autoscaling/v2")][1] == "hpa"
    assert rows[("secrets", "v1")][1] == ""
    assert not any("/" in name for name, _ in rows)  # subresources are not listed
    if aggregated:  # the dispatcher's /version pre-flight, then one request each
        assert app.paths() == ["/version", "/api", "/apis"]
    else:
        assert "/api/v1" in app.paths() and "/apis/apps/v1" in app.paths()


@needs_kubectl
async def test_kubectl_api_versions() -> None:
    async with serve(small_registry(), PORT) as app:
        rc, out, err = await app.kubectl("api-versions")
    assert rc == 0, err
    served = sorted({r.group_version for r in RESOURCES})
    assert out.split() == served
    for gv in ("v1", "apps/v1", "autoscaling/v1", "autoscaling/v2", "batch/v1", "coordination.k8s.io/v1",
               "discovery.k8s.io/v1", "events.k8s.io/v1", "networking.k8s.io/v1", "policy/v1",
               "rbac.authorization.k8s.io/v1", "scheduling.k8s.io/v1", "storage.k8s.io/v1"):
        assert gv in served


@needs_kubectl
async def test_kubectl_127_uses_v2beta1() -> None:
    async with serve(small_registry(), PORT) as app:
        rc, out, err = await app.kubectl("api-resources", binary=KUBECTL_1_27)
    assert rc == 0, err
    assert _rows(out)[("deployments", "apps/v1")][1] == "deploy"
    assert app.paths() == ["/api", "/apis"]
    assert discovery.negotiate_discovery(app.requests[0].accept) == "v2beta1"
