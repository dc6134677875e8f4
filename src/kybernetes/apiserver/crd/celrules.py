"""Compiling ``x-kubernetes-validations`` rules, and the checks a CRD's rules must pass to be stored.

A rule (``rule``, ``message``, ``messageExpression``, ``reason``, ``fieldPath``,
``optionalOldSelf``) is compiled against the CEL type of the schema node it sits on: ``self``
is that node's value and ``oldSelf`` its previous value (an ``optional`` of it when
``optionalOldSelf`` is true). A rule that mentions ``oldSelf`` is a transition rule.

``validate_crd_rules`` gives upstream's CRD validation errors for rules, at upstream's paths:
``spec.validation.openAPIV3Schema`` when every version has the same schema (upstream hoists
such a schema into the internal ``spec.validation``), else
``spec.versions[i].schema.openAPIV3Schema``; then ``.properties[spec]``, ``.items``,
``.additionalProperties`` down to ``.x-kubernetes-validations[i].rule`` and the texts
(``compilation failed: ERROR: <input>:1:6: undefined field 'foo' ...``,
``cel expression must evaluate to a bool``, ``oldSelf cannot be used on the uncorrelatable
portion of the schema within ...``, cost over budget, ...).

Compiled rules are cached by the schema node they belong to (``RuleSet.for_schema``), so a CRD
version's rules are compiled once, not per request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kybernetes import cel
from kybernetes.apiserver.crd import celtypes
from kybernetes.machinery import validation as v
from kybernetes.machinery.errors import Cause

Obj = dict[str, Any]
Schema = dict[str, Any]

XV = "x-kubernetes-validations"
# Limits from upstream's CEL configuration (k8s.io/apiserver/pkg/apis/cel).
PER_CALL_LIMIT = 1_000_000
RUNTIME_CEL_COST_BUDGET = 10_000_000
STATIC_ESTIMATED_COST_LIMIT = 10_000_000
STATIC_ESTIMATED_CRD_COST_LIMIT = 100_000_000
MAX_REQUEST_SIZE_BYTES = 3 * 1024 * 1024
MAX_EVALUATED_MESSAGE_EXPRESSION_SIZE = 5 * 1024
REASONS = ("FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired")
_NEWLINES = re.compile(r"[\n\r]+")


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Obj  # the rule as written in the schema
    program: Any | None  # None: empty rule or compile error
    error: str | None  # compile error detail, as upstream words it
    message_program: Any | None
    message_error: str | None
    uses_old_self: bool
    field_path: str  # normalized fieldPath ("" when none)
    max_cost: int | None
    message_max_cost: int | None

    @property
    def optional_old_self(self) -> bool:
        return self.rule.get("optionalOldSelf") is True


# --- field paths -----------------------------------------------------------------------------------

_PATH_TOKEN = re.compile(r"'(?:[^'\\]|\\.)*'|[.\[\]]|[^.\[\]']+")
_QUOTE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "'": "'",
    "\\": "\\",
}


def _unquote(token: str) -> str:
    out: list[str] = []
    i = 0
    body = token[1:-1]
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            esc = body[i + 1]
            if esc not in _QUOTE_ESCAPES:
                raise ValueError(f"invalid string literal: invalid escape char \\{esc}")
            out.append(_QUOTE_ESCAPES[esc])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def valid_field_path(path: str, schema: Schema) -> tuple[str, Schema]:
    """upstream's ValidFieldPath: ``.a.b``, ``.a['b.c']`` or map keys, every step declared by the
    schema. Returns the normalized path (``a.b``, ``a[key]``) and the schema it leads to;
    raises ValueError with upstream's reason."""
    parts: list[str] = []
    node = schema
    tokens = _PATH_TOKEN.findall(path)
    if "".join(tokens) != path:
        raise ValueError("expected single quoted string but got " + path)

    def step(name: str) -> None:
        nonlocal node
        props = node.get("properties")
        additional = node.get("additionalProperties")
        if props is not None:
            sub = props.get(name)
            if not isinstance(sub, dict):
                raise ValueError("does not refer to a valid field")
            parts.append(("." if parts else "") + name)
            node = sub
        elif isinstance(additional, dict):
            parts.append(f"[{name}]")
            node = additional
        else:
            raise ValueError("does not refer to a valid field")

    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "[":
            if i + 1 >= len(tokens):
                raise ValueError("unexpected end of JSON path")
            quoted = tokens[i + 1]
            if len(quoted) < 2 or quoted[0] != "'" or quoted[-1] != "'":
                raise ValueError(f"expected single quoted string but got {quoted}")
            step(_unquote(quoted))
            if i + 2 >= len(tokens):
                raise ValueError("unexpected end of JSON path")
            if tokens[i + 2] != "]":
                raise ValueError(f"expected ] but got {tokens[i + 2]}")
            i += 3
        elif tok == ".":
            if i + 1 >= len(tokens):
                raise ValueError("unexpected end of JSON path")
            step(tokens[i + 1])
            i += 2
        else:
            raise ValueError(f"expected [ or . but got: {tok}")
    return "".join(parts), node


