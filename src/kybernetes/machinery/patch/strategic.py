"""Strategic merge patch, the ``application/strategic-merge-patch+json`` patch type.

kubectl's client-side apply, edit, set image, rollout restart and plain ``kubectl patch`` send
these. The patch is JSON merge patch plus list semantics taken from the object's schema:

  * a list field whose patch strategy contains ``merge`` and that has a merge key (containers
    by ``name``, ports by ``containerPort``) merges item by item; items whose key is new are
    added; ``{"$patch": "delete", <key>: v}`` removes matching items; ``{"$patch": "replace"}``
    as an item makes the other patch items the whole list;
  * a ``merge`` list of primitives (finalizers) is a union; ``$deleteFromPrimitiveList/<f>``
    lists values to drop from it;
  * every other list is replaced, as is any list the schema knows nothing about;
  * ``null`` deletes a key; ``{"$patch": "delete"}`` empties a map, ``{"$patch": "replace"}``
    replaces it with the rest of the patch map;
  * ``$retainKeys: [...]`` drops every key of the target map not listed (fields with the
    retainKeys strategy, e.g. Deployment ``spec.strategy``);
  * ``$setElementOrder/<f>: [...]`` orders the merged list: listed items in the given order,
    items only the server has are interleaved where they stood relative to the listed ones.

The algorithm and the resulting orders follow upstream's k8s.io/apimachinery strategicpatch
(StrategicMergeMapPatch, as the apiserver calls it), including its ordering rules: after a
merge, items named by the patch keep the patch's order and server-only items are slotted in by
their old positions (a new item compared with a server-only item goes first).

Errors carry upstream's texts and the codes the apiserver's patch handler gives them: malformed
directives → 400 BadRequest; lists of lists → 422; anything else the merge rejects (a missing
merge key, an unknown ``$patch`` value, mismatched element types) → 500 with no reason, which is
what upstream returns for those plain errors.

Deliberate differences (documented because they are visible):
  * a patch value for a key the original lacks is inserted with its directives resolved
    (``$patch``/``$setElementOrder``/``$retainKeys``/``$deleteFromPrimitiveList`` keys and
    nested ``null``s removed; delete-directive list items dropped). Upstream inserts it raw and
    relies on decoding into a Go struct to drop what it does not know; our objects are plain
    dicts, so raw insertion would store the directives.
  * ``$deleteFromPrimitiveList/<f>`` against an absent list does nothing (upstream would set the
    list to the values meant for deletion), and against any list it only deletes.
  * ``$setElementOrder/<f>`` for a field the schema does not describe is dropped and the list
    is handled as plain JSON merge patch (upstream fails the lookup).

Inputs are never mutated.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, TypeAlias

from kybernetes.api.schema import Field, Message, SchemaRegistry
from kybernetes.machinery import _gofmt
from kybernetes.machinery.errors import StatusError, bad_request

DIRECTIVE = "$patch"
DELETE = "delete"
REPLACE = "replace"
MERGE = "merge"
RETAIN_KEYS_STRATEGY = "retainKeys"
RETAIN_KEYS = "$retainKeys"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"
SET_ELEMENT_ORDER = "$setElementOrder"

_BAD_PRIMITIVE_LIST = "invalid patch format of primitive list"
_BAD_RETAIN_KEYS = "invalid patch format of retainKeys"
_BAD_SET_ELEMENT_ORDER = "invalid patch format of setElementOrder list"

# What we know about the keys of a JSON object: a declared message, a map field (every key's
# value is described by the same field), or nothing.
_Ctx: TypeAlias = Message | Field | None


def apply_strategic_merge_patch(
    original: dict[str, Any], patch: dict[str, Any], schema: SchemaRegistry | None, root: str | None
) -> dict[str, Any]:
    """Apply `patch` to `original` (the object as JSON) and return the result.

    `root` names the object's message in `schema` (e.g. ``io.k8s.api.apps.v1.Deployment``).
    With no schema, or where the schema has no entry, the patch acts as JSON merge patch
    (lists replaced) while still honouring ``$patch`` directives on maps.
    Raises StatusError (see the module docstring for codes).
    """
    if patch is None:
        return copy.deepcopy(original)
    if not isinstance(patch, dict):
        raise bad_request(f"json: cannot unmarshal {_json_kind(patch)} into Go value of type map[string]interface {{}}")
    ctx: _Ctx = schema.get(root) if (schema is not None and root) else None
    return _Merger(schema).merge_map(copy.deepcopy(original) if original else {}, patch, ctx)


def _json_kind(v: Any) -> str:
    if isinstance(v, list):
        return "array"
    if isinstance(v, str):
        return "string"
    if isinstance(v, bool):
        return "bool"
    return "number"


# --- errors ---------------------------------------------------------------------------------


def _plain(message: str) -> StatusError:
    # Upstream returns these as plain Go errors; the handler answers 500 with an empty reason.
    return StatusError(500, "", message)


def _lists_of_lists() -> StatusError:
    return StatusError(422, "Invalid", "the server rejected our request due to an error in our request", {})


def _no_merge_key(m: Any, key: str) -> StatusError:
    return _plain(f"map: {_gofmt.value(m)} does not contain declared merge key: {key}")


def _bad_arg_type(expected: str, actual: Any) -> StatusError:
    return _plain(f"expected a {expected}, but received a {_gofmt.type_name(actual)}")


_MAP_T = "map[string]interface {}"
_LIST_T = "[]interface {}"


# --- helpers on JSON values -----------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    """Go's ``==`` on values decoded into interface{}: the dynamic types must match too."""
    return type(a) is type(b) and a == b


