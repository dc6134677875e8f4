"""The reinvocation bookkeeping: which webhooks the second run calls, and when the chain runs twice."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kybernetes.api.resources import lookup
from kybernetes.apiserver import admission
from kybernetes.apiserver.admission.plugins.webhook.reinvocation import WebhookRounds


@dataclass(frozen=True)
class Call:
    uid: str
    changes: bool
    if_needed: bool


def run(rounds: WebhookRounds, calls: list[Call], obj: dict[str, int], *, second: bool) -> list[str]:
    """Simulate one dispatcher pass: returns the uids called; a changing call bumps obj["n"]."""
    rounds.begin_round(obj, second=second)
    called = []
    for c in calls:
        if not rounds.may_call(c.uid, second=second):
            continue
        called.append(c.uid)
        if c.changes:
            obj["n"] += 1
        rounds.called(c.uid, changed=c.changes, reinvoke_if_needed=c.if_needed)
    rounds.end_round(obj)
    return called


CASES = [
    # (id, first-round calls, builtin changes the object between the runs, expected second-run calls)
    ("ifneeded-before-a-change-is-due", [Call("a", False, True), Call("b", True, False)], False, ["a"]),
    ("never-policy-is-not-due", [Call("a", False, False), Call("b", True, False)], False, []),
    (
        "ifneeded-after-the-last-change-is-not-due",
        [Call("a", True, False), Call("b", False, True)],
        False,
        [],
    ),
    ("builtin-change-makes-pending-due", [Call("a", True, False), Call("b", False, True)], True, ["b"]),
    (
        "changer-itself-is-due-after-a-later-change",
        [Call("a", True, True), Call("b", True, False)],
        False,
        ["a"],
    ),
    (
        "all-ifneeded-before-change",
        [Call("a", False, True), Call("b", False, True), Call("c", True, True)],
        False,
        ["a", "b"],
    ),
]


@pytest.mark.parametrize(
    ("first", "builtin_changes", "want"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_second_round_calls(first: list[Call], builtin_changes: bool, want: list[str]) -> None:
    rounds = WebhookRounds()
    obj = {"n": 0}
    run(rounds, first, obj, second=False)
    if builtin_changes:
        obj["n"] += 100
    # in the second run each webhook would change the object again if it were called
    second = [Call(c.uid, False, c.if_needed) for c in first]
    assert run(rounds, second, obj, second=True) == want


def test_a_change_in_the_second_round_makes_a_later_pending_webhook_due() -> None:
    rounds = WebhookRounds()
    obj = {"n": 0}
    # a (IfNeeded) then b changes -> a due; c (IfNeeded) comes after the change -> pending only
    run(rounds, [Call("a", False, True), Call("b", True, False), Call("c", False, True)], obj, second=False)
    # second run: a changes the object, which makes c (pending) due within the same run
    assert run(
        rounds, [Call("a", True, True), Call("b", True, False), Call("c", False, True)], obj, second=True
    ) == ["a", "c"]


class Recorder(admission.Plugin):
    mutating = True

    def __init__(self, name: str, *, asks_again: bool = False) -> None:
        self.name = name
        self.asks_again = asks_again
        self.runs: list[bool] = []

    async def admit(self, attrs: admission.Attributes, ctx: admission.AdmissionContext) -> None:
        self.runs.append(attrs.reinvocation.is_reinvoke)
        if self.asks_again:
            attrs.reinvocation.should_reinvoke = True


def attrs() -> admission.Attributes:
    resource = lookup("", "v1", "configmaps")
    assert resource is not None
    return admission.Attributes(resource, admission.CREATE, "default", "x", {"metadata": {"name": "x"}}, None)


@pytest.mark.parametrize(
    ("asks_again", "want_runs"),
    [(False, [False]), (True, [False, True])],
    ids=["no-change-one-run", "webhook-change-two-runs-never-three"],
)
async def test_chain_runs_at_most_twice(asks_again: bool, want_runs: list[bool]) -> None:
    builtin, hook = Recorder("Builtin"), Recorder("Webhook", asks_again=asks_again)
    chain = admission.Chain([builtin, hook], ctx=object())  # type: ignore[arg-type]
    await chain.admit(attrs())
    assert builtin.runs == want_runs and hook.runs == want_runs
