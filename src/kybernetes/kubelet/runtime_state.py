"""What the container runtime reports about one pod, as plain data.

The agent lists sandboxes and containers through CRI and folds them into one ``RuntimePod`` per
pod UID. Planners (``actions``, ``status``) read only this model, so they are pure and can be tested
without containerd. Times are Unix seconds (float); ``None`` means "not yet".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class SandboxState(enum.Enum):
    READY = "ready"
    NOTREADY = "notready"


class ContainerState(enum.Enum):
    CREATED = "created"
    RUNNING = "running"
    EXITED = "exited"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class RuntimeSandbox:
    id: str
    state: SandboxState
    attempt: int
    created_at: float
    ip: str = ""
    additional_ips: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuntimeContainer:
    """One container instance: a (name, attempt) pair; restarts create a new instance."""

    id: str
    name: str
    attempt: int
    state: ContainerState
    sandbox_id: str
    image: str = ""            # image as the spec named it
    image_ref: str = ""        # resolved digest/id, for status.imageID
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    reason: str = ""           # e.g. OOMKilled, Error, Completed (from the runtime)
    message: str = ""
    # The hash of the container spec it was created from: a changed spec means restart.
    spec_hash: str = ""


@dataclass
class RuntimePod:
    uid: str
    name: str
    namespace: str
    sandboxes: list[RuntimeSandbox] = field(default_factory=list)     # newest first
    containers: list[RuntimeContainer] = field(default_factory=list)  # newest first per name

    def current_sandbox(self) -> RuntimeSandbox | None:
        return self.sandboxes[0] if self.sandboxes else None

    def latest(self, name: str) -> RuntimeContainer | None:
        """The newest instance of the named container (highest attempt)."""
        best: RuntimeContainer | None = None
        for c in self.containers:
            if c.name == name and (best is None or c.attempt > best.attempt):
                best = c
        return best

    def previous(self, name: str) -> RuntimeContainer | None:
        """The instance before the newest one, for lastState and `logs --previous`."""
        instances = sorted((c for c in self.containers if c.name == name), key=lambda c: c.attempt)
        return instances[-2] if len(instances) >= 2 else None
