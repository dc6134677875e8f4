"""Pure renderers: tables from server Tables, node usage, detail pages, logs, and the small
decisions beside them (selectors, restart patch, tokens, CSRF, settings)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kybernetes.dashboard import detail, layout, pages, security
from kybernetes.dashboard.actions import restart_patch
from kybernetes.dashboard.component import settings_from_env
from kybernetes.dashboard.html import Markup
from kybernetes.dashboard.kinds import KINDS
from kybernetes.dashboard.visit import parse_refresh, refresh_toggle

EVIL = "<script>alert(1)</script>"


def server_table(*rows: tuple[str, str, list[Any]], wide_col: bool = True) -> dict[str, Any]:
    cols = [{"name": "Name", "priority": 0}, {"name": "Ready", "priority": 0}]
    if wide_col:
        cols.append({"name": "Images", "priority": 1})
    return {
        "kind": "Table",
        "columnDefinitions": cols,
        "rows": [
            {"cells": [name, *cells], "object": {"metadata": {"name": name, "namespace": ns}}}
            for ns, name, cells in rows
        ],
    }


def test_table_view_links_names_and_hides_wide_columns() -> None:
    out = pages.table_view(
        server_table(("default", "web", ["2/3", "busybox"])), KINDS["deployments"], all_namespaces=False
    )
    assert '<a href="/deployments/web?ns=default">web</a>' in out
    assert "<td>2/3</td>" in out and "busybox" not in out and "IMAGES" not in out
    assert "NAMESPACE" not in out


def test_table_view_all_namespaces_adds_namespace_column() -> None:
    out = pages.table_view(server_table(("prod", "web", ["1/1", "x"])), KINDS["pods"], all_namespaces=True)
    assert out.index("NAMESPACE") < out.index("NAME<")
    assert '<a href="/pods?ns=prod">prod</a>' in out


def test_table_view_escapes_cells() -> None:
    out = pages.table_view(
        server_table(("default", "web", [EVIL, ""])), KINDS["deployments"], all_namespaces=False
    )
    assert "<script>" not in out and "&lt;script&gt;" in out


def test_list_page_shows_error_instead_of_table() -> None:
    out = pages.list_page_body(
        None,
        KINDS["secrets"],
        namespace="default",
        error='Error from server (Forbidden): secrets is forbidden: User "x"',
    )
    assert "secrets is forbidden" in out and "&quot;x&quot;" in out


def node(name: str, *, cpu: str = "2", memory: str = "4Gi", ready: str = "True") -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "status": {
            "capacity": {"cpu": cpu, "memory": memory, "pods": "110"},
            "allocatable": {"cpu": cpu, "memory": memory, "pods": "110"},
            "conditions": [{"type": "Ready", "status": ready}],
        },
    }


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        pytest.param({"cpu": "500m", "memory": "1Gi"}, ["500m", "25%", "1024Mi", "25%"], id="quarter"),
        pytest.param({"cpu": "123456789n", "memory": "0"}, ["124m", "6%", "0Mi", "0%"], id="nanocores"),
        pytest.param(None, ["<unknown>"] * 4, id="no-metrics"),
    ],
)
def test_node_usage_cells(usage: dict[str, str] | None, expected: list[str]) -> None:
    metrics = {"usage": usage} if usage is not None else None
    assert pages.node_usage_cells(node("n1"), metrics) == expected


def test_nodes_body_and_overview_cards() -> None:
    tbl = {
        "columnDefinitions": [{"name": "Name"}, {"name": "Status"}],
        "rows": [{"cells": ["n1", "Ready"], "object": node("n1")}],
    }
    out = pages.nodes_body(tbl, {}, metrics_error="the server could not find the requested resource")
    assert "usage unavailable" in out and "2 / 2" in out
    ov = pages.overview_body(
        namespaces=[{"metadata": {"name": "default"}, "status": {"phase": "Active"}}],
        nodes=[node("a"), node("b", ready="False")],
        counts={"pods": 4, "jobs": "forbidden"},
        warnings={"rows": []},
        namespace="",
    )
    assert "1 ready" in ov and "<b>4</b>" in ov and "forbidden" in ov
    assert 'href="/pods?ns=_all"' in ov


def test_recent_warnings_newest_first() -> None:
    rows = [
        {"cells": [], "object": {"lastTimestamp": t}}
        for t in ("2026-01-01T00:00:01Z", "2026-01-02T00:00:00Z")
    ]
    cut = pages.recent_warnings({"rows": rows}, limit=1)
    assert cut["rows"][0]["object"]["lastTimestamp"] == "2026-01-02T00:00:00Z"


def secret(**annotations: str) -> dict[str, Any]:
    return {
        "kind": "Secret",
        "metadata": {
            "name": "s",
            "namespace": "default",
            "annotations": annotations,
            "managedFields": [{"manager": "kubectl"}],
        },
        "type": "Opaque",
        "data": {"password": "aHVudGVyMg=="},
    }


def test_secret_values_hidden_in_yaml_but_revealable() -> None:
    obj = secret(**{detail.LAST_APPLIED: '{"data":{"password":"aHVudGVyMg=="}}'})
    out = detail.detail_body(obj, KINDS["secrets"], csrf="c")
    yaml_part = out[out.index("<h2>YAML</h2>") :]
    assert "aHVudGVyMg" not in yaml_part and "managedFields" not in yaml_part
    assert "<details><summary>show value</summary><pre>hunter2</pre></details>" in out
    assert "aHVudGVyMg" not in out  # neither in the annotations chips


def test_detail_escapes_annotations_and_configmap_data() -> None:
    obj = {
        "kind": "ConfigMap",
        "metadata": {
            "name": "c",
            "namespace": "default",
            "annotations": {"note": EVIL},
            "labels": {"app": "x"},
        },
        "data": {"index.html": EVIL},
    }
    out = detail.detail_body(obj, KINDS["configmaps"], csrf="c", events="Error from server: nope")
    assert "<script>" not in out
    assert out.count("&lt;script&gt;") >= 3  # annotation, data, YAML
    assert "Error from server: nope" in out


def test_detail_actions_per_kind() -> None:
    dep = {"kind": "Deployment", "metadata": {"name": "web", "namespace": "default"}, "spec": {"replicas": 3}}
    out = detail.actions(dep, KINDS["deployments"], "tok")
    assert 'action="/deployments/web/scale?ns=default"' in out and 'value="3"' in out
    assert 'action="/deployments/web/restart?ns=default"' in out
    assert 'href="/deployments/web/delete?ns=default"' in out
    cordoned = {"kind": "Node", "metadata": {"name": "n1"}, "spec": {"unschedulable": True}}
    out = detail.actions(cordoned, KINDS["nodes"], "tok")
    assert 'action="/nodes/n1/uncordon"' in out and "scale" not in out
    pod = {"kind": "Pod", "metadata": {"name": "p", "namespace": "ns1"}}
    assert 'href="/pods/p/logs?ns=ns1"' in detail.actions(pod, KINDS["pods"], "tok")


def test_pod_detail_lists_containers_with_log_links() -> None:
    pod = {
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "d"},
        "spec": {"containers": [{"name": "app", "image": "busybox"}]},
        "status": {
            "containerStatuses": [
                {
                    "name": "app",
                    "ready": True,
                    "restartCount": 2,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                }
            ],
            "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
        },
    }
    out = detail.detail_body(pod, KINDS["pods"], csrf="c")
    assert "waiting (CrashLoopBackOff)" in out and 'href="/pods/p/logs?ns=d&amp;container=app"' in out
    assert "ContainersNotReady" in out


@pytest.mark.parametrize(
    ("obj", "slug", "expected"),
    [
        pytest.param(
            {"spec": {"selector": {"matchLabels": {"app": "web", "tier": "a"}}}},
            "deployments",
            "app=web,tier=a",
            id="match-labels",
        ),
        pytest.param(
            {
                "spec": {
                    "selector": {
                        "matchExpressions": [
                            {"key": "env", "operator": "In", "values": ["a", "b"]},
                            {"key": "x", "operator": "DoesNotExist"},
                        ]
                    }
                }
            },
            "jobs",
            "env in (a,b),!x",
            id="expressions",
        ),
        pytest.param({"spec": {"selector": {"app": "web"}}}, "services", "app=web", id="service"),
        pytest.param({"spec": {"selector": {"app": "web"}}}, "configmaps", "", id="not-a-pod-owner"),
    ],
)
def test_selector_of(obj: dict[str, Any], slug: str, expected: str) -> None:
    assert detail.selector_of(obj, KINDS[slug]) == expected


def test_logs_body() -> None:
    pod = {
        "metadata": {"name": "p", "namespace": "d"},
        "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
    }
    out = detail.logs_body(pod, container="b", tail=50, text=f"line {EVIL}\n", follow=True)
    assert '<option value="b" selected>' in out and "&lt;script&gt;" in out and "<script>alert" not in out
    assert 'data-follow="/pods/p/logs.txt?ns=d&amp;container=b&amp;tail=50"' in out
    err = detail.logs_body(pod, container="a", tail=50, text="", error="Error from server (BadRequest): no")
    assert "Error from server (BadRequest): no" in err and 'id="logs"' not in err


def test_restart_patch_is_kubectls_annotation() -> None:
    patch = restart_patch(datetime(2026, 11, 27, 10, 0, 5, tzinfo=UTC))
    assert patch == {
        "spec": {
            "template": {
                "metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-27T10:00:05Z"}}
            }
        }
    }


def test_page_frame_escapes_namespace_and_user() -> None:
    chrome = layout.Chrome(user=EVIL, csrf="c", namespace=EVIL, namespaces=["default"], path="/pods")
    out = layout.page("Pods", Markup(""), chrome)
    assert "<script>alert" not in out
    assert '<option value="_all">all namespaces</option>' in out
    assert '<script src="/static/dashboard.js"></script>' in out


def test_error_page_shows_status_message_and_causes() -> None:
    out = layout.error_page(
        {
            "code": 422,
            "reason": "Invalid",
            "message": "bad",
            "details": {"causes": [{"field": "spec.replicas", "message": "must be >= 0"}]},
        },
        None,
    )
    assert "Error from server (Invalid): bad" in out and "spec.replicas: must be &gt;= 0" in out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("  eyJhbGciOi.abc-_d.x_y \n", "eyJhbGciOi.abc-_d.x_y", id="jwt-trimmed"),
        pytest.param("Bearer abc.def", "abc.def", id="bearer-prefix"),
        pytest.param("abc\r\nSet-Cookie: x", None, id="header-injection"),
        pytest.param("", None, id="empty"),
        pytest.param("a" * 4000, None, id="too-long"),
    ],
)
def test_clean_token(text: str, expected: str | None) -> None:
    assert security.clean_token(text) == expected


def test_csrf_and_origin() -> None:
    token = security.csrf_token(b"k", "nonce")
    assert security.csrf_ok(b"k", "nonce", token)
    assert not security.csrf_ok(b"k", "other", token)
    assert not security.csrf_ok(b"k", "", security.csrf_token(b"k", ""))
    assert security.origin_ok(None, scheme="http", host="127.0.0.1:9090")
    assert security.origin_ok("http://127.0.0.1:9090", scheme="http", host="127.0.0.1:9090")
    assert not security.origin_ok("http://evil.example", scheme="http", host="127.0.0.1:9090")
    assert not security.origin_ok("null", scheme="http", host="127.0.0.1:9090")


@pytest.mark.parametrize(
    ("env", "listen", "admin"),
    [
        pytest.param({}, ("127.0.0.1", 9090), False, id="defaults"),
        pytest.param({"KYB_DASHBOARD_LISTEN": "off"}, None, False, id="off"),
        pytest.param(
            {"KYB_DASHBOARD_LISTEN": "[::1]:8000", "KYB_DASHBOARD_ADMIN": "true"},
            ("::1", 8000),
            True,
            id="ipv6-admin",
        ),
        pytest.param({"KYB_DASHBOARD_LISTEN": ":8000"}, ("127.0.0.1", 8000), False, id="port-only"),
    ],
)
def test_settings_from_env(env: dict[str, str], listen: tuple[str, int] | None, admin: bool) -> None:
    s = settings_from_env(env)
    assert (s.listen, s.admin_mode) == (listen, admin)


def test_settings_from_env_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="KYB_DASHBOARD_LISTEN"):
        settings_from_env({"KYB_DASHBOARD_LISTEN": "nonsense"})


@pytest.mark.parametrize(
    ("slug", "title", "path"),
    [
        pytest.param(
            "ingresses", "Ingresses", "/apis/networking.k8s.io/v1/namespaces/a/ingresses/x", id="ingress"
        ),
        pytest.param("pods", "Pods", "/api/v1/namespaces/a/pods/x", id="core"),
        pytest.param("nodes", "Nodes", "/api/v1/nodes/x", id="cluster-scoped-ignores-namespace"),
    ],
)
def test_kind_title_and_path(slug: str, title: str, path: str) -> None:
    assert KINDS[slug].title == title
    assert KINDS[slug].path(namespace="a", name="x") == path


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        pytest.param("127.0.0.1:9090", True, id="ipv4-port"),
        pytest.param("[::1]:9090", True, id="ipv6-port"),
        pytest.param("localhost:9090", True, id="localhost"),
        pytest.param("10.0.0.5", True, id="ip-no-port"),
        pytest.param("evil.example:9090", False, id="dns-name"),
        pytest.param("127.0.0.1.nip.io", False, id="rebinding-name"),
    ],
)
def test_host_is_address(host: str, ok: bool) -> None:
    assert security.host_is_address(host) is ok


@pytest.mark.parametrize(
    ("path", "query", "refresh", "expected"),
    [
        pytest.param("/pods", {"ns": "a", "done": "scaled"}, 0, "/pods?ns=a&refresh=10", id="switch-on"),
        pytest.param("/pods", {"ns": "a", "refresh": "10"}, 10, "/pods?ns=a", id="switch-off"),
        pytest.param("//evil.example/x", {}, 0, "/evil.example/x?refresh=10", id="no-other-host"),
    ],
)
def test_refresh_toggle(path: str, query: dict[str, str], refresh: int, expected: str) -> None:
    assert refresh_toggle(path, query, refresh) == expected


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        pytest.param("", 0, id="off"),
        pytest.param("1", 5, id="at-least-5"),
        pytest.param("x", 0, id="junk"),
        pytest.param("99999", 3600, id="at-most-an-hour"),
    ],
)
def test_parse_refresh(raw: str, seconds: int) -> None:
    assert parse_refresh(raw) == seconds


def test_event_object_column_links_to_the_object() -> None:
    tbl = {
        "columnDefinitions": [{"name": "Type"}, {"name": "Object"}],
        "rows": [
            {"cells": ["Warning", "pod/web-1"], "object": {"metadata": {"name": "e1", "namespace": "a"}}},
            {"cells": ["Normal", "widget/w"], "object": {"metadata": {"name": "e2", "namespace": "a"}}},
        ],
    }
    out = pages.table_view(tbl, KINDS["events"], all_namespaces=False)
    assert '<a href="/pods/web-1?ns=a">pod/web-1</a>' in out and "<td>widget/w</td>" in out
