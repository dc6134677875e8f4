"""The whole nftables script that enforces NetworkPolicies for the pods of one node (pure).

Why one script: like the proxy, the table is recreated in one `nft -f` transaction (``add table``,
``delete table``, full definition), so the kernel never holds half a policy set.

Semantics (networking.k8s.io/v1, facts from the upstream API reference):
- A policy selects the pods of its own namespace that match ``spec.podSelector`` (empty: all).
- ``policyTypes`` defaults to ["Ingress"], plus "Egress" when the policy has egress rules.
- A pod selected by no policy of a direction is unrestricted in that direction; once selected, a
  connection in that direction is allowed only when some rule of some selecting policy allows it
  (rules are a union; an empty rule list is a default deny).
- A rule allows when one of its peers matches (no peers: everyone) AND one of its ports matches
  (no ports: every port). Peers: podSelector (pods of the policy's namespace), namespaceSelector
  (all pods of matching namespaces), both (matching pods in matching namespaces), ipBlock (a CIDR
  minus ``except``). Ports: protocol (default TCP), a number or a container port name, ``endPort``.
- Named ports resolve against the destination pod: for ingress the selected pod itself, for egress
  each destination pod (so an egress named port only ever matches pod destinations).
- Replies to allowed connections pass (conntrack established/related first); traffic that the node
  itself originates never reaches the forward hook, and traffic with a node-local source is
  accepted explicitly (kubelet probes are allowed upstream).

Where it runs: two base chains on the ``ip`` forward hook. Pod-to-pod traffic on the node's bridge
reaches that hook through br_netfilter (``bridge-nf-call-iptables=1``, which the node agent sets);
routed traffic (other nodes, Service VIPs after the proxy's prerouting DNAT) reaches it anyway, so
rules always see real pod addresses. Egress is decided in one chain and ingress in a later one: an
``accept`` in a base chain only ends that chain, so an allowed egress still meets the destination's
ingress check, while a ``drop`` is final.

    egress  (forward, priority 0):  established,related accept; ip saddr vmap @egress-pods
    ingress (forward, priority 1):  established,related accept; node-local source accept;
                                    ip daddr vmap @ingress-pods
    eg-<h>-<ns>/<pod>, in-<h>-<ns>/<pod>: one accept rule per (peer, port), then drop
    ips-<h>: a set of peer pod addresses; tup-<h>: address . protocol . port (egress named ports)
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kybernetes.machinery.labels import NOTHING, Selector, selector_from_label_selector

Obj = dict[str, Any]
INGRESS, EGRESS = "Ingress", "Egress"
NS_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class PodInfo:
    namespace: str
    name: str
    ip: str
    labels: Mapping[str, str]
    node: str
    # (port name, protocol) -> container port numbers
    named_ports: Mapping[tuple[str, str], tuple[int, ...]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def _ipv4(ip: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(ip), ipaddress.IPv4Address)
    except ValueError:
        return False


def pod_info(pod: Obj) -> PodInfo | None:
    """The pod as a policy peer/target, or None when it has no IPv4 address of its own (pending,
    finished, host network, or being deleted — its address may already belong to someone else)."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    if spec.get("hostNetwork") or status.get("phase") in ("Succeeded", "Failed"):
        return None
    ips = [p.get("ip", "") for p in status.get("podIPs") or []] or [status.get("podIP") or ""]
    ip = next((i for i in ips if _ipv4(i)), None)
    if ip is None:
        return None
    named: dict[tuple[str, str], tuple[int, ...]] = {}
    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for p in c.get("ports") or []:
            if p.get("name") and isinstance(p.get("containerPort"), int):
                k = (p["name"], (p.get("protocol") or "TCP").upper())
                named[k] = tuple(sorted({*named.get(k, ()), p["containerPort"]}))
    return PodInfo(meta.get("namespace", ""), meta.get("name", ""), ip, dict(meta.get("labels") or {}),
                   spec.get("nodeName") or "", named)


