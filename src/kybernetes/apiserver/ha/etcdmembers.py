"""etcd membership for joining servers: etcd's Cluster API (MemberList, MemberAdd, MemberRemove).

A server that runs an embedded member answers a joiner's ``POST /v1-kyb/etcd-members`` by adding
the joiner as a voting member, then hands back the member list from which the joiner starts its
own etcd with ``--initial-cluster-state existing``.

The decision is pure (``plan_add``), as a joiner may come back:
1. no member has the joiner's peer URL: add it;
2. a member with that peer URL was added but never started (no name yet: an earlier join attempt
   died before etcd ran): keep it, the joiner starts now;
3. a member with that peer URL has started before, and asks again: its data dir is gone (a
   reinstalled machine), so the old member is removed and a new one added (its old identity can
   never come back).
A restarted server whose etcd data dir survived never asks: etcd ignores the initial cluster then.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from kybernetes.storage.etcd.channel import EtcdConnection, open_channel

log = logging.getLogger("kyb.ha.etcd")


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    name: str
    peer_urls: tuple[str, ...]
    client_urls: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "peerURLs": list(self.peer_urls),
            "clientURLs": list(self.client_urls),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Member:
        return cls(
            int(doc.get("id") or 0),
            str(doc.get("name") or ""),
            tuple(doc.get("peerURLs") or ()),
            tuple(doc.get("clientURLs") or ()),
        )


@dataclass(frozen=True, slots=True)
class AddPlan:
    action: Literal["add", "keep", "replace"]
    existing: Member | None = None


def plan_add(members: list[Member], peer_urls: list[str]) -> AddPlan:
    for m in members:
        if set(m.peer_urls) & set(peer_urls):
            return AddPlan("keep" if not m.name else "replace", m)
    return AddPlan("add")


def initial_cluster(members: list[Member], *, name: str, peer_urls: list[str]) -> str:
    """etcd's --initial-cluster for the joiner: every member by name, the joiner (still nameless
    in the list) under its own name."""
    parts: list[str] = []
    for m in members:
        if set(m.peer_urls) & set(peer_urls):
            parts.extend(f"{name}={u}" for u in peer_urls)
        elif m.name:
            parts.extend(f"{m.name}={u}" for u in m.peer_urls)
        # an unstarted member other than the joiner cannot be named; etcd refuses to start if
        # the list is incomplete, which is the right outcome (one join at a time)
    return ",".join(parts)


def _member(raw: Any) -> Member:
    return Member(int(raw.ID), str(raw.name), tuple(raw.peerURLs), tuple(raw.clientURLs))


class ClusterClient:
    """The Cluster service of the etcd this server uses (a short-lived channel per call)."""

    def __init__(self, connection: EtcdConnection, *, timeout: float = 15.0) -> None:
        self.connection = connection
        self.timeout = timeout

    async def _call(self, method: str, request: Any) -> Any:
        from kybernetes.storage.etcd import rpc_pb2_grpc

        channel = open_channel(self.connection)
        try:
            stub = rpc_pb2_grpc.ClusterStub(channel)  # type: ignore[no-untyped-call]
            return await getattr(stub, method)(request, timeout=self.timeout, wait_for_ready=True)
        finally:
            await channel.close()

    async def members(self) -> list[Member]:
        from kybernetes.storage.etcd import rpc_pb2 as pb

        response = await self._call("MemberList", pb.MemberListRequest(linearizable=True))
        return [_member(m) for m in response.members]

    async def add(self, name: str, peer_urls: list[str]) -> dict[str, Any]:
        """Make the joiner a member (``plan_add``); the member list afterwards, as JSON."""
        from kybernetes.storage.etcd import rpc_pb2 as pb

        plan = plan_add(await self.members(), peer_urls)
        if plan.action == "replace":
            assert plan.existing is not None
            log.info(
                "etcd member %s (%s) asks to join again: replacing it",
                plan.existing.name,
                ",".join(plan.existing.peer_urls),
            )
            await self._call("MemberRemove", pb.MemberRemoveRequest(ID=plan.existing.id))
        if plan.action in ("add", "replace"):
            await self._call("MemberAdd", pb.MemberAddRequest(peerURLs=peer_urls))
        members = await self.members()
        return {
            "members": [m.as_json() for m in members],
            "initialCluster": initial_cluster(members, name=name, peer_urls=peer_urls),
        }
