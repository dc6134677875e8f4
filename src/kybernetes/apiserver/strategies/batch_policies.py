"""Validation of the Job spec's policy fields, as upstream 1.32's batch validation.

Kept apart from the Job strategy because these fields (podFailurePolicy, successPolicy,
backoffLimitPerIndex/maxFailedIndexes, podReplacementPolicy, managedBy) have their own rules and
limits and make up most of the Job's validation. The features behind them are all on by default
in 1.32 (JobManagedBy became beta there), so none is dropped on write.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from kybernetes.apiserver.strategies.networking import is_domain_prefixed_path
from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import (
    child,
    duplicate,
    index,
    invalid,
    is_qualified_name,
    not_supported,
    required,
    validate_nonnegative,
)

Obj = dict[str, Any]

MAX_PARALLELISM_INDEXED = 100_000
MAX_FAILED_INDEXES = 100_000
COMPLETIONS_SOFT_LIMIT = 100_000
PARALLELISM_LIMIT_HIGH_COMPLETIONS = 10_000
MAX_FAILED_INDEXES_HIGH_COMPLETIONS = 10_000
MAX_POLICY_RULES = 20
MAX_EXIT_CODE_VALUES = 255
MAX_CONDITION_PATTERNS = 20
MAX_MANAGED_BY_LENGTH = 63
MAX_SUCCEEDED_INDEXES_LENGTH = 64 * 1024
MAX_SUCCESS_RULES = 20

POLICY_ACTIONS = ("Count", "FailIndex", "FailJob", "Ignore")  # upstream lists them sorted
EXIT_CODE_OPERATORS = ("In", "NotIn")
CONDITION_STATUSES = ("False", "True", "Unknown")
REPLACEMENT_POLICIES = ("Failed", "TerminatingOrFailed")


def _is_int(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def invalid_omitted(path: str, detail: str) -> Cause:
    """field.Invalid with the value left out (upstream's OmitValueType)."""
    return Cause("FieldValueInvalid", f"Invalid value: {detail}", path)


def too_many(path: str, actual: int, limit: int) -> Cause:
    return Cause("FieldValueTooMany", f"Too many: {actual}: must have at most {limit} items", path)


def too_long_max_length(path: str, limit: int) -> Cause:
    return Cause("FieldValueTooLong", f"Too long: may not be longer than {limit}", path)


def validate_job_policies(s: Obj, path: str) -> list[Cause]:
    """The policy fields of a JobSpec (also a CronJob's job template), in upstream's order."""
    causes: list[Cause] = []
    per_index = s.get("backoffLimitPerIndex")
    max_failed = s.get("maxFailedIndexes")
    completions = s.get("completions")
    indexed = s.get("completionMode") == "Indexed"
    causes += validate_nonnegative(per_index, child(path, "backoffLimitPerIndex"))
    if max_failed is not None:
        causes += validate_nonnegative(max_failed, child(path, "maxFailedIndexes"))
        if per_index is None:
            causes.append(required(child(path, "backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
    managed_by = s.get("managedBy")
    if isinstance(managed_by, str):
        causes += is_domain_prefixed_path(child(path, "managedBy"), managed_by)
        if len(managed_by) > MAX_MANAGED_BY_LENGTH:
            causes.append(too_long_max_length(child(path, "managedBy"), MAX_MANAGED_BY_LENGTH))
    if indexed:
        causes += _indexed_limits(s, path)
    else:
        for f in ("backoffLimitPerIndex", "maxFailedIndexes"):
            if s.get(f) is not None:
                causes.append(invalid(child(path, f), s.get(f), "requires indexed completion mode"))
    pfp = s.get("podFailurePolicy")
    if isinstance(pfp, dict):
        causes += _pod_failure_policy(s, pfp, child(path, "podFailurePolicy"))
    sp = s.get("successPolicy")
    if isinstance(sp, dict):
        if not indexed:
            causes.append(invalid(child(path, "successPolicy"), sp, "requires indexed completion mode"))
        else:
            causes += _success_policy(
                sp, completions if _is_int(completions) else 0, child(path, "successPolicy")
            )
    rp = s.get("podReplacementPolicy")
    if rp is not None:
        allowed = ("Failed",) if isinstance(pfp, dict) else REPLACEMENT_POLICIES
        if rp not in allowed:
            causes.append(not_supported(child(path, "podReplacementPolicy"), rp, allowed))
    return causes


def validate_restart_with_failure_policy(s: Obj, path: str) -> list[Cause]:
    """A pod failure policy needs restartPolicy Never (OnFailure would hide the failures)."""
    rp = ((s.get("template") or {}).get("spec") or {}).get("restartPolicy")
    if isinstance(s.get("podFailurePolicy"), dict) and rp == "OnFailure":
        return [
            invalid(
                child(path, "template", "spec", "restartPolicy"),
                rp,
                'only "Never" is supported when podFailurePolicy is specified',
            )
        ]
    return []


def _indexed_limits(s: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    completions, parallelism = s.get("completions"), s.get("parallelism")
    per_index, max_failed = s.get("backoffLimitPerIndex"), s.get("maxFailedIndexes")
    if _is_int(parallelism) and parallelism > MAX_PARALLELISM_INDEXED:
        causes.append(
            invalid(
                child(path, "parallelism"),
                parallelism,
                f"must be less than or equal to {MAX_PARALLELISM_INDEXED} when completion mode is Indexed",
            )
        )
    if _is_int(completions) and _is_int(max_failed) and max_failed > completions:
        causes.append(
            invalid(child(path, "maxFailedIndexes"), max_failed, "must be less than or equal to completions")
        )
    if _is_int(max_failed) and max_failed > MAX_FAILED_INDEXES:
        causes.append(
            invalid(
                child(path, "maxFailedIndexes"),
                max_failed,
                f"must be less than or equal to {MAX_FAILED_INDEXES}",
            )
        )
    if _is_int(completions) and completions > COMPLETIONS_SOFT_LIMIT and per_index is not None:
        tail = f"when completions are above {COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index"
        if max_failed is None:
            causes.append(
                required(
                    child(path, "maxFailedIndexes"),
                    f"must be specified when completions is above {COMPLETIONS_SOFT_LIMIT}",
                )
            )
        if _is_int(parallelism) and parallelism > PARALLELISM_LIMIT_HIGH_COMPLETIONS:
            causes.append(
                invalid(
                    child(path, "parallelism"),
                    parallelism,
                    f"must be less than or equal to {PARALLELISM_LIMIT_HIGH_COMPLETIONS} {tail}",
                )
            )
        if _is_int(max_failed) and max_failed > MAX_FAILED_INDEXES_HIGH_COMPLETIONS:
            causes.append(
                invalid(
                    child(path, "maxFailedIndexes"),
                    max_failed,
                    f"must be less than or equal to {MAX_FAILED_INDEXES_HIGH_COMPLETIONS} {tail}",
                )
            )
    return causes


# --- podFailurePolicy ---------------------------------------------------------------------------
def _pod_failure_policy(s: Obj, pfp: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    rules = pfp.get("rules") or []
    rules_path = child(path, "rules")
    if len(rules) > MAX_POLICY_RULES:
        causes.append(too_many(rules_path, len(rules), MAX_POLICY_RULES))
    pspec = (s.get("template") or {}).get("spec") or {}
    names = {
        c.get("name")
        for k in ("containers", "initContainers")
        for c in pspec.get(k) or []
        if isinstance(c, dict)
    }
    for i, rule in enumerate(rules):
        if isinstance(rule, dict):
            causes += _policy_rule(s, rule, index(rules_path, i), names)
    return causes


def _policy_rule(s: Obj, rule: Obj, path: str, names: set[Any]) -> list[Cause]:
    causes: list[Cause] = []
    action = rule.get("action") or ""
    action_path = child(path, "action")
    if not action:
        causes.append(
            required(action_path, "valid values: [" + " ".join(f'"{a}"' for a in POLICY_ACTIONS) + "]")
        )
    elif action == "FailIndex":
        if s.get("backoffLimitPerIndex") is None:
            causes.append(invalid(action_path, action, "requires the backoffLimitPerIndex to be set"))
    elif action not in POLICY_ACTIONS:
        causes.append(not_supported(action_path, action, POLICY_ACTIONS))
    on_codes = rule.get("onExitCodes")
    patterns = rule.get("onPodConditions") or []
    if isinstance(on_codes, dict):
        causes += _on_exit_codes(on_codes, child(path, "onExitCodes"), names)
    if patterns:
        causes += _on_pod_conditions(patterns, child(path, "onPodConditions"))
    if on_codes is not None and patterns:
        causes.append(
            invalid_omitted(path, "specifying both OnExitCodes and OnPodConditions is not supported")
        )
    if on_codes is None and not patterns:
        causes.append(invalid_omitted(path, "specifying one of OnExitCodes and OnPodConditions is required"))
    return causes


def _on_exit_codes(req: Obj, path: str, names: set[Any]) -> list[Cause]:
    causes: list[Cause] = []
    op = req.get("operator") or ""
    op_path = child(path, "operator")
    if not op:
        causes.append(required(op_path, 'valid values: ["In" "NotIn"]'))
    elif op not in EXIT_CODE_OPERATORS:
        causes.append(not_supported(op_path, op, EXIT_CODE_OPERATORS))
    cname = req.get("containerName")
    if cname is not None and cname not in names:
        causes.append(
            invalid(
                child(path, "containerName"),
                cname,
                "must be one of the container or initContainer names in the pod template",
            )
        )
    values = req.get("values") or []
    values_path = child(path, "values")
    if not values:
        shown = "[]int32(nil)" if req.get("values") is None else "[]int32{}"
        causes.append(invalid(values_path, [], "at least one value is required", rendered=shown))
    elif len(values) > MAX_EXIT_CODE_VALUES:
        causes.append(too_many(values_path, len(values), MAX_EXIT_CODE_VALUES))
    seen: set[Any] = set()
    ordered = True
    for j, v in enumerate(values):
        if op == "In" and v == 0:
            causes.append(invalid(index(values_path, j), v, "must not be 0 for the In operator"))
        if v in seen:
            causes.append(duplicate(index(values_path, j), v))
        else:
            seen.add(v)
        if j > 0 and _is_int(v) and _is_int(values[j - 1]) and values[j - 1] > v:
            ordered = False
    if not ordered:
        causes.append(
            invalid(
                values_path,
                values,
                "must be ordered",
                rendered="[]int32{" + ", ".join(str(v) for v in values) + "}",
            )
        )
    return causes


def _on_pod_conditions(patterns: list[Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    if len(patterns) > MAX_CONDITION_PATTERNS:
        causes.append(too_many(path, len(patterns), MAX_CONDITION_PATTERNS))
    for j, pattern in enumerate(patterns):
        if not isinstance(pattern, dict):
            continue
        ppath = index(path, j)
        ctype = str(pattern.get("type") or "")
        causes += [invalid(child(ppath, "type"), ctype, m) for m in is_qualified_name(ctype)]
        status = pattern.get("status") or ""
        if not status:
            causes.append(required(child(ppath, "status"), 'valid values: ["False" "True" "Unknown"]'))
        elif status not in CONDITION_STATUSES:
            causes.append(not_supported(child(ppath, "status"), status, CONDITION_STATUSES))
    return causes


# --- successPolicy --------------------------------------------------------------------------------
def indexes_format_error(text: str, completions: int) -> tuple[int, str | None]:
    """(number of indexes, error) of an index list such as "1,3-5" (upstream's strict parser)."""
    if not text:
        return 0, None
    last: int | None = None
    total = 0
    for fragment in text.split(","):
        bounds = fragment.split("-")
        if len(bounds) > 2:
            return 0, (
                f'the fragment "{fragment}" violates the requirement that an index interval can have '
                "at most two parts separated by '-'"
            )
        parsed: list[int] = []
        for b in bounds:
            try:
                n = int(b)
            except ValueError:
                return 0, f'cannot convert string to integer for index: "{b}"'
            if n >= completions:
                return 0, f'too large index: "{b}"'
            parsed.append(n)
        first, final = parsed[0], parsed[-1]
        if len(parsed) == 2 and first >= final:
            return 0, f"non-increasing order, previous: {first}, current: {final}"
        if last is not None and last >= first:
            return 0, f"non-increasing order, previous: {last}, current: {first}"
        total += final - first + 1
        last = final
    return total, None


def _success_policy(sp: Obj, completions: int, path: str) -> list[Cause]:
    causes: list[Cause] = []
    rules = sp.get("rules") or []
    rules_path = child(path, "rules")
    if not rules:
        causes.append(
            required(rules_path, "at least one rules must be specified when the successPolicy is specified")
        )
    if len(rules) > MAX_SUCCESS_RULES:
        causes.append(too_many(rules_path, len(rules), MAX_SUCCESS_RULES))
    for i, rule in enumerate(rules):
        if isinstance(rule, dict):
            causes += _success_rule(rule, completions, index(rules_path, i))
    return causes


def _success_rule(rule: Obj, completions: int, path: str) -> list[Cause]:
    causes: list[Cause] = []
    indexes, count = rule.get("succeededIndexes"), rule.get("succeededCount")
    if indexes is None and count is None:
        causes.append(required(path, "at least one of succeededCount or succeededIndexes must be specified"))
    total = 0
    if isinstance(indexes, str):
        ipath = child(path, "succeededIndexes")
        if len(indexes) > MAX_SUCCEEDED_INDEXES_LENGTH:
            causes.append(
                Cause(
                    "FieldValueTooLong",
                    f"Too long: must have at most {MAX_SUCCEEDED_INDEXES_LENGTH} bytes",
                    ipath,
                )
            )
        total, err = indexes_format_error(indexes, completions)
        if err is not None:
            causes.append(invalid(ipath, indexes, f"error parsing succeededIndexes: {err}"))
    if _is_int(count):
        cpath = child(path, "succeededCount")
        causes += validate_nonnegative(count, cpath)
        if count > completions:
            causes.append(
                invalid(
                    cpath,
                    count,
                    f"must be less than or equal to {completions} (the number of specified completions)",
                )
            )
        if indexes is not None and count > total:
            causes.append(
                invalid(
                    cpath,
                    count,
                    f"must be less than or equal to {total} "
                    "(the number of indexes in the specified succeededIndexes field)",
                )
            )
    return causes
