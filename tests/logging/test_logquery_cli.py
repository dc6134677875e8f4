"""`kyb logs query`: duration parsing, query parameters and line rendering."""

from __future__ import annotations

import pytest

from kybernetes.cli.logs import parse_duration, query_params, render

DURATIONS = [
    ("seconds", "90s", 90.0),
    ("minutes", "5m", 300.0),
    ("compound", "1h30m", 5400.0),
    ("fraction", "1.5h", 5400.0),
    ("millis", "1500ms", 1.5),
]


@pytest.mark.parametrize(("name", "text", "seconds"), DURATIONS, ids=[d[0] for d in DURATIONS])
def test_parse_duration(name: str, text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "h", "5d", "1h x", "-5m"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


def test_query_params_drop_empty_and_round_since_up() -> None:
    assert query_params(
        namespace="ns",
        selector="app=a",
        pod="",
        container="",
        node="",
        since=1.5,
        since_time="",
        grep="",
        limit=10,
        after=None,
    ) == {"namespace": "ns", "labelSelector": "app=a", "limit": "10", "sinceSeconds": "2"}
    assert (
        query_params(
            namespace="",
            selector="",
            pod="p",
            container="c",
            node="",
            since=None,
            since_time="",
            grep="x",
            limit=5,
            after=0,
        )["after"]
        == "0"
    )


def test_render() -> None:
    r = {"ts": 1_700_000_000 * 10**9, "namespace": "ns", "pod": "p", "container": "c", "log": "hello"}
    assert render(r, prefix=True, timestamps=False, as_json=False) == "[ns/p/c] hello"
    assert render(r, prefix=False, timestamps=True, as_json=False) == "2023-11-14T22:13:20.000000000Z hello"
    assert render(r, prefix=False, timestamps=False, as_json=True).startswith('{"ts":1700000000000000000')
