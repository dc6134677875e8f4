"""CustomResourceDefinition conversion webhooks: the decisions, without any I/O.

A CRD whose ``spec.conversion.strategy`` is ``Webhook`` has its objects converted between
versions by a webhook: the API server posts a ``ConversionReview`` (``desiredAPIVersion`` and
the ``objects`` to convert) and takes ``response.convertedObjects``. This module

- validates and defaults the ``spec.conversion`` of a CRD (upstream's field paths and texts,
  which name the *internal* fields ``webhookClientConfig`` and ``conversionReviewVersions``);
- picks the review version, builds the request and checks the answer;
- puts converted objects back in place, checking that apiVersion, kind, name, namespace and uid
  are what they must be and keeping only label and annotation changes of the metadata (every
  other metadata field is restored from the object sent).

Errors carry the texts of apiextensions-apiserver 1.32, whose generic converter wraps the
webhook's own error: ``conversion for <group>/<version>, Kind=<kind> failed: conversion webhook
for /, Kind= failed: <reason>`` (the inner converter sees a list without apiVersion/kind, so it
prints an empty group/version/kind). The REST layer turns them into a 500 Status without reason,
as upstream's handler does for errors that are no API status. ``conversion_client`` does the
HTTP call and drives these functions.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson

from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import (
    child,
    forbidden,
    index,
    invalid,
    is_dns1035_label,
    not_supported,
    required,
    validate_annotations,
    validate_labels,
)

Obj = dict[str, Any]
REVIEW_GROUP = "apiextensions.k8s.io"
ACCEPTED_REVIEW_VERSIONS = ("v1", "v1beta1")  # what this server understands, in upstream's sorted order
TIMEOUT_SECONDS = 30  # upstream's webhook client default; conversion webhooks have no timeout field
_STRATEGIES = ("None", "Webhook")


class ConversionError(Exception):
    """A failed conversion; ``str()`` is upstream's full message."""


# --- CRD defaults and validation -------------------------------------------------------------------


def default_conversion(spec: Obj) -> None:
    """v1 defaulting inside spec.conversion: a service reference's port is 443."""
    conv = spec.get("conversion")
    if not isinstance(conv, dict):
        return
    webhook = conv.get("webhook")
    service = (webhook.get("clientConfig") or {}).get("service") if isinstance(webhook, dict) else None
    if isinstance(service, dict) and service.get("port") is None:
        service["port"] = 443


def validate_conversion(spec: Obj) -> list[Cause]:
    """Upstream's validation of spec.conversion (create: an invalid caBundle is allowed)."""
    from kybernetes.apiserver.strategies.admissionregistration import validate_service, validate_url

    conv = spec.get("conversion")
    if not isinstance(conv, dict):
        return []
    path = "spec.conversion"
    out: list[Cause] = []
    strategy = conv.get("strategy")
    webhook = conv.get("webhook") if isinstance(conv.get("webhook"), dict) else None
    client_config = (webhook or {}).get("clientConfig")
    review_versions = (webhook or {}).get("conversionReviewVersions") or []
    if strategy != "None" and spec.get("preserveUnknownFields") is True:
        out.append(
            invalid(
                child(path, "strategy"), strategy or "", "must be None if spec.preserveUnknownFields is true"
            )
        )
    if not strategy:
        out.append(required(child(path, "strategy")))
    elif strategy not in _STRATEGIES:
        out.append(not_supported(child(path, "strategy"), strategy, _STRATEGIES))
    cc_path = child(path, "webhookClientConfig")
    if strategy == "Webhook":
        if not isinstance(client_config, dict):
            out.append(required(cc_path, "required when strategy is set to Webhook"))
        else:
            url, service = client_config.get("url"), client_config.get("service")
            if (url is None) == (service is None):
                out.append(required(cc_path, "exactly one of url or service is required"))
            elif url is not None:
                out += validate_url(str(url), child(cc_path, "url"))
            elif isinstance(service, dict):
                out += validate_service(service, child(cc_path, "service"))
        out += _validate_review_versions(review_versions, child(path, "conversionReviewVersions"))
    else:
        if client_config is not None:
            out.append(forbidden(cc_path, "should not be set when strategy is not set to Webhook"))
        if review_versions:
            out.append(
                forbidden(
                    child(path, "conversionReviewVersions"),
                    "should not be set when strategy is not set to Webhook",
                )
            )
    return out


