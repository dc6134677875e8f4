"""The HorizontalPodAutoscaler loop's executor: read scale, pods and usage; ask the pure parts; write.

Each HPA is synced every `sync_period` seconds (upstream's 15 s resync): any informer event and
every finished sync put its key back with that delay, and the work queue keeps only the earliest
pending time, so an HPA is never synced more often than that by its own writes. A sync
(upstream reconcileAutoscaler):

1. resolve ``spec.scaleTargetRef`` to a resource through discovery (built-in kinds and custom
   resources alike) and GET its ``/scale`` subresource;
2. `decide.bounds`, then, if metrics count, the pods the scale's selector picks (informer cache)
   and one PodMetrics answer, evaluated by `evaluate.evaluate_metrics`;
3. `decide.plan_sync` gives the new size; a change is PUT to ``/scale``;
4. the status is rebuilt and written only when it differs.

The recommendation and scale-event history lives in memory, per HPA key, as upstream's does.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kybernetes.client import APIClient, EventRecorder, Informer, ResourceRef, resource
from kybernetes.client.errors import APIError, is_conflict, is_not_found
from kybernetes.client.rest import resource_path
from kybernetes.client.store import NAMESPACE_INDEX, index_by_namespace, meta_namespace_key, split_key
from kybernetes.client.workqueue import WorkQueue
from kybernetes.controllers.manager import ControllerContext, register
from kybernetes.controllers.podautoscaler import behavior as beh
from kybernetes.controllers.podautoscaler.conditions import ABLE_TO_SCALE, set_condition
from kybernetes.controllers.podautoscaler.decide import bounds, final_status, plan_sync, record_rescale
from kybernetes.controllers.podautoscaler.evaluate import (
    Event,
    MetricsVerdict,
    evaluate_metrics,
    needs_pod_metrics,
)
from kybernetes.controllers.podautoscaler.metricsource import PodMetricsSource, PodUsage, RESTPodMetrics
from kybernetes.controllers.podautoscaler.replicas import CalculatorSettings, MetricError
from kybernetes.controllers.rfc3339 import fmt
from kybernetes.machinery.labels import Selector, parse_selector

log = logging.getLogger("kyb.controllers.podautoscaler")

Obj = dict[str, Any]
HPAS = resource("autoscaling/v2", "horizontalpodautoscalers")
PODS = resource("v1", "pods")
COMPONENT = "horizontal-pod-autoscaler"
DISCOVERY_TTL = 30.0
SCALE_CONFLICT_RETRIES = 5


@dataclass(frozen=True, slots=True)
class HPASettings:
    sync_period: float = 15.0  # upstream --horizontal-pod-autoscaler-sync-period
    downscale_stabilization: float = beh.DEFAULT_DOWNSCALE_STABILIZATION
    calculator: CalculatorSettings = field(default_factory=CalculatorSettings)


class TargetError(Exception):
    """The scale target could not be resolved or read; the text is upstream's error text."""


