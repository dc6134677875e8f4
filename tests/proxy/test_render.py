"""Table-driven tests of the pure parts: model decisions, rendered text, conntrack cleanup, LB status."""

from __future__ import annotations

import random
from typing import Any

import pytest

from kybernetes.controllers.servicelb import desired_ingress, node_addresses
from kybernetes.proxy.apply import parse_affinity_sets
from kybernetes.proxy.model import Endpoint, build_model, stale_udp_flows
from kybernetes.proxy.render import render_ruleset

from .objects import endpoint, endpoint_slice, port, service

NODE = "node-a"
EP1, EP2, EP3 = "10.42.1.2", "10.42.2.2", "10.42.3.2"


def model_of(services: list[dict[str, Any]], slices: list[dict[str, Any]]) -> dict[str, list[str]]:
    """key -> ["cluster:ip:port,...", "external:...", fronts] in a compact, comparable form."""
    out = {}
    for sp in build_model(services, slices, node_name=NODE):
        out[sp.key] = [",".join(f"{e.ip}:{e.port}" for e in sp.cluster_endpoints),
                       ",".join(f"{e.ip}:{e.port}" for e in sp.external_endpoints)]
    return out


MODEL_CASES = [
    pytest.param([service("h", "None")], [endpoint_slice("h", endpoint(EP1))], {}, id="headless-gets-nothing"),
    pytest.param([service("x", "", type="ExternalName", externalName="example.com")], [], {},
                 id="externalname-gets-nothing"),
    pytest.param([service("w", "10.43.0.5", port(80, name="http", target="web"))],
                 [endpoint_slice("w", endpoint(EP1), ports=[{"name": "http", "port": 9376, "protocol": "TCP"}])],
                 {"default/w/tcp/http": [f"{EP1}:9376", f"{EP1}:9376"]}, id="named-target-port-from-slice"),
    pytest.param([service("w", "10.43.0.5", port(80, name="http"))],
                 [endpoint_slice("w", endpoint(EP1), ports=[{"name": "other", "port": 1, "protocol": "TCP"}])],
                 {"default/w/tcp/http": ["", ""]}, id="slice-port-name-must-match"),
    pytest.param([service("w", "10.43.0.5", port(80, protocol="UDP"))],
                 [endpoint_slice("w", endpoint(EP1))], {"default/w/udp/80": ["", ""]}, id="slice-protocol-must-match"),
    pytest.param([service("w", "10.43.0.5")],
                 [endpoint_slice("w", endpoint(EP1), endpoint(EP2, ready=False),
                                 endpoint(EP3, ready=False, serving=True, terminating=True))],
                 {"default/w/tcp/80": [f"{EP1}:8080"] * 2}, id="ready-only-when-some-ready"),
    pytest.param([service("w", "10.43.0.5")],
                 [endpoint_slice("w", endpoint(EP2, ready=False),
                                 endpoint(EP3, ready=False, serving=True, terminating=True))],
                 {"default/w/tcp/80": [f"{EP3}:8080"] * 2}, id="terminating-serving-when-none-ready"),
    pytest.param([service("w", "10.43.0.5")],
                 [endpoint_slice("w", endpoint(EP1, ready=None))],
                 {"default/w/tcp/80": [f"{EP1}:8080"] * 2}, id="nil-ready-counts-as-ready"),
    pytest.param([service("w", "10.43.0.5")],
                 [endpoint_slice("w", endpoint(EP1), suffix="a"), endpoint_slice("w", endpoint(EP1), suffix="b"),
                  endpoint_slice("w", endpoint(EP2), ns="other")],
                 {"default/w/tcp/80": [f"{EP1}:8080"] * 2}, id="dedup-and-namespace-scoped"),
    pytest.param([service("w", "10.43.0.5")],
                 [dict(endpoint_slice("w", endpoint("fd00::1")), addressType="IPv6")],
                 {"default/w/tcp/80": ["", ""]}, id="ipv6-slices-ignored"),
    pytest.param([service("w", "10.43.0.5", internalTrafficPolicy="Local")],
                 [endpoint_slice("w", endpoint(EP1, node=NODE), endpoint(EP2, node="node-b"))],
                 {"default/w/tcp/80": [f"{EP1}:8080", f"{EP1}:8080,{EP2}:8080"]}, id="internal-local"),
    pytest.param([service("w", "10.43.0.5", port(80, node_port=30000), type="NodePort",
                          externalTrafficPolicy="Local")],
                 [endpoint_slice("w", endpoint(EP1, node=NODE), endpoint(EP2, node="node-b"))],
                 {"default/w/tcp/80": [f"{EP1}:8080,{EP2}:8080", f"{EP1}:8080"]}, id="external-local"),
]


