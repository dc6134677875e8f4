"""OpenAPI documents: structure, the extensions kubectl keys off, and real kubectl using them."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import orjson
import pytest
from discovery_app import KUBECTL, KUBECTL_1_27, serve
from openapi_fixture import small_registry

from kybernetes.api.resources import RESOURCES
from kybernetes.api.schema import SchemaRegistry
from kybernetes.apiserver.openapi import (
    V2_PROTOBUF_CONTENT_TYPE,
    OpenAPIBuilder,
    gv_path,
    openapi_v2_response,
    openapi_v3_document,
    openapi_v3_hash,
    openapi_v3_index,
)
from kybernetes.apiserver.openapi.paths import PATCH_CONTENT_TYPES
from kybernetes.apiserver.openapi.schemas import referenced

SCHEMAS = "#/components/schemas/"
GVS = sorted({gv_path(r.group, r.version) for r in RESOURCES})
# Group versions with something to patch (authentication.k8s.io serves create-only reviews).
PATCHABLE_GVS = sorted({gv_path(r.group, r.version) for r in RESOURCES if "patch" in r.verbs})


@pytest.fixture(scope="module")
def builder() -> OpenAPIBuilder:
    return OpenAPIBuilder(small_registry())


def _doc(builder: OpenAPIBuilder, gv: str) -> dict[str, Any]:
    body = builder.v3_bytes(gv)
    assert body is not None
    doc: dict[str, Any] = orjson.loads(body)
    return doc


def _bare(schema: dict[str, Any]) -> dict[str, Any]:
    """A field schema without its description (tests/api/test_fielddocs.py checks those)."""
    return {k: v for k, v in schema.items() if k != "description"}


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in ("get", "put", "post", "patch", "delete")
    ]


def test_index_lists_every_group_version_with_its_hash(builder: OpenAPIBuilder) -> None:
    index = builder.v3_index()
    assert sorted(index["paths"]) == GVS
    for gv, entry in index["paths"].items():
        body = builder.v3_bytes(gv)
        assert body is not None
        digest = hashlib.sha512(body).hexdigest().upper()
        assert entry["serverRelativeURL"] == f"/openapi/v3/{gv}?hash={digest}"
        assert builder.v3_hash(gv) == digest
    assert builder.v3_bytes("apis/apps/v1beta1") is None
    assert builder.v3_bytes("/apis/apps/v1/") == builder.v3_bytes("apis/apps/v1")


@pytest.mark.parametrize("gv", GVS)
def test_no_dangling_references(builder: OpenAPIBuilder, gv: str) -> None:
    doc = _doc(builder, gv)
    assert doc["openapi"] == "3.0.0"
    assert referenced(doc, SCHEMAS) <= set(doc["components"]["schemas"])


@pytest.mark.parametrize("gv", PATCHABLE_GVS)
def test_every_patch_declares_field_validation_and_patch_types(builder: OpenAPIBuilder, gv: str) -> None:
    # kubectl stops at the first patch operation carrying the kind's GVK, in random order.
    patches = [op for _, method, op in _operations(_doc(builder, gv)) if method == "patch"]
    assert patches
    for op in patches:
        gvk = op["x-kubernetes-group-version-kind"]
        assert isinstance(gvk, dict) and set(gvk) == {"group", "version", "kind"}
        assert op["x-kubernetes-action"] == "patch"
        assert any(p["name"] == "fieldValidation" and p["in"] == "query" for p in op["parameters"])
        assert set(op["requestBody"]["content"]) == set(PATCH_CONTENT_TYPES)


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: f"{r.group_version}/{r.plural}")
def test_explain_can_find_every_kind(builder: OpenAPIBuilder, resource: Any) -> None:
    """The lookup kubectl explain does: a resource path with the GVK on an operation, then a
    component schema listing that GVK."""
    doc = _doc(builder, gv_path(resource.group, resource.version))
    prefix = f"/apis/{resource.group}/{resource.version}" if resource.group else f"/api/{resource.version}"
    candidates = [
        f"{prefix}/{resource.plural}", f"{prefix}/{resource.plural}/{{name}}",
        f"{prefix}/namespaces/{{namespace}}/{resource.plural}",
        f"{prefix}/namespaces/{{namespace}}/{resource.plural}/{{name}}",
    ]
    gvk = {"group": resource.group, "kind": resource.kind, "version": resource.version}
    found = [
        op["x-kubernetes-group-version-kind"]
        for path in candidates if path in doc["paths"]
        for method, op in doc["paths"][path].items() if method != "parameters"
    ]
    assert found and all(g == gvk for g in found)
    owners = [n for n, s in doc["components"]["schemas"].items() if gvk in s.get("x-kubernetes-group-version-kind", [])]
    assert owners == [resource.schema]


def test_paths_of_a_namespaced_resource(builder: OpenAPIBuilder) -> None:
    paths = _doc(builder, "apis/apps/v1")["paths"]
    collection = paths["/apis/apps/v1/namespaces/{namespace}/deployments"]
    assert set(collection) == {"get", "post", "delete", "parameters"}
    assert collection["get"]["x-kubernetes-action"] == "list"
    assert collection["delete"]["x-kubernetes-action"] == "deletecollection"
    assert "application/json;stream=watch" in collection["get"]["responses"]["200"]["content"]
    assert collection["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": SCHEMAS + "io.k8s.api.apps.v1.DeploymentList"
    }
    item = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    assert set(item) == {"get", "put", "patch", "delete", "parameters"}
    assert [p["name"] for p in item["parameters"]] == ["name", "namespace", "pretty"]
    assert paths["/apis/apps/v1/deployments"]["get"]["operationId"] == "listAppsV1DeploymentForAllNamespaces"
    scale = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
    assert scale["patch"]["x-kubernetes-group-version-kind"] == {"group": "autoscaling", "kind": "Scale", "version": "v1"}
    status = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status"]
    assert status["patch"]["x-kubernetes-group-version-kind"]["kind"] == "Deployment"
    assert set(status) == {"get", "put", "patch", "parameters"}


def test_paths_of_core_subresources(builder: OpenAPIBuilder) -> None:
    paths = _doc(builder, "api/v1")["paths"]
    eviction = paths["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]
    assert set(eviction) == {"post", "parameters"}
    assert eviction["post"]["x-kubernetes-group-version-kind"] == {"group": "policy", "kind": "Eviction", "version": "v1"}
    assert paths["/api/v1/namespaces/{namespace}/pods/{name}/exec"]["get"]["x-kubernetes-action"] == "connect"
    assert "get" in paths["/api/v1/namespaces/{namespace}/pods/{name}/log"]
    # Cluster-scoped: no namespace segment, no all-namespaces twin.
    assert "/api/v1/nodes/{name}" in paths and "/api/v1/namespaces/{namespace}/nodes" not in paths


def test_apps_document_embeds_core_and_meta_schemas(builder: OpenAPIBuilder) -> None:
    schemas = _doc(builder, "apis/apps/v1")["components"]["schemas"]
    for name in ("io.k8s.api.core.v1.PodTemplateSpec", "io.k8s.api.core.v1.Container",
                 "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "io.k8s.api.autoscaling.v1.Scale"):
        assert name in schemas
    deployment = schemas["io.k8s.api.apps.v1.Deployment"]
    assert deployment["x-kubernetes-group-version-kind"] == [{"group": "apps", "kind": "Deployment", "version": "v1"}]
    assert deployment["description"]
    assert _bare(deployment["properties"]["spec"]) == {"allOf": [{"$ref": SCHEMAS + "io.k8s.api.apps.v1.DeploymentSpec"}]}
    listed = schemas["io.k8s.api.apps.v1.DeploymentList"]
    assert listed["x-kubernetes-group-version-kind"] == [{"group": "apps", "kind": "DeploymentList", "version": "v1"}]
    assert listed["required"] == ["items"]
    assert listed["properties"]["items"]["items"] == {"allOf": [{"$ref": SCHEMAS + "io.k8s.api.apps.v1.Deployment"}]}
    assert listed["properties"]["metadata"]["allOf"] == [{"$ref": SCHEMAS + "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"}]
    delete_options = schemas["io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"]
    assert {"group": "apps", "kind": "DeleteOptions", "version": "v1"} in delete_options["x-kubernetes-group-version-kind"]


def test_field_forms(builder: OpenAPIBuilder) -> None:
    schemas = _doc(builder, "api/v1")["components"]["schemas"]
    container = schemas["io.k8s.api.core.v1.Container"]
    assert container["required"] == ["name"]
    ports = container["properties"]["ports"]
    assert ports["description"]
    assert _bare(ports) == {
        "type": "array",
        "items": {"allOf": [{"$ref": SCHEMAS + "io.k8s.api.core.v1.ContainerPort"}]},
        "x-kubernetes-patch-merge-key": "containerPort",
        "x-kubernetes-patch-strategy": "merge",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["containerPort", "protocol"],
    }
    assert _bare(container["properties"]["command"]) == {"type": "array", "items": {"type": "string"}}
    limits = schemas["io.k8s.api.core.v1.ResourceRequirements"]["properties"]["limits"]
    assert _bare(limits) == {"type": "object", "additionalProperties": {"allOf": [{"$ref": SCHEMAS + "io.k8s.apimachinery.pkg.api.resource.Quantity"}]}}
    meta = schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"]
    assert _bare(meta["generation"]) == {"type": "integer", "format": "int64"}
    assert _bare(meta["labels"]) == {"type": "object", "additionalProperties": {"type": "string"}}
    assert schemas["io.k8s.apimachinery.pkg.apis.meta.v1.Time"] == {
        "description": schemas["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]["description"],
        "type": "string", "format": "date-time",
    }
    assert schemas["io.k8s.apimachinery.pkg.api.resource.Quantity"]["oneOf"] == [{"type": "string"}, {"type": "number"}]
    int_or_string = schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    assert int_or_string["x-kubernetes-int-or-string"] is True and int_or_string["format"] == "int-or-string"
    # Undeclared messages become permissive placeholders rather than dangling references.
    assert schemas["io.k8s.api.core.v1.Service"]["x-kubernetes-preserve-unknown-fields"] is True


def test_v2_json_and_protobuf(builder: OpenAPIBuilder) -> None:
    body, content_type = builder.v2_response("application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
    assert (body, content_type) == (b"", V2_PROTOBUF_CONTENT_TYPE)
    body, content_type = builder.v2_response("application/json")
    assert content_type == "application/json"
    doc = orjson.loads(body)
    assert doc["swagger"] == "2.0"
    assert referenced(doc, "#/definitions/") <= set(doc["definitions"])
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" in patch["consumes"]
    assert any(p["name"] == "fieldValidation" for p in patch["parameters"])
    spec = doc["definitions"]["io.k8s.api.apps.v1.Deployment"]["properties"]["spec"]
    assert _bare(spec) == {"$ref": "#/definitions/io.k8s.api.apps.v1.DeploymentSpec"}
    assert doc["definitions"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["type"] == "string"


@pytest.mark.parametrize("registry", [SchemaRegistry(), None], ids=["empty-registry", "real-registry"])
def test_builds_with_any_registry(registry: SchemaRegistry | None) -> None:
    if registry is None:
        from kybernetes.api.schemas import REGISTRY

        registry = REGISTRY
    b = OpenAPIBuilder(registry)
    for gv in GVS:
        doc = _doc(b, gv)
        assert referenced(doc, SCHEMAS) <= set(doc["components"]["schemas"])
    v2 = orjson.loads(b.v2_bytes())
    assert referenced(v2, "#/definitions/") <= set(v2["definitions"])


def test_module_functions_use_the_real_registry() -> None:
    index = openapi_v3_index()
    url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
    assert url == f"/openapi/v3/apis/apps/v1?hash={openapi_v3_hash('apis/apps/v1')}"
    assert openapi_v3_document("apis/apps/v1") is not None
    assert openapi_v3_document("apis/nope/v1") is None
    assert openapi_v2_response("application/com.github.proto-openapi.spec.v2@v1.0+protobuf")[0] == b""


# --------------------------------------------------------------------------------------------
# Real kubectl

needs_kubectl = pytest.mark.skipif(
    not (os.access(KUBECTL, os.X_OK) and os.access(KUBECTL_1_27, os.X_OK)),
    reason="real kubectl (Cloud SDK dispatcher and kubectl.1.27) not installed",
)
PORT = 18301

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        env:
        - {name: MODE, value: one}
        - {name: OLD, value: x}
"""


