"""One server-side apply: merge, prune, conflicts and the new managedFields.

Given the live object (None when absent) and an applied configuration from `manager`:
1. the configuration is merged into the live object by the schema;
2. fields this manager applied last time and omits now are removed, unless some applier
   (this configuration included) still owns them;
3. every other manager owning a path that this apply adds or changes is a conflict: 409,
   unless ``force``, which takes those paths from them; removed paths leave every manager;
4. the manager's Apply entry becomes exactly the configuration's field set.
An object that has no managedFields yet first gets a ``before-first-apply`` Update entry
owning all of its fields. For the manager ``kubectl`` (as upstream), conflicts on fields whose
live value still matches the client-side last-applied annotation are not conflicts, and an
existing annotation is rewritten to the applied configuration.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from kybernetes.machinery import errors, managedfields
from kybernetes.machinery.apply import fieldpath as fp
from kybernetes.machinery.apply import typeinfo, walk
from kybernetes.machinery.managedfields import APPLY, Entry

Obj = dict[str, Any]
KUBECTL = "kubectl"  # the manager whose applies interoperate with client-side apply
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


@dataclass(frozen=True, slots=True)
class Conflict:
    manager: Entry
    path: fp.Path


def conflict_error(conflicts: list[Conflict]) -> errors.StatusError:
    """409 with upstream's message and one FieldManagerConflict cause per path."""
    causes = [errors.Cause("FieldManagerConflict", f"conflict with {c.manager.describe()}",
                           fp.path_string(c.path)) for c in conflicts]
    if len(conflicts) == 1:
        c = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {c.manager.describe()}: {fp.path_string(c.path)}"
    else:
        by_manager: dict[str, list[fp.Path]] = {}
        for c in conflicts:
            by_manager.setdefault(c.manager.describe(), []).append(c.path)
        lines: list[str] = []
        for who in sorted(by_manager):
            lines.append(f"conflicts with {who}:")
            lines.extend(f"- {fp.path_string(p)}" for p in by_manager[who])
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return errors.StatusError(409, "Conflict", message, causes=causes)


def _path_order(p: fp.Path) -> tuple[tuple[int, str], ...]:
    return tuple((fp._ORDER.get(pe[:2], 4), pe) for pe in p)


def apply(live: Obj | None, config: Obj, *, manager: str, api_version: str, now: str, root: str | None,
          subresource: str = "", status_reset: bool = False, force: bool = False) -> Obj:
    """The object after applying `config`, with its new managedFields. Raises StatusError
    (409 conflicts, 400 for configurations that do not fit the schema)."""
    meta = config.get("metadata")
    if isinstance(meta, dict) and meta.get("managedFields") is not None:
        raise errors.bad_request("metadata.managedFields must be nil")
    t = typeinfo.root(root)

    def view(o: Obj | None) -> Obj:
        return managedfields.owned_view(o, subresource=subresource, status_reset=status_reset)

    base: Obj = copy.deepcopy(live) if live is not None else {}
    base.setdefault("metadata", {})
    entries = managedfields.live_entries(live)
    if live is not None and not entries:
        first = walk.compare({}, view(live), t)
        entries = managedfields.update_entries([], first, manager=managedfields.BEFORE_FIRST_APPLY,
                                               api_version=api_version, subresource=subresource, now=now)
    base["metadata"].pop("managedFields", None)
    try:
        applied_set = frozenset(p for p in walk.field_set(config, t)
                                if managedfields.is_owned(p, subresource=subresource, status_reset=status_reset))
        applied_cfg = config
        if subresource == "status":  # only status is applied through /status
            applied_cfg = {"status": config["status"]} if "status" in config else {}
        merged: Obj = walk.merge(base, applied_cfg, t)
        ident = (manager, APPLY, "", subresource)
        last = next((e for e in entries if e.ident == ident), None)
        others = [e for e in entries if e.ident != ident]
        if last is not None and last.fields:
            appliers = fp.EMPTY.union(applied_set, *(e.fields for e in others if e.operation == APPLY))
            gone = set(last.fields - appliers)
            merged = walk.remove(merged, t, gone, set(appliers))
        cmp = walk.compare(view(live), view(merged), t)
    except walk.ApplyError as err:
        raise errors.bad_request(f"failed to create typed patch object: {err}") from None
    changed = fp.EMPTY.union(cmp.added, cmp.modified)
    conflicts = [Conflict(e, p) for e in others for p in e.fields & changed]
    if conflicts and not force and manager == KUBECTL:
        # kubectl switching from client-side apply: fields whose live value is still what
        # the last-applied annotation says were kubectl's own and may be taken over.
        allowed = _last_applied_fields(live, t, view, api_version)
        conflicts = [c for c in conflicts if c.path not in allowed]
    if conflicts and not force:
        conflicts.sort(key=lambda c: (c.manager.describe(), _path_order(c.path)))
        raise conflict_error(conflicts)
    removed = frozenset(cmp.removed)
    kept: list[Entry] = []
    for e in others:
        rest = e.fields - changed - removed  # (changed paths are theirs only without force: none)
        if rest:
            kept.append(e if rest == e.fields else replace(e, fields=rest))
    unchanged = last is not None and last.fields == applied_set and not changed and not removed
    when = last.time if unchanged and last is not None else now
    if applied_set:  # an applier owning nothing has no entry
        kept.append(Entry(manager, APPLY, api_version, when, subresource, applied_set))
    if isinstance(merged.get("metadata"), dict):
        merged["metadata"].pop("managedFields", None)
    managedfields.set_entries(merged, kept)
    if manager == KUBECTL and _last_applied(live):
        # keep the client-side apply annotation in step, so that going back to it works
        merged["metadata"].setdefault("annotations", {})[LAST_APPLIED] = encode_last_applied(config)
    return merged


def _last_applied(obj: Obj | None) -> str:
    annotations = ((obj or {}).get("metadata") or {}).get("annotations") or {}
    value = annotations.get(LAST_APPLIED) if isinstance(annotations, dict) else None
    return value if isinstance(value, str) else ""


def encode_last_applied(config: Obj) -> str:
    """The annotation's value as Go's JSON encoder writes an object: sorted keys, compact,
    HTML characters escaped, a trailing newline; without the annotation itself."""
    doc = copy.deepcopy(config)
    meta = doc.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
        meta["annotations"].pop(LAST_APPLIED, None)
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") + "\n"


def _last_applied_fields(live: Obj | None, t: typeinfo.T, view: Callable[[Obj | None], Obj],
                         api_version: str) -> fp.FieldSet:
    """Paths of the last-applied annotation whose live values still match it."""
    try:
        last = json.loads(_last_applied(live) or "null")
    except json.JSONDecodeError:
        return fp.EMPTY
    if not isinstance(last, dict) or last.get("apiVersion") != api_version:
        return fp.EMPTY
    try:
        owned = walk.field_set(view(last), t)
        cmp = walk.compare(view(last), view(live), t)
    except walk.ApplyError:
        return fp.EMPTY
    return frozenset(owned - cmp.modified - cmp.added - cmp.removed)