@pytest.mark.parametrize(("services", "slices", "expected"), MODEL_CASES)
def test_model(services: list[dict[str, Any]], slices: list[dict[str, Any]], expected: dict[str, list[str]]) -> None:
    assert model_of(services, slices) == expected


def test_model_fronts_and_affinity() -> None:
    svc = service("lb", "10.43.0.9", port(443, name="https", protocol="SCTP", node_port=31000), type="LoadBalancer",
                  lb=["192.0.2.10", "fd00::10"], externalIPs=["198.51.100.1"], sessionAffinity="ClientIP",
                  externalTrafficPolicy="Local", healthCheckNodePort=32000)
    [sp] = build_model([svc], [], node_name=NODE)
    assert (sp.key, sp.cluster_ips, sp.external_ips, sp.node_port, sp.affinity_timeout, sp.health_check_node_port) == (
        "default/lb/sctp/https", ["10.43.0.9"], ["198.51.100.1", "192.0.2.10"], 31000, 10800, 32000)


def render(services: list[dict[str, Any]], slices: list[dict[str, Any]], **kw: Any) -> str:
    args: dict[str, Any] = {"node_name": NODE, "node_ips": ["192.0.2.10"], "cluster_cidr": "10.42.0.0/16", **kw}
    return render_ruleset(services, slices, **args)


TWO = [endpoint_slice("w", endpoint(EP1), endpoint(EP2))]
RENDER_CASES = [
    pytest.param([service("w", "10.43.0.5")], TWO,
                 ["10.43.0.5 . tcp . 80 : goto svc-",
                  f"meta l4proto tcp dnat to numgen random mod 2 map {{ 0 : {EP1} . 8080, 1 : {EP2} . 8080 }}",
                  f"elements = {{ {EP1} . {EP1},\n\t\t\t{EP2} . {EP2} }}",
                  "ct status dnat ip saddr . ip daddr @hairpin masquerade",
                  "ip saddr != 10.42.0.0/16 jump mark-for-masquerade"],
                 ["@aff-", "chain ep-", "service-nodeports {\n\t\ttype inet_proto . inet_service : verdict\n\t\telements"],
                 id="clusterip-random-over-two"),
    pytest.param([service("w", "10.43.0.5")], [], ["10.43.0.5 . tcp . 80 : goto reject-chain"], ["svc-"],
                 id="no-endpoints-rejects"),
    pytest.param([service("w", "10.43.0.5", internalTrafficPolicy="Local")],
                 [endpoint_slice("w", endpoint(EP2, node="node-b"))], ["10.43.0.5 . tcp . 80 : drop"], ["svc-"],
                 id="internal-local-without-local-endpoints-drops"),
    pytest.param([service("w", "10.43.0.5", sessionAffinity="ClientIP",
                          sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}})], TWO,
                 ["flags dynamic,timeout\n\t\ttimeout 60s", "update @aff-", "ip saddr @aff-",
                  "numgen random mod 2 vmap { 0 : goto ep-", f"meta l4proto tcp dnat to {EP1}:8080"], [],
                 id="client-ip-affinity"),
    pytest.param([service("w", "10.43.0.5", port(80, node_port=30080), type="NodePort")], TWO,
                 ["tcp . 30080 : goto ext-", "\t\tjump mark-for-masquerade\n", "elements = { 192.0.2.10 }"], [],
                 id="nodeport-cluster-policy-masquerades"),
    pytest.param([service("w", "10.43.0.5", port(80, node_port=30080), type="NodePort",
                          externalTrafficPolicy="Local")],
                 [endpoint_slice("w", endpoint(EP1, node=NODE), endpoint(EP2, node="node-b"))],
                 ["ip saddr 10.42.0.0/16 goto svc-", "fib saddr type local goto svc-", "dnat to numgen random mod 1 map"],
                 ["\t\tjump mark-for-masquerade\n"], id="nodeport-local-policy"),
    pytest.param([service("w", "10.43.0.5", port(80, node_port=30080), type="NodePort")], [],
                 ["tcp . 30080 : goto reject-chain"], ["ext-"], id="nodeport-without-endpoints-rejects"),
    pytest.param([service("a", "10.43.0.5", port(80, node_port=30080), type="LoadBalancer", lb=["192.0.2.10"]),
                  service("b", "10.43.0.6", port(80, node_port=30081), type="LoadBalancer", lb=["192.0.2.10"])],
                 [endpoint_slice("a", endpoint(EP1)), endpoint_slice("b", endpoint(EP2))],
                 ["192.0.2.10 . tcp . 80 : goto ext-", "default/a/tcp/80"], ["192.0.2.10 . tcp . 80 : goto ext-c"],
                 id="lb-ip-clash-first-wins"),
    pytest.param([service("u", "10.43.0.10", port(53, protocol="UDP"), port(53, name="t", protocol="TCP"))],
                 [endpoint_slice("u", endpoint(EP1), ports=[{"name": "", "port": 53, "protocol": "UDP"}])],
                 ["10.43.0.10 . udp . 53 : goto svc-", "meta l4proto udp dnat to numgen", "10.43.0.10 . tcp . 53 : goto reject"],
                 [], id="udp-and-tcp-on-one-ip"),
    pytest.param([], [], ["ip saddr 10.42.0.0/16 ip daddr != { 10.42.0.0/16, 224.0.0.0/4 } masquerade",
                          "add table ip kyb-proxy\ndelete table ip kyb-proxy\ntable ip kyb-proxy {"], [],
                 id="empty-has-egress-masquerade"),
]


