"""Pure parts of the proxy and component: HTTP/1.1 heads and framing, forwarded headers, settings, status."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.ingress import http1
from kybernetes.ingress.component import settings_from_env, status_patch
from kybernetes.ingress.proxy import forward_request_headers


def head(raw: str, *, request: bool = True) -> http1.Head:
    return http1.parse_head(raw.replace("\n", "\r\n").encode(), request=request)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("GET / HTTP/1.1\nHost: a", http1.NO_BODY, id="no-body"),
        pytest.param("POST / HTTP/1.1\nContent-Length: 5", ("length", 5), id="content-length"),
        pytest.param("POST / HTTP/1.1\nContent-Length: 5, 5", ("length", 5), id="repeated-equal-length"),
        pytest.param(
            "POST / HTTP/1.1\nTransfer-Encoding: chunked\nContent-Length: 3", http1.CHUNKED, id="te-wins"
        ),
        pytest.param("POST / HTTP/1.1\nTransfer-Encoding: gzip, chunked", http1.CHUNKED, id="chunked-last"),
    ],
)
def test_request_framing(raw: str, expected: http1.Framing) -> None:
    assert http1.request_framing(head(raw)) == expected


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        pytest.param("POST / HTTP/1.1\nContent-Length: 5\nContent-Length: 6", 400, id="conflicting-lengths"),
        pytest.param("POST / HTTP/1.1\nContent-Length: -1", 400, id="negative-length"),
        pytest.param("POST / HTTP/1.1\nTransfer-Encoding: gzip", 400, id="te-without-chunked"),
        pytest.param("GET /\n", 400, id="short-request-line"),
        pytest.param("GET / HTTP/2.0", 505, id="unsupported-version"),
        pytest.param("GET / HTTP/1.1\nNo colon here", 400, id="malformed-header"),
        pytest.param("GET / HTTP/1.1\nHost : a", 400, id="space-before-colon"),
    ],
)
def test_bad_requests(raw: str, status: int) -> None:
    with pytest.raises(http1.BadMessage) as e:
        http1.request_framing(head(raw))
    assert e.value.status == status


@pytest.mark.parametrize(
    ("raw", "method", "expected"),
    [
        pytest.param("HTTP/1.1 200 OK\nContent-Length: 3", "HEAD", http1.NO_BODY, id="head-request"),
        pytest.param("HTTP/1.1 204 No Content", "GET", http1.NO_BODY, id="204"),
        pytest.param("HTTP/1.1 304 Not Modified\nContent-Length: 9", "GET", http1.NO_BODY, id="304"),
        pytest.param("HTTP/1.1 200 OK\nTransfer-Encoding: chunked", "GET", http1.CHUNKED, id="chunked"),
        pytest.param("HTTP/1.1 200 OK\nContent-Length: 0", "GET", http1.NO_BODY, id="empty"),
        pytest.param("HTTP/1.0 200 OK", "GET", http1.UNTIL_CLOSE, id="until-close"),
    ],
)
def test_response_framing(raw: str, method: str, expected: http1.Framing) -> None:
    assert http1.response_framing(head(raw, request=False), request_method=method) == expected


def test_forwarded_headers() -> None:
    req = head(
        "POST /x HTTP/1.1\nHost: a.com\nConnection: keep-alive, X-Secret\nX-Secret: 1\nKeep-Alive: 5\n"
        "X-Forwarded-For: 203.0.113.9\nX-Forwarded-Proto: ftp\nExpect: 100-continue\nContent-Length: 9\n"
        "Transfer-Encoding: chunked\nAccept: */*"
    )
    out = forward_request_headers(
        req, host="a.com", scheme="https", client_ip="10.0.0.1", port=443, framing=http1.CHUNKED, upgrade=None
    )
    assert out == [
        ("Host", "a.com"),
        ("Accept", "*/*"),
        ("X-Forwarded-For", "203.0.113.9, 10.0.0.1"),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "a.com"),
        ("X-Forwarded-Port", "443"),
        ("X-Real-IP", "10.0.0.1"),
        ("Transfer-Encoding", "chunked"),
    ]
    ws = head("GET /ws HTTP/1.1\nHost: a.com\nConnection: Upgrade\nUpgrade: websocket")
    out = forward_request_headers(
        ws, host="a.com", scheme="http", client_ip="::1", port=80, framing=http1.NO_BODY, upgrade="websocket"
    )
    assert out[-2:] == [("Connection", "upgrade"), ("Upgrade", "websocket")]


def test_settings_from_env() -> None:
    s = settings_from_env({}, host_address="192.0.2.1")
    assert (s.http_listen, s.https_listen, s.addresses, s.class_name) == (
        ("0.0.0.0", 80),
        ("0.0.0.0", 443),
        ("192.0.2.1",),
        "kybernetes",
    )
    s = settings_from_env(
        {"KYB_INGRESS_HTTPS": "off", "KYB_INGRESS_ADDRESS": "198.51.100.1, lb.example.com"}, host_address="x"
    )
    assert s.https_listen is None and s.addresses == ("198.51.100.1", "lb.example.com")
    s = settings_from_env({"KYB_INGRESS_HTTP": ":8080", "KYB_INGRESS_HTTPS": "10.0.0.1"}, host_address="x")
    assert (s.http_listen, s.https_listen) == (("0.0.0.0", 8080), ("10.0.0.1", 443))


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param(
            {},
            {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}, {"hostname": "lb.test"}]}}},
            id="unset",
        ),
        pytest.param(
            {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}, {"hostname": "lb.test"}]}}, None, id="current"
        ),
        pytest.param(
            {"loadBalancer": {"ingress": [{"ip": "192.0.2.9"}]}},
            {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}, {"hostname": "lb.test"}]}}},
            id="stale",
        ),
    ],
)
def test_status_patch(status: dict[str, Any], expected: dict[str, Any] | None) -> None:
    assert status_patch({"status": status}, ("192.0.2.1", "lb.test")) == expected
