"""metadata.managedFields bookkeeping: which manager owns which fields, as upstream records it.

Every write names a field manager (``?fieldManager=``, else derived from the User-Agent). One
entry per manager, operation (Apply or Update), apiVersion (Update entries only) and
subresource, each holding a FieldsV1 field set and the time of that manager's last change.

A non-apply write (an Update operation) owns what it changed: the paths the write added or
modified go to its manager and leave every other manager; paths it removed leave everyone.
A write may set managedFields itself (kubectl's client-side to server-side apply migration
replaces them with a JSON patch): non-empty, well-formed entries are taken as given, ``[{}]``
resets them, and anything else keeps the live entries. At most ten Update entries are kept;
older ones merge into ``ancient-changes`` per apiVersion.

System metadata (name, uid, resourceVersion, ...) and, for kinds with a status subresource,
``status`` on main-resource writes (everything but ``status`` on /status writes) are never owned.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from kybernetes.machinery.apply import fieldpath as fp
from kybernetes.machinery.apply import typeinfo, walk

Obj = dict[str, Any]
APPLY = "Apply"
UPDATE = "Update"
MAX_UPDATE_MANAGERS = 10
ANCIENT = "ancient-changes"
BEFORE_FIRST_APPLY = "before-first-apply"

# Never owned by anyone (upstream strips them before computing field sets).
STRIPPED_META = frozenset({"name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName",
                           "generation", "managedFields", "resourceVersion"})

_applying: contextvars.ContextVar[bool] = contextvars.ContextVar("kyb_applying", default=False)


@contextlib.contextmanager
def applying() -> Iterator[None]:
    """Within this block the store does not record Update entries: the write is an apply
    whose managedFields are already computed."""
    token = _applying.set(True)
    try:
        yield
    finally:
        _applying.reset(token)


def is_applying() -> bool:
    return _applying.get()


@dataclass(frozen=True, slots=True)
class Entry:
    manager: str
    operation: str
    api_version: str
    time: str | None
    subresource: str
    fields: fp.FieldSet

    @property
    def ident(self) -> tuple[str, str, str, str]:
        """Upstream's manager identifier: appliers are one entry whatever version they use."""
        return (self.manager, self.operation, "" if self.operation == APPLY else self.api_version,
                self.subresource)

    def describe(self) -> str:
        """How conflict messages name this manager."""
        s = f'"{self.manager}"'
        if self.subresource:
            s += f' with subresource "{self.subresource}"'
        if self.operation == UPDATE:
            s += f" using {self.api_version}"
        return s


