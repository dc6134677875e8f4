"""The kubelet's Prometheus endpoints: ``/metrics``, ``/metrics/cadvisor`` and ``/metrics/resource``
on the kubelet API port (same TLS and client check as ``/stats/summary``; users reach them through
the API server's node proxy, ``/api/v1/nodes/<node>/proxy/metrics/cadvisor``).

``/metrics`` carries upstream's kubelet families (names, labels and buckets of pkg/kubelet/metrics,
v1.32) for what this kubelet does:

- ``kubelet_node_name{node}`` (always 1), ``kubelet_running_pods`` (pods with a ready sandbox),
  ``kubelet_running_containers{container_state}`` (created, running, exited, unknown),
  ``kubelet_desired_pods{static}``;
- ``kubelet_pod_start_duration_seconds``: from the kubelet first seeing a pod to its status being
  reported Running; ``kubelet_pod_worker_duration_seconds{operation_type}``: one pod sync (create,
  sync or kill);
- ``kubelet_runtime_operations_total``, ``..._duration_seconds`` and ``..._errors_total`` per CRI
  call (``operation_type`` as upstream spells them: ``list_podsandbox``, ``create_container``...);
- ``kubelet_pleg_relist_duration_seconds``, ``kubelet_pleg_relist_interval_seconds`` and
  ``kubelet_pleg_last_seen_seconds``;
- ``process_*`` and ``python_*`` of the agent process.

The other two endpoints are built by `kybernetes.kubelet.metrics_cadvisor` from samples that
`collect_samples` reads from CRI and /proc at scrape time.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kybernetes.kubelet.metrics_cadvisor import (
    ContainerSample,
    NetworkSample,
    NodeSample,
    PodSample,
    Samples,
    cadvisor_families,
    resource_families,
)
from kybernetes.kubelet.resources import cgroup_parent_path, pod_cgroup_name
from kybernetes.kubelet.runtime_state import ContainerState, SandboxState
from kybernetes.metrics import prom

if TYPE_CHECKING:
    from kybernetes.kubelet.agent import Kubelet

POD_START_BUCKETS: tuple[float, ...] = (
    0.5,
    1,
    2,
    3,
    4,
    5,
    6,
    8,
    10,
    20,
    30,
    45,
    60,
    120,
    180,
    240,
    300,
    360,
    480,
    600,
    900,
    1200,
    1800,
    2700,
    3600,
)
RUNTIME_OPERATION_BUCKETS = prom.exponential_buckets(0.005, 2.5, 14)
ENDPOINTS = ("/metrics", "/metrics/cadvisor", "/metrics/resource")


def operation_type(cri_method: str) -> str:
    """CRI method -> upstream's operation_type label: ``RunPodSandbox`` -> ``run_podsandbox``."""
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", cri_method).lower()
    return snake.replace("pod_sandbox", "podsandbox")


def sync_type(pod: dict[str, Any] | None, has_runtime_pod: bool) -> str:
    """The pod worker's operation_type: kill (gone or deleting), create (nothing running yet) or sync."""
    if pod is None or (pod.get("metadata") or {}).get("deletionTimestamp"):
        return "kill"
    return "sync" if has_runtime_pod else "create"


