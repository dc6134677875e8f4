"""Warnings raised while a write is being prepared, before the object takes its final shape.

Most warnings come from ``Strategy.warnings_on_create/update`` looking at the finished object.
A few can only be known earlier — e.g. the pod strategy fills in AppArmor fields from the
deprecated annotations, after which nothing shows the annotation was the only source. Like
upstream's request-scoped warning recorder, the store opens a recorder for the write and those
steps add to it; each request runs in its own asyncio task, so recorders never mix.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_RECORDER: ContextVar[list[str] | None] = ContextVar("kyb_warning_recorder", default=None)


@contextmanager
def recording(into: list[str]) -> Iterator[None]:
    """Warnings added inside the block are appended to `into`."""
    token = _RECORDER.set(into)
    try:
        yield
    finally:
        _RECORDER.reset(token)


def add_warning(text: str) -> None:
    """Record `text` for the current write; a no-op outside a write (e.g. in unit tests)."""
    recorder = _RECORDER.get()
    if recorder is not None and text not in recorder:
        recorder.append(text)
