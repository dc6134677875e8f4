"""The default admission plugins that close the gap to upstream 1.32's list: TaintNodesByCondition,
StorageObjectInUseProtection, CertificateApproval, CertificateSigning and
CertificateSubjectRestriction — decided directly (tables) and through an in-process server."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from admission_helpers import ApiFactory
from cryptography.hazmat.primitives.asymmetric import ec

from kybernetes.api.resources import Resource, lookup
from kybernetes.apiserver import admission
from kybernetes.apiserver.admission.plugins import builtin_plugins
from kybernetes.apiserver.admission.plugins.certificates import (
    CertificateApproval,
    CertificateSigning,
    CertificateSubjectRestriction,
)
from kybernetes.apiserver.admission.plugins.node_taint import TaintNodesByCondition
from kybernetes.apiserver.admission.plugins.storage_protection import StorageObjectInUseProtection
from kybernetes.apiserver.authn import UserInfo
from kybernetes.cel import authz as cel_authz
from kybernetes.machinery import errors
from kybernetes.util import pki

Obj = dict[str, Any]
NOT_READY = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}
CSR_PATH = "/apis/certificates.k8s.io/v1/certificatesigningrequests"


def res(group: str, plural: str) -> Resource:
    version = "v1"
    r = lookup(group, version, plural)
    assert r is not None
    return r


def attrs(
    group: str,
    plural: str,
    op: str,
    obj: Obj | None,
    old: Obj | None = None,
    sub: str = "",
    user: UserInfo | None = None,
) -> admission.Attributes:
    name = str(((obj or old or {}).get("metadata") or {}).get("name") or "")
    return admission.Attributes(res(group, plural), op, "", name, obj, old, subresource=sub, user=user)


def ctx(authorize: cel_authz.AuthorizeFn | None = None) -> admission.AdmissionContext:
    return admission.AdmissionContext(cache=None, stores={}, authorize=authorize)  # type: ignore[arg-type]


def test_upstream_order() -> None:
    names = [p.name for p in builtin_plugins()]
    assert names == [
        "NamespaceLifecycle",
        "LimitRanger",
        "ServiceAccount",
        "TaintNodesByCondition",
        "PodSecurity",
        "Priority",
        "DefaultTolerationSeconds",
        "DefaultStorageClass",
        "StorageObjectInUseProtection",
        "CertificateApproval",
        "CertificateSigning",
        "CertificateSubjectRestriction",
        "DefaultIngressClass",
        "MutatingAdmissionWebhook",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionWebhook",
        "ResourceQuota",
    ]


# --- TaintNodesByCondition ---------------------------------------------------------------------
def node(taints: list[Obj] | None = None) -> Obj:
    spec: Obj = {} if taints is None else {"taints": taints}
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}, "spec": spec}


@pytest.mark.parametrize(
    ("op", "sub", "before", "after"),
    [
        pytest.param("CREATE", "", None, [NOT_READY], id="create-without-taints"),
        pytest.param(
            "CREATE",
            "",
            [{"key": "a", "effect": "NoExecute"}],
            [{"key": "a", "effect": "NoExecute"}, NOT_READY],
            id="appended-after-others",
        ),
        pytest.param(
            "CREATE",
            "",
            [{"key": NOT_READY["key"], "value": "x", "effect": "NoSchedule"}],
            [{"key": NOT_READY["key"], "value": "x", "effect": "NoSchedule"}],
            id="same-key-effect-kept",
        ),
        pytest.param(
            "CREATE",
            "",
            [{"key": NOT_READY["key"], "effect": "NoExecute"}],
            [{"key": NOT_READY["key"], "effect": "NoExecute"}, NOT_READY],
            id="other-effect-still-added",
        ),
        pytest.param("UPDATE", "", None, None, id="update-untouched"),
        pytest.param("CREATE", "status", None, None, id="subresource-untouched"),
    ],
)
async def test_taint_nodes_by_condition(
    op: str, sub: str, before: list[Obj] | None, after: list[Obj] | None
) -> None:
    obj = node(copy.deepcopy(before))
    await TaintNodesByCondition().admit(
        attrs("", "nodes", op, obj, node() if op == "UPDATE" else None, sub), ctx()
    )
    assert obj["spec"].get("taints") == after


async def test_taint_only_nodes() -> None:
    pod: Obj = {"metadata": {"name": "p"}, "spec": {}}
    await TaintNodesByCondition().admit(attrs("", "pods", "CREATE", pod), ctx())
    assert pod["spec"] == {}


# --- StorageObjectInUseProtection --------------------------------------------------------------
@pytest.mark.parametrize(
    ("plural", "op", "sub", "before", "after"),
    [
        pytest.param(
            "persistentvolumeclaims", "CREATE", "", None, ["kubernetes.io/pvc-protection"], id="pvc"
        ),
        pytest.param("persistentvolumes", "CREATE", "", None, ["kubernetes.io/pv-protection"], id="pv"),
        pytest.param(
            "persistentvolumeclaims",
            "CREATE",
            "",
            ["a/b"],
            ["a/b", "kubernetes.io/pvc-protection"],
            id="pvc-keeps-others",
        ),
        pytest.param(
            "persistentvolumes",
            "CREATE",
            "",
            ["kubernetes.io/pv-protection"],
            ["kubernetes.io/pv-protection"],
            id="pv-not-twice",
        ),
        pytest.param("persistentvolumeclaims", "UPDATE", "", None, None, id="update-untouched"),
        pytest.param("persistentvolumeclaims", "CREATE", "status", None, None, id="subresource-untouched"),
        pytest.param("configmaps", "CREATE", "", None, None, id="other-kind-untouched"),
    ],
)
async def test_storage_protection(
    plural: str, op: str, sub: str, before: list[str] | None, after: list[str] | None
) -> None:
    meta: Obj = {"name": "x", "namespace": "default"}
    if before is not None:
        meta["finalizers"] = list(before)
    obj: Obj = {"metadata": meta}
    await StorageObjectInUseProtection().admit(
        attrs("", plural, op, obj, {"metadata": {}} if op == "UPDATE" else None, sub), ctx()
    )
    assert obj["metadata"].get("finalizers") == after


# --- certificates --------------------------------------------------------------------------------
def csr(signer: str, organizations: tuple[str, ...] = (), *, status: Obj | None = None) -> Obj:
    pem = pki.build_csr(ec.generate_private_key(ec.SECP256R1()), "someone", organizations)
    out: Obj = {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": "csr"},
        "spec": {"request": base64.b64encode(pem).decode(), "signerName": signer, "usages": ["client auth"]},
    }
    if status is not None:
        out["status"] = status
    return out


def allowing(*names: str, verb: str) -> tuple[cel_authz.AuthorizeFn, list[cel_authz.Attributes]]:
    """An authorizer allowing `verb` on signers named `names`; it records every question."""
    asked: list[cel_authz.Attributes] = []

    def authorize(user: cel_authz.UserInfo, a: cel_authz.Attributes) -> tuple[str, str]:
        asked.append(a)
        ok = (
            a.verb == verb
            and a.resource == "signers"
            and a.api_group == "certificates.k8s.io"
            and a.name in names
        )
        return (cel_authz.ALLOW if ok else cel_authz.NO_OPINION), ""

    return authorize, asked


USER = UserInfo("alice", ("devs",))
APPROVED: Obj = {"conditions": [{"type": "Approved", "status": "True", "reason": "R"}]}


@pytest.mark.parametrize(
    ("allowed", "error"),
    [
        pytest.param(("example.com/thing",), "", id="exact-signer"),
        pytest.param(("example.com/*",), "", id="domain-wildcard"),
        pytest.param(
            ("example.com/other",),
            'certificatesigningrequests.certificates.k8s.io "csr" is forbidden: '
            'user not permitted to approve requests with signerName "example.com/thing"',
            id="other-signer",
        ),
    ],
)
async def test_certificate_approval(allowed: tuple[str, ...], error: str) -> None:
    authorize, asked = allowing(*allowed, verb="approve")
    a = attrs(
        "certificates.k8s.io",
        "certificatesigningrequests",
        "UPDATE",
        csr("example.com/thing", status=APPROVED),
        csr("example.com/thing"),
        "approval",
        USER,
    )
    if not error:
        await CertificateApproval().validate(a, ctx(authorize))
        return
    with pytest.raises(errors.StatusError) as e:
        await CertificateApproval().validate(a, ctx(authorize))
    assert (e.value.code, e.value.message) == (403, error)
    assert [q.name for q in asked] == ["example.com/thing", "example.com/*"]
    assert asked[0].user["username"] == "alice" and asked[0].api_version == "*"


async def test_approval_ignores_other_writes_and_missing_authorizer() -> None:
    deny, _ = allowing(verb="approve")
    plain = attrs(
        "certificates.k8s.io", "certificatesigningrequests", "UPDATE", csr("a.io/x"), csr("a.io/x"), "", USER
    )
    await CertificateApproval().validate(plain, ctx(deny))
    approval = attrs(
        "certificates.k8s.io",
        "certificatesigningrequests",
        "UPDATE",
        csr("a.io/x", status=APPROVED),
        csr("a.io/x"),
        "approval",
        USER,
    )
    await CertificateApproval().validate(approval, ctx(None))


@pytest.mark.parametrize(
    ("old_status", "new_status", "refused"),
    [
        pytest.param(APPROVED, {**APPROVED, "certificate": "Y2VydA=="}, True, id="certificate-set"),
        pytest.param(
            APPROVED,
            {"conditions": [*APPROVED["conditions"], {"type": "Failed", "status": "True"}]},
            True,
            id="conditions-changed",
        ),
        pytest.param(APPROVED, copy.deepcopy(APPROVED), False, id="nothing-changed"),
        pytest.param({}, {"conditions": []}, False, id="empty-equals-missing"),
    ],
)
async def test_certificate_signing(old_status: Obj, new_status: Obj, refused: bool) -> None:
    deny, _ = allowing(verb="sign")
    a = attrs(
        "certificates.k8s.io",
        "certificatesigningrequests",
        "UPDATE",
        csr("example.com/thing", status=new_status),
        csr("example.com/thing", status=old_status),
        "status",
        USER,
    )
    if not refused:
        await CertificateSigning().validate(a, ctx(deny))
        return
    with pytest.raises(errors.StatusError) as e:
        await CertificateSigning().validate(a, ctx(deny))
    assert e.value.code == 403
    assert e.value.message.endswith('user not permitted to sign requests with signerName "example.com/thing"')
    allow, _ = allowing("example.com/thing", verb="sign")
    await CertificateSigning().validate(a, ctx(allow))


@pytest.mark.parametrize(
    ("signer", "organizations", "error"),
    [
        pytest.param(
            "kubernetes.io/kube-apiserver-client",
            ("system:masters",),
            "use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed",
            id="masters-refused",
        ),
        pytest.param(
            "kubernetes.io/kube-apiserver-client",
            ("devs", "system:masters"),
            "use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed",
            id="masters-among-others",
        ),
        pytest.param("kubernetes.io/kube-apiserver-client", ("devs",), "", id="other-group"),
        pytest.param("example.com/thing", ("system:masters",), "", id="other-signer"),
    ],
)
async def test_certificate_subject_restriction(
    signer: str, organizations: tuple[str, ...], error: str
) -> None:
    a = attrs(
        "certificates.k8s.io", "certificatesigningrequests", "CREATE", csr(signer, organizations), user=USER
    )
    if not error:
        await CertificateSubjectRestriction().validate(a, ctx())
        return
    with pytest.raises(errors.StatusError) as e:
        await CertificateSubjectRestriction().validate(a, ctx())
    assert (e.value.code, e.value.message) == (
        403,
        f'certificatesigningrequests.certificates.k8s.io "csr" is forbidden: {error}',
    )


async def test_subject_restriction_unreadable_request() -> None:
    bad = csr("kubernetes.io/kube-apiserver-client")
    bad["spec"]["request"] = base64.b64encode(b"nonsense").decode()
    with pytest.raises(errors.StatusError) as e:
        await CertificateSubjectRestriction().validate(
            attrs("certificates.k8s.io", "certificatesigningrequests", "CREATE", bad), ctx()
        )
    assert "is forbidden: failed to parse CSR: " in e.value.message


# --- through the server ----------------------------------------------------------------------------
async def test_through_server(make_api: ApiFactory) -> None:
    api = await make_api(builtin_plugins())
    created = await api.ok("POST", "/api/v1/nodes", node())
    assert created["spec"]["taints"] == [NOT_READY]
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "c"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    created = await api.ok("POST", "/api/v1/namespaces/default/persistentvolumeclaims", pvc)
    assert created["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    pv = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": "v"},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": "/tmp/v"},
        },
    }
    created = await api.ok("POST", "/api/v1/persistentvolumes", pv)
    assert created["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]

    code, status = await api.req(
        "POST", CSR_PATH, csr("kubernetes.io/kube-apiserver-client", ("system:masters",))
    )
    assert code == 403, status
    assert status["reason"] == "Forbidden"
    assert status["message"] == (
        'certificatesigningrequests.certificates.k8s.io "csr" is forbidden: use of '
        "kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed"
    )

    await api.ok("POST", CSR_PATH, csr("example.com/thing"))
    deny, _ = allowing(verb="approve")
    api.ctx.authorize = lambda user, a: deny({"username": "anyone"}, a)
    approved = await api.ok("GET", CSR_PATH + "/csr")
    approved["status"] = copy.deepcopy(APPROVED)
    code, status = await api.req("PUT", CSR_PATH + "/csr/approval", approved)
    assert code == 403, status
    assert status["message"].endswith(
        'user not permitted to approve requests with signerName "example.com/thing"'
    )
