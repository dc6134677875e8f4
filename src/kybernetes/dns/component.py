"""Cluster DNS as a `kyb server` component: the index fed by informers, the server, and kube-dns.

Why: pods resolve through the kube-dns Service IP (10.43.0.10) written into their resolv.conf.
This component keeps a `RecordIndex` current from Services, EndpointSlices, Pods and Namespaces,
serves it on the node's address (port 53), and publishes where it listens the same way any
workload would: a selector-less `kube-dns` Service in kube-system with that fixed ClusterIP, and an
EndpointSlice (managed by ``kybernetes-dns``) pointing at this server, so the proxy's ordinary
Service rules carry 10.43.0.10:53 to it.

Settings come from the environment (defaults in brackets):
  KYB_DNS_LISTEN     host:port the server binds                [<node address>:53]
  KYB_DNS_ADVERTISE  address put in the EndpointSlice          [the listen host; the node address for 0.0.0.0]
  KYB_DNS_HTTP       host:port for /health and /metrics        [<listen host>:9153]
  KYB_DNS_UPSTREAMS  comma-separated resolvers                 [/etc/resolv.conf nameservers]
  KYB_DNS_SERVICE_IP the kube-dns ClusterIP                    [10.43.0.10]
  KYB_DNS_DOMAIN     the cluster domain                        [cluster.local]
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kybernetes.client import APIClient, SharedInformerFactory
from kybernetes.client.config import load_kubeconfig
from kybernetes.client.errors import APIError, is_already_exists, is_not_found
from kybernetes.client.rest import resource
from kybernetes.dns.records import RecordIndex
from kybernetes.dns.server import DNSServer, default_upstreams
from kybernetes.util.listen import HostPort, parse_hostport, primary_address

log = logging.getLogger("kyb.dns")

SERVICE_NAME = "kube-dns"
NAMESPACE = "kube-system"
MANAGED_BY = "kybernetes-dns"
DEFAULT_SERVICE_IP = "10.43.0.10"
METRICS_PORT = 9153
RECONCILE_EVERY = 30.0

SERVICES = resource("v1", "services")
ENDPOINTSLICES = resource("discovery.k8s.io/v1", "endpointslices")
PODS = resource("v1", "pods")
NAMESPACES = resource("v1", "namespaces")


@dataclass(frozen=True, slots=True)
class DNSSettings:
    listen: HostPort
    advertise: str
    http_listen: HostPort
    upstreams: list[str]
    service_ip: str = DEFAULT_SERVICE_IP
    domain: str = "cluster.local"
    slice_name: str = "kube-dns-kybernetes"


def settings_from_env(env: Mapping[str, str], *, node_address: str, resolv_upstreams: list[str]) -> DNSSettings:
    listen = parse_hostport(env["KYB_DNS_LISTEN"], default_port=53) if env.get("KYB_DNS_LISTEN") else (node_address, 53)
    advertise = env.get("KYB_DNS_ADVERTISE") or (node_address if listen[0] in ("0.0.0.0", "::", "") else listen[0])
    http = parse_hostport(env["KYB_DNS_HTTP"], default_port=METRICS_PORT) if env.get("KYB_DNS_HTTP") else (listen[0], METRICS_PORT)
    upstreams = [u.strip() for u in env["KYB_DNS_UPSTREAMS"].split(",") if u.strip()] \
        if env.get("KYB_DNS_UPSTREAMS") else resolv_upstreams
    # never forward to ourselves: a node whose resolv.conf names its own DNS address would loop
    own = {(host, listen[1]) for host in (listen[0], advertise)}
    upstreams = [u for u in upstreams if parse_hostport(u, default_port=53) not in own]
    return DNSSettings(listen=listen, advertise=advertise, http_listen=http, upstreams=upstreams,
                       service_ip=env.get("KYB_DNS_SERVICE_IP") or DEFAULT_SERVICE_IP,
                       domain=env.get("KYB_DNS_DOMAIN") or "cluster.local",
                       slice_name=f"kube-dns-{socket.gethostname().lower()}"[:63].rstrip("-."))


def kube_dns_service(service_ip: str) -> dict[str, Any]:
    """The selector-less kube-dns Service: its endpoints are ours, not chosen from pods."""
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": SERVICE_NAME, "namespace": NAMESPACE,
                     "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "KubeDNS",
                                "kubernetes.io/cluster-service": "true", "app.kubernetes.io/managed-by": MANAGED_BY}},
        "spec": {"type": "ClusterIP", "clusterIP": service_ip, "clusterIPs": [service_ip],
                 "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                           {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                           {"name": "metrics", "port": METRICS_PORT, "protocol": "TCP", "targetPort": METRICS_PORT}]},
    }


def kube_dns_endpointslice(s: DNSSettings, *, service_uid: str = "") -> dict[str, Any]:
    """Where this server answers: its advertised address with the real listen and HTTP ports."""
    family = "IPv6" if ":" in s.advertise else "IPv4"
    meta: dict[str, Any] = {"name": s.slice_name, "namespace": NAMESPACE,
                            "labels": {"kubernetes.io/service-name": SERVICE_NAME,
                                       "endpointslice.kubernetes.io/managed-by": MANAGED_BY}}
    if service_uid:
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Service", "name": SERVICE_NAME, "uid": service_uid,
                                    "controller": True, "blockOwnerDeletion": True}]
    return {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": meta, "addressType": family,
        "endpoints": [{"addresses": [s.advertise], "conditions": {"ready": True, "serving": True, "terminating": False}}],
        "ports": [{"name": "dns", "port": s.listen[1], "protocol": "UDP"},
                  {"name": "dns-tcp", "port": s.listen[1], "protocol": "TCP"},
                  {"name": "metrics", "port": s.http_listen[1], "protocol": "TCP"}],
    }


def service_drift(current: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any] | None:
    """A merge patch bringing an existing kube-dns Service to our ports and no selector; None if fine."""
    spec = current.get("spec") or {}
    want = desired["spec"]
    patch: dict[str, Any] = {}
    if spec.get("selector"):
        patch["selector"] = None
    have_ports = sorted((p.get("name"), p.get("port"), p.get("protocol")) for p in spec.get("ports") or [])
    if have_ports != sorted((p["name"], p["port"], p["protocol"]) for p in want["ports"]):
        patch["ports"] = want["ports"]
    return {"spec": patch} if patch else None


def slice_drift(current: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    return any(current.get(k) != desired.get(k) for k in ("addressType", "endpoints", "ports")) or \
        (current.get("metadata") or {}).get("labels") != desired["metadata"]["labels"]


async def ensure_kube_dns(client: APIClient, s: DNSSettings) -> None:
    """Create or repair the kube-dns Service and this server's EndpointSlice (idempotent)."""
    desired = kube_dns_service(s.service_ip)
    try:
        svc = await client.get(SERVICES, SERVICE_NAME, namespace=NAMESPACE)
    except APIError as e:
        if not is_not_found(e):
            raise
        try:
            svc = await client.create(SERVICES, desired, namespace=NAMESPACE)
            log.info("created Service %s/%s at %s", NAMESPACE, SERVICE_NAME, s.service_ip)
        except APIError as e2:
            if not is_already_exists(e2):
                raise
            svc = await client.get(SERVICES, SERVICE_NAME, namespace=NAMESPACE)
    if (svc.get("spec") or {}).get("clusterIP") != s.service_ip:
        log.warning("Service %s/%s has clusterIP %s, not %s (it was made by someone else; kept)", NAMESPACE,
                    SERVICE_NAME, (svc.get("spec") or {}).get("clusterIP"), s.service_ip)
    patch = service_drift(svc, desired)
    if patch is not None:
        svc = await client.patch(SERVICES, SERVICE_NAME, patch, namespace=NAMESPACE)
    want = kube_dns_endpointslice(s, service_uid=str((svc.get("metadata") or {}).get("uid") or ""))
    try:
        current = await client.get(ENDPOINTSLICES, s.slice_name, namespace=NAMESPACE)
    except APIError as e:
        if not is_not_found(e):
            raise
        await client.create(ENDPOINTSLICES, want, namespace=NAMESPACE)
        log.info("created EndpointSlice %s/%s -> %s:%s", NAMESPACE, s.slice_name, s.advertise, s.listen[1])
        return
    if slice_drift(current, want):
        want["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        await client.update(ENDPOINTSLICES, want, namespace=NAMESPACE)


def _key(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def wire_index(factory: SharedInformerFactory, index: RecordIndex) -> None:
    """Informer handlers that keep `index` current (handlers only update memory; they never block)."""
    def on(upsert: Any, delete: Any) -> dict[str, Any]:
        return {"on_add": upsert, "on_update": lambda _old, new: upsert(new),
                "on_delete": lambda obj: delete(*_key(obj))}

    factory.informer(SERVICES).add_handlers(**on(index.upsert_service, index.delete_service))
    factory.informer(ENDPOINTSLICES).add_handlers(**on(index.upsert_endpointslice, index.delete_endpointslice))
    factory.informer(PODS).add_handlers(**on(index.upsert_pod, index.delete_pod))
    factory.informer(NAMESPACES).add_handlers(on_add=index.upsert_namespace,
                                              on_update=lambda _o, n: index.upsert_namespace(n),
                                              on_delete=lambda obj: index.delete_namespace(_key(obj)[1]))


async def run(kubeconfig: Path) -> None:
    """The `kyb server` component: serve cluster DNS until cancelled."""
    try:
        s = settings_from_env(os.environ, node_address=primary_address(), resolv_upstreams=default_upstreams())
    except ValueError as e:
        print(f"kyb server: cluster DNS is not started: {e}", flush=True)
        return
    index = RecordIndex(zone=s.domain, dns_ip=s.service_ip)
    server = DNSServer(index, listen=[s.listen], upstreams=s.upstreams, http_listen=s.http_listen)
    try:
        await server.start()
    except OSError as e:
        print(f"kyb server: cluster DNS is not started: cannot listen on {s.listen[0]}:{s.listen[1]} ({e}); "
              "set KYB_DNS_LISTEN=host:port or use --disable dns", flush=True)
        return
    client = APIClient(load_kubeconfig(kubeconfig), user_agent="kybernetes-dns")
    factory = SharedInformerFactory(client)
    try:
        wire_index(factory, index)
        factory.start()
        await factory.wait_for_cache_sync()
        log.info("cluster DNS serving %s on %s:%s (upstreams %s)", s.domain, *s.listen, ", ".join(s.upstreams) or "none")
        while True:
            try:
                await ensure_kube_dns(client, s)
                pause = RECONCILE_EVERY
            except (APIError, OSError, TimeoutError) as e:
                log.warning("kube-dns Service/EndpointSlice not in place yet: %s", e)
                pause = 2.0
            await asyncio.sleep(pause)
    finally:
        with contextlib.suppress(Exception):
            await factory.shutdown()
        await client.close()
        await server.stop()
