"""What every registered strategy adds to the generic ``Strategy``: its kind's name rule.

The store validates metadata for all kinds the same way, except for which names are legal
(DNS subdomain for most kinds, DNS label for namespaces, DNS-1035 label for services, path
segments for RBAC objects). ``validate_metadata`` is the one call the store makes for that.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any

from kybernetes.apiserver.strategy import Obj, Strategy
from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import (
    name_is_dns_subdomain,
    validate_object_meta,
    validate_object_meta_update,
)

# What a body of the wrong shape (a list where an object belongs, ...) makes the per-kind code
# raise. Strategies read fields freely; a malformed object must become a 422, never a 500.
_SHAPE_ERRORS = (TypeError, AttributeError, KeyError, IndexError, ValueError)
MALFORMED = "the object does not have the shape its kind requires"


def _guard_mutator(fn: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(fn)
    def wrapper(*args: Any) -> None:
        with contextlib.suppress(*_SHAPE_ERRORS):  # left as it is: validation reports it
            fn(*args)

    return wrapper


def _guard_validator(fn: Callable[..., list[Cause]]) -> Callable[..., list[Cause]]:
    @functools.wraps(fn)
    def wrapper(*args: Any) -> list[Cause]:
        try:
            return fn(*args)
        except _SHAPE_ERRORS as e:
            return [Cause("FieldValueTypeInvalid", f"Invalid value: {MALFORMED}: {e}", "")]

    return wrapper


def _guard_fields(fn: Callable[..., dict[str, str]]) -> Callable[..., dict[str, str]]:
    @functools.wraps(fn)
    def wrapper(self: Strategy, obj: Obj) -> dict[str, str]:
        try:
            return fn(self, obj)
        except _SHAPE_ERRORS:
            return Strategy.selectable_fields(self, obj)

    return wrapper


def _guard_status(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(self: Strategy, obj: Obj) -> Any:
        try:
            return fn(self, obj)
        except _SHAPE_ERRORS:
            return {}

    return wrapper


class KindStrategy(Strategy):
    """Base of the per-kind strategies in this package. Subclass methods are guarded so that a
    malformed body yields a validation cause instead of an exception."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("default", "prepare_for_create", "prepare_for_update", "prepare_for_status_update"):
            if name in cls.__dict__:
                setattr(cls, name, _guard_mutator(cls.__dict__[name]))
        for name in ("validate", "validate_update", "validate_status_update", "validate_subresource_update"):
            if name in cls.__dict__:
                setattr(cls, name, _guard_validator(cls.__dict__[name]))
        if "initial_status" in cls.__dict__:
            cls.initial_status = _guard_status(cls.__dict__["initial_status"])  # type: ignore[method-assign]
        if "selectable_fields" in cls.__dict__:
            cls.selectable_fields = _guard_fields(cls.__dict__["selectable_fields"])  # type: ignore[method-assign]

    def validate_name(self, name: str, prefix: bool) -> list[str]:
        return name_is_dns_subdomain(name, prefix)

    def prepare_for_create(self, obj: Obj) -> None:
        # Upstream defaults an object when decoding it, before PrepareForCreate (the pod's QoS
        # class and the Job's selector depend on defaulted fields); defaults are idempotent, so
        # applying them here is right whichever order the store calls the two in.
        self.default(obj)
        super().prepare_for_create(obj)


def validate_metadata(strategy: Strategy, obj: Obj, old: Obj | None = None, *,
                      require_resource_version: bool = True) -> list[Cause]:
    """metadata causes of a create (``old`` None) or an update, with the kind's name rule."""
    name_fn = getattr(strategy, "validate_name", name_is_dns_subdomain)
    meta: Any = obj.get("metadata") or {}
    if old is None:
        return validate_object_meta(meta, namespaced=strategy.resource.namespaced, name_validator=name_fn)
    return validate_object_meta_update(meta, old.get("metadata") or {},
                                       require_resource_version=require_resource_version)


def get(obj: Any, *path: str) -> Any:
    """obj[path[0]][path[1]]..., None where any step is missing or not an object."""
    for p in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(p)
    return obj


def spec(obj: Obj) -> Obj:
    s = obj.get("spec")
    if not isinstance(s, dict):
        s = {}
        obj["spec"] = s
    return s
