"""NamespaceLifecycle: no new content in a namespace that is missing or being terminated, and
the system namespaces (default, kube-system, kube-public) can never be deleted.

Upstream runs it first in the mutating phase; the store already refuses writes into missing or
terminating namespaces with the same texts, so this plugin agrees with it and also covers
updates into a missing namespace. Deletion of an immortal namespace is refused in the
validating phase because the store calls only the validating chain for DELETE.
"""

from __future__ import annotations

from kybernetes.apiserver.admission import CREATE, DELETE, AdmissionContext, Attributes, Plugin
from kybernetes.apiserver.admission.plugins._common import forbidden, forbidden_error
from kybernetes.machinery import errors

IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
# Reviews answer questions about namespaces; saying a namespace is missing would leak it.
_ACCESS_REVIEWS = frozenset({("authorization.k8s.io", "localsubjectaccessreviews"),
                             ("authorization.k8s.io", "subjectaccessreviews")})


def is_terminating(namespace: dict[str, object]) -> bool:
    status = namespace.get("status")
    meta = namespace.get("metadata")
    return bool((isinstance(status, dict) and status.get("phase") == "Terminating")
                or (isinstance(meta, dict) and meta.get("deletionTimestamp")))


class NamespaceLifecycle(Plugin):
    name = "NamespaceLifecycle"
    mutating = True
    validating = True

    async def admit(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        if attrs.operation == DELETE or not attrs.namespace or attrs.kind == "Namespace":
            return
        if (attrs.group, attrs.resource.plural) in _ACCESS_REVIEWS:
            return
        namespace = ctx.get(f"/registry/namespaces/{attrs.namespace}")
        if namespace is None:
            raise errors.not_found("namespaces", attrs.namespace)
        if attrs.operation == CREATE and is_terminating(namespace):
            err = forbidden(attrs, f"unable to create new content in namespace {attrs.namespace} "
                                   "because it is being terminated")
            err.causes.append(errors.Cause("NamespaceTerminating",
                                           f"namespace {attrs.namespace} is being terminated",
                                           "metadata.namespace"))
            raise err

    async def validate(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        del ctx
        if (attrs.operation == DELETE and attrs.group == "" and attrs.resource.plural == "namespaces"
                and attrs.name in IMMORTAL_NAMESPACES):
            raise forbidden_error("namespaces", "", attrs.name, "this namespace may not be deleted")