def namespace_labels(namespaces: Iterable[Obj]) -> dict[str, dict[str, str]]:
    """Namespace name -> labels, always with the immutable name label (upstream sets it)."""
    out: dict[str, dict[str, str]] = {}
    for ns in namespaces:
        meta = ns.get("metadata") or {}
        out[meta.get("name", "")] = {**(meta.get("labels") or {}), NS_NAME_LABEL: meta.get("name", "")}
    return out


def _selector(ls: Any) -> Selector:
    """A LabelSelector; an invalid one (the API should have refused it) selects nothing."""
    try:
        return selector_from_label_selector(ls if isinstance(ls, dict) else ({} if ls is None else None))
    except Exception:
        return NOTHING


def policy_types(policy: Obj) -> set[str]:
    spec = policy.get("spec") or {}
    types = spec.get("policyTypes")
    if types:
        return {str(t) for t in types}
    return {INGRESS, EGRESS} if spec.get("egress") else {INGRESS}


def selects(policy: Obj, pod: PodInfo) -> bool:
    meta = policy.get("metadata") or {}
    return meta.get("namespace") == pod.namespace and _selector((policy.get("spec") or {}).get("podSelector")).matches(pod.labels)


# --- the decided model: per local pod and direction, a list of allowed (peer, port) pairs ---------

@dataclass(frozen=True)
class Allow:
    """One accept rule. `peer_ips`/`cidr` restrict the other end (None: anyone); `proto` None means
    any traffic; `ports` (lo, hi) None means any port of `proto`; `tuples` (ip, proto, port) is an
    egress named port resolved over the destination pods (it already carries the peer)."""

    peer_ips: frozenset[str] | None = None
    cidr: tuple[str, tuple[str, ...]] | None = None
    proto: str | None = None
    ports: tuple[int, int] | None = None
    tuples: frozenset[tuple[str, str, int]] | None = None


@dataclass(frozen=True)
class _Peer:
    ips: frozenset[str] | None  # pods matched (None: no pod restriction)
    cidr: tuple[str, tuple[str, ...]] | None
    pods: tuple[PodInfo, ...]  # the pods this peer covers (for egress named ports)


def _in_block(ip: str, cidr: str, excepts: Sequence[str]) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
        return addr in ipaddress.ip_network(cidr, strict=False) and not any(
            addr in ipaddress.ip_network(e, strict=False) for e in excepts)
    except ValueError:
        return False


def _peers(rule: Obj, key: str, policy_ns: str, pods: Sequence[PodInfo], ns_labels: Mapping[str, Mapping[str, str]]) -> list[_Peer]:
    raw = rule.get(key) or []
    if not raw:  # no peers: every source/destination
        return [_Peer(None, None, tuple(pods))]
    out = []
    for peer in raw:
        block = peer.get("ipBlock")
        if block:
            cidr = str(block.get("cidr", ""))
            try:
                if not isinstance(ipaddress.ip_network(cidr, strict=False), ipaddress.IPv4Network):
                    continue  # an IPv6 block never matches this IPv4 datapath
            except ValueError:
                continue
            excepts = tuple(str(e) for e in block.get("except") or [] if _ipv4(str(e).split("/")[0]))
            out.append(_Peer(None, (cidr, excepts), tuple(p for p in pods if _in_block(p.ip, cidr, excepts))))
            continue
        if "namespaceSelector" in peer and peer["namespaceSelector"] is not None:
            ns_sel = _selector(peer["namespaceSelector"])
            in_ns = [p for p in pods if ns_sel.matches(ns_labels.get(p.namespace, {NS_NAME_LABEL: p.namespace}))]
        else:
            in_ns = [p for p in pods if p.namespace == policy_ns]
        pod_sel = _selector(peer["podSelector"]) if peer.get("podSelector") is not None else _selector({})
        matched = tuple(p for p in in_ns if pod_sel.matches(p.labels))
        out.append(_Peer(frozenset(p.ip for p in matched), None, matched))
    return out


