"""Leader election on a coordination.k8s.io/v1 Lease, so that of several replicas of a component
(scheduler, controller manager) exactly one acts at a time.

Theory of operation (client-go's algorithm). Each candidate reads the Lease every ``retry_period``.
It remembers the lease spec it last saw and *when it saw it change*, on its own monotonic clock: a
holder is presumed alive until ``leaseDurationSeconds`` after that moment, so clocks of different
machines never have to agree. A candidate writes itself in as holder (PUT with the read
resourceVersion, so two candidates cannot both win the same round) when the lease is free, expired
by that rule, or already its own. The leader renews the same way; if it cannot renew for
``renew_deadline`` seconds it stops leading: its ``on_started_leading`` task is cancelled and
``on_stopped_leading`` runs, before any other candidate can see the lease expire
(renew_deadline < lease_duration).

Invariants:
1. ``acquireTime`` and ``leaseTransitions`` stay while the holder renews; a new holder sets
   ``acquireTime`` and adds one to ``leaseTransitions``.
2. ``renewTime`` is written on every successful acquire or renew.
3. A released lease (``release_on_cancel``) has an empty holder and a 1 s duration, so the next
   candidate takes it at its next retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import logging
import math
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from kybernetes.api.resources import lookup
from kybernetes.client.clock import Clock, RealClock
from kybernetes.client.errors import APIError, is_not_found
from kybernetes.client.rest import APIClient, ResourceLike

log = logging.getLogger("kyb.client.leaderelection")

LEASES: ResourceLike = lookup("coordination.k8s.io", "v1", "leases")  # type: ignore[assignment]
JITTER_FACTOR = 1.2  # acquire retries wait retry_period * (1 + up to 1.2), as client-go
# Failures of one round that only mean "try again next round".
_TRANSIENT = (APIError, aiohttp.ClientError, OSError, TimeoutError)


@dataclass(slots=True)
class LeaderElectionConfig:
    namespace: str
    name: str
    identity: str
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    release_on_cancel: bool = False

    def __post_init__(self) -> None:
        if not self.identity:
            raise ValueError("leader election needs a non-empty identity")
        if not self.lease_duration > self.renew_deadline > self.retry_period > 0:
            raise ValueError("need lease_duration > renew_deadline > retry_period > 0")


def micro_time(t: dt.datetime) -> str:
    """metav1.MicroTime as JSON: RFC 3339 with microseconds, in UTC."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def next_lease_spec(current: Mapping[str, Any] | None, identity: str, *, lease_duration: float,
                    now: dt.datetime) -> dict[str, Any]:
    """The spec `identity` writes to acquire or renew (pure). `current` is the spec read, None if
    the Lease does not exist."""
    stamp = micro_time(now)
    spec: dict[str, Any] = {"holderIdentity": identity, "leaseDurationSeconds": max(1, math.ceil(lease_duration)),
                            "acquireTime": stamp, "renewTime": stamp, "leaseTransitions": 0}
    if current is None:
        return spec
    transitions = int(current.get("leaseTransitions") or 0)
    if current.get("holderIdentity") == identity:
        spec["acquireTime"] = current.get("acquireTime") or stamp
        spec["leaseTransitions"] = transitions
    else:
        spec["leaseTransitions"] = transitions + 1
    return spec


def held_by_other(spec: Mapping[str, Any], identity: str, *, observed_at: float, now: float) -> bool:
    """True while someone else holds the lease and it has not expired by our own observation."""
    holder = spec.get("holderIdentity") or ""
    if not holder or holder == identity:
        return False
    duration = float(spec.get("leaseDurationSeconds") or 0)
    return observed_at + duration > now


