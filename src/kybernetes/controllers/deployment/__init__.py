"""The Deployment loop: rolling updates and Recreate over one ReplicaSet per pod template.

    util       surge/unavailable arithmetic, template hash, annotations, conditions (pure)
    rolling    the rolling-update and Recreate step plans (pure)
    scaling    proportional scaling across the sets of a rollout (pure)
    progress   status, Available and Progressing conditions, deadline (pure)
    history    revisions and revisionHistoryLimit cleanup (pure)
    controller the executor: informers, handlers, sync(key)
"""

from __future__ import annotations

from kybernetes.controllers.deployment.controller import DeploymentController

__all__ = ["DeploymentController"]