@pytest.mark.parametrize(("services", "slices", "present", "absent"), RENDER_CASES)
def test_render(services: list[dict[str, Any]], slices: list[dict[str, Any]], present: list[str],
                absent: list[str]) -> None:
    text = render(services, slices)
    for fragment in present:
        assert fragment in text, fragment
    for fragment in absent:
        assert fragment not in text, fragment


def test_render_replacing_the_previous_table() -> None:
    text = render([], [], table="kyb-proxy-b", replace_table="kyb-proxy")
    assert text.startswith("add table ip kyb-proxy-b\ndelete table ip kyb-proxy-b\ntable ip kyb-proxy-b {")
    assert text.endswith("}\nadd table ip kyb-proxy\ndelete table ip kyb-proxy\n")
    assert render([], [], replace_table="kyb-proxy") == render([], [])


def test_render_without_cluster_cidr_has_no_cidr_rules() -> None:
    text = render([service("w", "10.43.0.5")], TWO, cluster_cidr="")
    assert "masquerade\n" in text and "ip saddr != " not in text and "ip daddr != {" not in text


def test_render_is_deterministic() -> None:
    services = [service(f"s{i}", f"10.43.1.{i}") for i in range(20)]
    slices = [endpoint_slice(f"s{i}", endpoint(EP1), endpoint(EP2)) for i in range(20)]
    first = render(services, slices)
    random.Random(7).shuffle(services)
    random.Random(8).shuffle(slices)
    assert render(services, slices) == first


def test_affinity_state_is_reseeded_and_capped() -> None:
    svc = service("w", "10.43.0.5", sessionAffinity="ClientIP", sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}})
    text = render([svc], TWO)
    set_name = "aff-" + text.split("\tset aff-")[1].split(" {")[0]
    text = render([svc], TWO, affinity_state={set_name: [("10.9.9.9", 30), ("10.9.9.8", 500), ("10.9.9.7", 0)],
                                              "aff-gone": [("10.1.1.1", 5)]})
    assert "10.9.9.9 timeout 60s expires 30s" in text and "10.9.9.8 timeout 60s expires 60s" in text
    assert "10.9.9.7" not in text and "10.1.1.1" not in text