class KubeletMetrics:
    def __init__(self, node_name: str) -> None:
        self.node_name = node_name
        r = self.registry = prom.Registry()
        r.gauge("kubelet_node_name", "The node's name. The count is always 1.", ("node",)).labels(
            node_name
        ).set(1)
        self.pod_start = r.histogram(
            "kubelet_pod_start_duration_seconds",
            "Duration in seconds from kubelet seeing a pod for the first time to the pod starting to run",
            buckets=POD_START_BUCKETS,
        )
        self.pod_worker = r.histogram(
            "kubelet_pod_worker_duration_seconds",
            "Duration in seconds to sync a single pod. Broken down by operation type: create, update, or sync",
            ("operation_type",),
        )
        self.runtime_ops = r.counter(
            "kubelet_runtime_operations_total",
            "Cumulative number of runtime operations by operation type.",
            ("operation_type",),
        )
        self.runtime_durations = r.histogram(
            "kubelet_runtime_operations_duration_seconds",
            "Duration in seconds of runtime operations. Broken down by operation type.",
            ("operation_type",),
            RUNTIME_OPERATION_BUCKETS,
        )
        self.runtime_errors = r.counter(
            "kubelet_runtime_operations_errors_total",
            "Cumulative number of runtime operation errors by operation type.",
            ("operation_type",),
        )
        self.relist_duration = r.histogram(
            "kubelet_pleg_relist_duration_seconds", "Duration in seconds for relisting pods in PLEG."
        )
        self.relist_interval = r.histogram(
            "kubelet_pleg_relist_interval_seconds", "Interval in seconds between relisting in PLEG."
        )
        self.pleg_last_seen = r.gauge(
            "kubelet_pleg_last_seen_seconds", "Timestamp in seconds when PLEG was last seen active."
        )
        self._first_seen: dict[str, float] = {}
        self._started: set[str] = set()
        self._last_relist: float | None = None
        self.kubelet: Kubelet | None = None
        r.add_collector(self._scrape_time_families)

    # --- hooks -------------------------------------------------------------------------------------
    def runtime_operation(self, cri_method: str, seconds: float, failed: bool) -> None:
        """`CRIClient.observer`: every CRI call."""
        op = operation_type(cri_method)
        self.runtime_ops.labels(op).inc()
        self.runtime_durations.labels(op).observe(seconds)
        if failed:
            self.runtime_errors.labels(op).inc()

    def pod_seen(self, uid: str) -> None:
        self._first_seen.setdefault(uid, time.monotonic())

    def pod_forgotten(self, uid: str) -> None:
        self._first_seen.pop(uid, None)
        self._started.discard(uid)

    def pod_status_reported(self, uid: str, phase: str | None) -> None:
        """The first Running status of a pod ends its start duration."""
        if phase != "Running" or uid in self._started or uid not in self._first_seen:
            return
        self._started.add(uid)
        self.pod_start.observe(time.monotonic() - self._first_seen[uid])

    def pod_synced(self, pod: dict[str, Any] | None, has_runtime_pod: bool, seconds: float) -> None:
        self.pod_worker.labels(sync_type(pod, has_runtime_pod)).observe(seconds)

    def relisted(self, seconds: float) -> None:
        now = time.monotonic()
        if self._last_relist is not None:
            self.relist_interval.observe(now - self._last_relist)
        self._last_relist = now
        self.relist_duration.observe(seconds)
        self.pleg_last_seen.set(time.time())

    # --- scrape ---------------------------------------------------------------------------------------
    def _scrape_time_families(self) -> list[Any]:
        families: list[Any] = []
        k = self.kubelet
        if k is not None and k.runtime is not None:
            pods = list(k.runtime.pods.values())
            running = sum(
                1 for p in pods if (sb := p.current_sandbox()) is not None and sb.state == SandboxState.READY
            )
            families.append(
                prom.Snapshot("kubelet_running_pods", "Number of pods that have a running pod sandbox").add(
                    (), running
                )
            )
            states = dict.fromkeys((s.value for s in ContainerState), 0)
            for p in pods:
                for c in p.containers:
                    states[c.state.value] += 1
            containers = prom.Snapshot(
                "kubelet_running_containers", "Number of containers currently running", ("container_state",)
            )
            for state, n in states.items():
                containers.add((state,), n)
            families.append(containers)
        if k is not None:
            desired = prom.Snapshot(
                "kubelet_desired_pods",
                "The number of pods the kubelet is being instructed to run. static is true "
                "if the pod is not from the apiserver.",
                ("static",),
            )
            static = sum(1 for uid in k.by_uid if uid in k.static)
            desired.add(("false",), len(k.by_uid) - static).add(("true",), static)
            families.append(desired)
        return families + prom.process_families()

    async def render(self, path: str) -> str:
        """The text of one of `ENDPOINTS`."""
        if path == "/metrics":
            return self.registry.render()
        if self.kubelet is None:
            samples = Samples(node=read_node_sample(0, 0), error=True)
        else:
            samples = await collect_samples(self.kubelet)
        families = cadvisor_families(samples) if path == "/metrics/cadvisor" else resource_families(samples)
        return prom.render(families)


# --- reading the samples (executor) ---------------------------------------------------------------------


