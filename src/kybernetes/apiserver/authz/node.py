"""The Node authorizer: what a kubelet (``system:node:<name>`` in ``system:nodes``) may do.

Upstream keeps a graph of pods, secrets, volumes and nodes; here the graph is read straight from
the API server's watch cache of pods when asked (a node's question is about the handful of pods
bound to it, so a scan of one namespace's pods is cheap enough and never stale):

- Secrets, ConfigMaps: get/list/watch of one named object (a list or watch names it through a
  ``metadata.name`` field selector) that a pod bound to the node refers to.
- PersistentVolumeClaims: get (and update/patch of status) of claims such pods use;
  PersistentVolumes: get of the volumes those claims are bound to.
- ServiceAccounts: create of the ``token`` subresource for accounts such pods run as.
- Leases in kube-node-lease: only the one named after the node (create: NodeRestriction checks).
- CSINodes: only its own.
- Nodes (1.32, AuthorizeNodeWithSelectors on): read only its own Node; create/update/patch and
  status writes are allowed and NodeRestriction keeps them to its own object.
- Pods: get of pods bound to it; list/watch only with the field selector
  ``spec.nodeName=<node>``; create/delete (mirror pods), status writes and evictions are allowed
  and NodeRestriction keeps them to its own pods.
- Anything else: the static node rules (``policy.NODE_RULES``, upstream's system:node role).

A request the node may not make gets no opinion plus a reason; the reason ends up after the
denial's message (``...: no relationship found between node 'n1' and this object``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from kybernetes.apiserver.authn import UserInfo
from kybernetes.apiserver.authz.attributes import Attributes
from kybernetes.apiserver.authz.rules import Rule, rules_allow
from kybernetes.machinery import podrefs

Obj = dict[str, Any]
NODES_GROUP = "system:nodes"
NODE_USER_PREFIX = "system:node:"
NODE_LEASE_NAMESPACE = "kube-node-lease"
Decision = tuple[str, str]
NO_OPINION: Decision = ("", "")
ALLOW: Decision = ("allow", "")


def node_identity(user: UserInfo) -> tuple[str, bool]:
    """(node name, is a node) as upstream's default node identifier."""
    if not user.name.startswith(NODE_USER_PREFIX) or NODES_GROUP not in user.groups:
        return "", False
    return user.name[len(NODE_USER_PREFIX) :], True


class PodSource(Protocol):
    def pods(self, namespace: str | None) -> Iterable[Obj]: ...
    def claim(self, namespace: str, name: str) -> Obj | None: ...


class CachePodSource:
    def __init__(self, cache: Any) -> None:
        self.cache = cache

    def pods(self, namespace: str | None) -> Iterator[Obj]:
        prefix = f"/registry/pods/{namespace}/" if namespace else "/registry/pods/"
        return (e.obj for _, e in self.cache.iter_prefix(prefix))

    def claim(self, namespace: str, name: str) -> Obj | None:
        entry = self.cache.get(f"/registry/persistentvolumeclaims/{namespace}/{name}")
        return entry.obj if entry is not None else None


def _bound_to(pod: Obj, node: str) -> bool:
    return bool((pod.get("spec") or {}).get("nodeName") == node)


