"""Field descriptions: every served message and field is described, briefly, and no entry names
something the schema registry does not declare (a typo would silently describe nothing)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from kybernetes.api import fielddocs
from kybernetes.api.fielddocs import (
    API_VERSION_TEXT,
    FIELD_DOCS,
    KIND_TEXT,
    MESSAGE_DOCS,
    REFERENCE_KIND_TEXT,
    field_description,
    message_description,
)
from kybernetes.api.schema import F, M, SchemaRegistry
from kybernetes.api.schemas import REGISTRY
from kybernetes.apiserver.openapi.schemas import SchemaWriter

MAX_LENGTH = 300
APPS = "io.k8s.api.apps.v1."
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
CORE = "io.k8s.api.core.v1."


def _package(name: str) -> str:
    return name.rsplit(".", 1)[0]


def _report(missing: list[str]) -> str:
    """Missing names grouped by API package, so a failure says where the gaps are."""
    by_package: dict[str, list[str]] = defaultdict(list)
    for name in missing:
        by_package[_package(name.split(":", 1)[0])].append(name.rsplit(".", 1)[-1])
    lines = [f"{len(missing)} undescribed:"]
    for package, names in sorted(by_package.items()):
        lines.append(f"  {package} ({len(names)}): {', '.join(sorted(names)[:40])}")
    return "\n".join(lines)


def test_every_message_has_a_description() -> None:
    missing = [name for name in REGISTRY.names() if not MESSAGE_DOCS.get(name)]
    assert not missing, _report(missing)


def test_every_field_has_a_description() -> None:
    missing = [
        f"{name}:{f.name}"
        for name in REGISTRY.names()
        for f in REGISTRY[name].fields
        if not field_description(name, f.name)
    ]
    assert not missing, _report([m.replace(":", ".") for m in missing])


def _all_texts() -> list[tuple[str, str]]:
    texts = list(MESSAGE_DOCS.items())
    texts += [
        (f"{name}.{field}", text) for name, fields in FIELD_DOCS.items() for field, text in fields.items()
    ]
    return texts


def test_descriptions_are_short_plain_text() -> None:
    bad = [
        f"{where} ({len(text)} chars): {text!r}"
        for where, text in _all_texts()
        if not text.strip() or len(text) > MAX_LENGTH or text != text.strip() or "\n" in text
    ]
    assert not bad, "\n".join(bad)


def _data_modules() -> list[Any]:
    return list(fielddocs._MODULES)


def test_every_key_names_a_declared_message_and_field() -> None:
    unknown: list[str] = []
    for module in _data_modules():
        for name, (_, fields) in module.DOCS.items():
            msg = REGISTRY.get(name)
            if msg is None:
                unknown.append(f"{module.__name__}: message {name}")
                continue
            unknown += [f"{module.__name__}: field {name}.{f}" for f in fields if msg.field(f) is None]
    assert not unknown, "\n".join(unknown)


def test_every_data_module_in_the_package_is_merged() -> None:
    directory = Path(fielddocs.__file__).parent
    on_disk = {p.stem for p in directory.glob("*.py") if p.stem != "__init__"}
    merged = {m.__name__.rsplit(".", 1)[-1] for m in _data_modules()}
    assert on_disk == merged


def test_module_entries_have_the_agreed_shape() -> None:
    for module in _data_modules():
        for name, entry in module.DOCS.items():
            assert isinstance(entry, tuple) and len(entry) == 2, name
            description, fields = entry
            assert isinstance(description, str) and isinstance(fields, dict), name


@pytest.mark.parametrize(
    ("message", "field", "expected"),
    [
        pytest.param(APPS + "Deployment", "kind", KIND_TEXT, id="object-kind-is-generic"),
        pytest.param(APPS + "Deployment", "apiVersion", API_VERSION_TEXT, id="object-apiVersion-is-generic"),
        pytest.param(META + "DeleteOptions", "kind", KIND_TEXT, id="options-carry-type-meta-too"),
        pytest.param(APPS + "DeploymentList", "kind", KIND_TEXT, id="list-kind-is-generic"),
        pytest.param(
            APPS + "DeploymentList",
            "items",
            "The Deployment objects in this list.",
            id="list-items-name-the-kind",
        ),
        pytest.param(
            META + "OwnerReference",
            "kind",
            "The kind of the owner, such as ReplicaSet.",
            id="reference-kind-is-specific",
        ),
        pytest.param(
            CORE + "TypedLocalObjectReference", "kind", REFERENCE_KIND_TEXT, id="reference-kind-is-generic"
        ),
        pytest.param(
            CORE + "SerializedReference", "kind", KIND_TEXT, id="nameless-envelope-carries-type-meta"
        ),
        pytest.param(APPS + "Deployment", "nosuchfield", "", id="unknown-field"),
        pytest.param("io.example.v1.Nothing", "kind", "", id="unknown-message"),
    ],
)
def test_field_description(message: str, field: str, expected: str) -> None:
    assert field_description(message, field) == expected


def test_message_description() -> None:
    assert message_description(APPS + "DeploymentList") == "A list of Deployment objects."
    assert message_description(APPS + "Deployment").startswith("A Deployment")
    assert message_description("io.example.v1.Nothing") == ""


# -- the OpenAPI writer uses them ---------------------------------------------------------------


def _own_registry() -> SchemaRegistry:
    """Declarations with descriptions of their own, which win over the data modules."""
    registry = SchemaRegistry()
    registry.add(
        M(
            APPS + "DeploymentSpec",
            F("replicas", 1, "int32", description="Declared here."),
            F("paused", 7, "boolean"),
            description="Declared message.",
        )
    )
    return registry


@pytest.mark.parametrize("style", ["v3", "v2"])
def test_writer_describes_fields_from_the_data(style: Any) -> None:
    writer = SchemaWriter(REGISTRY, style)
    spec = writer.component(APPS + "DeploymentSpec")
    assert spec["description"] == MESSAGE_DOCS[APPS + "DeploymentSpec"]
    props = spec["properties"]
    assert props["replicas"]["description"] == FIELD_DOCS[APPS + "DeploymentSpec"]["replicas"]
    # A reference keeps its description next to the $ref (allOf in v3).
    assert props["strategy"]["description"] == FIELD_DOCS[APPS + "DeploymentSpec"]["strategy"]
    assert ("allOf" in props["strategy"]) == (style == "v3")
    deployment = writer.component(APPS + "Deployment")["properties"]
    assert deployment["kind"]["description"] == KIND_TEXT


def test_writer_prefers_the_declarations_own_description() -> None:
    spec = SchemaWriter(_own_registry(), "v3").component(APPS + "DeploymentSpec")
    assert spec["description"] == "Declared message."
    assert spec["properties"]["replicas"]["description"] == "Declared here."
    assert spec["properties"]["paused"]["description"] == FIELD_DOCS[APPS + "DeploymentSpec"]["paused"]


def test_kind_descriptions_remain_the_fallback() -> None:
    registry = SchemaRegistry()
    registry.add(M("io.example.v1.Widget", F("size", 1, "int32")))
    writer = SchemaWriter(registry, "v3", descriptions={"io.example.v1.Widget": "A widget."})
    widget = writer.component("io.example.v1.Widget")
    assert widget["description"] == "A widget."
    assert "description" not in widget["properties"]["size"]
