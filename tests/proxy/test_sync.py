"""Partial syncs: the incremental transaction from one ruleset to another equals the full render
of the new one — checked by a strict interpreter (many random changes) and by the kernel itself
(`nft -j list table` of the incrementally updated table against a freshly written one)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kybernetes.proxy.model import build_model
from kybernetes.proxy.render import Ruleset, build_ruleset
from kybernetes.proxy.sync import TableInventory, full_script, incremental_script

from .conftest import require_tools
from .netlab import in_ns, sh
from .objects import endpoint, endpoint_slice, port, service
from .rulesetsim import apply_script

NODE = "node-a"
CIDR = "10.158.128.0/17"
T = "kybpx-t"
POOL = [f"10.158.200.{i}" for i in range(1, 6)]


def ruleset(
    services: list[dict[str, Any]],
    slices: list[dict[str, Any]],
    node_ips: tuple[str, ...] = ("10.158.1.1",),
    cidr: str = CIDR,
) -> Ruleset:
    return build_ruleset(build_model(services, slices, node_name=NODE), node_ips=node_ips, cluster_cidr=cidr)


# --- random worlds ---------------------------------------------------------------------------------


@st.composite
def world(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Up to four Services over a small pool of names, ports and endpoints, so that two draws
    overlap a lot (the interesting case for a diff)."""
    services, slices = [], []
    for i in range(4):
        if not draw(st.booleans()):
            continue
        name = f"s{i}"
        kind = draw(st.sampled_from(["ClusterIP", "NodePort", "LoadBalancer"]))
        proto = draw(st.sampled_from(["TCP", "UDP"]))
        number = draw(st.sampled_from([80, 81]))
        node_port = draw(st.sampled_from([30000 + i, 30010 + i, 30100])) if kind != "ClusterIP" else 0
        spec: dict[str, Any] = {}
        affinity = draw(st.sampled_from([0, 0, 60, 120]))
        if affinity:
            spec.update(
                sessionAffinity="ClientIP", sessionAffinityConfig={"clientIP": {"timeoutSeconds": affinity}}
            )
        if kind != "ClusterIP" and draw(st.booleans()):
            spec["externalTrafficPolicy"] = "Local"
        if draw(st.integers(0, 3)) == 0:
            spec["internalTrafficPolicy"] = "Local"
        lb = draw(st.sampled_from([["10.158.9.1"], ["10.158.9.2"], []])) if kind == "LoadBalancer" else None
        services.append(
            service(
                name,
                f"10.43.0.{i + 1}",
                port(number, protocol=proto, node_port=node_port),
                type=kind,
                lb=lb,
                **spec,
            )
        )
        eps = []
        for ip in draw(st.lists(st.sampled_from(POOL), unique=True, max_size=4)):
            state = draw(st.sampled_from(["ready", "not-ready", "terminating"]))
            eps.append(
                endpoint(
                    ip,
                    node=draw(st.sampled_from([NODE, "node-b"])),
                    ready=state == "ready",
                    serving=state != "not-ready",
                    terminating=state == "terminating",
                )
            )
        target = draw(st.sampled_from([8080, 8081]))
        slices.append(endpoint_slice(name, *eps, ports=[{"name": "", "port": target, "protocol": proto}]))
    return services, slices


node_ips = st.sampled_from([("10.158.1.1",), ("10.158.1.1", "10.158.1.3")])


@settings(max_examples=300, deadline=None)
@given(world(), world(), node_ips, node_ips, st.sampled_from([CIDR, ""]))
def test_incremental_equals_full_render(old: Any, new: Any, ips_old: Any, ips_new: Any, cidr: str) -> None:
    before, after = ruleset(old[0], old[1], ips_old, cidr), ruleset(new[0], new[1], ips_new, cidr)
    # the full script from nothing gives the ruleset; the diff turns the old one into the new one
    assert apply_script(Ruleset(), _as_commands(before), T) == before
    script = incremental_script(before, after, table=T)
    assert script is not None
    assert apply_script(before, script, T) == after
    assert incremental_script(after, after, table=T) == ""


def _as_commands(rs: Ruleset) -> str:
    """`rs` written from an empty ruleset by the incremental writer (fixed chains included)."""
    empty = Ruleset()
    script = incremental_script(empty, rs, table=T)
    assert script is not None
    return script


# --- what a change touches -------------------------------------------------------------------------


def _world(n_endpoints: int, *, affinity: int = 0, ready: bool = True) -> Ruleset:
    spec: dict[str, Any] = {}
    if affinity:
        spec.update(
            sessionAffinity="ClientIP", sessionAffinityConfig={"clientIP": {"timeoutSeconds": affinity}}
        )
    svcs = [service("web", "10.43.0.1", **spec), service("db", "10.43.0.2", port(5432))]
    eps = [endpoint(ip, ready=ready) for ip in POOL[:n_endpoints]]
    return ruleset(svcs, [endpoint_slice("web", *eps), endpoint_slice("db", endpoint(POOL[4]))])


