"""The Job controller's decisions, as pure functions of a Job, its pods and the time.

Theory of operation (as upstream's job controller with finalizer tracking):

1. Every pod the controller creates carries the finalizer ``batch.kubernetes.io/job-tracking``, so
   a finished pod cannot vanish before the Job has counted it.
2. A finished pod that still has the finalizer and is not yet listed in
   ``status.uncountedTerminatedPods`` is *newly finished*: its uid is first written into that list
   (status write A), only then is its finalizer removed, and only then are the uids moved from the
   list into ``status.succeeded`` / ``status.failed`` (status write C). A crash between any two steps
   repeats the remaining steps and nothing is counted twice or lost.
3. The Job fails when a pod failure policy rule says FailJob, when more pods failed than
   ``backoffLimit`` (OnFailure: container restarts reach it), or when ``activeDeadlineSeconds``
   passed. It first gets the interim condition FailureTarget, its active pods are deleted, and once
   none is left the terminal condition Failed (same reason and message). Success goes the same way:
   SuccessCriteriaMet, then Complete with ``completionTime``.
4. While neither, the controller keeps ``min(parallelism, remaining completions)`` pods active,
   creating replacements after an exponential backoff (10 s doubling, 6 min cap) following failures.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kybernetes.controllers import rfc3339
from kybernetes.controllers.job import perindex

Obj = dict[str, Any]

TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
INDEX_LABEL = "batch.kubernetes.io/job-completion-index"
INDEX_ENV = "JOB_COMPLETION_INDEX"

BACKOFF_BASE = 10.0
BACKOFF_CAP = 360.0

REASON_COMPLETIONS = "CompletionsReached"
MSG_COMPLETIONS = "Reached expected number of succeeded pods"
REASON_BACKOFF = "BackoffLimitExceeded"
MSG_BACKOFF = "Job has reached the specified backoff limit"
REASON_DEADLINE = "DeadlineExceeded"
MSG_DEADLINE = "Job was active longer than specified deadline"
REASON_POLICY = "PodFailurePolicy"
MANAGED_BY_US = "kubernetes.io/job-controller"


# --- pods -------------------------------------------------------------------------------------------
def phase(pod: Mapping[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def uid(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("uid") or "")


def has_finalizer(pod: Mapping[str, Any]) -> bool:
    return TRACKING_FINALIZER in ((pod.get("metadata") or {}).get("finalizers") or [])


def terminating(pod: Mapping[str, Any]) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp")) and phase(pod) not in (
        "Succeeded",
        "Failed",
    )


def active(pod: Mapping[str, Any]) -> bool:
    return phase(pod) not in ("Succeeded", "Failed") and not (pod.get("metadata") or {}).get(
        "deletionTimestamp"
    )


def managed_by_us(job: Mapping[str, Any]) -> bool:
    """A Job whose spec.managedBy names another controller is left alone (JobManagedBy, beta in 1.32)."""
    managed_by = (job.get("spec") or {}).get("managedBy")
    return managed_by is None or managed_by == MANAGED_BY_US


def per_index_limit(job: Mapping[str, Any]) -> int | None:
    """spec.backoffLimitPerIndex of an Indexed Job, else None."""
    spec = job.get("spec") or {}
    limit = spec.get("backoffLimitPerIndex")
    if spec.get("completionMode") != "Indexed" or not isinstance(limit, int) or isinstance(limit, bool):
        return None
    return limit


def only_replace_failed(job: Mapping[str, Any]) -> bool:
    s = job.get("spec") or {}
    return s.get("podReplacementPolicy") == "Failed" or s.get("podFailurePolicy") is not None


def pod_failed(pod: Mapping[str, Any], job: Mapping[str, Any]) -> bool:
    """Upstream's isPodFailed: Failed, or (unless only failed pods are replaced) deleted before it succeeded."""
    if phase(pod) == "Failed":
        return True
    if only_replace_failed(job):
        return False
    return terminating(pod)


