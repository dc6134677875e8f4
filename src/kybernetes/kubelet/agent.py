"""The node agent: registers the node, runs containerd, and keeps the node's pods running.

Theory of operation. Three kinds of work, all driven by one pod work queue keyed by pod UID:
- the pod informer (pods with spec.nodeName = this node) adds a UID whenever its pod changes;
- the relist loop (the PLEG) lists the runtime every second and adds the UID of every pod whose
  sandboxes or containers changed state, so exits, OOM kills and crashes are noticed;
- a sync may ask to run again later (a backoff ending); the queue's delayed add does that.
A worker takes a UID and calls `PodSyncer.sync(pod, runtime_pod)`; one UID is never synced by two
workers at once. Node heartbeats (Lease every 10 s, status when it changes or every 5 min) run on
their own task so a busy pod queue never makes the node look dead.

Invariants:
1. The agent keeps no state of its own: the API (pods) and the runtime (labels on sandboxes and
   containers) are the whole truth, so a restarted agent adopts running pods untouched.
2. Only pods bound to this node are ever acted on; runtime pods with no API object are stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kybernetes.client.errors import APIError, is_already_exists, is_conflict, is_not_found
from kybernetes.client.events import EventRecorder, object_reference
from kybernetes.client.informer import Informer
from kybernetes.client.rest import APIClient, resource
from kybernetes.client.workqueue import ItemExponentialFailureRateLimiter, ShutDown, WorkQueue
from kybernetes.kubelet import events as kev
from kybernetes.kubelet import eviction, nodestatus, staticpods
from kybernetes.kubelet.containerd import ContainerdSettings, ContainerdSupervisor, check_node_prerequisites
from kybernetes.kubelet.cri.client import CRIClient
from kybernetes.kubelet.criconfig import parse_resolv_conf
from kybernetes.kubelet.events import KubeletEvents
from kybernetes.kubelet.machine import MachineInfo, parse_meminfo, read_machine
from kybernetes.kubelet.metrics import KubeletMetrics
from kybernetes.kubelet.objectrefs import ReferencedObjects
from kybernetes.kubelet.podsync import PodSyncer, SyncContext
from kybernetes.kubelet.runtime import RuntimeView, fingerprint
from kybernetes.kubelet.tokens import TokenManager, has_token_projection
from kybernetes.kubelet.volumes.localpath import LocalPathStorage
from kybernetes.machinery import podrefs
from kybernetes.util.times import micro_time, rfc3339

log = logging.getLogger("kyb.kubelet")
Obj = dict[str, Any]

NODES = resource("v1", "nodes")
PODS = resource("v1", "pods")
LEASES = resource("coordination.k8s.io/v1", "leases")
CONFIGMAPS = resource("v1", "configmaps")
SECRETS = resource("v1", "secrets")
SERVICES = resource("v1", "services")
PVCS = resource("v1", "persistentvolumeclaims")
PVS = resource("v1", "persistentvolumes")

LEASE_DURATION = 40
LEASE_RENEW = 10.0
STATUS_UPDATE = 10.0
STATUS_REPORT = 300.0
RELIST_PERIOD = 1.0
STATIC_PERIOD = 1.0      # manifest directory scan and mirror pod check
EVICTION_PERIOD = 2.0    # memory pressure check
EVICTION_PAUSE = 10.0    # after an eviction: one pod per monitoring interval, as upstream
TOKEN_REFRESH_PERIOD = 60.0


class NodeCannotRun(RuntimeError):
    """The machine lacks something the node needs; the message says what and how to fix it."""


@dataclass
class AgentSettings:
    data_dir: Path
    node_name: str = ""
    node_address: str = ""
    kubelet_port: int = nodestatus.KUBELET_PORT
    cluster_cidr: str = "10.42.0.0/16"
    cluster_dns: list[str] = field(default_factory=lambda: ["10.43.0.10"])
    cluster_domain: str = "cluster.local"
    bridge: str = "kyb0"
    network_name: str = "kyb"
    netns: str | None = None
    zone: str = ""
    region: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    registries: Path | None = None
    workers: int = 8
    import_test_images: bool = True
    ca_cert: Path | None = None
    ca_key: Path | None = None
    pod_manifest_path: Path | None = None   # static pods; default <data_dir>/manifests
    eviction_hard_memory: str = "100Mi"     # memory.available hard threshold: quantity or percentage
    config_file: Path | None = None         # KubeletConfiguration (evictionHard), re-read when it changes;
                                            # default <data_dir>/config.yaml
    cgroup_parent: str = ""                 # pod cgroup tree; default cgroup_parent(bridge)
    pod_routes: bool = True                 # route other nodes' pod CIDRs via them (kubelet/routes.py)
    network_backend: str = "host-gw"        # how: host-gw (routes.py) or vxlan (vxlan.py, nodes on other subnets)
    container_log_max_size: str = "10Mi"    # rotate a container's log at this size (docs/logging.md)
    container_log_max_files: int = 5        # live file + rotated ones kept per container
    container_log_monitor_interval: float = 10.0
    eviction_hard: str = ""                 # `nodefs.available<10%,...` (disk signals; "" = upstream defaults)
    image_gc_high_threshold: int = 85       # image GC starts at this image filesystem usage (percent)
    image_gc_low_threshold: int = 80        # ... and frees down to this one
    image_minimum_gc_age: float = 120.0     # seconds an unused image is kept after it is first seen


class Kubelet:
    def __init__(self, client: APIClient, settings: AgentSettings) -> None:
        self.client = client
        self.settings = settings
        s = settings
        self.machine: MachineInfo = read_machine(s.data_dir, hostname=s.node_name, address=s.node_address)
        self.node_name = s.node_name or self.machine.hostname
        self.node_ip = self.machine.addresses[0]
        self.config = nodestatus.NodeConfig(name=self.node_name, address=self.node_ip, kubelet_port=s.kubelet_port,
                                            labels=s.labels, zone=s.zone, region=s.region)
        self.pods = Informer(client, PODS, field_selector=f"spec.nodeName={self.node_name}")
        # only what this node's pods refer to, each watched by name (the Node authorizer allows no more)
        self.configmaps: Any = ReferencedObjects(client, CONFIGMAPS, podrefs.referenced_configmaps)
        self.secrets: Any = ReferencedObjects(client, SECRETS, podrefs.referenced_secrets)
        self.services = Informer(client, SERVICES)
        self.queue: WorkQueue[str] = WorkQueue(name="kubelet-pods",
                                               rate_limiter=ItemExponentialFailureRateLimiter(0.2, 30.0))
        self.by_uid: dict[str, Obj] = {}
        self.node_uid = ""
        self.pod_cidr = ""
        self.last_post = 0.0
        self.node_obj: Obj | None = None
        self.containerd: ContainerdSupervisor | None = None
        self.cri: CRIClient | None = None
        self.runtime: RuntimeView | None = None
        self.syncer: PodSyncer | None = None
        self.not_ready = "container runtime is starting"
        self._fingerprints: dict[str, tuple[Any, ...]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.server: Any = None
        self.proxy: Any = None
        self.netpol: Any = None
        self.routes: Any = None
        self.logs_root = settings.data_dir / "pods"
        self.ready = asyncio.Event()
        self.manifest_dir = settings.pod_manifest_path or settings.data_dir / "manifests"
        self.static: dict[str, Obj] = {}    # uid -> static pod from the manifest directory
        self.mirrors: dict[str, Obj] = {}   # namespace/name -> the mirror pod the API has for it
        self._manifest_problems: set[str] = set()
        self._config_mtime: float | None = None
        self._pressure_seen = False
        self.gc: Any = None                 # container/image GC and disk eviction (kubelet/nodegc.py)
        self.kubelet_config: Obj = {}       # the KubeletConfiguration file as last read
        self.eviction_threshold = ""
        self._set_eviction_threshold(settings.eviction_hard_memory)
        self.recorder = EventRecorder(client, "kubelet", host=self.node_name)
        self.events = KubeletEvents(self.recorder, self.node_name)  # what `kubectl describe` shows
        self.metrics = KubeletMetrics(self.node_name)  # /metrics, /metrics/cadvisor, /metrics/resource
        self.metrics.kubelet = self

    # --- lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> None:
        problems = check_node_prerequisites()
        if problems:
            raise NodeCannotRun("the node cannot run on this machine:\n  - " + "\n  - ".join(problems))
        self.events.node(kev.NORMAL, kev.STARTING, "Starting kubelet.")
        await self.register()
        self._tasks.append(asyncio.create_task(self._heartbeat_loop(), name="kubelet-heartbeat"))
        self.pod_cidr = await self._wait_pod_cidr()
        await self._start_runtime()
        self.events.node(kev.NORMAL, kev.NODE_ALLOCATABLE_ENFORCED, "Updated Node Allocatable limit across pods")
        self.pods.add_handlers(on_add=self._on_pod, on_update=lambda _o, n: self._on_pod(n),
                               on_delete=self._on_pod_deleted)
        self.configmaps.add_handlers(on_update=lambda _o, n: self._on_config(n))
        self.secrets.add_handlers(on_update=lambda _o, n: self._on_config(n))
        for inf in (self.pods, self.configmaps, self.secrets, self.services):
            inf.start()
        for inf in (self.configmaps, self.secrets, self.services):
            await inf.wait_synced(30)
        await self.pods.wait_synced(30)
        self._scan_static()  # before adopting: static pods' containers must not look orphaned
        await self._adopt_runtime()
        for i in range(self.settings.workers):
            self._tasks.append(asyncio.create_task(self._worker(), name=f"kubelet-pod-{i}"))
        self._tasks.append(asyncio.create_task(self._relist_loop(), name="kubelet-relist"))
        self._tasks.append(asyncio.create_task(self._static_loop(), name="kubelet-static-pods"))
        self._tasks.append(asyncio.create_task(self._eviction_loop(), name="kubelet-eviction"))
        self._tasks.append(asyncio.create_task(self._token_refresh_loop(), name="kubelet-token-refresh"))
        storage = LocalPathStorage(self.client, self.node_name, self.settings.data_dir / "storage")
        self._tasks.append(asyncio.create_task(storage.run(), name="kubelet-local-path"))
        from kybernetes.kubelet.nodelogging import start_node_logging

        self._tasks += start_node_logging(self)  # log rotation, containers/ symlinks, log shipping
        from kybernetes.kubelet.nodegc import start_node_gc

        self._tasks += start_node_gc(self)  # container GC, image GC, disk-pressure eviction
        await self._start_server()
        from kybernetes.kubelet.certrotation import start_cert_rotation

        self._tasks += start_cert_rotation(self)  # CSR-issued client/serving certificates renew themselves
        await self._start_proxy()
        await self._start_netpol()
        await self._start_routes()
        self.not_ready = ""
        await self.report_node_status(force=True)
        self.ready.set()
        log.info("node %s ready (pod CIDR %s, containerd %s)", self.node_name, self.pod_cidr,
                 self.config.runtime_version)

    async def stop(self) -> None:
        self.queue.shutdown()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for inf in (self.pods, self.configmaps, self.secrets, self.services):
            await inf.stop()
        if self.server is not None:
            await self.server.stop()
        if self.proxy is not None:
            await self.proxy.stop(keep_rules=True)
        if self.netpol is not None:  # policies stay enforced while the agent is away
            await self.netpol.stop(keep_rules=True)
        if self.routes is not None:
            await self.routes.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.recorder.close(), 5)
        if self.cri is not None:
            await self.cri.close()
        if self.containerd is not None:
            await self.containerd.stop()  # the shims and so the pods keep running

    async def _start_runtime(self) -> None:
        s = self.settings
        from kybernetes.images.testimages import PAUSE_IMAGE

        cs = ContainerdSettings(root_dir=s.data_dir, node_name=self.node_name, pod_cidr=self.pod_cidr,
                                cluster_cidr=s.cluster_cidr, bridge=s.bridge, network_name=s.network_name,
                                stream_address=self.node_ip if s.netns else "127.0.0.1", pause_image=PAUSE_IMAGE,
                                netns=s.netns, registry_config_dir=self._registry_dir(), mtu=await self._pod_mtu())
        self.containerd = ContainerdSupervisor(cs)
        await self.containerd.start()
        self.cri = CRIClient(self.containerd.socket_path)
        self.cri.observer = self.metrics.runtime_operation
        await self.cri.connect()
        version = await self.cri.version()
        self.config = nodestatus.NodeConfig(**{**self.config.__dict__,
                                               "runtime_version": f"{version.runtime_name}://{version.runtime_version}"})
        await self._import_images(cs)
        self.runtime = RuntimeView(self.cri)
        self.syncer = PodSyncer(self._sync_context(cs))

    def _registry_dir(self) -> Path | None:
        s = self.settings
        if s.registries is None or not s.registries.exists():
            return None
        from kybernetes.images.registries import write_registry_config

        certs = s.data_dir / "containerd" / "certs.d"
        write_registry_config(s.registries, certs)
        return certs

    async def _import_images(self, cs: ContainerdSettings) -> None:
        """The pause image (always) and the project's test images (busybox) when not present."""
        from kybernetes.images.testimages import PAUSE_IMAGE, ensure_test_images

        assert self.cri is not None
        if await self.cri.image_status(PAUSE_IMAGE) is not None and not self.settings.import_test_images:
            return
        # one cache per user, shared by every node on the machine (built once, atomically)
        archives = await asyncio.to_thread(ensure_test_images, None)
        for name, path in archives.items():
            if await self.cri.image_status(name) is not None:
                continue
            proc = await asyncio.create_subprocess_exec(
                "ctr", "-a", str(cs.socket_path), "-n", "k8s.io", "images", "import", "--all-platforms", str(path),
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
            _, err = await proc.communicate()
            if proc.returncode != 0:
                log.warning("importing %s failed: %s", path, err.decode(errors="replace").strip())

    def _sync_context(self, cs: ContainerdSettings) -> SyncContext:
        assert self.cri is not None and self.runtime is not None
        from kybernetes.kubelet.cgroups import CgroupManager
        from kybernetes.kubelet.prober.manager import ProbeManager
        from kybernetes.kubelet.volumes.manager import VolumeManager

        pods_root = self.settings.data_dir / "pods-data"
        alloc = nodestatus.allocatable(self.machine, self.config)
        self.tokens = TokenManager(self._request_token)
        volumes = VolumeManager(pods_root, get_configmap=self._aget(self.configmaps, CONFIGMAPS),
                                get_secret=self._aget(self.secrets, SECRETS), get_pvc=self._api_get(PVCS),
                                get_pv=self._api_get(PVS), node_allocatable=alloc,
                                service_account_token=self.tokens.get)
        prober = ProbeManager(exec_sync=self.cri.exec_sync, on_change=self._enqueue_uid, on_event=self._probe_event)
        try:
            resolv = parse_resolv_conf(Path("/etc/resolv.conf").read_text())
        except OSError:
            resolv = {"servers": [], "searches": [], "options": []}
        return SyncContext(
            cri=self.cri, runtime=self.runtime, logs_root=cs.log_dir, pods_root=pods_root,
            cluster_dns=self.settings.cluster_dns, cluster_domain=self.settings.cluster_domain, host_resolv=resolv,
            node_ip=self.node_ip, node_allocatable=alloc, memory_capacity=self.machine.memory_bytes,
            post_status=self._post_pod_status, delete_pod=self._delete_pod,
            get_configmap=lambda ns, n: self.configmaps.store.get(f"{ns}/{n}"),
            get_secret=lambda ns, n: self.secrets.store.get(f"{ns}/{n}"),
            services=lambda ns: [s for s in self.services.store.list() if s["metadata"].get("namespace") == ns],
            volumes=volumes, cgroups=CgroupManager(parent=self.settings.cgroup_parent or cgroup_parent(self.settings.bridge)), prober=prober, pull_credentials=self._pull_credentials,
            events=self.events)

    async def _request_token(self, namespace: str, account: str, body: Obj) -> Obj:
        """serviceaccounts/<account>/token: a token bound to the pod, for its projected volume."""
        return await self.client.create_subresource(resource("v1", "serviceaccounts"), account, "token", body,
                                                    namespace=namespace)

    async def _token_refresh_loop(self) -> None:
        """Re-project token volumes every minute; TokenManager renews tokens 80 % through their life."""
        while True:
            await asyncio.sleep(TOKEN_REFRESH_PERIOD)
            for uid, pod in list(self.by_uid.items()):
                if has_token_projection(pod):
                    self.queue.add(f"refresh:{uid}")
            for uid in self.tokens.cached_pods() - set(self.by_uid):
                self.tokens.forget_pod(uid)

    def _aget(self, informer: Informer, res: Any) -> Any:
        async def get(ns: str, name: str) -> Obj | None:
            obj = informer.store.get(f"{ns}/{name}")
            if obj is None:
                try:
                    obj = await self.client.get(res, name, namespace=ns)
                except APIError as e:
                    if is_not_found(e):
                        return None
                    raise
            return obj
        return get

    def _api_get(self, res: Any) -> Any:
        async def get(*args: str) -> Obj | None:
            name = args[-1]
            ns = args[0] if len(args) > 1 else ""
            try:
                return await self.client.get(res, name, namespace=ns)
            except APIError as e:
                if is_not_found(e):
                    return None
                raise
        return get

    def _pull_credentials(self, image: str, pod: Obj) -> tuple[str, str] | None:
        from kybernetes.images.registries import credentials_for, load_registries

        ns = pod["metadata"]["namespace"]
        secrets = [s for ref in pod["spec"].get("imagePullSecrets") or []
                   if (s := self.secrets.store.get(f"{ns}/{ref.get('name')}")) is not None]
        registries = load_registries(self.settings.registries) if self.settings.registries else {}
        return credentials_for(image, registries, secrets)

    async def _start_proxy(self) -> None:
        """Services in the kernel: the node's share of kube-proxy's work (kybernetes.proxy)."""
        from kybernetes.proxy import ServiceProxy

        bridge_nf = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
        # Replies from a Service backend on the same bridge must pass the node's conntrack, or
        # the client sees the pod's address instead of the VIP's.
        try:
            if bridge_nf.exists() and bridge_nf.read_text().strip() != "1":
                bridge_nf.write_text("1")
        except OSError as e:
            log.warning("cannot enable bridge netfilter (%s): pods may not reach Services backed on this node", e)
        self.proxy = ServiceProxy(self.client, node_name=self.node_name, node_ips=[self.node_ip],
                                  cluster_cidr=self.settings.cluster_cidr, table=proxy_table(self.settings.bridge))
        await self.proxy.start()

    async def _start_netpol(self) -> None:
        """NetworkPolicy for this node's pods (kybernetes.netpol); relies on the bridge netfilter
        setting `_start_proxy` makes, so bridged pod-to-pod traffic reaches the forward hook."""
        from kybernetes.netpol import PolicyEnforcer

        self.netpol = PolicyEnforcer(self.client, node_name=self.node_name, cluster_cidr=self.settings.cluster_cidr,
                                     table=netpol_table(self.settings.bridge))
        await self.netpol.start()

    async def _start_routes(self) -> None:
        """Other nodes' pod CIDRs routed via their addresses (host-gw; see kubelet/routes.py), or
        through a VXLAN overlay when nodes sit on different networks (kubelet/vxlan.py)."""
        if not self.settings.pod_routes:
            return
        from kybernetes.kubelet.routes import RouteManager

        s = self.settings
        if s.network_backend == "vxlan":
            from kybernetes.kubelet.vxlan import VxlanManager

            self.routes = VxlanManager(self.client, node_name=self.node_name, node_ip=self.node_ip,
                                       pod_cidr=self.pod_cidr, cluster_cidr=s.cluster_cidr, bridge=s.bridge,
                                       netns=s.netns or "")
        else:
            self.routes = RouteManager(self.client, node_name=self.node_name, cluster_cidr=s.cluster_cidr)
        await self.routes.start()

    async def _pod_mtu(self) -> int:
        """The pods' MTU: 0 keeps CNI's default; under vxlan the encapsulation takes 50 bytes."""
        if self.settings.network_backend != "vxlan":
            return 0
        from kybernetes.kubelet.vxlan import pod_mtu, read_underlay

        return pod_mtu((await read_underlay(self.node_ip, netns=self.settings.netns or "")).mtu)

    async def _start_server(self) -> None:
        """The kubelet API on :10250 (logs, exec, attach, port-forward, stats) for the API server."""
        from kybernetes.kubelet.serving import start_kubelet_server

        self.server = await start_kubelet_server(self)

    # --- node ---------------------------------------------------------------------------------------
    def _status(self, now: float) -> Obj:
        observed = self.node_obj
        desired = nodestatus.node_conditions(now, not_ready=self.not_ready, pressure=self._pressure())
        since = nodestatus.kept_transition_times(observed, desired) if observed is not None else {}
        return nodestatus.render_node_status(self.machine, self.config, now, since=since, not_ready=self.not_ready,
                                             pressure=self._pressure())

    def _pressure(self) -> dict[str, bool]:
        try:
            available = parse_meminfo(Path("/proc/meminfo").read_text()).get("MemAvailable", 1 << 62)
        except OSError:
            return {}
        return {"MemoryPressure": available < self.config.eviction_memory_bytes,
                "DiskPressure": bool(self.gc is not None and self.gc.disk_pressure)}

    async def register(self) -> None:
        now = time.time()
        body = nodestatus.render_node(self.machine, self.config, now, not_ready=self.not_ready)
        try:
            node = await self.client.create(NODES, body)
        except APIError as e:
            if not is_already_exists(e):
                raise
            current = await self.client.get(NODES, self.node_name)
            self.node_obj = current
            boot_id = ((current.get("status") or {}).get("nodeInfo") or {}).get("bootID")
            if boot_id and self.machine.boot_id and boot_id != self.machine.boot_id:
                self.events.node(kev.WARNING, kev.REBOOTED,
                                 f"Node {self.node_name} has been rebooted, boot id: {self.machine.boot_id}")
            labels = {**(current["metadata"].get("labels") or {}), **body["metadata"]["labels"]}
            node = await self.client.patch(NODES, self.node_name, {"metadata": {"labels": labels}})
            node = await self.client.patch(NODES, self.node_name, {"status": self._status(now)}, subresource="status")
        self.events.node_conditions(((self.node_obj or {}).get("status") or {}).get("conditions"),
                                    (node.get("status") or {}).get("conditions") or [])
        self._adopt_node(node)
        self.last_post = now
        await self._renew_lease()

    def _adopt_node(self, node: Obj) -> None:
        self.node_obj = node
        self.events.node_schedulable(node)  # a cordon/uncordon: NodeNotSchedulable/NodeSchedulable
        self.node_uid = str(node["metadata"].get("uid") or "")
        self.pod_cidr = str((node.get("spec") or {}).get("podCIDR") or self.pod_cidr)

    async def _wait_pod_cidr(self) -> str:
        """The node IPAM controller assigns spec.podCIDR after registration; CNI needs it."""
        warned = False
        while not self.pod_cidr:
            await asyncio.sleep(0.2)
            self._adopt_node(await self.client.get(NODES, self.node_name))
            if not self.pod_cidr and not warned:
                log.info("waiting for node %s to be given a pod CIDR", self.node_name)
                warned = True
        return self.pod_cidr

    async def _renew_lease(self) -> None:
        now = time.time()
        ns = nodestatus.LEASE_NAMESPACE
        try:
            lease = await self.client.get(LEASES, self.node_name, namespace=ns)
        except APIError as e:
            if not is_not_found(e):
                raise
            await self.client.create(LEASES, nodestatus.render_lease(self.node_name, self.node_uid, now,
                                                                     duration_seconds=LEASE_DURATION))
            return
        lease["spec"] = {**(lease.get("spec") or {}), "holderIdentity": self.node_name,
                         "leaseDurationSeconds": LEASE_DURATION, "renewTime": micro_time(now)}
        await self.client.update(LEASES, lease, namespace=ns)

    async def report_node_status(self, *, force: bool = False) -> None:
        now = time.time()
        status = self._status(now)
        if self.cri is not None:
            status["images"] = await self._images()
        if not force and not nodestatus.should_post_status(status, self.node_obj, now=now, last_post=self.last_post,
                                                           report_frequency=STATUS_REPORT):
            # Nothing to post; the node is still read on each tick (as upstream) to see a cordon.
            with contextlib.suppress(APIError):
                self._adopt_node(await self.client.get(NODES, self.node_name))
            return
        try:
            node = await self.client.patch(NODES, self.node_name, {"status": status}, subresource="status")
        except APIError as e:
            if is_not_found(e):
                await self.register()
                return
            raise
        self.events.node_conditions(((self.node_obj or {}).get("status") or {}).get("conditions"),
                                    status.get("conditions") or [])
        self._adopt_node(node)
        self.last_post = now

    async def _images(self) -> list[Obj]:
        assert self.cri is not None
        images = await self.cri.list_images()
        return nodestatus.node_images([(list(i.repo_tags), list(i.repo_digests), int(i.size)) for i in images])

    async def _heartbeat_loop(self) -> None:
        next_status = time.monotonic() + STATUS_UPDATE
        while True:
            await asyncio.sleep(LEASE_RENEW if time.monotonic() + LEASE_RENEW < next_status
                                else max(next_status - time.monotonic(), 0.1))
            try:
                await self._renew_lease()
                if time.monotonic() >= next_status:
                    next_status = time.monotonic() + STATUS_UPDATE
                    await self.report_node_status()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("node heartbeat failed: %s", e)

    # --- pods ---------------------------------------------------------------------------------------
    def _on_pod(self, pod: Obj) -> None:
        if staticpods.is_mirror_pod(pod):  # it shows a static pod; it is never run on its own
            self.mirrors[staticpods.full_name(pod)] = pod
            return
        uid = pod["metadata"].get("uid")
        if uid:
            old = self.by_uid.get(uid)
            self.by_uid[uid] = pod
            self.metrics.pod_seen(uid)
            self.queue.add(uid)
            # downwardAPI volumes project labels and annotations: a change re-projects them
            if old is not None and any(old["metadata"].get(k) != pod["metadata"].get(k)
                                       for k in ("labels", "annotations")):
                self.queue.add(f"refresh:{uid}")

    def _on_pod_deleted(self, pod: Obj) -> None:
        if staticpods.is_mirror_pod(pod):
            name = staticpods.full_name(pod)
            if ((self.mirrors.get(name) or {}).get("metadata") or {}).get("uid") == pod["metadata"].get("uid"):
                del self.mirrors[name]
            return
        uid = pod["metadata"].get("uid")
        if uid:
            self.metrics.pod_forgotten(uid)
            self.by_uid.pop(uid, None)
            self.configmaps.release(uid)
            self.secrets.release(uid)
            self.queue.add(uid)

    def _on_config(self, obj: Obj) -> None:
        """A ConfigMap or Secret changed: pods that mount it re-project their volumes."""
        ns = obj["metadata"].get("namespace")
        for uid, pod in list(self.by_uid.items()):
            if pod["metadata"].get("namespace") == ns:
                self.queue.add(f"refresh:{uid}")

    def _enqueue_uid(self, uid: str) -> None:
        self.queue.add(uid)

    def _probe_event(self, uid: str, container: str, reason: str, message: str) -> None:
        """Probe failures as the container's Warning events (`kubectl describe pod` shows them)."""
        pod = self.by_uid.get(uid)
        if pod is not None:
            ref = {**object_reference(pod), "kind": "Pod", "apiVersion": "v1",
                   "fieldPath": kev.container_field_path(pod, container)}  # sidecars: spec.initContainers
            self.recorder.event(ref, "Warning", reason, message)

    async def _adopt_runtime(self) -> None:
        """After a restart: every pod the runtime has gets a sync (running ones are left as they are)."""
        assert self.runtime is not None
        for uid in await self.runtime.relist():
            self.queue.add(uid)
        for uid in list(self.by_uid):
            self.queue.add(uid)

    async def _relist_loop(self) -> None:
        assert self.runtime is not None
        while True:
            await asyncio.sleep(RELIST_PERIOD)
            try:
                began = time.perf_counter()
                pods = await self.runtime.relist()
                self.metrics.relisted(time.perf_counter() - began)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("relist failed: %s", e)
                continue
            for uid, rp in pods.items():
                fp = fingerprint(rp)
                if self._fingerprints.get(uid) != fp:
                    self._fingerprints[uid] = fp
                    self.queue.add(uid)
            for gone in set(self._fingerprints) - set(pods):
                del self._fingerprints[gone]

    async def _worker(self) -> None:
        assert self.syncer is not None and self.runtime is not None
        while True:
            try:
                key = await self.queue.get()
            except ShutDown:
                return
            try:
                if key.startswith("refresh:"):
                    pod = self.by_uid.get(key.partition(":")[2])
                    if pod is not None and self.syncer.ctx.volumes is not None:
                        await self.syncer.ctx.volumes.refresh_pod(pod)
                    self.queue.forget(key)
                    continue
                pod = self.by_uid.get(key)
                rt = self.runtime.pods.get(key)
                if pod is not None and not staticpods.is_static_pod(pod):
                    await self.configmaps.track(pod)
                    await self.secrets.track(pod)
                began = time.perf_counter()
                again = await self.syncer.sync(pod, rt)
                self.metrics.pod_synced(pod, rt is not None, time.perf_counter() - began)
                self.queue.forget(key)
                if again is not None:
                    self.queue.add_after(key, again)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                if not (isinstance(e, APIError) and is_conflict(e)):
                    log.warning("sync of pod %s failed: %s", key, e, exc_info=not isinstance(e, APIError))
                self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)

    async def _post_pod_status(self, pod: Obj, status: Obj) -> None:
        meta = pod["metadata"]
        if staticpods.is_static_pod(pod):
            await self._post_mirror_status(pod, status)
            return
        try:
            updated = await self.client.patch(PODS, meta["name"], {"metadata": {"uid": meta["uid"]}, "status": status},
                                              namespace=meta["namespace"], subresource="status")
        except APIError as e:
            if is_not_found(e):
                return
            raise
        if updated["metadata"].get("uid") == meta["uid"]:
            self.by_uid[meta["uid"]] = updated
        self.metrics.pod_status_reported(meta["uid"], status.get("phase"))

    async def _delete_pod(self, pod: Obj) -> None:
        meta = pod["metadata"]
        if staticpods.is_static_pod(pod):  # its file is gone and it has stopped; the mirror goes too
            if meta["uid"] not in self.static:
                self.by_uid.pop(meta["uid"], None)
            return
        try:
            await self.client.delete(PODS, meta["name"], namespace=meta["namespace"], grace_period_seconds=0,
                                     preconditions={"uid": meta["uid"]})
        except APIError as e:
            if not (is_not_found(e) or is_conflict(e)):
                raise

    # --- static pods --------------------------------------------------------------------------------
    def _scan_static(self) -> None:
        """Read the manifest directory: new UIDs start (an edited file is a new UID), vanished ones
        are terminated like a deleted pod (grace period, then `_delete_pod`)."""
        pods, problems = staticpods.read_manifests(self.manifest_dir, node_name=self.node_name)
        texts = {f"{p.path}: {p.message}" for p in problems}
        for text in sorted(texts - self._manifest_problems):
            log.warning("static pod manifest %s", text)
        self._manifest_problems = texts
        for uid, p in pods.items():
            if uid not in self.static:
                log.info("static pod %s from %s", staticpods.full_name(p), self.manifest_dir)
                self.static[uid] = p
                self.by_uid[uid] = p
                self.queue.add(uid)
        for uid in set(self.static) - set(pods):
            gone = self.static.pop(uid)
            current = self.by_uid.get(uid, gone)
            meta = {**current["metadata"], "deletionTimestamp": rfc3339(time.time()),
                    "deletionGracePeriodSeconds": int(current["spec"].get("terminationGracePeriodSeconds", 30))}
            self.by_uid[uid] = {**current, "metadata": meta}
            self.queue.add(uid)

    async def _static_loop(self) -> None:
        while True:
            await asyncio.sleep(STATIC_PERIOD)
            try:
                self._scan_static()
                await self._sync_mirrors()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("static pods: %s", e)

    async def _sync_mirrors(self) -> None:
        """Make the API's mirror pods match the static pods (create, replace, delete)."""
        plan = staticpods.plan_mirrors(self.static.values(), dict(self.mirrors))
        for mirror in plan.delete:
            meta = mirror["metadata"]
            try:
                await self.client.delete(PODS, meta["name"], namespace=meta["namespace"], grace_period_seconds=0,
                                         preconditions={"uid": meta["uid"]})
            except APIError as e:
                if not (is_not_found(e) or is_conflict(e)):
                    raise
            if self.mirrors.get(staticpods.full_name(mirror)) is mirror:
                del self.mirrors[staticpods.full_name(mirror)]
        for static in plan.create:
            body = staticpods.mirror_pod(static, node_name=self.node_name, node_uid=self.node_uid,
                                         seen=rfc3339(time.time()))
            try:
                created = await self.client.create(PODS, body, namespace=body["metadata"]["namespace"])
            except APIError as e:
                if is_already_exists(e):  # the informer has not shown it yet; it will
                    continue
                raise
            self.mirrors[staticpods.full_name(created)] = created
            status = (self.by_uid.get(static["metadata"]["uid"]) or {}).get("status")
            if status and status != created.get("status"):
                await self._post_mirror_status(static, status)

    async def _post_mirror_status(self, pod: Obj, status: Obj) -> None:
        """A static pod's status goes to its mirror pod (once there is one)."""
        uid = pod["metadata"]["uid"]
        mirror = self.mirrors.get(staticpods.full_name(pod))
        if mirror is None or (mirror["metadata"].get("annotations") or {}).get(staticpods.CONFIG_MIRROR) != uid:
            return  # posted after the mirror is (re)created
        meta = mirror["metadata"]
        try:
            updated = await self.client.patch(PODS, meta["name"], {"metadata": {"uid": meta["uid"]}, "status": status},
                                              namespace=meta["namespace"], subresource="status")
        except APIError as e:
            if is_not_found(e) or is_conflict(e):
                return
            raise
        self.mirrors[staticpods.full_name(updated)] = updated
        current = self.by_uid.get(uid)
        if current is not None:
            self.by_uid[uid] = {**current, "status": updated.get("status") or status}

    # --- node-pressure eviction ---------------------------------------------------------------------
    def _set_eviction_threshold(self, value: str) -> None:
        if value == self.eviction_threshold:
            return
        try:
            threshold = eviction.parse_threshold(value, capacity_bytes=self.machine.memory_bytes)
        except ValueError as e:
            log.warning("eviction threshold memory.available<%s: %s", value, e)
            return
        self.eviction_threshold = value
        self.config = nodestatus.NodeConfig(**{**self.config.__dict__, "eviction_memory_bytes": threshold})
        log.info("hard eviction threshold memory.available<%s (%d bytes)", value, threshold)

    def _reload_config(self) -> None:
        """The kubelet configuration file (KubeletConfiguration: evictionHard) when it changed."""
        import yaml

        path = self.settings.config_file or self.settings.data_dir / "config.yaml"
        try:
            mtime: float | None = path.stat().st_mtime
        except OSError:
            mtime = None
        if mtime == self._config_mtime:
            return
        self._config_mtime = mtime
        value = self.settings.eviction_hard_memory
        self.kubelet_config = {}
        if mtime is not None:
            try:
                doc = yaml.safe_load(path.read_text()) or {}
                value = str(((doc.get("evictionHard") or {}).get("memory.available")) or value)
                self.kubelet_config = doc
            except (OSError, yaml.YAMLError, AttributeError) as e:
                log.warning("kubelet config %s: %s", path, e)
        self._set_eviction_threshold(value)
        if self.gc is not None:
            self.gc.configure(self.kubelet_config)

    async def _eviction_loop(self) -> None:
        while True:
            await asyncio.sleep(EVICTION_PERIOD)
            try:
                if await self._evict_if_needed():
                    await asyncio.sleep(EVICTION_PAUSE)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("eviction check failed: %s", e)

    async def _evict_if_needed(self) -> bool:
        """Under memory pressure evict the first pod of the ranking; True when one was evicted."""
        self._reload_config()
        try:
            available = parse_meminfo(Path("/proc/meminfo").read_text())["MemAvailable"]
        except (OSError, KeyError):
            return False
        pressure = available < self.config.eviction_memory_bytes
        if pressure != self._pressure_seen:  # MemoryPressure (and so the taint) follows at once
            self._pressure_seen = pressure
            await self.report_node_status()
        if not pressure:
            return False
        ranked = eviction.rank_for_memory_eviction(await self._pod_memory_usage())
        if not ranked:
            return False
        victim = ranked[0]
        pod = victim.pod
        message = eviction.eviction_message(victim, threshold=self.eviction_threshold, available_bytes=available)
        log.warning("evicting pod %s/%s: %s", pod["metadata"]["namespace"], pod["metadata"]["name"], message)
        self.events.node(kev.WARNING, kev.EVICTION_THRESHOLD_MET, "Attempting to reclaim memory")
        self.events.pod(pod, kev.WARNING, kev.EVICTED, message)
        await self._post_pod_status(pod, eviction.evicted_status(pod, message, now=rfc3339(time.time())))
        uid = pod["metadata"]["uid"]
        current = self.by_uid.get(uid)
        if current is not None and (current.get("status") or {}).get("phase") != "Failed":
            self.by_uid[uid] = {**current, "status": {**(current.get("status") or {}), "phase": "Failed"}}
        rt = self.runtime.pods.get(uid) if self.runtime is not None else None
        if rt is not None and self.syncer is not None:  # a hard threshold kills without a grace period
            self.events.planned(pod, kev.kill_pod_events(rt))
            await self.syncer.kill_pod_now(pod, rt, grace=0)
        self.queue.add(uid)
        return True

    async def _pod_memory_usage(self) -> list[eviction.PodUsage]:
        """Working set per running pod and container (CRI stats), for the pods the API gave us."""
        assert self.cri is not None and self.runtime is not None
        stats = {s.attributes.id: int(s.memory.working_set_bytes.value) for s in await self.cri.list_container_stats()}
        out = []
        for uid, rt in self.runtime.pods.items():
            pod = self.by_uid.get(uid)
            if pod is None or uid in self.static:
                continue
            per = {c.name: stats.get(c.id, 0) for c in rt.containers if c.id in stats}
            out.append(eviction.PodUsage(pod, sum(per.values()), per))
        return out


def proxy_table(bridge: str) -> str:
    """The node's nftables table; nodes sharing one machine (tests) keep theirs apart."""
    return "kyb-proxy" if bridge == "kyb0" else f"kyb-proxy-{bridge}"


def netpol_table(bridge: str) -> str:
    """The node's NetworkPolicy table (kept apart per bridge, as `proxy_table`)."""
    return "kyb-netpol" if bridge == "kyb0" else f"kyb-netpol-{bridge}"


def cgroup_parent(bridge: str) -> str:
    """Pod cgroups live under kubepods; a second node on the same machine (tests, the dev harness)
    keeps its own tree so one node's cleanup never touches another's pods."""
    return "kubepods" if bridge == "kyb0" else f"kubepods-{bridge}"


def default_node_name() -> str:
    return (os.environ.get("NODE_NAME") or os.uname().nodename).lower()
