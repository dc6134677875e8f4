"""NetworkPolicies in a real kernel: a bridged "node" namespace with six "pods" in three namespaces
and a client outside the cluster (see netlab.py). Each test renders its policies, applies them in
the node namespace with the proxy's `NftApplier`, and checks an exact connectivity matrix: every
(source, target) pair is either expected to connect or expected to be dropped."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from kybernetes.netpol.render import render_policies
from kybernetes.proxy.apply import NftApplier

from .conftest import LAB_PODS, NAMESPACES
from .netlab import CLUSTER_CIDR, NODE, NetLab, in_ns, sh
from .objects import block, both, namespaces, pods, policy, port

PODS = [p.key for p in LAB_PODS]
SOURCES = [*PODS, "ext", "node"]
Pair = tuple[str, str]


async def enforce(lab: NetLab, *policies: dict[str, Any]) -> None:
    script = render_policies(list(policies), [p.obj() for p in LAB_PODS], NAMESPACES, node_name=NODE,
                             cluster_cidr=CLUSTER_CIDR, table="kyb-netpol")
    await NftApplier("kyb-netpol", netns=lab.node).apply(script)


def connected(lab: NetLab, proto: str, p: int, sources: Iterable[str] = SOURCES,
              targets: Iterable[str] = PODS) -> set[Pair]:
    probes = [(s, t, proto, p) for s in sources for t in targets if s != t]
    return {(s, t) for (s, t, _, _), ok in lab.probe_many(probes).items() if ok}


def expect(rule: Callable[[str, str], bool], sources: Iterable[str] = SOURCES, targets: Iterable[str] = PODS) -> set[Pair]:
    return {(s, t) for s in sources for t in targets if s != t and rule(s, t)}


def ns(key: str) -> str:
    return key.split("/")[0] if "/" in key else key


async def test_no_policy_everything_connects(lab: NetLab) -> None:
    await enforce(lab)
    assert connected(lab, "tcp", 80) == expect(lambda s, t: True)


async def test_default_deny_ingress_only_the_node_gets_in(lab: NetLab) -> None:
    await enforce(lab, policy("prod", "deny", ingress=[]))
    # prod pods still reach out (replies pass); only the node (probes) reaches prod pods.
    assert connected(lab, "tcp", 80) == expect(lambda s, t: ns(t) != "prod" or s == "node")


async def test_allow_from_pod_selector_same_namespace_only(lab: NetLab) -> None:
    await enforce(lab, policy("prod", "deny", ingress=[]),
                  policy("prod", "db-clients", {"app": "db"}, ingress=[{"from": [pods(app="client")]}]))
    assert connected(lab, "tcp", 8082) == expect(
        lambda s, t: ns(t) != "prod" or s == "node" or (s, t) == ("prod/cli", "prod/db"))


async def test_allow_from_namespace_selector(lab: NetLab) -> None:
    await enforce(lab, policy("prod", "from-dev", {"app": "web"}, ingress=[{"from": [namespaces(env="dev")]}]))
    assert connected(lab, "tcp", 80) == expect(lambda s, t: t != "prod/web" or ns(s) in ("dev", "node"))


async def test_namespace_and_pod_selector_together_are_anded(lab: NetLab) -> None:
    await enforce(lab, policy("prod", "and", {"app": "web"},
                              ingress=[{"from": [both({"env": "dev"}, {"app": "client"})]}]))
    assert connected(lab, "tcp", 80) == expect(lambda s, t: t != "prod/web" or s in ("dev/cli", "node"))
    # Two separate peers are ORed instead.
    await enforce(lab, policy("prod", "or", {"app": "web"},
                              ingress=[{"from": [namespaces(env="dev"), pods(app="client")]}]))
    assert connected(lab, "tcp", 80) == expect(
        lambda s, t: t != "prod/web" or s in ("dev/cli", "dev/web", "prod/cli", "node"))


async def test_ip_block_with_except(lab: NetLab) -> None:
    # 10.51.0.20/30 holds the dev pods (.21, .22); the outside client is 10.99.3.2.
    await enforce(lab, policy("prod", "cidr", {"app": "web"}, ingress=[{"from": [block("10.0.0.0/8", "10.51.0.20/30")]}]))
    assert connected(lab, "tcp", 80) == expect(lambda s, t: t != "prod/web" or ns(s) != "dev")


async def test_ports_and_protocols(lab: NetLab) -> None:
    await enforce(lab, policy("prod", "ports", {"app": "web"},
                              ingress=[{"ports": [port(8080), port(53, "UDP")]}]))
    src = ["dev/cli"]
    assert connected(lab, "tcp", 8080, src) == expect(lambda s, t: True, src)
    assert connected(lab, "udp", 53, src) == expect(lambda s, t: True, src)
    for p in (80, 9090):
        assert connected(lab, "tcp", p, src) == expect(lambda s, t: t != "prod/web", src)
    # A protocol without a port opens every port of that protocol only.
    await enforce(lab, policy("prod", "udp", {"app": "web"}, ingress=[{"ports": [port(protocol="UDP")]}]))
    assert connected(lab, "udp", 53, src) == expect(lambda s, t: True, src)
    assert connected(lab, "tcp", 8080, src) == expect(lambda s, t: t != "prod/web", src)


async def test_named_ports_resolve_per_destination_pod(lab: NetLab) -> None:
    # "http" is 80 on prod/web and 8080 on dev/web; prod/db and dev/cli have no such port.
    await enforce(lab, policy("prod", "http", ingress=[{"ports": [port("http")]}]),
                  policy("dev", "http", ingress=[{"ports": [port("http")]}]))
    src = ["infra/dns"]
    guarded = {"prod/web", "prod/db", "prod/cli", "dev/web", "dev/cli"}
    assert connected(lab, "tcp", 80, src) == expect(lambda s, t: t not in guarded or t == "prod/web", src)
    assert connected(lab, "tcp", 8080, src) == expect(lambda s, t: t not in guarded or t == "dev/web", src)
    # Egress: the name is looked up on each destination pod ("pg" exists only on prod/db).
    await enforce(lab, policy("prod", "to-pg", {"app": "client"}, egress=[{"ports": [port("pg")]}], types=["Egress"]))
    src = ["prod/cli", "dev/cli"]
    assert connected(lab, "tcp", 8082, src) == expect(lambda s, t: s == "dev/cli" or t == "prod/db", src)


async def test_end_port_range(lab: NetLab) -> None:
    await enforce(lab, policy("prod", "range", {"app": "web"}, ingress=[{"ports": [port(8080, end=8081)]}]))
    src, target = ["dev/cli"], ["prod/web"]
    result = {p: bool(connected(lab, "tcp", p, src, target)) for p in (80, 8080, 8081, 8082)}
    assert result == {80: False, 8080: True, 8081: True, 8082: False}


async def test_egress_default_deny_with_dns_allowed(lab: NetLab) -> None:
    await enforce(lab, policy("prod", "egress", types=["Egress"], egress=[{"ports": [port(53, "UDP")]}]))
    targets = [*PODS, "ext"]
    assert connected(lab, "udp", 53, SOURCES, targets) == expect(lambda s, t: True, SOURCES, targets)
    # Ingress of prod is untouched and replies of prod pods pass their egress deny.
    assert connected(lab, "tcp", 80, SOURCES, targets) == expect(lambda s, t: ns(s) != "prod", SOURCES, targets)


async def test_replies_to_allowed_connections_pass(lab: NetLab) -> None:
    # prod/web accepts nothing new and dev/web may open nothing new; both still talk when the
    # other side is the one allowed to start.
    await enforce(lab, policy("prod", "in", {"app": "web"}, ingress=[]),
                  policy("dev", "out", {"app": "web"}, egress=[], types=["Egress"]))
    assert connected(lab, "tcp", 80, ["prod/web", "dev/web"], ["prod/web", "dev/web"]) == {("prod/web", "dev/web")}
    assert connected(lab, "udp", 53, ["prod/web", "dev/web"], ["prod/web", "dev/web"]) == {("prod/web", "dev/web")}


async def test_unselected_pods_stay_unrestricted(lab: NetLab) -> None:
    await enforce(lab, policy("prod", "only-db", expressions=[{"key": "app", "operator": "In", "values": ["db"]}],
                              ingress=[], egress=[], types=["Ingress", "Egress"]))
    assert connected(lab, "tcp", 80) == expect(lambda s, t: "prod/db" not in (s, t) or s == "node")


@pytest.fixture
def service_vip(lab: NetLab) -> Iterator[str]:
    """A stand-in for the proxy: 10.52.0.10:80 DNATs to prod/web in prerouting."""
    script = ("table ip kyb-netpol-svc-sim {\n\tchain pre {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
              f"\t\tip daddr 10.52.0.10 tcp dport 80 dnat to {lab.pod('prod/web').ip}:80\n\t}}\n}}\n")
    subprocess.run(in_ns(lab.node, "nft", "-f", "-"), input=script, text=True, check=True)
    yield "10.52.0.10"
    sh(*in_ns(lab.node, "nft", "delete", "table", "ip", "kyb-netpol-svc-sim"))


async def test_service_traffic_is_filtered_after_dnat(lab: NetLab, service_vip: str) -> None:
    await enforce(lab, policy("prod", "web", {"app": "web"}, ingress=[{"from": [both({"env": "dev"}, {"app": "client"})]}]))
    probes = [(s, service_vip, "tcp", 80) for s in ("dev/cli", "dev/web", "prod/cli")]
    assert lab.probe_many(probes) == {probes[0]: True, probes[1]: False, probes[2]: False}
