"""Enforcing ``x-kubernetes-validations`` on custom resources (create, update, status update).

Theory of operation
-------------------
``RuleTree.build(schema)`` compiles every rule once per CRD version (the tree hangs off the
``CustomVersion``) and keeps only the branches of the schema that lead to rules.
``RuleTree.validate(obj, old)`` walks the (pruned, defaulted) object along the tree, as
upstream's CEL validator does:

1. a rule applies at every value its schema node describes: object fields, list items, map
   values; ``self`` is the value converted for CEL (``celtypes.to_cel_value``); null values
   are never checked;
2. the old value of a node is correlated by field name (objects), key (maps), and by the
   key fields of ``x-kubernetes-list-type: map`` lists; other list items, and children of
   ``x-kubernetes-map-type: atomic`` objects, have no old value. A transition rule (one that
   mentions ``oldSelf``) runs only where an old value exists, unless ``optionalOldSelf``
   (then ``oldSelf`` is an optional, empty on create);
3. ratcheting (upstream's CRDValidationRatcheting, on in 1.32): on update, a failing rule that
   does not use ``oldSelf`` is not an error where the value is unchanged from the old one (for
   nodes with no old value of their own: where the nearest correlated ancestor is unchanged);
4. a false rule becomes a cause at the node's path (plus the rule's ``fieldPath``) with the
   rule's ``reason`` (Invalid by default, Forbidden, Required, Duplicate); the text is the
   ``messageExpression`` result, else ``message``, else ``failed rule: <rule>``. The bad value
   shown is the node's schema type (``Invalid value: "object": ...``), as upstream 1.32 does;
   a rule at the root has the field ``<nil>``;
5. every evaluation is limited to upstream's per-call cost and the request to the runtime
   budget; errors at runtime get upstream's texts.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any, Protocol

from kybernetes import cel
from kybernetes.apiserver.crd import celrules, celtypes
from kybernetes.machinery import validation as v
from kybernetes.machinery.errors import Cause

Schema = dict[str, Any]
ROOT = "<nil>"  # upstream's text for the nil field path of the resource root
BLOCKING = frozenset(
    {
        "FieldValueNotSupported",
        "FieldValueRequired",
        "FieldValueTooLong",
        "FieldValueTooMany",
        "FieldValueTypeInvalid",
    }
)
NOT_CHECKED = (
    "some validation rules were not checked because the object was invalid; correct the existing "
    "errors to complete validation"
)


def not_checked_cause() -> Cause:
    return Cause("FieldValueInvalid", f'Invalid value: "null": {NOT_CHECKED}', ROOT)


def has_blocking_error(causes: list[Cause]) -> bool:
    """Type, required, enum, size errors mean the object lacks the shape rules were written for."""
    return any(c.type in BLOCKING for c in causes)


@dataclass
class RuleTree:
    schema: Schema
    rules: list[celrules.CompiledRule]
    resource_root: bool
    properties: dict[str, RuleTree] = field(default_factory=dict)
    items: RuleTree | None = None
    additional: RuleTree | None = None

    @property
    def uses_old_self(self) -> bool:
        return any(r.uses_old_self for r in self.rules)

    @classmethod
    def build(cls, schema: Any, *, resource_root: bool = True, type_name: str = "self") -> RuleTree | None:
        """The tree of rules under `schema`, or None when it has none."""
        if not isinstance(schema, dict) or not celrules.has_rules(schema):
            return None
        node = cls(
            schema,
            celrules.compile_rules(schema, resource_root=resource_root, type_name=type_name),
            resource_root,
        )
        for name, sub in (schema.get("properties") or {}).items():
            if isinstance(sub, dict) and celtypes.schema_type(sub) is not None:
                child = cls.build(
                    sub,
                    resource_root=bool(sub.get(celtypes.EMBEDDED)),
                    type_name=f"{type_name}.{celtypes.escape_name(name) or name}",
                )
                if child is not None:
                    node.properties[name] = child
        items = schema.get("items")
        if isinstance(items, dict):
            node.items = cls.build(
                items, resource_root=bool(items.get(celtypes.EMBEDDED)), type_name=type_name + "[@items]"
            )
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            node.additional = cls.build(
                additional,
                resource_root=bool(additional.get(celtypes.EMBEDDED)),
                type_name=type_name + "[@values]",
            )
        return node

    def validate(
        self,
        obj: Any,
        old: Any = None,
        *,
        budget: int = celrules.RUNTIME_CEL_COST_BUDGET,
        warnings: list[str] | None = None,
    ) -> list[Cause]:
        """Every rule violation of `obj` (with `old` on update), paths as upstream prints them;
        ratcheted violations go to `warnings` as upstream's warning texts."""
        run = _Run(budget)
        run.node(self, None, obj, old, correlated=old is not None, parent_unchanged=False)
        if warnings is not None:
            warnings.extend(run.warnings)
        return run.out


