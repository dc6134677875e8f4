"""The CertificateSigningRequest admission plugins: who may approve, who may sign, what may be asked.

- CertificateApproval: a write to ``/approval`` needs the verb ``approve`` on the ``signers``
  resource (group certificates.k8s.io) named by the request's signerName.
- CertificateSigning: a write to ``/status`` that changes the certificate or the conditions needs
  ``sign`` on the signer named by the stored request.
- CertificateSubjectRestriction: a request for the ``kubernetes.io/kube-apiserver-client`` signer
  may not ask for the group ``system:masters`` (it would make a cluster admin).

A signer permission is also granted by the wildcard name ``<domain>/*`` (e.g. ``example.com/*``),
asked when the exact name is not allowed. The question goes to the server's authorizer through
``AdmissionContext.authorize``; without one (no authorization set up) everything is allowed, as
is a write the server makes itself. Refusals are 403 with upstream's messages.
"""

from __future__ import annotations

import base64
import binascii

from kybernetes.apiserver.admission import CREATE, UPDATE, AdmissionContext, Attributes, Obj, Plugin
from kybernetes.apiserver.admission.plugins._common import forbidden, is_resource
from kybernetes.apiserver.admission.plugins.webhook.review import user_info
from kybernetes.cel import authz as cel_authz
from kybernetes.util import pki

GROUP = "certificates.k8s.io"
KUBE_APISERVER_CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client"
MASTERS_GROUP = "system:masters"


def signer_name(csr: Obj | None) -> str:
    spec = (csr or {}).get("spec")
    return str(spec.get("signerName") or "") if isinstance(spec, dict) else ""


def signer_attributes(user: Obj, verb: str, name: str) -> cel_authz.Attributes:
    return cel_authz.Attributes(
        user=user,
        verb=verb,
        resource_request=True,
        api_group=GROUP,
        api_version="*",
        resource="signers",
        name=name,
    )


def may_use_signer(authorize: cel_authz.AuthorizeFn | None, user: Obj, verb: str, signer: str) -> bool:
    """Whether `user` may `verb` the signer, by its exact name or by `<domain>/*`."""
    if authorize is None:
        return True
    domain = signer.split("/", 1)[0]
    for name in (signer, f"{domain}/*"):
        try:
            decision = authorize(user, signer_attributes(user, verb, name))
        except Exception:  # an authorizer that fails grants nothing
            continue
        if decision and (decision[0] is True or decision[0] == cel_authz.ALLOW):
            return True
    return False


def status_changed(old: Obj | None, new: Obj | None) -> bool:
    """Whether a status write changes status.certificate or status.conditions."""

    def part(obj: Obj | None, key: str) -> object:
        status = (obj or {}).get("status")
        return status.get(key) or None if isinstance(status, dict) else None

    return any(part(old, k) != part(new, k) for k in ("certificate", "conditions"))


def requested_organizations(csr: Obj) -> tuple[str, ...]:
    """The subject's O values; ValueError when spec.request is no readable CSR."""
    raw = (csr.get("spec") or {}).get("request") or ""
    try:
        pem = base64.b64decode(str(raw), validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError(str(e)) from e
    return pki.requested_names(pki.parse_csr(pem)).organizations


class CertificateApproval(Plugin):
    name = "CertificateApproval"
    validating = True

    async def validate(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        if (
            attrs.operation != UPDATE
            or attrs.subresource != "approval"
            or not is_resource(attrs, GROUP, "certificatesigningrequests")
        ):
            return
        signer = signer_name(attrs.obj)
        if not may_use_signer(ctx.authorize, user_info(attrs.user), "approve", signer):
            raise forbidden(attrs, f'user not permitted to approve requests with signerName "{signer}"')


class CertificateSigning(Plugin):
    name = "CertificateSigning"
    validating = True

    async def validate(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        if (
            attrs.operation != UPDATE
            or attrs.subresource != "status"
            or not is_resource(attrs, GROUP, "certificatesigningrequests")
            or not status_changed(attrs.old, attrs.obj)
        ):
            return
        signer = signer_name(attrs.old)
        if not may_use_signer(ctx.authorize, user_info(attrs.user), "sign", signer):
            raise forbidden(attrs, f'user not permitted to sign requests with signerName "{signer}"')


class CertificateSubjectRestriction(Plugin):
    name = "CertificateSubjectRestriction"
    validating = True

    async def validate(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        del ctx
        if (
            attrs.operation != CREATE
            or attrs.subresource
            or not isinstance(attrs.obj, dict)
            or not is_resource(attrs, GROUP, "certificatesigningrequests")
        ):
            return
        signer = signer_name(attrs.obj)
        if signer != KUBE_APISERVER_CLIENT_SIGNER:
            return
        try:
            organizations = requested_organizations(attrs.obj)
        except ValueError as e:
            raise forbidden(attrs, f"failed to parse CSR: {e}") from e
        if MASTERS_GROUP in organizations:
            raise forbidden(attrs, f"use of {signer} signer with {MASTERS_GROUP} group is not allowed")
