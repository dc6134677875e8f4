"""CustomResourceDefinitions: serving custom resources defined at runtime.

- ``model``: a CRD version -> the ``Resource`` the server serves (``CustomVersion`` attached);
- ``structural``: pruning, defaulting and validation by a structural schema;
- ``strategy``: the custom resource strategy and the CRD kind's own (registered on import);
- ``controller``: names, Established, serving and cleanup, inside the apiserver process;
- ``openapi``: OpenAPI v3 documents of custom group-versions;
- ``jsonpath``: printer-column and scale paths.
"""

from __future__ import annotations

from kybernetes.apiserver.crd import strategy as _strategy  # registers the CRD kind's strategy

__all__ = ["_strategy"]
