"""The API client every kybernetes component except the apiserver uses.

    config        ClientConfig from a kubeconfig or a pod's service account
    rest          APIClient: get/list/watch/create/update/patch/delete over HTTPS
    errors        APIError and is_not_found / is_conflict / is_already_exists / is_gone
    store         Store: the local cache with indexes
    informer      Informer, SharedInformerFactory: list + watch into a Store, with handlers
    workqueue     WorkQueue with client-go's rate limiting
    controller    Controller: handlers enqueue keys, N workers call sync(key)
    leaderelection  LeaderElector on a coordination.k8s.io/v1 Lease
    events        EventRecorder: core/v1 Events with aggregation of repeats
    clock         Clock, RealClock, FakeClock
"""

from __future__ import annotations

from kybernetes.client.config import (
    ClientConfig,
    ConfigError,
    in_cluster_config,
    load_config,
    load_kubeconfig,
)
from kybernetes.client.controller import Controller
from kybernetes.client.errors import (
    APIError,
    is_already_exists,
    is_conflict,
    is_forbidden,
    is_gone,
    is_invalid,
    is_not_found,
    is_too_many_requests,
)
from kybernetes.client.events import EventRecorder
from kybernetes.client.informer import EventHandlers, Informer, SharedInformerFactory, Tombstone
from kybernetes.client.leaderelection import LeaderElectionConfig, LeaderElector
from kybernetes.client.rest import APIClient, ResourceLike, ResourceRef, WatchEvent, resource
from kybernetes.client.store import Store, meta_namespace_key, split_key
from kybernetes.client.workqueue import ShutDown, WorkQueue

__all__ = [
    "APIClient", "APIError", "ClientConfig", "ConfigError", "Controller", "EventHandlers", "EventRecorder",
    "Informer", "LeaderElectionConfig", "LeaderElector", "ResourceLike", "ResourceRef", "SharedInformerFactory",
    "ShutDown", "Store", "Tombstone", "WatchEvent", "WorkQueue", "in_cluster_config", "is_already_exists",
    "is_conflict", "is_forbidden", "is_gone", "is_invalid", "is_not_found", "is_too_many_requests", "load_config",
    "load_kubeconfig", "meta_namespace_key", "resource", "split_key",
]
