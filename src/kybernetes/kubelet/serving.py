"""The kubelet API of the real node: the streaming runtime over CRI, stats, and the TLS server.

`CRIStreamingRuntime` is what `KubeletServer` asks of the node (kubelet/server.py's
`StreamingRuntime`): which container a request means, containerd's single-use streaming URLs,
the pods, and `/stats/summary`. Stats turn CRI's cumulative CPU counters into rates by keeping the
previous sample per container (as cAdvisor does); memory is the working set.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kybernetes.kubelet.cri import api_pb2 as pb
from kybernetes.kubelet.criconfig import container_log_path, pod_log_directory
from kybernetes.kubelet.machine import parse_meminfo
from kybernetes.kubelet.runtime_state import ContainerState, SandboxState
from kybernetes.kubelet.server import ContainerRef, KubeletServer, NotFound
from kybernetes.util import pki
from kybernetes.util.times import rfc3339

if TYPE_CHECKING:
    from kybernetes.kubelet.agent import Kubelet

Obj = dict[str, Any]


def cpu_rate(prev: tuple[float, int] | None, now: tuple[float, int]) -> int | None:
    """Nano-cores between two (seconds, cumulative core-nanoseconds) samples."""
    if prev is None or now[0] <= prev[0] or now[1] < prev[1]:
        return None
    return int((now[1] - prev[1]) / (now[0] - prev[0]))


class CRIStreamingRuntime:
    def __init__(self, kubelet: Kubelet) -> None:
        self.kubelet = kubelet
        self._cpu: dict[str, tuple[float, int]] = {}
        self._node_cpu: tuple[float, int] | None = None

    def _pod(self, namespace: str, name: str) -> Obj:
        for pod in self.kubelet.by_uid.values():
            if pod["metadata"]["namespace"] == namespace and pod["metadata"]["name"] == name:
                return pod
        raise NotFound(f'pod "{name}" not found on node {self.kubelet.node_name}')

    def resolve_container(self, namespace: str, pod: str, container: str) -> ContainerRef:
        p = self._pod(namespace, pod)
        assert self.kubelet.runtime is not None
        rt = self.kubelet.runtime.pods.get(p["metadata"]["uid"])
        latest = rt.latest(container) if rt is not None else None
        if rt is None or latest is None:
            raise NotFound(f'container "{container}" in pod "{pod}" is waiting to start: ContainerCreating')
        logs = Path(pod_log_directory(str(self.kubelet.logs_root), p))
        prev = rt.previous(container)
        # As upstream: "previous" is the instance the status shows in lastState (in a crash loop the
        # newest exited one, which is also the one container GC keeps).
        last = next((((cs.get("lastState") or {}).get("terminated") or {}).get("containerID") or ""
                     for cs in (p.get("status") or {}).get("containerStatuses") or [] if cs.get("name") == container), "")
        prev = next((c for c in rt.containers if last and last.endswith("://" + c.id)), prev)
        return ContainerRef(container_id=latest.id, log_path=str(logs / container_log_path(container, latest.attempt)),
                            previous_log_path=str(logs / container_log_path(container, prev.attempt)) if prev else None,
                            running=latest.state == ContainerState.RUNNING)

    async def exec_url(self, container_id: str, cmd: Sequence[str], stdin: bool, stdout: bool,
                       stderr: bool, tty: bool) -> str:
        assert self.kubelet.cri is not None
        return await self.kubelet.cri.exec(pb.ExecRequest(container_id=container_id, cmd=list(cmd), stdin=stdin,
                                                          stdout=stdout, stderr=stderr, tty=tty))

    async def attach_url(self, container_id: str, stdin: bool, stdout: bool, stderr: bool, tty: bool) -> str:
        assert self.kubelet.cri is not None
        return await self.kubelet.cri.attach(pb.AttachRequest(container_id=container_id, stdin=stdin, stdout=stdout,
                                                              stderr=stderr, tty=tty))

    async def port_forward_url(self, pod_sandbox_id: str, ports: Sequence[int]) -> str:
        assert self.kubelet.cri is not None
        return await self.kubelet.cri.port_forward(pb.PortForwardRequest(pod_sandbox_id=pod_sandbox_id,
                                                                         port=list(ports)))

    def pod_sandbox_id(self, namespace: str, pod: str) -> str:
        p = self._pod(namespace, pod)
        assert self.kubelet.runtime is not None
        rt = self.kubelet.runtime.pods.get(p["metadata"]["uid"])
        sandbox = rt.current_sandbox() if rt is not None else None
        if sandbox is None or sandbox.state != SandboxState.READY:
            raise NotFound(f'pod "{pod}" has no running sandbox')
        return sandbox.id

    def pods(self) -> list[Obj]:
        return list(self.kubelet.by_uid.values())

    async def stats_summary(self) -> Obj:
        assert self.kubelet.cri is not None
        now = time.time()
        stamp = rfc3339(now)
        stats = await self.kubelet.cri.list_container_stats()
        by_uid: dict[str, list[Obj]] = {}
        seen = set()
        for s in stats:
            attrs = s.attributes
            uid = attrs.labels.get("io.kubernetes.pod.uid", "")
            if not uid:
                continue
            seen.add(attrs.id)
            cpu_total = int(s.cpu.usage_core_nano_seconds.value)
            sample = (s.cpu.timestamp / 1e9 if s.cpu.timestamp else now, cpu_total)
            rate = cpu_rate(self._cpu.get(attrs.id), sample)
            self._cpu[attrs.id] = sample
            cpu: Obj = {"time": stamp, "usageCoreNanoSeconds": cpu_total}
            if rate is not None:
                cpu["usageNanoCores"] = rate
            by_uid.setdefault(uid, []).append({
                "name": attrs.metadata.name, "startTime": stamp, "cpu": cpu,
                "memory": {"time": stamp, "workingSetBytes": int(s.memory.working_set_bytes.value),
                           "usageBytes": int(s.memory.usage_bytes.value), "rssBytes": int(s.memory.rss_bytes.value)}})
        for gone in set(self._cpu) - seen:
            del self._cpu[gone]
        pods = []
        for uid, containers in by_uid.items():
            pod = self.kubelet.by_uid.get(uid)
            if pod is None:
                continue
            meta = pod["metadata"]
            pods.append({
                "podRef": {"name": meta["name"], "namespace": meta["namespace"], "uid": uid},
                "startTime": (pod.get("status") or {}).get("startTime", stamp), "containers": containers,
                "cpu": {"time": stamp,
                        "usageNanoCores": sum(c["cpu"].get("usageNanoCores", 0) for c in containers),
                        "usageCoreNanoSeconds": sum(c["cpu"]["usageCoreNanoSeconds"] for c in containers)},
                "memory": {"time": stamp, "workingSetBytes": sum(c["memory"]["workingSetBytes"] for c in containers),
                           "usageBytes": sum(c["memory"]["usageBytes"] for c in containers)},
            })
        return {"node": self._node_stats(now, stamp), "pods": pods}

    def _node_stats(self, now: float, stamp: str) -> Obj:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        hz = 100
        busy = sum(int(v) for i, v in enumerate(fields[:8]) if i not in (3, 4))  # all but idle and iowait
        sample = (now, busy * (1_000_000_000 // hz))
        rate = cpu_rate(self._node_cpu, sample)
        self._node_cpu = sample
        mem = parse_meminfo(Path("/proc/meminfo").read_text())
        total, available = mem.get("MemTotal", 0), mem.get("MemAvailable", 0)
        cpu: Obj = {"time": stamp, "usageCoreNanoSeconds": sample[1]}
        if rate is not None:
            cpu["usageNanoCores"] = rate
        return {"nodeName": self.kubelet.node_name, "startTime": stamp, "cpu": cpu,
                "memory": {"time": stamp, "availableBytes": available, "usageBytes": total - available,
                           "workingSetBytes": total - available}}


def ensure_serving_cert(data_dir: Path, ca_cert: Path, ca_key: Path, *, node_name: str, address: str) -> tuple[Path, Path]:
    """The node's serving certificate for :10250, signed by the cluster CA (re-issued on each start)."""
    ca = pki.CertificateAuthority.load(ca_cert, ca_key)
    cert_pem, key_pem = pki.issue_serving_cert(ca, common_name=f"system:node:{node_name}",
                                               dns_names=[node_name, "localhost"],
                                               ip_addresses=sorted({address, "127.0.0.1"}))
    tls = data_dir / "tls"
    tls.mkdir(parents=True, exist_ok=True)
    cert, key = tls / "kubelet.crt", tls / "kubelet.key"
    key.touch(mode=0o600)
    key.write_bytes(key_pem)
    cert.write_bytes(cert_pem)
    return cert, key


