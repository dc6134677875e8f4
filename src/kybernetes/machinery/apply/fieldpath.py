"""Field paths and field sets, and their FieldsV1 JSON form.

A path is a tuple of path elements, each kept in its FieldsV1 spelling: ``f:name`` (a struct
field or map entry), ``k:{"name":"web"}`` (a map-list item by its key fields), ``v:"x"`` (a set
item by value), ``i:3`` (a list item by index). A field set is a frozenset of paths. In FieldsV1
a set is a tree of these elements; ``".": {}`` marks an inner node that is itself in the set,
and every leaf ``{}`` is in the set.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import orjson

Path = tuple[str, ...]
FieldSet = frozenset[Path]

EMPTY: FieldSet = frozenset()


def _dumps(v: Any) -> str:
    # compact, sorted, non-ASCII kept: orjson's output for these options (and fast: keys are
    # built for every list item on every write)
    return orjson.dumps(v, option=orjson.OPT_SORT_KEYS).decode()


def field(name: str) -> str:
    return "f:" + name


def key(item: dict[str, Any], keys: tuple[str, ...], defaults: dict[str, Any]) -> str:
    """The element of a map-list item: its key fields (a missing key field takes its schema
    default) as a JSON object with sorted names."""
    ident: dict[str, Any] = {}
    for k in keys:
        if k in item and item[k] is not None:
            ident[k] = item[k]
        elif k in defaults:
            ident[k] = defaults[k]
        else:
            raise ValueError(f'associative list with keys has an element that omits key field "{k}" '
                             "(and doesn't have default value)")
    return "k:" + _dumps(ident)


def value(v: Any) -> str:
    return "v:" + _dumps(v)


def index(i: int) -> str:
    return f"i:{i}"


def element_string(pe: str) -> str:
    """Upstream's printed form of one element (as in conflict messages): ``.name``,
    ``[name="web"]``, ``[="x"]``, ``[3]``."""
    kind, rest = pe[:2], pe[2:]
    if kind == "f:":
        return "." + rest
    if kind == "k:":
        ident = json.loads(rest)
        return "[" + ",".join(f"{k}={_dumps(v)}" for k, v in ident.items()) + "]"
    if kind == "v:":
        return "[=" + rest + "]"
    return "[" + rest + "]"


def path_string(path: Path) -> str:
    return "".join(element_string(pe) for pe in path)


_ORDER = {"f:": 0, "k:": 1, "v:": 2, "i:": 3}


def _sort_key(pe: str) -> tuple[int, str]:
    return _ORDER.get(pe[:2], 4), pe


def to_fields_v1(fs: Iterable[Path]) -> dict[str, Any]:
    """The FieldsV1 tree of a field set."""
    tree: dict[str, Any] = {}
    members: set[Path] = set()
    for p in fs:
        if not p:
            continue
        node = tree
        for pe in p:
            node = node.setdefault(pe, {})
        members.add(p)

    def render(node: dict[str, Any], prefix: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if node and prefix and prefix in members:
            out["."] = {}
        for pe in sorted(node, key=_sort_key):
            out[pe] = render(node[pe], (*prefix, pe))
        return out

    return render(tree, ())


def from_fields_v1(tree: Any) -> FieldSet:
    """The field set of a FieldsV1 tree; ValueError when it is malformed."""
    out: set[Path] = set()

    def walk(node: Any, prefix: Path) -> None:
        if not isinstance(node, dict):
            raise ValueError("FieldsV1 nodes must be objects")
        if not node and prefix:
            out.add(prefix)
            return
        for pe, sub in node.items():
            if pe == ".":
                if prefix:
                    out.add(prefix)
                continue
            if pe[:2] not in _ORDER:
                raise ValueError(f"unexpected path element {pe!r}")
            if pe[:2] == "k:":  # canonical spelling, so that equal keys compare equal
                try:
                    ident = orjson.loads(pe[2:])
                except orjson.JSONDecodeError:
                    raise ValueError(f"invalid key in {pe!r}") from None
                if not isinstance(ident, dict):
                    raise ValueError(f"invalid key in {pe!r}")
                pe = "k:" + _dumps(ident)
            walk(sub, (*prefix, pe))

    walk(tree, ())
    return frozenset(out)


def with_prefix(fs: Iterable[Path], prefix: Path) -> bool:
    """Whether some path of fs lies strictly under prefix."""
    n = len(prefix)
    return any(len(p) > n and p[:n] == prefix for p in fs)


def prefixes(fs: Iterable[Path]) -> set[Path]:
    """Every strict, non-empty prefix of the paths of fs."""
    out: set[Path] = set()
    for p in fs:
        for i in range(1, len(p)):
            out.add(p[:i])
    return out
