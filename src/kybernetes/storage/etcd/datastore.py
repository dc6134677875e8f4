"""How `kyb server` gets an etcd-backed store: an external cluster or an embedded member.

  --datastore-endpoint http://A:2379[,http://B:2379]   an etcd the operator runs (k3s' flag);
      https endpoints take --etcd-cafile and, for client-certificate auth, --etcd-certfile and
      --etcd-keyfile
  --cluster-init                                       this server runs its own etcd member as a
      supervised child (embedded.py) and uses it; client port --etcd-client-port (2379), peer
      port --etcd-peer-port (2380) on the node address
  --etcd-prefix /kyb                                   keys under a prefix (default: none)

The store returned for --cluster-init owns the member: closing it stops etcd.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kybernetes.storage.etcd.channel import EtcdConnection
from kybernetes.storage.etcd.embedded import EtcdSupervisor, MemberConfig, embedded_member
from kybernetes.storage.etcd.members import add_member
from kybernetes.storage.etcd.settings import EtcdSettings
from kybernetes.storage.etcd.store import EtcdStorage

log = logging.getLogger(__name__)


class SupervisedEtcdStorage(EtcdStorage):
    """An EtcdStorage on the member its supervisor runs; close() stops the member too."""

    def __init__(self, connection: EtcdConnection, supervisor: EtcdSupervisor) -> None:
        super().__init__(connection)
        self.supervisor = supervisor

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            await self.supervisor.stop()

    async def member_add(self, name: str, peer_urls: list[str]) -> dict[str, Any]:
        """Add a joining server's member to this cluster (members.add_member's answer)."""
        return await add_member(self.connection, name, peer_urls)


async def start_member(member: MemberConfig, data_dir: Path) -> EtcdSupervisor:
    supervisor = EtcdSupervisor(member, log_path=data_dir / "logs" / "etcd.log")
    await supervisor.start()
    log.info(
        "embedded etcd member %s serving %s (peers: %s)", member.name, member.client_url, member.peer_url
    )
    return supervisor


async def open_etcd_storage(settings: EtcdSettings, data_dir: Path, *, node_address: str) -> EtcdStorage:
    if settings.endpoints and settings.cluster_init:
        raise SystemExit("kyb server: --cluster-init runs its own etcd; it excludes --datastore-endpoint")
    if settings.endpoints:
        store = EtcdStorage(
            EtcdConnection.from_flag(
                settings.endpoints,
                cafile=settings.cafile,
                certfile=settings.certfile,
                keyfile=settings.keyfile,
                prefix=settings.prefix,
            )
        )
        await store.open()
        return store
    member = embedded_member(
        data_dir,
        node_address=node_address,
        client_port=settings.client_port,
        peer_port=settings.peer_port,
        initial_cluster=settings.initial_cluster,
        initial_cluster_state=settings.initial_cluster_state,
    )
    supervisor = await start_member(member, data_dir)
    supervised = SupervisedEtcdStorage(
        EtcdConnection(endpoints=(member.client_url,), prefix=settings.prefix), supervisor
    )
    try:
        await supervised.open()
    except BaseException:
        await supervised.close()
        raise
    return supervised
