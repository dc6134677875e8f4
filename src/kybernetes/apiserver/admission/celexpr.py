"""Compiling one admission CEL expression the way the API server reports it.

Why: webhook matchConditions and ValidatingAdmissionPolicy expressions are compiled against
declared variables and must produce a given type; both report a failure with the same details
(``compilation failed: <checker errors>``, ``must evaluate to bool but got int``), which the
create/update validation of their configurations shows as the field's "Invalid value" message
and the admission path turns into a rejection. One compile step keeps those texts the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from kybernetes import cel

BOOL_RESULT = ("bool",)
STRING_RESULT = ("string",)
ANNOTATION_RESULT = ("string", "null_type")


@dataclass(frozen=True, slots=True)
class Compiled:
    """One expression: a program, or upstream's error detail for it."""

    expression: str
    program: cel.Program | None = None
    error: str | None = None

    @property
    def output_type(self) -> cel.Type:
        return self.program.output_type if self.program is not None else cel.DYN


def compile_expression(
    expression: str, decls: dict[str, cel.Type], results: tuple[str, ...] | None
) -> Compiled:
    """Compile and check the result type; `results` None accepts any type (policy variables)."""
    try:
        program = cel.compile(expression, variables=decls)
    except cel.CompileError as e:
        return Compiled(expression, None, f"compilation failed: {e}")
    got = str(program.output_type)
    if results is not None and got not in results:
        wanted = results[0] if len(results) == 1 else "one of [" + " ".join(results) + "]"
        return Compiled(expression, None, f"must evaluate to {wanted} but got {got}")
    return Compiled(expression, program)