class NodeAuthorizer:
    def __init__(self, source: PodSource, node_rules: list[Rule]) -> None:
        self.source = source
        self.node_rules = node_rules

    def authorize(self, attrs: Attributes) -> Decision:
        node, is_node = node_identity(attrs.user)
        if not is_node:
            return NO_OPINION
        if not node:
            return "", f'unknown node for user "{attrs.user.name}"'
        if attrs.is_resource_request:
            handler = self._handlers().get((attrs.group, attrs.resource))
            if handler is not None:
                decision: Decision = handler(node, attrs)
                return decision
        return ALLOW if rules_allow(attrs, self.node_rules) else NO_OPINION

    def _handlers(self) -> dict[tuple[str, str], Any]:
        return {
            ("", "secrets"): self._read_referenced,
            ("", "configmaps"): self._read_referenced,
            ("", "persistentvolumeclaims"): self._claim,
            ("", "persistentvolumes"): self._volume,
            ("", "serviceaccounts"): self._token,
            ("coordination.k8s.io", "leases"): self._lease,
            ("storage.k8s.io", "csinodes"): self._csinode,
            ("", "nodes"): self._node,
            ("", "pods"): self._pod,
        }

    # --- objects reached through pods ----------------------------------------------------------------
    def _related(self, node: str, attrs: Attributes, refers: Any) -> Decision:
        if not attrs.name:
            return "", "No Object name found"
        if any(_bound_to(p, node) and refers(p) for p in self.source.pods(attrs.namespace)):
            return ALLOW
        return "", f"no relationship found between node '{node}' and this object"

    def _read_referenced(self, node: str, attrs: Attributes) -> Decision:
        if attrs.verb not in ("get", "list", "watch"):
            return "", "can only read resources of this type"
        if attrs.subresource:
            return "", "cannot read subresource"
        if not attrs.namespace:
            return "", "can only read namespaced object of this type"
        refs = podrefs.referenced_secrets if attrs.resource == "secrets" else podrefs.referenced_configmaps
        return self._related(node, attrs, lambda p: attrs.name in refs(p))

    def _claim(self, node: str, attrs: Attributes) -> Decision:
        if attrs.subresource == "status":
            if attrs.verb not in ("update", "patch"):
                return "", "can only get/update/patch this type"
        elif attrs.verb != "get":
            return "", "can only get individual resources of this type"
        elif attrs.subresource:
            return "", "cannot get subresource"
        return self._related(node, attrs, lambda p: attrs.name in podrefs.referenced_claims(p))

    def _volume(self, node: str, attrs: Attributes) -> Decision:
        if attrs.verb != "get":
            return "", "can only get individual resources of this type"
        if attrs.subresource:
            return "", "cannot get subresource"
        if not attrs.name:
            return "", "No Object name found"
        for pod in self.source.pods(None):
            if not _bound_to(pod, node):
                continue
            ns = str((pod.get("metadata") or {}).get("namespace") or "")
            for claim_name in podrefs.referenced_claims(pod):
                claim = self.source.claim(ns, claim_name)
                if claim is not None and (claim.get("spec") or {}).get("volumeName") == attrs.name:
                    return ALLOW
        return "", f"no relationship found between node '{node}' and this object"

    def _token(self, node: str, attrs: Attributes) -> Decision:
        if attrs.verb != "create" or not attrs.name:
            return "", "can only create tokens for individual service accounts"
        if attrs.subresource != "token":
            return "", "can only create token subresource of serviceaccount"
        return self._related(node, attrs, lambda p: podrefs.service_account(p) == attrs.name)

    # --- the node's own objects ------------------------------------------------------------------------
    def _lease(self, node: str, attrs: Attributes) -> Decision:
        if attrs.verb not in ("get", "create", "update", "patch", "delete"):
            return "", "can only get, create, update, patch, or delete a node lease"
        if attrs.namespace != NODE_LEASE_NAMESPACE:
            return "", f'can only access leases in the "{NODE_LEASE_NAMESPACE}" system namespace'
        if attrs.verb != "create" and attrs.name != node:
            return "", "can only access node lease with the same name as the requesting node"
        return ALLOW

    def _csinode(self, node: str, attrs: Attributes) -> Decision:
        if attrs.verb not in ("get", "create", "update", "patch", "delete"):
            return "", "can only get, create, update, patch, or delete a CSINode"
        if attrs.subresource:
            return "", "cannot authorize CSINode subresources"
        if attrs.verb != "create" and attrs.name != node:
            return "", "can only access CSINode with the same name as the requesting node"
        return ALLOW

    def _node(self, node: str, attrs: Attributes) -> Decision:
        if not attrs.subresource:
            if attrs.verb in ("create", "update", "patch"):
                return ALLOW
            if attrs.verb in ("get", "list", "watch"):
                if attrs.name == node:
                    return ALLOW
                if not attrs.name:
                    return "", f"node '{node}' cannot read all nodes, only its own Node object"
                return "", f"node '{node}' cannot read '{attrs.name}', only its own Node object"
        elif attrs.subresource == "status" and attrs.verb in ("update", "patch"):
            return ALLOW
        return NO_OPINION

    def _pod(self, node: str, attrs: Attributes) -> Decision:
        sub, verb = attrs.subresource, attrs.verb
        if not sub:
            if verb == "get":
                return self._related(
                    node, attrs, lambda p: (p.get("metadata") or {}).get("name") == attrs.name
                )
            if verb in ("list", "watch"):
                if attrs.field("spec.nodeName") == node:
                    return ALLOW
                if attrs.name:
                    return self._related(
                        node, attrs, lambda p: (p.get("metadata") or {}).get("name") == attrs.name
                    )
                return "", "can only list/watch pods with spec.nodeName field selector"
            if verb in ("create", "delete"):
                return ALLOW
        elif (sub == "status" and verb in ("update", "patch")) or (sub == "eviction" and verb == "create"):
            return ALLOW
        return NO_OPINION
