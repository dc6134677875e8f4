"""CRD conversion webhooks, the pure parts: spec.conversion validation and defaults, the review
sent, the checks of the answer and how converted objects are put back (crd.conversion)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kybernetes.apiserver.crd import conversion
from kybernetes.apiserver.crd.strategy import default_crd, validate_crd

Obj = dict[str, Any]
URL_CONFIG = {"url": "https://127.0.0.1:9443/convert", "caBundle": "Zm9v"}


def _spec(conv: Any, **extra: Any) -> Obj:
    spec: Obj = {"group": "conv.example.com", "conversion": conv}
    spec.update(extra)
    return spec


def _causes(spec: Obj) -> list[tuple[str, str, str]]:
    return [(c.type, c.field, c.message) for c in conversion.validate_conversion(spec)]


VALIDATION = [
    pytest.param({"strategy": "None"}, [], id="none-ok"),
    pytest.param(
        {"strategy": "Webhook", "webhook": {"clientConfig": URL_CONFIG, "conversionReviewVersions": ["v1"]}},
        [],
        id="webhook-url-ok",
    ),
    pytest.param(
        {
            "strategy": "Webhook",
            "webhook": {
                "clientConfig": {
                    "service": {"namespace": "ns", "name": "conv", "path": "/convert", "port": 443}
                },
                "conversionReviewVersions": ["v2", "v1beta1"],
            },
        },
        [],
        id="webhook-service-ok",
    ),
    pytest.param(
        {"strategy": "Other"},
        [
            (
                "FieldValueNotSupported",
                "spec.conversion.strategy",
                'Unsupported value: "Other": supported values: "None", "Webhook"',
            )
        ],
        id="unknown-strategy",
    ),
    pytest.param(
        {}, [("FieldValueRequired", "spec.conversion.strategy", "Required value")], id="strategy-missing"
    ),
    pytest.param(
        {"strategy": "Webhook"},
        [
            (
                "FieldValueRequired",
                "spec.conversion.webhookClientConfig",
                "Required value: required when strategy is set to Webhook",
            ),
            ("FieldValueRequired", "spec.conversion.conversionReviewVersions", "Required value"),
        ],
        id="webhook-missing",
    ),
    pytest.param(
        {"strategy": "Webhook", "webhook": {"clientConfig": {}, "conversionReviewVersions": ["v1"]}},
        [
            (
                "FieldValueRequired",
                "spec.conversion.webhookClientConfig",
                "Required value: exactly one of url or service is required",
            )
        ],
        id="neither-url-nor-service",
    ),
    pytest.param(
        {
            "strategy": "Webhook",
            "webhook": {
                "clientConfig": {"url": "https://a", "service": {"namespace": "n", "name": "s"}},
                "conversionReviewVersions": ["v1"],
            },
        },
        [
            (
                "FieldValueRequired",
                "spec.conversion.webhookClientConfig",
                "Required value: exactly one of url or service is required",
            )
        ],
        id="both-url-and-service",
    ),
    pytest.param(
        {
            "strategy": "Webhook",
            "webhook": {"clientConfig": {"url": "http://a/convert"}, "conversionReviewVersions": ["v1"]},
        },
        [
            (
                "FieldValueInvalid",
                "spec.conversion.webhookClientConfig.url",
                "Invalid value: \"http\": 'https' is the only allowed URL scheme; desired format: https://host[/path]",
            )
        ],
        id="url-not-https",
    ),
    pytest.param(
        {
            "strategy": "Webhook",
            "webhook": {
                "clientConfig": {"service": {"port": 70000, "path": "x"}},
                "conversionReviewVersions": ["v1"],
            },
        },
        [
            (
                "FieldValueRequired",
                "spec.conversion.webhookClientConfig.service.name",
                "Required value: service name is required",
            ),
            (
                "FieldValueRequired",
                "spec.conversion.webhookClientConfig.service.namespace",
                "Required value: service namespace is required",
            ),
            (
                "FieldValueInvalid",
                "spec.conversion.webhookClientConfig.service.port",
                "Invalid value: 70000: port is not valid: must be between 1 and 65535, inclusive",
            ),
            (
                "FieldValueInvalid",
                "spec.conversion.webhookClientConfig.service.path",
                "Invalid value: \"x\": must start with a '/'",
            ),
            (
                "FieldValueInvalid",
                "spec.conversion.webhookClientConfig.service.path",
                'Invalid value: "x": segment[0] may not be empty',
            ),
        ],
        id="bad-service",
    ),
    pytest.param(
        {
            "strategy": "Webhook",
            "webhook": {"clientConfig": URL_CONFIG, "conversionReviewVersions": ["v2", "v3"]},
        },
        [
            (
                "FieldValueInvalid",
                "spec.conversion.conversionReviewVersions",
                'Invalid value: []string{"v2", "v3"}: must include at least one of v1, v1beta1',
            )
        ],
        id="no-understood-review-version",
    ),
    pytest.param(
        {
            "strategy": "Webhook",
            "webhook": {"clientConfig": URL_CONFIG, "conversionReviewVersions": ["v1", "v1"]},
        },
        [
            (
                "FieldValueInvalid",
                "spec.conversion.conversionReviewVersions[1]",
                'Invalid value: "v1": duplicate version',
            )
        ],
        id="duplicate-review-version",
    ),
    pytest.param(
        {"strategy": "None", "webhook": {"clientConfig": URL_CONFIG, "conversionReviewVersions": ["v1"]}},
        [
            (
                "FieldValueForbidden",
                "spec.conversion.webhookClientConfig",
                "Forbidden: should not be set when strategy is not set to Webhook",
            ),
            (
                "FieldValueForbidden",
                "spec.conversion.conversionReviewVersions",
                "Forbidden: should not be set when strategy is not set to Webhook",
            ),
        ],
        id="none-with-webhook",
    ),
]


@pytest.mark.parametrize(("conv", "expected"), VALIDATION)
def test_validate_conversion(conv: Obj, expected: list[tuple[str, str, str]]) -> None:
    assert _causes(_spec(conv)) == expected


def test_webhook_needs_pruning_of_unknown_fields() -> None:
    spec = _spec(
        {"strategy": "Webhook", "webhook": {"clientConfig": URL_CONFIG, "conversionReviewVersions": ["v1"]}},
        preserveUnknownFields=True,
    )
    assert _causes(spec) == [
        (
            "FieldValueInvalid",
            "spec.conversion.strategy",
            'Invalid value: "Webhook": must be None if spec.preserveUnknownFields is true',
        )
    ]


def _crd(conv: Obj) -> Obj:
    schema = {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object"}}}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.conv.example.com"},
        "spec": {
            "group": "conv.example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget"},
            "versions": [
                {"name": "v1", "served": True, "storage": True, "schema": schema},
                {"name": "v2", "served": True, "storage": False, "schema": schema},
            ],
            "conversion": conv,
        },
    }


def test_crd_defaults_service_port_and_validates_conversion() -> None:
    crd = _crd(
        {
            "strategy": "Webhook",
            "webhook": {
                "clientConfig": {"service": {"namespace": "n", "name": "s"}},
                "conversionReviewVersions": ["v1"],
            },
        }
    )
    default_crd(crd)
    assert crd["spec"]["conversion"]["webhook"]["clientConfig"]["service"]["port"] == 443
    assert validate_crd(crd) == []
    bad = _crd({"strategy": "Webhook"})
    assert [c.field for c in validate_crd(bad)] == [
        "spec.conversion.webhookClientConfig",
        "spec.conversion.conversionReviewVersions",
    ]


# --- the review and its answer ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("versions", "expected"),
    [
        pytest.param(["v1", "v1beta1"], "v1", id="first-understood"),
        pytest.param(["v9", "v1beta1", "v1"], "v1beta1", id="skips-unknown"),
        pytest.param(["v9"], None, id="none-understood"),
    ],
)
def test_review_version(versions: list[str], expected: str | None) -> None:
    assert conversion.review_version({"conversionReviewVersions": versions}) == expected


def test_build_review() -> None:
    review = conversion.build_review("v1", uid="u1", desired_api_version="g.io/v2", objects=[{"a": 1}])
    assert review["apiVersion"] == "apiextensions.k8s.io/v1"
    assert review["kind"] == "ConversionReview"
    assert review["request"] == {"uid": "u1", "desiredAPIVersion": "g.io/v2", "objects": [{"a": 1}]}


def _answer(**response: Any) -> Obj:
    base: Obj = {"uid": "u1", "result": {"status": "Success"}, "convertedObjects": [{"x": 1}]}
    base.update(response)
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview", "response": base}


ANSWERS = [
    pytest.param(_answer(), "v1", None, id="ok"),
    pytest.param(
        dict(_answer(), apiVersion="apiextensions.k8s.io/v1beta1"),
        "v1",
        "expected webhook response of apiextensions.k8s.io/v1, Kind=ConversionReview, got "
        "apiextensions.k8s.io/v1beta1, Kind=ConversionReview",
        id="wrong-review-version",
    ),
    pytest.param(
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview"},
        "v1",
        "no response provided",
        id="no-response",
    ),
    pytest.param(_answer(uid="other"), "v1", 'expected response.uid="u1", got "other"', id="uid-mismatch"),
    pytest.param(
        _answer(result={"status": "Failure", "message": "cannot convert"}),
        "v1",
        "cannot convert",
        id="failure-with-message",
    ),
    pytest.param(_answer(result={}), "v1", "response.result.status was '', not 'Success'", id="no-status"),
    pytest.param(
        dict(_answer(uid="other"), apiVersion="apiextensions.k8s.io/v1beta1"),
        "v1beta1",
        None,
        id="v1beta1-skips-uid-and-kind",
    ),
    pytest.param([], "v1", "unrecognized response type: list", id="not-an-object"),
]


@pytest.mark.parametrize(("answer", "version", "error"), ANSWERS)
def test_converted_objects(answer: Any, version: str, error: str | None) -> None:
    if error is None:
        assert conversion.converted_objects(answer, version=version, uid="u1") == [{"x": 1}]
    else:
        with pytest.raises(ValueError) as e:
            conversion.converted_objects(answer, version=version, uid="u1")
        assert str(e.value) == error


# --- putting converted objects back -------------------------------------------------------------------


def _obj(name: str, version: str = "v1", **meta: Any) -> Obj:
    return {
        "apiVersion": f"conv.example.com/{version}",
        "kind": "Widget",
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": f"uid-{name}",
            "resourceVersion": "7",
            **meta,
        },
        "spec": {"size": "3"} if version == "v1" else {"replicas": 3},
    }


def _converted(original: Obj, **changes: Any) -> Obj:
    out = copy.deepcopy(original)
    out["apiVersion"] = "conv.example.com/v2"
    out["spec"] = {"replicas": 3}
    for key, value in changes.items():
        if key == "metadata":
            out["metadata"] = value
        else:
            out[key] = value
    return out


PREFIX = "conversion for conv.example.com/v1, Kind=Widget"
MERGE_ERRORS = [
    pytest.param([], f"{PREFIX} returned 0 objects, expected 1", id="count"),
    pytest.param(
        [_converted(_obj("a"), apiVersion="conv.example.com/v1")],
        f"{PREFIX} returned invalid converted object at index 1: invalid groupVersion "
        "(expected conv.example.com/v2, received conv.example.com/v1)",
        id="group-version",
    ),
    pytest.param(
        [_converted(_obj("a"), kind="Gadget")],
        f"{PREFIX} returned invalid converted object at index 1: invalid kind "
        "(expected Widget, received Gadget)",
        id="kind",
    ),
    pytest.param(
        [_converted(_obj("a"), metadata={"name": "b", "namespace": "default", "uid": "uid-a"})],
        f"{PREFIX} returned invalid converted object at index 1: must have the same name: a != b",
        id="name",
    ),
    pytest.param(
        [_converted(_obj("a"), metadata={"name": "a", "namespace": "default", "uid": "x"})],
        f"{PREFIX} returned invalid converted object at index 1: must have the same UID: uid-a != x",
        id="uid",
    ),
    pytest.param(
        [{"apiVersion": "conv.example.com/v2"}],
        f"{PREFIX} failed: Object 'Kind' is missing in '{{\"apiVersion\":\"conv.example.com/v2\"}}'",
        id="kind-missing",
    ),
    pytest.param(
        [
            _converted(
                _obj("a"),
                metadata={"name": "a", "namespace": "default", "uid": "uid-a", "labels": {"bad key": "x"}},
            )
        ],
        f"{PREFIX} returned invalid metadata in object at index 1: metadata.labels: Invalid value: "
        "\"bad key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
        "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "
        "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        id="invalid-label",
    ),
    pytest.param(
        [
            _converted(
                _obj("a"), metadata={"name": "a", "namespace": "default", "uid": "uid-a", "labels": {"k": 1}}
            )
        ],
        f"{PREFIX} returned invalid metadata in object at index 1: metadata.labels[k] must be a string, "
        "but is int64 in converted object",
        id="label-not-string",
    ),
    pytest.param(
        [_converted(_obj("a"), metadata="x")],  # (its name reads as "")
        f"{PREFIX} returned invalid converted object at index 1: must have the same name: a != ",
        id="metadata-not-object",
    ),
]


@pytest.mark.parametrize(("converted", "message"), MERGE_ERRORS)
def test_merge_converted_rejects(converted: list[Any], message: str) -> None:
    with pytest.raises(conversion.ConversionError) as e:
        conversion.merge_converted([_obj("a")], converted, desired_api_version="conv.example.com/v2")
    assert str(e.value) == message


def test_merge_keeps_objects_already_in_version_and_restores_metadata() -> None:
    a, b, c = _obj("a"), _obj("b", "v2"), _obj("c", labels={"old": "1"})
    changed_a = _converted(a)
    changed_a["metadata"].update(
        resourceVersion="999", generation=5, labels={"added": "by-webhook"}, annotations={"note": "x"}
    )
    changed_c = _converted(c)
    del changed_c["metadata"]["labels"]
    out = conversion.merge_converted(
        [a, b, c], [changed_a, changed_c], desired_api_version="conv.example.com/v2"
    )
    assert out[1] is b
    assert out[0]["spec"] == {"replicas": 3}
    assert out[0]["metadata"] == {
        "name": "a",
        "namespace": "default",
        "uid": "uid-a",
        "resourceVersion": "7",
        "labels": {"added": "by-webhook"},
        "annotations": {"note": "x"},
    }
    assert "labels" not in out[2]["metadata"]  # the webhook may remove labels too
    assert a["apiVersion"] == "conv.example.com/v1"  # the originals are not changed


def test_missing_metadata_in_converted_object() -> None:
    converted = _converted(_obj("a"))
    del converted["metadata"]
    with pytest.raises(conversion.ConversionError) as e:
        conversion.merge_converted([_obj("a")], [converted], desired_api_version="conv.example.com/v2")
    assert str(e.value).endswith(
        "returned invalid converted object at index 1: must have the same name: a != "
    )


@pytest.mark.parametrize(
    ("original", "converted", "error"),
    [
        pytest.param(
            {"metadata": {}},
            {"metadata": [1]},
            "invalid metadata of type []interface {} in converted object",
            id="metadata-list",
        ),
        pytest.param(
            {"metadata": {}},
            {"metadata": {"annotations": "x"}},
            "invalid metadata.annotations of type string in converted object",
            id="annotations-string",
        ),
        pytest.param({}, {"metadata": {"labels": {"a": "b"}}}, None, id="original-without-metadata"),
    ],
)
def test_restore_metadata(original: Obj, converted: Obj, error: str | None) -> None:
    if error is None:
        assert conversion.restore_metadata(original, converted)["metadata"] == {"labels": {"a": "b"}}
        return
    with pytest.raises(ValueError) as e:
        conversion.restore_metadata(original, converted)
    assert str(e.value) == error


def test_call_failed_text() -> None:
    err = conversion.call_failed(_obj("a"), 'Post "https://x/convert?timeout=30s": boom')
    assert str(err) == (
        f'{PREFIX} failed: conversion webhook for /, Kind= failed: Post "https://x/convert?timeout=30s": boom'
    )


@pytest.mark.parametrize(
    ("api_version", "kind", "text"),
    [
        pytest.param("g.io/v1", "K", "g.io/v1, Kind=K", id="group"),
        pytest.param("v1", "Pod", "/v1, Kind=Pod", id="core"),
        pytest.param(None, None, "/, Kind=", id="empty"),
    ],
)
def test_gvk_text(api_version: Any, kind: Any, text: str) -> None:
    assert conversion.gvk_text(api_version, kind) == text