# --- compiling ---------------------------------------------------------------------------------------


def _mentions_old_self(expression: str, variables: dict[str, cel.Type]) -> bool:
    """Whether the expression refers to the variable oldSelf: compiled without it, the checker
    must complain about exactly that name."""
    if "oldSelf" not in expression:
        return False
    without = {k: t for k, t in variables.items() if k != "oldSelf"}
    try:
        cel.compile(expression, variables=without)
    except cel.CompileError as e:
        return "'oldSelf'" in str(e)
    return False


def _cost(program: Any) -> int | None:
    cost = getattr(program, "estimated_cost", None)
    return cost if isinstance(cost, int) else None


def compile_rule(rule: Obj, self_type: cel.Type, schema: Schema) -> CompiledRule:
    text = str(rule.get("rule") or "")
    field_path = ""
    fp = rule.get("fieldPath")
    if isinstance(fp, str) and fp.strip():
        try:
            field_path, _ = valid_field_path(fp, schema)
        except ValueError:
            field_path = ""
    empty = CompiledRule(rule, None, None, None, None, False, field_path, None, None)
    if not text.strip():
        return empty
    old_type = cel.OptionalType(self_type) if rule.get("optionalOldSelf") is True else self_type
    variables = {"self": self_type, "oldSelf": old_type}
    try:
        program = cel.compile(text, variables=variables)
    except cel.CompileError as e:
        return CompiledRule(rule, None, f"compilation failed: {e}", None, None, False, field_path, None, None)
    if program.output_type != cel.BOOL:
        return CompiledRule(
            rule, None, "cel expression must evaluate to a bool", None, None, False, field_path, None, None
        )
    uses_old = _mentions_old_self(text, variables)
    message_program = None
    message_error = None
    msg_expr = rule.get("messageExpression")
    if isinstance(msg_expr, str) and msg_expr:
        try:
            message_program = cel.compile(msg_expr, variables=variables)
            if message_program.output_type != cel.STRING:
                message_program, message_error = None, "messageExpression must evaluate to a string"
        except cel.CompileError as e:
            message_error = f"messageExpression compilation failed: {e}"
    return CompiledRule(
        rule,
        program,
        None,
        message_program,
        message_error,
        uses_old,
        field_path,
        _cost(program),
        _cost(message_program) if message_program is not None else None,
    )


def compile_rules(schema: Schema, *, resource_root: bool, type_name: str = "self") -> list[CompiledRule]:
    rules = [r for r in schema.get(XV) or [] if isinstance(r, dict)]
    if not rules:
        return []
    self_type = celtypes.schema_type(schema, resource_root=resource_root, name=type_name)
    if self_type is None:
        detail = "rule compiler initialization error: rule declared on schema that does not support validation rules"
        return [CompiledRule(r, None, detail, None, None, False, "", None, None) for r in rules]
    return [compile_rule(r, self_type, schema) for r in rules]


# --- the CRD's own validation -----------------------------------------------------------------------


