"""The registry: plugin name -> factory. In-tree plugins are registered by
`kybernetes.scheduler.plugins.in_tree_registry`; Python plugins are added from modules named in the
configuration's ``pluginModules`` (each module exposes ``PLUGINS: dict[str, factory]``).

A factory is ``factory(args: dict, handle: Framework) -> plugin``; `args` is the profile's
pluginConfig entry for that name (``{}`` when none), `handle` the profile's framework (snapshot,
API client, event recorder, running filters for simulations).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kybernetes.scheduler.framework.runtime import Framework

PluginFactory = Callable[[dict[str, Any], "Framework"], Any]
Registry = dict[str, PluginFactory]


class RegistryError(ValueError):
    pass


def merge(into: Registry, other: Registry) -> None:
    for name, factory in other.items():
        if name in into:
            raise RegistryError(f"a plugin named {name!r} already exists")
        into[name] = factory


def load_module_plugins(module_name: str) -> Registry:
    """The ``PLUGINS`` dict of a Python module (a plugin package of the user's)."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise RegistryError(f"cannot import plugin module {module_name!r}: {e}") from e
    plugins = getattr(module, "PLUGINS", None)
    if not isinstance(plugins, dict) or not all(isinstance(k, str) and callable(v) for k, v in plugins.items()):
        raise RegistryError(f"plugin module {module_name!r} has no PLUGINS dict of name -> factory")
    return dict(plugins)