def _validate_review_versions(versions: Any, path: str) -> list[Cause]:
    if not isinstance(versions, list) or not versions:
        return [required(path)]
    out: list[Cause] = []
    seen: set[str] = set()
    for i, v in enumerate(versions):
        v = str(v)
        if v in seen:
            out.append(invalid(index(path, i), v, "duplicate version"))
            continue
        seen.add(v)
        out += [invalid(index(path, i), v, m) for m in is_dns1035_label(v)]
    if not seen & set(ACCEPTED_REVIEW_VERSIONS):
        out.append(
            invalid(
                path,
                [str(v) for v in versions],
                "must include at least one of " + ", ".join(ACCEPTED_REVIEW_VERSIONS),
            )
        )
    return out


def webhook_of(crd: Obj) -> Obj | None:
    """spec.conversion.webhook when the CRD converts by webhook, else None."""
    conv = (crd.get("spec") or {}).get("conversion") or {}
    if conv.get("strategy") != "Webhook" or not isinstance(conv.get("webhook"), dict):
        return None
    return dict(conv["webhook"])


# --- the review --------------------------------------------------------------------------------------


def review_version(webhook: Obj) -> str | None:
    """The first of the webhook's conversionReviewVersions that this server speaks."""
    for v in webhook.get("conversionReviewVersions") or []:
        if v in ACCEPTED_REVIEW_VERSIONS:
            return str(v)
    return None


def build_review(version: str, *, uid: str, desired_api_version: str, objects: list[Obj]) -> Obj:
    """The ConversionReview to post (upstream sends an empty response stanza along)."""
    return {
        "kind": "ConversionReview",
        "apiVersion": f"{REVIEW_GROUP}/{version}",
        "request": {"uid": uid, "desiredAPIVersion": desired_api_version, "objects": objects},
        "response": {"uid": "", "convertedObjects": None, "result": {"metadata": {}}},
    }


def gvk_text(api_version: Any, kind: Any) -> str:
    """Go's GroupVersionKind.String(): ``group/version, Kind=kind`` ("/v1" for the core group)."""
    av = api_version if isinstance(api_version, str) else ""
    group, _, version = av.rpartition("/")
    return f"{group}/{version}, Kind={kind if isinstance(kind, str) else ''}"


def converted_objects(answer: Any, *, version: str, uid: str) -> list[Any]:
    """``response.convertedObjects`` of a webhook's answer; raises ValueError with upstream's
    reason when the answer is no successful review (v1beta1 answers skip the kind and uid checks)."""
    if not isinstance(answer, dict):
        raise ValueError(f"unrecognized response type: {type(answer).__name__}")
    if version == "v1":
        expected = f"{REVIEW_GROUP}/v1"
        if answer.get("apiVersion") != expected or answer.get("kind") != "ConversionReview":
            raise ValueError(
                f"expected webhook response of {gvk_text(expected, 'ConversionReview')}, "
                f"got {gvk_text(answer.get('apiVersion'), answer.get('kind'))}"
            )
    response = answer.get("response")
    if not isinstance(response, dict):
        raise ValueError("no response provided")
    if version == "v1" and response.get("uid") != uid:
        got = response.get("uid")
        raise ValueError(
            f"expected response.uid={_go_q(uid)}, got {_go_q(got if isinstance(got, str) else '')}"
        )
    result: Obj = response["result"] if isinstance(response.get("result"), dict) else {}
    if result.get("status") != "Success":
        if result.get("message"):
            raise ValueError(str(result["message"]))
        raise ValueError(f"response.result.status was '{result.get('status') or ''}', not 'Success'")
    objects = response.get("convertedObjects")
    return list(objects) if isinstance(objects, list) else []


def _go_q(s: str) -> str:
    return orjson.dumps(s).decode()


