"""The built-in admission plugins, in upstream's order."""

from __future__ import annotations

from kybernetes.apiserver.admission import Plugin


def builtin_plugins() -> list[Plugin]:
    return []
