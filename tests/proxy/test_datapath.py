"""The rendered rules in a real kernel: namespaces for a node, a client and backend "pods".

Each test renders a ruleset for its Services, applies it in the node namespace with `NftApplier`,
and sends real TCP/UDP traffic from the client (or a backend) namespace.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from kybernetes.proxy.apply import NftApplier
from kybernetes.proxy.model import build_model, stale_udp_flows
from kybernetes.proxy.render import render_model, render_ruleset

from .netlab import CLIENT_IP, CLUSTER_CIDR, NODE_IP, NetLab
from .objects import endpoint, endpoint_slice, port, service

NODE = "node-a"


async def program(lab: NetLab, services: list[dict[str, Any]], slices: list[dict[str, Any]]) -> NftApplier:
    applier = NftApplier(netns=lab.node)
    table, live = await applier.target()  # alternate tables, as ServiceProxy does
    script = render_ruleset(services, slices, node_name=NODE, node_ips=[NODE_IP], cluster_cidr=CLUSTER_CIDR,
                            affinity_state=await applier.affinity_state(), table=table, replace_table=live)
    await applier.apply(script, table=table)
    return applier


def names(replies: list[str]) -> Counter[str]:
    return Counter(r.split()[0] for r in replies)


async def test_cluster_ip_spreads_over_ready_backends(lab: NetLab) -> None:
    svc = service("web", "10.43.7.7", port(80))
    sl = endpoint_slice("web", endpoint(lab.backend_ip(1)), endpoint(lab.backend_ip(2)),
                        endpoint(lab.backend_ip(3), ready=False))
    await program(lab, [svc], [sl])
    seen = names(lab.request(lab.client, "tcp", "10.43.7.7", 80, count=40))
    assert set(seen) == {"be1", "be2"}, seen  # be3 is not ready


async def test_terminating_endpoints_serve_only_when_none_is_ready(lab: NetLab) -> None:
    svc = service("web", "10.43.7.7", port(80))
    sl = endpoint_slice("web", endpoint(lab.backend_ip(3), ready=False, serving=True, terminating=True))
    await program(lab, [svc], [sl])
    assert names(lab.request(lab.client, "tcp", "10.43.7.7", 80, count=5)) == {"be3": 5}


async def test_client_ip_affinity_sticks(lab: NetLab) -> None:
    svc = service("sticky", "10.43.7.8", port(80), sessionAffinity="ClientIP",
                  sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}})
    sl = endpoint_slice("sticky", endpoint(lab.backend_ip(1)), endpoint(lab.backend_ip(2)))
    applier = await program(lab, [svc], [sl])
    seen = names(lab.request(lab.client, "tcp", "10.43.7.8", 80, count=20))
    assert len(seen) == 1, seen
    # A resync recreates the table; the live affinity entries are carried over.
    state = await applier.affinity_state()
    assert [ip for entries in state.values() for ip, _ in entries] == [CLIENT_IP]
    await program(lab, [svc], [sl])
    assert names(lab.request(lab.client, "tcp", "10.43.7.8", 80, count=10)) == {next(iter(seen)): 10}


async def test_no_endpoints_refuses_fast(lab: NetLab) -> None:
    svc = service("empty", "10.43.7.9", port(80), port(53, name="dns", protocol="UDP"))
    await program(lab, [svc, service("web", "10.43.7.7", port(80))],
                  [endpoint_slice("web", endpoint(lab.backend_ip(1)))])
    for ip, p in (("10.43.7.9", 80), ("10.43.7.7", 81)):  # no endpoints; a port the Service lacks
        [reply] = lab.request(lab.client, "tcp", ip, p)
        kind, error, seconds = reply.split()
        assert (kind, error) == ("error", "ConnectionRefusedError") and float(seconds) < 0.5, reply
    [reply] = lab.request(lab.client, "udp", "10.43.7.9", 53)
    assert reply.startswith("error ConnectionRefusedError"), reply  # ICMP port unreachable


async def test_node_port_masquerades_and_local_policy_keeps_source(lab: NetLab) -> None:
    both = [endpoint(lab.backend_ip(1), node=NODE), endpoint(lab.backend_ip(2), node="node-b")]
    cluster = service("np", "10.43.7.10", port(80, node_port=30080), type="NodePort")
    local = service("npl", "10.43.7.11", port(80, node_port=30081), type="NodePort", externalTrafficPolicy="Local")
    remote_only = service("npr", "10.43.7.12", port(80, node_port=30082), type="NodePort",
                          externalTrafficPolicy="Local")
    await program(lab, [cluster, local, remote_only],
                  [endpoint_slice("np", *both), endpoint_slice("npl", *both),
                   endpoint_slice("npr", endpoint(lab.backend_ip(2), node="node-b"))])
    replies = lab.request(lab.client, "tcp", NODE_IP, 30080, count=30)
    assert set(names(replies)) == {"be1", "be2"}
    assert all(r.split()[1] != CLIENT_IP for r in replies), replies  # masqueraded to the node
    replies = lab.request(lab.client, "tcp", NODE_IP, 30081, count=10)
    assert replies == [f"be1 {CLIENT_IP}"] * 10  # only the local endpoint, client address kept
    [reply] = lab.request(lab.client, "tcp", NODE_IP, 30082)
    assert reply.startswith("error"), reply  # Local with no local endpoint: dropped
    # The ClusterIP of the Local service still reaches every endpoint.
    assert set(names(lab.request(lab.client, "tcp", "10.43.7.11", 80, count=30))) == {"be1", "be2"}


async def test_load_balancer_ip_and_internal_local(lab: NetLab) -> None:
    lb = service("lb", "10.43.7.13", port(8081, node_port=30083), type="LoadBalancer", lb=[NODE_IP])
    itp = service("itp", "10.43.7.14", port(80), internalTrafficPolicy="Local")
    eps = [endpoint(lab.backend_ip(1), node=NODE), endpoint(lab.backend_ip(2), node="node-b")]
    await program(lab, [lb, itp], [endpoint_slice("lb", *eps), endpoint_slice("itp", *eps)])
    assert set(names(lab.request(lab.client, "tcp", NODE_IP, 8081, count=30))) == {"be1", "be2"}
    assert names(lab.request(lab.client, "tcp", "10.43.7.14", 80, count=10)) == {"be1": 10}


async def test_hairpin_and_egress_masquerade(lab: NetLab) -> None:
    svc = service("self", "10.43.7.15", port(80))
    await program(lab, [svc], [endpoint_slice("self", endpoint(lab.backend_ip(1)))])
    # be1 reaches itself through the VIP: must be masqueraded or the reply would bypass the NAT.
    assert lab.request(lab.backend(1), "tcp", "10.43.7.15", 80) == ["be1 10.158.129.1"]
    # A pod reaching outside the cluster CIDR leaves with the node's address.
    assert lab.request(lab.backend(1), "tcp", CLIENT_IP, 9000) == [f"client {NODE_IP}"]


async def test_udp_and_conntrack_cleanup_moves_flows(lab: NetLab) -> None:
    svc = service("dns", "10.43.7.16", port(53, name="dns", protocol="UDP", target="dns"))
    ports = [{"name": "dns", "port": 8080, "protocol": "UDP"}]  # named targetPort resolved by the slice
    old = [endpoint_slice("dns", endpoint(lab.backend_ip(1)), ports=ports)]
    new = [endpoint_slice("dns", endpoint(lab.backend_ip(2)), ports=ports)]
    applier = await program(lab, [svc], old)
    assert names(lab.request(lab.client, "udp", "10.43.7.16", 53, count=3, sport=40053)) == {"be1": 3}
    await program(lab, [svc], new)
    # The old flow is still in conntrack and keeps going to be1 (still running) ...
    assert names(lab.request(lab.client, "udp", "10.43.7.16", 53, sport=40053)) == {"be1": 1}
    # ... until the proxy's cleanup deletes it.
    cmds = stale_udp_flows(build_model([svc], old, node_name=NODE), build_model([svc], new, node_name=NODE))
    assert cmds == [["-D", "-p", "udp", "--orig-dst", "10.43.7.16", "--dport", "53",
                     "--reply-src", lab.backend_ip(1), "--reply-port-src", "8080"]]
    await applier.clear_conntrack(cmds)
    assert names(lab.request(lab.client, "udp", "10.43.7.16", 53, count=3, sport=40053)) == {"be2": 3}


@pytest.mark.parametrize("protocol", ["TCP", "UDP", "SCTP"])
async def test_rendered_script_passes_nft_check(lab: NetLab, protocol: str) -> None:
    svc = service("all", "10.43.7.17", port(80, protocol=protocol, node_port=30090), type="LoadBalancer",
                  lb=[NODE_IP], sessionAffinity="ClientIP", externalTrafficPolicy="Local")
    sl = endpoint_slice("all", endpoint(lab.backend_ip(1)), ports=[{"name": "", "port": 8080, "protocol": protocol}])
    model = build_model([svc], [sl], node_name=NODE)
    script = render_model(model, node_ips=[NODE_IP], cluster_cidr=CLUSTER_CIDR, table="kyb-check")
    lab.nft(script, check_only=True)


async def test_delete_removes_table(lab: NetLab) -> None:
    applier = await program(lab, [], [])
    await applier.list_table()
    await applier.delete()
    await applier.delete()  # idempotent
    with pytest.raises(RuntimeError):
        await applier.list_table()
