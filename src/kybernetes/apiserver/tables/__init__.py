"""Server-side Table output for ``kubectl get``: upstream's columns and cells for every built-in
resource, as pure functions of plain JSON objects and the current time.

- ``column_definitions(resource)`` — the Table's columns (wide ones have priority 1);
- ``row_cells(resource, obj, now)`` — one object's cells;
- ``build_table(resource, objs, ...)`` — the whole ``meta.k8s.io/v1`` Table;
- ``human_duration(seconds)`` — the AGE format ("2m3s", "3h4m", "2d3h", ...).
"""

from __future__ import annotations

from kybernetes.apiserver.tables.format import human_duration
from kybernetes.apiserver.tables.table import (
    build_table,
    column_definitions,
    partial_object_metadata,
    row_cells,
)

__all__ = ["build_table", "column_definitions", "human_duration", "partial_object_metadata", "row_cells"]