def _allows(rule: Obj, direction: str, policy_ns: str, target: PodInfo, pods: Sequence[PodInfo],
            ns_labels: Mapping[str, Mapping[str, str]]) -> list[Allow]:
    peers = _peers(rule, "from" if direction == INGRESS else "to", policy_ns, pods, ns_labels)
    ports = rule.get("ports") or []
    out: list[Allow] = []
    for peer in peers:
        if not ports:
            out.append(Allow(peer.ips, peer.cidr))
            continue
        for p in ports:
            proto = str(p.get("protocol") or "TCP").upper()
            port = p.get("port")
            if port is None:
                out.append(Allow(peer.ips, peer.cidr, proto))
            elif isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
                lo = int(port)
                hi = int(p["endPort"]) if isinstance(p.get("endPort"), int) and p["endPort"] >= lo else lo
                out.append(Allow(peer.ips, peer.cidr, proto, (lo, hi)))
            elif direction == INGRESS:  # named: the selected pod's own container port
                for number in target.named_ports.get((port, proto), ()):
                    out.append(Allow(peer.ips, peer.cidr, proto, (number, number)))
            else:  # named, egress: every destination pod of this peer that has that port
                tuples = frozenset((d.ip, proto.lower(), n) for d in peer.pods for n in d.named_ports.get((port, proto), ()))
                if tuples:
                    out.append(Allow(tuples=tuples))
    return out


def decide(policies: Iterable[Obj], pods: Iterable[Obj], namespaces: Iterable[Obj], *, node_name: str,
           cluster_cidr: str = "") -> dict[tuple[str, str], list[Allow]]:
    """(direction, pod key) -> the allow list, for every isolated pod of this node (pods absent
    from the result are unrestricted in that direction). An empty list is a default deny."""
    infos = sorted((i for p in pods if (i := pod_info(p)) is not None), key=lambda i: i.key)
    ns_labels = namespace_labels(namespaces)
    net = ipaddress.ip_network(cluster_cidr, strict=False) if cluster_cidr else None
    local = [i for i in infos if i.node == node_name and (net is None or ipaddress.ip_address(i.ip) in net)]
    ordered = sorted(policies, key=lambda p: ((p.get("metadata") or {}).get("namespace", ""),
                                               (p.get("metadata") or {}).get("name", "")))
    out: dict[tuple[str, str], list[Allow]] = {}
    for pol in ordered:
        types = policy_types(pol)
        spec = pol.get("spec") or {}
        pol_ns = (pol.get("metadata") or {}).get("namespace", "")
        for target in local:
            if not selects(pol, target):
                continue
            for direction, key in ((INGRESS, "ingress"), (EGRESS, "egress")):
                if direction not in types:
                    continue
                allows = out.setdefault((direction, target.key), [])
                for rule in spec.get(key) or []:
                    allows.extend(a for a in _allows(rule or {}, direction, pol_ns, target, infos, ns_labels)
                                  if a not in allows)
    return out


# --- text ---------------------------------------------------------------------------------------

def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _chain_name(direction: str, key: str) -> str:
    prefix = "in" if direction == INGRESS else "eg"
    return f"{prefix}-{_h(direction + key)}-{key}"[:240]


def _elements(items: Sequence[str]) -> str:
    return ("\t\telements = { " + ",\n\t\t\t".join(items) + " }\n") if items else ""


class _Sets:
    """Named sets, shared by content (many pods' chains point at the same peer set)."""

    def __init__(self) -> None:
        self.defs: dict[str, str] = {}

    def ips(self, ips: frozenset[str]) -> str:
        items = sorted(ips, key=ipaddress.ip_address)
        name = f"ips-{_h(','.join(items))}"
        self.defs.setdefault(name, f"\tset {name} {{\n\t\ttype ipv4_addr\n{_elements(items)}\t}}")
        return name

    def tuples(self, tuples: frozenset[tuple[str, str, int]]) -> str:
        items = [f"{ip} . {proto} . {port}" for ip, proto, port in
                 sorted(tuples, key=lambda t: (ipaddress.ip_address(t[0]), t[1], t[2]))]
        name = f"tup-{_h(','.join(items))}"
        self.defs.setdefault(name, f"\tset {name} {{\n\t\ttype ipv4_addr . inet_proto . inet_service\n"
                                   f"{_elements(items)}\t}}")
        return name


