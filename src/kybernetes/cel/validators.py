"""Compile-time checks of literal arguments, as Kubernetes 1.29+ enables in cel-go
(ValidateDurationLiterals, ValidateTimestampLiterals, ValidateRegexLiterals): a constant
``duration('1x')``, ``timestamp('yesterday')`` or ``matches('[')`` fails when the rule is
written rather than when it first runs.
"""

from __future__ import annotations

from kybernetes.cel import ast
from kybernetes.cel.errors import EvalError, Issue


def validate_literal_call(node: ast.Call) -> Issue | None:
    if (
        len(node.args) != 1
        or not isinstance(node.args[0], ast.Literal)
        or type(node.args[0].value) is not str
    ):
        return None
    value = node.args[0].value
    try:
        if node.function == "duration":
            from kybernetes.cel.stdlib.time_fns import duration

            duration(value)
        elif node.function == "timestamp":
            from kybernetes.cel.stdlib.time_fns import timestamp

            timestamp(value)
        else:
            return None
    except EvalError as e:
        return Issue(node.args[0].offset, f"{node.function}() {e}")
    return None
