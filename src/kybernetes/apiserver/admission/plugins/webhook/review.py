"""The admission.k8s.io AdmissionReview exchange as pure functions: build the request, check the
response, turn it into a decision, apply a JSON patch.

Texts follow upstream's webhook dispatchers because users read them in kubectl's output:
a denial is ``admission webhook "<name>" denied the request: <message>`` with the webhook's
status code (at least 400); a call that fails is ``failed calling webhook "<name>": <reason>``,
which failurePolicy Fail turns into a 500 InternalError and Ignore into "skip this webhook".
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from dataclasses import dataclass, field
from typing import Any

import jsonpatch

from kybernetes.api import conversion
from kybernetes.api.resources import Resource
from kybernetes.apiserver.admission import CREATE, DELETE, Attributes
from kybernetes.machinery import errors

Obj = dict[str, Any]

SUPPORTED_VERSIONS = ("v1", "v1beta1")


class CallError(Exception):
    """upstream's ErrCallingWebhook: the call failed or the answer was unusable. failurePolicy
    decides whether the request fails (500) or the webhook is skipped."""

    def __init__(self, webhook: str, reason: str) -> None:
        super().__init__(f"failed calling webhook {json.dumps(webhook)}: {reason}")
        self.webhook = webhook
        self.reason = reason


def review_version(hook: Obj) -> str | None:
    """The first AdmissionReview version in the webhook's list that this server speaks."""
    for v in hook.get("admissionReviewVersions") or []:
        if v in SUPPORTED_VERSIONS:
            return str(v)
    return None


# --- versions ------------------------------------------------------------------------------------
def to_version(obj: Obj | None, source: Resource, target: Resource) -> Obj | None:
    """The object as the webhook's chosen version shows it (a copy)."""
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    if source.version == target.version:
        return out
    if target.group == "autoscaling" and target.version == "v1":
        out = conversion.hpa_v2_to_v1(out)
    elif target.group == "autoscaling" and target.version == "v2":
        out = conversion.hpa_v1_to_v2(out)
    out["apiVersion"] = target.group_version
    out["kind"] = target.kind
    return out


def from_version(obj: Obj, source: Resource, target: Resource) -> Obj:
    """Back from the webhook's version to the version admission works in."""
    return to_version(obj, target, source) or {}


# --- request -------------------------------------------------------------------------------------
def _gvk(r: Resource) -> Obj:
    return {"group": r.group, "version": r.version, "kind": r.kind}


def _gvr(r: Resource) -> Obj:
    return {"group": r.group, "version": r.version, "resource": r.plural}


def user_info(user: Any) -> Obj:
    """authentication/v1 UserInfo of the requester (an authn.UserInfo or None)."""
    if user is None:
        return {}
    out: Obj = {"username": user.name}
    if user.uid:
        out["uid"] = user.uid
    if user.groups:
        out["groups"] = list(user.groups)
    if user.extra:
        out["extra"] = {k: list(v) for k, v in user.extra.items()}
    return out


def operation_options(attrs: Attributes) -> Obj:
    """CreateOptions / UpdateOptions / DeleteOptions as meta.k8s.io/v1 objects."""
    kind = {CREATE: "CreateOptions", DELETE: "DeleteOptions"}.get(attrs.operation, "UpdateOptions")
    out: Obj = {"kind": kind, "apiVersion": "meta.k8s.io/v1"}
    if attrs.dry_run:
        out["dryRun"] = ["All"]
    return out


def build_request(attrs: Attributes, *, uid: str, target: Resource, version: str, namespace: str) -> Obj:
    """The AdmissionReview sent to a webhook that asked to see `target`."""
    req: Obj = {
        "uid": uid,
        "kind": _gvk(target),
        "resource": _gvr(target),
        "requestKind": _gvk(attrs.resource),
        "requestResource": _gvr(attrs.resource),
        "name": attrs.name,
        "namespace": namespace,
        "operation": attrs.operation,
        "userInfo": user_info(attrs.user),
        "object": to_version(attrs.obj, attrs.resource, target),
        "oldObject": to_version(attrs.old, attrs.resource, target),
        "dryRun": attrs.dry_run,
        "options": operation_options(attrs),
    }
    if attrs.subresource:
        req["subResource"] = attrs.subresource
        req["requestSubResource"] = attrs.subresource
    if not req["name"]:
        del req["name"]
    if not req["namespace"]:
        del req["namespace"]
    return {"kind": "AdmissionReview", "apiVersion": f"admission.k8s.io/{version}", "request": req}


