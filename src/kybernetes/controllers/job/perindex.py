"""Indexed Jobs with a backoff limit per index, and success policies: pure decisions.

Why a module of its own: these two features only concern Indexed Jobs and are decided from
interval sets of indexes, not from pod counts like the rest of the Job controller.

Per-index backoff (``spec.backoffLimitPerIndex``), as upstream 1.32:

- Every pod of such a Job carries ``batch.kubernetes.io/job-index-failure-count`` (failures of its
  index so far that counted) and, when non-zero, ``batch.kubernetes.io/job-index-ignored-failure-count``
  (failures an ``Ignore`` rule excused). A replacement pod gets its predecessor's counts plus one.
- An index fails when a pod of it matches a ``FailIndex`` rule, or when a counted failure happens
  to a pod whose failure count already reached the limit. Failed indexes are never retried and
  are listed in ``status.failedIndexes``.
- To carry the counts over, the newest failed pod of an index that is neither succeeded, failed
  nor running keeps its tracking finalizer (its *delayed deletion*) until the replacement exists.
  The replacement waits the usual exponential backoff, counted from that pod's failures.
- The Job fails with ``MaxFailedIndexesExceeded`` once more indexes failed than
  ``maxFailedIndexes``, else with ``FailedIndexes`` once every index either succeeded or failed.

A success policy (``spec.successPolicy``) ends an Indexed Job early: the first rule whose
``succeededIndexes`` (all of them, or at least ``succeededCount`` of them) or bare
``succeededCount`` is satisfied gives the ``SuccessCriteriaMet`` condition with reason
``SuccessPolicy`` and message ``Matched rules at index <i>``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

# When a pod finished (its containers' exit), or None: supplied by the caller's pod helpers.
FinishTime = Callable[[Mapping[str, Any]], "dt.datetime | None"]

FAILURE_COUNT_ANNOTATION = "batch.kubernetes.io/job-index-failure-count"
IGNORED_FAILURE_COUNT_ANNOTATION = "batch.kubernetes.io/job-index-ignored-failure-count"

REASON_MAX_FAILED_INDEXES = "MaxFailedIndexesExceeded"
MSG_MAX_FAILED_INDEXES = "Job has exceeded the specified maximal number of failed indexes"
REASON_FAILED_INDEXES = "FailedIndexes"
MSG_FAILED_INDEXES = "Job has failed indexes"
REASON_SUCCESS_POLICY = "SuccessPolicy"

_MAX_INT32 = 2**31 - 1


# --- index lists ("0,2-4,7") ------------------------------------------------------------------
def parse(text: str | None, completions: int) -> set[int]:
    """Indexes of a list such as ``status.completedIndexes``, clipped below `completions`.

    Like upstream's lenient parser: an unparsable interval is skipped, an interval starting at
    or above `completions` ends the list, and an end beyond it is clipped.
    """
    out: set[int] = set()
    for part in (text or "").split(","):
        bounds = part.split("-")
        try:
            first = int(bounds[0])
            last = int(bounds[1]) if len(bounds) > 1 else first
        except ValueError:
            continue
        if first >= completions:
            break
        out.update(range(max(first, 0), min(last, completions - 1) + 1))
    return out


def render(indexes: Iterable[int]) -> str:
    """The compact form upstream writes: runs of three or more as ``a-b``, a pair as ``a,b``."""
    parts: list[str] = []
    ordered = sorted(set(indexes))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        first, last = ordered[i], ordered[j]
        if last == first:
            parts.append(str(first))
        elif last == first + 1:
            parts.append(f"{first},{last}")
        else:
            parts.append(f"{first}-{last}")
        i = j + 1
    return ",".join(parts)


# --- annotations ---------------------------------------------------------------------------------
def _count(pod: Mapping[str, Any], annotation: str) -> int:
    """A failure-count annotation; absent, unparsable or out of int32 range reads as 0."""
    raw = ((pod.get("metadata") or {}).get("annotations") or {}).get(annotation)
    try:
        value = int(str(raw))
    except ValueError:
        return 0
    return value if 0 <= value <= _MAX_INT32 else 0


def failure_count(pod: Mapping[str, Any]) -> int:
    return _count(pod, FAILURE_COUNT_ANNOTATION)


def ignored_failure_count(pod: Mapping[str, Any]) -> int:
    return _count(pod, IGNORED_FAILURE_COUNT_ANNOTATION)


def replacement_counts(replaced: Mapping[str, Any] | None, *, counted: bool) -> tuple[int, int]:
    """(failure count, ignored failure count) for the pod replacing `replaced` (None: first pod).

    `counted` says whether the replaced pod's failure counts (False when an Ignore rule matched)."""
    if replaced is None:
        return 0, 0
    failures, ignored = failure_count(replaced), ignored_failure_count(replaced)
    return (failures + 1, ignored) if counted else (failures, ignored + 1)


