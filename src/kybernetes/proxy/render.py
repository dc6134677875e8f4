"""The desired content of the proxy's nftables table, built from the model (pure).

`build_ruleset` gives the content as data (`Ruleset`: chains with their rules, map and set
elements, affinity set timeouts); the running proxy applies differences between two of them
(sync.py). `render_table` / `render_model` / `render_ruleset` print one as a whole-table script:
it recreates one `ip` family table atomically: ``add table`` (so that the next line cannot
fail), ``delete table``, then the full definition, all applied in one ``nft -f`` transaction, so the
kernel never sees a half-programmed proxy. With `replace_table` the definition goes into a fresh
table and the same transaction deletes the previous one: whole-table callers alternate names
because deleting and recreating one big table by the same name in one transaction is several times
slower in the kernel (measured: 5.8 s against 1.2 s for 10,000 endpoints).
The layout follows kube-proxy's nftables mode (facts only):

    nat-prerouting / nat-output  ─jump─► services
        services: ip daddr . l4proto . dport  vmap @service-ips      (cluster, LB and external IPs)
                  ip daddr @nodeport-ips l4proto . dport vmap @service-nodeports
    svc-<h>-<ns/name/proto/port>   cluster traffic: masquerade if from outside the cluster CIDR,
                                   then a random endpoint: ``dnat to numgen random mod N map {...}``;
                                   with ClientIP affinity, set lookups then ``numgen ... vmap`` to
    ep-<h>-<...>__<ip>/<port>      per-endpoint chains that record the client and dnat
    aff-<h>-<...>__<ip>/<port>     dynamic timeout set of client IPs stuck to that endpoint
    ext-<h>-<...>                  external traffic (node port, LB/external IP): masquerade unless
                                   externalTrafficPolicy Local; Local picks only local endpoints
    filter-input/forward/output    new connections to a front end without endpoints: reject (or
                                   drop, see model rule 5); unknown ports of a cluster IP: reject
    nat-postrouting                marked packets are masqueraded (mark bit 0x4000, cleared first);
                                   hairpin (an endpoint reaching itself via its Service, matched
                                   after dnat with the set of ``ip . ip`` pairs) is masqueraded;
                                   pod traffic leaving the cluster CIDR is masqueraded (egress)

Deleting the table forgets the dynamic affinity sets, so callers of the whole-table script pass
`affinity_state` (read back from the kernel just before, see `NftApplier.affinity_state`) and live
clients are re-seeded with their remaining time; the proxy's own syncs (sync.py) never delete a
set that stays, so they need no read-back. Chain and set names carry a short hash plus the readable key (nft names allow
letters, digits and ``/-_.``), so a listing reads like the Services it came from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kybernetes.proxy.model import Endpoint, ServicePort, build_model

MASQ_MARK = 0x4000
AffinityState = Mapping[str, Sequence[tuple[str, int]]]  # set name -> [(client ip, seconds left)]


def render_ruleset(services: list[dict[str, Any]], slices: list[dict[str, Any]], *, node_name: str,
                   node_ips: list[str], cluster_cidr: str, table: str = "kyb-proxy",
                   affinity_state: AffinityState | None = None, replace_table: str | None = None) -> str:
    """The complete nft script for `table` from API objects (see `render_model`)."""
    model = build_model(services, slices, node_name=node_name)
    return render_model(model, node_ips=node_ips, cluster_cidr=cluster_cidr, table=table,
                        affinity_state=affinity_state, replace_table=replace_table)


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def svc_chain(sp: ServicePort) -> str:
    return f"svc-{_h(sp.key)}-{sp.key}"


def ext_chain(sp: ServicePort) -> str:
    return f"ext-{_h(sp.key)}-{sp.key}"


def _ep_suffix(sp: ServicePort, ep: Endpoint) -> str:
    full = f"{sp.key}__{ep.ip}/{ep.port}"
    return f"{_h(full)}-{full}"


def ep_chain(sp: ServicePort, ep: Endpoint) -> str:
    return f"ep-{_ep_suffix(sp, ep)}"


def affinity_set(sp: ServicePort, ep: Endpoint) -> str:
    return f"aff-{_ep_suffix(sp, ep)}"


Chain = tuple[str, tuple[str, ...]]  # (hook header, or "" for a regular chain; rules)

# The table's named maps and sets: fixed declarations, only their elements change.
MAP_TYPES = {"service-ips": "ipv4_addr . inet_proto . inet_service : verdict",
             "service-nodeports": "inet_proto . inet_service : verdict",
             "no-endpoint-services": "ipv4_addr . inet_proto . inet_service : verdict",
             "no-endpoint-nodeports": "inet_proto . inet_service : verdict"}
SET_TYPES = {"nodeport-ips": "ipv4_addr", "cluster-ips": "ipv4_addr", "hairpin": "ipv4_addr . ipv4_addr"}


@dataclass
class Ruleset:
    """The table's content as data. The full script is printed from it, and an incremental sync
    (sync.py) compares two of them. Affinity sets carry only their timeout: their elements are
    written by packets, so they belong to the kernel."""

    maps: dict[str, dict[str, str]] = field(default_factory=lambda: {m: {} for m in MAP_TYPES})
    sets: dict[str, frozenset[str]] = field(default_factory=lambda: {s: frozenset() for s in SET_TYPES})
    affinity: dict[str, int] = field(default_factory=dict)  # set name -> timeout seconds
    chains: dict[str, Chain] = field(default_factory=dict)  # insertion order is the script's order


class _Builder:
    """Fills a Ruleset service by service; the first Service to claim a front end wins."""

    def __init__(self) -> None:
        self.rs = Ruleset()
        self.endpoint_ips: set[str] = set()
        self.cluster_ips: set[str] = set()
        self._keys: set[tuple[str, str, int]] = set()  # (ip or "", proto, port) claimed so far

    def claim(self, ip: str, proto: str, port: int) -> bool:
        """Two LoadBalancers on one node IP and port: only the first (in key order) is programmed."""
        key = (ip, proto, port)
        if key in self._keys:
            return False
        self._keys.add(key)
        return True

    def chain(self, name: str, rules: Iterable[str], header: str = "") -> None:
        self.rs.chains[name] = (header, tuple(rules))

    def element(self, map_name: str, key: str, verdict: str) -> None:
        self.rs.maps[map_name][key] = verdict


def _pick_rules(sp: ServicePort, eps: Sequence[Endpoint]) -> list[str]:
    """A uniformly random endpoint. With affinity: lookups first, then a vmap to endpoint chains
    (which record the client); without: one dnat through an anonymous map, no chain per endpoint
    (measured: ten thousand endpoint chains make a whole-table apply several times slower)."""
    if sp.affinity_timeout:
        rules = [f"ip saddr @{affinity_set(sp, ep)} goto {ep_chain(sp, ep)}" for ep in eps]
        arms = ", ".join(f"{i} : goto {ep_chain(sp, ep)}" for i, ep in enumerate(eps))
        return [*rules, f"numgen random mod {len(eps)} vmap {{ {arms} }}"]
    arms = ", ".join(f"{i} : {ep.ip} . {ep.port}" for i, ep in enumerate(eps))
    return [f"meta l4proto {sp.protocol.lower()} dnat to numgen random mod {len(eps)} map {{ {arms} }}"]


def _no_endpoint_verdict(sp: ServicePort) -> str:
    return "drop" if sp.all_endpoints else "goto reject-chain"


def _service(out: _Builder, sp: ServicePort, cluster_cidr: str) -> None:
    proto = sp.protocol.lower()
    eps = sorted(set(sp.cluster_endpoints) | set(sp.external_endpoints))
    out.endpoint_ips.update(ep.ip for ep in eps)
    for ep in eps if sp.affinity_timeout else ():
        name = affinity_set(sp, ep)
        out.rs.affinity[name] = sp.affinity_timeout
        out.chain(ep_chain(sp, ep), [f"update @{name} {{ ip saddr }}", f"meta l4proto {proto} dnat to {ep.ip}:{ep.port}"])

    if sp.cluster_endpoints:
        rules = [f"ip saddr != {cluster_cidr} jump mark-for-masquerade"] if cluster_cidr else []
        out.chain(svc_chain(sp), rules + _pick_rules(sp, sp.cluster_endpoints))
    for ip in sp.cluster_ips:
        out.cluster_ips.add(ip)
        if out.claim(ip, proto, sp.port):
            if sp.cluster_endpoints:
                out.element("service-ips", f"{ip} . {proto} . {sp.port}", f"goto {svc_chain(sp)}")
            else:
                out.element("no-endpoint-services", f"{ip} . {proto} . {sp.port}", _no_endpoint_verdict(sp))

    if not sp.has_external:
        return
    rules = []
    if sp.external_local:
        # Local policy keeps the client address, but pods and the node itself may still use any
        # endpoint (they are not "external"), as kube-proxy does.
        if sp.cluster_endpoints:
            if cluster_cidr:
                rules.append(f"ip saddr {cluster_cidr} goto {svc_chain(sp)}")
            rules += ["fib saddr type local jump mark-for-masquerade",
                      f"fib saddr type local goto {svc_chain(sp)}"]
        rules += _pick_rules(sp, sp.external_endpoints) if sp.external_endpoints else ["drop"]
    elif sp.external_endpoints:
        rules = ["jump mark-for-masquerade", *_pick_rules(sp, sp.external_endpoints)]
    target = f"goto {ext_chain(sp)}" if rules else _no_endpoint_verdict(sp)
    if rules:
        out.chain(ext_chain(sp), rules)
    for ip in sp.external_ips:
        if out.claim(ip, proto, sp.port):
            out.element("service-ips" if rules else "no-endpoint-services", f"{ip} . {proto} . {sp.port}", target)
    if sp.node_port and out.claim("", proto, sp.node_port):
        out.element("service-nodeports" if rules else "no-endpoint-nodeports", f"{proto} . {sp.node_port}", target)


def _fixed_chains(out: _Builder, cluster_cidr: str) -> None:
    out.chain("nat-prerouting", ["jump services"], "type nat hook prerouting priority dstnat; policy accept;")
    out.chain("nat-output", ["jump services"], "type nat hook output priority -100; policy accept;")
    # Hairpin: after dnat, an endpoint talking to itself through its Service must be masqueraded,
    # or its reply would skip the reverse translation.
    post = ["jump masquerading", "ct status dnat ip saddr . ip daddr @hairpin masquerade"]
    if cluster_cidr:  # egress: pods reaching outside the cluster leave with the node's address
        post.append(f"ip saddr {cluster_cidr} ip daddr != {{ {cluster_cidr}, 224.0.0.0/4 }} masquerade")
    out.chain("nat-postrouting", post, "type nat hook postrouting priority srcnat; policy accept;")
    out.chain("services", ["ip daddr . meta l4proto . th dport vmap @service-ips",
                           "ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports"])
    out.chain("mark-for-masquerade", [f"meta mark set meta mark | {MASQ_MARK:#x}"])
    out.chain("masquerading", [f"meta mark & {MASQ_MARK:#x} == 0 return",
                               f"meta mark set meta mark ^ {MASQ_MARK:#x}",
                               "masquerade fully-random"])
    out.chain("filter-input", ["ct state new jump nodeport-endpoints-check",
                               "ct state new jump service-endpoints-check"],
              "type filter hook input priority -110; policy accept;")
    out.chain("filter-forward", ["ct state new jump service-endpoints-check",
                                 "ct state new jump cluster-ips-check"],
              "type filter hook forward priority -110; policy accept;")
    out.chain("filter-output", ["ct state new jump service-endpoints-check"],
              "type filter hook output priority -110; policy accept;")
    # Runs after nat-output (-100), so a cluster IP still seen here matched no Service port.
    out.chain("filter-output-post-dnat", ["ct state new jump cluster-ips-check"],
              "type filter hook output priority -90; policy accept;")
    out.chain("service-endpoints-check", ["ip daddr . meta l4proto . th dport vmap @no-endpoint-services"])
    out.chain("nodeport-endpoints-check",
              ["ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports"])
    out.chain("cluster-ips-check", ["ip daddr @cluster-ips goto reject-chain"])
    out.chain("reject-chain", ["meta l4proto tcp reject with tcp reset", "reject"])


def build_ruleset(model: Iterable[ServicePort], *, node_ips: Sequence[str], cluster_cidr: str) -> Ruleset:
    """The table's content for a model (pure; equal inputs give equal rulesets, in equal order)."""
    out = _Builder()
    _fixed_chains(out, cluster_cidr)
    for sp in model:
        _service(out, sp, cluster_cidr)
    out.rs.sets = {"nodeport-ips": frozenset(node_ips), "cluster-ips": frozenset(out.cluster_ips),
                   "hairpin": frozenset(f"{ip} . {ip}" for ip in out.endpoint_ips)}
    return out.rs


