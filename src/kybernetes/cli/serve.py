"""`kyb server`: open the datastore, make certificates, serve the API until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from kybernetes.apiserver.server import APIServer, ServerConfig
from kybernetes.cli import join
from kybernetes.storage.interface import Storage
from kybernetes.util import gcpauses, pki

if TYPE_CHECKING:
    from kybernetes.storage.etcd.settings import EtcdSettings

log = logging.getLogger("kyb.server")


@dataclass(slots=True)
class ServeOptions:
    data_dir: Path
    port: int = 6443
    bind_address: str = "0.0.0.0"
    advertise_address: str = ""
    datastore: str = ""
    disabled: set[str] = field(default_factory=set)
    # joining an existing control plane: one server's URL and the server token (cli/join.py, docs/ha.md)
    server: str = ""
    token: str = ""
    log_level: str = "info"
    cluster_cidr: str = ""
    authorization_mode: str = "Node,RBAC"
    # etcd instead of SQLite: --datastore-endpoint http(s)://... or --cluster-init (docs/etcd.md)
    etcd: EtcdSettings | None = None


async def open_storage(datastore: str, data_dir: Path, etcd: EtcdSettings | None = None, *,
                       advertise_address: str = "") -> Storage:
    if etcd is not None and etcd.enabled:
        from kybernetes.apiserver.server import host_ip
        from kybernetes.storage.etcd.datastore import open_etcd_storage

        return await open_etcd_storage(etcd, data_dir, node_address=advertise_address or host_ip())
    if datastore.startswith("memory:"):
        from kybernetes.storage.memory import MemoryStorage

        return MemoryStorage()
    if datastore and not datastore.startswith("sqlite://"):
        raise SystemExit(f"kyb server: unsupported --datastore {datastore!r} (sqlite:///PATH or memory://)")
    path = Path(datastore[len("sqlite://"):]) if datastore else data_dir / "db" / "state.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    from kybernetes.storage.sqlite import SQLiteStorage

    store = SQLiteStorage(str(path))
    await store.open()
    return store


async def serve(opts: ServeOptions, *, started: asyncio.Event | None = None) -> None:
    opts.data_dir.mkdir(parents=True, exist_ok=True)
    storage = await join.open_joined_storage(opts) or await open_storage(opts.datastore, opts.data_dir, opts.etcd, advertise_address=opts.advertise_address)
    dns_sans, ip_sans = pki.default_server_sans()
    for address in (opts.advertise_address, opts.bind_address):
        if address and address not in ("0.0.0.0", "::") and address not in ip_sans:
            ip_sans.append(address)
    # a server bound to one address (say, several servers on one machine) is reached there
    local = opts.bind_address if opts.bind_address not in ("", "0.0.0.0", "::") else "127.0.0.1"
    server_url = f"https://{local}:{opts.port}"
    # shared secrets from (or published to) the datastore, then certificates and DATA/token
    paths, server_token = await join.settle_shared_secrets(storage, opts, lambda: pki.ensure_pki(
        opts.data_dir, server_sans_dns=dns_sans, server_sans_ip=ip_sans, server_url=server_url))
    # the in-process token controller signs legacy service-account token Secrets with the API server's key
    os.environ.setdefault("KYB_SERVICE_ACCOUNT_KEY_FILE", str(paths.tls_dir / "sa.key"))
    # the in-process CSR signer issues node certificates with the cluster CA
    os.environ.setdefault("KYB_CLUSTER_SIGNING_CERT_FILE", str(paths.ca_cert))
    os.environ.setdefault("KYB_CLUSTER_SIGNING_KEY_FILE", str(paths.ca_key))
    api = APIServer(ServerConfig(data_dir=opts.data_dir, port=opts.port, bind_address=opts.bind_address,
                                 advertise_address=opts.advertise_address,
                                 authorization_mode=opts.authorization_mode), storage)
    api.extra_routes.extend(join.join_routes(storage, paths, server_token))  # /v1-kyb/: servers join here
    await api.start()
    settle_gc()
    runner = web.AppRunner(api.app(), access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, opts.bind_address, opts.port, ssl_context=pki.server_ssl_context(paths),
                       backlog=1024, reuse_address=True)
    await site.start()
    log.info("API server listening on https://%s:%d", opts.bind_address, opts.port)
    print(f"kyb server: serving https://127.0.0.1:{opts.port}; kubeconfig: {paths.kubeconfig}", flush=True)
    print(f"kyb server: export KUBECONFIG={paths.kubeconfig}", flush=True)
    print(f"kyb server: other servers join with --server https://{opts.advertise_address or local}:{opts.port} "
          f"--token $(cat {opts.data_dir / 'token'})", flush=True)
    from kybernetes.cli import components

    component_tasks = components.start_all(paths.kubeconfig, opts.disabled)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    if started is not None:
        started.set()
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        for task in component_tasks:
            task.cancel()
        for task in component_tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await runner.cleanup()
        await api.stop()
        await storage.close()


def settle_gc() -> None:
    """Collect once after start-up, freeze what survived (modules, the loaded cache), and from
    then on keep full collections short (util/gcpauses.py); long ones are logged."""
    gcpauses.install()


def run_server(opts: ServeOptions) -> None:
    if opts.cluster_cidr:
        # In-process components get only a kubeconfig; cluster-wide settings reach them through the
        # environment (node IPAM cuts node ranges from it, the node keeps it unmasqueraded).
        os.environ["KYB_CLUSTER_CIDR"] = opts.cluster_cidr
    logging.basicConfig(level=getattr(logging, opts.log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    asyncio.run(serve(opts))
