"""The ``meta.k8s.io/v1`` Table a human ``kubectl get`` asks for.

kubectl sends ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io`` and prints what the
server computed; it only hides columns with priority > 0 unless ``-o wide``. Each row carries the
object kubectl reads namespace and labels from (``-A``, ``--show-labels``, ``-L``): by default a
PartialObjectMetadata, with ``includeObject=Object`` (``--sort-by``) the whole object. Watch
events after the first omit the column definitions (``no_headers``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kybernetes.api.resources import Resource
from kybernetes.apiserver.tables.format import Obj, meta
from kybernetes.apiserver.tables.registry import printer_for

INCLUDE_OBJECT_VALUES = ("None", "Metadata", "Object")


def column_definitions(resource: Resource) -> list[dict[str, Any]]:
    """The Table's columnDefinitions for a resource, wide columns included."""
    return [c.as_json() for c in printer_for(resource).columns]


def row_cells(resource: Resource, obj: Obj, now: datetime) -> list[Any]:
    """The cells of one object's row, in column order (wide columns included)."""
    return printer_for(resource).cells(obj, now)


def partial_object_metadata(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": dict(meta(obj))}


def build_table(
    resource: Resource,
    objs: list[Obj],
    *,
    include_object: str = "Metadata",
    now: datetime,
    no_headers: bool = False,
    resource_version: str = "",
    continue_token: str | None = None,
    remaining: int | None = None,
) -> dict[str, Any]:
    """A whole Table for a list (or a one-object GET, or one watch event).

    ``include_object`` is the request's ``includeObject`` ("" means the default, Metadata);
    another value raises ValueError, which the caller answers with 400 BadRequest.
    """
    include = include_object or "Metadata"
    if include not in INCLUDE_OBJECT_VALUES:
        raise ValueError(f"unrecognized includeObject value: {include_object!r}")
    printer = printer_for(resource)
    rows: list[dict[str, Any]] = []
    for obj in objs:
        row: dict[str, Any] = {"cells": printer.cells(obj, now)}
        if printer.conditions is not None:
            conditions = printer.conditions(obj)
            if conditions:
                row["conditions"] = conditions
        if include == "Metadata":
            row["object"] = partial_object_metadata(obj)
        elif include == "Object":
            row["object"] = obj
        rows.append(row)

    metadata: dict[str, Any] = {}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    if continue_token:
        metadata["continue"] = continue_token
    if remaining is not None:
        metadata["remainingItemCount"] = remaining
    table: dict[str, Any] = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata}
    if not no_headers:
        table["columnDefinitions"] = [c.as_json() for c in printer.columns]
    table["rows"] = rows
    return table