UDP = [service("u", "10.43.0.10", port(53, protocol="UDP", node_port=30053), type="NodePort")]


def _udp(*ips: str) -> list[dict[str, Any]]:
    eps = [endpoint(ip) for ip in ips]
    return [endpoint_slice("u", *eps, ports=[{"name": "", "port": 5353, "protocol": "UDP"}])] if eps else []


@pytest.mark.parametrize(("old", "new", "expected"), [
    pytest.param(_udp(EP1), _udp(EP1), [], id="unchanged"),
    pytest.param(_udp(EP1, EP2), _udp(EP1), [
        ["-D", "-p", "udp", "--dport", "30053", "--reply-src", EP2, "--reply-port-src", "5353"],
        ["-D", "-p", "udp", "--orig-dst", "10.43.0.10", "--dport", "53", "--reply-src", EP2, "--reply-port-src", "5353"],
    ], id="endpoint-removed"),
    pytest.param(_udp(), _udp(EP1), [
        ["-D", "-p", "udp", "--dport", "30053"],
        ["-D", "-p", "udp", "--orig-dst", "10.43.0.10", "--dport", "53"],
    ], id="first-endpoint-clears-unnated-flows"),
])
def test_stale_udp_flows(old: list[dict[str, Any]], new: list[dict[str, Any]], expected: list[list[str]]) -> None:
    assert stale_udp_flows(build_model(UDP, old, node_name=NODE), build_model(UDP, new, node_name=NODE)) == expected


def test_stale_udp_flows_ignores_tcp() -> None:
    svc = [service("t", "10.43.0.11")]
    assert stale_udp_flows(build_model(svc, [endpoint_slice("t", endpoint(EP1))], node_name=NODE),
                           build_model(svc, [], node_name=NODE)) == []


def test_endpoint_order() -> None:
    assert sorted([Endpoint("10.0.0.2", 1), Endpoint("10.0.0.1", 2)])[0].ip == "10.0.0.1"


def test_parse_affinity_sets() -> None:
    raw = ('{"nftables": [{"metainfo": {}}, {"set": {"name": "aff-x", "elem": [{"elem": {"val": "10.0.0.1", '
           '"expires": 98}}]}}, {"set": {"name": "cluster-ips", "elem": ["10.43.0.1"]}}]}')
    assert parse_affinity_sets(raw) == {"aff-x": [("10.0.0.1", 98)]}
    assert parse_affinity_sets("") == {} and parse_affinity_sets("not json") == {}


def node(name: str, ip: str, ready: str = "True") -> dict[str, Any]:
    return {"metadata": {"name": name}, "status": {"conditions": [{"type": "Ready", "status": ready}],
                                                   "addresses": [{"type": "InternalIP", "address": ip},
                                                                 {"type": "Hostname", "address": name}]}}


def test_node_addresses() -> None:
    nodes = [node("b", "10.0.0.10"), node("a", "10.0.0.9"), node("c", "10.0.0.11", ready="False"),
             node("d", "fd00::1")]
    assert node_addresses(nodes) == ["10.0.0.9", "10.0.0.10"]


@pytest.mark.parametrize(("svc", "expected"), [
    pytest.param(service("l", "10.43.0.5", type="LoadBalancer"), [{"ip": "10.0.0.9"}], id="lb-gets-node-ips"),
    pytest.param(service("l", "10.43.0.5", type="LoadBalancer", loadBalancerClass="example.com/lb"), None,
                 id="other-class-left-alone"),
    pytest.param(service("c", "10.43.0.5"), None, id="clusterip-untouched"),
    pytest.param(service("c", "10.43.0.5", lb=["10.0.0.9"]), [], id="former-lb-withdrawn"),
])
def test_desired_ingress(svc: dict[str, Any], expected: list[dict[str, str]] | None) -> None:
    assert desired_ingress(svc, ["10.0.0.9"]) == expected