def decode(raw: Any) -> list[Entry]:
    """Entries of a managedFields list; ValueError when malformed."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValueError("managedFields must be a list")
    out: list[Entry] = []
    for e in raw:
        if not isinstance(e, dict):
            raise ValueError("managedFields entries must be objects")
        op = e.get("operation")
        if op not in (APPLY, UPDATE):
            raise ValueError(f"invalid operation {op!r}")
        if e.get("fieldsType", "FieldsV1") != "FieldsV1":
            raise ValueError(f"unsupported fieldsType {e.get('fieldsType')!r}")
        out.append(Entry(str(e.get("manager") or ""), op, str(e.get("apiVersion") or ""),
                         e.get("time"), str(e.get("subresource") or ""),
                         fp.from_fields_v1(e.get("fieldsV1") or {})))
    return out


def _order(e: Entry) -> tuple[str, str, str, str, str]:
    return (e.operation, e.time or "", e.manager, e.api_version, e.subresource)


def encode(entries: list[Entry]) -> list[Obj]:
    """The managedFields list: Apply entries first, then by time (as upstream sorts them)."""
    out: list[Obj] = []
    for e in sorted(entries, key=_order):
        d: Obj = {"manager": e.manager, "operation": e.operation, "apiVersion": e.api_version}
        if e.time:
            d["time"] = e.time
        d["fieldsType"] = "FieldsV1"
        d["fieldsV1"] = fp.to_fields_v1(e.fields)
        if e.subresource:
            d["subresource"] = e.subresource
        out.append(d)
    return out


def is_reset(raw: Any) -> bool:
    return isinstance(raw, list) and len(raw) == 1 and raw[0] == {}


def owned_view(obj: Obj | None, *, subresource: str, status_reset: bool) -> Obj:
    """The part of an object that field managers can own (metadata is always there, as in a
    typed object, so that its first entry does not count as adding it)."""
    obj = obj or {}
    if subresource == "status":
        return {"status": obj["status"]} if "status" in obj else {}
    out: Obj = {"metadata": {}}
    for k, v in obj.items():
        if k in ("apiVersion", "kind") or (k == "status" and status_reset):
            continue
        if k == "metadata" and isinstance(v, dict):
            out[k] = {mk: mv for mk, mv in v.items() if mk not in STRIPPED_META}
            continue
        out[k] = v
    return out


def is_owned(path: fp.Path, *, subresource: str, status_reset: bool) -> bool:
    """Whether a path of a whole object's field set can be owned (the counterpart of
    owned_view for field sets)."""
    if not path:
        return False
    if subresource == "status":
        return path[0] == "f:status"
    if path[0] in ("f:apiVersion", "f:kind") or (status_reset and path[0] == "f:status"):
        return False
    if path[0] == "f:metadata":
        return len(path) > 1 and path[1][2:] not in STRIPPED_META
    return True


def set_entries(obj: Obj, entries: list[Entry]) -> None:
    meta = obj.setdefault("metadata", {})
    if entries:
        meta["managedFields"] = encode(entries)
    else:
        meta.pop("managedFields", None)


def live_entries(obj: Obj | None) -> list[Entry]:
    try:
        return decode(((obj or {}).get("metadata") or {}).get("managedFields"))
    except ValueError:
        return []


def record_update(new: Obj, old: Obj | None, *, manager: str, api_version: str, now: str,
                  root: str | None, subresource: str = "", status_reset: bool = False) -> None:
    """Record a non-apply write (create, update, patch) of `old` into `new` by `manager` in
    new.metadata.managedFields."""
    given = (new.get("metadata") or {}).get("managedFields")
    if subresource:
        entries = live_entries(old)  # managedFields cannot be set through a subresource
    elif is_reset(given):
        entries = []
    else:
        try:
            entries = decode(given)
        except ValueError:
            entries = []
        if not entries:
            entries = live_entries(old)
    t = typeinfo.root(root)
    new_view = owned_view(new, subresource=subresource, status_reset=status_reset)
    if old is None:
        # Upstream compares a create with an empty typed object, in which top-level structs
        # (spec, status) already exist: they are not "added" (no "." entry).
        old_view: Obj = {k: {} for k, v in new_view.items()
                         if isinstance(v, dict) and typeinfo.child(t, k).kind == "struct"}
    else:
        old_view = owned_view(old, subresource=subresource, status_reset=status_reset)
    cmp = walk.compare(old_view, new_view, t)
    entries = update_entries(entries, cmp, manager=manager, api_version=api_version,
                             subresource=subresource, now=now)
    set_entries(new, cap_updaters(entries))


def update_entries(entries: list[Entry], cmp: walk.Comparison, *, manager: str, api_version: str,
                   subresource: str, now: str) -> list[Entry]:
    """An Update operation: changed paths move to the writer, removed paths leave everyone."""
    changed = fp.EMPTY.union(cmp.modified, cmp.added)
    removed = frozenset(cmp.removed)
    ident = (manager, UPDATE, api_version, subresource)
    out: list[Entry] = []
    prev = fp.EMPTY
    for e in entries:
        if e.ident == ident:
            prev = e.fields
            continue
        rest = e.fields - changed - removed
        if rest:
            out.append(replace(e, fields=rest) if rest != e.fields else e)
    mine = (prev - removed) | changed
    if mine:
        out.append(Entry(manager, UPDATE, api_version, now, subresource, mine))
    return out


def cap_updaters(entries: list[Entry], limit: int = MAX_UPDATE_MANAGERS) -> list[Entry]:
    """Merge the oldest Update entries into one ``ancient-changes`` entry per apiVersion until
    at most `limit` Update entries remain."""
    updaters = [e for e in entries if e.operation == UPDATE]
    if len(updaters) <= limit:
        return entries
    updaters.sort(key=lambda e: (e.time or "", e.ident))
    result = list(entries)
    first: dict[str, Entry] = {}
    count = len(updaters)
    for e in updaters:
        if count <= limit:
            break
        version = e.api_version
        if version not in first:
            first[version] = e
            continue
        ident = (ANCIENT, UPDATE, version, "")
        if e.ident == ident:
            continue
        bucket = next((x for x in result if x.ident == ident), None)
        if bucket is None:
            head = first[version]
            result.remove(head)
            bucket = Entry(ANCIENT, UPDATE, version, head.time, "", head.fields)
        else:
            result.remove(bucket)
        result.remove(e)
        result.append(replace(bucket, fields=bucket.fields | e.fields, time=e.time))
        count -= 1
    return result
