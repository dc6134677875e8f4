"""Certificate rotation: when to rotate, the retry backoff, the loop with fakes, the signer's lifetimes,
and a live TLS check that a rotated client certificate and a reloaded serving certificate are the
ones presented on new connections."""

from __future__ import annotations

import base64
import datetime as dt
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from kybernetes.client.config import ClientConfig
from kybernetes.client.rest import APIClient
from kybernetes.controllers.certificates import signer
from kybernetes.kubelet import certrotation as cr
from kybernetes.kubelet.server import server_ssl_context
from kybernetes.util import pki

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
CA = pki.generate_ca()


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("not_before", "not_after", "jitter", "deadline"),
    [
        pytest.param(0, 100, 0.0, 70, id="earliest-70pct"),
        pytest.param(0, 100, 0.5, 80, id="middle"),
        pytest.param(0, 100, 0.999, 89.98, id="latest-just-under-90pct"),
        pytest.param(-300, 60, 0.0, -48, id="backdated-5min-60s-cert-rotates-at-once"),
        pytest.param(-6, 60, 0.0, 40.2, id="backdated-tenth-60s-cert"),
        pytest.param(0, 365 * 86400, 0.0, 0.7 * 365 * 86400, id="one-year"),
    ],
)
def test_rotation_deadline(not_before: float, not_after: float, jitter: float, deadline: float) -> None:
    got = cr.rotation_deadline(at(not_before), at(not_after), jitter=jitter)
    assert abs((got - at(deadline)).total_seconds()) < 0.01


def fresh_cert(lifetime: dt.timedelta) -> bytes:
    """A certificate issued now, not backdated: notBefore..notAfter is exactly `lifetime`."""
    key = pki.new_private_key()
    csr = pki.parse_csr(pki.build_csr(key, "system:node:n", ("system:nodes",)))
    return pki.sign_csr(CA, csr, server=False, validity=lifetime, backdate=dt.timedelta(0))


@pytest.mark.parametrize(
    ("cert", "elapsed", "jitter", "wait"),
    [
        pytest.param(None, 0, 0.5, 0.0, id="no-certificate-now"),
        pytest.param(b"garbage", 0, 0.5, 0.0, id="unreadable-now"),
        pytest.param("100s", 0, 0.0, 70.0, id="fresh"),
        pytest.param("100s", 50, 0.0, 20.0, id="half-way"),
        pytest.param("100s", 85, 0.0, 0.0, id="past-deadline"),
        pytest.param("100s", 200, 1.0, 0.0, id="expired"),
    ],
)
def test_seconds_until_rotation(cert: Any, elapsed: float, jitter: float, wait: float) -> None:
    from cryptography import x509

    pem = cert
    now = T0
    if cert == "100s":
        pem = fresh_cert(dt.timedelta(seconds=100))
        now = x509.load_pem_x509_certificate(pem).not_valid_before_utc + dt.timedelta(seconds=elapsed)
    assert cr.seconds_until_rotation(pem, now=now, jitter=jitter) == pytest.approx(wait, abs=0.01)


@pytest.mark.parametrize(
    ("failures", "delay"), [(0, 2.0), (1, 2.0), (2, 4.0), (3, 8.0), (6, 60.0), (50, 60.0)]
)
def test_retry_delay(failures: int, delay: float) -> None:
    assert cr.retry_delay(failures) == delay


# --- the signer's lifetimes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("validity", "backdate"),
    [
        pytest.param(dt.timedelta(seconds=60), dt.timedelta(seconds=6), id="60s-tenth"),
        pytest.param(dt.timedelta(hours=1), dt.timedelta(minutes=5), id="1h-capped-5min"),
        pytest.param(dt.timedelta(days=365), dt.timedelta(minutes=5), id="year"),
    ],
)
def test_signer_backdate(validity: dt.timedelta, backdate: dt.timedelta) -> None:
    assert signer.backdate_for(validity) == backdate


