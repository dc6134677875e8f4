"""NetworkPolicy in the kernel: networking.k8s.io/v1 NetworkPolicies rendered into one nftables
table per node and kept current by a runner the node agent starts.

    render    decide / render_policies: policies, pods, namespaces -> the nft script (pure)
    runner    PolicyEnforcer: informers + debounced syncs, applied with the proxy's NftApplier
"""

from __future__ import annotations

from kybernetes.netpol.render import Allow, decide, render_decided, render_policies
from kybernetes.netpol.runner import PolicyEnforcer

__all__ = ["Allow", "PolicyEnforcer", "decide", "render_decided", "render_policies"]