def _go_type(value: Any) -> str:
    """Go's %T of a decoded JSON value."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "float64" if isinstance(value, float) else "int64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    return "map[string]interface {}"


# --- putting converted objects in place -------------------------------------------------------------


def needs_webhook(obj: Obj, desired_api_version: str) -> bool:
    return obj.get("apiVersion") != desired_api_version


def merge_converted(objects: list[Obj], converted: list[Any], *, desired_api_version: str) -> list[Obj]:
    """`objects` with those not yet in the desired version replaced by the webhook's answer, in
    order. Raises ConversionError (upstream's messages) for a wrong count, apiVersion, kind,
    name, namespace or uid, or invalid labels/annotations."""
    todo = [o for o in objects if needs_webhook(o, desired_api_version)]
    if not todo:
        return list(objects)
    prefix = f"conversion for {gvk_text(todo[0].get('apiVersion'), todo[0].get('kind'))}"
    if len(converted) != len(todo):
        raise ConversionError(f"{prefix} returned {len(converted)} objects, expected {len(todo)}")
    out: list[Obj] = []
    n = 0
    for original in objects:
        if not needs_webhook(original, desired_api_version):
            out.append(original)
            continue
        item = converted[n]
        n += 1  # upstream counts before it reports, so the first object is "index 1"
        if not isinstance(item, dict) or not isinstance(item.get("kind"), str) or not item["kind"]:
            raise ConversionError(
                f"{prefix} failed: Object 'Kind' is missing in '{orjson.dumps(item).decode()}'"
            )
        at = f"{prefix} returned invalid converted object at index {n}"
        got_av = item.get("apiVersion") if isinstance(item.get("apiVersion"), str) else ""
        if got_av != desired_api_version:
            raise ConversionError(
                f"{at}: invalid groupVersion (expected {desired_api_version}, received {got_av})"
            )
        if item["kind"] != original.get("kind"):
            raise ConversionError(
                f"{at}: invalid kind (expected {original.get('kind')}, received {item['kind']})"
            )
        problem = _identity_problem(original, item)
        if problem:
            raise ConversionError(f"{at}: {problem}")
        try:
            out.append(restore_metadata(original, item))
        except ValueError as e:
            raise ConversionError(f"{prefix} returned invalid metadata in object at index {n}: {e}") from None
    return out


def _meta_str(obj: Obj, key: str) -> str:
    meta = obj.get("metadata")
    value = meta.get(key) if isinstance(meta, dict) else None
    return value if isinstance(value, str) else ""


def _identity_problem(original: Obj, converted: Obj) -> str:
    for key, label in (("name", "name"), ("namespace", "namespace"), ("uid", "UID")):
        a, b = _meta_str(original, key), _meta_str(converted, key)
        if a != b:
            return f"must have the same {label}: {a} != {b}"
    return ""


def restore_metadata(original: Obj, converted: Obj) -> Obj:
    """The converted object with the original's metadata, except labels and annotations, which
    the webhook may change (then they must be valid). Raises ValueError with upstream's reason."""
    out = dict(converted)
    if "metadata" not in converted:
        if "metadata" in original:
            raise ValueError("missing metadata in converted object")
        return out
    new_meta = converted["metadata"]
    if not isinstance(new_meta, dict):
        raise ValueError(f"invalid metadata of type {_go_type(new_meta)} in converted object")
    old_meta = original.get("metadata", {})
    if not isinstance(old_meta, dict):
        raise ValueError(f"invalid metadata of type {_go_type(old_meta)} in input object")
    result = copy.deepcopy(old_meta)
    for fld in ("labels", "annotations"):
        value = new_meta.get(fld)
        if value is None:
            result.pop(fld, None)
            continue
        if not isinstance(value, dict):
            raise ValueError(f"invalid metadata.{fld} of type {_go_type(value)} in converted object")
        before = old_meta.get(fld) if isinstance(old_meta.get(fld), dict) else {}
        for k, v in value.items():
            if not isinstance(v, str):
                raise ValueError(
                    f"metadata.{fld}[{k}] must be a string, but is {_go_type(v)} in converted object"
                )
        if value != before:
            causes = (
                validate_labels(value, "metadata.labels")
                if fld == "labels"
                else validate_annotations(value, "metadata.annotation")
            )
            if causes:
                texts = [f"{c.field}: {c.message}" for c in causes]
                raise ValueError(texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]")
        result[fld] = dict(value)
    out["metadata"] = result
    return out


def call_failed(first: Obj, reason: str) -> ConversionError:
    """The error for a webhook that could not be called or gave no usable review."""
    return ConversionError(
        f"conversion for {gvk_text(first.get('apiVersion'), first.get('kind'))} failed: "
        f"conversion webhook for /, Kind= failed: {reason}"
    )
