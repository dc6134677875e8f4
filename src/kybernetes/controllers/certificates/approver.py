"""The CSR approver: approves kubelets' own certificate requests, nothing else.

Rules (``decide``, pure):

1. kubernetes.io/kube-apiserver-client-kubelet, subject O=system:nodes CN=system:node:<name>, no
   SANs, client usages: approved when the requester is in system:bootstrappers (a joining node) or
   is system:node:<name> itself (renewal). This is upstream's csrapproving controller.
2. kubernetes.io/kubelet-serving, same subject, server usages, at least one SAN: approved only when
   the requester is system:node:<name> itself and every DNS name and IP is one of that Node's own
   (its name, its status addresses). Upstream leaves these to the administrator; a node whose
   names are already in the API cannot claim others', so approving them is safe here.
3. Anything else (other signers, already approved or denied) is left alone.

The approval is a condition Approved=True, reason AutoApproved, written through /approval.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from kybernetes.client import Controller, is_conflict, is_not_found
from kybernetes.controllers import rfc3339
from kybernetes.controllers.certificates import (
    BOOTSTRAPPERS_GROUP,
    CSRS,
    KUBELET_CLIENT_SIGNER,
    KUBELET_SERVING_SIGNER,
    NODE_USER_PREFIX,
    NODES,
    Obj,
    has_condition,
    node_subject_problem,
    parsed_request,
    usages_problem,
)
from kybernetes.controllers.manager import ControllerContext, register
from kybernetes.util import pki

log = logging.getLogger(__name__)

CLIENT_MESSAGE = "Auto approving kubelet client certificate after SubjectAccessReview."
SERVING_MESSAGE = "Auto approving kubelet serving certificate: its names are the node's own."


@dataclass(frozen=True, slots=True)
class Decision:
    approve: bool
    message: str = ""  # the approval message, or why the request is left alone
    wait_for_node: str = ""  # a serving request whose Node is not (yet) known


def node_names(node: Obj | None) -> tuple[set[str], set[str]]:
    """(DNS names, IPs) that belong to a Node: its name and Hostname addresses; its IP addresses."""
    if node is None:
        return set(), set()
    dns = {str(node["metadata"]["name"])}
    ips: set[str] = set()
    for a in (node.get("status") or {}).get("addresses") or []:
        if a.get("type") == "Hostname":
            dns.add(str(a.get("address")))
        elif a.get("type") in ("InternalIP", "ExternalIP"):
            ips.add(str(a.get("address")))
    return dns, ips


def decide(csr: Obj, nodes: dict[str, Obj]) -> Decision:
    spec = csr.get("spec") or {}
    signer = spec.get("signerName")
    if has_condition(csr, "Approved") or has_condition(csr, "Denied"):
        return Decision(False, "already decided")
    if signer not in (KUBELET_CLIENT_SIGNER, KUBELET_SERVING_SIGNER):
        return Decision(False, f"signer {signer} is not auto-approved")
    serving = signer == KUBELET_SERVING_SIGNER
    try:
        names = pki.requested_names(parsed_request(csr))
    except ValueError as e:
        return Decision(False, f"unreadable request: {e}")
    problem = node_subject_problem(names, serving=serving) or usages_problem(list(spec.get("usages") or []),
                                                                            serving=serving)
    if problem:
        return Decision(False, problem)
    username = spec.get("username") or ""
    groups = spec.get("groups") or []
    if not serving:
        if BOOTSTRAPPERS_GROUP in groups or username == names.common_name:
            return Decision(True, CLIENT_MESSAGE)
        return Decision(False, "requester is neither a bootstrapper nor the node itself")
    if username != names.common_name:
        return Decision(False, "a serving certificate must be requested by the node itself")
    node_name = names.common_name[len(NODE_USER_PREFIX):]
    node = nodes.get(node_name)
    if node is None:
        return Decision(False, f"node {node_name} not found", wait_for_node=node_name)
    dns, ips = node_names(node)
    foreign = [d for d in names.dns_names if d not in dns] + [ip for ip in names.ip_addresses if ip not in ips]
    if foreign:
        return Decision(False, f"names not belonging to node {node_name}: {', '.join(foreign)}")
    return Decision(True, SERVING_MESSAGE)


def approved_conditions(csr: Obj, message: str, now: str) -> list[Obj]:
    kept = [c for c in ((csr.get("status") or {}).get("conditions") or []) if c.get("type") != "Approved"]
    return [*kept, {"type": "Approved", "status": "True", "reason": "AutoApproved", "message": message,
                    "lastUpdateTime": now, "lastTransitionTime": now}]


class CSRApprover:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.csrs = ctx.informers.informer(CSRS)
        self.nodes = ctx.informers.informer(NODES)
        self.controller = Controller("csrapproving", self.sync, workers=1)
        self.csrs.add_handlers(on_add=self.controller.enqueue, on_update=lambda _o, n: self.controller.enqueue(n))
        # a serving request may arrive before its Node's addresses do
        self.nodes.add_handlers(on_add=self._node_changed, on_update=lambda _o, n: self._node_changed(n))

    def _node_changed(self, node: Obj) -> None:
        user = NODE_USER_PREFIX + str(node["metadata"]["name"])
        for csr in self.csrs.store.list():
            if (csr.get("spec") or {}).get("username") == user and not has_condition(csr, "Approved"):
                self.controller.enqueue(csr)

    async def sync(self, name: str) -> None:
        csr = self.csrs.store.get(name)
        if csr is None:
            return
        nodes = {str(n["metadata"]["name"]): n for n in self.nodes.store.list()}
        decision = decide(csr, nodes)
        if not decision.approve:
            return
        body: dict[str, Any] = {"metadata": {"resourceVersion": csr["metadata"]["resourceVersion"]},
                                "status": {"conditions": approved_conditions(csr, decision.message, rfc3339.fmt(rfc3339.now()))}}
        try:
            await self.client.patch(CSRS, name, body, subresource="approval")
            log.info("approved certificate signing request %s (%s)", name, csr["spec"].get("signerName"))
        except Exception as e:
            if is_not_found(e):
                return
            if is_conflict(e):
                raise  # the cache is behind: retried with backoff
            raise

    async def run(self) -> None:
        await self.controller.run()


@register("csrapproving")
def new_csr_approver(ctx: ControllerContext) -> CSRApprover:
    return CSRApprover(ctx)