def _rule(a: Allow, direction: str, sets: _Sets) -> str | None:
    """The accept rule for one Allow, or None when it can match nothing."""
    other = "saddr" if direction == INGRESS else "daddr"
    if a.tuples is not None:
        return f"ip daddr . meta l4proto . th dport @{sets.tuples(a.tuples)} accept"
    parts = []
    if a.peer_ips is not None:
        if not a.peer_ips:
            return None
        parts.append(f"ip {other} @{sets.ips(a.peer_ips)}")
    if a.cidr is not None:
        cidr, excepts = a.cidr
        parts.append(f"ip {other} {cidr}")
        if excepts:
            parts.append(f"ip {other} != {{ {', '.join(excepts)} }}")
    if a.proto is not None:
        proto = a.proto.lower()
        if a.ports is None:
            parts.append(f"meta l4proto {proto}")
        else:
            lo, hi = a.ports
            parts.append(f"{proto} dport {lo}" if lo == hi else f"{proto} dport {lo}-{hi}")
    return " ".join([*parts, "accept"])


def render_decided(decided: Mapping[tuple[str, str], Sequence[Allow]], pods: Iterable[Obj], *,
                   table: str = "kyb-netpol") -> str:
    """The script for an already decided model (see `decide`)."""
    ip_of = {i.key: i.ip for p in pods if (i := pod_info(p)) is not None}
    sets = _Sets()
    chains: list[str] = []
    vmaps: dict[str, list[str]] = {INGRESS: [], EGRESS: []}
    for (direction, key), allows in sorted(decided.items()):
        if key not in ip_of:
            continue
        name = _chain_name(direction, key)
        rules = [r for a in allows if (r := _rule(a, direction, sets)) is not None]
        body = "".join(f"\t\t{r}\n" for r in dict.fromkeys(rules))
        chains.append(f"\tchain {name} {{\n{body}\t\tdrop\n\t}}")
        vmaps[direction].append(f"{ip_of[key]} : goto {name}")
    lines = [f"add table ip {table}", f"delete table ip {table}", f"table ip {table} {{",
             '\tcomment "kybernetes network policies"']
    for direction, mapname in ((EGRESS, "egress-pods"), (INGRESS, "ingress-pods")):
        items = sorted(vmaps[direction], key=lambda s: ipaddress.ip_address(s.split()[0]))
        lines.append(f"\tmap {mapname} {{\n\t\ttype ipv4_addr : verdict\n{_elements(items)}\t}}")
    lines += sets.defs.values()
    lines.append("\tchain egress {\n\t\ttype filter hook forward priority 0; policy accept;\n"
                 "\t\tct state established,related accept\n\t\tip saddr vmap @egress-pods\n\t}")
    lines.append("\tchain ingress {\n\t\ttype filter hook forward priority 1; policy accept;\n"
                 "\t\tct state established,related accept\n\t\tfib saddr type local accept\n"
                 "\t\tip daddr vmap @ingress-pods\n\t}")
    lines += chains
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_policies(policies: Iterable[Obj], pods: Iterable[Obj], namespaces: Iterable[Obj], *, node_name: str,
                    cluster_cidr: str, table: str = "kyb-netpol") -> str:
    """The complete nft script enforcing `policies` for this node's pods (one atomic table)."""
    pods = list(pods)
    decided = decide(policies, pods, namespaces, node_name=node_name, cluster_cidr=cluster_cidr)
    return render_decided(decided, pods, table=table)
