"""Compile-time checks of literal arguments, as Kubernetes 1.29+ enables in cel-go
(ValidateDurationLiterals, ValidateTimestampLiterals, ValidateRegexLiterals): a constant
``duration('1x')``, ``timestamp('yesterday')`` or ``matches('[')`` fails when the rule is
written rather than when it first runs. Like cel-go, the first argument of the call is the one
checked (for ``s.matches(p)`` that is the pattern).
"""

from __future__ import annotations

from collections.abc import Callable

from kybernetes.cel import ast
from kybernetes.cel.errors import EvalError, Issue


def validate_literal_call(node: ast.Call) -> Issue | None:
    """An issue when `node` calls duration(), timestamp() or matches() with a bad constant."""
    if node.function not in ("duration", "timestamp", "matches") or not node.args:
        return None
    arg = node.args[0]
    if not isinstance(arg, ast.Literal) or type(arg.value) is not str:
        return None
    from kybernetes.cel.stdlib.regex import compile_re2
    from kybernetes.cel.stdlib.time_fns import duration, timestamp

    checks: dict[str, Callable[[str], object]] = {
        "duration": duration,
        "timestamp": timestamp,
        "matches": compile_re2,
    }
    check = checks[node.function]
    try:
        check(arg.value)
    except EvalError:
        return Issue(arg.offset, f"invalid {node.function} argument")
    return None
