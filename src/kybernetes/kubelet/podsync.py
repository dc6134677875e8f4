"""One pod's sync: plan with the pure planners, act through CRI, report the status.

Theory of operation. `PodSyncer.sync(pod, rt)` is level-triggered and idempotent: it reads the
pod (as the API shows it) and the runtime's view of it (`RuntimePod`), asks `compute_pod_actions`
what to do, does it, relists and posts the status `generate_pod_status` derives. It returns when
it wants to be called again (a backoff ending, a grace period) or None.

Invariants:
1. Everything the agent needs to find its pods again is on the runtime objects (labels and
   annotations from `criconfig`), so a restarted agent adopts running containers untouched.
2. A pod with a deletionTimestamp is only ever torn down (preStop, SIGTERM, SIGKILL at the grace
   period), then its API object is deleted with grace 0 and a UID precondition.
3. Volumes and the pod cgroup exist before the sandbox; they are removed only after the sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kybernetes.kubelet import criconfig
from kybernetes.kubelet.cri import api_pb2 as pb
from kybernetes.kubelet.cri.client import CRIClient
from kybernetes.kubelet.cri.errors import CRIError, NotFound
from kybernetes.kubelet.runtime import IMAGE_ANNOTATION, TERMINATION_LOG_ANNOTATION, RuntimeView
from kybernetes.kubelet.runtime_state import ContainerState, RuntimePod, SandboxState

log = logging.getLogger("kyb.kubelet")
MIN_GRACE_SECONDS = 2
# After a failed pull upstream's pod worker waits ~10 s before the next sync, so ErrImagePull is what
# `kubectl get pod` shows for a while; our syncs also wake on the status echo, so hold it explicitly.
PULL_ERROR_HOLD = 5.0


def grpc_error_text(e: CRIError) -> str:
    """A CRI error as Go's gRPC client prints it (upstream puts that text into waiting.message)."""
    code = "".join(part.capitalize() for part in e.code.split("_"))
    return f"rpc error: code = {code} desc = {e.message}"
Obj = dict[str, Any]