def go_rule_value(rule: Obj) -> str:
    """A rule as Go's %#v prints upstream's internal ValidationRule (the bad value of a rule
    error). Pointers print as addresses upstream; a fixed one stands in for them."""
    reason = rule.get("reason")
    optional = rule.get("optionalOldSelf")
    reason_text = (
        "(*apiextensions.FieldValueErrorReason)(nil)"
        if reason is None
        else "(*apiextensions.FieldValueErrorReason)(0xc000010000)"
    )
    optional_text = "(*bool)(nil)" if optional is None else "(*bool)(0xc000010008)"
    return (
        f"apiextensions.ValidationRule{{Rule:{v.go_quote(str(rule.get('rule') or ''))}, "
        f"Message:{v.go_quote(str(rule.get('message') or ''))}, "
        f"MessageExpression:{v.go_quote(str(rule.get('messageExpression') or ''))}, "
        f"Reason:{reason_text}, FieldPath:{v.go_quote(str(rule.get('fieldPath') or ''))}, "
        f"OptionalOldSelf:{optional_text}}}"
    )


def cost_error_message(name: str, cost: int, limit: int) -> str:
    factor_value = cost / limit
    if factor_value > 100.0:
        factor = "more than 100x"
    elif factor_value < 1.5:
        factor = f"{factor_value:f}x"
    else:
        factor = f"{factor_value:.1f}x"
    return (
        f"{name} exceeds budget by factor of {factor} (try simplifying the rule, or adding maxItems, "
        "maxProperties, and maxLength where arrays, maps, and strings are declared)"
    )


def _field_problems(rule: Obj, schema: Schema, path: str) -> list[Cause]:
    """The checks made before compiling (upstream's schema errors for a rule)."""
    out: list[Cause] = []
    text = str(rule.get("rule") or "")
    message = rule.get("message")
    message = message if isinstance(message, str) else ""
    trimmed_rule, trimmed_msg = text.strip(), message.strip()
    if not trimmed_rule:
        out.append(v.required(f"{path}.rule", "rule is not specified"))
    elif message and not trimmed_msg:
        out.append(v.invalid(f"{path}.message", message, "message must be non-empty if specified"))
    elif _NEWLINES.search(trimmed_msg):
        out.append(v.invalid(f"{path}.message", message, "message must not contain line breaks"))
    elif _NEWLINES.search(trimmed_rule) and not trimmed_msg:
        out.append(v.required(f"{path}.message", "message must be specified if rule contains line breaks"))
    msg_expr = rule.get("messageExpression")
    if isinstance(msg_expr, str) and msg_expr and not msg_expr.strip():
        out.append(
            v.required(f"{path}.messageExpression", "messageExpression must be non-empty if specified")
        )
    reason = rule.get("reason")
    if reason is not None and reason not in REASONS:
        out.append(v.not_supported(f"{path}.reason", reason, REASONS))
    fp = rule.get("fieldPath")
    if isinstance(fp, str) and fp:
        if not fp.strip():
            out.append(v.invalid(f"{path}.fieldPath", fp, "fieldPath must be non-empty if specified"))
        if _NEWLINES.search(fp):
            out.append(v.invalid(f"{path}.fieldPath", fp, "fieldPath must not contain line breaks"))
        if fp.strip():
            try:
                valid_field_path(fp, schema)
            except ValueError:
                out.append(v.invalid(f"{path}.fieldPath", fp, "fieldPath must be a valid path"))
    return out


_MAX_UINT = 2**64 - 1


def _times_cardinality(cost: int, cardinality: int) -> int:
    """cost x cardinality, saturating as upstream's multiplyWithOverflowGuard."""
    return 0 if cost == 0 else min(cost * cardinality, _MAX_UINT)


def unbounded_cardinality(schema: Schema, *, resource_root: bool) -> int:
    """How many values of `schema` a request could hold when no maxItems/maxProperties above
    it bounds that: as many of its smallest serialization as fit in the request size limit."""
    return MAX_REQUEST_SIZE_BYTES // (celtypes.min_serialized_size(schema, resource_root=resource_root) + 1)


@dataclass
class _Walk:
    out: list[Cause] = field(default_factory=list)
    costs: list[tuple[int, str]] = field(default_factory=list)


