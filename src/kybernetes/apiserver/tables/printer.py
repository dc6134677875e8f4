"""What a table printer is: its columns and a function from one object to that object's cells.

The server always produces every column (upstream builds server-side tables "wide"); kubectl
hides the ``priority > 0`` ones unless asked for ``-o wide``. Cells are therefore always given in
column order, wide columns included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Obj = dict[str, Any]
CellsFn = Callable[[Obj, datetime], list[Any]]
ConditionsFn = Callable[[Obj], list[Obj]]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str
    description: str
    format: str = ""
    priority: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


@dataclass(frozen=True, slots=True)
class Printer:
    columns: tuple[Column, ...]
    cells: CellsFn
    # Row conditions (only pods have them: Completed=True for finished pods).
    conditions: ConditionsFn | None = None


def col(name: str, description: str, type: str = "string", *, priority: int = 0, format: str = "") -> Column:
    return Column(name=name, type=type, description=description, format=format, priority=priority)


# Columns that nearly every printer shares.
NAME = col("Name", "Name of the object, unique within its namespace.", format="name")
AGE = col("Age", "Time since the object was created.")
CONTAINERS_WIDE = col("Containers", "Names of the containers in the pod template.", priority=1)
IMAGES_WIDE = col("Images", "Images of the containers in the pod template.", priority=1)


def selector_wide(description: str = "Label selector of the pods this object manages.") -> Column:
    return col("Selector", description, priority=1)
