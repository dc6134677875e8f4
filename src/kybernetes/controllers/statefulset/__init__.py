"""The StatefulSet loop: pods with stable ordinal identities and storage, rolled by revision.

    revisions  ControllerRevisions: snapshot, hash, reuse, history (pure)
    plan       identities, PVCs, the ordered/parallel step plan, status (pure)
    controller the executor: informers, handlers, sync(key)
"""

from __future__ import annotations

from kybernetes.controllers.statefulset.controller import StatefulSetController

__all__ = ["StatefulSetController"]
