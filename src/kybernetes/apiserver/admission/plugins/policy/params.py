"""The ``params`` a binding gives its policy: resolved through the watch cache (any kind the
server serves, ConfigMaps and custom resources alike).

As upstream's CollectParams:
  - a policy without ``paramKind``, or a binding without ``paramRef``, is evaluated once with
    ``params`` null;
  - ``paramRef.name`` selects one object, ``paramRef.selector`` every object whose labels match
    (the policy is evaluated once per object);
  - a namespaced paramKind is looked up in ``paramRef.namespace``, else in the request's
    namespace (a cluster-scoped request then is an error); a cluster-scoped paramKind must not
    have ``paramRef.namespace``;
  - nothing found: ``parameterNotFoundAction`` Deny is an error, Allow evaluates nothing.
Errors are configuration errors: the plugin reports them under the policy's failurePolicy.
A paramKind that no served resource has is a configuration error of the policy itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kybernetes.api.resources import Resource
from kybernetes.machinery.labels import selector_from_label_selector

Obj = dict[str, Any]


class ParamError(Exception):
    """A binding's params cannot be resolved; str() is upstream's text."""


@dataclass(frozen=True, slots=True)
class ParamSource:
    """Where the objects of a paramKind are kept."""

    resource: Resource
    prefix: str  # storage key prefix of the objects


def group_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def gvk_text(param_kind: Obj) -> str:
    """A ParamKind as Go prints a GroupVersionKind: ``apps/v1, Kind=Foo`` (``/v1, Kind=ConfigMap``)."""
    group, version = group_version(str(param_kind.get("apiVersion") or ""))
    return f"{group}/{version}, Kind={param_kind.get('kind') or ''}"


def resolve_kind(param_kind: Obj, served: Iterable[Resource]) -> ParamSource:
    """The served resource of a paramKind; raises ParamError when there is none. Custom
    resources are matched by group and kind (all their versions share one store)."""
    group, version = group_version(str(param_kind.get("apiVersion") or ""))
    kind = str(param_kind.get("kind") or "")
    for r in served:
        if r.group == group and r.kind == kind and (r.version == version or r.custom is not None):
            return ParamSource(r, r.key_prefix())
    raise ParamError(f"failed to find resource referenced by paramKind: '{gvk_text(param_kind)}'")


def _labels(obj: Obj) -> dict[str, str]:
    labels = (obj.get("metadata") or {}).get("labels")
    return labels if isinstance(labels, dict) else {}


def collect(
    source: ParamSource | None, param_ref: Obj | None, request_namespace: str, get: Any, list_prefix: Any
) -> list[Obj | None]:
    """The params to evaluate with. `get(key)` and `list_prefix(prefix)` read the cache."""
    if source is None or param_ref is None:
        return [None]
    ref_ns = str(param_ref.get("namespace") or "")
    name = str(param_ref.get("name") or "")
    if source.resource.namespaced:
        namespace = ref_ns or request_namespace
        if not namespace:
            raise ParamError(
                "cannot use namespaced paramRef in policy binding that matches cluster-scoped resources"
            )
        prefix = f"{source.prefix}{namespace}/"
    else:
        if ref_ns:
            raise ParamError("paramRef.namespace must not be provided for a cluster-scoped `paramKind`")
        prefix = source.prefix
    found: list[Obj | None]
    if name:
        obj = get(prefix + name)
        found = [obj] if obj is not None else []
    elif isinstance(param_ref.get("selector"), dict):
        selector = selector_from_label_selector(param_ref["selector"])
        found = [o for o in list_prefix(prefix) if selector.matches(_labels(o))]
    else:
        raise ParamError("one of name or selector must be provided")
    if not found and param_ref.get("parameterNotFoundAction") == "Deny":
        raise ParamError("no params found for policy binding with `Deny` parameterNotFoundAction")
    return found
