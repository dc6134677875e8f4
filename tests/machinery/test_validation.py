"""Field validation messages must read exactly like upstream's."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import (
    invalid,
    is_config_map_key,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_label_value,
    name_is_dns_subdomain,
    name_is_path_segment,
    not_supported,
    render_label_selector,
    render_value,
    required,
    selector_matches,
    too_long,
    validate_object_meta,
    validate_object_meta_update,
)

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
QNAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


@pytest.mark.parametrize(("fn", "value", "expected"), [
    pytest.param(is_dns1123_subdomain, "example.com", [], id="subdomain-ok"),
    pytest.param(is_dns1123_subdomain, "Foo_Bar", [SUBDOMAIN_MSG], id="subdomain-bad"),
    pytest.param(is_dns1123_subdomain, "a" * 254, ["must be no more than 253 characters"], id="subdomain-long"),
    pytest.param(is_dns1123_label, "my-name", [], id="label-ok"),
    pytest.param(is_dns1123_label, "a.b", ["must not contain dots"], id="label-dot"),
    pytest.param(is_dns1123_label, "a_b", [LABEL_MSG], id="label-bad"),
    pytest.param(is_qualified_name, "example.com/MyName", [], id="qname-prefixed"),
    pytest.param(is_qualified_name, "-bad", [QNAME_MSG], id="qname-bad"),
    pytest.param(is_qualified_name, "/x", ["prefix part must be non-empty"], id="qname-empty-prefix"),
    pytest.param(is_valid_label_value, "", [], id="value-empty-ok"),
    pytest.param(is_valid_label_value, "x" * 64, ["must be no more than 63 characters"], id="value-long"),
    pytest.param(is_valid_label_value, "a b", [LABEL_VALUE_MSG], id="value-space"),
    pytest.param(is_config_map_key, "..x", ["must not start with '..'"], id="cmkey-dotdot"),
    pytest.param(name_is_path_segment, "system:controller:x", [], id="rbac-colon-ok"),
])
def test_name_checks(fn: Any, value: str, expected: list[str]) -> None:
    if fn is name_is_path_segment:
        assert fn(value, False) == expected
    else:
        assert fn(value) == expected


def test_generate_name_may_end_in_dash() -> None:
    assert name_is_dns_subdomain("web-", True) == []
    assert name_is_dns_subdomain("web-", False) == [SUBDOMAIN_MSG]


@pytest.mark.parametrize(("value", "text"), [
    pytest.param("x", '"x"', id="string"),
    pytest.param(-1, "-1", id="int"),
    pytest.param(True, "true", id="bool"),
    pytest.param(None, "null", id="null"),
    pytest.param({"b": "2", "a": "1"}, 'map[string]string{"a":"1", "b":"2"}', id="string-map"),
    pytest.param(["a", "b"], '[]string{"a", "b"}', id="string-list"),
])
def test_render_value(value: Any, text: str) -> None:
    assert render_value(value) == text


def test_render_label_selector() -> None:
    assert render_label_selector({"matchLabels": {"app": "x"}}) == (
        'v1.LabelSelector{MatchLabels:map[string]string{"app":"x"}, '
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}")


def test_cause_messages() -> None:
    assert required("spec.x") == Cause("FieldValueRequired", "Required value", "spec.x")
    assert not_supported("spec.type", "X", ["A", "B"]) == Cause(
        "FieldValueNotSupported", 'Unsupported value: "X": supported values: "A", "B"', "spec.type")
    assert invalid("spec.replicas", -1, "must be greater than or equal to 0").message == (
        "Invalid value: -1: must be greater than or equal to 0")
    assert too_long("metadata.annotations", 262144).message == "Too long: must have at most 262144 bytes"


def _meta_causes(meta: dict[str, Any], namespaced: bool = True) -> list[tuple[str, str, str]]:
    causes = validate_object_meta(meta, namespaced=namespaced, name_validator=name_is_dns_subdomain)
    return [(c.field, c.type, c.message) for c in causes]


@pytest.mark.parametrize(("meta", "namespaced", "expected"), [
    pytest.param({"name": "ok", "namespace": "default"}, True, [], id="ok"),
    pytest.param({"name": "Foo_Bar", "namespace": "default"}, True,
                 [("metadata.name", "FieldValueInvalid", f'Invalid value: "Foo_Bar": {SUBDOMAIN_MSG}')], id="bad-name"),
    pytest.param({"namespace": "default"}, True,
                 [("metadata.name", "FieldValueRequired", "Required value: name or generateName is required")],
                 id="no-name"),
    pytest.param({"name": "x"}, True, [("metadata.namespace", "FieldValueRequired", "Required value")],
                 id="no-namespace"),
    pytest.param({"name": "x", "namespace": "d"}, False,
                 [("metadata.namespace", "FieldValueForbidden", "Forbidden: not allowed on this type")],
                 id="namespace-on-cluster-kind"),
    pytest.param({"name": "x", "namespace": "d", "labels": {"a": "b c"}}, True,
                 [("metadata.labels", "FieldValueInvalid", f'Invalid value: "b c": {LABEL_VALUE_MSG}')],
                 id="bad-label-value"),
    pytest.param({"name": "x", "namespace": "d", "annotations": {"a": "x" * 262144}}, True,
                 [("metadata.annotations", "FieldValueTooLong", "Too long: must have at most 262144 bytes")],
                 id="annotations-too-big"),
    pytest.param({"name": "x", "namespace": "d", "finalizers": ["bogus"]}, True,
                 [("metadata.finalizers[0]", "FieldValueInvalid",
                   'Invalid value: "bogus": name is neither a standard finalizer name nor is it fully qualified')],
                 id="bad-finalizer"),
    pytest.param({"name": "x", "namespace": "d", "ownerReferences": [{"apiVersion": "v1", "kind": "Pod",
                                                                     "name": "p"}]}, True,
                 [("metadata.ownerReferences.uid", "FieldValueInvalid", 'Invalid value: "": uid must not be empty')],
                 id="owner-without-uid"),
])
def test_validate_object_meta(meta: dict[str, Any], namespaced: bool, expected: list[tuple[str, str, str]]) -> None:
    assert _meta_causes(meta, namespaced) == expected


def test_meta_update_immutable_fields() -> None:
    old = {"name": "x", "namespace": "d", "uid": "u1", "resourceVersion": "5", "creationTimestamp": "t"}
    new = {**old, "uid": "u2"}
    causes = validate_object_meta_update(new, old)
    assert [(c.field, c.message) for c in causes] == [("metadata.uid", 'Invalid value: "u2": field is immutable')]
    new = {**old, "resourceVersion": ""}
    assert [c.message for c in validate_object_meta_update(new, old)] == [
        'Invalid value: "": must be specified for an update']
    assert validate_object_meta_update(new, old, require_resource_version=False) == []


def test_no_new_finalizers_while_deleting() -> None:
    old = {"name": "x", "resourceVersion": "1", "deletionTimestamp": "t", "finalizers": ["a/b"]}
    new = {**old, "finalizers": ["a/b", "c/d"]}
    assert [c.message for c in validate_object_meta_update(new, old)] == [
        'Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"c/d"}']


@pytest.mark.parametrize(("sel", "labels", "match"), [
    pytest.param({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True, id="labels"),
    pytest.param({"matchLabels": {"a": "1"}}, {"a": "2"}, False, id="labels-miss"),
    pytest.param({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"}, True,
                 id="in"),
    pytest.param({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": "2"}, False, id="dne"),
])
def test_selector_matches(sel: dict[str, Any], labels: dict[str, str], match: bool) -> None:
    assert selector_matches(sel, labels) is match
