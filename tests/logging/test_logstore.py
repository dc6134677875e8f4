"""The cluster log store: append and query (filters, tail, cursors), segments, retention, torn tails,
record validation and the query-string parser."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from kybernetes.clusterlogs import http as logapi
from kybernetes.clusterlogs.store import (
    LogStore,
    Query,
    RecordError,
    StoreSettings,
    retention_victims,
    validate_record,
)
from kybernetes.machinery import errors
from kybernetes.machinery.labels import parse_selector

NS = 1_000_000_000


def rec(
    i: int,
    *,
    ns: str = "default",
    pod: str = "web",
    container: str = "app",
    labels: Any = None,
    text: str = "",
) -> dict[str, Any]:
    return {
        "ts": (1_700_000_000 + i) * NS,
        "node": "n1",
        "namespace": ns,
        "pod": pod,
        "uid": "u-" + pod,
        "container": container,
        "labels": labels if labels is not None else {"app": pod},
        "stream": "stdout",
        "log": text or f"line {i}\n",
    }


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = LogStore(tmp_path / "logs", StoreSettings(segment_bytes=1000, max_bytes=10**9, max_age=10**9))
    s.open()
    yield s
    s.close()


def logs_of(result: Any) -> list[str]:
    return [r["log"].strip() for r in result.records]


def test_append_then_query_everything_in_order(store: LogStore) -> None:
    end = store.append([rec(i) for i in range(30)])
    result = store.query(Query())
    assert logs_of(result) == [f"line {i}" for i in range(30)]
    assert result.cursor == end == store.end
    assert store.stats()["segments"] > 1  # 1000-byte segments were rolled


FILTERS = [
    ("namespace", Query(namespace="kube-system"), ["sys 1"]),
    ("pod", Query(pod="db"), ["db 2", "db 3"]),
    ("container", Query(pod="db", container="sidecar"), ["db 3"]),
    ("selector-equals", Query(selector=parse_selector("app=db")), ["db 2", "db 3"]),
    ("selector-set", Query(selector=parse_selector("tier in (front),app!=db")), ["web 0"]),
    ("grep", Query(grep=re.compile(r"^db \d")), ["db 2", "db 3"]),
    ("since", Query(since_ns=(1_700_000_000 + 2) * NS), ["db 2", "db 3"]),
    ("node", Query(node="n2"), []),
    ("nothing-matches", Query(pod="nope"), []),
]


@pytest.mark.parametrize(("name", "query", "expected"), FILTERS, ids=[f[0] for f in FILTERS])
def test_filters(store: LogStore, name: str, query: Query, expected: list[str]) -> None:
    store.append(
        [
            rec(0, labels={"app": "web", "tier": "front"}, text="web 0"),
            rec(1, ns="kube-system", pod="dns", text="sys 1"),
            rec(2, pod="db", text="db 2"),
            rec(3, pod="db", container="sidecar", text="db 3"),
        ]
    )
    assert logs_of(store.query(query)) == expected


def test_limit_keeps_the_newest(store: LogStore) -> None:
    store.append([rec(i) for i in range(50)])
    assert logs_of(store.query(Query(limit=3))) == ["line 47", "line 48", "line 49"]


def test_follow_with_cursor_sees_only_new_records(store: LogStore) -> None:
    store.append([rec(i) for i in range(5)])
    first = store.query(Query(limit=2))
    assert logs_of(first) == ["line 3", "line 4"]
    store.append([rec(5), rec(6, pod="other"), rec(7)])
    follow = store.query(Query(pod="web", after=first.cursor))
    assert logs_of(follow) == ["line 5", "line 7"]
    assert logs_of(store.query(Query(after=follow.cursor))) == []


def test_follow_limit_resumes_where_it_stopped(store: LogStore) -> None:
    store.append([rec(i) for i in range(40)])
    seen: list[str] = []
    cursor = 0
    while True:
        page = store.query(Query(after=cursor, limit=7))
        if not page.records:
            break
        seen += logs_of(page)
        cursor = page.cursor
    assert seen == [f"line {i}" for i in range(40)]


def test_reopen_keeps_records_and_cursor(tmp_path: Path) -> None:
    s = LogStore(tmp_path, StoreSettings(segment_bytes=500))
    s.open()
    end = s.append([rec(i) for i in range(12)])
    s.close()
    again = LogStore(tmp_path, StoreSettings(segment_bytes=500))
    again.open()
    assert again.end == end
    assert len(again.query(Query()).records) == 12
    assert again.append([rec(12)]) > end
    again.close()


def test_torn_last_line_is_cut_on_open(tmp_path: Path) -> None:
    s = LogStore(tmp_path)
    s.open()
    s.append([rec(0), rec(1)])
    s.close()
    seg = next(tmp_path.glob("*.seg"))
    with open(seg, "ab") as f:
        f.write(b'{"ts": 1, "namespace": "defa')  # a crash mid-write
    again = LogStore(tmp_path)
    again.open()
    assert logs_of(again.query(Query())) == ["line 0", "line 1"]
    again.append([rec(2)])
    assert logs_of(again.query(Query())) == ["line 0", "line 1", "line 2"]
    again.close()


def test_size_retention_drops_oldest_segments(tmp_path: Path) -> None:
    s = LogStore(tmp_path, StoreSettings(segment_bytes=1000, max_bytes=3000, max_age=10**9))
    s.open()
    for i in range(100):
        s.append([rec(i)])
    stats = s.stats()
    assert stats["bytes"] <= 3000 + 1000
    kept = logs_of(s.query(Query(limit=10_000)))
    assert kept[-1] == "line 99" and "line 0" not in kept
    # a follower whose cursor fell behind retention continues from the oldest record kept
    assert logs_of(s.query(Query(after=0, limit=1))) == [kept[0]]
    s.close()


def test_age_retention(tmp_path: Path) -> None:
    now = [1_000_000.0]
    s = LogStore(tmp_path, StoreSettings(segment_bytes=50, max_age=3600), now=lambda: now[0])
    s.open()
    s.append([rec(0)])
    s.append([rec(1)])  # each record fills a segment
    for p in tmp_path.glob("*.seg"):
        os.utime(p, (now[0] - 7200, now[0] - 7200))
    now[0] += 1
    removed = s.enforce_retention()
    assert len(removed) == 2  # closed and old; the active segment stays
    assert s.query(Query()).records == []
    s.close()


VICTIMS = [
    ("under-limits", [(0, 10, 100.0), (10, 10, 200.0)], 100, 1000.0, []),
    ("too-big", [(0, 60, 100.0), (60, 60, 200.0), (120, 10, 300.0)], 100, 1000.0, [0]),
    ("too-old", [(0, 10, 1.0), (10, 10, 2.0), (20, 10, 900.0)], 100, 500.0, [0, 10]),
    ("active-never", [(0, 500, 1.0)], 100, 10.0, []),
]


@pytest.mark.parametrize(
    ("name", "segments", "max_bytes", "max_age", "expected"), VICTIMS, ids=[v[0] for v in VICTIMS]
)
def test_retention_victims(
    name: str, segments: list[tuple[int, int, float]], max_bytes: int, max_age: float, expected: list[int]
) -> None:
    assert retention_victims(segments, max_bytes=max_bytes, max_age=max_age, now=1000.0) == expected


BAD_RECORDS = [
    ("not-object", [1], "a record must be an object"),
    ("no-ts", {"namespace": "a", "pod": "b"}, "ts: must be"),
    ("negative-ts", {"ts": -1, "namespace": "a", "pod": "b"}, "ts: must be"),
    ("bool-ts", {"ts": True, "namespace": "a", "pod": "b"}, "ts: must be"),
    ("no-pod", {"ts": 1, "namespace": "a"}, "namespace and pod are required"),
    ("labels-not-strings", {"ts": 1, "namespace": "a", "pod": "b", "labels": {"a": 1}}, "labels:"),
    ("log-not-string", {"ts": 1, "namespace": "a", "pod": "b", "log": 5}, "log: must be a string"),
]


@pytest.mark.parametrize(("name", "raw", "message"), BAD_RECORDS, ids=[b[0] for b in BAD_RECORDS])
def test_validate_record_rejects(name: str, raw: Any, message: str) -> None:
    with pytest.raises(RecordError, match=re.escape(message)):
        validate_record(raw)


def test_node_identity_overrides_the_claimed_node() -> None:
    body = b'{"records": [{"ts": 1, "namespace": "a", "pod": "b", "node": "other"}]}'
    assert logapi.parse_batch(body, user_name="system:node:n7")[0]["node"] == "n7"
    assert logapi.parse_batch(body, user_name="kubernetes-admin")[0]["node"] == "other"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"nope", "the batch is not JSON"),
        (b"[]", 'must be an object with a "records" list'),
        (b'{"records": [{"ts": "x"}]}', "records[0].ts: must be"),
    ],
    ids=["not-json", "not-object", "bad-record"],
)
def test_parse_batch_errors_are_bad_requests(body: bytes, message: str) -> None:
    with pytest.raises(errors.StatusError) as e:
        logapi.parse_batch(body, user_name="")
    assert e.value.code == 400 and message in str(e.value)


def test_parse_query() -> None:
    q = logapi.parse_query(
        {
            "namespace": "ns",
            "pod": "p",
            "labelSelector": "app=x",
            "sinceSeconds": "60",
            "grep": "err",
            "limit": "5",
            "after": "10",
        },
        now_ns=100 * NS,
    )
    assert (q.namespace, q.pod, q.limit, q.after, q.since_ns) == ("ns", "p", 5, 10, 40 * NS)
    assert q.selector is not None and q.selector.matches({"app": "x"})
    assert q.grep is not None and q.grep.pattern == "err"
    assert logapi.parse_query({"sinceTime": "2023-11-14T22:13:20Z"}, now_ns=0).since_ns == 1_700_000_000 * NS
    assert logapi.parse_query({"limit": "999999"}, now_ns=0).limit == 10_000


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": "x"}, 'invalid value for limit: "x"'),
        ({"limit": "0"}, "limit: Invalid value"),
        ({"sinceSeconds": "5", "sinceTime": "2023-11-14T22:13:20Z"}, "at most one of"),
        ({"sinceTime": "yesterday"}, 'invalid value for sinceTime: "yesterday"'),
        ({"grep": "("}, "grep: invalid regular expression"),
        ({"labelSelector": "a in"}, ""),
    ],
    ids=["limit-not-int", "limit-zero", "since-both", "since-time-bad", "grep-bad", "selector-bad"],
)
def test_parse_query_errors(params: dict[str, str], message: str) -> None:
    with pytest.raises(errors.StatusError) as e:
        logapi.parse_query(params, now_ns=0)
    assert e.value.code == 400 and message in str(e.value)


class _NoPods:
    def pods(self, namespace: str | None) -> list[dict[str, Any]]:
        return []

    def claim(self, namespace: str, name: str) -> dict[str, Any] | None:
        return None


@pytest.mark.parametrize(
    ("verb", "path", "allowed"),
    [
        ("post", "/kyb/logs/v1/ingest", True),
        ("get", "/kyb/logs/v1/query", False),
        ("post", "/kyb/logs/v1/query", False),
    ],
    ids=["ingest", "query", "post-query"],
)
def test_nodes_may_ship_but_not_query(verb: str, path: str, allowed: bool) -> None:
    from kybernetes.apiserver.authn import UserInfo
    from kybernetes.apiserver.authz.attributes import Attributes
    from kybernetes.apiserver.authz.node import NodeAuthorizer
    from kybernetes.apiserver.authz.policy import NODE_RULES

    node = UserInfo("system:node:n1", ("system:nodes", "system:authenticated"))
    decision = NodeAuthorizer(_NoPods(), NODE_RULES).authorize(Attributes(node, verb, False, path=path))
    assert (decision[0] == "allow") is allowed, decision
