"""Stopping background tasks without hanging the stopper.

The usual ``task.cancel(); with suppress(CancelledError): await task`` has two faults: a task that
does not end promptly after cancel() holds its stopper forever, and the suppress() also swallows a
cancellation aimed at the stopper itself. ``cancel_and_wait`` bounds the wait and lets the
stopper's own cancellation through.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("kyb.tasks")


async def cancel_and_wait(task: asyncio.Task[object] | None, *, timeout: float = 10.0) -> bool:
    """Cancel `task` and wait up to `timeout` s for it to end; False (and a warning) if it did not."""
    if task is None or task.done():
        return True
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        log.warning("task %s did not stop within %.0fs of being cancelled", task.get_name(), timeout)
        return False
    if not task.cancelled() and task.exception() is not None:
        log.debug("task %s ended with %r", task.get_name(), task.exception())
    return True