def elements_text(items: Iterable[str]) -> str:
    items = list(items)
    return ("\t\telements = { " + ",\n\t\t\t".join(items) + " }\n") if items else ""


def sorted_elements(elements: Iterable[str]) -> list[str]:
    """Set elements in a stable, readable order (addresses numerically)."""
    return sorted(elements, key=lambda e: [tuple(int(x) for x in part.split(".")) if part.count(".") == 3 else part
                                           for part in e.split(" . ")])


def chain_text(name: str, chain: Chain) -> str:
    header, rules = chain
    body = ([f"\t\t{header}"] if header else []) + [f"\t\t{r}" for r in rules]
    return f"\tchain {name} {{\n" + "\n".join(body) + ("\n" if body else "") + "\t}"


def render_table(rs: Ruleset, *, table: str = "kyb-proxy", affinity_state: AffinityState | None = None,
                 replace_table: str | None = None) -> str:
    """The script that recreates `table` with `rs`; with `replace_table`, the same transaction
    also deletes that (previous) table. Affinity sets are seeded from `affinity_state`."""
    state = affinity_state or {}
    lines = [f"add table ip {table}", f"delete table ip {table}", f"table ip {table} {{",
             '\tcomment "kybernetes service proxy"']
    for name, decl in MAP_TYPES.items():
        items = [f"{k} : {v}" for k, v in rs.maps[name].items()]
        lines.append(f"\tmap {name} {{\n\t\ttype {decl}\n{elements_text(items)}\t}}")
    for name, decl in SET_TYPES.items():
        lines.append(f"\tset {name} {{\n\t\ttype {decl}\n{elements_text(sorted_elements(rs.sets[name]))}\t}}")
    for name, timeout in rs.affinity.items():
        seeds = [f"{ip} timeout {timeout}s expires {min(left, timeout)}s" for ip, left in state.get(name, ()) if left > 0]
        lines.append(f"\tset {name} {{\n\t\ttype ipv4_addr\n\t\tflags dynamic,timeout\n"
                     f"\t\ttimeout {timeout}s\n{elements_text(seeds)}\t}}")
    lines += [chain_text(name, chain) for name, chain in rs.chains.items()]
    lines.append("}")
    if replace_table and replace_table != table:
        lines += [f"add table ip {replace_table}", f"delete table ip {replace_table}"]
    return "\n".join(lines) + "\n"


def render_model(model: Iterable[ServicePort], *, node_ips: Sequence[str], cluster_cidr: str,
                 table: str = "kyb-proxy", affinity_state: AffinityState | None = None,
                 replace_table: str | None = None) -> str:
    """The whole-table script for a model (see `render_table`)."""
    rs = build_ruleset(model, node_ips=node_ips, cluster_cidr=cluster_cidr)
    return render_table(rs, table=table, affinity_state=affinity_state, replace_table=replace_table)
