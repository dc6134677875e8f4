"""Connection settings for an etcd cluster and the gRPC channel built from them.

``--datastore-endpoint http://10.0.0.1:2379,http://10.0.0.2:2379`` names the members; https
endpoints use TLS with ``--etcd-cafile`` (the CA that signed etcd's serving certificate) and an
optional client certificate (``--etcd-certfile``/``--etcd-keyfile``). Several endpoints become
one channel with pick-first balancing: the channel stays on one member and moves to the next when
it fails, which is what a client of a Raft cluster wants (any member forwards to the leader).
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

# Reconnect quickly after an etcd restart; probe idle connections so a dead member is noticed
# by the watch stream (etcd's default keepalive enforcement allows pings every 5 s).
CHANNEL_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.max_receive_message_length", -1),
    ("grpc.max_send_message_length", -1),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.lb_policy_name", "pick_first"),
]


class EndpointError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class EtcdConnection:
    endpoints: tuple[str, ...] = ("http://127.0.0.1:2379",)
    cafile: str = ""
    certfile: str = ""
    keyfile: str = ""
    # keys go under this prefix ("" = at the root, as the API server names them)
    prefix: str = ""
    # seconds a unary request may take, waiting for a connection included
    request_timeout: float = 10.0
    extra_options: tuple[tuple[str, Any], ...] = field(default=())

    @classmethod
    def from_flag(cls, value: str, **kwargs: Any) -> EtcdConnection:
        """From a comma-separated ``--datastore-endpoint`` value."""
        endpoints = tuple(e.strip() for e in value.split(",") if e.strip())
        if not endpoints:
            raise EndpointError("no etcd endpoint given")
        return cls(endpoints=endpoints, **kwargs)

    @property
    def secure(self) -> bool:
        return any(urlsplit(e).scheme == "https" for e in self.endpoints)


def host_port(endpoint: str) -> tuple[str, int]:
    """The host and port of one endpoint URL (``http://host:port``, or a bare ``host:port``)."""
    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointError(f"bad etcd endpoint {endpoint!r}: want http(s)://HOST:PORT")
    return parts.hostname, parts.port or 2379


def grpc_target(endpoints: tuple[str, ...]) -> str:
    """The gRPC target naming every endpoint when they are IP literals of one family; else the
    first endpoint (a name resolves through DNS, which may itself return several addresses)."""
    hosts = [host_port(e) for e in endpoints]
    families: set[int] = set()
    for host, _ in hosts:
        try:
            families.add(ipaddress.ip_address(host).version)
        except ValueError:
            families.add(0)
    if len(hosts) > 1 and families in ({4}, {6}):
        scheme = "ipv4" if families == {4} else "ipv6"
        return f"{scheme}:" + ",".join(f"[{h}]:{p}" if scheme == "ipv6" else f"{h}:{p}" for h, p in hosts)
    if len(hosts) > 1:
        log.warning(
            "etcd endpoints %s are not all IP addresses of one family; using %s only", endpoints, endpoints[0]
        )
    host, port = hosts[0]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def open_channel(conn: EtcdConnection) -> Any:
    """A grpc.aio channel to the cluster (bound to the running event loop)."""
    import grpc

    target = grpc_target(conn.endpoints)
    options = CHANNEL_OPTIONS + list(conn.extra_options)
    if not conn.secure:
        return grpc.aio.insecure_channel(target, options=options)
    root = Path(conn.cafile).read_bytes() if conn.cafile else None
    key = Path(conn.keyfile).read_bytes() if conn.keyfile else None
    cert = Path(conn.certfile).read_bytes() if conn.certfile else None
    credentials = grpc.ssl_channel_credentials(
        root_certificates=root, private_key=key, certificate_chain=cert
    )
    return grpc.aio.secure_channel(target, credentials, options=options)
