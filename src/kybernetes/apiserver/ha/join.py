"""Joining a server to the control plane over HTTPS (the API server's /v1-kyb/ paths).

A new server knows one URL of the cluster and the server token. It

1. downloads the CA (``GET /v1-kyb/cacerts``, anonymous, unverified TLS) and accepts it only when
   its hash is the one the token pins;
2. asks, now over verified TLS and with the token's password as Basic credentials (user
   ``server``), for the bootstrap data record (``GET /v1-kyb/server-bootstrap``) and decrypts it
   with the password: the cluster CA and service-account key land in its data dir;
3. with embedded etcd, asks to become a member (``POST /v1-kyb/etcd-members`` with its name and
   peer URL); the answering server calls etcd's Cluster.MemberAdd and returns the initial cluster
   for ``--initial-cluster-state existing``.

The answering side is ``JoinEndpoints``, installed into the API server's routes ahead of the
Kubernetes API (these paths are not Kubernetes resources and are not seen by RBAC: the server
token is the only credential they accept).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import orjson
from aiohttp import web
from cryptography import x509

from kybernetes.apiserver.ha import bootstrapdata
from kybernetes.apiserver.ha.token import ServerToken
from kybernetes.storage.interface import Storage
from kybernetes.util import pki

log = logging.getLogger("kyb.ha.join")

CACERTS_PATH = "/v1-kyb/cacerts"
BOOTSTRAP_PATH = "/v1-kyb/server-bootstrap"
ETCD_MEMBERS_PATH = "/v1-kyb/etcd-members"
SERVER_USER = "server"

# name, peer URLs -> {"members": [{"name", "peerURLs", "clientURLs"}...]} (the etcd member list after the add)
MemberAdder = Callable[[str, list[str]], Awaitable[dict[str, Any]]]


class JoinError(Exception):
    pass


def basic_password(header: str) -> str | None:
    """The password of `Basic <b64 server:password>`, None for anything else."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return password if sep and user == SERVER_USER else None


def _failure(message: str, code: int = 401) -> web.Response:
    return web.json_response(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "message": message,
            "reason": {401: "Unauthorized", 503: "ServiceUnavailable"}.get(code, "Forbidden"),
            "code": code,
        },
        status=code,
    )


class JoinEndpoints:
    def __init__(
        self, storage: Storage, ca_pem: bytes, token: ServerToken, member_add: MemberAdder | None = None
    ) -> None:
        self.storage = storage
        self.ca_pem = ca_pem
        self.token = token
        self.member_add = member_add

    def routes(self) -> list[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]]:
        return [
            ("GET", CACERTS_PATH, self.cacerts),
            ("GET", BOOTSTRAP_PATH, self.server_bootstrap),
            ("POST", ETCD_MEMBERS_PATH, self.etcd_members),
        ]

    def _authorized(self, request: web.Request) -> bool:
        password = basic_password(request.headers.get("Authorization", ""))
        return password is not None and self.token.matches(password)

    async def cacerts(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=self.ca_pem, content_type="application/x-pem-file")

    async def server_bootstrap(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return _failure("a valid server token is required")
        record = await bootstrapdata.record(self.storage, self.token.password)
        if record is None:
            return _failure("this server has published no bootstrap data", 503)
        return web.Response(body=record, content_type="application/json")

    async def etcd_members(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return _failure("a valid server token is required")
        if self.member_add is None:
            return _failure("this server does not run embedded etcd", 503)
        try:
            body = orjson.loads(await request.read())
            name = str(body["name"])
            peer_urls = [str(u) for u in body["peerURLs"]]
        except (orjson.JSONDecodeError, KeyError, TypeError) as e:
            return web.json_response(
                {
                    "kind": "Status",
                    "status": "Failure",
                    "code": 400,
                    "message": f"expected {{name, peerURLs}}: {e}",
                },
                status=400,
            )
        log.info("adding etcd member %s at %s", name, ",".join(peer_urls))
        try:
            return web.json_response(await self.member_add(name, peer_urls))
        except Exception as e:  # etcd said no (e.g. "unhealthy cluster" right after another join)
            log.info("etcd member add for %s failed: %s", name, e)
            return _failure(f"etcd cannot add a member now: {e}", 503)


# --- the joining side ---------------------------------------------------------------------------
def _auth_header(token: ServerToken) -> dict[str, str]:
    cred = base64.b64encode(f"{SERVER_USER}:{token.password}".encode()).decode()
    return {"Authorization": f"Basic {cred}"}


async def fetch_ca(server: str, token: ServerToken) -> bytes:
    """The cluster CA from `server`, checked against the token's pin when it has one."""
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session,
        session.get(server.rstrip("/") + CACERTS_PATH, ssl=False) as resp,
    ):
        if resp.status != 200:
            raise JoinError(f"{server}: GET {CACERTS_PATH} answered {resp.status}")
        ca_pem = await resp.read()
    try:
        cert = x509.load_pem_x509_certificate(ca_pem)
    except ValueError as e:
        raise JoinError(f"{server}: the CA it sent does not parse: {e}") from None
    if token.ca_hash and pki.ca_cert_hash(cert) != token.ca_hash:
        raise JoinError(
            f"{server}: its CA {pki.ca_cert_hash(cert)} is not the one the token pins ({token.ca_hash})"
        )
    return ca_pem


def _verified(ca_pem: bytes) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cadata=ca_pem.decode())
    return ctx


async def fetch_bootstrap(server: str, token: ServerToken) -> dict[str, bytes]:
    """Steps 1 and 2: the shared files, decrypted; their CA is the one `server` serves with."""
    ca_pem = await fetch_ca(server, token)
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
        session.get(
            server.rstrip("/") + BOOTSTRAP_PATH, ssl=_verified(ca_pem), headers=_auth_header(token)
        ) as resp,
    ):
        body = await resp.read()
        if resp.status != 200:
            raise JoinError(f"{server}: GET {BOOTSTRAP_PATH} answered {resp.status}: {body[:200]!r}")
    files = bootstrapdata.decrypt(token.password, body)
    if files.get("tls/ca.crt", b"").strip() != ca_pem.strip():
        raise JoinError(f"{server}: the bootstrap data's CA is not the CA the server presents")
    return files


async def request_etcd_membership(
    server: str, token: ServerToken, ca_pem: bytes, *, name: str, peer_urls: list[str], timeout: float = 90.0
) -> dict[str, Any]:
    """Step 3: the member list after this server was added (the caller starts etcd with it).
    etcd refuses a member change while a recent one has not settled ("unhealthy cluster", 503
    here), so a server joining right after another one retries until `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    pause = 0.5
    while True:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session,
            session.post(
                server.rstrip("/") + ETCD_MEMBERS_PATH,
                ssl=_verified(ca_pem),
                headers=_auth_header(token),
                data=orjson.dumps({"name": name, "peerURLs": peer_urls}),
            ) as resp,
        ):
            body = await resp.read()
            status = resp.status
        if status == 200:
            answer: dict[str, Any] = orjson.loads(body)
            return answer
        if status != 503 or asyncio.get_running_loop().time() + pause > deadline:
            raise JoinError(f"{server}: POST {ETCD_MEMBERS_PATH} answered {status}: {body[:300]!r}")
        log.info("etcd cannot take a member yet (%s); retrying in %.1fs", body[:120], pause)
        await asyncio.sleep(pause)
        pause = min(pause * 2, 5.0)