@needs_kubectl
async def test_kubectl_explain_pod_spec() -> None:
    async with serve(small_registry(), PORT) as app:
        rc, out, err = await app.kubectl("explain", "pod.spec")
    assert rc == 0, err
    assert "KIND:       Pod" in out and "FIELD: spec <PodSpec>" in out
    assert "containers\t<[]Container> -required-" in out
    assert "nodeSelector\t<map[string]string>" in out
    assert [p for p in app.paths() if p.startswith("/openapi")] == ["/openapi/v3", "/openapi/v3/api/v1"]


def _registry(which: str) -> SchemaRegistry:
    if which == "small":
        return small_registry()
    from kybernetes.api.schemas import REGISTRY

    return REGISTRY


@needs_kubectl
@pytest.mark.parametrize("which", ["small", "real"], ids=["small-registry", "real-registry"])
async def test_kubectl_explain_recursive_across_groups(which: str) -> None:
    async with serve(_registry(which), PORT) as app:
        rc, out, err = await app.kubectl("explain", "deployment.spec.template", "--recursive")
    assert rc == 0, err
    assert "GROUP:      apps" in out and "FIELD: template <PodTemplateSpec>" in out
    for line in ("ports\t<[]ContainerPort>", "limits\t<map[string]Quantity>", "port\t<IntOrString> -required-",
                 "creationTimestamp\t<string>", "containerPort\t<integer> -required-"):
        assert line in out, line
    assert "/openapi/v3/api/v1" not in app.paths()  # the apps/v1 document was enough


