"""The runtime as the planners see it: CRI sandboxes and containers folded into `RuntimePod`s.

`RuntimeView.relist()` is the kubelet's PLEG in one call: it lists sandboxes and containers (a few
ms), asks for details only of containers whose state changed since the last relist (exit codes,
reasons and times do not change once a container has exited) and of new sandboxes (their IP),
and groups everything by the pod UID label the agent wrote. Nothing else is remembered, so a
restarted agent sees exactly what the runtime has.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kybernetes.kubelet import criconfig
from kybernetes.kubelet.cri import api_pb2 as pb
from kybernetes.kubelet.cri.client import CRIClient
from kybernetes.kubelet.cri.errors import NotFound
from kybernetes.kubelet.runtime_state import (
    ContainerState,
    RuntimeContainer,
    RuntimePod,
    RuntimeSandbox,
    SandboxState,
)

IMAGE_ANNOTATION = "kybernetes.io/image"  # the image as the spec names it, for status.image
TERMINATION_LOG_ANNOTATION = "kybernetes.io/termination-log"  # host path of /dev/termination-log

_STATES = {pb.CONTAINER_CREATED: ContainerState.CREATED, pb.CONTAINER_RUNNING: ContainerState.RUNNING,
           pb.CONTAINER_EXITED: ContainerState.EXITED, pb.CONTAINER_UNKNOWN: ContainerState.UNKNOWN}
MAX_MESSAGE = 4096


def _secs(ns: int) -> float | None:
    return ns / 1e9 if ns else None


def termination_message(status: Any, annotations: Mapping[str, str], log_tail: str = "") -> str:
    """The message a terminated container leaves: its termination-log file, else (policy
    FallbackToLogsOnError and a failure) the tail of its log."""
    path = annotations.get(TERMINATION_LOG_ANNOTATION)
    if path:
        try:
            text = Path(path).read_bytes()[:MAX_MESSAGE].decode(errors="replace")
        except OSError:
            text = ""
        if text:
            return text
    if (annotations.get(criconfig.TERMINATION_MESSAGE_POLICY) == "FallbackToLogsOnError"
            and status.exit_code != 0):
        return log_tail[-MAX_MESSAGE:]
    return str(status.message or "")


class RuntimeView:
    def __init__(self, cri: CRIClient) -> None:
        self.cri = cri
        self._details: dict[str, tuple[int, RuntimeContainer]] = {}  # id -> (CRI state, folded)
        self._ips: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.pods: dict[str, RuntimePod] = {}

    async def relist(self) -> dict[str, RuntimePod]:
        sandboxes = await self.cri.list_pod_sandbox()
        containers = await self.cri.list_containers()
        pods: dict[str, RuntimePod] = {}

        def pod_for(labels: Mapping[str, str]) -> RuntimePod | None:
            uid = labels.get(criconfig.POD_UID)
            if not uid:
                return None  # not ours
            rp = pods.get(uid)
            if rp is None:
                rp = pods[uid] = RuntimePod(uid=uid, name=labels.get(criconfig.POD_NAME, ""),
                                            namespace=labels.get(criconfig.POD_NAMESPACE, ""))
            return rp

        for sb in sandboxes:
            rp = pod_for(sb.labels)
            if rp is None:
                continue
            state = SandboxState.READY if sb.state == pb.SANDBOX_READY else SandboxState.NOTREADY
            ip, extra = await self._sandbox_ips(sb.id, state)
            rp.sandboxes.append(RuntimeSandbox(id=sb.id, state=state, attempt=sb.metadata.attempt,
                                               created_at=sb.created_at / 1e9, ip=ip, additional_ips=extra))
        live = set()
        for c in containers:
            rp = pod_for(c.labels)
            if rp is None:
                continue
            live.add(c.id)
            folded = await self._container(c)
            if folded is not None:
                rp.containers.append(folded)
        for rp in pods.values():
            rp.sandboxes.sort(key=lambda s: (s.created_at, s.attempt), reverse=True)
            rp.containers.sort(key=lambda c: c.attempt, reverse=True)
        for gone in set(self._details) - live:
            del self._details[gone]
        for gone in set(self._ips) - {sb.id for sb in sandboxes}:
            del self._ips[gone]
        self.pods = pods
        return pods

    async def _sandbox_ips(self, sandbox_id: str, state: SandboxState) -> tuple[str, tuple[str, ...]]:
        cached = self._ips.get(sandbox_id)
        if cached is not None:
            return cached
        if state != SandboxState.READY:
            return "", ()
        try:
            st = (await self.cri.pod_sandbox_status(sandbox_id)).status
        except NotFound:
            return "", ()
        ips = (st.network.ip, tuple(ip.ip for ip in st.network.additional_ips))
        self._ips[sandbox_id] = ips
        return ips

    async def _container(self, c: Any) -> RuntimeContainer | None:
        cached = self._details.get(c.id)
        if cached is not None and cached[0] == c.state:
            return cached[1]
        try:
            st = (await self.cri.container_status(c.id)).status
        except NotFound:
            return None
        annotations = dict(st.annotations)
        state = _STATES.get(st.state, ContainerState.UNKNOWN)
        message = termination_message(st, annotations) if state == ContainerState.EXITED else str(st.message or "")
        folded = RuntimeContainer(
            id=st.id, name=st.metadata.name, attempt=st.metadata.attempt, state=state,
            sandbox_id=c.pod_sandbox_id, image=annotations.get(IMAGE_ANNOTATION, st.image.image),
            image_ref=st.image_ref, created_at=st.created_at / 1e9, started_at=_secs(st.started_at),
            finished_at=_secs(st.finished_at),
            exit_code=st.exit_code if state == ContainerState.EXITED else None,
            reason=str(st.reason or ""), message=message,
            spec_hash=annotations.get(criconfig.CONTAINER_HASH, ""))
        self._details[c.id] = (st.state, folded)
        return folded

    def forget(self, container_id: str) -> None:
        self._details.pop(container_id, None)


def fingerprint(rp: RuntimePod | None) -> tuple[Any, ...]:
    """What a relist compares to decide a pod changed (the PLEG's event)."""
    if rp is None:
        return ()
    return (tuple((s.id, s.state) for s in rp.sandboxes),
            tuple((c.id, c.state, c.exit_code) for c in rp.containers))
