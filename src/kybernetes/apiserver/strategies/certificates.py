"""certificates.k8s.io CertificateSigningRequest: who may change which part of a request.

A CSR has three writers, one per endpoint:

1. the requester creates it (main resource): spec only; the requester's identity in
   spec.username/uid/groups/extra is stamped by the API server (``apiserver.bootstrap``'s admission
   plugin), never taken from the body; status starts empty. The spec never changes afterwards.
2. an approver writes /approval: the Approved/Denied conditions; the certificate is kept.
3. a signer writes /status: the certificate and other conditions (Failed); Approved/Denied are kept.
   A certificate once issued cannot be replaced.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
import time

from kybernetes.apiserver.strategies.base import KindStrategy
from kybernetes.apiserver.strategy import Obj, register
from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import forbidden, invalid, not_supported, required
from kybernetes.util import pki
from kybernetes.util.times import rfc3339

APPROVAL_TYPES = ("Approved", "Denied")
KEY_USAGES = (
    "signing", "digital signature", "content commitment", "key encipherment", "key agreement",
    "data encipherment", "cert sign", "crl sign", "encipher only", "decipher only", "any", "server auth",
    "client auth", "code signing", "email protection", "s/mime", "ipsec end system", "ipsec tunnel",
    "ipsec user", "timestamping", "ocsp signing", "microsoft sgc", "netscape sgc",
)
_SIGNER_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(/[-A-Za-z0-9_.~%]+)+$")
MIN_EXPIRATION_SECONDS = 600


def decode_request(value: object) -> bytes:
    """spec.request as PEM bytes (the JSON form is base64); ValueError when unreadable."""
    if not isinstance(value, str):
        raise ValueError("spec.request must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as e:
        raise ValueError(f"illegal base64 data: {e}") from None


def _conditions(obj: Obj) -> list[Obj]:
    return [c for c in ((obj.get("status") or {}).get("conditions") or []) if isinstance(c, dict)]


@register("certificates.k8s.io", "CertificateSigningRequest")
class CertificateSigningRequestStrategy(KindStrategy):
    has_status = True

    def default(self, obj: Obj) -> None:
        now = rfc3339(time.time())
        for c in _conditions(obj):
            c.setdefault("status", "True")
            c.setdefault("lastUpdateTime", now)
            c.setdefault("lastTransitionTime", now)

    def validate(self, obj: Obj) -> list[Cause]:
        spec = obj.get("spec") or {}
        causes: list[Cause] = []
        if not spec.get("request"):
            causes.append(required("spec.request"))
        else:
            try:
                pki.parse_csr(decode_request(spec["request"]))
            except ValueError as e:
                causes.append(invalid("spec.request", "", str(e), rendered="[]byte{...}"))
        signer = spec.get("signerName") or ""
        if not signer:
            causes.append(required("spec.signerName"))
        elif not isinstance(signer, str) or not _SIGNER_RE.match(signer):
            causes.append(invalid("spec.signerName", signer,
                                  "must be a fully qualified domain and path of the form 'example.com/signer-name'"))
        usages = spec.get("usages") or []
        if not usages:
            causes.append(required("spec.usages", "usages must be provided"))
        for i, u in enumerate(usages):
            if u not in KEY_USAGES:
                causes.append(not_supported(f"spec.usages[{i}]", u, KEY_USAGES))
        seconds = spec.get("expirationSeconds")
        if isinstance(seconds, int) and seconds < MIN_EXPIRATION_SECONDS:
            causes.append(invalid("spec.expirationSeconds", seconds,
                                  "may not specify a duration less than 600 seconds (10 minutes)"))
        causes.extend(self._validate_conditions(obj))
        return causes

    def _validate_conditions(self, obj: Obj) -> list[Cause]:
        causes: list[Cause] = []
        seen: set[str] = set()
        for i, c in enumerate(_conditions(obj)):
            path = f"status.conditions[{i}]"
            t = c.get("type") or ""
            if not t:
                causes.append(required(f"{path}.type"))
            if c.get("status") not in ("True", "False", "Unknown"):
                causes.append(not_supported(f"{path}.status", c.get("status"), ("False", "True", "Unknown")))
            if t in ("Approved", "Denied", "Failed") and t in seen:
                causes.append(Cause("FieldValueDuplicate", f"Duplicate value: {t!r}", f"{path}.type"))
            seen.add(t)
        if {"Approved", "Denied"} <= seen:
            causes.append(invalid("status.conditions", "", "Approved and Denied conditions are mutually exclusive",
                                  rendered="[]certificates.CertificateSigningRequestCondition{...}"))
        return causes

    def initial_status(self, obj: Obj) -> Obj:
        del obj
        return {}

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        new["spec"] = copy.deepcopy(old.get("spec"))

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_status_update(new, old)
        if not isinstance(new.get("status"), dict):
            new["status"] = {}
        status = new["status"]
        kept = [c for c in _conditions(old) if c.get("type") in APPROVAL_TYPES]
        others = [c for c in _conditions(new) if c.get("type") not in APPROVAL_TYPES]
        if kept or others:
            status["conditions"] = kept + others
        else:
            status.pop("conditions", None)

    def prepare_for_approval_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_status_update(new, old)  # (the base's: everything but status is kept)
        if not isinstance(new.get("status"), dict):
            new["status"] = {}
        old_status = old.get("status") or {}
        if "certificate" in old_status:
            new["status"]["certificate"] = old_status["certificate"]
        else:
            new["status"].pop("certificate", None)

    def validate_status_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = self._validate_conditions(new)
        old_cert = (old.get("status") or {}).get("certificate")
        new_cert = (new.get("status") or {}).get("certificate")
        if old_cert and new_cert != old_cert:
            causes.append(forbidden("status.certificate", "updates may not modify existing certificate content"))
        if new_cert and not old_cert:
            approved = any(c.get("type") == "Approved" and c.get("status") == "True" for c in _conditions(new))
            if not approved:
                causes.append(forbidden("status.certificate",
                                        "certificate may only be set when the request is approved"))
        return causes
