"""Container and node usage as Prometheus families: the kubelet's ``/metrics/cadvisor`` and
``/metrics/resource`` (pure: samples in, families out).

Upstream's kubelet embeds cAdvisor, which reads every cgroup; here the numbers come from CRI
(containerd's ListContainerStats and ListPodSandboxStats) and /proc, the same source as
``/stats/summary``, and are written under cAdvisor's names so that a Prometheus set up for a real
node (dashboards, ``container_cpu_usage_seconds_total`` rate queries, alerts) reads them:

- ``/metrics/cadvisor``: ``container_*`` series labelled ``container, id, image, name, namespace,
  pod`` (``id`` the cgroup path, ``name`` the runtime's container id), one per container, one per
  pod (``container=""``, the pod cgroup; network counters live here since the pod shares one
  network namespace) and one for the machine (``id="/"``); plus ``machine_cpu_cores`` and
  ``machine_memory_bytes``. Samples carry the time they were read (milliseconds), as cAdvisor's do.
- ``/metrics/resource``: the kubelet's resource metrics (stable since 1.27): node, pod and
  container CPU seconds and working set, container start time, and ``resource_scrape_error``
  (``scrape_error`` too, deprecated upstream since 1.29).
"""

from __future__ import annotations

from dataclasses import dataclass

from kybernetes.metrics import prom

CADVISOR_LABELS = ("container", "id", "image", "name", "namespace", "pod")


@dataclass(frozen=True)
class ContainerSample:
    namespace: str
    pod: str
    container: str
    container_id: str
    cgroup: str  # cAdvisor's id label
    image: str = ""
    cpu_seconds: float = 0.0
    working_set_bytes: int = 0
    rss_bytes: int = 0
    usage_bytes: int = 0
    page_faults: int = 0
    major_page_faults: int = 0
    fs_usage_bytes: int | None = None
    start_time: float | None = None
    timestamp_ms: int = 0


@dataclass(frozen=True)
class NetworkSample:
    interface: str
    rx_bytes: int
    tx_bytes: int
    rx_errors: int
    tx_errors: int


@dataclass(frozen=True)
class PodSample:
    namespace: str
    pod: str
    cgroup: str
    containers: tuple[ContainerSample, ...] = ()
    networks: tuple[NetworkSample, ...] = ()
    timestamp_ms: int = 0

    @property
    def cpu_seconds(self) -> float:
        return sum(c.cpu_seconds for c in self.containers)

    @property
    def working_set_bytes(self) -> int:
        return sum(c.working_set_bytes for c in self.containers)


@dataclass(frozen=True)
class NodeSample:
    cpu_seconds: float
    working_set_bytes: int
    usage_bytes: int
    cpu_cores: int
    memory_bytes: int
    timestamp_ms: int


@dataclass(frozen=True)
class Samples:
    node: NodeSample
    pods: tuple[PodSample, ...] = ()
    error: bool = False  # some stats could not be read: what is here may be incomplete


def _cadvisor(name: str, help_text: str, kind: str = "gauge", extra: tuple[str, ...] = ()) -> prom.Snapshot:
    return prom.Snapshot(name, help_text, CADVISOR_LABELS + extra, kind=kind)


