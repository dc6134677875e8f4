"""How the dashboard talks to the API server: as the logged-in user, never as itself.

Why: the dashboard must not be a way around authorization. Each request carries the bearer token
the user pasted at login, over a TLS connection that trusts the cluster CA but presents no client
certificate, so the API server authenticates and authorizes the user, and a forbidden list is the
user's 403. Only the explicit admin mode (`KYB_DASHBOARD_ADMIN`) uses the admin kubeconfig's
credentials, for every visitor.

One aiohttp session (connection pool) is shared by all users; credentials travel per request.
Failures raise `APIError` with the server's Status, as `kybernetes.client` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import aiohttp
import orjson

from kybernetes.client.config import ClientConfig
from kybernetes.client.errors import APIError, status_from_response

REQUEST_TIMEOUT = 20.0


class UserAPI(Protocol):
    """The API as one user sees it."""

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> Any: ...


class Backend(Protocol):
    admin_mode: bool

    def as_user(self, token: str) -> UserAPI: ...

    async def close(self) -> None: ...


def decode(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    if content_type.endswith("json") or raw[:1] in (b"{", b"["):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return raw.decode(errors="replace")


class HTTPBackend:
    """The real API server. With `admin_mode`, `config`'s own credentials go with every request
    and user tokens are ignored; otherwise only the CA of `config` is used."""

    def __init__(self, config: ClientConfig, *, admin_mode: bool = False) -> None:
        self.admin_mode = admin_mode
        self.server = config.server
        self._admin_token = config.bearer_token() if admin_mode else ""
        if admin_mode:
            self._ssl = config.ssl_context()
        else:
            trust_only = ClientConfig(
                server=config.server,
                ca_data=config.ca_data,
                ca_file=config.ca_file,
                insecure_skip_tls_verify=config.insecure_skip_tls_verify,
            )
            self._ssl = trust_only.ssl_context()
        self._server_name = config.tls_server_name
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else False, limit=50)
            self._session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    def as_user(self, token: str) -> UserAPI:
        return _HTTPUser(self, self._admin_token if self.admin_mode else token)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class _HTTPUser:
    def __init__(self, backend: HTTPBackend, token: str) -> None:
        self.backend = backend
        self.token = token

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> Any:
        headers = {"Accept": accept, "User-Agent": "kybernetes-dashboard"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = orjson.dumps(body)
            headers["Content-Type"] = content_type
        kw: dict[str, Any] = {}
        if self.backend._server_name:
            kw["server_hostname"] = self.backend._server_name
        async with self.backend.session().request(
            method,
            self.backend.server + path,
            params=params,
            data=data,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
            **kw,
        ) as resp:
            raw = await resp.read()
            decoded = decode(raw, resp.content_type)
            if resp.status >= 400:
                text = raw.decode(errors="replace") if not isinstance(decoded, dict) else ""
                raise APIError(status_from_response(resp.status, decoded, text))
            return decoded
