"""The service proxy: Services + EndpointSlices rendered into one nftables table per node.

    model     build_model: Services/EndpointSlices -> ServicePort list; stale_udp_flows
    render    build_ruleset: the table's content as data; render_model: as a whole-table script (pure)
    sync      incremental_script / full_script: nft transactions between two rulesets (pure)
    apply     NftApplier: nft -f -, table inventory, affinity state read-back, conntrack cleanup, delete
    runner    ServiceProxy: informers + debounced partial syncs (what the node agent runs)
"""

from __future__ import annotations

from kybernetes.proxy.apply import NftApplier, NftError
from kybernetes.proxy.model import ServicePort, build_model, stale_udp_flows
from kybernetes.proxy.render import render_model, render_ruleset
from kybernetes.proxy.runner import ServiceProxy

__all__ = ["NftApplier", "NftError", "ServicePort", "ServiceProxy", "build_model",
           "render_model", "render_ruleset", "stale_udp_flows"]
