"""Growing an embedded etcd to two members: MemberAdd through members.add_member, the second
member started with the answer's initial cluster, then both serve the same data.

Members on 127.0.0.1: client 23796/peer 23797 and client 23798/peer 23799; data under /tmp/kyb-etcd*.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from kybernetes.storage.etcd.channel import EtcdConnection
from kybernetes.storage.etcd.embedded import EtcdSupervisor, MemberConfig
from kybernetes.storage.etcd.members import add_member, initial_cluster, list_members
from kybernetes.storage.etcd.store import EtcdStorage


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        pytest.param(
            [
                {"name": "a", "peerURLs": ["http://10.0.0.1:2380"]},
                {"name": "", "peerURLs": ["http://10.0.0.2:2380"]},
            ],
            "a=http://10.0.0.1:2380,b=http://10.0.0.2:2380",
            id="joining-member-named",
        ),
        pytest.param(
            [
                {"name": "a", "peerURLs": ["http://10.0.0.1:2380"]},
                {"name": "", "peerURLs": ["http://10.0.0.3:2380"]},
                {"name": "", "peerURLs": ["http://10.0.0.2:2380"]},
            ],
            "a=http://10.0.0.1:2380,b=http://10.0.0.2:2380",
            id="other-unstarted-member-left-out",
        ),
    ],
)
def test_initial_cluster(members: list[dict[str, object]], expected: str) -> None:
    assert initial_cluster(members, joining="b", joining_peer_urls=["http://10.0.0.2:2380"]) == expected  # type: ignore[arg-type]


async def test_a_second_member_joins_and_serves_the_same_data() -> None:
    directory = Path(tempfile.mkdtemp(prefix="kyb-etcd-members-", dir="/tmp"))
    first = EtcdSupervisor(
        MemberConfig("first", directory / "first", "http://127.0.0.1:23796", "http://127.0.0.1:23797"),
        log_path=directory / "first.log",
    )
    second: EtcdSupervisor | None = None
    try:
        await first.start(timeout=30)
        one = EtcdConnection(endpoints=("http://127.0.0.1:23796",), request_timeout=20)
        store = EtcdStorage(one)
        await store.open()
        await store.create("/before", b"1")
        answer = await add_member(one, "second", ["http://127.0.0.1:23799"])
        assert answer["initialCluster"] == "first=http://127.0.0.1:23797,second=http://127.0.0.1:23799"
        second = EtcdSupervisor(
            MemberConfig(
                "second",
                directory / "second",
                "http://127.0.0.1:23798",
                "http://127.0.0.1:23799",
                initial_cluster=answer["initialCluster"],
                initial_cluster_state="existing",
            ),
            log_path=directory / "second.log",
        )
        await second.start(timeout=30)
        names = sorted(m["name"] for m in await list_members(one))
        assert names == ["first", "second"]
        other = EtcdStorage(EtcdConnection(endpoints=("http://127.0.0.1:23798",), request_timeout=20))
        await other.open()
        try:
            kv = await other.get("/before")
            assert kv is not None and kv.value == b"1"
            written = await other.create("/after", b"2")
            assert await store.get("/after") == written
        finally:
            await other.close()
            await store.close()
    finally:
        if second is not None:
            await second.stop()
        await first.stop()
        shutil.rmtree(directory, ignore_errors=True)
