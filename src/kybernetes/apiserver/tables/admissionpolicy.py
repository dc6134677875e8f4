"""Table columns of ValidatingAdmissionPolicy (Name, Validations, ParamKind, Age) and
ValidatingAdmissionPolicyBinding (Name, PolicyName, ParamRef, Age), as upstream prints them:
``<unset>`` when there is no paramKind/paramRef, ``*/<name>`` for a paramRef without a
namespace, and a selector in Go's printed struct form (what upstream shows for it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kybernetes.apiserver.tables.format import Obj, age, as_dict, as_list, dig, name
from kybernetes.apiserver.tables.printer import AGE, NAME, Printer, col

UNSET = "<unset>"


def go_selector(selector: Obj) -> str:
    """A LabelSelector the way its generated Go ``String()`` prints it."""
    labels = as_dict(selector.get("matchLabels"))
    label_text = "".join(f"{k}: {labels[k]}," for k in sorted(labels))
    exprs = ""
    for e in as_list(selector.get("matchExpressions")):
        e = as_dict(e)
        values = " ".join(str(v) for v in as_list(e.get("values")))
        exprs += f"LabelSelectorRequirement{{Key:{e.get('key', '')},Operator:{e.get('operator', '')},Values:[{values}],}},"
    return (
        f"&LabelSelector{{MatchLabels:map[string]string{{{label_text}}},"
        f"MatchExpressions:[]LabelSelectorRequirement{{{exprs}}},}}"
    )


def _policy(obj: Obj, now: datetime) -> list[Any]:
    pk = dig(obj, "spec", "paramKind")
    param_kind = f"{pk.get('apiVersion', '')}/{pk.get('kind', '')}" if isinstance(pk, dict) else UNSET
    return [name(obj), len(as_list(dig(obj, "spec", "validations"))), param_kind, age(obj, now)]


def param_ref_text(ref: Any) -> str:
    if not isinstance(ref, dict):
        return UNSET
    if ref.get("name"):
        return f"{ref.get('namespace') or '*'}/{ref['name']}"
    if isinstance(ref.get("selector"), dict):
        return go_selector(ref["selector"])
    return UNSET


def _binding(obj: Obj, now: datetime) -> list[Any]:
    return [
        name(obj),
        str(dig(obj, "spec", "policyName") or ""),
        param_ref_text(dig(obj, "spec", "paramRef")),
        age(obj, now),
    ]


POLICY = Printer(
    (
        NAME,
        col("Validations", "How many validation rules the policy has.", "integer"),
        col("ParamKind", "The kind of object that parameterizes the policy."),
        AGE,
    ),
    _policy,
)
BINDING = Printer(
    (
        NAME,
        col("PolicyName", "The policy the binding puts into effect."),
        col("ParamRef", "The parameter object(s) the binding gives the policy."),
        AGE,
    ),
    _binding,
)
