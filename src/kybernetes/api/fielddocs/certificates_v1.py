"""Descriptions of certificates/v1 types and their fields, for OpenAPI and `kubectl explain`."""

from __future__ import annotations

P = "io.k8s.api.certificates.v1."

_FROM_REQUESTER = "set by the server from the user who created the request. Immutable."

DOCS: dict[str, tuple[str, dict[str, str]]] = {
    P + "CertificateSigningRequest": (
        "A CertificateSigningRequest asks a signer for an X.509 certificate; it is approved or denied, then signed.",
        {
            "metadata": "Standard object metadata: name, labels, annotations and so on.",
            "spec": "The certificate request, the signer to use and who asked. Immutable.",
            "status": "Approval conditions and, once signed, the certificate.",
        },
    ),
    P + "CertificateSigningRequestSpec": (
        "What certificate is asked for, from which signer, and by whom.",
        {
            "request": "The PEM-encoded PKCS#10 certificate request. Immutable.",
            "signerName": "The signer to ask, such as kubernetes.io/kube-apiserver-client or kubernetes.io/kubelet-serving. Immutable.",
            "expirationSeconds": "The wanted validity of the certificate, in seconds; at least 600. Signers may give less.",
            "usages": "The key usages to ask for, such as digital signature, key encipherment, client auth or server auth.",
            "username": "The name of the user who created the request; " + _FROM_REQUESTER,
            "uid": "The uid of the user who created the request; " + _FROM_REQUESTER,
            "groups": "The groups of the user who created the request; " + _FROM_REQUESTER,
            "extra": "Extra attributes of the user who created the request; " + _FROM_REQUESTER,
        },
    ),
    P + "CertificateSigningRequestStatus": (
        "The state of a certificate request.",
        {
            "conditions": "Approved, Denied and Failed conditions; Approved and Denied exclude each other.",
            "certificate": "The PEM-encoded certificate chain issued by the signer, once signed. Set through the status subresource.",
        },
    ),
    P + "CertificateSigningRequestCondition": (
        "One decision or event in the life of a certificate request.",
        {
            "type": "The condition's type: Approved, Denied or Failed.",
            "status": "Whether the condition holds; Approved, Denied and Failed conditions are always True.",
            "reason": "A short CamelCase word saying why, such as KubectlApprove.",
            "message": "A human-readable explanation.",
            "lastUpdateTime": "When the condition was last updated.",
            "lastTransitionTime": "When the condition last changed from one status to another.",
        },
    ),
}