def _child(path: str | None, name: str) -> str:
    return name if path is None else f"{path}.{name}"


def _key(path: str | None, key: str) -> str:
    return f"{path or ''}[{key}]"


def _index(path: str | None, i: int) -> str:
    return f"{path or ''}[{i}]"


def _list_map_old(schema: Schema, old: Any) -> dict[tuple[Any, ...], Any]:
    """Old items of a list-type=map list by their key values."""
    keys = [k for k in schema.get("x-kubernetes-list-map-keys") or [] if isinstance(k, str)]
    if schema.get("x-kubernetes-list-type") != "map" or not keys or not isinstance(old, list):
        return {}
    out: dict[tuple[Any, ...], Any] = {}
    for item in old:
        if isinstance(item, dict):
            out.setdefault(_item_key(item, keys), item)
    return out


def _item_key(item: dict[str, Any], keys: list[str]) -> tuple[Any, ...]:
    return tuple(repr(item.get(k)) for k in keys)


class _Run:
    """One validation pass: the causes found and the cost budget left."""

    def __init__(self, budget: int) -> None:
        self.remaining = budget
        self.out: list[Cause] = []
        self.warnings: list[str] = []

    def node(
        self,
        tree: RuleTree,
        path: str | None,
        obj: Any,
        old: Any,
        *,
        correlated: bool,
        parent_unchanged: bool,
    ) -> None:
        if obj is None or self.remaining < 0:
            return
        unchanged = (old is not None and obj == old) if correlated else parent_unchanged
        self.expressions(tree, path, obj, old if correlated else None, unchanged)
        if self.remaining < 0:
            return
        schema = tree.schema
        if isinstance(obj, list) and tree.items is not None:
            olds = _list_map_old(schema, old)
            keys = [k for k in schema.get("x-kubernetes-list-map-keys") or [] if isinstance(k, str)]
            for i, item in enumerate(obj):
                old_item = olds.get(_item_key(item, keys)) if olds and isinstance(item, dict) else None
                self.node(
                    tree.items,
                    _index(path, i),
                    item,
                    old_item,
                    correlated=bool(olds),
                    parent_unchanged=unchanged,
                )
                if self.remaining < 0:
                    return
        elif isinstance(obj, dict):
            old_map = old if isinstance(old, dict) and correlated else {}
            keep = schema.get("x-kubernetes-map-type") != "atomic"
            for k, val in obj.items():
                if tree.additional is not None:
                    sub, sub_path = tree.additional, _key(path, k)
                elif k in tree.properties:
                    sub, sub_path = tree.properties[k], _child(path, k)
                else:
                    continue
                self.node(
                    sub,
                    sub_path,
                    val,
                    old_map.get(k) if keep else None,
                    correlated=keep and correlated,
                    parent_unchanged=unchanged,
                )
                if self.remaining < 0:
                    return

    def expressions(self, tree: RuleTree, path: str | None, obj: Any, old: Any, unchanged: bool) -> None:
        if not tree.rules:
            return
        schema_type = str(tree.schema.get("type") or "")
        where = path if path is not None else ROOT
        if self.remaining <= 0:
            self.out.append(
                _invalid(
                    where,
                    schema_type,
                    "validation failed due to running out of cost budget, "
                    "no further validation rules will be run",
                )
            )
            self.remaining = -1
            return
        value = celtypes.to_cel_value(obj, tree.schema, resource_root=tree.resource_root)
        old_value = (
            celtypes.to_cel_value(old, tree.schema, resource_root=tree.resource_root)
            if old is not None
            else None
        )
        for compiled in tree.rules:
            rule = compiled.rule
            if compiled.error is not None:
                self.out.append(_invalid(where, schema_type, f"rule compile error: {compiled.error}"))
                continue
            if compiled.program is None:
                continue
            if compiled.uses_old_self and old is None and not compiled.optional_old_self:
                continue
            activation: dict[str, Any] = {"self": value}
            if compiled.optional_old_self:
                activation["oldSelf"] = (
                    cel.Optional(True, old_value) if old is not None else cel.Optional(False)
                )
            elif old is not None:
                activation["oldSelf"] = old_value
            try:
                result, cost = _evaluate(compiled.program, activation)
            except cel.CostLimitExceeded as e:
                self.out.append(
                    _invalid(
                        where,
                        schema_type,
                        f"'{e}': no further validation rules will be run due "
                        f"to call cost exceeds limit for rule: {_rule_text(rule)}",
                    )
                )
                self.remaining = -1
                return
            except cel.EvalError as e:
                text = str(e)
                if text.startswith("no such overload"):
                    problem = (
                        f"'{text}': call arguments did not match a supported operator, function or macro "
                        f"signature for rule: {_rule_text(rule)}"
                    )
                else:
                    problem = f"{text} evaluating rule: {_rule_text(rule)}"
                self.out.append(_invalid(where, schema_type, problem))
                continue
            if cost > self.remaining:
                self.out.append(
                    _invalid(
                        where,
                        schema_type,
                        "validation failed due to running out of cost budget, "
                        "no further validation rules will be run",
                    )
                )
                self.remaining = -1
                return
            self.remaining -= cost
            if result is True:
                continue
            err_path = where
            if compiled.field_path:
                err_path = _child(path, compiled.field_path)
            detail: str | None = None
            if compiled.message_program is not None:
                detail, stop = self.message(compiled, activation)
                if stop is not None:
                    self.add(_invalid(err_path, schema_type, stop), compiled, unchanged)
                    self.remaining = -1
                    return
            if detail is None:
                detail = (
                    str(rule.get("message")).strip()
                    if rule.get("message")
                    else f"failed rule: {_rule_text(rule)}"
                )
            self.add(_for_reason(err_path, schema_type, detail, rule.get("reason")), compiled, unchanged)

    def message(
        self, compiled: celrules.CompiledRule, activation: dict[str, Any]
    ) -> tuple[str | None, str | None]:
        """(text of the messageExpression or None to fall back to the message, or the detail of
        an error that stops validation)."""
        source = str(compiled.rule.get("messageExpression") or "")
        try:
            result, cost = _evaluate(compiled.message_program, activation)
        except cel.CostLimitExceeded:
            return None, (
                "no further validation rules will be run due to call cost exceeds limit for "
                f"messageExpression: {v.go_quote(source)}"
            )
        except cel.EvalError:
            return None, None  # upstream logs it and falls back to the rule's message
        if cost > self.remaining:
            return None, (
                "messageExpression evaluation failed due to running out of cost budget, "
                "no further validation rules will be run"
            )
        self.remaining -= cost
        if not isinstance(result, str):
            return None, None
        text = result.strip()
        if not text or len(text) > celrules.MAX_EVALUATED_MESSAGE_EXPRESSION_SIZE or "\n" in text:
            return None, None
        return text, None

    def add(self, cause: Cause, compiled: celrules.CompiledRule, unchanged: bool) -> None:
        if unchanged and not compiled.uses_old_self:
            # ratcheted: the value was already like this before the update; upstream warns
            self.warnings.append(f"{cause.field}: {cause.message}")
            return
        self.out.append(cause)