CHANGES = [
    pytest.param(_world(2), _world(2), [], id="nothing"),
    pytest.param(
        _world(2),
        _world(3),
        [
            "flush chain ip kybpx-t svc-",
            "add rule ip kybpx-t svc-",
            "add element ip kybpx-t hairpin { 10.158.200.3 . 10.158.200.3 }",
        ],
        id="endpoint-added",
    ),
    pytest.param(
        _world(1),
        _world(1, ready=False),
        [
            "delete element ip kybpx-t service-ips { 10.43.0.1 . tcp . 80 }",
            "add element ip kybpx-t no-endpoint-services",
            "delete chain ip kybpx-t svc-",
        ],
        id="last-endpoint-gone",
    ),
    pytest.param(
        _world(2, affinity=60),
        _world(2, affinity=120),
        [
            "delete set ip kybpx-t aff-",
            "add set ip kybpx-t aff-",
            "timeout 120s",
            "flush chain ip kybpx-t ep-",
        ],
        id="affinity-timeout-recreates-sets",
    ),
]


@pytest.mark.parametrize(("old", "new", "fragments"), CHANGES)
def test_change_touches_only_its_service(old: Ruleset, new: Ruleset, fragments: list[str]) -> None:
    script = incremental_script(old, new, table=T)
    assert script is not None
    for fragment in fragments:
        assert fragment in script, fragment
    assert "/db/" not in script  # the other Service is left alone
    assert apply_script(old, script, T) == new


def test_hook_chain_change_needs_a_full_sync() -> None:
    old = _world(1)
    new = Ruleset(maps=old.maps, sets=old.sets, affinity=old.affinity, chains=dict(old.chains))
    new.chains["nat-output"] = (
        "type nat hook output priority -99; policy accept;",
        new.chains["nat-output"][1],
    )
    assert incremental_script(old, new, table=T) is None


def test_full_script_keeps_affinity_sets_and_drops_strangers() -> None:
    new = _world(2, affinity=60)
    kept, recreated = sorted(new.affinity)
    inventory = TableInventory(
        exists=True,
        chains=frozenset({"svc-stale", "nat-output"}),
        sets={kept: 60, recreated: 30, "aff-stale": 60, "hairpin": 0},
    )
    script = full_script(new, inventory, table=T, drop_tables=["kybpx-t-b"])
    assert f"delete set ip {T} {recreated}" in script and f"delete set ip {T} aff-stale" in script
    assert f"delete set ip {T} {kept}" not in script and f"set {kept} {{" not in script
    assert f"delete chain ip {T} svc-stale" in script and f"delete chain ip {T} nat-output" not in script
    assert script.endswith("add table ip kybpx-t-b\ndelete table ip kybpx-t-b\n")


# --- the kernel agrees -----------------------------------------------------------------------------

NS = "kybpx-eq"


@pytest.fixture(scope="module")
def netns() -> Iterator[str]:
    require_tools()
    sh("ip", "netns", "del", NS, check=False)
    sh("ip", "netns", "add", NS)
    try:
        yield NS
    finally:
        sh("ip", "netns", "del", NS, check=False)


def nft(ns: str, script: str) -> None:
    res = subprocess.run(in_ns(ns, "nft", "-f", "-"), input=script, capture_output=True, text=True)
    assert res.returncode == 0, f"{res.stderr}\n--- script ---\n{script}"


def listing(ns: str, table: str) -> dict[str, Any]:
    """The table as comparable data: chains with their rules, sets and maps with their elements,
    without handles, table names or creation order."""
    doc = json.loads(sh(*in_ns(ns, "nft", "-j", "list", "table", "ip", table)).stdout)
    out: dict[str, Any] = {"chains": {}, "rules": {}, "sets": {}}
    for item in doc["nftables"]:
        for kind, body in item.items():
            body = {k: v for k, v in body.items() if k not in ("handle", "table")}
            if kind == "chain":
                out["chains"][body["name"]] = body
            elif kind == "rule":
                out["rules"].setdefault(body["chain"], []).append(json.dumps(body["expr"], sort_keys=True))
            elif kind in ("set", "map"):
                body["elem"] = sorted(json.dumps(e, sort_keys=True) for e in body.get("elem", []))
                out["sets"][body["name"]] = body
    return out


def inventory(ns: str, table: str) -> TableInventory:
    from kybernetes.proxy.apply import parse_inventory

    chains = sh(*in_ns(ns, "nft", "-j", "list", "chains", "ip")).stdout
    sets = sh(*in_ns(ns, "nft", "-t", "-j", "list", "sets", "table", "ip", table), check=False).stdout
    return parse_inventory(chains, sets, table)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world(), world(), world())
def test_kernel_incremental_equals_fresh_table(netns: str, first: Any, second: Any, third: Any) -> None:
    a, b, c = ruleset(*first), ruleset(*second), ruleset(*third)
    sh(*in_ns(netns, "nft", "flush", "ruleset"))
    nft(netns, full_script(a, inventory(netns, "inc"), table="inc"))
    for old, new in ((a, b), (b, c)):
        script = incremental_script(old, new, table="inc")
        assert script is not None
        if script:
            nft(netns, script)
    nft(netns, full_script(c, TableInventory(), table="fresh"))
    assert listing(netns, "inc") == listing(netns, "fresh")
    # a full sync over the changed table (what the periodic resync does) changes nothing either
    nft(netns, full_script(c, inventory(netns, "inc"), table="inc"))
    assert listing(netns, "inc") == listing(netns, "fresh")
