"""The four walks over typed objects that server-side apply is made of.

* ``field_set``: the fields an applied configuration sets (what its manager will own);
* ``compare``: the paths added, modified and removed between two versions of an object;
* ``merge``: an applied configuration merged into a live object;
* ``remove``: an object with some owned paths taken out (fields an applier stopped applying).

Objects are plain JSON dicts; ``T`` (typeinfo) says how each node merges.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from kybernetes.machinery.apply import fieldpath as fp
from kybernetes.machinery.apply.typeinfo import KEY_DEFAULTS, T, child

Path = fp.Path


class ApplyError(ValueError):
    """The object does not fit its schema for apply (e.g. duplicate map-list keys)."""


def item_element(t: T, item: Any, i: int) -> str:
    if t.list_kind == "map" and t.keys:
        if not isinstance(item, dict):
            raise ApplyError("associative list items must be objects")
        try:
            return fp.key(item, t.keys, KEY_DEFAULTS)
        except ValueError as e:
            raise ApplyError(str(e)) from None
    if t.list_kind == "set":
        return fp.value(item)
    return fp.index(i)


def _items(t: T, lst: list[Any], path: Path) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(lst):
        pe = item_element(t, item, i)
        if pe in seen:
            raise ApplyError(f"{fp.path_string(path)}: duplicate entries for key {fp.element_string(pe)}")
        seen.add(pe)
        out.append((pe, item))
    return out


class _Duplicates(tuple[Any, ...]):
    """Several items of one list under the same key."""


def _keyed_tolerating_duplicates(t: T, lst: list[Any]) -> dict[str, Any]:
    """Items by key for comparing two versions of an update. Unlike apply, an update may carry
    duplicate keys (a pod listing one containerPort twice is valid and only warned about);
    as upstream, the duplicated entries are then owned together, as one atomic value."""
    out: dict[str, Any] = {}
    for i, item in enumerate(lst):
        pe = item_element(t, item, i)
        if pe in out:
            prior = out[pe]
            out[pe] = _Duplicates((*prior, item)) if isinstance(prior, _Duplicates) else _Duplicates((prior, item))
        else:
            out[pe] = item
    return out


# --- field_set ----------------------------------------------------------------------------------------
def field_set(obj: Any, t: T) -> set[Path]:
    out: set[Path] = set()
    _set(obj, t, (), out)
    return out


def _set(v: Any, t: T, path: Path, out: set[Path]) -> None:
    if t.granular and isinstance(v, dict):
        for k, cv in v.items():
            ct = child(t, k)
            p = (*path, fp.field(k))
            # Entries of maps and of schema-less objects are owned themselves; struct fields
            # only when empty (an inner struct is owned through its leaves).
            if cv is None or cv == {} or t.kind != "struct" or (ct.kind == "untyped" and isinstance(cv, dict)):
                out.add(p)
            _set(cv, ct, p, out)
        return
    if t.itemized and isinstance(v, list):
        assert t.elem is not None
        for pe, item in _items(t, v, path):
            p = (*path, pe)
            out.add(p)
            if t.list_kind == "map":
                _set(item, t.elem, p, out)
        return
    if path:
        out.add(path)


# --- compare ------------------------------------------------------------------------------------------
_MISSING: Any = object()


@dataclass
class Comparison:
    added: set[Path] = field(default_factory=set)
    modified: set[Path] = field(default_factory=set)
    removed: set[Path] = field(default_factory=set)


def compare(old: Any, new: Any, t: T) -> Comparison:
    c = Comparison()
    _cmp(old, new, t, (), c)
    return c


def _cmp(old: Any, new: Any, t: T, path: Path, c: Comparison) -> None:
    if old is None:
        old = _MISSING
    if new is None:
        new = _MISSING
    if old is _MISSING and new is _MISSING:
        return
    if isinstance(old, dict | list) and old == new:
        return  # unchanged subtree (most of every write): nothing to walk
    if t.granular and (old is _MISSING or isinstance(old, dict)) and (new is _MISSING or isinstance(new, dict)):
        if path and old is _MISSING:
            c.added.add(path)
        elif path and new is _MISSING:
            c.removed.add(path)
        o = old if isinstance(old, dict) else {}
        n = new if isinstance(new, dict) else {}
        if path and isinstance(old, dict) and isinstance(new, dict) and not o and not n:
            return
        for k in {**o, **n}:
            _cmp(o.get(k, _MISSING), n.get(k, _MISSING), child(t, k), (*path, fp.field(k)), c)
        return
    if t.itemized and (old is _MISSING or isinstance(old, list)) and (new is _MISSING or isinstance(new, list)):
        assert t.elem is not None
        if path and old is _MISSING:
            c.added.add(path)
        elif path and new is _MISSING:
            c.removed.add(path)
        o = _keyed_tolerating_duplicates(t, old) if isinstance(old, list) else {}
        n = _keyed_tolerating_duplicates(t, new) if isinstance(new, list) else {}
        for pe in {**o, **n}:
            p = (*path, pe)
            ov, nv = o.get(pe, _MISSING), n.get(pe, _MISSING)
            if ov is _MISSING:
                c.added.add(p)
            elif nv is _MISSING:
                c.removed.add(p)
            if isinstance(ov, _Duplicates) or isinstance(nv, _Duplicates):
                if ov is not _MISSING and nv is not _MISSING and ov != nv:
                    c.modified.add(p)
            elif t.list_kind == "map":
                _cmp(ov, nv, t.elem, p, c)
        return
    if old is _MISSING:
        c.added.add(path)
    elif new is _MISSING:
        c.removed.add(path)
    elif old != new or type(old) is not type(new):
        c.modified.add(path)


# --- merge --------------------------------------------------------------------------------------------
def merge(live: Any, config: Any, t: T, path: Path = ()) -> Any:
    """`config` merged into `live`: granular objects entry by entry, itemized lists item by
    item (live items missing from config keep their place), everything else replaced."""
    if t.granular and isinstance(live, dict) and isinstance(config, dict):
        out = dict(live)
        for k, cv in config.items():
            if cv is None:
                out.pop(k, None)
                continue
            out[k] = merge(live.get(k), cv, child(t, k), (*path, fp.field(k)))
        return out
    if t.itemized and isinstance(live, list) and isinstance(config, list):
        assert t.elem is not None
        lhs = _items(t, live, path)
        rhs = _items(t, config, path)
        live_by = dict(lhs)
        rhs_keys = {pe for pe, _ in rhs}
        done: set[str] = set()
        result: list[Any] = []

        def emit_rhs(pe: str, item: Any) -> None:
            if pe in live_by and t.list_kind == "map":
                result.append(merge(live_by[pe], item, t.elem or T("untyped"), (*path, pe)))
            else:
                result.append(copy.deepcopy(item))
            done.add(pe)

        li = ri = 0
        while li < len(lhs) or ri < len(rhs):
            if li < len(lhs) and lhs[li][0] in done:
                li += 1
                continue
            if li < len(lhs) and lhs[li][0] not in rhs_keys:
                result.append(lhs[li][1])
                li += 1
                continue
            if ri < len(rhs):
                emit_rhs(*rhs[ri])
                ri += 1
                continue
            li += 1
        return result
    if config is _MISSING:
        return live
    return copy.deepcopy(config)


# --- remove -------------------------------------------------------------------------------------------
def remove(obj: Any, t: T, paths: set[Path], keep: set[Path]) -> Any:
    """obj without the nodes at `paths`; a node with a descendant in `keep` stays, and only
    its other removable descendants go. Maps and lists emptied this way disappear."""
    if not paths:
        return obj
    under = fp.prefixes(paths)
    kept_under = fp.prefixes(keep)
    return _remove(obj, t, (), paths, under, kept_under)


def _remove(v: Any, t: T, path: Path, paths: set[Path], under: set[Path], kept_under: set[Path]) -> Any:
    if t.granular and isinstance(v, dict):
        out: dict[str, Any] = {}
        for k, cv in v.items():
            p = (*path, fp.field(k))
            if p in paths and p not in kept_under:
                continue
            if p in paths or p in under:
                ct = child(t, k)
                new = _remove(cv, ct, p, paths, under, kept_under)
                if new in ({}, []) and cv not in ({}, []) and ct.kind in ("map", "list", "untyped"):
                    continue
                out[k] = new
            else:
                out[k] = cv
        return out
    if t.itemized and isinstance(v, list):
        assert t.elem is not None
        result: list[Any] = []
        for pe, item in _items(t, v, path):
            p = (*path, pe)
            if p in paths and p not in kept_under:
                continue
            if t.list_kind == "map" and (p in paths or p in under) and isinstance(item, dict):
                new_item = _remove(item, t.elem, p, paths, under, kept_under)
                for k in t.keys:  # a kept item keeps its identity
                    if k in item:
                        new_item[k] = item[k]
                result.append(new_item)
            else:
                result.append(item)
        return result
    return v