def kill_timeout(grace: int) -> float:
    """How long an eviction waits for its pod kill before telling ExceededGracePeriod: one and a
    half grace periods, never under 10 s (the time the runtime needs even for SIGKILL)."""
    return float(max(grace + grace // 2, 10))


def all_terminated(pod: Obj) -> bool:
    """Every container status the API shows for the pod is terminated (nothing left to report)."""
    status = pod.get("status") or {}
    return all("terminated" in (c.get("state") or {})
               for key in ("initContainerStatuses", "containerStatuses") for c in status.get(key) or [])


@dataclass
class SyncContext:
    """What a sync needs from the rest of the agent (all injected, so tests can fake any of it)."""

    cri: CRIClient
    runtime: RuntimeView
    logs_root: Path
    pods_root: Path
    cluster_dns: list[str]
    cluster_domain: str
    host_resolv: Obj
    node_ip: str
    node_allocatable: Obj
    memory_capacity: int
    post_status: Callable[[Obj, Obj], Awaitable[None]]
    delete_pod: Callable[[Obj], Awaitable[None]]
    get_configmap: Callable[[str, str], Obj | None]
    get_secret: Callable[[str, str], Obj | None]
    services: Callable[[str], list[Obj]]
    volumes: Any = None       # VolumeManager
    cgroups: Any = None       # CgroupManager
    prober: Any = None        # ProbeManager
    pull_credentials: Callable[[str, Obj], tuple[str, str] | None] | None = None
    waiting: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)  # uid -> name -> reason
    events: Any = None        # kubelet.events.KubeletEvents (None: no events)


class PodSyncer:
    def __init__(self, ctx: SyncContext) -> None:
        from kybernetes.kubelet.backoff import CrashLoopBackoff

        self.ctx = ctx
        self.backoff = CrashLoopBackoff()
        self.pull_backoff = CrashLoopBackoff()
        self.pull_errors: dict[str, tuple[float, str]] = {}  # pull back-off key -> (when, message)
        self.terminating: set[str] = set()
        self._kills: set[asyncio.Future[None]] = set()  # eviction kills still running (kill_pod_now)
        self.volume_paths: dict[str, dict[str, Path]] = {}  # uid -> volume name -> host path
        from kybernetes.kubelet.events import KubeletEvents

        self.events: KubeletEvents = ctx.events if ctx.events is not None else KubeletEvents(None)

    # --- entry point ------------------------------------------------------------------------------
    async def sync(self, pod: Obj | None, rt: RuntimePod | None) -> float | None:
        if pod is None:
            if rt is not None:  # the API object is gone (force-deleted): stop what is left
                await self.kill_runtime_pod(rt, grace=2)
                await self.cleanup(rt.uid)
            return None
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            return await self.terminate(pod, rt)
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            if rt is not None and (any(c.state == ContainerState.RUNNING for c in rt.containers)
                                   or any(s.state == SandboxState.READY for s in rt.sandboxes)):
                await self.kill_runtime_pod(rt, grace=int(pod["spec"].get("terminationGracePeriodSeconds", 30)))
            if rt is not None or not all_terminated(pod):  # e.g. evicted: show how its containers ended
                await self.report(pod, {}, terminal=True)
            return None
        return await self.run(pod, rt)

    # --- running ------------------------------------------------------------------------------------
    async def run(self, pod: Obj, rt: RuntimePod | None) -> float | None:
        from kybernetes.kubelet.actions import compute_pod_actions

        uid = pod["metadata"]["uid"]
        rt = await self.restart_unhealthy(pod, rt)
        now = time.time()
        actions = compute_pod_actions(pod, rt, now=now, backoff=self.backoff)
        from kybernetes.kubelet import events as ev

        self.events.planned(pod, ev.sync_plan_events(pod, rt, actions))
        waiting: dict[str, tuple[str, str]] = dict(actions.backoff_waiting)
        grace = int(pod["spec"].get("terminationGracePeriodSeconds", 30))
        if actions.kill_pod and rt is not None:
            try:
                await self.kill_runtime_pod(rt, grace=grace)
            except CRIError as e:
                self.events.pod(pod, ev.WARNING, ev.FAILED_KILL_POD, f"error killing pod: {grpc_error_text(e)}")
                raise
        sandbox_id = actions.sandbox_id
        sandbox_config = None
        if actions.create_sandbox or actions.containers_to_start or actions.ephemeral_to_start:
            try:
                sandbox_config = await self.sandbox_config(pod, actions.sandbox_attempt)
            except Exception as e:  # volumes or config could not be prepared
                log.warning("pod %s/%s: %s", pod["metadata"]["namespace"], pod["metadata"]["name"], e)
                self.events.planned(pod, ev.mount_failure_events(getattr(e, "failures", None) or {}))
                for c in pod["spec"].get("containers") or []:
                    waiting[c["name"]] = ("ContainerCreating", str(e))
                await self.report(pod, waiting)
                return 2.0
        if actions.create_sandbox and sandbox_config is not None:
            try:
                sandbox_id = await self.ctx.cri.run_pod_sandbox(criconfig.to_proto(sandbox_config, pb.PodSandboxConfig()))
                await self.ctx.runtime.relist()  # its IP, for the environment and probes
            except CRIError as e:
                log.warning("RunPodSandbox %s: %s", uid, e)
                self.events.pod(pod, ev.WARNING, ev.FAILED_CREATE_POD_SANDBOX,
                                f"Failed to create pod sandbox: {grpc_error_text(e)}", throttle=True)
                await self.report(pod, waiting)
                return 2.0
        for cid in actions.containers_to_kill:
            await self.stop_container(pod, cid, grace)
        retry: float | None = None
        for name in actions.ephemeral_to_start:
            if not sandbox_id or sandbox_config is None:
                break
            problem = await self.start_container(pod, name, False, 0, sandbox_id, sandbox_config)
            if problem is not None:  # (ephemeral containers first, as upstream; never restarted)
                waiting[name] = problem
                self.events.planned(pod, [f for f in [ev.start_failure_event(name, *problem)] if f])
                retry = 2.0
        for start in actions.containers_to_start:
            if not sandbox_id or sandbox_config is None:
                break
            problem = await self.start_container(pod, start.name, start.init, start.attempt, sandbox_id, sandbox_config)
            if problem is not None:
                waiting[start.name] = problem
                self.events.planned(pod, [f for f in [ev.start_failure_event(start.name, *problem)] if f])
                retry = 2.0
            elif start.init:
                break  # init containers one at a time: the next sync looks at its result
        actions.record_backoff(self.backoff, time.time())
        self.ctx.waiting[uid] = waiting
        await self.report(pod, waiting)
        delays = [d for d in (retry, *self.backoff_left(pod, actions.backoff_waiting)) if d]
        return min(delays) if delays else None

    def backoff_left(self, pod: Obj, waiting: dict[str, tuple[str, str]]) -> list[float]:
        """Seconds until each crash-looping container may start again (when to sync next)."""
        from kybernetes.kubelet.actions import backoff_key, container_spec_hash

        spec = pod["spec"]
        out = []
        for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            if c["name"] in waiting:
                left = self.backoff.in_backoff(backoff_key(pod, c, container_spec_hash(c)), time.time())
                out.append((left or 0.0) + 0.05)
        return out

    async def restart_unhealthy(self, pod: Obj, rt: RuntimePod | None) -> RuntimePod | None:
        """Stop containers whose liveness probe failed; the planner then restarts them per policy."""
        prober = self.ctx.prober
        if prober is None:
            return rt
        uid = pod["metadata"]["uid"]
        prober.add_pod(pod)
        if rt is None:
            return rt
        sandbox = rt.current_sandbox()
        if sandbox is not None and sandbox.ip:
            prober.set_pod_ip(uid, sandbox.ip)
        for c in rt.containers:  # the same id again is a no-op; after an agent restart it adopts
            if rt.latest(c.name) is c:
                running = c.state == ContainerState.RUNNING
                prober.update_container(uid, c.name, c.id if running else None, c.started_at if running else None)
        failed = [c for c in rt.containers if c.state == ContainerState.RUNNING and prober.liveness_failed(uid, c.name)
                  and rt.latest(c.name) is c]
        if not failed:
            return rt
        grace = int(pod["spec"].get("terminationGracePeriodSeconds", 30))
        for c in failed:
            log.info("pod %s: container %s failed its liveness probe, restarting", pod["metadata"]["name"], c.name)
            from kybernetes.kubelet.events import KILLING, NORMAL, probe_kill_message

            failure = prober.probe_failure(uid, c.name)
            kind = failure.probe_type.value if failure is not None else "Liveness"
            self.events.container(pod, c.name, NORMAL, KILLING, probe_kill_message(pod, c.name, kind))
            await self.stop_container(pod, c.id, grace)
            prober.update_container(uid, c.name, None, None)
        return (await self.ctx.runtime.relist()).get(uid)

    async def sandbox_config(self, pod: Obj, attempt: int) -> Obj:
        cgroup_parent = ""
        if self.ctx.cgroups is not None:
            cgroup_parent = self.ctx.cgroups.ensure_pod(pod)
        if self.ctx.volumes is not None:
            self.volume_paths[pod["metadata"]["uid"]] = await self.ctx.volumes.setup_pod(pod)
        dns = criconfig.dns_config(pod, cluster_dns=self.ctx.cluster_dns, cluster_domain=self.ctx.cluster_domain,
                                   host_resolv=self.ctx.host_resolv)
        return criconfig.sandbox_config(pod, attempt=attempt, logs_root=str(self.ctx.logs_root),
                                        cgroup_parent=cgroup_parent, dns=dns)

    async def start_container(self, pod: Obj, name: str, init: bool, attempt: int, sandbox_id: str,
                              sandbox_config: Obj) -> tuple[str, str] | None:
        """Pull, create and start one container; a (reason, message) waiting state on failure."""
        from kybernetes.kubelet.envvars import CreateContainerConfigError, expand_command, make_environment
        from kybernetes.kubelet.resources import container_linux_resources

        spec = pod["spec"]
        uid = pod["metadata"]["uid"]
        container = next(c for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or []),
                                     *(spec.get("ephemeralContainers") or [])] if c["name"] == name)
        image = container.get("image") or ""
        pulled = await self.ensure_image(pod, container)
        if isinstance(pulled, tuple):
            return pulled
        rt = self.ctx.runtime.pods.get(uid)
        sandbox = rt.current_sandbox() if rt is not None else None
        pod_ip = sandbox.ip if sandbox is not None else ""
        target = str(container.get("targetContainerName") or "")  # an ephemeral container's
        target_instance = rt.latest(target) if target and rt is not None else None
        if target and target_instance is None:
            return ("CreateContainerConfigError", f"unable to find target container {target}")
        try:
            env = make_environment(pod, container, configmaps=lambda n: self.ctx.get_configmap(pod["metadata"]["namespace"], n),
                                   secrets=lambda n: self.ctx.get_secret(pod["metadata"]["namespace"], n),
                                   service_env=self._service_env(pod), node_ip=self.ctx.node_ip, pod_ip=pod_ip,
                                   pod_ips=[pod_ip] if pod_ip else [], host_ip=self.ctx.node_ip,
                                   node_allocatable=self.ctx.node_allocatable)
        except CreateContainerConfigError as e:
            return ("CreateContainerConfigError", str(e))
        command, args = expand_command(list(container.get("command") or []), list(container.get("args") or []), env)
        log_dir = Path(sandbox_config["log_directory"]) / name
        log_dir.mkdir(parents=True, exist_ok=True)  # pitfall 14
        term_log = self.ctx.pods_root / uid / "containers" / name / str(attempt)
        try:
            mounts = await self.mounts(pod, container, env, term_log, pod_ip)
        except Exception as e:
            return ("CreateContainerConfigError", str(e))
        resources = container_linux_resources(pod, container, memory_capacity_bytes=self.ctx.memory_capacity)
        config = criconfig.container_config(pod, container, attempt=attempt, image_ref=pulled, command=command,
                                            args=args, env=env, mounts=mounts, resources=resources, init=init,
                                            target_id=target_instance.id if target_instance else "")
        config["annotations"][IMAGE_ANNOTATION] = image
        config["annotations"][TERMINATION_LOG_ANNOTATION] = str(term_log)
        try:
            cid = await self.ctx.cri.create_container(sandbox_id, criconfig.to_proto(config, pb.ContainerConfig()),
                                                      criconfig.to_proto(sandbox_config, pb.PodSandboxConfig()))
        except CRIError as e:
            return ("CreateContainerError", e.message)  # the gRPC status message, as upstream
        from kybernetes.kubelet import events as ev

        self.events.container(pod, name, ev.NORMAL, ev.CREATED, f"Created container: {name}")
        try:
            await self.ctx.cri.start_container(cid)
        except CRIError as e:
            return ("RunContainerError", e.message)  # the gRPC status message, as upstream
        self.events.container(pod, name, ev.NORMAL, ev.STARTED, f"Started container {name}")
        if self.ctx.prober is not None:
            self.ctx.prober.update_container(uid, name, cid, time.time())
        post_start = ((container.get("lifecycle") or {}).get("postStart"))
        if post_start:
            from kybernetes.kubelet.prober.lifecycle import run_handler

            error = await run_handler(post_start, pod, container, cid, exec_sync=self.ctx.cri.exec_sync,
                                      pod_ip=pod_ip)
            if error:
                self.events.container(pod, name, ev.WARNING, ev.FAILED_POST_START_HOOK, error)
                self.events.container(pod, name, ev.NORMAL, ev.KILLING, ev.FAILED_POST_START_HOOK)
                await self.stop_container(pod, cid, int(spec.get("terminationGracePeriodSeconds", 30)))
                return ("PostStartHookError", error)
        return None

    def _service_env(self, pod: Obj) -> dict[str, str]:
        from kybernetes.kubelet.envvars import service_env_vars

        ns = pod["metadata"]["namespace"]
        links = pod["spec"].get("enableServiceLinks", True)
        services = list(self.ctx.services(ns)) + [s for s in self.ctx.services("default")
                                                   if s["metadata"]["name"] == "kubernetes" and ns != "default"]
        return service_env_vars(services, ns, links)

    async def mounts(self, pod: Obj, container: Obj, env: list[tuple[str, str]], term_log: Path,
                     pod_ip: str) -> list[Obj]:
        from kybernetes.kubelet.volumes.container_mounts import container_mounts

        uid = pod["metadata"]["uid"]
        paths = self.volume_paths.get(uid)
        if paths is None and self.ctx.volumes is not None:  # an agent restart: volumes exist, set up again
            paths = self.volume_paths[uid] = await self.ctx.volumes.setup_pod(pod)
        specs = container_mounts(pod, container, paths or {}, self.ctx.pods_root / uid, env=dict(env),
                                 pod_ips=[pod_ip] if pod_ip else [], termination_log_path=term_log,
                                 cluster_domain=self.ctx.cluster_domain)
        return [criconfig.mount_entry(m.container_path, str(m.host_path), readonly=m.readonly,
                                      propagation=int(m.propagation)) for m in specs]

    async def ensure_image(self, pod: Obj, container: Obj) -> str | tuple[str, str]:
        """The image reference to create from, or a (reason, message) waiting state."""
        image = container.get("image") or ""
        uid = pod["metadata"]["uid"]
        key = f"{uid}/{container['name']}/image"
        policy = container.get("imagePullPolicy") or "IfNotPresent"
        from kybernetes.kubelet import events as ev

        name = str(container.get("name", ""))
        present = await self.ctx.cri.image_status(image)
        if present is not None and policy != "Always":
            self.events.container(pod, name, ev.NORMAL, ev.PULLED, ev.present_message(image))
            return str(present.id)
        if policy == "Never":
            self.events.container(pod, name, ev.WARNING, ev.ERR_IMAGE_NEVER_PULL, ev.never_pull_message(image),
                                  throttle=True)
            return ("ErrImageNeverPull", f'Container image "{image}" is not present with pull policy of Never')
        left = self.pull_backoff.in_backoff(key, time.time())
        if left:
            failed_at, error = self.pull_errors.get(key, (0.0, ""))
            if time.time() - failed_at < PULL_ERROR_HOLD:
                return ("ErrImagePull", error)
            self.events.container(pod, name, ev.NORMAL, ev.BACK_OFF, ev.pull_backoff_message(image), throttle=True)
            # Since 1.32 the back-off message carries the last pull error.
            return ("ImagePullBackOff", f'Back-off pulling image "{image}"' + (f": ErrImagePull: {error}" if error else ""))
        auth = None
        if self.ctx.pull_credentials is not None:
            creds = self.ctx.pull_credentials(image, pod)
            if creds is not None:
                auth = pb.AuthConfig(username=creds[0], password=creds[1])
        self.events.container(pod, name, ev.NORMAL, ev.PULLING, ev.pulling_message(image))
        began = time.monotonic()
        try:
            ref = await self.ctx.cri.pull_image(image, auth)
        except CRIError as e:
            self.pull_backoff.record_failure(key, time.time())
            self.pull_errors[key] = (time.time(), grpc_error_text(e))
            self.events.container(pod, name, ev.WARNING, ev.FAILED, ev.pull_failed_message(image, grpc_error_text(e)))
            return ("ErrImagePull", grpc_error_text(e))
        took = time.monotonic() - began
        self.pull_backoff.forget(key)
        self.pull_errors.pop(key, None)
        size = 0
        with contextlib.suppress(CRIError):
            pulled = await self.ctx.cri.image_status(ref or image)
            size = int(pulled.size) if pulled is not None else 0
        # pulls do not queue behind each other here: the time including waiting is the pull's own
        self.events.container(pod, name, ev.NORMAL, ev.PULLED, ev.pulled_message(image, took, took, size))
        return ref

    # --- stopping -----------------------------------------------------------------------------------
    async def stop_container(self, pod: Obj | None, container_id: str, grace: int) -> None:
        """preStop hook (bounded by the grace period), then SIGTERM and SIGKILL at the deadline."""
        began = time.monotonic()
        if pod is not None:
            rt = self.ctx.runtime.pods.get(pod["metadata"]["uid"])
            cont = next((c for c in rt.containers if c.id == container_id), None) if rt else None
            spec = next((c for c in pod["spec"].get("containers") or [] if cont and c["name"] == cont.name), None)
            pre_stop = ((spec or {}).get("lifecycle") or {}).get("preStop")
            if pre_stop and cont is not None and cont.state == ContainerState.RUNNING:
                from kybernetes.kubelet.prober.lifecycle import run_handler

                try:
                    error = await asyncio.wait_for(run_handler(pre_stop, pod, spec or {}, container_id,
                                                               exec_sync=self.ctx.cri.exec_sync, pod_ip=""),
                                                   timeout=grace)
                    if error and cont is not None:
                        from kybernetes.kubelet.events import FAILED_PRE_STOP_HOOK, WARNING

                        self.events.container(pod, cont.name, WARNING, FAILED_PRE_STOP_HOOK, error)
                except (TimeoutError, Exception) as e:
                    log.info("preStop of %s: %s", container_id[:12], e)
        # What the preStop hook used comes off the grace period; upstream never goes below 2 s.
        spent = time.monotonic() - began
        left = grace if spent < 0.5 else max(math.ceil(grace - spent), MIN_GRACE_SECONDS)
        with contextlib.suppress(NotFound):
            await self.ctx.cri.stop_container(container_id, left)
        self.ctx.runtime.forget(container_id)

    async def kill_runtime_pod(self, rt: RuntimePod, *, grace: int, pod: Obj | None = None) -> None:
        running = [c for c in rt.containers if c.state in (ContainerState.RUNNING, ContainerState.CREATED)]
        await asyncio.gather(*(self.stop_container(pod, c.id, grace) for c in running))
        for sb in rt.sandboxes:
            if sb.state == SandboxState.READY:
                with contextlib.suppress(NotFound):
                    await self.ctx.cri.stop_pod_sandbox(sb.id)

    async def kill_pod_now(self, pod: Obj, rt: RuntimePod, *, grace: int, timeout: float | None = None) -> bool:
        """An eviction's kill: wait for it at most `kill_timeout`; past that tell ExceededGracePeriod
        and return False, the kill going on in the background (the eviction moves on)."""
        kill = asyncio.ensure_future(self.kill_runtime_pod(rt, grace=grace))
        self._kills.add(kill)
        kill.add_done_callback(self._kill_done)
        try:
            await asyncio.wait_for(asyncio.shield(kill), kill_timeout(grace) if timeout is None else timeout)
            return True
        except TimeoutError:
            from kybernetes.kubelet import events as ev

            self.events.pod(pod, ev.WARNING, ev.EXCEEDED_GRACE_PERIOD, ev.EXCEEDED_GRACE_PERIOD_MESSAGE)
            return False

    def _kill_done(self, kill: asyncio.Future[None]) -> None:
        self._kills.discard(kill)
        if not kill.cancelled() and kill.exception() is not None:
            log.warning("killing pod: %s", kill.exception())

    async def terminate(self, pod: Obj, rt: RuntimePod | None) -> float | None:
        uid = pod["metadata"]["uid"]
        if uid in self.terminating:
            return None
        self.terminating.add(uid)
        try:
            grace = pod["metadata"].get("deletionGracePeriodSeconds")
            if grace is None:
                grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
            if rt is not None:
                from kybernetes.kubelet.events import kill_pod_events

                self.events.planned(pod, kill_pod_events(rt))
                await self.kill_runtime_pod(rt, grace=int(grace), pod=pod)
            rt = (await self.ctx.runtime.relist()).get(uid)
            if rt is not None:
                await self.report(pod, {})
            await self.cleanup(uid)
            await self.ctx.delete_pod(pod)
        finally:
            self.terminating.discard(uid)
        return None

    async def cleanup(self, uid: str) -> None:
        """Remove the pod's containers, sandboxes, volumes and cgroup (after everything stopped)."""
        rt = (await self.ctx.runtime.relist()).get(uid)
        if rt is not None:
            for c in rt.containers:
                with contextlib.suppress(NotFound):
                    await self.ctx.cri.remove_container(c.id)
            for sb in rt.sandboxes:
                try:
                    await self.ctx.cri.stop_pod_sandbox(sb.id)
                    await self.ctx.cri.remove_pod_sandbox(sb.id)
                except NotFound:
                    pass
        if self.ctx.prober is not None:
            self.ctx.prober.remove_pod(uid)
        for key in [k for k in self.pull_errors if k.startswith(uid + "/")]:
            del self.pull_errors[key]
        if self.ctx.volumes is not None:
            await self.ctx.volumes.teardown_pod(uid)
        if self.ctx.cgroups is not None:
            self.ctx.cgroups.remove_pod(uid)
        self.backoff.gc(time.time())
        self.ctx.waiting.pop(uid, None)
        self.volume_paths.pop(uid, None)
        self.events.forget_pod(uid)

    # --- status -------------------------------------------------------------------------------------
    async def report(self, pod: Obj, waiting: dict[str, tuple[str, str]], *, terminal: bool = False) -> None:
        """Post the status generate_pod_status derives (``terminal``: the pod's phase is final and
        its containers were stopped, so each must show terminated)."""
        from kybernetes.kubelet.status import generate_pod_status

        uid = pod["metadata"]["uid"]
        rt = (await self.ctx.runtime.relist()).get(uid)
        prober = self.ctx.prober
        status = generate_pod_status(
            pod, rt, now=time.time(),
            probe_ready=(lambda n: prober.readiness(uid, n)) if prober is not None else (lambda n: None),
            probe_started=(lambda n: prober.started(uid, n)) if prober is not None else (lambda n: None),
            waiting=waiting, host_ip=self.ctx.node_ip, host_ips=[self.ctx.node_ip],
            pod_is_terminal=terminal and not any(c.state == ContainerState.RUNNING for c in (rt.containers if rt else [])))
        if status != pod.get("status"):
            await self.ctx.post_status(pod, status)
