"""etcd cluster membership over the Cluster service: what a server that runs the embedded member
calls when another server joins (MemberAdd), and the pure shaping of the answer into the
``--initial-cluster`` the joining member starts with.

Adding a member before it runs is etcd's order: the cluster learns the peer URL, then the new
member starts with the whole initial cluster and state "existing". etcd refuses a change while a
previous one has not settled (its error mentions an unhealthy cluster); callers retry.
"""

from __future__ import annotations

from typing import Any

import grpc

from kybernetes.storage.etcd import rpc_pb2 as pb
from kybernetes.storage.etcd.channel import EtcdConnection, open_channel
from kybernetes.storage.interface import StorageError


def member_dict(member: pb.Member) -> dict[str, Any]:
    return {
        "id": f"{member.ID:x}",
        "name": member.name,
        "peerURLs": list(member.peerURLs),
        "clientURLs": list(member.clientURLs),
        "isLearner": member.isLearner,
    }


def initial_cluster(members: list[dict[str, Any]], *, joining: str, joining_peer_urls: list[str]) -> str:
    """``--initial-cluster`` for the member `joining`: every member by name and peer URL. A member
    that was added but has not started yet has no name in etcd's list; the joining one gets its
    own name, any other such member is left out (it cannot be named, and etcd only checks the
    started ones)."""
    entries: list[str] = []
    for member in members:
        name = member["name"] or (joining if sorted(member["peerURLs"]) == sorted(joining_peer_urls) else "")
        if not name:
            continue
        entries += [f"{name}={url}" for url in member["peerURLs"]]
    # etcd lists members in ID order (random); sorted, the flag reads the same on every server
    return ",".join(sorted(entries))


async def _call(connection: EtcdConnection, method: str, request: Any) -> Any:
    from kybernetes.storage.etcd import rpc_pb2_grpc

    channel = open_channel(connection)
    try:
        stub = rpc_pb2_grpc.ClusterStub(channel)  # type: ignore[no-untyped-call]
        return await getattr(stub, method)(request, timeout=connection.request_timeout, wait_for_ready=True)
    except grpc.aio.AioRpcError as err:
        raise StorageError(f"etcd {method}: {err.code().name}: {err.details()}") from None
    finally:
        await channel.close()


async def list_members(connection: EtcdConnection) -> list[dict[str, Any]]:
    response = await _call(connection, "MemberList", pb.MemberListRequest())
    return [member_dict(m) for m in response.members]


async def add_member(connection: EtcdConnection, name: str, peer_urls: list[str]) -> dict[str, Any]:
    """Tell the cluster about a new member; returns ``{"members": [...], "initialCluster": ...}``
    (the member list after the add, and the new member's ``--initial-cluster``)."""
    response = await _call(connection, "MemberAdd", pb.MemberAddRequest(peerURLs=peer_urls))
    members = [member_dict(m) for m in response.members]
    return {
        "members": members,
        "initialCluster": initial_cluster(members, joining=name, joining_peer_urls=peer_urls),
    }


async def remove_member(connection: EtcdConnection, member_id: str) -> None:
    await _call(connection, "MemberRemove", pb.MemberRemoveRequest(ID=int(member_id, 16)))
