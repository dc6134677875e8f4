"""NamespaceLifecycle over HTTP: missing and terminating namespaces, immortal namespaces."""

from __future__ import annotations

import pytest
from admission_helpers import Api, ApiFactory, namespace, pod

from kybernetes.apiserver.admission.plugins import NamespaceLifecycle


@pytest.fixture
async def api(make_api: ApiFactory) -> Api:
    return await make_api([NamespaceLifecycle()])


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public"])
async def test_immortal_namespaces_cannot_be_deleted(api: Api, name: str) -> None:
    code, st = await api.req("DELETE", f"/api/v1/namespaces/{name}")
    assert code == 403 and st["reason"] == "Forbidden"
    assert st["message"] == f'namespaces "{name}" is forbidden: this namespace may not be deleted'
    assert st["details"] == {"name": name, "kind": "namespaces"}


async def test_other_namespaces_can_be_deleted(api: Api) -> None:
    await api.ok("POST", "/api/v1/namespaces", namespace("gone"))
    code, _ = await api.req("DELETE", "/api/v1/namespaces/gone")
    assert code == 200
    code, _ = await api.req("DELETE", "/api/v1/namespaces/kube-node-lease")
    assert code == 200


async def test_missing_namespace_is_not_found(api: Api) -> None:
    code, st = await api.req("POST", "/api/v1/namespaces/nowhere/pods", pod("p"))
    assert code == 404 and st["message"] == 'namespaces "nowhere" not found'


async def test_terminating_namespace_refuses_new_content(api: Api) -> None:
    await api.ok("POST", "/api/v1/namespaces", namespace("ending"))
    await api.ok("POST", "/api/v1/namespaces/ending/configmaps",
                 {"metadata": {"name": "keep"}, "data": {}})
    ns = await api.ok("GET", "/api/v1/namespaces/ending")
    ns["metadata"]["finalizers"] = ["example.com/hold"]
    await api.ok("PUT", "/api/v1/namespaces/ending", ns)
    await api.req("DELETE", "/api/v1/namespaces/ending")
    code, st = await api.req("POST", "/api/v1/namespaces/ending/configmaps", {"metadata": {"name": "new"}, "data": {}})
    assert code == 403 and st["reason"] == "Forbidden"
    assert st["message"] == ('configmaps "new" is forbidden: unable to create new content in namespace ending '
                             "because it is being terminated")
    # updates of existing content stay allowed
    cm = await api.ok("GET", "/api/v1/namespaces/ending/configmaps/keep")
    cm["data"] = {"x": "1"}
    await api.ok("PUT", "/api/v1/namespaces/ending/configmaps/keep", cm)