def read_node_sample(cpu_cores: int, memory_bytes: int, proc: Path = Path("/proc")) -> NodeSample:
    """Node CPU seconds and memory working set, as /stats/summary reports them."""
    from kybernetes.kubelet.machine import parse_meminfo

    fields = (proc / "stat").read_text().splitlines()[0].split()[1:]
    busy = sum(int(v) for i, v in enumerate(fields[:8]) if i not in (3, 4))  # all but idle and iowait
    mem = parse_meminfo((proc / "meminfo").read_text())
    total, available = mem.get("MemTotal", 0), mem.get("MemAvailable", 0)
    return NodeSample(
        cpu_seconds=busy / 100,
        working_set_bytes=total - available,
        usage_bytes=total - available,
        cpu_cores=cpu_cores,
        memory_bytes=memory_bytes or total,
        timestamp_ms=int(time.time() * 1000),
    )


async def collect_samples(kubelet: Kubelet) -> Samples:
    from kybernetes.kubelet.agent import cgroup_parent

    error = False
    node = read_node_sample(kubelet.machine.cpus, kubelet.machine.memory_bytes)
    cri = kubelet.cri
    if cri is None:
        return Samples(node=node, error=True)
    try:
        stats = await cri.list_container_stats()
    except Exception:
        stats, error = [], True
    try:
        sandbox_stats = await cri.list_pod_sandbox_stats()
    except Exception:
        sandbox_stats = []  # a runtime without sandbox stats: no network series, not an error
    runtime_containers = {
        c.id: c for p in (kubelet.runtime.pods.values() if kubelet.runtime else ()) for c in p.containers
    }
    parent = kubelet.settings.cgroup_parent or cgroup_parent(kubelet.settings.bridge)
    by_uid: dict[str, list[ContainerSample]] = {}
    names: dict[str, tuple[str, str]] = {}
    for s in stats:
        attrs = s.attributes
        uid = attrs.labels.get("io.kubernetes.pod.uid", "")
        if not uid:
            continue
        namespace = attrs.labels.get("io.kubernetes.pod.namespace", "")
        pod_name = attrs.labels.get("io.kubernetes.pod.name", "")
        names[uid] = (namespace, pod_name)
        rc = runtime_containers.get(attrs.id)
        ts = int((s.cpu.timestamp or time.time_ns()) / 1e6)
        by_uid.setdefault(uid, []).append(
            ContainerSample(
                namespace=namespace,
                pod=pod_name,
                container=attrs.metadata.name,
                container_id=attrs.id,
                cgroup=f"{pod_cgroup(kubelet, uid, parent)}/{attrs.id}",
                image=rc.image if rc else "",
                cpu_seconds=s.cpu.usage_core_nano_seconds.value / 1e9,
                working_set_bytes=s.memory.working_set_bytes.value,
                rss_bytes=s.memory.rss_bytes.value,
                usage_bytes=s.memory.usage_bytes.value,
                page_faults=s.memory.page_faults.value,
                major_page_faults=s.memory.major_page_faults.value,
                fs_usage_bytes=s.writable_layer.used_bytes.value if s.HasField("writable_layer") else None,
                start_time=rc.started_at if rc else None,
                timestamp_ms=ts,
            )
        )
    networks: dict[str, tuple[NetworkSample, ...]] = {}
    for ps in sandbox_stats:
        uid = ps.attributes.metadata.uid
        net = ps.linux.network
        ifaces = (
            [net.default_interface, *net.interfaces] if net.default_interface.name else list(net.interfaces)
        )
        seen: dict[str, NetworkSample] = {}
        for i in ifaces:
            seen.setdefault(
                i.name,
                NetworkSample(
                    i.name, i.rx_bytes.value, i.tx_bytes.value, i.rx_errors.value, i.tx_errors.value
                ),
            )
        if seen and uid:
            networks[uid] = tuple(seen.values())
    pods = tuple(
        PodSample(
            namespace=names[uid][0],
            pod=names[uid][1],
            cgroup=pod_cgroup(kubelet, uid, parent),
            containers=tuple(cs),
            networks=networks.get(uid, ()),
            timestamp_ms=max(c.timestamp_ms for c in cs),
        )
        for uid, cs in by_uid.items()
    )
    return Samples(node=node, pods=pods, error=error)


def pod_cgroup(kubelet: Kubelet, uid: str, parent: str) -> str:
    pod = kubelet.by_uid.get(uid)
    if pod is None:
        return cgroup_parent_path([*parent.strip("/").split("/"), f"pod{uid}"])
    return cgroup_parent_path(pod_cgroup_name(pod, parent=parent))
