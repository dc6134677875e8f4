"""Sequences of partial syncs in a real kernel, with real traffic after every step: endpoints come,
go and terminate, Services appear, vanish and change port, affinity is toggled, a node port moves.
Every step after the first is an incremental transaction (never a full rewrite)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from kybernetes.proxy.apply import NftApplier
from kybernetes.proxy.model import build_model
from kybernetes.proxy.render import Ruleset, build_ruleset
from kybernetes.proxy.sync import full_script, incremental_script

from .netlab import CLUSTER_CIDR, NODE_IP, NetLab
from .objects import endpoint, endpoint_slice, port, service

NODE = "node-a"
TABLE = "kybpx-proxy"


class Proxy:
    """ServiceProxy's sync without the informers: full first, then only differences."""

    def __init__(self, lab: NetLab) -> None:
        self.applier = NftApplier(TABLE, netns=lab.node)
        self.ruleset: Ruleset | None = None

    async def program(self, services: list[dict[str, Any]], slices: list[dict[str, Any]]) -> str:
        model = build_model(services, slices, node_name=NODE)
        new = build_ruleset(model, node_ips=[NODE_IP], cluster_cidr=CLUSTER_CIDR)
        if self.ruleset is None:
            script = full_script(new, await self.applier.inventory(TABLE), table=TABLE)
        else:
            partial = incremental_script(self.ruleset, new, table=TABLE)
            assert partial is not None
            script = partial
        if script:
            await self.applier.apply(script, table=TABLE)
        self.ruleset = new
        return script


def names(replies: list[str]) -> Counter[str]:
    return Counter(r.split()[0] for r in replies)


def refused(lab: NetLab, ip: str, p: int) -> bool:
    [reply] = lab.request(lab.client, "tcp", ip, p)
    return reply.startswith("error ConnectionRefusedError")


async def test_endpoint_and_service_changes(lab: NetLab) -> None:
    proxy = Proxy(lab)
    be1, be2, be3 = (lab.backend_ip(i) for i in (1, 2, 3))
    web = service("web", "10.43.8.1", port(80))
    other = service("other", "10.43.8.2", port(80))
    await proxy.program(
        [web, other], [endpoint_slice("web", endpoint(be1)), endpoint_slice("other", endpoint(be3))]
    )
    assert names(lab.request(lab.client, "tcp", "10.43.8.1", 80, count=5)) == {"be1": 5}

    # endpoint added: only web's chain and the hairpin set change
    script = await proxy.program(
        [web, other],
        [endpoint_slice("web", endpoint(be1), endpoint(be2)), endpoint_slice("other", endpoint(be3))],
    )
    assert "/web/" in script and "/other/" not in script
    assert set(names(lab.request(lab.client, "tcp", "10.43.8.1", 80, count=30))) == {"be1", "be2"}

    # be1 terminating while be2 is ready: be2 only; then be2 gone: the terminating be1 serves
    terminating = endpoint(be1, ready=False, serving=True, terminating=True)
    await proxy.program(
        [web, other],
        [endpoint_slice("web", terminating, endpoint(be2)), endpoint_slice("other", endpoint(be3))],
    )
    assert names(lab.request(lab.client, "tcp", "10.43.8.1", 80, count=10)) == {"be2": 10}
    await proxy.program(
        [web, other], [endpoint_slice("web", terminating), endpoint_slice("other", endpoint(be3))]
    )
    assert names(lab.request(lab.client, "tcp", "10.43.8.1", 80, count=5)) == {"be1": 5}

    # every endpoint removed: refused; back again: served
    await proxy.program([web, other], [endpoint_slice("web"), endpoint_slice("other", endpoint(be3))])
    assert refused(lab, "10.43.8.1", 80)
    await proxy.program(
        [web, other], [endpoint_slice("web", endpoint(be2)), endpoint_slice("other", endpoint(be3))]
    )
    assert names(lab.request(lab.client, "tcp", "10.43.8.1", 80, count=5)) == {"be2": 5}

    # port changed: the new port serves, the old one is an unknown port of a cluster IP
    moved = service("web", "10.43.8.1", port(81))
    await proxy.program(
        [moved, other], [endpoint_slice("web", endpoint(be2)), endpoint_slice("other", endpoint(be3))]
    )
    assert names(lab.request(lab.client, "tcp", "10.43.8.1", 81, count=5)) == {"be2": 5}
    assert refused(lab, "10.43.8.1", 80)

    # a Service removed: its cluster IP is no longer caught (the packet goes on to the upstream
    # router, which drops it), the other one still works; added back: works
    await proxy.program([moved], [endpoint_slice("web", endpoint(be2))])
    [reply] = lab.request(lab.client, "tcp", "10.43.8.2", 80)
    assert reply.startswith("error"), reply
    assert names(lab.request(lab.client, "tcp", "10.43.8.1", 81, count=3)) == {"be2": 3}
    await proxy.program(
        [moved, other], [endpoint_slice("web", endpoint(be2)), endpoint_slice("other", endpoint(be3))]
    )
    assert names(lab.request(lab.client, "tcp", "10.43.8.2", 80, count=3)) == {"be3": 3}
    await proxy.applier.delete()


async def test_affinity_toggle_and_node_port_change(lab: NetLab) -> None:
    proxy = Proxy(lab)
    eps = endpoint_slice(
        "web", endpoint(lab.backend_ip(1)), endpoint(lab.backend_ip(2)), endpoint(lab.backend_ip(3))
    )
    plain = service("web", "10.43.8.3", port(80, node_port=30180), type="NodePort")
    sticky = service(
        "web",
        "10.43.8.3",
        port(80, node_port=30180),
        type="NodePort",
        sessionAffinity="ClientIP",
        sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}},
    )
    await proxy.program([plain], [eps])
    assert len(names(lab.request(lab.client, "tcp", "10.43.8.3", 80, count=30))) > 1

    # affinity on: one backend for this client; an unrelated change keeps the stickiness (the
    # affinity sets are not touched by partial syncs)
    await proxy.program([sticky], [eps])
    seen = names(lab.request(lab.client, "tcp", "10.43.8.3", 80, count=15))
    assert len(seen) == 1, seen
    await proxy.program([sticky, service("x", "10.43.8.4")], [eps])
    assert names(lab.request(lab.client, "tcp", "10.43.8.3", 80, count=10)) == {next(iter(seen)): 10}

    # affinity off again: spreads
    await proxy.program([plain], [eps])
    assert len(names(lab.request(lab.client, "tcp", "10.43.8.3", 80, count=30))) > 1

    # node port moved: the new one serves, the old one no longer does
    assert len(lab.request(lab.client, "tcp", NODE_IP, 30180, count=3)) == 3
    moved = service("web", "10.43.8.3", port(80, node_port=30181), type="NodePort")
    script = await proxy.program([moved], [eps])
    assert "30181" in script and "flush chain" not in script  # only map elements change
    assert not any(r.startswith("error") for r in lab.request(lab.client, "tcp", NODE_IP, 30181, count=3))
    [reply] = lab.request(lab.client, "tcp", NODE_IP, 30180)
    assert reply.startswith("error"), reply
    await proxy.applier.delete()