@needs_kubectl
async def test_kubectl_explain_nested_list_field() -> None:
    async with serve(small_registry(), PORT) as app:
        rc, out, err = await app.kubectl("explain", "pods.spec.containers.ports")
    assert rc == 0, err
    assert "FIELD: ports <[]ContainerPort>" in out
    assert "containerPort\t<integer> -required-" in out
    assert "The port number the container listens on." in out


@needs_kubectl
async def test_kubectl_127_explain_reads_v2_then_v3() -> None:
    async with serve(small_registry(), PORT) as app:
        rc, out, err = await app.kubectl("explain", "pod.spec", binary=KUBECTL_1_27)
    assert rc == 0, err
    assert "containers\t<[]Container> -required-" in out
    openapi = [p for p in app.paths() if p.startswith("/openapi")]
    assert openapi[0] == "/openapi/v2" and "/openapi/v3/api/v1" in openapi


@needs_kubectl
@pytest.mark.parametrize("binary", [KUBECTL, KUBECTL_1_27], ids=["1.32", "1.27"])
async def test_kubectl_create_detects_server_side_validation(binary: str) -> None:
    async with serve(small_registry(), PORT) as app:
        (app.home / "deploy.yaml").write_text(DEPLOYMENT)
        rc, out, err = await app.kubectl("create", "-f", "deploy.yaml", binary=binary)
    assert rc == 0, err
    assert "deployment.apps/web created" in out
    [post] = [r for r in app.requests if r.method == "POST"]
    assert post.path == "/apis/apps/v1/namespaces/default/deployments"
    assert post.query == {"fieldManager": "kubectl-create", "fieldValidation": "Strict"}