class HorizontalController:
    def __init__(
        self,
        client: APIClient,
        hpas: Informer,
        pods: Informer,
        recorder: EventRecorder,
        metrics: PodMetricsSource,
        *,
        settings: HPASettings | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.hpas = hpas
        self.pods = pods
        self.recorder = recorder
        self.metrics = metrics
        self.settings = settings or HPASettings()
        self.now = now
        self.queue: WorkQueue[str] = WorkQueue(name="horizontalpodautoscaler")
        self.history: dict[str, beh.History] = {}
        self.selectors: dict[str, Selector] = {}  # HPA key -> its target's pod selector, once known
        self._discovery: dict[str, tuple[float, list[Obj]]] = {}
        hpas.add_handlers(
            on_add=self._enqueue, on_update=lambda _old, new: self._enqueue(new), on_delete=self._deleted
        )

    # --- queue ---------------------------------------------------------------------------------
    def _enqueue(self, hpa: Obj) -> None:
        self.queue.add_after(meta_namespace_key(hpa), self.settings.sync_period)

    def _deleted(self, hpa: Obj) -> None:
        key = meta_namespace_key(hpa)
        self.history.pop(key, None)
        self.selectors.pop(key, None)

    async def run(self) -> None:
        try:
            while True:
                key = await self.queue.get()
                try:
                    await self.sync(key)
                finally:
                    self.queue.done(key)
        finally:
            self.queue.shutdown()

    async def sync(self, key: str) -> None:
        cached = self.hpas.store.get(key)
        if cached is None:
            self.history.pop(key, None)
            self.selectors.pop(key, None)
            return
        try:
            await self.reconcile(key, copy.deepcopy(cached))
        except Exception:
            log.warning("horizontal-pod-autoscaler: sync %s failed", key, exc_info=True)
        self.queue.add_after(key, self.settings.sync_period)

    # --- events --------------------------------------------------------------------------------
    def _event(self, hpa: Obj, ev: Event) -> None:
        obj = {**hpa, "kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v2"}
        self.recorder.event(obj, *ev)

    # --- the scale target ----------------------------------------------------------------------
    async def _resources(self, group_version: str) -> list[Obj]:
        hit = self._discovery.get(group_version)
        if hit is not None and self.now() - hit[0] < DISCOVERY_TTL:
            return hit[1]
        path = f"/apis/{group_version}" if "/" in group_version else f"/api/{group_version}"
        try:
            answer = await self.client.request("GET", path)
            found = [r for r in answer.get("resources") or [] if isinstance(r, dict)]
        except APIError:
            found = []
        self._discovery[group_version] = (self.now(), found)
        return found

    async def _preferred_version(self, group: str) -> str:
        if not group:
            return "v1"
        try:
            answer = await self.client.request("GET", f"/apis/{group}")
        except APIError:
            return ""
        return str((answer.get("preferredVersion") or {}).get("groupVersion") or "")

    async def _scale_resource(self, api_version: str, kind: str) -> ResourceRef:
        """The resource serving `kind`: in the given version, else in its group's preferred one
        (upstream maps the group and kind, whatever version the reference names)."""
        group = api_version.rpartition("/")[0]
        found = await self._find_kind(api_version, kind)
        if found is None:
            preferred = await self._preferred_version(group)
            if preferred and preferred != api_version:
                found = await self._find_kind(preferred, kind)
        if found is None:
            raise TargetError(f'no matches for kind "{kind}" in group "{group}"')
        return found

    async def _find_kind(self, group_version: str, kind: str) -> ResourceRef | None:
        for r in await self._resources(group_version):
            name = str(r.get("name") or "")
            if r.get("kind") == kind and "/" not in name:
                g, _, v = group_version.rpartition("/")
                return ResourceRef(g, v, name, bool(r.get("namespaced")), kind)
        self._discovery.pop(group_version, None)  # a kind we did not find may be a CRD that just arrived
        return None

    async def _get_scale(self, target: ResourceRef, namespace: str, name: str) -> Obj:
        try:
            scale = await self.client.get_subresource(target, name, "scale", namespace=namespace)
        except APIError as e:
            raise TargetError(e.message or str(e)) from None
        if not isinstance(scale, dict):
            raise TargetError("unexpected answer for the scale subresource")
        return scale

    async def _set_scale(
        self, target: ResourceRef, namespace: str, name: str, scale: Obj, replicas: int
    ) -> None:
        for attempt in range(SCALE_CONFLICT_RETRIES):
            body = {**scale, "spec": {**(scale.get("spec") or {}), "replicas": replicas}}
            path = resource_path(target, namespace=namespace, name=name, subresource="scale")
            try:
                await self.client.request("PUT", path, body=body)
                return
            except APIError as e:
                if not is_conflict(e) or attempt == SCALE_CONFLICT_RETRIES - 1:
                    raise
                scale = await self._get_scale(target, namespace, name)

    # --- sync ----------------------------------------------------------------------------------
    async def reconcile(self, key: str, hpa: Obj) -> None:
        namespace, _ = split_key(key)
        ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        kind, name = str(ref.get("kind") or ""), str(ref.get("name") or "")
        api_version = str(ref.get("apiVersion") or "")
        now, now_text = self.now(), fmt_now(self.now())
        try:
            if api_version.count("/") > 1:
                raise TargetError(f"unexpected GroupVersion string: {api_version}")
            target = await self._scale_resource(api_version or "v1", kind)
            scale = await self._get_scale(target, namespace, name)
        except TargetError as e:
            self._event(hpa, ("Warning", "FailedGetScale", str(e)))
            status = dict(hpa.get("status") or {})
            set_condition(
                status,
                ABLE_TO_SCALE,
                False,
                "FailedGetScale",
                f"the HPA controller was unable to get the target's current scale: {e}",
                now=now_text,
            )
            await self._write_status(hpa, status)
            return
        current = int((scale.get("spec") or {}).get("replicas") or 0)
        history = self.history.setdefault(key, beh.History())
        pre = bounds(hpa, current)
        verdict = await self._verdict(key, hpa, scale, current, now) if pre.needs_metrics else None
        plan = plan_sync(
            hpa,
            current=current,
            pre=pre,
            verdict=verdict,
            history=history,
            now=now,
            now_text=now_text,
            downscale_window=self.settings.downscale_stabilization,
        )
        for ev in plan.events:
            self._event(hpa, ev)
        scaled_at: str | None = None
        if plan.rescale and not plan.failed:
            error: str | None = None
            try:
                await self._set_scale(target, namespace, name, scale, plan.desired)
            except APIError as e:
                error = e.message or str(e)
            for ev in record_rescale(
                plan, hpa, history, current=current, now=now, now_text=now_text, error=error
            ):
                self._event(hpa, ev)
            if error is None:
                scaled_at = now_text
                log.info(
                    "HPA %s rescaled %s from %d to %d: %s", key, name, current, plan.desired, plan.reason
                )
        await self._write_status(hpa, final_status(hpa, plan, current=current, scaled_at=scaled_at))

    async def _verdict(self, key: str, hpa: Obj, scale: Obj, current: int, now: float) -> MetricsVerdict:
        namespace = (hpa.get("metadata") or {}).get("namespace") or ""
        text = str((scale.get("status") or {}).get("selector") or "")
        if not text:
            msg = "the HPA target's scale is missing a selector"
            return MetricsVerdict(
                None,
                "",
                [],
                "selector is required",
                (False, "InvalidSelector", msg),
                [("Warning", "SelectorRequired", "selector is required")],
            )
        try:
            selector = parse_selector(text)
        except Exception as e:
            msg = f"couldn't convert selector into a corresponding internal selector object: {e}"
            return MetricsVerdict(
                None, "", [], msg, (False, "InvalidSelector", msg), [("Warning", "InvalidSelector", msg)]
            )
        self.selectors[key] = selector
        pods = [
            p
            for p in self.pods.store.by_index(NAMESPACE_INDEX, namespace)
            if selector.matches((p.get("metadata") or {}).get("labels") or {})
        ]
        others = self._other_hpas(key, namespace, pods)
        if others:
            msg = f"pods by selector {text} are controlled by multiple HPAs: [{' '.join(sorted([key, *others]))}]"
            return MetricsVerdict(
                None, "", [], msg, (False, "AmbiguousSelector", msg), [("Warning", "AmbiguousSelector", msg)]
            )
        specs = [m for m in (hpa.get("spec") or {}).get("metrics") or [] if isinstance(m, Mapping)]
        usage: dict[str, PodUsage] | MetricError = {}
        if needs_pod_metrics(specs):
            try:
                usage = await self.metrics.pod_metrics(namespace, text)
            except MetricError as e:
                usage = e
        return evaluate_metrics(
            specs,
            current=current,
            pods=pods,
            usage=usage,
            namespace=namespace,
            now=now,
            settings=self.settings.calculator,
        )

    def _other_hpas(self, key: str, namespace: str, pods: list[Obj]) -> list[str]:
        out = []
        for other, selector in self.selectors.items():
            if other == key or split_key(other)[0] != namespace or other not in self.hpas.store:
                continue
            if any(selector.matches((p.get("metadata") or {}).get("labels") or {}) for p in pods):
                out.append(other)
        return out

    async def _write_status(self, hpa: Obj, status: Obj) -> None:
        if status == (hpa.get("status") or {}):
            return
        body = {**hpa, "status": status}
        try:
            await self.client.update_status(HPAS, body)
        except APIError as e:
            if is_not_found(e):
                return
            if not is_conflict(e):
                self._event(hpa, ("Warning", "FailedUpdateStatus", e.message or str(e)))
                raise
            # Our cached copy is older than the stored one: put the same status on the fresh object.
            fresh = await self.client.get(
                HPAS,
                (hpa.get("metadata") or {}).get("name") or "",
                namespace=(hpa.get("metadata") or {}).get("namespace") or "",
            )
            await self.client.update_status(HPAS, {**fresh, "status": status})


def fmt_now(now: float) -> str:
    return fmt(dt.datetime.fromtimestamp(now, dt.UTC))


def settings_from_env(options: Mapping[str, Any] | None = None) -> HPASettings:
    """Settings from the manager's options ({"sync_period": s, ...}) or the environment
    (KYB_HPA_SYNC_PERIOD, KYB_HPA_DOWNSCALE_STABILIZATION, in seconds) — upstream's flags."""
    opts = dict(options or {})

    def number(name: str, env: str, default: float) -> float:
        raw = opts.get(name, os.environ.get(env, ""))
        try:
            value = float(raw)
        except (TypeError, ValueError):
            return default
        return value if value > 0 else default

    return HPASettings(
        sync_period=number("sync_period", "KYB_HPA_SYNC_PERIOD", 15.0),
        downscale_stabilization=number(
            "downscale_stabilization", "KYB_HPA_DOWNSCALE_STABILIZATION", beh.DEFAULT_DOWNSCALE_STABILIZATION
        ),
    )


@register("horizontalpodautoscaling")
def _factory(ctx: ControllerContext) -> HorizontalController:
    hpas = ctx.informers.informer(HPAS, indexers={NAMESPACE_INDEX: index_by_namespace})
    pods = ctx.informers.informer(PODS, indexers={NAMESPACE_INDEX: index_by_namespace})
    opts = ctx.options.get("horizontalpodautoscaling") or {}
    metrics = opts.get("metrics") or RESTPodMetrics(ctx.client)
    return HorizontalController(
        ctx.client, hpas, pods, ctx.recorder(COMPONENT), metrics, settings=settings_from_env(opts)
    )
