"""The CSR signer: issues approved kubelet client and serving certificates from the cluster CA.

Signers served (``plan``, pure):

- kubernetes.io/kube-apiserver-client-kubelet: a clientAuth certificate (kubelets' identity
  towards the API server);
- kubernetes.io/kubelet-serving: a serverAuth certificate for the kubelet API on :10250.

A request is signed once it is Approved (not Denied, not Failed, no certificate yet) and its subject
and usages fit the signer; one that does not fit gets a Failed condition (reason
SignerValidationFailure) instead. The lifetime is the signing duration (upstream's
--cluster-signing-duration: one year, or ``$KYB_CLUSTER_SIGNING_DURATION`` / the loop's option
``duration``, a Go duration such as "60s" for tests of certificate rotation), shortened by
spec.expirationSeconds (at least 10 minutes), and never past the CA's own expiry. Certificates are
backdated by 5 minutes for clock skew, a short-lived one (under 8 hours) by at most a tenth of its
lifetime: a holder that rotates at 70-90 % of notBefore..notAfter would otherwise rotate at once.

The CA comes from files: the loop's options ``cert_file``/``key_file``, else
``$KYB_CLUSTER_SIGNING_CERT_FILE`` and ``$KYB_CLUSTER_SIGNING_KEY_FILE`` (`kyb server` sets them to
its data dir's tls/ca.crt and tls/ca.key). Without them the loop signs nothing.
"""

from __future__ import annotations

import base64
import datetime
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kybernetes.client import Controller, is_conflict, is_not_found
from kybernetes.controllers import rfc3339
from kybernetes.controllers.certificates import (
    CSRS,
    KUBELET_CLIENT_SIGNER,
    KUBELET_SERVING_SIGNER,
    Obj,
    has_condition,
    node_subject_problem,
    parsed_request,
    usages_problem,
)
from kybernetes.controllers.manager import ControllerContext, register
from kybernetes.machinery import bootstraptoken
from kybernetes.util import pki

log = logging.getLogger(__name__)

CERT_ENV = "KYB_CLUSTER_SIGNING_CERT_FILE"
KEY_ENV = "KYB_CLUSTER_SIGNING_KEY_FILE"
DEFAULT_DURATION = datetime.timedelta(days=365)
MIN_DURATION = datetime.timedelta(seconds=600)
SIGNERS = (KUBELET_CLIENT_SIGNER, KUBELET_SERVING_SIGNER)
DURATION_ENV = "KYB_CLUSTER_SIGNING_DURATION"
SHORT_LIVED = datetime.timedelta(hours=8)


@dataclass(frozen=True, slots=True)
class Plan:
    action: str  # "sign", "fail" or "skip"
    server: bool = False
    validity: datetime.timedelta = DEFAULT_DURATION
    message: str = ""
    backdate: datetime.timedelta = pki.CLOCK_SKEW


def backdate_for(validity: datetime.timedelta) -> datetime.timedelta:
    return pki.CLOCK_SKEW if validity >= SHORT_LIVED else min(pki.CLOCK_SKEW, validity / 10)


def signing_duration(options: dict[str, Any]) -> datetime.timedelta:
    """The configured lifetime of issued certificates (DEFAULT_DURATION unless set; ValueError if bad)."""
    text = str(options.get("duration") or os.environ.get(DURATION_ENV, "")).strip()
    if not text:
        return DEFAULT_DURATION
    duration = bootstraptoken.parse_ttl(text)
    if duration <= datetime.timedelta(0):
        raise ValueError(f"the signing duration must be positive, not {text!r}")
    return duration


def plan(csr: Obj, *, duration: datetime.timedelta = DEFAULT_DURATION) -> Plan:
    spec = csr.get("spec") or {}
    signer = spec.get("signerName")
    if signer not in SIGNERS:
        return Plan("skip", message="not our signer")
    if not has_condition(csr, "Approved") or has_condition(csr, "Denied") or has_condition(csr, "Failed"):
        return Plan("skip", message="not approved, or already denied or failed")
    if (csr.get("status") or {}).get("certificate"):
        return Plan("skip", message="already issued")
    serving = signer == KUBELET_SERVING_SIGNER
    try:
        names = pki.requested_names(parsed_request(csr))
    except ValueError as e:
        return Plan("fail", message=f"invalid certificate request: {e}")
    problem = node_subject_problem(names, serving=serving) or usages_problem(list(spec.get("usages") or []),
                                                                            serving=serving)
    if problem:
        return Plan("fail", message=problem)
    validity = duration
    seconds = spec.get("expirationSeconds")
    if isinstance(seconds, int):
        validity = min(duration, max(MIN_DURATION, datetime.timedelta(seconds=seconds)))
    return Plan("sign", server=serving, validity=validity, backdate=backdate_for(validity))


def load_ca(options: dict[str, Any]) -> pki.CertificateAuthority | None:
    cert = options.get("cert_file") or os.environ.get(CERT_ENV, "")
    key = options.get("key_file") or os.environ.get(KEY_ENV, "")
    if not cert or not key:
        return None
    return pki.CertificateAuthority.load(Path(cert), Path(key))


class CSRSigner:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.ca = load_ca(ctx.options.get("csrsigning") or {})
        try:
            self.duration = signing_duration(ctx.options.get("csrsigning") or {})
        except ValueError as e:
            log.error("ignoring the signing duration (%s); certificates last %s", e, DEFAULT_DURATION)
            self.duration = DEFAULT_DURATION
        self.csrs = ctx.informers.informer(CSRS)
        self.controller = Controller("csrsigning", self.sync, workers=1)
        self.csrs.add_handlers(on_add=self.controller.enqueue, on_update=lambda _o, n: self.controller.enqueue(n))

    async def sync(self, name: str) -> None:
        csr = self.csrs.store.get(name)
        if csr is None or self.ca is None:
            return
        p = plan(csr, duration=self.duration)
        if p.action == "skip":
            return
        status: dict[str, Any]
        if p.action == "fail":
            now = rfc3339.fmt(rfc3339.now())
            conds = [*((csr.get("status") or {}).get("conditions") or []),
                     {"type": "Failed", "status": "True", "reason": "SignerValidationFailure", "message": p.message,
                      "lastUpdateTime": now, "lastTransitionTime": now}]
            status = {"conditions": conds}
        else:
            cert = pki.sign_csr(self.ca, parsed_request(csr), server=p.server, validity=p.validity,
                                backdate=p.backdate)
            status = {"certificate": base64.b64encode(cert).decode()}
        body = {"metadata": {"resourceVersion": csr["metadata"]["resourceVersion"]}, "status": status}
        try:
            await self.client.patch(CSRS, name, body, subresource="status")
            log.info("%s certificate signing request %s", "signed" if p.action == "sign" else "failed", name)
        except Exception as e:
            if is_not_found(e):
                return
            if is_conflict(e):
                raise
            raise

    async def run(self) -> None:
        await self.controller.run()


@register("csrsigning")
def new_csr_signer(ctx: ControllerContext) -> CSRSigner:
    return CSRSigner(ctx)
