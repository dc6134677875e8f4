"""CEL (Common Expression Language) for Kubernetes validation rules and match conditions.

A pure-Python implementation of the language as Kubernetes 1.32 configures cel-go: the core
language with optionals, cross-type numeric comparisons, and the Kubernetes libraries that CRD
authors use (strings, lists, regex, url, quantity, ip/cidr, sets). See program.compile.
"""

from __future__ import annotations

from kybernetes.cel.errors import CELError, CompileError, CostLimitExceeded, EvalError
from kybernetes.cel.program import Program, compile
from kybernetes.cel.types import (
    BOOL,
    BYTES,
    DOUBLE,
    DURATION,
    DYN,
    INT,
    NULL,
    STRING,
    TIMESTAMP,
    UINT,
    IntOrStringType,
    ListType,
    MapType,
    ObjectType,
    OptionalType,
    Type,
)
from kybernetes.cel.values import Duration, Optional, Timestamp, Uint

__all__ = [
    "BOOL",
    "BYTES",
    "DOUBLE",
    "DURATION",
    "DYN",
    "INT",
    "NULL",
    "STRING",
    "TIMESTAMP",
    "UINT",
    "CELError",
    "CompileError",
    "CostLimitExceeded",
    "Duration",
    "EvalError",
    "IntOrStringType",
    "ListType",
    "MapType",
    "ObjectType",
    "Optional",
    "OptionalType",
    "Program",
    "Timestamp",
    "Type",
    "Uint",
    "compile",
]
