"""What the scheduler hands to plugins that need more than the framework handle.

Upstream's handle also carries the pod nominator, the extenders and the informer factory
(PodDisruptionBudgets for preemption). Here the Scheduler passes them once, after building the
profiles, to every plugin that has ``set_scheduler_context(ctx)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kybernetes.scheduler.preemption.nominator import PodNominator

Obj = dict[str, Any]


@dataclass(slots=True)
class SchedulerContext:
    nominator: PodNominator | None = None
    extenders: list[Any] = field(default_factory=list)  # kybernetes.scheduler.extender.HTTPExtender
    list_pdbs: Callable[[], list[Obj]] = list
    # The freshest known version of a pending pod (namespace, name) -> pod or None.
    get_pod: Callable[[str, str], Obj | None] = lambda ns, name: None
