"""Dynamic admission webhooks (admission.k8s.io/v1 AdmissionReview over HTTPS).

``matching`` decides which webhooks a request goes to, ``review`` builds and checks the
AdmissionReview exchange, ``client`` posts it, ``plugin`` holds the two admission plugins.
"""

from __future__ import annotations

from kybernetes.apiserver.admission.plugins.webhook.plugin import (
    MutatingAdmissionWebhook,
    ValidatingAdmissionWebhook,
)

__all__ = ["MutatingAdmissionWebhook", "ValidatingAdmissionWebhook"]