# --- response ------------------------------------------------------------------------------------
@dataclass(slots=True)
class Decision:
    allowed: bool
    status: Obj | None = None
    patch: list[Any] | None = None  # decoded JSON patch operations
    warnings: list[str] = field(default_factory=list)


def verify_response(body: Any, *, uid: str, version: str, mutating: bool) -> Decision:
    """Check a webhook's AdmissionReview answer; raises ValueError with upstream's texts."""
    if not isinstance(body, dict):
        raise ValueError("couldn't decode the response as an AdmissionReview")
    resp = body.get("response")
    if not isinstance(resp, dict):
        raise ValueError("webhook response was absent")
    patch_raw = resp.get("patch")
    patch_type = resp.get("patchType")
    if version == "v1":
        if resp.get("uid") != uid:
            raise ValueError(f"expected response.uid={json.dumps(uid)}, got {json.dumps(resp.get('uid') or '')}")
        got = f"{body.get('apiVersion', '')}, Kind={body.get('kind', '')}"
        if got != "admission.k8s.io/v1, Kind=AdmissionReview":
            raise ValueError(f"expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got {got}")
        if mutating:
            if patch_raw and patch_type is None:
                raise ValueError("webhook returned response.patch but not response.patchType")
            if not patch_raw and patch_type is not None:
                raise ValueError("webhook returned response.patchType but not response.patch")
            if patch_type is not None and not patch_type:
                raise ValueError('webhook returned invalid response.patchType of ""')
        else:
            if patch_raw:
                raise ValueError("validating webhook may not return response.patch")
            if patch_type is not None:
                raise ValueError("validating webhook may not return response.patchType")
    elif patch_raw and mutating:
        patch_type = "JSONPatch"  # v1beta1 never checked the type; JSONPatch is the only one
    warnings = [str(w) for w in resp.get("warnings") or []]
    status = resp.get("status") if isinstance(resp.get("status"), dict) else None
    decision = Decision(bool(resp.get("allowed")), status, None, warnings)
    if mutating and patch_raw:
        if patch_type != "JSONPatch":
            raise ValueError(f"unsupported patch type {json.dumps(patch_type)}")
        decision.patch = decode_patch(patch_raw)
    return decision


def decode_patch(raw: Any) -> list[Any]:
    """response.patch: base64 of a JSON array of RFC 6902 operations."""
    try:
        text = base64.b64decode(str(raw), validate=True)
        ops = json.loads(text)
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"received undecodable patch in webhook response: {e}") from None
    if not isinstance(ops, list):
        raise ValueError("received undecodable patch in webhook response: the patch is not a JSON array")
    return ops


def apply_patch(obj: Obj, ops: list[Any]) -> Obj:
    """The patched copy; raises StatusError 500 as upstream does when the patch does not apply."""
    try:
        result = jsonpatch.JsonPatch(ops).apply(copy.deepcopy(obj))
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError,
            IndexError, ValueError) as e:
        raise errors.internal(str(e)) from None
    if not isinstance(result, dict):
        raise errors.internal("the patched object is not a JSON object")
    return result


def denial(webhook: str, status: Obj | None) -> errors.StatusError:
    """webhook errors.ToStatusErr: the webhook's status with a prefixed message, code >= 400."""
    status = dict(status or {})
    denied_by = f"admission webhook {json.dumps(webhook)} denied the request"
    code = status.get("code")
    code = code if isinstance(code, int) and code >= 400 else 400
    if status.get("message"):
        message = f"{denied_by}: {status['message']}"
    elif status.get("reason"):
        message = f"{denied_by}: {status['reason']}"
    else:
        message = f"{denied_by} without explanation"
    details = status.get("details") if isinstance(status.get("details"), dict) else None
    return errors.StatusError(code, str(status.get("reason") or ""), message, details)


def dry_run_unsupported(webhook: str) -> errors.StatusError:
    return errors.bad_request(f"admission webhook {json.dumps(webhook)} does not support dry run")


def replace_in_place(target: Obj, new: Obj) -> None:
    """Make `target` equal to `new` keeping the identity of target and of its metadata dict
    (the store holds references to both while admission runs)."""
    meta = target.get("metadata")
    new_meta = new.get("metadata")
    target.clear()
    target.update(new)
    if isinstance(meta, dict) and isinstance(new_meta, dict):
        meta.clear()
        meta.update(new_meta)
        target["metadata"] = meta
