"""The one parser behind every component's host:port listen knob."""

from __future__ import annotations

import pytest

from kybernetes.util.listen import parse_hostport, parse_listen


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("1.2.3.4", ("1.2.3.4", 53), id="v4"),
        pytest.param("1.2.3.4:5353", ("1.2.3.4", 5353), id="v4-port"),
        pytest.param("[::1]:54", ("::1", 54), id="v6-port"),
        pytest.param("::1", ("::1", 53), id="v6"),
        pytest.param("[::]", ("::", 53), id="v6-brackets-no-port"),
        pytest.param(":8080", ("0.0.0.0", 8080), id="port-only-takes-default-host"),
        pytest.param(" 10.0.0.1:80 ", ("10.0.0.1", 80), id="spaces"),
    ],
)
def test_parse_hostport(text: str, expected: tuple[str, int]) -> None:
    assert parse_hostport(text, default_host="0.0.0.0", default_port=53) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("nonsense", id="no-port-without-default"),
        pytest.param("1.2.3.4:http", id="port-not-a-number"),
        pytest.param("1.2.3.4:70000", id="port-out-of-range"),
        pytest.param("[::1", id="unclosed-bracket"),
        pytest.param("[::1]x", id="junk-after-bracket"),
    ],
)
def test_parse_hostport_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_hostport(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("0.0.0.0:80", ("0.0.0.0", 80), id="v4"),
        pytest.param("[::]:8443", ("::", 8443), id="v6"),
        pytest.param(":8080", ("0.0.0.0", 8080), id="port-only"),
        pytest.param("10.0.0.1", ("10.0.0.1", 443), id="host-only"),
        pytest.param("off", None, id="off"),
        pytest.param("OFF", None, id="off-any-case"),
        pytest.param("false", None, id="false"),
        pytest.param("none", None, id="none"),
        pytest.param("-", None, id="dash"),
    ],
)
def test_parse_listen(value: str, expected: tuple[str, int] | None) -> None:
    assert parse_listen("KYB_X", value, default_host="0.0.0.0", default_port=443) == expected


def test_parse_listen_error_names_the_knob() -> None:
    with pytest.raises(ValueError, match="KYB_DASHBOARD_LISTEN: want host:port or off, not 'nonsense'"):
        parse_listen("KYB_DASHBOARD_LISTEN", "nonsense", default_host="127.0.0.1")
