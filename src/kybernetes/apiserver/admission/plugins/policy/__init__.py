"""ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1): CEL checks configured through
the API and run inside the server.

``compiler`` compiles a policy's expressions (shared with the API's validation of policies),
``matching`` decides which requests a policy or binding covers, ``params`` finds a binding's
parameter objects, ``evaluate`` runs a compiled policy for one request, ``plugin`` is the
admission plugin that ties them together.
"""

from __future__ import annotations

from kybernetes.apiserver.admission.plugins.policy.plugin import ValidatingAdmissionPolicy

__all__ = ["ValidatingAdmissionPolicy"]