def _index(items: list[Any], v: Any, merge_key: str, is_map: bool) -> int:
    def key_of(x: Any) -> Any:
        if is_map:
            return x.get(merge_key) if isinstance(x, dict) else None
        return x

    want = key_of(v)
    for i, x in enumerate(items):
        if _same(key_of(x), want):
            return i
    return -1


def _find(items: list[Any], key: str, value: Any) -> int:
    for i, x in enumerate(items):
        if not isinstance(x, dict):
            raise _plain(f"value for key {i} is not a map.")
        if key in x and _same(x[key], value):
            return i
    return -1


def _element_kind(*lists: list[Any]) -> bool:
    """True when the lists hold maps, False for primitives (upstream sliceElementType)."""
    prev: type | None = None
    seen = False
    for s in lists:
        for v in s:
            t = type(v)
            if not seen:
                seen, prev = True, t
                if t is list:
                    raise _lists_of_lists()
            elif t is not prev:
                raise _plain(f"list element types are not identical: {_gofmt.value(list(lists))}")
    if not seen:
        raise _plain("no elements in any of the given slices")
    return prev is dict


def _dedupe_scalars(s: list[Any]) -> list[Any]:
    # Upstream's in-place de-duplication (moves the last element into each hole); the order it
    # leaves is normalised afterwards, but keep the same algorithm so ties resolve alike.
    s = list(s)
    length = len(s) - 1
    i = 0
    while i < length:
        j = i + 1
        while j <= length:
            if _same(s[i], s[j]):
                s[j] = s[length]
                s = s[:length]
                length -= 1
                j -= 1
            j += 1
        i += 1
    return s


def _extract_key(key: str, prefix: str) -> str:
    parts = key.split("/", 1)
    if len(parts) <= 1 or parts[0] != prefix:
        if prefix == DELETE_FROM_PRIMITIVE_LIST:
            raise bad_request(_BAD_PRIMITIVE_LIST)
        raise bad_request(_BAD_SET_ELEMENT_ORDER)
    return parts[1]


def _strategy(f: Field | None) -> tuple[bool, str]:
    """(has retainKeys, the other strategy) from a field's patch strategy."""
    strategies = f.patch_strategy.split(",") if (f is not None and f.patch_strategy) else []
    if not strategies:
        return False, ""
    if len(strategies) == 1:
        return (True, "") if strategies[0] == RETAIN_KEYS_STRATEGY else (False, strategies[0])
    if len(strategies) == 2:
        if strategies[0] == RETAIN_KEYS_STRATEGY:
            return True, strategies[1]
        if strategies[1] == RETAIN_KEYS_STRATEGY:
            return True, strategies[0]
    raise _plain(f"unexpected patch strategy: {_gofmt.value(strategies)}")


def _extract_deletes(items: list[Any]) -> tuple[list[Any], list[Any]]:
    keep: list[Any] = []
    drop: list[Any] = []
    for v in items:
        if not isinstance(v, dict):
            raise _bad_arg_type(_MAP_T, v)
        (drop if v.get(DIRECTIVE) == DELETE else keep).append(v)
    return keep, drop


