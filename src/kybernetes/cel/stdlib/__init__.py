"""The function registry shared by the checker (signatures) and the evaluator (implementations).

Each CEL function has one Python implementation that receives evaluated arguments (receiver
first for method-style calls) and dispatches on their runtime types itself, raising
``NoSuchOverload`` when none fits; plus the list of typed signatures the checker resolves
against. Signatures are written in CEL's own type notation: ``size(string) -> int`` for a
global function, ``<string>.size() -> int`` for a method; one capital letter is a type
parameter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kybernetes.cel import types as t


@dataclass(frozen=True, slots=True)
class Overload:
    member: bool
    params: tuple[t.Type, ...]  # receiver first for methods
    result: t.Type


@dataclass(slots=True)
class Function:
    name: str
    impl: Callable[..., Any]
    overloads: list[Overload] = field(default_factory=list)
    # Extra runtime cost beyond the flat 1 per call, from the evaluated arguments.
    cost: Callable[..., int] | None = None
    # Fixed static cost estimate of a call (arguments excluded); None: the estimator's own rule.
    estimated_cost: int | None = None


REGISTRY: dict[str, Function] = {}

_SIG = re.compile(r"^(?:<(?P<recv>[^>]+)>\.)?(?P<name>[^(]+)\((?P<params>.*)\)\s*->\s*(?P<result>.+)$")


def parse_type(text: str) -> t.Type:
    text = text.strip()
    if len(text) == 1 and text.isupper():
        return t.TypeParam(text)
    if text == "_":
        return t.FREE
    if "(" not in text:
        return t.SCALARS.get(text) or _NAMED.get(text) or t.Type(text)
    name, _, rest = text.partition("(")
    return t.Type(name.strip(), tuple(parse_type(p) for p in _split(rest[:-1])))


_NAMED = {
    "timestamp": t.TIMESTAMP,
    "duration": t.DURATION,
    "null": t.NULL,
    "Quantity": t.QUANTITY,
    "URL": t.URL,
    "IP": t.IP,
    "CIDR": t.CIDR,
}


def _split(params: str) -> list[str]:
    parts: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(params):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(params[start:i])
            start = i + 1
    if params[start:].strip():
        parts.append(params[start:])
    return parts


def define(
    name: str,
    impl: Callable[..., Any],
    *signatures: str,
    cost: Callable[..., int] | None = None,
    registry: dict[str, Function] | None = None,
) -> Function:
    """Register `impl` as CEL function `name` with the given signatures (in the shared
    registry unless another is given)."""
    registry = REGISTRY if registry is None else registry
    fn = registry.get(name)
    if fn is None:
        fn = registry[name] = Function(name, impl, cost=cost)
    elif fn.impl is not impl:
        # Two libraries define the same name (strings and lists both have indexOf).
        fn.impl = either(fn.impl, impl)
    for sig in signatures:
        m = _SIG.match(sig)
        if m is None or m["name"] != name:
            raise ValueError(f"bad signature for {name}: {sig}")
        params = tuple(parse_type(p) for p in _split(m["params"]))
        recv = m["recv"]
        if recv is not None:
            params = (parse_type(recv), *params)
        fn.overloads.append(Overload(recv is not None, params, parse_type(m["result"])))
    return fn


def either(first: Callable[..., Any], second: Callable[..., Any]) -> Callable[..., Any]:
    from kybernetes.cel.values import NoSuchOverload

    def either(*args: Any) -> Any:
        try:
            return first(*args)
        except NoSuchOverload:
            return second(*args)

    return either


def load() -> dict[str, Function]:
    """Import every library module (each registers its functions) and return the registry."""
    from kybernetes.cel import authz  # noqa: F401
    from kybernetes.cel.stdlib import (  # noqa: F401
        core,
        ext_strings,
        k8s_format,
        k8s_lists,
        k8s_misc,
        optionals,
        regex,
        time_fns,
    )

    return REGISTRY