async def request_serving_cert(kubelet: Kubelet) -> tuple[Path, Path]:
    """The serving certificate from a kubernetes.io/kubelet-serving CSR (a joined node has no CA key):
    kept while it still covers the node's name and address, else requested again."""
    import datetime

    from cryptography import x509

    from kybernetes.kubelet.bootstrap import SERVING_SIGNER, cert_is_usable, request_certificate

    tls = kubelet.settings.data_dir / "tls"
    tls.mkdir(parents=True, exist_ok=True)
    cert, key = tls / "kubelet.crt", tls / "kubelet.key"
    common_name = f"system:node:{kubelet.node_name}"
    if cert.exists() and key.exists() and cert_is_usable(cert.read_bytes(), common_name=common_name,
                                                         now=datetime.datetime.now(datetime.UTC)):
        current = x509.load_pem_x509_certificate(cert.read_bytes())
        if not pki.missing_sans(current, [kubelet.node_name], [kubelet.node_ip]):
            return cert, key
    private = pki.new_private_key()
    cert_pem = await request_certificate(kubelet.client, private, signer=SERVING_SIGNER,
                                         usages=("digital signature", "server auth"), common_name=common_name,
                                         organizations=("system:nodes",), dns_names=[kubelet.node_name],
                                         ip_addresses=[kubelet.node_ip])
    key.touch(mode=0o600)
    key.write_bytes(pki.key_to_pem(private))
    cert.write_bytes(cert_pem)
    return cert, key


async def start_kubelet_server(kubelet: Kubelet) -> KubeletServer:
    s = kubelet.settings
    if s.ca_cert is None:
        raise RuntimeError("the kubelet API needs --ca-cert (the cluster CA) to verify the API server")
    if s.ca_key is not None:
        cert, key = ensure_serving_cert(s.data_dir, s.ca_cert, s.ca_key, node_name=kubelet.node_name,
                                        address=kubelet.node_ip)
    else:
        cert, key = await request_serving_cert(kubelet)
    server = KubeletServer(CRIStreamingRuntime(kubelet), host="0.0.0.0", port=s.kubelet_port, tls_cert=cert,
                           tls_key=key, client_ca=s.ca_cert, metrics=kubelet.metrics.render)
    await server.start()
    return server
