"""The DaemonSet loop: one pod per eligible node, rolled out by revision.

    placement   eligibility (selectors, affinity, taints vs tolerations), per-node and rolling plans,
                status counts (pure)
    history     ControllerRevisions of the template, failed-pod backoff (pure)
    controller  the executor: informers, handlers, sync(key)
"""

from __future__ import annotations

from kybernetes.controllers.daemonset.controller import DaemonSetController

__all__ = ["DaemonSetController"]
