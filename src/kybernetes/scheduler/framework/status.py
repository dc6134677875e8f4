"""What a plugin says about a pod: a `Status` with a code and human reasons.

Plugins never raise for "does not fit"; they return a Status (ARCHITECTURE §7). ``None`` means
success everywhere a Status is returned (as a nil *Status does upstream), so the common path
allocates nothing. The reasons of Unschedulable statuses are what users read in the pod's
PodScheduled condition ("Insufficient cpu"), so plugins use upstream's texts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class Code(IntEnum):
    SUCCESS = 0
    ERROR = 1  # an internal error: the attempt fails, the pod backs off and is retried
    UNSCHEDULABLE = 2  # does not fit now; preemption may help
    UNSCHEDULABLE_AND_UNRESOLVABLE = 3  # does not fit, and preemption cannot change that
    WAIT = 4  # Permit only: hold the pod until allowed or rejected
    SKIP = 5  # PreFilter/PreScore: skip this plugin's Filter/Score for the pod; Bind: not mine
    PENDING = 6  # waiting for something outside the scheduler (e.g. a PreEnqueue gate)


@dataclass(slots=True)
class Status:
    code: Code
    reasons: list[str] = field(default_factory=list)
    plugin: str = ""  # the plugin that returned it, filled in by the framework
    error: BaseException | None = None

    def message(self) -> str:
        return ", ".join(self.reasons)

    def is_success(self) -> bool:
        return self.code == Code.SUCCESS

    def is_skip(self) -> bool:
        return self.code == Code.SKIP

    def is_wait(self) -> bool:
        return self.code == Code.WAIT

    def is_rejected(self) -> bool:
        """Unschedulable, UnschedulableAndUnresolvable or Pending: the pod goes back to the
        unschedulable pool rather than backing off as after an error."""
        return self.code in (Code.UNSCHEDULABLE, Code.UNSCHEDULABLE_AND_UNRESOLVABLE, Code.PENDING)

    def with_plugin(self, name: str) -> Status:
        if not self.plugin:
            self.plugin = name
        return self


def new_status(code: Code, *reasons: str) -> Status:
    return Status(code, list(reasons))


def unschedulable(*reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE, list(reasons))


def unresolvable(*reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, list(reasons))


def error_status(err: BaseException | str) -> Status:
    if isinstance(err, BaseException):
        return Status(Code.ERROR, [str(err) or type(err).__name__], error=err)
    return Status(Code.ERROR, [err])


SKIP = Status(Code.SKIP)  # shared: never mutate (the framework copies before naming the plugin)


def is_success(status: Status | None) -> bool:
    return status is None or status.code == Code.SUCCESS


def code_of(status: Status | None) -> Code:
    return Code.SUCCESS if status is None else status.code
