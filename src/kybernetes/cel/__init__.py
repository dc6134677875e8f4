"""CEL (Common Expression Language) for Kubernetes validation rules and match conditions.

A pure-Python implementation of the language as Kubernetes 1.32 configures cel-go: the core
language with optionals, cross-type numeric comparisons, and the Kubernetes libraries that CRD
authors use (strings, lists, regex, url, quantity, ip/cidr, sets) and the authorizer library
(``cel.authz``). See program.compile; callers add their own functions and variables with a
``Library``; ``Program.estimated_cost`` is the static worst-case cost (``cost`` module) that
Kubernetes checks CRD rules against.
"""

from __future__ import annotations

from kybernetes.cel import authz
from kybernetes.cel.cost import Estimate
from kybernetes.cel.errors import CELError, CompileError, CostLimitExceeded, EvalError
from kybernetes.cel.library import Library
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
    sized,
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
    "Estimate",
    "EvalError",
    "IntOrStringType",
    "Library",
    "ListType",
    "MapType",
    "ObjectType",
    "Optional",
    "OptionalType",
    "Program",
    "Timestamp",
    "Type",
    "Uint",
    "authz",
    "compile",
    "sized",
]
