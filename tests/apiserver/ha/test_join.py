"""Joining: etcd membership decisions and the /v1-kyb/ endpoints' credentials (apiserver/ha)."""

from __future__ import annotations

import base64

import pytest

from kybernetes.apiserver.ha.etcdmembers import Member, initial_cluster, plan_add
from kybernetes.apiserver.ha.join import basic_password

A = Member(1, "a", ("http://10.0.0.1:2380",))
B_UNSTARTED = Member(2, "", ("http://10.0.0.2:2380",))
B_STARTED = Member(2, "b-old", ("http://10.0.0.2:2380",))
JOINER = ["http://10.0.0.2:2380"]


@pytest.mark.parametrize(
    ("members", "action"),
    [
        pytest.param([A], "add", id="new-peer-url"),
        pytest.param([A, B_UNSTARTED], "keep", id="added-but-never-started"),
        pytest.param([A, B_STARTED], "replace", id="started-before-data-lost"),
    ],
)
def test_plan_add(members: list[Member], action: str) -> None:
    assert plan_add(members, JOINER).action == action


def test_initial_cluster_names_the_joiner() -> None:
    assert initial_cluster([A, B_UNSTARTED], name="b", peer_urls=JOINER) == (
        "a=http://10.0.0.1:2380,b=http://10.0.0.2:2380"
    )


def test_member_json_round_trip() -> None:
    assert Member.from_json(B_STARTED.as_json()) == B_STARTED


def _basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("header", "want"),
    [
        pytest.param(_basic("server:pw"), "pw", id="server-user"),
        pytest.param(_basic("server:a:b"), "a:b", id="colon-in-password"),
        pytest.param(_basic("node:pw"), None, id="other-user"),
        pytest.param("Bearer pw", None, id="bearer"),
        pytest.param("Basic !!!", None, id="not-base64"),
        pytest.param("", None, id="missing"),
    ],
)
def test_basic_password(header: str, want: str | None) -> None:
    assert basic_password(header) == want
