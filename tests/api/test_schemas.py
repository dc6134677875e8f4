"""The generated built-in schemas: every served kind is declared, references resolve, the
strategic-merge-patch facts are right, and the field sets match the official Python client."""

from __future__ import annotations

import kubernetes.client.models as models
import pytest

from kybernetes.api.resources import RESOURCES, Resource
from kybernetes.api.schema import Field
from kybernetes.api.schemas import EMBEDDED, REGISTRY, WRAPPED_LISTS

CORE = "io.k8s.api.core.v1."
META = "io.k8s.apimachinery.pkg.apis.meta.v1."


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: f"{r.group_version}/{r.kind}")
def test_every_served_kind_is_declared(resource: Resource) -> None:
    assert resource.schema in REGISTRY


def test_every_message_reference_resolves() -> None:
    dangling = [
        (m, f.name, f.type)
        for m in REGISTRY.names()
        for f in REGISTRY[m].fields
        if not f.is_scalar and f.type not in REGISTRY
    ]
    assert dangling == []


def test_embedded_and_wrapped_tables_name_declared_messages() -> None:
    for outer, inner in EMBEDDED.items():
        assert outer in REGISTRY
        for _number, name in inner:
            assert name in REGISTRY
            # every inlined field shows up flat in the outer message, numbered 0
            for f in REGISTRY[name].fields:
                flat = REGISTRY[outer].field(f.name)
                assert flat is not None and flat.number == 0
    for message, field_name in WRAPPED_LISTS:
        wrapped = REGISTRY[message].field(field_name)
        assert wrapped is not None and wrapped.repeated and wrapped.type == "string"


def test_wire_numbers_are_unique_per_message() -> None:
    for name in REGISTRY.names():
        numbers = [f.number for f in REGISTRY[name].fields if f.number]
        assert len(numbers) == len(set(numbers)), name


def _field(root: str, *path: str) -> Field:
    f = REGISTRY.resolve_path(root, list(path))
    assert f is not None, (root, path)
    return f


SPOT_CHECKS = [
    pytest.param(CORE + "Pod", ("spec",), {"number": 2, "type": CORE + "PodSpec"}, id="pod-spec-number"),
    pytest.param(CORE + "Pod", ("metadata",), {"number": 1, "type": META + "ObjectMeta"}, id="pod-metadata"),
    pytest.param(
        CORE + "Container",
        ("ports",),
        {"merge_key": "containerPort", "patch_strategy": "merge"},
        id="container-ports-merge-key",
    ),
    pytest.param(
        CORE + "PodSpec",
        ("containers",),
        {"merge_key": "name", "patch_strategy": "merge", "required": True, "repeated": True},
        id="podspec-containers",
    ),
    pytest.param(
        META + "ObjectMeta",
        ("finalizers",),
        {"patch_strategy": "merge", "merge_key": None},
        id="finalizers-merge",
    ),
    pytest.param(META + "ObjectMeta", ("ownerReferences",), {"merge_key": "uid"}, id="owner-references"),
    pytest.param(
        META + "ObjectMeta",
        ("creationTimestamp",),
        {"type": "time", "number": 8},
        id="creation-timestamp-time",
    ),
    pytest.param(
        META + "ObjectMeta", ("labels",), {"map": True, "type": "string", "number": 11}, id="labels"
    ),
    pytest.param(
        CORE + "Service",
        ("spec", "ports"),
        {"merge_key": "port", "patch_strategy": "merge"},
        id="service-ports-merge-key-port",
    ),
    pytest.param(
        "io.k8s.api.networking.v1.NetworkPolicyIngressRule",
        ("ports",),
        {"merge_key": None, "patch_strategy": None, "number": 1},
        id="netpol-ports-atomic",
    ),
    pytest.param(
        CORE + "Secret", ("data",), {"map": True, "type": "bytes", "number": 2}, id="secret-data-bytes"
    ),
    pytest.param(CORE + "Secret", ("stringData",), {"map": True, "type": "string"}, id="secret-string-data"),
    pytest.param(
        "io.k8s.api.apps.v1.Deployment",
        ("spec", "strategy"),
        {"patch_strategy": "retainKeys"},
        id="deployment-strategy-retain-keys",
    ),
    pytest.param(CORE + "Volume", ("hostPath",), {"number": 0}, id="volume-source-inlined"),
    pytest.param(
        CORE + "ServicePort", ("targetPort",), {"type": "int-or-string", "number": 4}, id="target-port"
    ),
    pytest.param(CORE + "ResourceRequirements", ("limits",), {"map": True, "type": "quantity"}, id="limits"),
    pytest.param("io.k8s.api.apps.v1.ControllerRevision", ("data",), {"type": "raw"}, id="raw-extension"),
    pytest.param(META + "ManagedFieldsEntry", ("fieldsV1",), {"type": "fields-v1"}, id="fields-v1"),
    pytest.param(
        "io.k8s.api.events.v1.Event", ("eventTime",), {"type": "microtime", "required": True}, id="microtime"
    ),
    pytest.param(
        "io.k8s.api.authentication.v1.UserInfo",
        ("extra",),
        {"map": True, "repeated": True, "type": "string"},
        id="extra-map-of-lists",
    ),
    pytest.param(
        CORE + "PodCondition",
        ("status",),
        {"omit_empty": False, "required": True},
        id="condition-status-not-omitempty",
    ),
    pytest.param(
        "io.k8s.api.apps.v1.DeploymentSpec",
        ("replicas",),
        {"omit_empty": False},
        id="pointer-replicas-keeps-zero",
    ),
    pytest.param(
        "io.k8s.api.apps.v1.DeploymentSpec", ("minReadySeconds",), {"omit_empty": True}, id="plain-omitempty"
    ),
    pytest.param(
        CORE + "PodStatus",
        ("conditions",),
        {"merge_key": "type", "patch_strategy": "merge"},
        id="pod-conditions",
    ),
    pytest.param(
        "io.k8s.api.autoscaling.v2.HPAScalingRules",
        ("policies",),
        {"list_type": "atomic"},
        id="list-type-from-tag",
    ),
]