def approved_csr(expiration_seconds: int | None = None) -> dict[str, Any]:
    key = pki.new_private_key()
    pem = pki.build_csr(key, "system:node:n", ("system:nodes",))
    spec: dict[str, Any] = {
        "request": base64.b64encode(pem).decode(),
        "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
        "usages": ["digital signature", "client auth"],
    }
    if expiration_seconds is not None:
        spec["expirationSeconds"] = expiration_seconds
    return {"spec": spec, "status": {"conditions": [{"type": "Approved", "status": "True"}]}}


@pytest.mark.parametrize(
    ("duration", "expiration", "validity"),
    [
        pytest.param(signer.DEFAULT_DURATION, None, signer.DEFAULT_DURATION, id="default-year"),
        pytest.param(dt.timedelta(seconds=60), None, dt.timedelta(seconds=60), id="configured-60s"),
        pytest.param(dt.timedelta(seconds=60), 3600, dt.timedelta(seconds=60), id="request-cannot-lengthen"),
        pytest.param(signer.DEFAULT_DURATION, 3600, dt.timedelta(hours=1), id="request-shortens"),
        pytest.param(signer.DEFAULT_DURATION, 30, dt.timedelta(minutes=10), id="request-at-least-10min"),
    ],
)
def test_signer_validity(duration: dt.timedelta, expiration: int | None, validity: dt.timedelta) -> None:
    p = signer.plan(approved_csr(expiration), duration=duration)
    assert p.action == "sign" and p.validity == validity


def test_signing_duration_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(signer.DURATION_ENV, raising=False)
    assert signer.signing_duration({}) == signer.DEFAULT_DURATION
    monkeypatch.setenv(signer.DURATION_ENV, "60s")
    assert signer.signing_duration({}) == dt.timedelta(seconds=60)
    assert signer.signing_duration({"duration": "2h"}) == dt.timedelta(hours=2)
    with pytest.raises(ValueError):
        signer.signing_duration({"duration": "soon"})


def test_short_certificates_are_barely_backdated() -> None:
    from cryptography import x509

    key = pki.new_private_key()
    csr = pki.parse_csr(pki.build_csr(key, "system:node:n", ("system:nodes",)))
    cert = x509.load_pem_x509_certificate(
        pki.sign_csr(
            CA, csr, server=False, validity=dt.timedelta(seconds=60), backdate=dt.timedelta(seconds=6)
        )
    )
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(seconds=66)


# --- the loop ---------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> dt.datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += dt.timedelta(seconds=seconds)


async def test_rotator_waits_for_the_deadline_then_installs() -> None:
    from cryptography import x509

    first = fresh_cert(dt.timedelta(seconds=100))
    clock = FakeClock(x509.load_pem_x509_certificate(first).not_valid_before_utc)
    installed: list[bytes] = []
    second = fresh_cert(dt.timedelta(seconds=100))

    async def renew() -> tuple[bytes, bytes]:
        return second, b"key"

    rot = cr.Rotator(
        "client",
        current=lambda: installed[-1] if installed else first,
        renew=renew,
        install=lambda c, k: installed.append(c),
        clock=clock,
        jitter=lambda: 0.5,
        sleep=clock.sleep,
    )
    assert await rot.rotate_once()
    assert clock.sleeps == [pytest.approx(80.0)] and installed == [second] and rot.rotations == 1


async def test_rotator_retries_with_backoff_after_failures() -> None:
    clock = FakeClock(T0)
    attempts = 0

    async def renew() -> tuple[bytes, bytes]:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise RuntimeError("certificate signing request csr-x was not approved")
        return b"cert", b"key"

    installed: list[bytes] = []
    rot = cr.Rotator(
        "serving",
        current=lambda: None,
        renew=renew,
        install=lambda c, k: installed.append(c),
        clock=clock,
        sleep=clock.sleep,
    )
    assert not await rot.rotate_once()
    assert not await rot.rotate_once()
    assert await rot.rotate_once()
    assert clock.sleeps == [0.0, 2.0, 0.0, 4.0, 0.0] and installed == [b"cert"] and rot.failures == 0


