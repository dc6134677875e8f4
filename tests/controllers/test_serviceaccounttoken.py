"""The token controller's decision for one legacy token Secret (table-driven)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from kybernetes.controllers.serviceaccounttoken import NAME_ANNOTATION, UID_ANNOTATION, is_token_secret, plan

CA = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"
ACCOUNT = {"metadata": {"name": "bot", "namespace": "ci", "uid": "sa-1"}}


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def secret(annotations: dict[str, str] | None = None, data: dict[str, str] | None = None) -> dict[str, Any]:
    return {"type": "kubernetes.io/service-account-token", "data": data or {},
            "metadata": {"name": "bot-token", "namespace": "ci", "annotations": {NAME_ANNOTATION: "bot", **(annotations or {})}}}


def sign(ns: str, name: str, uid: str, secret_name: str) -> str:
    return f"jwt:{ns}:{name}:{uid}:{secret_name}"


FULL = {"token": b64("old"), "namespace": b64("ci"), "ca.crt": b64(CA)}


@pytest.mark.parametrize(("sec", "account", "action", "data"), [
    pytest.param(secret(), ACCOUNT, "update",
                 {"token": b64("jwt:ci:bot:sa-1:bot-token"), "namespace": b64("ci"), "ca.crt": b64(CA)}, id="new-secret-filled"),
    pytest.param(secret({UID_ANNOTATION: "sa-1"}, FULL), ACCOUNT, "keep", None, id="complete-kept"),
    pytest.param(secret({UID_ANNOTATION: "sa-1"}, {"token": b64("old")}), ACCOUNT, "update",
                 FULL, id="missing-ca-and-namespace-added-token-kept"),
    pytest.param(secret(), None, "delete", None, id="account-missing"),
    pytest.param(secret({UID_ANNOTATION: "sa-0"}, FULL), ACCOUNT, "delete", None, id="account-recreated"),
])
def test_plan(sec: dict[str, Any], account: dict[str, Any] | None, action: str, data: dict[str, str] | None) -> None:
    got, new = plan(sec, account, CA, sign)
    assert got == action
    if data is not None:
        assert new is not None and new["data"] == data
        assert new["metadata"]["annotations"][UID_ANNOTATION] == "sa-1"


def test_is_token_secret() -> None:
    assert is_token_secret(secret())
    assert not is_token_secret({"type": "Opaque", "metadata": {"annotations": {NAME_ANNOTATION: "bot"}}})
    assert not is_token_secret({"type": "kubernetes.io/service-account-token", "metadata": {}})