@pytest.mark.parametrize(("root", "path", "expected"), SPOT_CHECKS)
def test_spot_check(root: str, path: tuple[str, ...], expected: dict[str, object]) -> None:
    f = _field(root, *path)
    assert {k: getattr(f, k) for k in expected} == expected


def test_type_meta_fields_are_json_only() -> None:
    pod = REGISTRY[CORE + "Pod"]
    assert [f.name for f in pod.fields] == ["kind", "apiVersion", "metadata", "spec", "status"]
    assert pod.by_name["kind"].number == 0 and pod.by_name["apiVersion"].number == 0


# --- completeness against the official Python client ------------------------------------------

GROUP_PREFIX = {
    "core": "Core",
    "apps": "Apps",
    "batch": "Batch",
    "autoscaling": "Autoscaling",
    "networking": "Networking",
    "policy": "Policy",
    "coordination": "Coordination",
    "discovery": "Discovery",
    "events": "Events",
    "scheduling": "Scheduling",
    "storage": "Storage",
    "rbac": "Rbac",
    "authorization": "Authorization",
    "authentication": "Authentication",
}


def python_model(name: str) -> type | None:
    if name == CORE + "Preconditions":
        return None  # V1Preconditions models meta.v1 Preconditions; core.v1 has a deprecated copy
    parts = name.split(".")
    group, version, short = parts[-3], parts[-2].capitalize(), parts[-1]
    for candidate in (f"{GROUP_PREFIX.get(group, '')}{version}{short}", f"{version}{short}"):
        cls = getattr(models, candidate, None)
        if cls is not None:
            return cls  # type: ignore[no-any-return]
    return None


# Messages whose field sets differ from the Python client on purpose: none today.
KNOWN_DIFFERENCES: dict[str, str] = {}


def _with_model() -> list[str]:
    return [n for n in REGISTRY.names() if python_model(n) is not None]


def test_most_messages_have_a_python_model() -> None:
    # The mapping from names to client classes works (the rest are wire-only helpers such as
    # VolumeSource or list/options types the client does not model).
    assert len(_with_model()) > 350


@pytest.mark.parametrize("name", _with_model())
def test_field_names_match_python_client(name: str) -> None:
    if name in KNOWN_DIFFERENCES:
        pytest.skip(KNOWN_DIFFERENCES[name])
    cls = python_model(name)
    ours = {f.name for f in REGISTRY[name].fields}
    theirs = set(cls.attribute_map.values())  # type: ignore[union-attr]
    assert ours == theirs


def test_required_matches_python_client_for_container() -> None:
    container = REGISTRY[CORE + "Container"]
    assert [f.name for f in container.fields if f.required] == ["name"]
