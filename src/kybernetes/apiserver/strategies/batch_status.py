"""Validation of writes to a Job's status subresource, as the v1.32 API server checks them.

With JobManagedBy on by default (beta in 1.32) a Job's status may be written by a controller
other than ours, so the server guards what clients of the Job API rely on: a terminal Job
stays terminal, counters never go back, index lists parse and stay within completions, and a
finished Job has a start time, no active pods and nothing left uncounted.

Most rules apply only when the fields they look at change in this write (as upstream's
strategy decides), so a status that a spec change made momentarily inconsistent (completions
scaled down under completedIndexes) can still be written while the controller catches up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kybernetes.apiserver.strategies.batch_policies import indexes_format_error, invalid_omitted
from kybernetes.apiserver.strategy import Obj
from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import (
    duplicate,
    go_quote,
    invalid,
    required,
    validate_nonnegative,
)


def _status(job: Obj) -> Obj:
    st = job.get("status")
    return st if isinstance(st, dict) else {}


def _spec(job: Obj) -> Obj:
    s = job.get("spec")
    return s if isinstance(s, dict) else {}


def condition_true(job: Obj, ctype: str) -> bool:
    conds = _status(job).get("conditions")
    return any(
        isinstance(c, dict) and c.get("type") == ctype and c.get("status") == "True"
        for c in (conds if isinstance(conds, list) else [])
    )


def finished(job: Obj) -> bool:
    return condition_true(job, "Complete") or condition_true(job, "Failed")


def _int(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def _time(v: Any) -> datetime | None:
    if not isinstance(v, str) or not v:
        return None
    try:
        t = datetime.fromisoformat(v)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def render_go_time(v: Any) -> str:
    """A metav1.Time as Go's time.Time String() prints it (in UTC, the server's zone)."""
    t = _time(v)
    if t is None:
        return "null"
    t = t.astimezone(UTC)
    text = t.strftime("%Y-%m-%d %H:%M:%S")
    if t.microsecond:
        text += f".{t.microsecond:06d}".rstrip("0")
    return text + " +0000 UTC"


def _render_uids(uids: Any) -> str:
    if not uids:
        return "[]types.UID(nil)"
    return "[]types.UID{" + ", ".join(go_quote(str(u)) for u in uids) + "}"


def _render_uncounted(u: Obj) -> str:
    return (
        f"batch.UncountedTerminatedPods{{Succeeded:{_render_uids(u.get('succeeded'))}, "
        f"Failed:{_render_uids(u.get('failed'))}}}"
    )


@dataclass(frozen=True)
class Changed:
    """Which parts of status this write changes (they decide which rules apply)."""

    finished: bool
    complete: bool
    failed: bool
    failure_target: bool
    completed_indexes: bool
    failed_indexes: bool
    active: bool
    start_time: bool
    completion_time: bool
    uncounted: bool


def changes(new: Obj, old: Obj) -> Changed:
    ns, os_ = _status(new), _status(old)

    def differs(field: str) -> bool:
        return ns.get(field) != os_.get(field)

    return Changed(
        finished=finished(new) != finished(old),
        complete=condition_true(new, "Complete") != condition_true(old, "Complete"),
        failed=condition_true(new, "Failed") != condition_true(old, "Failed"),
        failure_target=condition_true(new, "FailureTarget") != condition_true(old, "FailureTarget"),
        completed_indexes=(ns.get("completedIndexes") or "") != (os_.get("completedIndexes") or ""),
        failed_indexes=differs("failedIndexes"),
        active=_int(ns.get("active")) != _int(os_.get("active")),
        start_time=_time(ns.get("startTime")) != _time(os_.get("startTime")),
        completion_time=_time(ns.get("completionTime")) != _time(os_.get("completionTime")),
        uncounted=_uncounted_lists(ns) != _uncounted_lists(os_),
    )


def _uncounted_lists(st: Obj) -> tuple[list[Any], list[Any]]:
    u = st.get("uncountedTerminatedPods")
    u = u if isinstance(u, dict) else {}
    return list(u.get("succeeded") or []), list(u.get("failed") or [])


def validate_job_status(job: Obj, ch: Changed) -> list[Cause]:
    """The rules on the new status alone (upstream's validateJobStatus with the 1.32 options)."""
    st, s = _status(job), _spec(job)
    causes: list[Cause] = []
    for f in ("active", "succeeded", "failed", "ready", "terminating"):
        causes.extend(validate_nonnegative(st.get(f), f"status.{f}"))
    u = st.get("uncountedTerminatedPods")
    if isinstance(u, dict):
        seen: set[Any] = set()
        for kind in ("succeeded", "failed"):
            for i, uid in enumerate(u.get(kind) or []):
                path = f"status.uncountedTerminatedPods.{kind}[{i}]"
                if uid == "":
                    causes.append(invalid(path, uid, "must not be empty"))
                elif uid in seen:
                    causes.append(duplicate(path, uid))
                else:
                    seen.add(uid)
    complete, failed = condition_true(job, "Complete"), condition_true(job, "Failed")
    failure_target, scm = condition_true(job, "FailureTarget"), condition_true(job, "SuccessCriteriaMet")
    is_finished = complete or failed
    if (ch.complete or ch.failed) and complete and failed:
        causes.append(
            invalid_omitted("status.conditions", "cannot set Complete=True and Failed=true conditions")
        )
    if (ch.complete or ch.failure_target) and complete and failure_target:
        causes.append(
            invalid_omitted("status.conditions", "cannot set Complete=True and FailureTarget=true conditions")
        )
    completion_time, start_time = st.get("completionTime"), st.get("startTime")
    if (ch.complete or ch.completion_time) and completion_time is not None and not complete:
        causes.append(
            invalid(
                "status.completionTime",
                completion_time,
                "cannot set completionTime when there is no Complete=True condition",
                rendered=render_go_time(completion_time),
            )
        )
    if (ch.complete or ch.completion_time) and completion_time is None and complete:
        causes.append(required("status.completionTime", "completionTime is required for Complete jobs"))
    if ch.start_time or ch.completion_time:
        start, end = _time(start_time), _time(completion_time)
        if start is not None and end is not None and end < start:
            causes.append(
                invalid(
                    "status.completionTime",
                    completion_time,
                    "completionTime cannot be set before startTime",
                    rendered=render_go_time(completion_time),
                )
            )
    if (ch.finished or ch.active) and _int(st.get("active")) > 0 and is_finished:
        causes.append(invalid("status.active", st.get("active"), "active>0 is invalid for finished job"))
    if (ch.finished or ch.start_time) and start_time is None and is_finished:
        causes.append(required("status.startTime", "startTime is required for finished job"))
    if (ch.finished or ch.uncounted) and is_finished and isinstance(u, dict) and any(_uncounted_lists(st)):
        causes.append(
            invalid(
                "status.uncountedTerminatedPods",
                u,
                "uncountedTerminatedPods needs to be empty for finished job",
                rendered=_render_uncounted(u),
            )
        )
    causes.extend(_index_rules(job, ch))
    if scm and failed:
        causes.append(
            invalid_omitted(
                "status.conditions", "cannot set SuccessCriteriaMet=True and Failed=true conditions"
            )
        )
    if scm and failure_target:
        causes.append(
            invalid_omitted(
                "status.conditions", "cannot set SuccessCriteriaMet=True and FailureTarget=true conditions"
            )
        )
    if s.get("successPolicy") is not None and not scm and complete:
        causes.append(
            invalid_omitted(
                "status.conditions",
                "cannot set Complete=True for Job with SuccessPolicy unless SuccessCriteriaMet=True",
            )
        )
    return causes


def _index_rules(job: Obj, ch: Changed) -> list[Cause]:
    st, s = _status(job), _spec(job)
    causes: list[Cause] = []
    raw_completions = s.get("completions")
    has_completions = isinstance(raw_completions, int) and not isinstance(raw_completions, bool)
    completions = _int(raw_completions)
    completed = st.get("completedIndexes") or ""
    failed_ix = st.get("failedIndexes")
    per_index = s.get("backoffLimitPerIndex") is not None
    if ch.completed_indexes and has_completions and isinstance(completed, str):
        _, err = indexes_format_error(completed, completions)
        if err:
            causes.append(
                invalid("status.completedIndexes", completed, f"error parsing completedIndexes: {err}")
            )
    if ch.failed_indexes and has_completions and per_index and isinstance(failed_ix, str):
        _, err = indexes_format_error(failed_ix, completions)
        if err:
            causes.append(invalid("status.failedIndexes", failed_ix, f"error parsing failedIndexes: {err}"))
    if ch.completed_indexes and completed and s.get("completionMode") != "Indexed":
        causes.append(
            invalid(
                "status.completedIndexes",
                completed,
                "cannot set non-empty completedIndexes when non-indexed completion mode",
            )
        )
    if ch.failed_indexes and not per_index and failed_ix is not None:
        causes.append(
            invalid(
                "status.failedIndexes",
                failed_ix,
                "cannot set non-null failedIndexes when backoffLimitPerIndex is null",
            )
        )
    if (
        (ch.failed_indexes or ch.completed_indexes)
        and has_completions
        and isinstance(failed_ix, str)
        and isinstance(completed, str)
    ):
        at = first_overlap(completed, failed_ix, completions)
        if at is not None:
            causes.append(
                invalid(
                    "status.failedIndexes",
                    failed_ix,
                    f"failedIndexes and completedIndexes overlap at index: {at}",
                )
            )
    return causes


def _intervals(text: str, completions: int) -> list[tuple[int, int]]:
    """The well-formed intervals of an index list (malformed fragments are reported elsewhere)."""
    out: list[tuple[int, int]] = []
    if not text:
        return out
    for fragment in text.split(","):
        _, err = indexes_format_error(fragment, completions)
        if err is None:
            bounds = [int(b) for b in fragment.split("-")]
            out.append((bounds[0], bounds[-1]))
    return out


def first_overlap(completed: str, failed_ix: str, completions: int) -> int | None:
    """The first index both lists hold, walking them in order as upstream does."""
    cs, fs = _intervals(completed, completions), _intervals(failed_ix, completions)
    ci = fi = 0
    while ci < len(cs) and fi < len(fs):
        (cx, cy), (fx, fy) = cs[ci], fs[fi]
        if cx <= fy and fx <= cy:
            return max(cx, fx)
        if cx <= fx:
            ci += 1
        else:
            fi += 1
    return None


def validate_job_status_update(new: Obj, old: Obj) -> list[Cause]:
    """All checks of a write to a Job's status (upstream's ValidateJobStatusUpdate, 1.32 options)."""
    ch = changes(new, old)
    causes = validate_job_status(new, ch)
    for ctype in ("Failed", "Complete", "FailureTarget"):
        if condition_true(old, ctype) and not condition_true(new, ctype):
            causes.append(
                invalid_omitted("status.conditions", f"cannot disable the terminal {ctype}=True condition")
            )
    ns, os_, s = _status(new), _status(old), _spec(new)
    if _int(ns.get("failed")) < _int(os_.get("failed")):
        causes.append(invalid("status.failed", _int(ns.get("failed")), "cannot decrease the failed counter"))
    # An Indexed Job with parallelism == completions may be scaled down, taking succeeded with it.
    scalable = s.get("completionMode") == "Indexed" and s.get("completions") == s.get("parallelism")
    if not scalable and _int(ns.get("succeeded")) < _int(os_.get("succeeded")):
        causes.append(
            invalid("status.succeeded", _int(ns.get("succeeded")), "cannot decrease the succeeded counter")
        )
    new_end, old_end = _time(ns.get("completionTime")), _time(os_.get("completionTime"))
    if new_end is not None and old_end is not None and new_end != old_end:
        causes.append(
            invalid(
                "status.completionTime",
                ns.get("completionTime"),
                "completionTime cannot be mutated",
                rendered=render_go_time(ns.get("completionTime")),
            )
        )
    if ch.start_time and os_.get("startTime") is not None and not s.get("suspend"):
        causes.append(required("status.startTime", "startTime cannot be removed for unsuspended job"))
    if condition_true(old, "SuccessCriteriaMet") and not condition_true(new, "SuccessCriteriaMet"):
        causes.append(
            invalid_omitted("status.conditions", "cannot disable the SuccessCriteriaMet=True condition")
        )
    if (
        condition_true(old, "Complete")
        and not condition_true(old, "SuccessCriteriaMet")
        and condition_true(new, "SuccessCriteriaMet")
    ):
        causes.append(
            invalid_omitted(
                "status.conditions",
                "cannot set SuccessCriteriaMet=True for Job already has Complete=true conditions",
            )
        )
    return causes
