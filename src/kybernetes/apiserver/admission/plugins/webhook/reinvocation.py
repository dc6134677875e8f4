"""Which mutating webhooks are called again, and whether the whole mutating chain runs twice.

Theory of operation
-------------------
A request's mutating chain (built-in plugins, then MutatingAdmissionWebhook) runs once; if any
webhook's patch changed the object, it runs exactly once more, built-in plugins included (so a
container a webhook added still gets LimitRanger's defaults). In that second round a webhook is
called only if it is *due*:

  1. a webhook with reinvocationPolicy IfNeeded is *pending* once it has been called;
  2. whenever a webhook changes the object, every pending webhook becomes due (and is no longer
     pending) — in either round, so a later change in the second round can still make a
     webhook that comes after it due;
  3. at the start of the second round, if the object differs from what the webhooks left at
     the end of the first (a built-in plugin changed it), the pending webhooks become due too;
  4. a webhook never seen in the first round is never called for the first time in the second;
  5. there is no third round, whatever the second one changes.

``WebhookRounds`` is that bookkeeping, pure and kept per request in the admission attributes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class WebhookRounds:
    pending: set[str] = field(default_factory=set)  # IfNeeded webhooks called since the last change
    due: set[str] = field(default_factory=set)  # webhooks to call in the second round
    last_output: Any = None  # the object as the webhooks left it at the end of a round

    def begin_round(self, obj: Any, *, second: bool) -> None:
        if second and obj != self.last_output:
            self._make_pending_due()

    def may_call(self, uid: str, *, second: bool) -> bool:
        return not second or uid in self.due

    def called(self, uid: str, *, changed: bool, reinvoke_if_needed: bool) -> None:
        if changed:
            self._make_pending_due()
        if reinvoke_if_needed:
            self.pending.add(uid)

    def end_round(self, obj: Any) -> None:
        self.last_output = copy.deepcopy(obj)

    def _make_pending_due(self) -> None:
        self.due |= self.pending
        self.pending = set()
