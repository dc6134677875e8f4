"""NodeRestriction: a kubelet writes only its own Node, its own Lease and the pods bound to it.

The Node authorizer lets every node create, update or delete Nodes and pods (it cannot see the
object); this plugin, which can, narrows that to the requesting node (``system:node:<name>`` in
``system:nodes``), as upstream's plugin does in its main rules:

- pods: create only mirror pods (annotation ``kubernetes.io/config.mirror``) bound to itself and
  referring to no Secret, ConfigMap, claim or service account; delete and status updates only of
  pods bound to itself;
- nodes: create, update and status updates only of its own Node; never set, change or remove
  labels under ``node-restriction.kubernetes.io/``;
- leases: create only the lease named after itself.

Requests from anyone else pass untouched. Refusals are 403 ``<kind> "<name>" is forbidden: node
"<n>" ...`` with upstream's wording.
"""

from __future__ import annotations

from typing import Any

from kybernetes.apiserver import admission
from kybernetes.apiserver.authz.node import node_identity
from kybernetes.machinery import errors, podrefs

Obj = dict[str, Any]
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
RESTRICTED_LABEL_DOMAIN = "node-restriction.kubernetes.io/"


def _node_of(obj: Obj | None) -> str:
    return str(((obj or {}).get("spec") or {}).get("nodeName") or "")


def _restricted_labels(obj: Obj | None) -> dict[str, str]:
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return {k: v for k, v in labels.items() if isinstance(k, str) and _is_restricted(k)}


def _is_restricted(key: str) -> bool:
    prefix, _, _ = key.rpartition("/")
    return prefix + "/" == RESTRICTED_LABEL_DOMAIN or prefix.endswith("." + RESTRICTED_LABEL_DOMAIN[:-1])


def pod_refusal(node: str, op: str, sub: str, obj: Obj | None, old: Obj | None) -> str:
    """Why `node` may not make this pod write ("" when it may)."""
    if op == admission.CREATE and not sub:
        annotations = ((obj or {}).get("metadata") or {}).get("annotations") or {}
        if MIRROR_ANNOTATION not in annotations:
            return f'pod does not have "{MIRROR_ANNOTATION}" annotation, node "{node}" can only create mirror pods'
        if _node_of(obj) != node:
            return f'node "{node}" can only create pods with spec.nodeName set to itself'
        assert obj is not None
        if podrefs.service_account(obj):
            return f'node "{node}" can not create pods that reference a service account'
        if podrefs.referenced_secrets(obj):
            return f'node "{node}" can not create pods that reference secrets'
        if podrefs.referenced_configmaps(obj):
            return f'node "{node}" can not create pods that reference configmaps'
        if podrefs.referenced_claims(obj):
            return f'node "{node}" can not create pods that reference persistentvolumeclaims'
        return ""
    if op == admission.DELETE and _node_of(old) != node:
        return f'node "{node}" can only delete pods with spec.nodeName set to itself'
    if op == admission.UPDATE and sub == "status" and _node_of(old) != node:
        return f'node "{node}" can only update pod status for pods with spec.nodeName set to itself'
    if op == admission.UPDATE and not sub:
        return f'node "{node}" is not allowed to update pods'
    return ""


def node_refusal(node: str, op: str, name: str, obj: Obj | None, old: Obj | None) -> str:
    if op == admission.DELETE:
        return f'node "{node}" is not allowed to delete nodes'
    if name != node:
        return f'node "{node}" is not allowed to modify node "{name}"'
    if op == admission.CREATE:
        labels = sorted(_restricted_labels(obj))
        if labels:
            return f'node "{node}" is not allowed to set the following labels: {", ".join(labels)}'
    elif op == admission.UPDATE:
        new, prev = _restricted_labels(obj), _restricted_labels(old)
        changed = sorted(k for k in set(new) | set(prev) if new.get(k) != prev.get(k))
        if changed:
            return f'node "{node}" is not allowed to modify labels: {", ".join(changed)}'
    return ""


class NodeRestriction(admission.Plugin):
    name = "NodeRestriction"
    validating = True

    async def validate(self, attrs: admission.Attributes, ctx: admission.AdmissionContext) -> None:
        del ctx
        if attrs.user is None:
            return
        node, is_node = node_identity(attrs.user)
        if not is_node:
            return
        key = (attrs.group, attrs.resource.plural)
        refusal = ""
        if not node:
            refusal = f'could not determine node from user "{attrs.user.name}"'
        elif key == ("", "pods"):
            refusal = pod_refusal(node, attrs.operation, attrs.subresource, attrs.obj, attrs.old)
        elif key == ("", "nodes"):
            refusal = node_refusal(node, attrs.operation, attrs.name, attrs.obj, attrs.old)
        elif (
            key == ("coordination.k8s.io", "leases")
            and attrs.operation == admission.CREATE
            and attrs.name != node
        ):
            refusal = "can only access node lease with the same name as the requesting node"
        if refusal:
            plural = attrs.resource.plural
            gr = f"{plural}.{attrs.group}" if attrs.group else plural
            target = f'{gr} "{attrs.name}"' if attrs.name else gr
            raise errors.StatusError(
                403,
                "Forbidden",
                f"{target} is forbidden: {refusal}",
                {"name": attrs.name, "group": attrs.group, "kind": plural},
            )
