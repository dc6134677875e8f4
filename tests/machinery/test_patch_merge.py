"""JSON merge patch (RFC 7386), including the RFC's own examples."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kybernetes.machinery.patch import apply_merge_patch

CASES: list[tuple[str, Any, Any, Any]] = [
    ("replace-scalar", {"a": "b"}, {"a": "c"}, {"a": "c"}),
    ("add-key", {"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ("null-deletes", {"a": "b"}, {"a": None}, {}),
    ("null-deletes-one", {"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ("list-replaced", {"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ("scalar-to-list", {"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ("nested-merge", {"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ("list-of-objects-replaced", {"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    ("non-object-patch-replaces", ["a", "b"], ["c", "d"], ["c", "d"]),
    ("object-patch-on-list", ["a"], {"a": "b"}, {"a": "b"}),
    ("object-patch-on-scalar", "x", {"a": None}, {}),
    ("new-subtree-nulls-dropped", {}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ("nulls-in-lists-kept", {}, {"a": [None, {"b": None}]}, {"a": [None, {"b": None}]}),
    ("null-patch", {"a": 1}, None, None),
    ("labels-remove", {"metadata": {"labels": {"a": "1", "b": "2"}}}, {"metadata": {"labels": {"a": None}}},
     {"metadata": {"labels": {"b": "2"}}}),
    ("scale", {"spec": {"replicas": 1, "paused": True}}, {"spec": {"replicas": 3}}, {"spec": {"replicas": 3, "paused": True}}),
]


@pytest.mark.parametrize(("original", "patch", "want"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_apply_merge_patch(original: Any, patch: Any, want: Any) -> None:
    before_o, before_p = copy.deepcopy(original), copy.deepcopy(patch)
    assert apply_merge_patch(original, patch) == want
    assert (original, patch) == (before_o, before_p)


def test_result_shares_nothing_with_inputs() -> None:
    original: dict[str, Any] = {"a": {"b": [1]}, "c": {"d": 1}}
    patch: dict[str, Any] = {"e": {"f": [2]}}
    result = apply_merge_patch(original, patch)
    result["a"]["b"].append(9)
    result["e"]["f"].append(9)
    assert original == {"a": {"b": [1]}, "c": {"d": 1}} and patch == {"e": {"f": [2]}}