def pod_finished(pod: Mapping[str, Any], job: Mapping[str, Any]) -> bool:
    return phase(pod) == "Succeeded" or pod_failed(pod, job)


def ready(pod: Mapping[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def pod_index(pod: Mapping[str, Any]) -> int | None:
    meta = pod.get("metadata") or {}
    raw = (meta.get("annotations") or {}).get(INDEX_ANNOTATION)
    if raw is None:
        raw = (meta.get("labels") or {}).get(INDEX_LABEL)
    try:
        i = int(str(raw))
    except ValueError:
        return None
    return i if i >= 0 and str(i) == str(raw) else None


def finish_time(pod: Mapping[str, Any]) -> dt.datetime | None:
    """The latest container finish time, else the Ready condition's transition, else None."""
    st = pod.get("status") or {}
    times = [
        rfc3339.parse(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt"))
        for cs in (st.get("containerStatuses") or []) + (st.get("initContainerStatuses") or [])
    ]
    found = [t for t in times if t is not None]
    if found:
        return max(found)
    for c in st.get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") == "False":
            return rfc3339.parse(c.get("lastTransitionTime"))
    return None


def restarts(pods: Iterable[Mapping[str, Any]]) -> int:
    total = 0
    for pod in pods:
        st = pod.get("status") or {}
        for cs in (st.get("containerStatuses") or []) + (st.get("initContainerStatuses") or []):
            total += int(cs.get("restartCount") or 0)
    return total


# --- completed indexes ("1,3-5") -----------------------------------------------------------------------
def parse_indexes(text: str | None, completions: int) -> set[int]:
    out: set[int] = set()
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            a = int(lo)
            b = int(hi) if sep else a
        except ValueError:
            continue
        out.update(i for i in range(a, b + 1) if 0 <= i < completions)
    return out


def format_indexes(indexes: Iterable[int]) -> str:
    return perindex.render(indexes)


# --- backoff --------------------------------------------------------------------------------------------
def backoff_delay(failures: int, *, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Delay before a replacement pod after `failures` consecutive failures (0: none)."""
    if failures <= 0:
        return 0.0
    return float(min(base * 2 ** min(failures - 1, 30), cap))


@dataclass(slots=True)
class BackoffRecord:
    failures: int = 0  # failures since the last success
    last_failure: dt.datetime | None = None

    def observe(
        self, succeeded: Sequence[Mapping[str, Any]], failed: Sequence[Mapping[str, Any]], now: dt.datetime
    ) -> None:
        if succeeded:
            self.failures = 0
            self.last_failure = None
        for pod in failed:
            self.failures += 1
            t = finish_time(pod) or now
            if self.last_failure is None or t > self.last_failure:
                self.last_failure = t

    def remaining(self, now: dt.datetime) -> float:
        if self.failures <= 0 or self.last_failure is None:
            return 0.0
        due = self.last_failure + dt.timedelta(seconds=backoff_delay(self.failures))
        return max((due - now).total_seconds(), 0.0)


# --- pod failure policy -----------------------------------------------------------------------------------
def policy_match(job: Mapping[str, Any], pod: Mapping[str, Any]) -> tuple[str | None, str, bool]:
    """(action, message, counted) of the first podFailurePolicy rule matching a failed pod.

    As upstream: an ``onExitCodes`` rule looks at terminated containers with a non-zero exit code
    (regular containers first, then init containers); an ``onPodConditions`` rule at the pod's
    conditions in their order. ``counted`` is False only for Ignore. Without a match: (None, "", True).
    """
    policy = (job.get("spec") or {}).get("podFailurePolicy")
    if not isinstance(policy, dict):
        return None, "", True
    meta = pod.get("metadata") or {}
    ns, name = meta.get("namespace", ""), meta.get("name", "")
    st = pod.get("status") or {}
    statuses = (st.get("containerStatuses") or []) + (st.get("initContainerStatuses") or [])
    for i, rule in enumerate(policy.get("rules") or []):
        if not isinstance(rule, dict):
            continue
        action = str(rule.get("action") or "")
        if action not in POLICY_ACTIONS:
            continue
        on_codes = rule.get("onExitCodes")
        if isinstance(on_codes, dict):
            hit = _exit_code_match(statuses, on_codes)
            if hit is None:
                continue
            cname, code = hit
            msg = f"Container {cname} for pod {ns}/{name} failed with exit code {code} matching {action} rule at index {i}"
            return action, msg, action != "Ignore"
        patterns = rule.get("onPodConditions")
        if patterns:
            ctype = _condition_match(st.get("conditions") or [], patterns)
            if ctype is None:
                continue
            return (
                action,
                f"Pod {ns}/{name} has condition {ctype} matching {action} rule at index {i}",
                action != "Ignore",
            )
    return None, "", True


POLICY_ACTIONS = ("FailJob", "FailIndex", "Ignore", "Count")


def _exit_code_match(statuses: list[Any], req: Mapping[str, Any]) -> tuple[str, int] | None:
    want = req.get("containerName")
    op = req.get("operator")
    values = set(req.get("values") or [])
    for cs in statuses:
        if not isinstance(cs, dict):
            continue
        term = (cs.get("state") or {}).get("terminated")
        if not isinstance(term, dict) or (want is not None and cs.get("name") != want):
            continue
        code = int(term.get("exitCode") or 0)
        if code != 0 and ((op == "In" and code in values) or (op == "NotIn" and code not in values)):
            return str(cs.get("name") or ""), code
    return None


def _condition_match(conditions: list[Any], patterns: list[Any]) -> str | None:
    for c in conditions:
        for p in patterns:
            if (
                isinstance(c, dict)
                and isinstance(p, dict)
                and c.get("type") == p.get("type")
                and c.get("status") == (p.get("status") or "True")
            ):
                return str(c.get("type"))
    return None


def match_failure_policy(job: Mapping[str, Any], pod: Mapping[str, Any]) -> tuple[str | None, str]:
    """(action, message) of the first rule matching a Failed pod, or (None, "")."""
    if phase(pod) != "Failed":
        return None, ""
    action, message, _ = policy_match(job, pod)
    return action, message


# --- conditions ---------------------------------------------------------------------------------------------
def find_condition(status: Mapping[str, Any], type_: str) -> Obj | None:
    for c in status.get("conditions") or []:
        if c.get("type") == type_:
            return dict(c)
    return None


def condition_true(status: Mapping[str, Any], type_: str) -> bool:
    c = find_condition(status, type_)
    return c is not None and c.get("status") == "True"


def finished(job: Mapping[str, Any]) -> bool:
    st = job.get("status") or {}
    return condition_true(st, "Complete") or condition_true(st, "Failed")


def set_condition(
    status: Obj, type_: str, cond_status: str, reason: str, message: str, now: dt.datetime
) -> bool:
    """Set a condition in place; True when something changed. lastTransitionTime moves only with the status."""
    conds: list[Obj] = list(status.get("conditions") or [])
    stamp = rfc3339.fmt(now)
    for i, c in enumerate(conds):
        if c.get("type") != type_:
            continue
        if c.get("status") == cond_status and c.get("reason") == reason and c.get("message") == message:
            return False
        new = dict(c, status=cond_status, reason=reason, message=message, lastProbeTime=stamp)
        if c.get("status") != cond_status:
            new["lastTransitionTime"] = stamp
        conds[i] = new
        status["conditions"] = conds
        return True
    conds.append(
        {
            "type": type_,
            "status": cond_status,
            "lastProbeTime": stamp,
            "lastTransitionTime": stamp,
            "reason": reason,
            "message": message,
        }
    )
    status["conditions"] = conds
    return True


# --- accounting (steps A and C) --------------------------------------------------------------------------------
@dataclass
class Accounting:
    succeeded: list[Obj] = field(default_factory=list)  # newly finished, counted as succeeded
    failed: list[Obj] = field(default_factory=list)  # newly finished, counted as failed
    ignored: list[Obj] = field(default_factory=list)  # finished, not counted (policy Ignore, suspension)
    failure: tuple[str, str] | None = None  # (reason, message) of a FailJob rule

    @property
    def any(self) -> bool:
        return bool(self.succeeded or self.failed or self.ignored)


def uncounted(status: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    u = status.get("uncountedTerminatedPods") or {}
    return list(u.get("succeeded") or []), list(u.get("failed") or [])


def account(
    job: Mapping[str, Any],
    pods: Iterable[Mapping[str, Any]],
    *,
    skip_uids: set[str] | None = None,
    delayed: set[str] | None = None,
) -> Accounting:
    """Sort newly finished pods (finalizer still on, not yet in uncountedTerminatedPods).

    Pods in `delayed` (per-index backoff: the failed pod an index's replacement takes its counts
    from) are left for a later sync, except that a FailJob match still fails the Job."""
    st = job.get("status") or {}
    us, uf = uncounted(st)
    known = set(us) | set(uf) | (skip_uids or set())
    suspended = bool((job.get("spec") or {}).get("suspend"))
    indexed = (job.get("spec") or {}).get("completionMode") == "Indexed"
    completions = int((job.get("spec") or {}).get("completions") or 0)
    acct = Accounting()
    for pod in sorted(pods, key=lambda p: (finish_time(p) or dt.datetime.max.replace(tzinfo=dt.UTC), uid(p))):
        if not has_finalizer(pod) or uid(pod) in known or not pod_finished(pod, job):
            continue
        idx = pod_index(pod)
        if indexed and (idx is None or idx >= completions):
            acct.ignored.append(dict(pod))  # not one of ours to count (e.g. completions were lowered)
            continue
        if phase(pod) == "Succeeded":
            acct.succeeded.append(dict(pod))
            continue
        action, message = match_failure_policy(job, pod)
        if action == "FailJob" and acct.failure is None:
            acct.failure = (REASON_POLICY, message)
        if uid(pod) in (delayed or set()):
            continue
        if action == "Ignore" or (suspended and phase(pod) != "Failed"):
            acct.ignored.append(dict(pod))
            continue
        acct.failed.append(dict(pod))
    return acct


def with_uncounted(job: Mapping[str, Any], acct: Accounting, failed_indexes: set[int] | None = None) -> Obj:
    """Status write A: newly finished uids join uncountedTerminatedPods (and completedIndexes;
    with a backoff limit per index, failedIndexes)."""
    st = copy.deepcopy(dict(job.get("status") or {}))
    us, uf = uncounted(st)
    us += [uid(p) for p in acct.succeeded if uid(p) not in us]
    uf += [uid(p) for p in acct.failed if uid(p) not in uf]
    st["uncountedTerminatedPods"] = {k: v for k, v in (("succeeded", us), ("failed", uf)) if v}
    spec = job.get("spec") or {}
    if spec.get("completionMode") == "Indexed" and acct.succeeded:
        completions = int(spec.get("completions") or 0)
        done = parse_indexes(st.get("completedIndexes"), completions)
        done.update(i for i in (pod_index(p) for p in acct.succeeded) if i is not None and i < completions)
        st["completedIndexes"] = format_indexes(done)
    if failed_indexes is not None:
        st["failedIndexes"] = format_indexes(failed_indexes)
    return st


def flush_uncounted(status: Obj, settled: set[str]) -> bool:
    """Status write C: uids whose pods lost the finalizer (or are gone) move into the counters."""
    us, uf = uncounted(status)
    move_s = [u for u in us if u in settled]
    move_f = [u for u in uf if u in settled]
    if not move_s and not move_f:
        return False
    status["succeeded"] = int(status.get("succeeded") or 0) + len(move_s)
    status["failed"] = int(status.get("failed") or 0) + len(move_f)
    rest_s = [u for u in us if u not in settled]
    rest_f = [u for u in uf if u not in settled]
    status["uncountedTerminatedPods"] = {k: v for k, v in (("succeeded", rest_s), ("failed", rest_f)) if v}
    return True


# --- per-index backoff --------------------------------------------------------------------------------------
@dataclass
class IndexState:
    """Failed indexes (previous and new) and, per index, the failed pod whose removal waits."""

    failed: set[int] = field(default_factory=set)
    delayed: dict[int, Obj] = field(default_factory=dict)

    @property
    def delayed_uids(self) -> set[str]:
        return {uid(p) for p in self.delayed.values()}


def index_state(
    job: Mapping[str, Any],
    pods: Sequence[Mapping[str, Any]],
    *,
    skip_uids: set[str] | None = None,
    now: dt.datetime,
) -> IndexState | None:
    """For an Indexed Job with backoffLimitPerIndex: its failed indexes and delayed deletions."""
    limit = per_index_limit(job)
    if limit is None:
        return None
    spec = job.get("spec") or {}
    st = job.get("status") or {}
    completions = _int(spec.get("completions"), 0)
    us, uf = uncounted(st)
    known = set(us) | set(uf) | (skip_uids or set())
    state = IndexState(failed=parse_indexes(st.get("failedIndexes"), completions))
    succeeded = parse_indexes(st.get("completedIndexes"), completions)
    candidates: list[tuple[int, Mapping[str, Any]]] = []
    for pod in pods:
        ix = pod_index(pod)
        if ix is None or ix >= completions or not has_finalizer(pod):
            continue
        if phase(pod) == "Succeeded":
            succeeded.add(ix)
            continue
        if not pod_failed(pod, job):
            continue
        action, _, counted = policy_match(job, pod)
        if perindex.index_failed(action, counted, pod, limit):
            state.failed.add(ix)
        if uid(pod) not in known:
            candidates.append((ix, pod))
    if condition_true(st, "FailureTarget") or condition_true(st, "SuccessCriteriaMet"):
        return state  # the Job is finishing: nothing waits for a replacement
    running = {i for i in (pod_index(p) for p in pods if active(p)) if i is not None}
    chosen = perindex.delayed_deletions(
        candidates, busy=succeeded | state.failed | running, finished=finish_time, now=now
    )
    state.delayed = {ix: dict(p) for ix, p in chosen.items()}
    return state


# --- what to do ----------------------------------------------------------------------------------------------
@dataclass
class Plan:
    create: int = 0  # NonIndexed: how many pods
    create_indexes: list[int] = field(default_factory=list)  # Indexed: which indexes
    delete: list[Obj] = field(default_factory=list)
    failure: tuple[str, str] | None = None  # FailureTarget (reason, message)
    success: bool = False  # SuccessCriteriaMet
    success_reason: tuple[str, str] = (REASON_COMPLETIONS, MSG_COMPLETIONS)  # its (reason, message)
    requeue_after: float | None = None  # e.g. the active deadline or the end of a backoff
    replaced: dict[int, Obj] = field(default_factory=dict)  # index -> failed pod its new pod replaces


def counts(job: Mapping[str, Any]) -> tuple[int, int]:
    """(succeeded, failed) including the uncounted ones."""
    st = job.get("status") or {}
    us, uf = uncounted(st)
    return int(st.get("succeeded") or 0) + len(us), int(st.get("failed") or 0) + len(uf)


def deletion_rank(pod: Mapping[str, Any]) -> tuple[int, int, int, str]:
    """Pods least along first: unscheduled, pending, not ready, then the newest."""
    created = str((pod.get("metadata") or {}).get("creationTimestamp") or "")
    inverted = "".join(chr(0x10FFFF - ord(c)) for c in created)
    return (
        0 if not (pod.get("spec") or {}).get("nodeName") else 1,
        0 if phase(pod) == "Pending" else 1,
        1 if ready(pod) else 0,
        inverted,
    )


def decide(
    job: Mapping[str, Any],
    pods: Sequence[Mapping[str, Any]],
    *,
    now: dt.datetime,
    backoff_remaining: float = 0.0,
    policy_failure: tuple[str, str] | None = None,
    indexes: IndexState | None = None,
) -> Plan:
    """What the Job needs now, given its status after accounting and its pods (and, with a backoff
    limit per index, the `indexes` state)."""
    spec = job.get("spec") or {}
    st = job.get("status") or {}
    plan = Plan()
    act = [p for p in pods if active(p)]
    succeeded, failed = counts(job)
    parallelism = _int(spec.get("parallelism"), 1)
    completions_raw = spec.get("completions")
    indexed = spec.get("completionMode") == "Indexed"
    backoff_limit = _int(spec.get("backoffLimit"), 6)

    # 1. An interim condition already decided stays decided; delete what is still running.
    prior = find_condition(st, "FailureTarget")
    if prior is not None and prior.get("status") == "True":
        plan.failure = (str(prior.get("reason") or ""), str(prior.get("message") or ""))
        plan.delete = [dict(p) for p in act]
        return plan
    prior = find_condition(st, "SuccessCriteriaMet")
    if prior is not None and prior.get("status") == "True":
        plan.success = True
        plan.success_reason = (str(prior.get("reason") or ""), str(prior.get("message") or ""))
        plan.delete = [dict(p) for p in act]
        return plan

    # 2. Failure.
    failure = policy_failure
    if failure is None and failed > backoff_limit:
        failure = (REASON_BACKOFF, MSG_BACKOFF)
    if failure is None and (spec.get("template") or {}).get("spec", {}).get("restartPolicy") == "OnFailure":
        r = restarts(act)
        if (backoff_limit == 0 and r > 0) or (backoff_limit > 0 and r >= backoff_limit):
            failure = (REASON_BACKOFF, MSG_BACKOFF)
    deadline = spec.get("activeDeadlineSeconds")
    start = rfc3339.parse(st.get("startTime"))
    if failure is None and deadline is not None and start is not None and not spec.get("suspend"):
        left = (start + dt.timedelta(seconds=int(deadline)) - now).total_seconds()
        if left <= 0:
            failure = (REASON_DEADLINE, MSG_DEADLINE)
        else:
            plan.requeue_after = left
    done = parse_indexes(st.get("completedIndexes"), _int(completions_raw, 0)) if indexed else set()
    if failure is None and indexes is not None:
        failure = perindex.failure_condition(spec, indexes.failed, done)
    if failure is not None:
        plan.failure = failure
        plan.delete = [dict(p) for p in act]
        return plan

    # 3. Success: a success policy (Indexed only), else the completions.
    message = perindex.match_success_policy(spec, done) if indexed else None
    if message is not None:
        plan.success = True
        plan.success_reason = (perindex.REASON_SUCCESS_POLICY, message)
    elif indexed:
        if len(done) >= _int(completions_raw, 0):
            plan.success = True
    elif completions_raw is not None:
        if succeeded >= int(str(completions_raw)):
            plan.success = True
    elif succeeded > 0 and not act:
        plan.success = True
    if plan.success:
        plan.delete = [dict(p) for p in act]
        return plan

    # 4. Suspended: nothing runs.
    if spec.get("suspend"):
        plan.delete = [dict(p) for p in act]
        return plan

    # 5. Keep the right pods running.
    if indexed:
        completions = _int(completions_raw, 0)
        failed_indexes = indexes.failed if indexes is not None else set()
        seen: set[int] = set()
        keep = 0
        for p in sorted(
            act, key=lambda p: (not ready(p), str((p.get("metadata") or {}).get("creationTimestamp") or ""))
        ):
            i = pod_index(p)
            if i is None or i >= completions or i in done or i in failed_indexes or i in seen:
                plan.delete.append(dict(p))
            else:
                seen.add(i)
                keep += 1
        busy = seen | {
            i
            for i in (pod_index(p) for p in pods if terminating(p) and only_replace_failed(job))
            if i is not None
        }
        room = parallelism - keep
        if room < 0:
            extra = sorted((p for p in act if dict(p) not in plan.delete), key=deletion_rank)[:-room]
            plan.delete.extend(dict(p) for p in extra)
            return plan
        wanted = [
            i for i in range(completions) if i not in done and i not in busy and i not in failed_indexes
        ][:room]
        if wanted and indexes is not None:
            # Each index backs off on its own failures.
            ready_now, wait = perindex.ready_to_create(
                wanted, indexes.delayed, now, finished=finish_time, base=BACKOFF_BASE, cap=BACKOFF_CAP
            )
            plan.create_indexes = ready_now
            plan.replaced = {i: indexes.delayed[i] for i in ready_now if i in indexes.delayed}
            if wait > 0:
                plan.requeue_after = _min(plan.requeue_after, wait)
        elif wanted and backoff_remaining > 0:
            plan.requeue_after = _min(plan.requeue_after, backoff_remaining)
        elif wanted:
            plan.create_indexes = wanted
        return plan

    if completions_raw is None:
        want = len(act) if succeeded > 0 else parallelism
    else:
        want = min(int(str(completions_raw)) - succeeded, parallelism)
    want = max(want, 0)
    if only_replace_failed(job):  # pods still terminating hold their place
        want = max(want - sum(1 for p in pods if terminating(p)), 0)
    diff = want - len(act)
    if diff < 0:
        plan.delete = [dict(p) for p in sorted(act, key=deletion_rank)[:-diff]]
    elif diff > 0:
        if backoff_remaining > 0:
            plan.requeue_after = _min(plan.requeue_after, backoff_remaining)
        else:
            plan.create = diff
    return plan


def _int(value: Any, default: int) -> int:
    return int(value) if isinstance(value, int) else default


def _min(a: float | None, b: float) -> float:
    return b if a is None else min(a, b)


# --- the pods it creates -----------------------------------------------------------------------------------------
def pod_for(job: Mapping[str, Any], index: int | None, replaced: Mapping[str, Any] | None = None) -> Obj:
    """A pod from the Job's template: owner reference, tracking finalizer and, for Indexed Jobs, the
    completion index (annotation, label, env JOB_COMPLETION_INDEX, hostname ``<job>-<index>``).
    With a backoff limit per index it also carries the index's failure counts, taken over from
    `replaced` (the index's last failed pod, if any)."""
    meta = job.get("metadata") or {}
    name = str(meta.get("name") or "")
    template = copy.deepcopy((job.get("spec") or {}).get("template") or {})
    tmeta = template.get("metadata") or {}
    pspec = template.get("spec") or {}
    pmeta: Obj = {
        "generateName": f"{name}-" if index is None else f"{name}-{index}-",
        "namespace": meta.get("namespace"),
        "labels": dict(tmeta.get("labels") or {}),
        "finalizers": [TRACKING_FINALIZER],
        "ownerReferences": [
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "name": name,
                "uid": meta.get("uid"),
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    annotations = dict(tmeta.get("annotations") or {})
    if index is not None:
        annotations[INDEX_ANNOTATION] = str(index)
        pmeta["labels"][INDEX_LABEL] = str(index)
        if not pspec.get("hostname"):
            pspec["hostname"] = f"{name}-{index}"
        if per_index_limit(job) is not None:
            counted = replaced is None or policy_match(job, replaced)[2]
            annotations.update(perindex.count_annotations(replaced, counted=counted))
        # PodIndexLabel (GA in 1.32): the env reads the index from the label, not the annotation.
        env_var = {
            "name": INDEX_ENV,
            "valueFrom": {"fieldRef": {"fieldPath": f"metadata.labels['{INDEX_LABEL}']"}},
        }
        for key in ("initContainers", "containers"):
            for c in pspec.get(key) or []:
                env = list(c.get("env") or [])
                if not any(e.get("name") == INDEX_ENV for e in env):  # a user's own value wins
                    c["env"] = [*env, env_var]
    if annotations:
        pmeta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pmeta, "spec": pspec}
