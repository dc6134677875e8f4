"""Imports every control loop module so that each registers itself with the manager."""

from __future__ import annotations

import kybernetes.controllers.bootstrapsigner
import kybernetes.controllers.certificates.approver
import kybernetes.controllers.certificates.signer
import kybernetes.controllers.clusterroleaggregation
import kybernetes.controllers.cronjob
import kybernetes.controllers.daemonset
import kybernetes.controllers.deployment
import kybernetes.controllers.disruption
import kybernetes.controllers.endpoints
import kybernetes.controllers.endpointslice
import kybernetes.controllers.endpointslicemirroring
import kybernetes.controllers.garbagecollector
import kybernetes.controllers.job
import kybernetes.controllers.namespace
import kybernetes.controllers.nodeipam
import kybernetes.controllers.nodelifecycle
import kybernetes.controllers.podautoscaler
import kybernetes.controllers.podgc
import kybernetes.controllers.replicaset
import kybernetes.controllers.rootcacert
import kybernetes.controllers.serviceaccount
import kybernetes.controllers.serviceaccounttoken
import kybernetes.controllers.servicelb
import kybernetes.controllers.statefulset
import kybernetes.controllers.tokencleaner
import kybernetes.controllers.ttlafterfinished
import kybernetes.controllers.volume.localpath
import kybernetes.controllers.volume.pvcontroller
import kybernetes.controllers.volume.pvcprotection  # noqa: F401
