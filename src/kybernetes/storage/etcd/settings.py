"""`kyb server`'s etcd settings, importable without loading grpc (SQLite servers never need it)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_CLIENT_PORT = 2379
DEFAULT_PEER_PORT = 2380


@dataclass(frozen=True, slots=True)
class EtcdSettings:
    endpoints: str = ""  # --datastore-endpoint (http/https URLs)
    cafile: str = ""
    certfile: str = ""
    keyfile: str = ""
    prefix: str = ""
    cluster_init: bool = False
    client_port: int = DEFAULT_CLIENT_PORT
    peer_port: int = DEFAULT_PEER_PORT
    # a server joining a cluster: its member starts with the whole cluster (members.add_member's
    # "initialCluster") and state "existing"; ignored once the member's data dir exists
    initial_cluster: str = ""
    initial_cluster_state: str = "new"

    @property
    def enabled(self) -> bool:
        return self.cluster_init or bool(self.endpoints)


def is_etcd_endpoint(value: str) -> bool:
    return value.startswith(("http://", "https://"))
