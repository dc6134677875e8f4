"""The etcd backend's pure parts: key ranges, revision numbering, endpoints, etcd's command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from kybernetes.storage.etcd import rpc_pb2 as pb
from kybernetes.storage.etcd.channel import EndpointError, EtcdConnection, grpc_target
from kybernetes.storage.etcd.embedded import MemberConfig, embedded_member, etcd_command, member_name
from kybernetes.storage.etcd.keyspace import Keyspace, range_end
from kybernetes.storage.interface import KeyValue


@pytest.mark.parametrize(
    ("prefix", "end"),
    [
        pytest.param(b"/registry/", b"/registry0", id="slash-becomes-zero"),
        pytest.param(b"a", b"b", id="last-byte-incremented"),
        pytest.param(b"a\xff", b"b", id="trailing-ff-dropped"),
        pytest.param(b"", b"\x00", id="empty-means-everything"),
        pytest.param(b"\xff\xff", b"\x00", id="all-ff-means-everything"),
    ],
)
def test_range_end(prefix: bytes, end: bytes) -> None:
    assert range_end(prefix) == end


@pytest.mark.parametrize(
    ("space", "prefix", "continue_key", "expected"),
    [
        pytest.param(Keyspace(), "/p/", None, (b"/p/", b"/p0"), id="root"),
        pytest.param(Keyspace(b"/kyb"), "/p/", None, (b"/kyb/p/", b"/kyb/p0"), id="under-prefix"),
        pytest.param(Keyspace(b"/kyb"), "", None, (b"/kyb", b"/kyc"), id="whole-prefix"),
        pytest.param(Keyspace(), "", None, (b"\x00", b"\x00"), id="everything"),
        pytest.param(Keyspace(), "/p/", "/p/b", (b"/p/b\x00", b"/p0"), id="continue-after-key"),
        pytest.param(Keyspace(), "/p/", "/a", (b"/p/", b"/p0"), id="continue-before-prefix-ignored"),
    ],
)
def test_range_of(
    space: Keyspace, prefix: str, continue_key: str | None, expected: tuple[bytes, bytes]
) -> None:
    assert space.range_of(prefix, continue_key) == expected


def test_revisions_are_offset_and_keys_unprefixed() -> None:
    space = Keyspace(b"/kyb", revision_offset=1)
    kv = pb.KeyValue(key=b"/kyb/registry/pods/a", value=b"{}", create_revision=2, mod_revision=5)
    assert space.key_value(kv) == KeyValue("/registry/pods/a", b"{}", create_revision=1, mod_revision=4)
    assert (space.to_etcd(4), space.from_etcd(5), space.from_etcd(1)) == (5, 4, 0)


@pytest.mark.parametrize(
    ("endpoints", "target"),
    [
        pytest.param(("http://127.0.0.1:2379",), "127.0.0.1:2379", id="one"),
        pytest.param(("127.0.0.1:23790",), "127.0.0.1:23790", id="bare-host-port"),
        pytest.param(("https://etcd.example:2379",), "etcd.example:2379", id="name"),
        pytest.param(
            ("http://10.0.0.1:2379", "http://10.0.0.2:2379"),
            "ipv4:10.0.0.1:2379,10.0.0.2:2379",
            id="ipv4-list",
        ),
        pytest.param(("http://[::1]:2379",), "[::1]:2379", id="ipv6"),
        pytest.param(
            ("http://[fd00::1]:2379", "http://[fd00::2]"),
            "ipv6:[fd00::1]:2379,[fd00::2]:2379",
            id="ipv6-list",
        ),
        pytest.param(("http://a:1", "http://b:2"), "a:1", id="names-use-first"),
    ],
)
def test_grpc_target(endpoints: tuple[str, ...], target: str) -> None:
    assert grpc_target(endpoints) == target


@pytest.mark.parametrize("bad", ["ftp://x:1", "http://", ""])
def test_bad_endpoints(bad: str) -> None:
    with pytest.raises(EndpointError):
        grpc_target(EtcdConnection.from_flag(bad).endpoints)


def test_connection_from_flag() -> None:
    conn = EtcdConnection.from_flag(" http://a:1, https://b:2 ", prefix="/x")
    assert (conn.endpoints, conn.secure, conn.prefix) == (("http://a:1", "https://b:2"), True, "/x")


def test_etcd_command_for_a_new_and_a_joining_member() -> None:
    first = MemberConfig("m1", Path("/d"), "http://127.0.0.1:2379", "http://10.0.0.1:2380", binary="etcd")
    cmd = etcd_command(first)
    assert cmd[0] == "etcd"
    assert "--initial-cluster=m1=http://10.0.0.1:2380" in cmd
    assert "--initial-cluster-state=new" in cmd
    assert "--listen-peer-urls=http://10.0.0.1:2380" in cmd
    assert "--advertise-client-urls=http://127.0.0.1:2379" in cmd
    joining = MemberConfig(
        "m2",
        Path("/d"),
        "http://127.0.0.1:2379",
        "http://10.0.0.2:2380",
        initial_cluster="m1=http://10.0.0.1:2380,m2=http://10.0.0.2:2380",
        initial_cluster_state="existing",
    )
    assert "--initial-cluster=m1=http://10.0.0.1:2380,m2=http://10.0.0.2:2380" in etcd_command(joining)
    assert "--initial-cluster-state=existing" in etcd_command(joining)


def test_embedded_member_keeps_its_name(tmp_path: Path) -> None:
    member = embedded_member(tmp_path, node_address="10.0.0.7", client_port=23792, peer_port=23793)
    assert member.data_dir == tmp_path / "db" / "etcd"
    assert (member.client_url, member.peer_url) == ("http://127.0.0.1:23792", "http://10.0.0.7:23793")
    assert member_name(tmp_path) == member.name
    assert embedded_member(tmp_path, node_address="fd00::7").peer_url == "http://[fd00::7]:2380"