def test_kubeconfig_gets_the_new_pair_and_keeps_the_rest() -> None:
    doc: dict[str, Any] = pki.kubeconfig_dict(
        server="https://s:6443", ca_pem=b"CA", cert_pem=b"old", key_pem=b"oldkey"
    )
    out = cr.with_client_certificate(doc, b"new", b"newkey")
    user = out["users"][0]["user"]
    assert base64.b64decode(user["client-certificate-data"]) == b"new"
    assert base64.b64decode(user["client-key-data"]) == b"newkey"
    assert out["clusters"] == doc["clusters"] and out["contexts"] == doc["contexts"]
    assert base64.b64decode(doc["users"][0]["user"]["client-certificate-data"]) == b"old"  # not mutated
    with pytest.raises(ValueError):
        cr.with_client_certificate({"users": []}, b"new", b"newkey")


# --- live TLS: new connections present the new certificates ----------------------------------------


def write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[tuple[str, ssl.SSLContext, Path]]:
    """An HTTPS server that requires client certificates and answers with the client's CN serial."""
    cert, key = pki.issue_serving_cert(
        CA, common_name="kubelet", dns_names=["localhost"], ip_addresses=["127.0.0.1"]
    )
    ca = write(tmp_path, "ca.crt", CA.cert_pem)
    ctx = server_ssl_context(write(tmp_path, "s.crt", cert), write(tmp_path, "s.key", key), ca)

    async def who(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        return web.json_response({"serial": (peer or {}).get("serialNumber", "")})

    app = web.Application()
    app.router.add_get("/who", who)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"https://127.0.0.1:{port}", ctx, ca
    finally:
        await runner.cleanup()


async def test_api_client_presents_the_rotated_certificate(
    tls_server: tuple[str, ssl.SSLContext, Path],
) -> None:
    url, _, _ = tls_server
    old_cert, old_key = pki.issue_client_cert(CA, "system:node:n", ("system:nodes",))
    new_cert, new_key = pki.issue_client_cert(CA, "system:node:n", ("system:nodes",))
    cfg = ClientConfig(server=url, ca_data=CA.cert_pem, client_cert_data=old_cert, client_key_data=old_key)
    async with APIClient(cfg) as client:
        before = (await client.request("GET", "/who"))["serial"]
        client.use_client_certificate(new_cert, new_key, retire_after=0.05)
        after = (await client.request("GET", "/who"))["serial"]
        assert int(before, 16) == cr.serial_of(old_cert) and int(after, 16) == cr.serial_of(new_cert)
        assert client.config.client_cert_data == new_cert


async def test_live_server_context_serves_the_reloaded_certificate(
    tls_server: tuple[str, ssl.SSLContext, Path], tmp_path: Path
) -> None:
    url, server_ctx, _ = tls_server
    client_cert, client_key = pki.issue_client_cert(CA, "apiserver")
    cfg = ClientConfig(
        server=url, ca_data=CA.cert_pem, client_cert_data=client_cert, client_key_data=client_key
    )

    async def served_serial() -> int:
        import asyncio

        host, port = url.removeprefix("https://").split(":")
        _reader, writer = await asyncio.open_connection(host, int(port), ssl=cfg.ssl_context())
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        writer.close()
        from cryptography import x509

        return x509.load_der_x509_certificate(der).serial_number

    first = await served_serial()
    cert, key = pki.issue_serving_cert(
        CA, common_name="kubelet", dns_names=["localhost"], ip_addresses=["127.0.0.1"]
    )
    server_ctx.load_cert_chain(str(write(tmp_path, "n.crt", cert)), str(write(tmp_path, "n.key", key)))
    second = await served_serial()
    assert first != second and second == cr.serial_of(cert)
