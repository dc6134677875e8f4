"""Posting an AdmissionReview to a webhook over HTTPS.

Where a webhook lives (clientConfig):
- ``url``: called as given, trusting ``caBundle`` (PEM, base64 in JSON) or, without one, the
  system's roots.
- ``service`` (namespace/name/port/path): resolved to the Service's clusterIP and called there,
  verifying the certificate for ``<name>.<namespace>.svc`` as upstream does. This works only
  where the API server can reach cluster IPs (the node's proxy programs them on this host);
  a missing Service, a headless one, or an unreachable IP is a call failure, which the
  webhook's failurePolicy decides on.

Failures carry Go-like texts (``Post "<url>": dial tcp ...: connect: connection refused``,
``context deadline exceeded``) because they end up in kubectl's output.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from kybernetes.apiserver.admission.plugins.webhook.review import CallError

Obj = dict[str, Any]

# Short reasons client-go gives for bodies that are not a Status (newUnstructuredResponseError).
_HTTP_REASONS = {
    400: "the server rejected our request for an unknown reason",
    401: "the server has asked for the client to provide credentials",
    403: "the server does not allow access to the requested resource",
    404: "the server could not find the requested resource",
    405: "the server does not allow this method on the requested resource",
    409: "the server reported a conflict",
    413: "the server rejected our request because it is too large",
    415: "the server responded with the status code 415 but did not return more information",
    422: "the server rejected our request due to an error in our request",
    429: "the server has received too many requests and has asked us to try again later",
    500: "an error on the server has prevented the request from succeeding",
    503: "the server is currently unable to handle the request",
    504: "the server was unable to return a response in the time allotted, but may still be processing the request",
}


@dataclass(frozen=True, slots=True)
class Target:
    url: str  # without the ?timeout= parameter
    server_hostname: str | None  # the name the certificate must carry, when not the URL's host
    ca_bundle: str  # base64 PEM as in clientConfig.caBundle ("" = system roots)


_SSL_CONTEXTS: dict[str, ssl.SSLContext] = {}


def ssl_context(ca_bundle: str) -> ssl.SSLContext:
    """A client context trusting the bundle, cached per bundle (building one costs ~1 ms)."""
    ctx = _SSL_CONTEXTS.get(ca_bundle)
    if ctx is None:
        if ca_bundle:
            try:
                pem = base64.b64decode(ca_bundle, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise ValueError("caBundle is not base64-encoded PEM") from None
            ctx = ssl.create_default_context(cadata=pem)
        else:
            ctx = ssl.create_default_context()
        if len(_SSL_CONTEXTS) > 64:
            _SSL_CONTEXTS.clear()
        _SSL_CONTEXTS[ca_bundle] = ctx
    return ctx


def resolve(client_config: Obj, get_service: Any) -> Target:
    """The address to call; `get_service(namespace, name)` returns a Service object or None.
    Raises ValueError with the reason when a service reference cannot be resolved."""
    ca = str(client_config.get("caBundle") or "")
    url = client_config.get("url")
    if url:
        return Target(str(url), None, ca)
    svc_ref = client_config.get("service") or {}
    ns, name = str(svc_ref.get("namespace") or ""), str(svc_ref.get("name") or "")
    port = svc_ref.get("port") or 443
    path = str(svc_ref.get("path") or "")
    svc = get_service(ns, name)
    if svc is None:
        raise ValueError(f'service "{name}" not found')
    cluster_ip = str((svc.get("spec") or {}).get("clusterIP") or "")
    if not cluster_ip or cluster_ip == "None":
        raise ValueError(f'service "{ns}/{name}" has no cluster IP to call')
    host = f"[{cluster_ip}]" if ":" in cluster_ip else cluster_ip
    return Target(f"https://{host}:{port}{path}", f"{name}.{ns}.svc", ca)


def _dial_error(url: str, err: BaseException) -> str:
    u = urlsplit(url)
    addr = u.netloc.rsplit("@", 1)[-1]
    if ":" not in addr.rsplit("]", 1)[-1]:
        addr += ":443"
    text = str(err).lower()
    if isinstance(err, aiohttp.ClientConnectorCertificateError) or "certificate" in text:
        return "tls: failed to verify certificate: x509: certificate signed by unknown authority"
    if isinstance(err, aiohttp.ClientSSLError):
        return f"tls: {err}"
    if isinstance(getattr(err, "os_error", None), ConnectionRefusedError) or "refused" in text:
        return f"dial tcp {addr}: connect: connection refused"
    return f"dial tcp {addr}: {err}"


async def post(webhook: str, target: Target, review: Obj, *, timeout_seconds: int) -> Any:
    """POST the review; returns the decoded JSON answer or raises CallError."""
    url = f"{target.url}?timeout={timeout_seconds}s"
    where = f"Post {json.dumps(url)}"
    try:
        ctx = ssl_context(target.ca_bundle)
    except (ValueError, ssl.SSLError) as e:
        raise CallError(webhook, f"could not get REST client: {e}") from None
    body = json.dumps(review).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json, */*"}
    try:
        async with asyncio.timeout(timeout_seconds):
            connector = aiohttp.TCPConnector(ssl=ctx, force_close=True)
            async with aiohttp.ClientSession(connector=connector) as session:
                kwargs: dict[str, Any] = {}
                if target.server_hostname:
                    kwargs["server_hostname"] = target.server_hostname
                async with session.post(url, data=body, headers=headers, **kwargs) as resp:
                    raw = await resp.read()
                    status = resp.status
    except TimeoutError:
        raise CallError(webhook, f"failed to call webhook: {where}: context deadline exceeded") from None
    except aiohttp.ClientConnectorError as e:
        raise CallError(webhook, f"failed to call webhook: {where}: {_dial_error(target.url, e)}") from None
    except (aiohttp.ClientError, OSError) as e:
        raise CallError(webhook, f"failed to call webhook: {where}: {e}") from None
    if not 200 <= status < 300:
        raise CallError(webhook, f"failed to call webhook: {_status_text(status, raw)}")
    try:
        return json.loads(raw)
    except ValueError as e:
        raise CallError(webhook, f"received invalid webhook response: {e}") from None


def _status_text(status: int, raw: bytes) -> str:
    """client-go's error for a non-2xx answer: the Status message when the body is one."""
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("kind") == "Status" and body.get("message"):
        return str(body["message"])
    reason = _HTTP_REASONS.get(status, f"the server responded with the status code {status} but did not "
                                       "return more information")
    text = raw.decode("utf-8", "replace").strip()
    if text and status in (500, 503):
        return reason.replace("an error on the server", f"an error on the server ({json.dumps(text)})", 1)
    return reason
