"""Imports every control loop module so that each registers itself with the manager."""

from __future__ import annotations
import kybernetes.controllers.replicaset  # noqa: F401
import kybernetes.controllers.job  # noqa: F401
import kybernetes.controllers.garbagecollector  # noqa: F401
import kybernetes.controllers.namespace  # noqa: F401
import kybernetes.controllers.serviceaccount  # noqa: F401
import kybernetes.controllers.rootcacert  # noqa: F401
import kybernetes.controllers.deployment  # noqa: F401
import kybernetes.controllers.cronjob  # noqa: F401
import kybernetes.controllers.endpoints  # noqa: F401
import kybernetes.controllers.endpointslice  # noqa: F401
import kybernetes.controllers.endpointslicemirroring  # noqa: F401
import kybernetes.controllers.nodeipam  # noqa: F401
import kybernetes.controllers.nodelifecycle  # noqa: F401
import kybernetes.controllers.podgc  # noqa: F401
import kybernetes.controllers.disruption  # noqa: F401
import kybernetes.controllers.ttlafterfinished  # noqa: F401
