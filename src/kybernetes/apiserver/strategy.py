"""Per-kind behaviour of the generic store: defaulting, validation, what a write may change.

The generic store (``apiserver.registry.store``) does CRUD, watch, finalizers and graceful
deletion the same way for every kind; everything kind-specific is a method here. Strategies are
pure: they look at the objects they are given and mutate only the new object; they never touch
storage. Anything that needs shared state (ClusterIP allocation) lives in the store's hooks.

Strategy for kind X is found with ``strategy_for(resource)``; kinds without a registered class
get ``Strategy`` itself, which is right for plain objects (ConfigMap-like, no status).
"""

from __future__ import annotations

from typing import Any, ClassVar

from kybernetes.api.resources import Resource
from kybernetes.machinery.errors import Cause

Obj = dict[str, Any]


class Strategy:
    """Behaviour shared by every kind; kinds override what differs."""

    # Kinds whose object has a status that only the status subresource may change.
    has_status: ClassVar[bool] = False
    # Whether metadata.generation is maintained (objects with a spec).
    tracks_generation: ClassVar[bool] = False

    def __init__(self, resource: Resource) -> None:
        self.resource = resource

    # --- defaulting -------------------------------------------------------------------------
    def default(self, obj: Obj) -> None:
        """Fill in defaulted fields (upstream's SetDefaults_*), on create and update alike."""

    # --- create -----------------------------------------------------------------------------
    def prepare_for_create(self, obj: Obj) -> None:
        """Reset what a client may not set on create (e.g. status for kinds with a status
        subresource is reset to its initial value)."""
        if self.has_status:
            obj["status"] = self.initial_status(obj)

    def initial_status(self, obj: Obj) -> Any:
        del obj
        return {}

    def validate(self, obj: Obj) -> list[Cause]:
        """Validation of a new object; names and metadata are checked by the store."""
        del obj
        return []

    # --- update -----------------------------------------------------------------------------
    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """A write to the main resource keeps the old status when the kind has a status
        subresource."""
        if self.has_status:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        del old
        return self.validate(new)

    # --- status subresource -------------------------------------------------------------------
    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        """A write to /status changes only status (and, as upstream, not metadata except
        labels/annotations set by the writer are ignored too)."""
        for k in list(new):
            if k not in ("status", "metadata", "apiVersion", "kind"):
                del new[k]
        for k, v in old.items():
            if k not in ("status", "metadata", "apiVersion", "kind"):
                new[k] = v
        meta = new.setdefault("metadata", {})
        old_meta = old.get("metadata", {})
        for k in ("labels", "annotations", "finalizers", "ownerReferences"):
            if k in old_meta:
                meta[k] = old_meta[k]
            else:
                meta.pop(k, None)

    def prepare_for_approval_update(self, new: Obj, old: Obj) -> None:
        """A write to /approval (CertificateSigningRequests): by default as /status."""
        self.prepare_for_status_update(new, old)

    def validate_status_update(self, new: Obj, old: Obj) -> list[Cause]:
        del new, old
        return []

    # --- other subresources that write the object (pods/ephemeralcontainers) -------------------
    def prepare_for_subresource_update(self, subresource: str, new: Obj, old: Obj) -> None:
        """A write through a subresource other than status/approval/finalize/binding; by default
        as a write to the main resource."""
        del subresource
        self.prepare_for_update(new, old)

    def validate_subresource_update(self, subresource: str, new: Obj, old: Obj) -> list[Cause]:
        del subresource
        return self.validate_update(new, old)

    # --- warnings (upstream's WarningsOnCreate/WarningsOnUpdate) ---------------------------------
    def warnings_on_create(self, obj: Obj) -> list[str]:
        """Texts for the client's `Warning: 299` headers about a valid new object that is
        probably not what its writer meant (deprecated fields, settings with no effect). Called
        after validation passed, on the object as it will be stored; never rejects.
        The default warns about the pod template of workload kinds; an override should extend
        ``super()``'s list."""
        from kybernetes.apiserver.strategies.pod_warnings import workload_template_warnings

        return workload_template_warnings(self.resource.group, self.resource.kind, obj)

    def warnings_on_update(self, new: Obj, old: Obj) -> list[str]:
        """As ``warnings_on_create`` for a write to the main resource (not to a subresource);
        the default warns about a workload's pod template when the spec changed."""
        if self.spec_of(new) == self.spec_of(old):
            return []
        return Strategy.warnings_on_create(self, new)

    # --- deletion held by the kind itself -------------------------------------------------------
    def deletion_held(self, obj: Obj) -> bool:
        """Whether something other than metadata.finalizers keeps the object once its deletion has
        begun (a namespace's spec.finalizers). Such an object is marked, not removed, on delete,
        and goes when that hold is released."""
        del obj
        return False

    def mark_deleting(self, obj: Obj) -> None:
        """What beginning the deletion of a held object changes besides deletionTimestamp."""

    def prepare_for_finalize_update(self, new: Obj, old: Obj) -> None:
        """A write to /finalize (namespaces only)."""
        self.prepare_for_update(new, old)

    # --- spec identity --------------------------------------------------------------------------
    def spec_of(self, obj: Obj) -> Any:
        """What a change to bumps metadata.generation: everything but metadata and status."""
        return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}

    # --- field selectors ------------------------------------------------------------------------
    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        """Fields usable in fieldSelector, as upstream's per-kind GetAttrs."""
        meta = obj.get("metadata", {})
        fields = {"metadata.name": meta.get("name", "")}
        if self.resource.namespaced:
            fields["metadata.namespace"] = meta.get("namespace", "")
        return fields


_registry: dict[tuple[str, str], type[Strategy]] = {}


def register(group: str, kind: str) -> Any:
    """Class decorator: the strategy for `kind` in `group` (all versions)."""

    def deco(cls: type[Strategy]) -> type[Strategy]:
        _registry[(group, kind)] = cls
        return cls

    return deco


def strategy_for(resource: Resource) -> Strategy:
    # Importing the package registers every kind's strategy.
    import kybernetes.apiserver.strategies  # noqa: F401

    if resource.custom is not None:  # a custom resource: schema-driven (apiserver.crd)
        from kybernetes.apiserver.crd.strategy import custom_resource_strategy

        return custom_resource_strategy(resource)

    cls = _registry.get((resource.group, resource.kind), Strategy)
    return cls(resource)
