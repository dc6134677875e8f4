"""Table tests for the pure part: which pods are isolated, and what each one allows."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.netpol.render import EGRESS, INGRESS, Allow, decide, policy_types, render_policies

from .objects import block, both, namespaces, pods, policy, port

NODE = "n1"
CIDR = "10.51.0.0/16"
NSES = [{"metadata": {"name": "a", "labels": {"env": "prod"}}}, {"metadata": {"name": "b", "labels": {"env": "dev"}}}]


def pod(key: str, ip: str, node: str = NODE, ports: list[tuple[str, int, str]] | None = None, **labels: str) -> dict[str, Any]:
    ns, name = key.split("/")
    return {"metadata": {"namespace": ns, "name": name, "labels": labels},
            "spec": {"nodeName": node, "containers": [{"name": "c", "ports": [
                {"name": n, "containerPort": p, "protocol": pr} for n, p, pr in ports or []]}]},
            "status": {"phase": "Running", "podIP": ip}}


WEB = pod("a/web", "10.51.0.2", ports=[("http", 80, "TCP"), ("dns", 53, "UDP")], app="web")
CLI = pod("a/cli", "10.51.0.3", app="cli")
REMOTE = pod("b/db", "10.51.1.2", node="n2", ports=[("pg", 5432, "TCP")], app="db")
PODS = [WEB, CLI, REMOTE]
ALL_IPS = frozenset({"10.51.0.2", "10.51.0.3", "10.51.1.2"})

CASES: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]], dict[tuple[str, str], list[Allow]]]] = [
    ("no policies: nobody isolated", [], PODS, {}),
    ("default deny ingress selects the whole namespace", [policy("a", "deny", ingress=[])], PODS,
     {(INGRESS, "a/cli"): [], (INGRESS, "a/web"): []}),
    ("policy in another namespace selects nothing here", [policy("b", "deny", ingress=[])], PODS, {}),
    ("egress rules add Egress to the default types", [policy("a", "p", {"app": "web"}, egress=[{}])], PODS,
     {(INGRESS, "a/web"): [], (EGRESS, "a/web"): [Allow()]}),
    ("explicit Egress only", [policy("a", "p", {"app": "web"}, egress=[], types=["Egress"])], PODS,
     {(EGRESS, "a/web"): []}),
    ("empty rule allows everyone", [policy("a", "p", {"app": "web"}, ingress=[{}])], PODS, {(INGRESS, "a/web"): [Allow()]}),
    ("pod selector peer: same namespace only", [policy("a", "p", {"app": "web"}, ingress=[{"from": [pods(app="db")]}])],
     PODS, {(INGRESS, "a/web"): [Allow(peer_ips=frozenset())]}),
    ("namespace selector peer includes remote pods", [policy("a", "p", {"app": "web"}, ingress=[{"from": [namespaces(env="dev")]}])],
     PODS, {(INGRESS, "a/web"): [Allow(peer_ips=frozenset({"10.51.1.2"}))]}),
    ("namespace name label is implicit",
     [policy("a", "p", {"app": "web"}, ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "b"}}}]}])],
     PODS, {(INGRESS, "a/web"): [Allow(peer_ips=frozenset({"10.51.1.2"}))]}),
    ("empty namespace selector: every pod", [policy("a", "p", {"app": "web"}, ingress=[{"from": [{"namespaceSelector": {}}]}])],
     PODS, {(INGRESS, "a/web"): [Allow(peer_ips=ALL_IPS)]}),
    ("namespace AND pod selector", [policy("a", "p", {"app": "web"}, ingress=[{"from": [both({"env": "prod"}, {"app": "cli"})]}])],
     PODS, {(INGRESS, "a/web"): [Allow(peer_ips=frozenset({"10.51.0.3"}))]}),
    ("ipBlock with except, v6 block ignored",
     [policy("a", "p", {"app": "web"}, ingress=[{"from": [block("10.0.0.0/8", "10.51.0.0/24"), block("fd00::/8")]}])],
     PODS, {(INGRESS, "a/web"): [Allow(cidr=("10.0.0.0/8", ("10.51.0.0/24",)))]}),
    ("ports: number, protocol only, endPort, endPort below port",
     [policy("a", "p", {"app": "web"}, ingress=[{"ports": [port(80), port(protocol="UDP"), port(8000, "SCTP", 8010), port(90, end=85)]}])],
     PODS, {(INGRESS, "a/web"): [Allow(proto="TCP", ports=(80, 80)), Allow(proto="UDP"),
                                 Allow(proto="SCTP", ports=(8000, 8010)), Allow(proto="TCP", ports=(90, 90))]}),
    ("ingress named port: resolved on the selected pod, protocol must match",
     [policy("a", "p", ingress=[{"ports": [port("http"), port("dns", "UDP"), port("dns")]}])], PODS,
     {(INGRESS, "a/web"): [Allow(proto="TCP", ports=(80, 80)), Allow(proto="UDP", ports=(53, 53))],
      (INGRESS, "a/cli"): []}),
    ("egress named port: resolved on each destination pod",
     [policy("a", "p", {"app": "cli"}, egress=[{"to": [namespaces()], "ports": [port("pg"), port("http")]}])], PODS,
     {(INGRESS, "a/cli"): [], (EGRESS, "a/cli"): [Allow(tuples=frozenset({("10.51.1.2", "tcp", 5432)})),
                                                Allow(tuples=frozenset({("10.51.0.2", "tcp", 80)}))]}),
    ("match expressions", [policy("a", "p", expressions=[{"key": "app", "operator": "NotIn", "values": ["web"]}], ingress=[])],
     PODS, {(INGRESS, "a/cli"): []}),
    ("invalid selector selects nothing", [policy("a", "p", expressions=[{"key": "app", "operator": "Bogus"}], ingress=[])],
     PODS, {}),
    ("union over policies without duplicates",
     [policy("a", "p1", {"app": "web"}, ingress=[{"ports": [port(80)]}]),
      policy("a", "p2", {"app": "web"}, ingress=[{"ports": [port(80)]}, {"ports": [port(81)]}])], PODS,
     {(INGRESS, "a/web"): [Allow(proto="TCP", ports=(80, 80)), Allow(proto="TCP", ports=(81, 81))]}),
    ("pods without an address, finished or on the host network are neither targets nor peers",
     [policy("a", "deny", ingress=[{"from": [pods()]}])],
     [pod("a/new", ""), {**pod("a/done", "10.51.0.9"), "status": {"phase": "Succeeded", "podIP": "10.51.0.9"}},
      {**pod("a/host", "192.168.1.5"), "spec": {"nodeName": NODE, "hostNetwork": True}}, CLI],
     {(INGRESS, "a/cli"): [Allow(peer_ips=frozenset({"10.51.0.3"}))]}),
    ("pods outside the cluster CIDR are not enforced", [policy("a", "deny", ingress=[])], [pod("a/odd", "192.168.9.9")], {}),
]


@pytest.mark.parametrize(("policies", "pod_objs", "want"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decide(policies: list[dict[str, Any]], pod_objs: list[dict[str, Any]],
                want: dict[tuple[str, str], list[Allow]]) -> None:
    assert decide(policies, pod_objs, NSES, node_name=NODE, cluster_cidr=CIDR) == want


@pytest.mark.parametrize(("spec", "want"), [
    ({}, {"Ingress"}),
    ({"egress": []}, {"Ingress"}),
    ({"egress": [{}]}, {"Ingress", "Egress"}),
    ({"policyTypes": ["Egress"], "ingress": [{}]}, {"Egress"}),
], ids=["default", "empty egress list", "egress rules", "explicit"])
def test_policy_types(spec: dict[str, Any], want: set[str]) -> None:
    assert policy_types({"spec": spec}) == want


def test_script_is_deterministic_and_shares_sets() -> None:
    pols = [policy("a", "p", ingress=[{"from": [pods(app="cli")]}]), policy("a", "q", {"app": "web"}, ingress=[])]
    one = render_policies(pols, PODS, NSES, node_name=NODE, cluster_cidr=CIDR)
    two = render_policies(list(reversed(pols)), list(reversed(PODS)), NSES, node_name=NODE, cluster_cidr=CIDR)
    assert one == two
    assert one.startswith("add table ip kyb-netpol\ndelete table ip kyb-netpol\n")
    assert one.count("\tset ips-") == 1  # both pods' chains point at the same peer set
    assert "10.51.0.2 : goto in-" in one and "10.51.0.3 : goto in-" in one
    assert "ct state established,related accept" in one


def test_peer_matching_nothing_renders_no_rule() -> None:
    script = render_policies([policy("a", "p", {"app": "web"}, ingress=[{"from": [pods(app="none")]}])], PODS, NSES,
                             node_name=NODE, cluster_cidr=CIDR)
    chain = script.split("chain in-")[1]
    assert chain.split("\n")[1].strip() == "drop"
