"""CertificateSigningRequest loops: the node-bootstrap approver and the cluster signer."""

from __future__ import annotations

import base64
from typing import Any

from cryptography import x509

from kybernetes.api.resources import lookup
from kybernetes.client import ResourceLike
from kybernetes.util import pki

CSRS: ResourceLike = lookup("certificates.k8s.io", "v1", "certificatesigningrequests")  # type: ignore[assignment]
NODES: ResourceLike = lookup("", "v1", "nodes")  # type: ignore[assignment]

KUBELET_CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
KUBELET_SERVING_SIGNER = "kubernetes.io/kubelet-serving"
NODES_GROUP = "system:nodes"
NODE_USER_PREFIX = "system:node:"
BOOTSTRAPPERS_GROUP = "system:bootstrappers"
CLIENT_USAGES = frozenset({"digital signature", "key encipherment", "client auth"})
SERVING_USAGES = frozenset({"digital signature", "key encipherment", "server auth"})

Obj = dict[str, Any]


def conditions(csr: Obj) -> list[Obj]:
    return [c for c in ((csr.get("status") or {}).get("conditions") or []) if isinstance(c, dict)]


def has_condition(csr: Obj, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status", "True") == "True" for c in conditions(csr))


def parsed_request(csr: Obj) -> x509.CertificateSigningRequest:
    """The x509 request in spec.request (base64 of PEM); ValueError when unreadable."""
    return pki.parse_csr(base64.b64decode(str((csr.get("spec") or {}).get("request") or "")))


def node_subject_problem(names: pki.RequestedNames, *, serving: bool) -> str:
    """Why the subject is not a kubelet's (O=system:nodes, CN=system:node:<name>), or ""."""
    if names.organizations != (NODES_GROUP,):
        return f'subject organization is not "{NODES_GROUP}"'
    if not names.common_name.startswith(NODE_USER_PREFIX) or len(names.common_name) == len(NODE_USER_PREFIX):
        return f'subject common name does not begin with "{NODE_USER_PREFIX}"'
    if names.emails or names.uris:
        return "email and URI subjectAltNames are not allowed"
    if serving and not (names.dns_names or names.ip_addresses):
        return "at least one DNS or IP subjectAltName is required"
    if not serving and (names.dns_names or names.ip_addresses):
        return "DNS and IP subjectAltNames are not allowed"
    return ""


def usages_problem(usages: list[str], *, serving: bool) -> str:
    allowed = SERVING_USAGES if serving else CLIENT_USAGES
    needed = "server auth" if serving else "client auth"
    extra = sorted(set(usages) - allowed)
    if extra:
        return f"usages not allowed for this signer: {', '.join(extra)}"
    if needed not in usages:
        return f'usage "{needed}" is required'
    return ""
