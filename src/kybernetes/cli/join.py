"""`kyb server --server URL --token T`: a server that joins an existing control plane, and the
shared-secret bookkeeping every server does at start (docs/ha.md).

``open_joined_storage`` runs before the datastore is opened. For a joiner it
1. fetches the bootstrap data from URL (apiserver/ha/join.py) unless the data dir already has
   the cluster CA key, and writes the shared files;
2. with embedded etcd (no --datastore-endpoint) and no etcd data dir yet, asks URL to add it as
   an etcd member and starts its own member with ``--initial-cluster-state existing``; a server
   whose member data survived simply restarts its member (etcd ignores the initial cluster then).

``settle_shared_secrets`` runs on every server once the datastore is open: it takes the shared
files from the datastore's encrypted record when there is one, makes the certificates, writes
DATA/token, and publishes this server's files if it is the first (apiserver/ha/bootstrapdata.py).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kybernetes.apiserver.ha import bootstrapdata, join
from kybernetes.apiserver.ha.token import TOKEN_FILE, ServerToken, ensure_token_file, generate_password, parse
from kybernetes.storage.interface import Storage
from kybernetes.util import pki

if TYPE_CHECKING:
    from kybernetes.cli.serve import ServeOptions

log = logging.getLogger("kyb.server.join")


def given_token(data_dir: Path, token: str) -> ServerToken | None:
    """--token, else DATA/token, else None (a first server makes one)."""
    if token:
        return parse(token)
    path = data_dir / TOKEN_FILE
    return parse(path.read_text()) if path.exists() else None


def _etcd_settings(opts: ServeOptions) -> Any:
    from kybernetes.storage.etcd.settings import EtcdSettings

    return opts.etcd if opts.etcd is not None else EtcdSettings()


async def open_joined_storage(opts: ServeOptions) -> Storage | None:
    """The storage of a joiner on embedded etcd, or None (then ``open_storage`` opens it)."""
    if not opts.server:
        return None
    token = given_token(opts.data_dir, opts.token)
    if token is None:
        raise SystemExit("kyb server: --server needs --token (the first server's DATA_DIR/token)")
    started = time.monotonic()
    if not (opts.data_dir / "tls" / "ca.key").exists():
        files = await join.fetch_bootstrap(opts.server, token)
        written = bootstrapdata.write_files(opts.data_dir, files)
        log.info("joined through %s: wrote %s", opts.server, ", ".join(written) or "nothing (up to date)")
    settings = _etcd_settings(opts)
    if settings.endpoints:
        return None  # external etcd: the shared files were all a joiner needed
    if (opts.data_dir / "db" / "etcd").exists():
        opts.etcd = dataclasses.replace(settings, cluster_init=True)  # a member already: restart it
        return None
    from kybernetes.apiserver.server import host_ip
    from kybernetes.storage.etcd.channel import EtcdConnection
    from kybernetes.storage.etcd.datastore import SupervisedEtcdStorage, start_member
    from kybernetes.storage.etcd.embedded import embedded_member

    node_address = opts.advertise_address or host_ip()
    probe = embedded_member(
        opts.data_dir,
        node_address=node_address,
        client_port=settings.client_port,
        peer_port=settings.peer_port,
    )
    answer = await join.request_etcd_membership(
        opts.server,
        token,
        (opts.data_dir / "tls" / "ca.crt").read_bytes(),
        name=probe.name,
        peer_urls=[probe.peer_url],
    )
    member = dataclasses.replace(
        probe, initial_cluster=str(answer["initialCluster"]), initial_cluster_state="existing"
    )
    log.info("etcd: joining as %s with initial cluster %s", member.name, member.initial_cluster)
    supervisor = await start_member(member, opts.data_dir)
    storage = SupervisedEtcdStorage(
        EtcdConnection(endpoints=(member.client_url,), prefix=settings.prefix), supervisor
    )
    try:
        await storage.open()
    except BaseException:
        await storage.close()
        raise
    opts.etcd = dataclasses.replace(settings, cluster_init=True)
    log.info("etcd member %s joined in %.1fs", member.name, time.monotonic() - started)
    return storage


async def settle_shared_secrets(
    storage: Storage, opts: ServeOptions, make_pki: Callable[[], pki.PKIPaths]
) -> tuple[pki.PKIPaths, ServerToken]:
    """Shared files from the datastore (or published to it), certificates, DATA/token."""
    token = given_token(opts.data_dir, opts.token)
    password = token.password if token is not None else generate_password()
    existing = await bootstrapdata.load(storage, password)
    if existing is None and (await storage.list(bootstrapdata.PREFIX, limit=1)).items:
        # a cluster lives here already, sealed with another token: never start a second CA on it
        raise SystemExit(
            "kyb server: the datastore holds bootstrap data encrypted with a different server token "
            "(pass the cluster's --token, see DATA_DIR/token on a server of it)"
        )
    if existing is not None:
        written = bootstrapdata.write_files(opts.data_dir, existing)
        if written:
            log.info("bootstrap data from the datastore: wrote %s", ", ".join(written))
    paths = make_pki()
    ca_hash = pki.ca_cert_hash(pki.CertificateAuthority.load(paths.ca_cert, paths.ca_key).cert)
    server_token = ensure_token_file(opts.data_dir, given=str(token) if token else password, ca_hash=ca_hash)
    if await bootstrapdata.publish_or_adopt(storage, opts.data_dir, password):
        log.info("another server published the cluster's secrets first: using them")  # a start-up race
        paths = make_pki()
        ca_hash = pki.ca_cert_hash(pki.CertificateAuthority.load(paths.ca_cert, paths.ca_key).cert)
        server_token = ensure_token_file(opts.data_dir, given=password, ca_hash=ca_hash)
    return paths, server_token


def join_routes(storage: Storage, paths: pki.PKIPaths, token: ServerToken) -> list[tuple[str, str, Any]]:
    """The /v1-kyb/ paths this server answers joiners on."""
    member_add: Callable[[str, list[str]], Awaitable[dict[str, Any]]] | None = None
    supervisor = getattr(storage, "supervisor", None)
    connection = getattr(storage, "connection", None)
    if supervisor is not None and connection is not None:
        from kybernetes.apiserver.ha.etcdmembers import ClusterClient

        member_add = ClusterClient(connection).add
    return join.JoinEndpoints(storage, paths.ca_cert.read_bytes(), token, member_add).routes()
