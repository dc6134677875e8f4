"""Go-style renderings used in upstream error texts."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.machinery import _gofmt

VALUES: list[tuple[str, Any, str]] = [
    ("nil", None, "<nil>"),
    ("bools", [True, False], "[true false]"),
    ("int", 80, "80"),
    ("float", 1.5, "1.5"),
    ("float-integral", 3.0, "3"),
    ("float-big", 1e6, "1e+06"),
    ("float-small", 0.00001, "1e-05"),
    ("float-plain", 123456.0, "123456"),
    ("map-sorted", {"b": 1, "a": "x"}, "map[a:x b:1]"),
    ("nested", [{"name": "a", "ports": [80]}], "[map[name:a ports:[80]]]"),
]


@pytest.mark.parametrize(("v", "want"), [c[1:] for c in VALUES], ids=[c[0] for c in VALUES])
def test_value(v: Any, want: str) -> None:
    assert _gofmt.value(v) == want


@pytest.mark.parametrize(("s", "want"), [("a", '"a"'), ('a"b', '"a\\"b"'), ("a\nb", '"a\\nb"'), ("\x01", '"\\x01"')])
def test_quote(s: str, want: str) -> None:
    assert _gofmt.quote(s) == want


def test_string_slice_and_type_names() -> None:
    assert _gofmt.string_slice(None) == "[]string(nil)"
    assert _gofmt.string_slice(["a", "b"]) == '[]string{"a", "b"}'
    assert [_gofmt.type_name(v) for v in ("s", 1, 1.0, True, {}, [], None)] == [
        "string", "int64", "float64", "bool", "map[string]interface {}", "[]interface {}", "%!s(<nil>)"]
