"""From a CustomResourceDefinition to the resources the server serves for it.

Each served version becomes one ``Resource`` whose ``custom`` slot holds a ``CustomVersion``:
the version's structural schema, subresources, printer columns and how to move objects between
this version and the storage version (conversion None: only ``apiVersion`` changes). The REST
layer asks a ``CustomVersion`` to check request bodies (``check``), to serve stored objects
(``from_storage``); the tables asks it for its ``printer``.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from kybernetes.api.resources import Resource, Subresource
from kybernetes.api.schemas import REGISTRY
from kybernetes.apiserver.crd import conversion, jsonpath, structural
from kybernetes.apiserver.tables.format import human_duration
from kybernetes.apiserver.tables.printer import NAME, Column, Printer, col
from kybernetes.machinery import fieldcheck

Obj = dict[str, Any]
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
CRD_GROUP = "apiextensions.k8s.io"
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
_KUBE_VERSION = re.compile(r"^v([1-9][0-9]*)(?:(alpha|beta)([1-9][0-9]*))?$")


def version_priority(name: str) -> tuple[int, int, int, str]:
    """Sort key, smallest first: GA > beta > alpha (higher numbers first), then non-kube-like
    versions alphabetically (upstream's discovery order: v10, v2, v1, v11beta2, v10beta3, ...)."""
    m = _KUBE_VERSION.match(name)
    if m is None:
        return (3, 0, 0, name)
    major = int(m.group(1))
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    minor = int(m.group(3) or 0)
    return (stage, -major, -minor, "")


def _date_cell(value: Any, now: dt.datetime) -> Any:
    if not isinstance(value, str):
        return "<unknown>"
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return "<invalid>"
    return human_duration((now - t).total_seconds())


def _cell(column_type: str, values: list[Any], now: dt.datetime) -> Any:
    if not values:
        return None
    value = values[0]
    if column_type == "date":
        return _date_cell(value, now)
    if column_type == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if column_type == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if column_type == "boolean" and isinstance(value, bool):
        return value
    parts = [v if isinstance(v, str) else orjson.dumps(v).decode() for v in values]
    return " ".join(parts)


def build_printer(columns: list[Obj]) -> Printer:
    """Name plus the CRD's additionalPrinterColumns (Age when it declares none)."""
    specs = columns or [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
    cols: list[Column] = [NAME]
    for c in specs:
        cols.append(col(str(c.get("name", "")), str(c.get("description") or ""), str(c.get("type") or "string"),
                        priority=int(c.get("priority") or 0), format=str(c.get("format") or "")))

    def cells(obj: Obj, now: dt.datetime) -> list[Any]:
        row: list[Any] = [obj.get("metadata", {}).get("name", "")]
        for c in specs:
            row.append(_cell(str(c.get("type") or "string"), jsonpath.find(obj, str(c.get("jsonPath", ""))), now))
        return row

    return Printer(tuple(cols), cells)


@dataclass(eq=False)
class CustomVersion:
    """One served (or the storage) version of a custom resource."""

    crd_name: str
    group: str
    version: str
    kind: str
    storage_version: str
    schema: Obj | None
    status: bool
    scale: Obj | None
    printer: Printer
    defaults: bool = field(default=False)
    webhook: Obj | None = field(default=None)  # spec.conversion.webhook with strategy Webhook (crd.conversion)

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def convert_on_read(self) -> bool:
        """Stored objects need work before serving: another apiVersion, or defaults to apply."""
        return self.version != self.storage_version or self.defaults or self.webhook is not None

    def from_storage(self, obj: Obj) -> Obj:
        out = copy.deepcopy(obj) if self.defaults else dict(obj)
        out["apiVersion"] = self.group_version
        if self.defaults and self.schema is not None:
            structural.apply_defaults(out, self.schema)
        return out

    def prune_and_default(self, obj: Obj) -> tuple[Obj, list[str]]:
        if self.schema is None:
            return obj, []
        pruned, unknown = structural.prune(obj, self.schema)
        structural.apply_defaults(pruned, self.schema)
        return pruned, unknown

    def check(self, obj: Obj, body: bytes | None, *, duplicates: bool = True) -> fieldcheck.CheckResult:
        """Upstream's decoding of a custom resource: metadata checked against ObjectMeta, the
        rest pruned by the schema, defaults applied; unknown (and, from JSON text, duplicate)
        fields reported for fieldValidation."""
        strict: list[fieldcheck.StrictProblem] = []
        type_errors: list[fieldcheck.FieldTypeError] = []
        out = dict(obj)
        meta = obj.get("metadata")
        if isinstance(meta, dict):
            r = fieldcheck.check_and_prune(meta, OBJECT_META, REGISTRY)
            out["metadata"] = r.obj
            strict += [fieldcheck.StrictProblem(p.kind, "metadata." + p.path, ".metadata" + p.apply_path)
                       for p in r.strict]
            type_errors += [fieldcheck.FieldTypeError("metadata." + t.path, t.message, t.apply_message)
                            for t in r.type_errors]
        pruned, unknown = self.prune_and_default(out)
        strict += [fieldcheck.StrictProblem(fieldcheck.UNKNOWN, p, "." + p) for p in unknown]
        if body is not None and duplicates:
            strict = _duplicates(body, obj) + strict
        return fieldcheck.CheckResult(pruned, strict, type_errors)

    def validate(self, obj: Obj) -> list[Any]:
        if self.schema is None:
            return []
        return structural.validate(obj, self.schema)

    # --- scale subresource ------------------------------------------------------------------------
    def scale_of(self, obj: Obj) -> Obj:
        """The autoscaling/v1 Scale of an object, read through the CRD's replica paths."""
        scale = self.scale or {}
        meta = obj.get("metadata") or {}
        spec_replicas, _ = jsonpath.get_field(obj, str(scale.get("specReplicasPath") or ".spec.replicas"))
        status_replicas, _ = jsonpath.get_field(obj, str(scale.get("statusReplicasPath") or ".status.replicas"))
        selector = ""
        if scale.get("labelSelectorPath"):
            found, ok = jsonpath.get_field(obj, str(scale["labelSelectorPath"]))
            selector = found if ok and isinstance(found, str) else ""
        status: Obj = {"replicas": status_replicas if isinstance(status_replicas, int) else 0}
        if selector:
            status["selector"] = selector
        return {
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in meta},
            "spec": {"replicas": spec_replicas if isinstance(spec_replicas, int) else 0},
            "status": status,
        }

    def set_replicas(self, obj: Obj, replicas: int) -> None:
        path = str((self.scale or {}).get("specReplicasPath") or ".spec.replicas")
        jsonpath.set_field(obj, path, replicas)


def _count(value: Any) -> int:
    if isinstance(value, dict):
        return len(value) + sum(_count(x) for x in value.values())
    if isinstance(value, list):
        return sum(_count(x) for x in value)
    return 0


def _duplicates(body: bytes, obj: Obj) -> list[fieldcheck.StrictProblem]:
    if fieldcheck.json_key_tokens(body) == _count(obj):
        return []
    parsed, table = fieldcheck.loads_with_duplicates(body)
    out: list[fieldcheck.StrictProblem] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for k in table.get(id(value), ()):
                p = f"{path}.{k}" if path else k
                out.append(fieldcheck.StrictProblem(fieldcheck.DUPLICATE, p, "." + p))
            for k, x in value.items():
                walk(x, f"{path}.{k}" if path else k)
        elif isinstance(value, list):
            for i, x in enumerate(value):
                walk(x, f"{path}[{i}]")

    if table:
        walk(parsed, "")
    return out


# --- CRD -> resources ---------------------------------------------------------------------------


def crd_names(crd: Obj) -> Obj:
    """The names in effect: status.acceptedNames once set, else spec.names."""
    accepted = (crd.get("status") or {}).get("acceptedNames") or {}
    if accepted.get("plural") and accepted.get("kind"):
        return dict(accepted)
    return dict((crd.get("spec") or {}).get("names") or {})


def storage_version(crd: Obj) -> str:
    for ver in (crd.get("spec") or {}).get("versions") or []:
        if ver.get("storage"):
            return str(ver.get("name", ""))
    return ""


def custom_version(crd: Obj, ver: Obj) -> CustomVersion:
    spec = crd.get("spec") or {}
    names = crd_names(crd)
    schema = ((ver.get("schema") or {}).get("openAPIV3Schema")) or None
    subs = ver.get("subresources") or {}
    return CustomVersion(
        crd_name=crd["metadata"]["name"], group=str(spec.get("group", "")), version=str(ver.get("name", "")),
        kind=str(names.get("kind", "")), storage_version=storage_version(crd), schema=schema,
        status="status" in subs and subs["status"] is not None, scale=subs.get("scale") or None,
        printer=build_printer(list(ver.get("additionalPrinterColumns") or [])),
        defaults=structural.has_defaults(schema) if schema else False, webhook=conversion.webhook_of(crd))


def resource_for(crd: Obj, ver: Obj) -> Resource:
    spec = crd.get("spec") or {}
    names = crd_names(crd)
    cv = custom_version(crd, ver)
    subresources: list[Subresource] = []
    if cv.status:
        subresources.append(Subresource("status", cv.kind))
    if cv.scale is not None:
        subresources.append(Subresource("scale", "Scale", group="autoscaling", version="v1"))
    group = cv.group
    plural = str(names.get("plural", ""))
    return Resource(
        group, cv.version, cv.kind, plural, str(names.get("singular") or cv.kind.lower()),
        spec.get("scope") != "Cluster", ".".join(reversed(group.split("."))) + f".{cv.version}.{cv.kind}",
        short_names=tuple(names.get("shortNames") or ()), categories=tuple(names.get("categories") or ()),
        subresources=tuple(subresources), storage_version=cv.storage_version,
        list_kind=str(names.get("listKind") or cv.kind + "List"),
        storage_prefix=f"/registry/{group}/{plural}/", custom=cv)


def served_resources(crd: Obj) -> tuple[Resource, ...]:
    """The served versions' resources, highest version priority first."""
    versions = [v for v in (crd.get("spec") or {}).get("versions") or [] if v.get("served")]
    versions.sort(key=lambda v: version_priority(str(v.get("name", ""))))
    return tuple(resource_for(crd, v) for v in versions)


def storage_resource(crd: Obj) -> Resource | None:
    for ver in (crd.get("spec") or {}).get("versions") or []:
        if ver.get("storage"):
            return resource_for(crd, ver)
    return None