@needs_kubectl
@pytest.mark.parametrize("which", ["small", "real"], ids=["small-registry", "real-registry"])
async def test_kubectl_apply_computes_strategic_merge_patch_from_v3(which: str) -> None:
    async with serve(_registry(which), PORT) as app:
        (app.home / "deploy.yaml").write_text(DEPLOYMENT)
        rc, _, err = await app.kubectl("apply", "-f", "deploy.yaml")
        assert rc == 0, err
        changed = DEPLOYMENT.replace("nginx:1.25", "nginx:1.26").replace("        - {name: OLD, value: x}\n", "")
        (app.home / "deploy.yaml").write_text(changed)
        rc, out, err = await app.kubectl("apply", "-f", "deploy.yaml")
    assert rc == 0, err
    assert "deployment.apps/web configured" in out
    assert "warning" not in err.lower()
    [patch] = [r for r in app.requests if r.method == "PATCH"]
    assert patch.query["fieldValidation"] == "Strict"
    assert patch.content_type == "application/strategic-merge-patch+json"
    body = orjson.loads(patch.body)
    # A strategic merge patch: list elements addressed by their merge keys.
    [container] = body["spec"]["template"]["spec"]["containers"]
    assert container["name"] == "web" and container["image"] == "nginx:1.26"
    assert {"$patch": "delete", "name": "OLD"} in container["env"]
    assert body["spec"]["template"]["spec"]["$setElementOrder/containers"] == [{"name": "web"}]