def _validate_merge_keys(merge_key: str, *lists: list[Any]) -> None:
    for items in lists:
        for v in items:
            if not isinstance(v, dict):
                raise _bad_arg_type(_MAP_T, v)
            if merge_key not in v:
                raise _no_merge_key(v, merge_key)


def _normalize_slice_order(to_sort: list[Any], order: list[Any], merge_key: str, is_map: bool) -> list[Any]:
    to_delete: list[Any] = []
    if is_map:
        _validate_merge_keys(merge_key, to_sort, order)
        to_sort, to_delete = _extract_deletes(to_sort)

    def pos(v: Any) -> int:
        i = _index(order, v, merge_key, is_map)
        return i if i >= 0 else len(order)

    return sorted(to_sort, key=pos) + to_delete


def _merge_sorted(left: list[Any], right: list[Any], server_order: list[Any], merge_key: str, is_map: bool) -> list[Any]:
    """Interleave server-only items (`left`) into patch items (`right`), keeping each list's
    own order; a left item goes first only when both are in `server_order` and it stood
    earlier there."""
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li = _index(server_order, left[i], merge_key, is_map)
            ri = _index(server_order, right[j], merge_key, is_map)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


def _normalize_element_order(
    patch_items: list[Any], server_only: list[Any], patch_order: list[Any], server_order: list[Any],
    merge_key: str, is_map: bool,
) -> list[Any]:
    patch_items = _normalize_slice_order(patch_items, patch_order, merge_key, is_map)
    server_only = _normalize_slice_order(server_only, server_order, merge_key, is_map)
    return _merge_sorted(server_only, patch_items, server_order, merge_key, is_map)


def _partition(merged: list[Any], by: list[Any], merge_key: str, is_map: bool) -> tuple[list[Any], list[Any]]:
    """Split `merged` into (items present in `by`, the rest)."""
    present: list[Any] = []
    rest: list[Any] = []
    for v in merged:
        if is_map:
            if not isinstance(v, dict):
                raise _bad_arg_type(_MAP_T, v)
            if merge_key not in v:
                raise _no_merge_key(v, merge_key)
            found = _find(by, merge_key, v[merge_key]) >= 0
        else:
            found = any(_same(v, x) for x in by)
        (present if found else rest).append(v)
    return present, rest


