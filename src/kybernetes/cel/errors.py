"""Errors raised by the CEL compiler and evaluator.

Compile errors carry cel-go's issue format (``ERROR: <input>:line:col: message`` followed by the
source line and a caret) because Kubernetes copies that text verbatim into the Status it returns
for a bad ``x-kubernetes-validations`` rule, and users (and tests) read it there.
"""

from __future__ import annotations

from dataclasses import dataclass


class CELError(Exception):
    """Base of every error this package raises on purpose."""


@dataclass(frozen=True, slots=True)
class Issue:
    offset: int  # code-point offset into the source, -1 when unknown
    message: str


def location(source: str, offset: int) -> tuple[int, int]:
    """1-based line and 1-based column of a code-point offset."""
    line = source.count("\n", 0, offset) + 1
    start = source.rfind("\n", 0, offset) + 1
    return line, offset - start + 1


def format_issue(source: str, issue: Issue) -> str:
    if issue.offset < 0:
        return f"ERROR: <input>:-1:0: {issue.message}"
    line, col = location(source, issue.offset)
    text = source.split("\n")[line - 1]
    # cel-go draws the caret under the column; a wide (non-ASCII) character before it is
    # drawn as a full-width dot so the caret still lines up in a terminal.
    dots = "".join("\uff0e" if ord(ch) > 0x7F else "." for ch in text[: col - 1])
    return f"ERROR: <input>:{line}:{col}: {issue.message}\n | {text}\n | {dots}^"


class CompileError(CELError):
    """The expression does not parse or does not type-check; str() lists every issue."""

    def __init__(self, source: str, issues: list[Issue]) -> None:
        self.source = source
        self.issues = issues
        super().__init__("\n".join(format_issue(source, i) for i in issues))


class EvalError(CELError):
    """A runtime error (no such key, division by zero, overflow, no such overload...)."""


class CostLimitExceeded(EvalError):
    """The evaluation used more than its cost budget."""

    def __init__(self, message: str = "operation cancelled: actual cost limit exceeded") -> None:
        super().__init__(message)