def cadvisor_families(samples: Samples) -> list[prom.Snapshot]:
    cpu = _cadvisor(
        "container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", "counter"
    )
    working_set = _cadvisor("container_memory_working_set_bytes", "Current working set in bytes.")
    rss = _cadvisor("container_memory_rss", "Size of RSS in bytes.")
    usage = _cadvisor(
        "container_memory_usage_bytes",
        "Current memory usage in bytes, including all memory regardless of when it was accessed",
    )
    failures = _cadvisor(
        "container_memory_failures_total",
        "Cumulative count of memory allocation failures.",
        "counter",
        ("failure_type", "scope"),
    )
    fs_usage = _cadvisor(
        "container_fs_usage_bytes",
        "Number of bytes that are consumed by the container on this filesystem.",
        extra=("device",),
    )
    start = _cadvisor(
        "container_start_time_seconds", "Start time of the container since unix epoch in seconds."
    )
    rx = _cadvisor(
        "container_network_receive_bytes_total",
        "Cumulative count of bytes received",
        "counter",
        ("interface",),
    )
    tx = _cadvisor(
        "container_network_transmit_bytes_total",
        "Cumulative count of bytes transmitted",
        "counter",
        ("interface",),
    )
    rx_err = _cadvisor(
        "container_network_receive_errors_total",
        "Cumulative count of errors encountered while receiving",
        "counter",
        ("interface",),
    )
    tx_err = _cadvisor(
        "container_network_transmit_errors_total",
        "Cumulative count of errors encountered while transmitting",
        "counter",
        ("interface",),
    )
    node = samples.node
    root = ("", "/", "", "", "", "")
    cpu.add(root, node.cpu_seconds, node.timestamp_ms)
    working_set.add(root, node.working_set_bytes, node.timestamp_ms)
    usage.add(root, node.usage_bytes, node.timestamp_ms)
    for p in sorted(samples.pods, key=lambda p: (p.namespace, p.pod)):
        pod_labels = ("", p.cgroup, "", "", p.namespace, p.pod)
        ts = p.timestamp_ms
        cpu.add(pod_labels, p.cpu_seconds, ts)
        working_set.add(pod_labels, p.working_set_bytes, ts)
        rss.add(pod_labels, sum(c.rss_bytes for c in p.containers), ts)
        usage.add(pod_labels, sum(c.usage_bytes for c in p.containers), ts)
        for n in p.networks:
            rx.add((*pod_labels, n.interface), n.rx_bytes, ts)
            tx.add((*pod_labels, n.interface), n.tx_bytes, ts)
            rx_err.add((*pod_labels, n.interface), n.rx_errors, ts)
            tx_err.add((*pod_labels, n.interface), n.tx_errors, ts)
        for c in sorted(p.containers, key=lambda c: c.container):
            labels = (c.container, c.cgroup, c.image, c.container_id, c.namespace, c.pod)
            ts = c.timestamp_ms
            cpu.add(labels, c.cpu_seconds, ts)
            working_set.add(labels, c.working_set_bytes, ts)
            rss.add(labels, c.rss_bytes, ts)
            usage.add(labels, c.usage_bytes, ts)
            failures.add((*labels, "pgfault", "container"), c.page_faults, ts)
            failures.add((*labels, "pgmajfault", "container"), c.major_page_faults, ts)
            if c.fs_usage_bytes is not None:
                fs_usage.add((*labels, ""), c.fs_usage_bytes, ts)
            if c.start_time is not None:
                start.add(labels, c.start_time, ts)
    cores = prom.Snapshot("machine_cpu_cores", "Number of logical CPU cores.").add((), node.cpu_cores)
    memory = prom.Snapshot("machine_memory_bytes", "Amount of memory installed on the machine.").add(
        (), node.memory_bytes
    )
    scrape_error = prom.Snapshot(
        "container_scrape_error", "1 if there was an error while getting container metrics, 0 otherwise"
    )
    scrape_error.add((), 1 if samples.error else 0)
    families = [cpu, working_set, rss, usage, failures, fs_usage, start, rx, tx, rx_err, tx_err]
    return [f for f in families if f.samples] + [cores, memory, scrape_error]


def resource_families(samples: Samples) -> list[prom.Snapshot]:
    node = samples.node
    node_cpu = prom.Snapshot(
        "node_cpu_usage_seconds_total",
        "Cumulative cpu time consumed by the node in core-seconds",
        kind="counter",
    ).add((), node.cpu_seconds, node.timestamp_ms)
    node_memory = prom.Snapshot(
        "node_memory_working_set_bytes", "Current working set of the node in bytes"
    ).add((), node.working_set_bytes, node.timestamp_ms)
    c_labels = ("container", "pod", "namespace")
    c_start = prom.Snapshot(
        "container_start_time_seconds", "Start time of the container since unix epoch in seconds", c_labels
    )
    c_cpu = prom.Snapshot(
        "container_cpu_usage_seconds_total",
        "Cumulative cpu time consumed by the container in core-seconds",
        c_labels,
        kind="counter",
    )
    c_memory = prom.Snapshot(
        "container_memory_working_set_bytes", "Current working set of the container in bytes", c_labels
    )
    p_cpu = prom.Snapshot(
        "pod_cpu_usage_seconds_total",
        "Cumulative cpu time consumed by the pod in core-seconds",
        ("pod", "namespace"),
        kind="counter",
    )
    p_memory = prom.Snapshot(
        "pod_memory_working_set_bytes", "Current working set of the pod in bytes", ("pod", "namespace")
    )
    for p in sorted(samples.pods, key=lambda p: (p.namespace, p.pod)):
        p_cpu.add((p.pod, p.namespace), p.cpu_seconds, p.timestamp_ms)
        p_memory.add((p.pod, p.namespace), p.working_set_bytes, p.timestamp_ms)
        for c in sorted(p.containers, key=lambda c: c.container):
            labels = (c.container, c.pod, c.namespace)
            if c.start_time is not None:
                c_start.add(labels, c.start_time, c.timestamp_ms)
            c_cpu.add(labels, c.cpu_seconds, c.timestamp_ms)
            c_memory.add(labels, c.working_set_bytes, c.timestamp_ms)
    failed = 1 if samples.error else 0
    scrape_error = prom.Snapshot(
        "scrape_error",
        "(Deprecated since 1.29.0) 1 if there was an error while getting container metrics, 0 otherwise",
    ).add((), failed)
    resource_scrape_error = prom.Snapshot(
        "resource_scrape_error", "1 if there was an error while getting container metrics, 0 otherwise"
    ).add((), failed)
    return [
        node_cpu,
        node_memory,
        c_start,
        c_cpu,
        c_memory,
        p_cpu,
        p_memory,
        scrape_error,
        resource_scrape_error,
    ]