def _merge_key_equal(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        return _same(left, right)
    if not isinstance(left, dict):
        raise _bad_arg_type(_MAP_T, left)
    if not isinstance(right, dict):
        raise _bad_arg_type(_MAP_T, right)
    if merge_key not in left:
        raise _no_merge_key(left, merge_key)
    if merge_key not in right:
        raise _no_merge_key(right, merge_key)
    return _same(left[merge_key], right[merge_key])


def _validate_with_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    """The patch list's items (deletions aside) must appear in `order`, in the same order."""
    if not order or not patch_list:
        return
    items = _extract_deletes(patch_list)[0] if merge_key else patch_list
    pi = si = 0
    while pi < len(items) and si < len(order):
        if isinstance(items[pi], dict) and DIRECTIVE in items[pi]:
            pi += 1
            continue
        if _merge_key_equal(items[pi], order[si], merge_key):
            pi += 1
        si += 1
    if pi < len(items) and si >= len(order):
        raise _plain(
            f"The order in patch list:\n{_gofmt.value(patch_list)}\n doesn't match "
            f"{SET_ELEMENT_ORDER} list:\n{_gofmt.value(order)}\n"
        )


class _Merger:
    def __init__(self, schema: SchemaRegistry | None) -> None:
        self.schema = schema

    # -- schema lookups --

    @staticmethod
    def field(ctx: _Ctx, key: str) -> Field | None:
        if ctx is None:
            return None
        if isinstance(ctx, Field):
            return ctx
        return ctx.field(key)

    def map_ctx(self, f: Field | None) -> _Ctx:
        """What we know about the keys of the object stored in field `f`."""
        if f is None:
            return None
        if f.map:
            # A Go map: every value has the field's type and no patch strategy of its own.
            return dataclasses.replace(f, map=False, repeated=False, merge_key=None, patch_strategy=None)
        if f.is_scalar or self.schema is None:
            return None
        return self.schema.get(f.type)

    def elem_ctx(self, f: Field | None) -> _Ctx:
        if f is None or f.is_scalar or self.schema is None:
            return None
        return self.schema.get(f.type)

    # -- new subtrees --

    def strip_value(self, v: Any, f: Field | None) -> Any:
        """A patch value going where the original has nothing: resolve its directives against
        emptiness (see the module docstring)."""
        if isinstance(v, dict):
            return self.strip_map(v, self.map_ctx(f))
        if isinstance(v, list):
            merging = f is not None and MERGE in (f.patch_strategy or "").split(",")
            if merging:
                ectx = self.elem_ctx(f)
                return [
                    self.strip_map(x, ectx) if isinstance(x, dict) else copy.deepcopy(x)
                    for x in v
                    if not (isinstance(x, dict) and DIRECTIVE in x)
                ]
            return copy.deepcopy(v)
        return v

    def strip_map(self, m: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
        if m.get(DIRECTIVE) == DELETE:
            return {}
        out: dict[str, Any] = {}
        for k, x in m.items():
            if k in (DIRECTIVE, RETAIN_KEYS) or k.startswith((SET_ELEMENT_ORDER, DELETE_FROM_PRIMITIVE_LIST)):
                continue
            if x is None:
                continue
            out[k] = self.strip_value(x, self.field(ctx, k))
        return out

    # -- maps --

    def merge_map(self, original: dict[str, Any], patch: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
        """Merge `patch` into `original`, which we own (it is modified and returned)."""
        if DIRECTIVE in patch:
            directive = patch[DIRECTIVE]
            if directive == REPLACE:
                return self.strip_map({k: v for k, v in patch.items() if k != DIRECTIVE}, ctx)
            if directive == DELETE:
                return {}
            raise _plain(f"unknown patch type: {_gofmt.value(directive)} in map: {_gofmt.value(patch)}")

        patch = dict(patch)  # a shallow copy we may pop directives from
        self.apply_retain_keys(original, patch)
        self.merge_ordered_lists(original, patch, ctx)

        deletions: list[tuple[str, Any]] = []
        for k, pv in patch.items():
            if k.startswith(DELETE_FROM_PRIMITIVE_LIST):
                deletions.append((_extract_key(k, DELETE_FROM_PRIMITIVE_LIST), pv))
                continue
            if pv is None:
                original.pop(k, None)
                continue
            f = self.field(ctx, k)
            if k not in original or type(original[k]) is not type(pv):
                original[k] = self.strip_value(pv, f)
                continue
            ov = original[k]
            _, strategy = _strategy(f)
            if isinstance(ov, dict):
                if strategy == REPLACE:
                    original[k] = self.strip_value(pv, f)
                else:
                    original[k] = self.merge_map(ov, pv, self.map_ctx(f))
            elif isinstance(ov, list):
                original[k] = self.merge_list(ov, pv, f, strategy)
            else:
                original[k] = pv
        for k, pv in deletions:
            self.delete_from_primitive_list(original, k, pv)
        return original

    def apply_retain_keys(self, original: dict[str, Any], patch: dict[str, Any]) -> None:
        if RETAIN_KEYS not in patch:
            return
        retain = patch.pop(RETAIN_KEYS)
        if not isinstance(retain, list):
            raise bad_request(_BAD_RETAIN_KEYS)
        keep = {x for x in retain if isinstance(x, str)}
        for k, v in patch.items():
            if v is None or k.startswith((DELETE_FROM_PRIMITIVE_LIST, SET_ELEMENT_ORDER)):
                continue
            if k not in keep:
                raise bad_request(_BAD_RETAIN_KEYS)
        for k in [k for k in original if k not in keep]:
            del original[k]

    def delete_from_primitive_list(self, original: dict[str, Any], key: str, values: Any) -> None:
        if values is None:
            original.pop(key, None)  # as upstream: a null deletion list removes the list
            return
        if not isinstance(values, list):
            raise bad_request(_BAD_PRIMITIVE_LIST)
        current = original.get(key)
        if not isinstance(current, list):
            return
        original[key] = [v for v in current if not any(_same(v, d) for d in values)]

    # -- lists --

    def merge_list(self, original: list[Any], patch: list[Any], f: Field | None, strategy: str) -> list[Any]:
        if strategy != MERGE:
            return copy.deepcopy(patch)
        if not original and not patch:
            return original
        is_map = _element_kind(original, patch)
        merge_key = (f.merge_key or "") if (f is not None and is_map) else ""
        if not is_map:
            merged = _dedupe_scalars(original + copy.deepcopy(patch))
        else:
            if not merge_key:
                kind = "map" if (f is None or f.is_scalar) else "struct"
                raise _plain(f"cannot merge lists without merge key for type {kind}")
            ectx = self.elem_ctx(f)
            original, patch = self.apply_list_directives(original, patch, merge_key, ectx)
            merged = self.merge_items(original, patch, merge_key, ectx)
        present, rest = _partition(merged, patch, merge_key, is_map)
        return _normalize_element_order(present, rest, patch, original, merge_key, is_map)

    def apply_list_directives(
        self, original: list[Any], patch: list[Any], merge_key: str, ectx: _Ctx
    ) -> tuple[list[Any], list[Any]]:
        """Handle ``$patch`` items: deletions leave `original`; a replace marker makes the
        remaining patch items the new list. Returns (original, patch without directive items)."""
        plain: list[Any] = []
        replace = False
        for v in patch:
            if DIRECTIVE not in v:
                plain.append(v)
                continue
            directive = v[DIRECTIVE]
            if directive == DELETE:
                if merge_key not in v:
                    raise _no_merge_key(v, merge_key)
                target = v[merge_key]
                original = [o for o in original if not (merge_key in o and _same(o[merge_key], target))]
            elif directive == REPLACE:
                replace = True
            elif directive == MERGE:
                raise _plain("merging lists cannot yet be specified in the patch")
            else:
                raise _plain(f"unknown patch type: {_gofmt.value(directive)} in map: {_gofmt.value(v)}")
        if replace:
            return [self.strip_map(v, ectx) for v in plain], []
        return original, plain

    def merge_items(self, original: list[Any], patch: list[Any], merge_key: str, ectx: _Ctx) -> list[Any]:
        # A new list: `original` keeps standing for the server's order (new items not in it).
        merged = list(original)
        for v in patch:
            if merge_key not in v:
                raise _no_merge_key(v, merge_key)
            i = _find(merged, merge_key, v[merge_key])
            if i >= 0:
                merged[i] = self.merge_map(merged[i], v, ectx)
            else:
                merged.append(self.strip_map(v, ectx))
        return merged

    def merge_ordered_lists(self, original: dict[str, Any], patch: dict[str, Any], ctx: _Ctx) -> None:
        """Process every ``$setElementOrder/<f>`` together with the patch's ``<f>``; both
        leave `patch` once merged into `original`."""
        for key in [k for k in patch if k.startswith(SET_ELEMENT_ORDER)]:
            order = patch.pop(key)
            if not isinstance(order, list):
                raise _bad_arg_type(_LIST_T, order)
            name = _extract_key(key, SET_ELEMENT_ORDER)
            found_o, found_p = name in original, name in patch
            ov, pv = original.get(name), patch.get(name)
            if found_o and not isinstance(ov, list):
                raise _bad_arg_type(_LIST_T, ov)
            if found_p and not isinstance(pv, list):
                raise _bad_arg_type(_LIST_T, pv)
            f = self.field(ctx, name)
            if f is None:
                continue  # nothing known about this list: the main loop treats it as JSON merge
            _, strategy = _strategy(f)
            merge_key = f.merge_key or ""
            orig_list: list[Any] = ov if isinstance(ov, list) else []
            patch_list: list[Any] = pv if isinstance(pv, list) else []
            _validate_with_order(patch_list, order, merge_key)
            server_order = list(orig_list)
            if found_o and not found_p:
                merged = orig_list
            elif found_p and not found_o:
                merged = self.strip_value(patch_list, f)
            elif found_o and found_p:
                merged = self.merge_list(orig_list, patch_list, f, strategy)
            else:
                continue
            is_map_key = bool(merge_key)
            present, rest = _partition(merged, order, merge_key, is_map_key)
            is_map = _element_kind(orig_list, patch_list)
            original[name] = _normalize_element_order(present, rest, order, server_order, merge_key, is_map)
            patch.pop(name, None)
