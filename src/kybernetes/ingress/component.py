"""The Ingress controller as a `kyb server` component: informers -> route table -> proxy, and status.

Why: the API serves Ingress and IngressClass, but something must route traffic. Like the
controller k3s bundles, this one runs beside the API server, serves the IngressClass whose
`spec.controller` is `kybernetes.io/ingress` (creating a default class `kybernetes` at start if it
is missing), and listens on the host for HTTP and HTTPS. Every change to IngressClasses, Ingresses,
Services, EndpointSlices or TLS Secrets marks the table stale; one loop rebuilds it (a pure function
of the caches), hands it to the proxy, reloads certificates and publishes the host's address in
`status.loadBalancer.ingress` of each handled Ingress (only when it differs).

Settings come from the environment (defaults in brackets):
  KYB_INGRESS_HTTP     host:port of the HTTP listener, or "off"     [0.0.0.0:80]
  KYB_INGRESS_HTTPS    host:port of the HTTPS listener, or "off"    [0.0.0.0:443]
(listen knobs are read by kybernetes.util.listen, as every component's are; docs/server.md)
  KYB_INGRESS_ADDRESS  comma-separated addresses put into status    [the host's primary address]
  KYB_INGRESS_CLASS    the IngressClass created at start            [kybernetes]
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kybernetes.client import APIClient, SharedInformerFactory
from kybernetes.client.config import load_kubeconfig
from kybernetes.client.errors import APIError, is_already_exists, is_not_found
from kybernetes.client.rest import resource
from kybernetes.ingress.proxy import HostPort, IngressProxy
from kybernetes.ingress.routes import (
    CONTROLLER_NAME,
    DEFAULT_CLASS_ANNOTATION,
    build_table,
    handled_ingresses,
)
from kybernetes.ingress.tls import CertificateStore, tls_entries
from kybernetes.util.listen import parse_listen, primary_address

log = logging.getLogger("kyb.ingress")

INGRESSES = resource("networking.k8s.io/v1", "ingresses")
INGRESSCLASSES = resource("networking.k8s.io/v1", "ingressclasses")
SERVICES = resource("v1", "services")
ENDPOINTSLICES = resource("discovery.k8s.io/v1", "endpointslices")
SECRETS = resource("v1", "secrets")
TLS_SECRETS = "type=kubernetes.io/tls"
DEBOUNCE = 0.05


@dataclass(frozen=True, slots=True)
class IngressSettings:
    http_listen: HostPort | None
    https_listen: HostPort | None
    addresses: tuple[str, ...]
    class_name: str = "kybernetes"


def settings_from_env(env: Mapping[str, str], *, host_address: str) -> IngressSettings:
    addresses = tuple(
        a.strip() for a in (env.get("KYB_INGRESS_ADDRESS") or host_address).split(",") if a.strip()
    )
    return IngressSettings(
        http_listen=parse_listen(
            "KYB_INGRESS_HTTP", env.get("KYB_INGRESS_HTTP") or ":80", default_host="0.0.0.0", default_port=80
        ),
        https_listen=parse_listen(
            "KYB_INGRESS_HTTPS",
            env.get("KYB_INGRESS_HTTPS") or ":443",
            default_host="0.0.0.0",
            default_port=443,
        ),
        addresses=addresses,
        class_name=env.get("KYB_INGRESS_CLASS") or "kybernetes",
    )


def default_class(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {
            "name": name,
            "annotations": {DEFAULT_CLASS_ANNOTATION: "true"},
            "labels": {"app.kubernetes.io/managed-by": "kybernetes-ingress"},
        },
        "spec": {"controller": CONTROLLER_NAME},
    }


def status_patch(ingress: Mapping[str, Any], addresses: tuple[str, ...]) -> dict[str, Any] | None:
    """The status merge patch that publishes `addresses`, or None when they are there already."""
    want = [{"ip": a} if _is_ip(a) else {"hostname": a} for a in addresses]
    have = (((ingress.get("status") or {}).get("loadBalancer") or {}).get("ingress")) or []
    if have == want:
        return None
    return {"status": {"loadBalancer": {"ingress": want}}}


def _is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class IngressController:
    """Keeps the proxy's table and certificates current and the handled Ingresses' status."""

    def __init__(
        self,
        client: APIClient,
        factory: SharedInformerFactory,
        proxy: IngressProxy,
        certs: CertificateStore,
        settings: IngressSettings,
    ) -> None:
        self.client = client
        self.proxy = proxy
        self.certs = certs
        self.settings = settings
        self._stale = asyncio.Event()
        self.ingresses = factory.informer(INGRESSES)
        self.classes = factory.informer(INGRESSCLASSES)
        self.services = factory.informer(SERVICES)
        self.slices = factory.informer(ENDPOINTSLICES)
        self.secrets = factory.informer(SECRETS, field_selector=TLS_SECRETS)
        for inf in (self.ingresses, self.classes, self.services, self.slices, self.secrets):
            inf.add_handlers(
                on_add=self.mark_stale,
                on_update=lambda _old, new: self.mark_stale(new),
                on_delete=self.mark_stale,
            )

    def mark_stale(self, _obj: Any = None) -> None:
        self._stale.set()

    def rebuild(self) -> list[Mapping[str, Any]]:
        """Swap in a table and certificates built from the caches; returns the handled Ingresses."""
        ingresses, classes = self.ingresses.store.list(), self.classes.store.list()
        table = build_table(
            ingresses=ingresses,
            classes=classes,
            services=self.services.store.list(),
            endpointslices=self.slices.store.list(),
        )
        self.proxy.set_table(table)
        handled = handled_ingresses(ingresses, classes)
        secrets = {
            f"{s['metadata'].get('namespace')}/{s['metadata']['name']}": s for s in self.secrets.store.list()
        }
        self.certs.update(tls_entries(handled), secrets)
        return handled

    async def publish_status(self, handled: list[Mapping[str, Any]]) -> bool:
        """Write status where it differs; False if some write failed (try again later)."""
        ok = True
        for ing in handled:
            patch = status_patch(ing, self.settings.addresses)
            if patch is None:
                continue
            meta = ing["metadata"]
            try:
                await self.client.patch(
                    INGRESSES, meta["name"], patch, namespace=meta.get("namespace", ""), subresource="status"
                )
            except APIError as e:
                if not is_not_found(e):
                    log.warning(
                        "ingress %s/%s: status not updated: %s", meta.get("namespace"), meta["name"], e
                    )
                    ok = False
            except (OSError, TimeoutError) as e:
                log.warning("ingress status not updated: %s", e)
                ok = False
        return ok

    async def ensure_class(self) -> None:
        try:
            await self.client.get(INGRESSCLASSES, self.settings.class_name)
        except APIError as e:
            if not is_not_found(e):
                raise
            try:
                await self.client.create(INGRESSCLASSES, default_class(self.settings.class_name))
                log.info("created the default IngressClass %s", self.settings.class_name)
            except APIError as e2:
                if not is_already_exists(e2):
                    raise

    async def run(self) -> None:
        while True:
            await self._stale.wait()
            await asyncio.sleep(DEBOUNCE)  # let a burst of events land in one rebuild
            self._stale.clear()
            try:
                handled = self.rebuild()
            except Exception:  # an object we cannot read must not stop routing: keep the last table
                log.exception("ingress: route table not rebuilt")
                continue
            if not await self.publish_status(handled):
                await asyncio.sleep(2.0)
                self._stale.set()


async def run(kubeconfig: Path) -> None:
    """The `kyb server` component: route Ingress traffic until cancelled."""
    try:
        settings = settings_from_env(os.environ, host_address=primary_address())
    except ValueError as e:
        print(f"kyb server: the ingress controller is not started: {e}", flush=True)
        return
    proxy = IngressProxy()
    certs = CertificateStore()
    try:
        if settings.http_listen is not None:
            await proxy.listen(settings.http_listen)
        if settings.https_listen is not None:
            await proxy.listen(settings.https_listen, ssl_context=certs.default)
    except OSError as e:
        await proxy.close()
        print(
            f"kyb server: the ingress controller is not started: cannot listen ({e}); "
            "set KYB_INGRESS_HTTP/KYB_INGRESS_HTTPS=host:port or use --disable ingress",
            flush=True,
        )
        return
    client = APIClient(load_kubeconfig(kubeconfig), user_agent="kybernetes-ingress")
    factory = SharedInformerFactory(client)
    try:
        controller = IngressController(client, factory, proxy, certs, settings)
        factory.start()
        while True:
            try:
                await controller.ensure_class()
                break
            except (APIError, OSError, TimeoutError) as e:
                log.warning("IngressClass %s not in place yet: %s", settings.class_name, e)
                await asyncio.sleep(2.0)
        await factory.wait_for_cache_sync()
        log.info("ingress controller serving http %s, https %s", settings.http_listen, settings.https_listen)
        controller.mark_stale()
        await controller.run()
    finally:
        with contextlib.suppress(Exception):
            await factory.shutdown()
        await client.close()
        await proxy.close()
