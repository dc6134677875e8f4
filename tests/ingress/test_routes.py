"""The route table as a pure function of IngressClasses, Ingresses, Services and EndpointSlices."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.ingress.routes import (
    BackendRef,
    build_table,
    handled_ingresses,
    host_matches,
    normalize_host,
    path_matches,
    resolve_endpoints,
)

from .objects import NGINX, OURS, OURS_NOT_DEFAULT, ingress, rule, service, slice_


# --- matching primitives --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rule_path", "exact", "request_path", "expected"),
    [
        pytest.param("/", False, "/anything/at/all", True, id="prefix-root-matches-all"),
        pytest.param("/foo", False, "/foo", True, id="prefix-equal"),
        pytest.param("/foo", False, "/foo/", True, id="prefix-trailing-slash-request"),
        pytest.param("/foo", False, "/foo/bar", True, id="prefix-element"),
        pytest.param("/foo", False, "/foobar", False, id="prefix-not-string-prefix"),
        pytest.param("/aaa/bbb/", False, "/aaa/bbb", True, id="prefix-trailing-slash-rule-ignored"),
        pytest.param("/aaa/bbb", False, "/aaa/bbbxyz", False, id="prefix-partial-element"),
        pytest.param("/foo", True, "/foo", True, id="exact-equal"),
        pytest.param("/foo", True, "/foo/", False, id="exact-trailing-slash"),
        pytest.param("/foo", True, "/foo/bar", False, id="exact-no-prefix"),
        pytest.param("/FOO", False, "/foo", False, id="paths-case-sensitive"),
    ],
)
def test_path_matches(rule_path: str, exact: bool, request_path: str, expected: bool) -> None:
    assert path_matches(rule_path, exact, request_path) is expected


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        pytest.param("foo.bar.com", "foo.bar.com", True, id="exact"),
        pytest.param("foo.bar.com", "FOO.bar.com:8080", True, id="case-and-port"),
        pytest.param("*.foo.com", "bar.foo.com", True, id="wildcard-one-label"),
        pytest.param("*.foo.com", "baz.bar.foo.com", False, id="wildcard-not-two-labels"),
        pytest.param("*.foo.com", "foo.com", False, id="wildcard-not-bare-domain"),
    ],
)
def test_host_matches(pattern: str, host: str, expected: bool) -> None:
    assert host_matches(pattern, host) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Example.COM", "example.com"),
        ("example.com:80", "example.com"),
        ("[::1]:8443", "[::1]"),
        ("example.com.", "example.com"),
    ],
)
def test_normalize_host(raw: str, expected: str) -> None:
    assert normalize_host(raw) == expected


# --- which Ingresses are ours --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ing", "classes", "expected"),
    [
        pytest.param(ingress("a", class_name="kybernetes"), [OURS_NOT_DEFAULT], True, id="class-name-ours"),
        pytest.param(ingress("a", class_name="nginx"), [OURS, NGINX], False, id="class-name-other"),
        pytest.param(ingress("a", class_name="missing"), [OURS], False, id="class-name-unknown"),
        pytest.param(ingress("a"), [OURS], True, id="no-class-default-ours"),
        pytest.param(ingress("a"), [OURS_NOT_DEFAULT], False, id="no-class-no-default"),
        pytest.param(
            ingress("a", annotations={"kubernetes.io/ingress.class": "kybernetes"}),
            [OURS_NOT_DEFAULT],
            True,
            id="legacy-annotation-ours",
        ),
        pytest.param(
            ingress("a", annotations={"kubernetes.io/ingress.class": "nginx"}),
            [OURS, NGINX],
            False,
            id="legacy-annotation-other-beats-default",
        ),
    ],
)
def test_handled(ing: dict[str, Any], classes: list[dict[str, Any]], expected: bool) -> None:
    assert bool(handled_ingresses([ing], classes)) is expected


# --- lookups --------------------------------------------------------------------------------------
FANOUT = [
    ingress(
        "site",
        rules=[
            rule(
                "foo.example.com",
                ("/", "Prefix", "root"),
                ("/api", "Prefix", "api"),
                ("/api", "Exact", "api-exact"),
                ("/api/v2", "ImplementationSpecific", "api-v2"),
            ),
            rule("*.example.com", ("/", "Prefix", "wild")),
            rule("", ("/shared", "Prefix", "hostless")),
        ],
        default="fallback",
    ),
]


@pytest.mark.parametrize(
    ("host", "path", "service"),
    [
        pytest.param("foo.example.com", "/", "root", id="root-prefix"),
        pytest.param("foo.example.com", "/api", "api-exact", id="exact-beats-prefix-equal-length"),
        pytest.param("foo.example.com", "/api/", "api", id="prefix-with-trailing-slash"),
        pytest.param("foo.example.com", "/api/users?x=1", "api", id="query-ignored"),
        pytest.param("foo.example.com", "/api/v2/x", "api-v2", id="longest-wins-impl-specific-as-prefix"),
        pytest.param("foo.example.com", "/apix", "root", id="element-wise-prefix"),
        pytest.param("FOO.example.com:80", "/", "root", id="host-case-and-port"),
        pytest.param("bar.example.com", "/x", "wild", id="wildcard-host"),
        pytest.param("a.b.example.com", "/shared/1", "hostless", id="wildcard-one-label-only"),
        pytest.param("other.org", "/shared", "hostless", id="hostless-rule-any-host"),
        pytest.param("other.org", "/nothing", "fallback", id="default-backend"),
    ],
)
def test_lookup(host: str, path: str, service: str) -> None:
    table = build_table(ingresses=FANOUT, classes=[OURS], services=[], endpointslices=[])
    match = table.lookup(host, path)
    assert match is not None and match.backend.service == service


def test_nothing_matches_is_none() -> None:
    table = build_table(
        ingresses=[ingress("a", rules=[rule("a.com", ("/x", "Exact", "x"))])],
        classes=[OURS],
        services=[],
        endpointslices=[],
    )
    assert table.lookup("a.com", "/y") is None
    assert table.lookup("b.com", "/x") is None


def test_host_default_backend_before_global_default() -> None:
    ings = [
        ingress("global", default="global-default", created="2026-01-01T00:00:00Z"),
        ingress(
            "scoped",
            rules=[rule("a.com", ("/x", "Exact", "x"))],
            default="a-default",
            created="2026-01-02T00:00:00Z",
        ),
    ]
    table = build_table(ingresses=ings, classes=[OURS], services=[], endpointslices=[])
    assert table.lookup("a.com", "/other").backend.service == "a-default"  # type: ignore[union-attr]
    assert table.lookup("b.com", "/other").backend.service == "global-default"  # type: ignore[union-attr]


def test_conflict_goes_to_oldest_ingress() -> None:
    newer = ingress("newer", rules=[rule("a.com", ("/", "Prefix", "new"))], created="2026-02-01T00:00:00Z")
    older = ingress("older", rules=[rule("a.com", ("/", "Prefix", "old"))], created="2026-01-01T00:00:00Z")
    table = build_table(ingresses=[newer, older], classes=[OURS], services=[], endpointslices=[])
    match = table.lookup("a.com", "/")
    assert match is not None and match.backend.service == "old" and match.ingress == "default/older"


def test_rules_of_other_classes_are_ignored() -> None:
    ings = [ingress("theirs", rules=[rule("a.com", ("/", "Prefix", "nginx-svc"))], class_name="nginx")]
    assert (
        build_table(ingresses=ings, classes=[OURS, NGINX], services=[], endpointslices=[]).lookup(
            "a.com", "/"
        )
        is None
    )


# --- endpoints ------------------------------------------------------------------------------------
NAMED = service(
    "web",
    {"name": "http", "port": 80, "protocol": "TCP", "targetPort": "web"},
    {"name": "admin", "port": 9000, "protocol": "TCP", "targetPort": 9000},
)
NAMED_SLICE = slice_(
    "web",
    "10.0.0.1",
    ("10.0.0.2", False),
    ("10.0.0.3", None),
    ports=[
        {"name": "http", "port": 8080, "protocol": "TCP"},
        {"name": "admin", "port": 9000, "protocol": "TCP"},
    ],
)


@pytest.mark.parametrize(
    ("ref", "svc", "slices", "expected"),
    [
        pytest.param(
            BackendRef("default", "web", 80),
            NAMED,
            [NAMED_SLICE],
            (("10.0.0.1", 8080), ("10.0.0.3", 8080)),
            id="port-number-to-named-target-port-ready-only",
        ),
        pytest.param(
            BackendRef("default", "web", "admin"),
            NAMED,
            [NAMED_SLICE],
            (("10.0.0.1", 9000), ("10.0.0.3", 9000)),
            id="port-by-name",
        ),
        pytest.param(BackendRef("default", "web", 81), NAMED, [NAMED_SLICE], (), id="unknown-port"),
        pytest.param(BackendRef("default", "web", 80), None, [], (), id="no-service"),
        pytest.param(BackendRef("default", "web", 80), NAMED, [], (), id="no-slices"),
        pytest.param(
            BackendRef("default", "one", 80),
            service("one"),
            [slice_("one", "10.0.0.5", name="one-a"), slice_("one", "10.0.0.6", name="one-b")],
            (("10.0.0.5", 8080), ("10.0.0.6", 8080)),
            id="unnamed-port-several-slices",
        ),
        pytest.param(
            BackendRef("default", "ext", 443),
            service("ext", {"port": 443}, type="ExternalName", externalName="example.org"),
            [],
            (("example.org", 443),),
            id="external-name",
        ),
    ],
)
def test_resolve_endpoints(
    ref: BackendRef,
    svc: dict[str, Any] | None,
    slices: list[dict[str, Any]],
    expected: tuple[tuple[str, int], ...],
) -> None:
    assert resolve_endpoints(ref, svc, slices) == expected


def test_table_carries_endpoints_per_namespace() -> None:
    ings = [ingress("a", rules=[rule("a.com", ("/", "Prefix", "web"))], namespace="team")]
    table = build_table(
        ingresses=ings,
        classes=[OURS],
        services=[service("web", namespace="team"), service("web", namespace="default")],
        endpointslices=[
            slice_("web", "10.1.0.1", namespace="team"),
            slice_("web", "10.9.9.9", namespace="default"),
        ],
    )
    match = table.lookup("a.com", "/")
    assert match is not None and match.endpoints == (("10.1.0.1", 8080),)
