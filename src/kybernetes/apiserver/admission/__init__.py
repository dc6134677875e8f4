"""Admission control: a mutating chain, then a validating chain, around every write.

Where the store calls admission (as upstream's handlers and generic registry do):
  create: defaults → mutating chain → strategy prepare/validate → validating chain → storage
  update: merge/patch → defaults → mutating chain → strategy prepare/validate → validating chain → storage
  delete: validating chain (operation DELETE, the object being deleted as ``old``) → deletion
The mutating chain runs a second time, whole, when a mutating webhook changed the object (as
upstream's reinvoker): built-in plugins see what the webhooks added, and webhooks with
reinvocationPolicy IfNeeded see what came after them. There is never a third run.
A plugin rejects a request by raising ``StatusError`` (usually 403 Forbidden or 422 Invalid with
upstream's message). Mutating plugins change ``attrs.obj`` in place.

Plugins read cluster state through ``AdmissionContext`` (the API server's watch cache and
stores), never through storage directly. Its ``authorize`` is the server's authorizer as CEL's
``authorizer`` variable asks it (``admission.cel_authorizer``); None allows every check.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from kybernetes.api.resources import Resource

if TYPE_CHECKING:
    from kybernetes.apiserver.authn import UserInfo
    from kybernetes.apiserver.cache import WatchCache
    from kybernetes.apiserver.registry.store import Store
    from kybernetes.cel.authz import AuthorizeFn

Obj = dict[str, Any]

CREATE = "CREATE"
UPDATE = "UPDATE"
DELETE = "DELETE"
CONNECT = "CONNECT"


@dataclass(slots=True)
class Reinvocation:
    """Per-request state of the mutating chain's second run: a plugin that wants the chain run
    again sets ``should_reinvoke``; ``is_reinvoke`` tells plugins they are in the second run;
    ``state`` holds what a plugin remembers between the runs (keyed by plugin name)."""

    should_reinvoke: bool = False
    is_reinvoke: bool = False
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Attributes:
    resource: Resource
    operation: str
    namespace: str
    name: str
    obj: Obj | None  # the object being written (None for DELETE)
    old: Obj | None  # the stored object (None for CREATE)
    subresource: str = ""
    user: UserInfo | None = None
    dry_run: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    reinvocation: Reinvocation = field(default_factory=Reinvocation)

    @property
    def kind(self) -> str:
        return self.resource.kind

    @property
    def group(self) -> str:
        return self.resource.group


@dataclass(slots=True)
class AdmissionContext:
    """What plugins may read: the cache of every object and the stores (for writes a plugin
    must make, e.g. quota usage)."""

    cache: WatchCache
    stores: dict[tuple[str, str], Store]
    # set by authz.setup.install once the server's authorizer exists
    authorize: AuthorizeFn | None = None

    def get(self, key: str) -> Obj | None:
        entry = self.cache.get(key)
        return entry.obj if entry else None

    def list(self, prefix: str) -> list[Obj]:
        return [e.obj for _, e in self.cache.iter_prefix(prefix)]


class Plugin:
    """Base plugin: does nothing. Override `admit` (mutating) and/or `validate`."""

    name = "Plugin"
    mutating = False
    validating = False

    async def admit(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        del attrs, ctx

    async def validate(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        del attrs, ctx

    async def bootstrap(self, ctx: AdmissionContext) -> None:
        """Objects the plugin needs in every cluster, created at server start."""
        del ctx


class AdmissionObserver(Protocol):
    def admission_plugin(self, name: str, operation: str, step: str, rejected: bool, seconds: float) -> None: ...

    def admission_step_done(self, operation: str, step: str, rejected: bool, seconds: float) -> None: ...


class Chain:
    def __init__(self, plugins: Sequence[Plugin], ctx: AdmissionContext | None = None) -> None:
        self.plugins = list(plugins)
        self.ctx = ctx
        self.observer: AdmissionObserver | None = None  # latency metrics (apiserver/metrics.py)

    def bind(self, ctx: AdmissionContext) -> None:
        self.ctx = ctx

    async def admit(self, attrs: Attributes) -> None:
        if self.ctx is None:
            return
        if self.observer is not None:
            await self._observed("admit", attrs, self.ctx, self.observer)
            return
        await self._admit_once(attrs, self.ctx)
        if attrs.reinvocation.should_reinvoke and not attrs.reinvocation.is_reinvoke:
            attrs.reinvocation.is_reinvoke = True
            await self._admit_once(attrs, self.ctx)

    async def _admit_once(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        for p in self.plugins:
            if p.mutating:
                await p.admit(attrs, ctx)

    async def validate(self, attrs: Attributes) -> None:
        if self.ctx is None:
            return
        if self.observer is not None:
            await self._observed("validate", attrs, self.ctx, self.observer)
            return
        for p in self.plugins:
            if p.validating:
                await p.validate(attrs, self.ctx)

    async def _observed(self, step: str, attrs: Attributes, ctx: AdmissionContext, obs: AdmissionObserver) -> None:
        """`admit` or `validate` with each plugin and the whole step timed."""
        start = time.perf_counter()
        rejected = True
        try:
            passes = 2 if step == "admit" else 1
            for n in range(passes):
                if n == 1:
                    if not attrs.reinvocation.should_reinvoke or attrs.reinvocation.is_reinvoke:
                        break
                    attrs.reinvocation.is_reinvoke = True
                for p in self.plugins:
                    if not (p.mutating if step == "admit" else p.validating):
                        continue
                    began = time.perf_counter()
                    failed = True
                    try:
                        await (p.admit(attrs, ctx) if step == "admit" else p.validate(attrs, ctx))
                        failed = False
                    finally:
                        obs.admission_plugin(p.name, attrs.operation, step, failed, time.perf_counter() - began)
            rejected = False
        finally:
            obs.admission_step_done(attrs.operation, step, rejected, time.perf_counter() - start)

    async def bootstrap(self) -> None:
        if self.ctx is None:
            return
        for p in self.plugins:
            await p.bootstrap(self.ctx)


EMPTY_CHAIN = Chain([])


def default_plugins(disabled: frozenset[str] = frozenset()) -> list[Plugin]:
    """The built-in plugins in upstream's order, minus the disabled ones."""
    from kybernetes.apiserver.admission.plugins import builtin_plugins

    return [p for p in builtin_plugins() if p.name not in disabled]
