"""Go's duration text, read and written the way Go does."""

from __future__ import annotations

import pytest

from kybernetes.util.goduration import format_go_duration, parse_go_duration, parse_go_duration_ns


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        pytest.param("0", 0, id="zero"),
        pytest.param("-0", 0, id="signed-zero"),
        pytest.param("90s", 90 * 10**9, id="seconds"),
        pytest.param("2m0s", 120 * 10**9, id="minutes-seconds"),
        pytest.param("1h30m", 5400 * 10**9, id="hours-minutes"),
        pytest.param("1.5h", 5400 * 10**9, id="decimal"),
        pytest.param(".5s", 500_000_000, id="leading-dot"),
        pytest.param("1.s", 10**9, id="trailing-dot"),
        pytest.param("500ms", 500_000_000, id="millis"),
        pytest.param("3us", 3_000, id="micros-ascii"),
        pytest.param("3µs", 3_000, id="micros-micro-sign"),
        pytest.param("3μs", 3_000, id="micros-greek-mu"),
        pytest.param("7ns", 7, id="nanos"),
        pytest.param("-1.5s", -1_500_000_000, id="negative"),
        pytest.param("+2s", 2 * 10**9, id="plus"),
        pytest.param("0.000000001s", 1, id="exact-nanosecond"),
    ],
)
def test_parse(text: str, ns: int) -> None:
    assert parse_go_duration_ns(text) == ns
    assert parse_go_duration(text) == ns / 1e9


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("-", id="sign-only"),
        pytest.param("1", id="no-unit"),
        pytest.param("2 minutes", id="words"),
        pytest.param("1d", id="days-are-not-go"),
        pytest.param("1h 30m", id="space"),
        pytest.param(".s", id="dot-only"),
        pytest.param("3000000h", id="overflows-int64"),
    ],
)
def test_parse_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=f'time: invalid duration "{text}"'):
        parse_go_duration_ns(text)


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (1, "1ns"),
        (1_500, "1.5µs"),
        (300_000_000, "300ms"),
        (1_000_000_000, "1s"),
        (1_500_000_000, "1.5s"),
        (90 * 10**9, "1m30s"),
        (3600 * 10**9, "1h0m0s"),
        (-(3723 * 10**9), "-1h2m3s"),
    ],
)
def test_format(ns: int, text: str) -> None:
    assert format_go_duration(ns) == text
    assert parse_go_duration_ns(text) == ns