def count_annotations(replaced: Mapping[str, Any] | None, *, counted: bool) -> dict[str, str]:
    failures, ignored = replacement_counts(replaced, counted=counted)
    out = {FAILURE_COUNT_ANNOTATION: str(failures)}
    if ignored > 0:
        out[IGNORED_FAILURE_COUNT_ANNOTATION] = str(ignored)
    return out


# --- failed indexes and delayed deletions -----------------------------------------------------------
def index_failed(action: str | None, counted: bool, pod: Mapping[str, Any], limit: int) -> bool:
    """Does this failed pod make its index fail? (`action`/`counted`: its failure policy match.)"""
    if action == "FailIndex":
        return True
    return counted and failure_count(pod) >= limit


def delayed_deletions(
    failed_pods: Sequence[tuple[int, Mapping[str, Any]]],
    *,
    busy: set[int],
    finished: FinishTime,
    now: dt.datetime,
) -> dict[int, Mapping[str, Any]]:
    """Per index, the failed pod whose finalizer stays until its replacement exists.

    `failed_pods` are (index, pod) of failed pods still carrying the finalizer and not yet counted;
    `busy` are indexes that succeeded, failed or have a running pod (their failed pods can go: a
    running pod already carries the counts). The latest failure (highest absolute count, then
    latest finish) wins."""
    chosen: dict[int, Mapping[str, Any]] = {}
    for ix, pod in failed_pods:
        if ix in busy:
            continue
        prev = chosen.get(ix)
        if prev is None:
            chosen[ix] = pod
            continue
        absolute = failure_count(pod) + ignored_failure_count(pod)
        prev_absolute = failure_count(prev) + ignored_failure_count(prev)
        if prev_absolute <= absolute and (finished(pod) or now) >= (finished(prev) or now):
            chosen[ix] = pod
    return chosen


def backoff_remaining(
    last_failed: Mapping[str, Any] | None, now: dt.datetime, *, finished: FinishTime, base: float, cap: float
) -> float:
    """Seconds until the index of `last_failed` may get a new pod (0 when it has no failed pod)."""
    if last_failed is None:
        return 0.0
    failures = failure_count(last_failed) + ignored_failure_count(last_failed) + 1
    delay = min(base * 2 ** min(failures - 1, 30), cap)
    due = (finished(last_failed) or now) + dt.timedelta(seconds=delay)
    return max((due - now).total_seconds(), 0.0)


def ready_to_create(
    wanted: Sequence[int],
    delayed: Mapping[int, Mapping[str, Any]],
    now: dt.datetime,
    *,
    finished: FinishTime,
    base: float,
    cap: float,
) -> tuple[list[int], float]:
    """The wanted indexes whose backoff is over; if none, the shortest wait among them."""
    now_ready: list[int] = []
    shortest: float | None = None
    for ix in wanted:
        left = backoff_remaining(delayed.get(ix), now, finished=finished, base=base, cap=cap)
        if left <= 0:
            now_ready.append(ix)
        elif shortest is None or left < shortest:
            shortest = left
    if now_ready:
        return now_ready, 0.0
    return [], shortest or 0.0


def failure_condition(
    spec: Mapping[str, Any], failed: set[int], succeeded: set[int]
) -> tuple[str, str] | None:
    """The Job failure due to failed indexes, if any."""
    max_failed = spec.get("maxFailedIndexes")
    if isinstance(max_failed, int) and len(failed) > max_failed:
        return REASON_MAX_FAILED_INDEXES, MSG_MAX_FAILED_INDEXES
    completions = spec.get("completions")
    if failed and isinstance(completions, int) and len(failed | succeeded) >= completions:
        return REASON_FAILED_INDEXES, MSG_FAILED_INDEXES
    return None


# --- success policy --------------------------------------------------------------------------------
def match_success_policy(spec: Mapping[str, Any], succeeded: set[int]) -> str | None:
    """The SuccessCriteriaMet message of the first satisfied rule, or None."""
    policy = spec.get("successPolicy")
    completions = spec.get("completions")
    if not isinstance(policy, dict) or not isinstance(completions, int) or not succeeded:
        return None
    for i, rule in enumerate(policy.get("rules") or []):
        if not isinstance(rule, dict):
            continue
        count = rule.get("succeededCount")
        if rule.get("succeededIndexes") is not None:
            required = parse(str(rule.get("succeededIndexes")), completions)
            if not required:
                continue  # unparsable: upstream skips the rule
            have = len(required & succeeded)
            if (have == len(required)) if not isinstance(count, int) else (have >= count):
                return f"Matched rules at index {i}"
        elif isinstance(count, int) and len(succeeded) >= count:
            return f"Matched rules at index {i}"
    return None
