"""ServiceAccount: default account name, existence of named accounts, token volume mounting."""

from __future__ import annotations

import random
from typing import Any

import pytest
from admission_helpers import Api, ApiFactory, container, pod

from kybernetes.apiserver.admission.plugins import ServiceAccount
from kybernetes.apiserver.admission.plugins.service_account import TOKEN_MOUNT_PATH, mount_token

NS = "/api/v1/namespaces/default"


@pytest.fixture
async def api(make_api: ApiFactory) -> Api:
    return await make_api([ServiceAccount(rng=random.Random(7))])


async def test_default_account_and_token_volume(api: Api) -> None:
    body = pod("p", container("a"))
    body["spec"]["initContainers"] = [container("i")]
    got = await api.ok("POST", f"{NS}/pods", body)
    spec = got["spec"]
    assert spec["serviceAccountName"] == "default"
    (volume,) = spec["volumes"]
    assert volume["name"].startswith("kube-api-access-") and len(volume["name"]) == len("kube-api-access-") + 5
    sources = volume["projected"]["sources"]
    assert sources[0]["serviceAccountToken"] == {"path": "token", "expirationSeconds": 3607}
    assert sources[1]["configMap"]["name"] == "kube-root-ca.crt"
    assert sources[2]["downwardAPI"]["items"][0]["fieldRef"]["fieldPath"] == "metadata.namespace"
    assert volume["projected"]["defaultMode"] == 420
    for c in (spec["containers"][0], spec["initContainers"][0]):
        assert c["volumeMounts"] == [{"name": volume["name"], "readOnly": True, "mountPath": TOKEN_MOUNT_PATH}]


async def test_named_account_must_exist(api: Api) -> None:
    code, st = await api.req("POST", f"{NS}/pods", pod("p", serviceAccountName="robot"))
    assert code == 403 and st["reason"] == "Forbidden"
    assert st["message"] == ('pods "p" is forbidden: error looking up service account default/robot: '
                             'serviceaccount "robot" not found')
    await api.ok("POST", f"{NS}/serviceaccounts", {"metadata": {"name": "robot"},
                                                   "imagePullSecrets": [{"name": "regcred"}]})
    got = await api.ok("POST", f"{NS}/pods", pod("p", serviceAccountName="robot"))
    assert got["spec"]["serviceAccountName"] == "robot"
    assert got["spec"]["imagePullSecrets"] == [{"name": "regcred"}]


@pytest.mark.parametrize(("pod_flag", "sa_flag", "mounted"), [
    (None, None, True), (False, None, False), (None, False, False), (True, False, True), (False, True, False),
], ids=["default", "pod-off", "sa-off", "pod-wins-on", "pod-wins-off"])
async def test_automount_preference(api: Api, pod_flag: bool | None, sa_flag: bool | None, mounted: bool) -> None:
    sa: dict[str, Any] = {"metadata": {"name": "robot"}}
    if sa_flag is not None:
        sa["automountServiceAccountToken"] = sa_flag
    await api.ok("POST", f"{NS}/serviceaccounts", sa)
    extra: dict[str, Any] = {"serviceAccountName": "robot"}
    if pod_flag is not None:
        extra["automountServiceAccountToken"] = pod_flag
    got = await api.ok("POST", f"{NS}/pods", pod("p", **extra))
    assert bool(got["spec"].get("volumes")) is mounted


def test_existing_mount_path_is_respected() -> None:
    spec: dict[str, Any] = {"containers": [
        {"name": "a", "volumeMounts": [{"name": "mine", "mountPath": TOKEN_MOUNT_PATH}]},
        {"name": "b"}]}
    mount_token(spec, "abcde")
    assert spec["containers"][0]["volumeMounts"] == [{"name": "mine", "mountPath": TOKEN_MOUNT_PATH}]
    assert spec["containers"][1]["volumeMounts"][0]["name"] == "kube-api-access-abcde"
    assert [v["name"] for v in spec["volumes"]] == ["kube-api-access-abcde"]


async def test_mirror_pods_may_not_reference_accounts(api: Api) -> None:
    body = pod("m", serviceAccountName="robot")
    body["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "x"}
    code, st = await api.req("POST", f"{NS}/pods", body)
    assert code == 403 and st["message"] == 'pods "m" is forbidden: a mirror pod may not reference service accounts'
    body["spec"].pop("serviceAccountName")
    got = await api.ok("POST", f"{NS}/pods", body)
    assert "serviceAccountName" not in got["spec"] and "volumes" not in got["spec"]
