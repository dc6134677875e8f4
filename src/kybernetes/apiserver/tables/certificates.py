"""Printer for certificates.k8s.io CertificateSigningRequests (`kubectl get csr`)."""

from __future__ import annotations

from datetime import datetime

from kybernetes.apiserver.tables.format import Obj, age, as_list, dig, human_duration, name
from kybernetes.apiserver.tables.printer import AGE, NAME, Printer, col


def csr_condition(obj: Obj) -> str:
    """Approved/Denied/Failed in the order they appear, plus Issued once a certificate exists;
    Pending when none of these apply."""
    parts = [str(c.get("type")) for c in as_list(dig(obj, "status", "conditions"))
             if isinstance(c, dict) and c.get("type") and c.get("status", "True") == "True"]
    if dig(obj, "status", "certificate"):
        parts.append("Issued")
    return ",".join(parts) or "Pending"


def _requested_duration(obj: Obj, now: datetime) -> str:
    del now
    seconds = dig(obj, "spec", "expirationSeconds")
    return human_duration(float(seconds)) if isinstance(seconds, int) else "<none>"


CSR = Printer(
    (NAME, AGE, col("SignerName", "The signer the request names."),
     col("Requestor", "Who created the request."),
     col("RequestedDuration", "The certificate lifetime asked for."),
     col("Condition", "Approval and issue state.")),
    lambda obj, now: [name(obj), age(obj, now), str(dig(obj, "spec", "signerName") or ""),
                      str(dig(obj, "spec", "username") or ""), _requested_duration(obj, now), csr_condition(obj)],
)