class LeaderElector:
    """Runs one candidate. ``await run()`` returns after leadership is lost (or on cancellation);
    callers usually exit the process then, as upstream components do."""

    def __init__(self, client: APIClient, config: LeaderElectionConfig, *,
                 on_started_leading: Callable[[], Awaitable[None]],
                 on_stopped_leading: Callable[[], None] | None = None,
                 on_new_leader: Callable[[str], None] | None = None,
                 clock: Clock | None = None, wall_clock: Callable[[], dt.datetime] | None = None) -> None:
        self.client = client
        self.config = config
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        self.on_new_leader = on_new_leader
        self.clock = clock or RealClock()
        self.wall_clock = wall_clock or (lambda: dt.datetime.now(dt.UTC))
        self._observed_spec: dict[str, Any] | None = None
        self._observed_at = 0.0
        self._leading = False
        self._reported_leader = ""

    def is_leader(self) -> bool:
        return self._leading

    @property
    def leader(self) -> str:
        """The holder last observed ("" when unknown or free)."""
        return str((self._observed_spec or {}).get("holderIdentity") or "")

    async def run(self) -> None:
        await self._acquire()
        self._leading = True
        log.info("%s: became leader of %s/%s", self.config.identity, self.config.namespace, self.config.name)
        lead: asyncio.Future[None] = asyncio.ensure_future(self.on_started_leading())
        try:
            await self._renew_until_lost(lead)
        finally:
            self._leading = False
            lead.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await lead
            if self.config.release_on_cancel:
                await self._release()
            log.info("%s: stopped leading %s/%s", self.config.identity, self.config.namespace, self.config.name)
            if self.on_stopped_leading is not None:
                self.on_stopped_leading()

    async def _acquire(self) -> None:
        while not await self.try_acquire_or_renew():
            await self.clock.sleep(self.config.retry_period * (1 + random.random() * JITTER_FACTOR))

    async def _renew_until_lost(self, lead: asyncio.Future[None]) -> None:
        while not lead.done():
            await self.clock.sleep(self.config.retry_period)
            deadline = self.clock.now() + self.config.renew_deadline
            while not await self.try_acquire_or_renew():
                if self.clock.now() + self.config.retry_period > deadline or lead.done():
                    log.warning("%s: failed to renew lease %s/%s within %.1fs", self.config.identity,
                                self.config.namespace, self.config.name, self.config.renew_deadline)
                    return
                await self.clock.sleep(self.config.retry_period)

    async def try_acquire_or_renew(self) -> bool:
        """One round: read the Lease, write ourselves in if we may. True when we hold it now."""
        cfg = self.config
        try:
            lease = await self.client.get(LEASES, cfg.name, namespace=cfg.namespace)
        except APIError as e:
            if not is_not_found(e):
                log.info("%s: reading lease: %s", cfg.identity, e)
                return False
            return await self._create()
        except (aiohttp.ClientError, OSError, TimeoutError) as e:
            log.info("%s: reading lease: %r", cfg.identity, e)
            return False
        spec = dict(lease.get("spec") or {})
        now = self.clock.now()
        if spec != self._observed_spec:
            self._observe(spec, now)
        if held_by_other(spec, cfg.identity, observed_at=self._observed_at, now=now):
            return False
        updated = copy.deepcopy(lease)
        updated["spec"] = next_lease_spec(spec, cfg.identity, lease_duration=cfg.lease_duration, now=self.wall_clock())
        try:
            written = await self.client.update(LEASES, updated, namespace=cfg.namespace)
        except _TRANSIENT as e:
            log.info("%s: updating lease: %s", cfg.identity, e)
            return False
        self._observe(dict(written.get("spec") or {}), self.clock.now())
        return True

    async def _create(self) -> bool:
        cfg = self.config
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": cfg.name, "namespace": cfg.namespace},
                "spec": next_lease_spec(None, cfg.identity, lease_duration=cfg.lease_duration, now=self.wall_clock())}
        try:
            written = await self.client.create(LEASES, body, namespace=cfg.namespace)
        except _TRANSIENT as e:
            log.info("%s: creating lease: %s", cfg.identity, e)
            return False
        self._observe(dict(written.get("spec") or {}), self.clock.now())
        return True

    def _observe(self, spec: dict[str, Any], now: float) -> None:
        self._observed_spec = spec
        self._observed_at = now
        holder = str(spec.get("holderIdentity") or "")
        if holder and holder != self._reported_leader:
            self._reported_leader = holder
            if self.on_new_leader is not None:
                try:
                    self.on_new_leader(holder)
                except Exception:
                    log.exception("on_new_leader failed")

    async def _release(self) -> None:
        cfg = self.config
        try:
            lease = await self.client.get(LEASES, cfg.name, namespace=cfg.namespace)
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != cfg.identity:
                return
            stamp = micro_time(self.wall_clock())
            lease = copy.deepcopy(lease)
            lease["spec"] = {"holderIdentity": "", "leaseDurationSeconds": 1, "acquireTime": stamp,
                             "renewTime": stamp, "leaseTransitions": int(spec.get("leaseTransitions") or 0)}
            await self.client.update(LEASES, lease, namespace=cfg.namespace)
        except _TRANSIENT as e:
            log.info("%s: releasing lease: %s", cfg.identity, e)