def _rules_at(
    schema: Schema,
    path: str,
    walk: _Walk,
    *,
    resource_root: bool,
    uncorrelatable: str | None,
    cardinality: int | None,
    type_name: str,
) -> int:
    """Checks the rules of one node; returns how many schema (non-CEL) errors it found."""
    rules = [r if isinstance(r, dict) else {} for r in schema.get(XV) or []]
    field_errors: list[Cause] = []
    for i, rule in enumerate(rules):
        field_errors += _field_problems(rule, schema, f"{path}.{XV}[{i}]")
    walk.out.extend(field_errors)
    if field_errors or not rules:
        return len(field_errors)
    self_type = celtypes.schema_type(schema, resource_root=resource_root, name=type_name)
    if self_type is None:
        walk.out.append(
            Cause(
                "InternalError",
                "Internal error: rule declared on schema that does not support "
                f"validation rules type: '{schema.get('type') or ''}' x-kubernetes-preserve-unknown-"
                f"fields: '{str(bool(schema.get('x-kubernetes-preserve-unknown-fields'))).lower()}'",
                f"{path}.{XV}",
            )
        )
        return 0
    for i, rule in enumerate(rules):
        rpath = f"{path}.{XV}[{i}]"
        cr = compile_rule(rule, self_type, schema)
        if cr.max_cost is not None:
            card = (
                cardinality
                if cardinality is not None
                else unbounded_cardinality(schema, resource_root=resource_root)
            )
            cost = _times_cardinality(cr.max_cost, card)
            if cost > STATIC_ESTIMATED_COST_LIMIT:
                walk.out.append(
                    v.forbidden(
                        f"{rpath}.rule",
                        cost_error_message("estimated rule cost", cost, STATIC_ESTIMATED_COST_LIMIT),
                    )
                )
            walk.costs.append((cost, f"{rpath}.rule"))
        if cr.error is not None:
            walk.out.append(v.invalid(f"{rpath}.rule", None, cr.error, rendered=go_rule_value(rule)))
        if cr.message_error is not None:
            walk.out.append(
                v.invalid(f"{rpath}.messageExpression", None, cr.message_error, rendered=go_rule_value(rule))
            )
        elif cr.message_max_cost is not None:
            cost = cr.message_max_cost  # upstream does not multiply messageExpression costs
            if cost > STATIC_ESTIMATED_COST_LIMIT:
                walk.out.append(
                    v.forbidden(
                        f"{rpath}.messageExpression",
                        cost_error_message(
                            "estimated messageExpression cost", cost, STATIC_ESTIMATED_COST_LIMIT
                        ),
                    )
                )
            walk.costs.append((cost, f"{rpath}.messageExpression"))
        if cr.error is None and cr.program is not None:
            if cr.uses_old_self and uncorrelatable is not None:
                walk.out.append(
                    v.invalid(
                        f"{rpath}.rule",
                        rule.get("rule"),
                        "oldSelf cannot be used on the "
                        f"uncorrelatable portion of the schema within {uncorrelatable}",
                    )
                )
            elif not cr.uses_old_self and rule.get("optionalOldSelf") is not None:
                walk.out.append(
                    v.invalid(
                        f"{rpath}.optionalOldSelf",
                        rule.get("optionalOldSelf"),
                        "may not be set if oldSelf is not used in rule",
                    )
                )
    return 0


def _walk_schema(
    schema: Any,
    path: str,
    walk: _Walk,
    *,
    resource_root: bool,
    uncorrelatable: str | None,
    cardinality: int | None,
    type_name: str,
) -> int:
    """Children first, then the node's own rules (upstream's order); returns schema errors seen."""
    if not isinstance(schema, dict):
        return 0
    errors = 0
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        max_props = schema.get("maxProperties")
        card = (
            _times_cardinality(cardinality, max(max_props, 0))
            if cardinality is not None and isinstance(max_props, int)
            else None
        )
        errors += _walk_schema(
            additional,
            f"{path}.additionalProperties",
            walk,
            resource_root=bool(additional.get(celtypes.EMBEDDED)),
            uncorrelatable=uncorrelatable,
            cardinality=card,
            type_name=type_name + "[@values]",
        )
    atomic_map = schema.get("x-kubernetes-map-type") == "atomic"
    for name in sorted(schema.get("properties") or {}):
        sub = schema["properties"][name]
        escaped = celtypes.escape_name(name) or name
        errors += _walk_schema(
            sub,
            f"{path}.properties[{name}]",
            walk,
            resource_root=isinstance(sub, dict) and bool(sub.get(celtypes.EMBEDDED)),
            uncorrelatable=uncorrelatable or (path if atomic_map else None),
            cardinality=cardinality,
            type_name=f"{type_name}.{escaped}",
        )
    items = schema.get("items")
    if isinstance(items, dict):
        max_items = schema.get("maxItems")
        card = (
            _times_cardinality(cardinality, max(max_items, 0))
            if cardinality is not None and isinstance(max_items, int)
            else None
        )
        list_map = schema.get("x-kubernetes-list-type") == "map"
        errors += _walk_schema(
            items,
            f"{path}.items",
            walk,
            resource_root=bool(items.get(celtypes.EMBEDDED)),
            uncorrelatable=uncorrelatable or (None if list_map else path),
            cardinality=card,
            type_name=type_name + "[@items]",
        )
    if XV in schema:
        if errors:
            # like upstream: rules are not compiled while the schema below them has problems
            rules = [r if isinstance(r, dict) else {} for r in schema.get(XV) or []]
            for i, rule in enumerate(rules):
                problems = _field_problems(rule, schema, f"{path}.{XV}[{i}]")
                walk.out.extend(problems)
                errors += len(problems)
        else:
            errors += _rules_at(
                schema,
                path,
                walk,
                resource_root=resource_root,
                uncorrelatable=uncorrelatable,
                cardinality=cardinality,
                type_name=type_name,
            )
    return errors


