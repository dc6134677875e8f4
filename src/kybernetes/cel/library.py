"""Libraries: how a caller adds its own functions and variables to one compilation.

The standard and Kubernetes libraries are always present; a ``Library`` adds more for the
programs compiled with it (``compile(expr, variables=..., libraries=[lib])``) without changing
what other callers see::

    lib = Library("example.ops")
    lib.variable("params", cel.DYN)
    lib.function("double", lambda x: x * 2, "double(int) -> int", "<int>.double() -> int")
    cel.compile("params.n.double() == 4", variables={}, libraries=[lib])

Signatures use the notation of the standard library (``<receiver>.name(args) -> result``, one
capital letter for a type parameter). An implementation receives the evaluated arguments
(receiver first) and raises ``NoSuchOverload`` (or ``EvalError``) for arguments it does not
take; when a library function has the name of an existing one, both are tried, the
library's last. ``cost`` adds runtime cost from the arguments beyond the flat 1 per call;
``estimated_cost`` is the fixed static estimate of one call (default: as cel-go prices an
unknown function, 1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kybernetes.cel import types as t
from kybernetes.cel.stdlib import Function, define, either


@dataclass
class Library:
    name: str
    functions: dict[str, Function] = field(default_factory=dict)
    variables: dict[str, t.Type] = field(default_factory=dict)

    def function(
        self,
        name: str,
        impl: Callable[..., Any],
        *signatures: str,
        cost: Callable[..., int] | None = None,
        estimated_cost: int | None = None,
    ) -> Library:
        """Add function `name` with its overload signatures; returns the library (chainable)."""
        fn = define(name, impl, *signatures, cost=cost, registry=self.functions)
        if estimated_cost is not None:
            fn.estimated_cost = estimated_cost
        return self

    def variable(self, name: str, typ: t.Type) -> Library:
        """Declare variable `name` (dotted names such as ``a.b`` are allowed)."""
        self.variables[name] = typ
        return self


def merge_functions(base: Mapping[str, Function], libraries: Iterable[Library]) -> dict[str, Function]:
    """The registry a compilation with `libraries` sees: `base` plus every library's functions."""
    merged = dict(base)
    for library in libraries:
        for name, fn in library.functions.items():
            existing = merged.get(name)
            if existing is None:
                merged[name] = fn
                continue
            merged[name] = Function(
                name,
                either(existing.impl, fn.impl),
                [*existing.overloads, *fn.overloads],
                cost=fn.cost or existing.cost,
                estimated_cost=fn.estimated_cost
                if fn.estimated_cost is not None
                else existing.estimated_cost,
            )
    return merged


def merge_variables(variables: Mapping[str, t.Type], libraries: Iterable[Library]) -> dict[str, t.Type]:
    """Library declarations first, so that the caller's own declarations win."""
    merged: dict[str, t.Type] = {}
    for library in libraries:
        merged.update(library.variables)
    merged.update(variables)
    return merged
