"""Authentication end to end: real kubectl, the official Python client and curl against an HTTPS aiohttp
server that uses the cluster PKI, plus the pure parts table-driven."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import kubernetes
import pytest
from aiohttp import web

from kybernetes.apiserver import authn
from kybernetes.apiserver.authn import UserInfo
from kybernetes.util import pki

PORT = 18200
URL = f"https://127.0.0.1:{PORT}"
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
TOKEN_USER = UserInfo("token-user", ("team-a",), uid="42")


# ---------------------------------------------------------------------------------------------
# Pure parts


@pytest.mark.parametrize(
    ("subject", "want"),
    [
        pytest.param(
            ((("organizationName", "system:masters"),), (("commonName", "system:admin"),)),
            UserInfo("system:admin", ("system:masters",)),
            id="admin",
        ),
        pytest.param(
            (
                (("organizationName", "b"),),
                (("organizationName", "a"),),
                (("organizationName", "b"),),
                (("commonName", "u"),),
            ),
            UserInfo("u", ("b", "a")),
            id="groups-in-order-deduplicated",
        ),
        pytest.param(((("commonName", "u"),),), UserInfo("u"), id="no-groups"),
        pytest.param(((("organizationName", "g"),),), None, id="no-cn-is-nobody"),
        pytest.param((), None, id="empty-subject"),
    ],
)
def test_user_from_subject(subject: Any, want: UserInfo | None) -> None:
    assert authn.user_from_subject(subject) == want


@pytest.mark.parametrize(
    ("header", "want"),
    [
        pytest.param(None, None, id="absent"),
        pytest.param("Bearer abc", "abc", id="bearer"),
        pytest.param("bearer   abc ", "abc", id="case-blind-and-spaces"),
        pytest.param("Basic YTpi", None, id="basic"),
        pytest.param("Bearer ", None, id="empty-token"),
    ],
)
def test_bearer_token(header: str | None, want: str | None) -> None:
    from aiohttp.test_utils import make_mocked_request

    headers = {"Authorization": header} if header is not None else {}
    assert authn.bearer_token(make_mocked_request("GET", "/", headers=headers)) == want


def test_chain_order_and_authenticated_group() -> None:
    from aiohttp.test_utils import make_mocked_request

    req = make_mocked_request("GET", "/", headers={"Authorization": "Bearer t"})
    first = authn.StaticTokenAuthenticator({"t": UserInfo("first", ("system:authenticated", "g"))})
    second = authn.StaticTokenAuthenticator({"t": UserInfo("second")})
    assert authn.authenticate_request(req, [first, second]) == UserInfo(
        "first", ("system:authenticated", "g")
    )
    assert authn.authenticate_request(req, [second, first]) == UserInfo("second", ("system:authenticated",))
    assert authn.authenticate_request(req, []) is None
    assert authn.authenticate_request(req, [authn.StaticTokenAuthenticator({})]) is None


@pytest.mark.parametrize(
    ("path", "want"),
    [("/healthz", True), ("/version", True), ("/version/", True), ("/api", False), ("/healthz/etcd", False)],
)
def test_anonymous_paths(path: str, want: bool) -> None:
    assert authn.is_anonymous_path(path) is want


# ---------------------------------------------------------------------------------------------
# A real HTTPS server


@dataclass
class Server:
    paths: pki.PKIPaths
    seen: list[UserInfo | None] = field(default_factory=list)


@pytest.fixture(scope="module")
def pki_paths(tmp_path_factory: pytest.TempPathFactory) -> pki.PKIPaths:
    dns, ips = pki.default_server_sans()
    return pki.ensure_pki(
        tmp_path_factory.mktemp("pki"), server_sans_dns=dns, server_sans_ip=ips, server_url=URL
    )


@pytest.fixture
async def server(pki_paths: pki.PKIPaths) -> AsyncIterator[Server]:
    state = Server(pki_paths)
    chain: list[authn.Authenticator] = [
        authn.authenticate_x509,
        authn.StaticTokenAuthenticator({"sekrit": TOKEN_USER}),
    ]

    async def handle(request: web.Request) -> web.Response:
        if authn.is_anonymous_path(request.path):
            return web.json_response({"major": "1", "minor": "32", "gitVersion": "v1.32.0"})
        user = authn.authenticate_request(request, chain)
        state.seen.append(user)
        if user is None:
            status: dict[str, Any] = {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
            }
            status |= {"message": "Unauthorized", "reason": "Unauthorized", "code": 401}
            return web.json_response(status, status=401)
        return web.json_response({"name": user.name, "groups": list(user.groups), "uid": user.uid})

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", PORT, ssl_context=pki.server_ssl_context(pki_paths))
    await site.start()
    try:
        yield state
    finally:
        await runner.cleanup()


async def _kubectl(kubeconfig: Path, cache: Path, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        KUBECTL,
        "--kubeconfig",
        str(kubeconfig),
        "--cache-dir",
        str(cache),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


ADMIN = {"name": "system:admin", "groups": ["system:masters", "system:authenticated"], "uid": ""}


async def test_kubectl_authenticates_with_generated_kubeconfig(server: Server, tmp_path: Path) -> None:
    rc, out, err = await _kubectl(server.paths.kubeconfig, tmp_path, "get", "--raw", "/whoami")
    assert rc == 0, err
    assert json.loads(out) == ADMIN
    rc, out, err = await _kubectl(server.paths.kubeconfig, tmp_path, "version", "-o", "json")
    assert rc == 0, err
    assert json.loads(out)["serverVersion"]["gitVersion"] == "v1.32.0"


def _python_client_get(kubeconfig: Path, path: str) -> Any:
    cfg = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    with kubernetes.client.ApiClient(cfg) as api:
        return api.call_api(
            path, "GET", response_type="object", auth_settings=["BearerToken"], _return_http_data_only=True
        )


async def test_python_client_authenticates_and_verifies_server(server: Server, tmp_path: Path) -> None:
    assert await asyncio.to_thread(_python_client_get, server.paths.kubeconfig, "/whoami") == ADMIN

    # The same credentials with another CA to trust: the client must refuse our serving certificate.
    other = pki.generate_ca()
    wrong_ca = tmp_path / "wrong-ca.kubeconfig"
    pki.write_kubeconfig(
        wrong_ca,
        server=URL,
        ca_pem=other.cert_pem,
        cert_pem=server.paths.admin_cert.read_bytes(),
        key_pem=server.paths.admin_key.read_bytes(),
    )
    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
        await asyncio.to_thread(_python_client_get, wrong_ca, "/whoami")
    assert server.seen == [UserInfo("system:admin", ("system:masters", "system:authenticated"))]


async def test_no_client_cert_is_unauthenticated(server: Server) -> None:
    async def curl(path: str) -> tuple[str, str]:
        proc = await asyncio.create_subprocess_exec(
            "curl",
            "-sS",
            "--cacert",
            str(server.paths.ca_cert),
            "-w",
            "\n%{http_code}",
            URL + path,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
        body, _, code = out.decode().rpartition("\n")
        return code, body

    code, body = await curl("/whoami")
    assert code == "401"
    assert json.loads(body)["reason"] == "Unauthorized"
    code, _ = await curl("/healthz")
    assert code == "200"
    assert server.seen == [None]


def _client_ctx(
    paths: pki.PKIPaths, cert_pem: bytes | None = None, key_pem: bytes | None = None
) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(paths.ca_cert))
    if cert_pem is not None and key_pem is not None:
        d = paths.tls_dir.parent / "client-tmp"
        d.mkdir(exist_ok=True)
        (d / "c.crt").write_bytes(cert_pem)
        (d / "c.key").write_bytes(key_pem)
        ctx.load_cert_chain(d / "c.crt", d / "c.key")
        shutil.rmtree(d)
    return ctx


async def test_bearer_token_and_other_users(server: Server) -> None:
    ca = pki.CertificateAuthority.load(server.paths.ca_cert, server.paths.ca_key)
    node_ctx = _client_ctx(server.paths, *pki.issue_client_cert(ca, "system:node:n1", ["system:nodes"]))
    async with aiohttp.ClientSession() as session:
        async with session.get(URL + "/x", ssl=node_ctx) as resp:
            assert resp.status == 200
            assert await resp.json() == {
                "name": "system:node:n1",
                "groups": ["system:nodes", "system:authenticated"],
                "uid": "",
            }
        plain = _client_ctx(server.paths)
        async with session.get(URL + "/x", ssl=plain, headers={"Authorization": "Bearer sekrit"}) as resp:
            assert resp.status == 200
            assert await resp.json() == {
                "name": "token-user",
                "groups": ["team-a", "system:authenticated"],
                "uid": "42",
            }
        async with session.get(URL + "/x", ssl=plain, headers={"Authorization": "Bearer wrong"}) as resp:
            assert resp.status == 401


@pytest.mark.parametrize("case", ["foreign-ca", "server-cert-as-client"])
async def test_bad_client_certificate_is_rejected(server: Server, case: str) -> None:
    if case == "foreign-ca":
        cert_pem, key_pem = pki.issue_client_cert(pki.generate_ca(), "system:admin", ["system:masters"])
    else:  # signed by our CA, but without the clientAuth usage
        cert_pem, key_pem = server.paths.server_cert.read_bytes(), server.paths.server_key.read_bytes()
    ctx = _client_ctx(server.paths, cert_pem, key_pem)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError):
            async with session.get(URL + "/whoami", ssl=ctx) as resp:
                await resp.read()
    assert server.seen == []


async def test_kubectl_with_foreign_client_cert_fails(server: Server, tmp_path: Path) -> None:
    cert_pem, key_pem = pki.issue_client_cert(pki.generate_ca(), "system:admin", ["system:masters"])
    kubeconfig = tmp_path / "foreign.kubeconfig"
    pki.write_kubeconfig(
        kubeconfig, server=URL, ca_pem=server.paths.ca_cert.read_bytes(), cert_pem=cert_pem, key_pem=key_pem
    )
    # Takes ~5 s here: the Cloud SDK dispatcher at /usr/bin/kubectl probes /version first, and that
    # handshake fails too, until its 5 s timeout.
    rc, _, err = await _kubectl(kubeconfig, tmp_path, "get", "--raw", "/whoami", "--request-timeout=10s")
    # The server aborts the handshake; depending on timing kubectl reports the TLS alert or a reset.
    assert rc != 0
    assert "Unable to connect to the server" in err or "certificate" in err
    assert server.seen == []
