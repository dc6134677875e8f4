"""The Job controller: pure decisions in `logic`, the executor and its registration in `controller`."""

from __future__ import annotations

from kybernetes.controllers.job import controller as controller  # registers "job"