def _evaluate(program: Any, activation: dict[str, Any]) -> tuple[Any, int]:
    """Result and actual cost of one evaluation under upstream's per-call limit (a program
    that does not report its cost counts as free: only the per-call limit holds then)."""
    result = program.evaluate(activation, cost_limit=celrules.PER_CALL_LIMIT)
    cost = getattr(program, "actual_cost", 0)
    return result, cost if isinstance(cost, int) else 0


def _rule_text(rule: dict[str, Any]) -> str:
    message = rule.get("message")
    if isinstance(message, str) and message:
        return message.strip()
    return str(rule.get("rule") or "").strip()


def _invalid(path: str, schema_type: str, detail: str) -> Cause:
    return Cause("FieldValueInvalid", f"Invalid value: {v.go_quote(schema_type)}: {detail}", path)


def _for_reason(path: str, schema_type: str, detail: str, reason: Any) -> Cause:
    if reason == "FieldValueForbidden":
        return v.forbidden(path, detail)
    if reason == "FieldValueRequired":
        return v.required(path, detail)
    if reason == "FieldValueDuplicate":
        return Cause("FieldValueDuplicate", f"Duplicate value: {v.go_quote(schema_type)}", path)
    return _invalid(path, schema_type, detail)


class _Owner(Protocol):
    @property
    def schema(self) -> Schema | None: ...

    def prune_and_default(self, obj: dict[str, Any]) -> tuple[dict[str, Any], list[str]]: ...


_TREES: weakref.WeakKeyDictionary[Any, RuleTree | None] = weakref.WeakKeyDictionary()


def tree_for(owner: _Owner) -> RuleTree | None:
    """The compiled rules of a CRD version, compiled on first use and kept as long as the
    version object lives (a CRD update builds a new one, so its rules are compiled anew)."""
    try:
        return _TREES[owner]
    except KeyError:
        pass
    tree = RuleTree.build(owner.schema) if owner.schema is not None else None
    _TREES[owner] = tree
    return tree


def rule_causes(
    owner: _Owner,
    obj: dict[str, Any],
    old: dict[str, Any] | None,
    schema_causes: list[Cause],
    warnings: list[str] | None = None,
) -> list[Cause]:
    """The rule causes of a write of a custom resource, after its schema causes: rules are not
    run on an object with blocking schema errors (upstream then adds one cause saying so)."""
    tree = tree_for(owner)
    if tree is None:
        return []
    if has_blocking_error(schema_causes):
        return [not_checked_cause()]
    old_value = owner.prune_and_default(old)[0] if old is not None else None
    return tree.validate(obj, old_value, warnings=warnings)