def schema_path_prefixes(crd: Obj) -> list[tuple[str, Schema]]:
    """(path, schema) for each schema to check: one hoisted ``spec.validation.openAPIV3Schema``
    when every version has the same schema, else each version's own."""
    versions = [x for x in (crd.get("spec") or {}).get("versions") or [] if isinstance(x, dict)]
    schemas = [((x.get("schema") or {}).get("openAPIV3Schema")) for x in versions]
    if schemas and all(s == schemas[0] for s in schemas):
        return [("spec.validation.openAPIV3Schema", schemas[0])] if isinstance(schemas[0], dict) else []
    return [
        (f"spec.versions[{i}].schema.openAPIV3Schema", s)
        for i, s in enumerate(schemas)
        if isinstance(s, dict)
    ]


def has_rules(schema: Any) -> bool:
    if isinstance(schema, dict):
        if schema.get(XV):
            return True
        return any(has_rules(x) for k, x in schema.items() if k not in ("enum", "default", "example", XV))
    if isinstance(schema, list):
        return any(has_rules(x) for x in schema)
    return False


def validate_schema_rules(schema: Schema, path: str) -> list[Cause]:
    """Every rule problem of one openAPIV3Schema (rooted at `path`)."""
    if not has_rules(schema):
        return []
    walk = _Walk()
    _walk_schema(schema, path, walk, resource_root=True, uncorrelatable=None, cardinality=1, type_name="self")
    total = min(sum(c for c, _ in walk.costs), _MAX_UINT)
    if total > STATIC_ESTIMATED_CRD_COST_LIMIT:
        # upstream names the four dearest rules among those costing at least 1% of the limit
        dearest = sorted(
            (c for c in walk.costs if c[0] >= STATIC_ESTIMATED_CRD_COST_LIMIT // 100),
            key=lambda c: c[0],
            reverse=True,
        )
        for _, where in dearest[:4]:
            walk.out.append(
                v.forbidden(
                    where,
                    "contributed to estimated rule cost total exceeding cost limit for "
                    "entire OpenAPIv3 schema",
                )
            )
        walk.out.append(
            v.forbidden(
                path,
                cost_error_message(
                    "x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema",
                    total,
                    STATIC_ESTIMATED_CRD_COST_LIMIT,
                ),
            )
        )
    return walk.out


def validate_crd_rules(crd: Obj) -> list[Cause]:
    """Upstream's CRD validation of every ``x-kubernetes-validations`` rule of every version."""
    out: list[Cause] = []
    for path, schema in schema_path_prefixes(crd):
        out += validate_schema_rules(schema, path)
    return out


def crd_rule_causes(crd: Obj, schema_causes: list[Cause]) -> list[Cause]:
    """The rule causes to add to a CRD's other validation causes: none while its schemas have
    structural problems (upstream compiles rules only for valid structural schemas)."""
    if any("openAPIV3Schema" in c.field for c in schema_causes):
        return []
    return validate_crd_rules(crd)
