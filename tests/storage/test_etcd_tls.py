"""The etcd backend over TLS with client-certificate authentication (--etcd-cafile/certfile/keyfile).

A private etcd on https://127.0.0.1:23798 (peer 23799) requiring client certificates signed by a
CA made here; data and certificates in a temp dir under /tmp/kyb-etcd*.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from kybernetes.storage.etcd.channel import EtcdConnection
from kybernetes.storage.etcd.embedded import MemberConfig, etcd_command
from kybernetes.storage.etcd.store import EtcdStorage
from kybernetes.storage.interface import StorageError
from kybernetes.util import pki

CLIENT = "https://127.0.0.1:23798"


@pytest.fixture(scope="module")
def tls_etcd() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="kyb-etcd-tls-", dir="/tmp"))
    ca = pki.generate_ca("etcd-test-ca")
    (directory / "ca.crt").write_bytes(ca.cert_pem)
    cert, key = pki.issue_serving_cert(
        ca, common_name="etcd", dns_names=["localhost"], ip_addresses=["127.0.0.1"]
    )
    (directory / "server.crt").write_bytes(cert)
    (directory / "server.key").write_bytes(key)
    cert, key = pki.issue_client_cert(ca, "kyb-apiserver")
    (directory / "client.crt").write_bytes(cert)
    (directory / "client.key").write_bytes(key)
    member = MemberConfig(
        "tls",
        directory / "data",
        CLIENT,
        "http://127.0.0.1:23799",
        extra_args=(
            "--client-cert-auth",
            f"--trusted-ca-file={directory / 'ca.crt'}",
            f"--cert-file={directory / 'server.crt'}",
            f"--key-file={directory / 'server.key'}",
        ),
    )
    with (directory / "etcd.log").open("wb") as log:
        proc = subprocess.Popen(etcd_command(member), stdout=log, stderr=subprocess.STDOUT)
    try:
        yield directory
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(directory, ignore_errors=True)


async def test_client_certificate_authenticates(tls_etcd: Path) -> None:
    connection = EtcdConnection.from_flag(
        CLIENT,
        cafile=str(tls_etcd / "ca.crt"),
        certfile=str(tls_etcd / "client.crt"),
        keyfile=str(tls_etcd / "client.key"),
        request_timeout=30,  # the first test also waits for etcd to start
    )
    store = EtcdStorage(connection)
    await store.open()
    try:
        kv = await store.create("/tls/a", b"1")
        assert await store.get("/tls/a") == kv
    finally:
        await store.close()


async def test_without_a_client_certificate_etcd_refuses(tls_etcd: Path) -> None:
    store = EtcdStorage(EtcdConnection.from_flag(CLIENT, cafile=str(tls_etcd / "ca.crt"), request_timeout=2))
    with pytest.raises(StorageError):
        await store.open()
    await store.close()
