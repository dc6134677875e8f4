"""The cluster's DNS records, kept current from Services, EndpointSlices, Pods and Namespaces.

Why: cluster DNS answers are a pure function of a few API objects (the Kubernetes DNS-Based Service
Discovery specification, schema 1.1.0). Keeping that function here, free of sockets and clients,
lets every naming rule be tested as a table and lets the server answer from memory.

Theory of operation. `RecordIndex` holds, per API object, only the facts DNS needs (a Service's
cluster IPs, ports and ExternalName; each EndpointSlice's endpoints; each Pod's IPs; namespace
names). ``upsert_*``/``delete_*`` replace one object's facts; `lookup` then derives answers on each
query. Names under the cluster domain are answered authoritatively:

  <svc>.<ns>.svc.<zone>                  A/AAAA cluster IPs; headless: ready endpoint IPs;
                                         ExternalName: CNAME
  <host>.<svc>.<ns>.svc.<zone>           headless endpoint by hostname (or its dashed IP)
  _<port>._<proto>.<svc>.<ns>.svc.<zone> SRV per named port (headless: per endpoint)
  <a-b-c-d>.<ns>.pod.<zone>              A for a pod IP (verified: a pod with that IP is in <ns>)
  dns-version.<zone>                     TXT schema version
  <zone>                                 SOA, NS

Invariants:
1. A name that exists with other types (or has names below it) gives NOERROR with no answers
   (NODATA); a name that does not exist gives NXDOMAIN. Both carry the zone's SOA in authority,
   whose minimum (the TTL) bounds negative caching.
2. Names compare case-insensitively; records are owned by lowercase names (the server echoes the
   question's spelling).
3. Reverse names (in-addr.arpa, ip6.arpa) are answered only for IPs the index knows; `lookup`
   returns None for every name that is not the index's to answer, and the server forwards it.
4. `generation` grows on every change, so callers may cache answers per generation.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

NOERROR = 0
SERVFAIL = 2
NXDOMAIN = 3

DEFAULT_ZONE = "cluster.local"
DEFAULT_TTL = 5  # CoreDNS kubernetes plugin's default
SCHEMA_VERSION = "1.1.0"
# SOA timers (refresh, retry, expire) as CoreDNS writes them; minimum is the records' TTL.
SOA_TIMERS = (7200, 1800, 86400)
TOLERATE_UNREADY = "service.alpha.kubernetes.io/tolerate-unready-endpoints"

PodMode = Literal["verified", "insecure", "disabled"]


@dataclass(frozen=True, slots=True)
class SRV:
    priority: int
    weight: int
    port: int
    target: str


@dataclass(frozen=True, slots=True)
class SOA:
    mname: str
    rname: str
    serial: int
    refresh: int
    retry: int
    expire: int
    minimum: int


RecordData = str | SRV | SOA


@dataclass(frozen=True, slots=True)
class Record:
    """One resource record. `data` is an address, a target name, a TXT string, an SRV or an SOA."""

    name: str
    rtype: str  # "A", "AAAA", "CNAME", "PTR", "SRV", "TXT", "SOA", "NS"
    ttl: int
    data: RecordData


@dataclass(frozen=True, slots=True)
class Answer:
    rcode: int
    answers: tuple[Record, ...] = ()
    authority: tuple[Record, ...] = ()
    additional: tuple[Record, ...] = ()


@dataclass(frozen=True, slots=True)
class PortInfo:
    name: str
    protocol: str  # lowercase: "tcp", "udp", "sctp"
    port: int


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    cluster_ips: tuple[str, ...]  # empty for headless and ExternalName
    headless: bool
    external_name: str
    ports: tuple[PortInfo, ...]
    publish_not_ready: bool


@dataclass(frozen=True, slots=True)
class EndpointInfo:
    addresses: tuple[str, ...]
    hostname: str
    ready: bool


@dataclass(frozen=True, slots=True)
class SliceInfo:
    service: str
    endpoints: tuple[EndpointInfo, ...]
    ports: tuple[PortInfo, ...]


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta: Mapping[str, Any] = obj.get("metadata") or {}
    return meta


def service_info(svc: Mapping[str, Any]) -> ServiceInfo:
    spec: Mapping[str, Any] = svc.get("spec") or {}
    annotations = _meta(svc).get("annotations") or {}
    external = str(spec.get("externalName") or "").rstrip(".").lower() if spec.get("type") == "ExternalName" else ""
    ips = [str(ip) for ip in (spec.get("clusterIPs") or [spec.get("clusterIP")]) if ip]
    headless = not external and (not ips or ips[0] == "None")
    ports = tuple(PortInfo(str(p.get("name") or "").lower(), str(p.get("protocol") or "TCP").lower(),
                           int(p.get("port") or 0)) for p in spec.get("ports") or [])
    return ServiceInfo(cluster_ips=() if headless or external else tuple(ips), headless=headless,
                       external_name=external, ports=ports,
                       publish_not_ready=bool(spec.get("publishNotReadyAddresses"))
                       or str(annotations.get(TOLERATE_UNREADY, "")).lower() == "true")


def slice_info(eps: Mapping[str, Any]) -> SliceInfo | None:
    """The slice's endpoints, or None when it belongs to no Service (no service-name label)."""
    service = (_meta(eps).get("labels") or {}).get("kubernetes.io/service-name")
    if not service:
        return None
    endpoints = []
    for ep in eps.get("endpoints") or []:
        ready = (ep.get("conditions") or {}).get("ready")
        endpoints.append(EndpointInfo(addresses=tuple(str(a) for a in ep.get("addresses") or []),
                                      hostname=str(ep.get("hostname") or "").lower(),
                                      ready=ready is None or bool(ready)))  # unknown counts as ready
    ports = tuple(PortInfo(str(p.get("name") or "").lower(), str(p.get("protocol") or "TCP").lower(),
                           int(p.get("port") or 0)) for p in eps.get("ports") or [] if p.get("port"))
    return SliceInfo(service=str(service), endpoints=tuple(endpoints), ports=ports)


def pod_ips(pod: Mapping[str, Any]) -> tuple[str, ...]:
    status: Mapping[str, Any] = pod.get("status") or {}
    ips = [str(p.get("ip")) for p in status.get("podIPs") or [] if p.get("ip")]
    if not ips and status.get("podIP"):
        ips = [str(status["podIP"])]
    return tuple(ips)


def dashed(ip: str) -> str:
    """10.42.0.5 -> 10-42-0-5; 2001:db8::1 -> 2001-db8--1 (the form pod and endpoint names use)."""
    return ip.replace(".", "-").replace(":", "-")


def undashed(label: str) -> str | None:
    """The IP a dashed label spells, or None."""
    for candidate in (label.replace("-", "."), label.replace("-", ":")):
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


def reverse_ip(qname: str) -> str | None:
    """The IP named by 4.3.2.1.in-addr.arpa or the 32-nibble ip6.arpa form, else None."""
    if qname.endswith(".in-addr.arpa"):
        parts = qname[: -len(".in-addr.arpa")].split(".")
        if len(parts) != 4:
            return None
        text = ".".join(reversed(parts))
    elif qname.endswith(".ip6.arpa"):
        nibbles = qname[: -len(".ip6.arpa")].split(".")
        if len(nibbles) != 32:
            return None
        digits = "".join(reversed(nibbles))
        text = ":".join(digits[i:i + 4] for i in range(0, 32, 4))
    else:
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _family(ip: str) -> str:
    return "AAAA" if ":" in ip else "A"


@dataclass
class RecordIndex:
    zone: str = DEFAULT_ZONE
    ttl: int = DEFAULT_TTL
    pod_mode: PodMode = "verified"
    dns_ip: str = ""  # the kube-dns Service IP, given to ns.dns.<zone>
    serial: int = 1
    generation: int = 0
    _services: dict[tuple[str, str], ServiceInfo] = field(default_factory=dict)
    _slices: dict[tuple[str, str], SliceInfo] = field(default_factory=dict)  # (ns, slice name)
    _slices_by_service: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    _pods: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    _pod_ips: dict[tuple[str, str], int] = field(default_factory=dict)  # (ns, ip) -> pod count
    _namespaces: set[str] = field(default_factory=set)
    _ptr: dict[str, dict[tuple[str, str, str], tuple[str, ...]]] = field(default_factory=dict)
    _ptr_sources: dict[tuple[str, str, str], set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.zone = self.zone.strip(".").lower()

    # --- keeping current --------------------------------------------------------------------------
    def _changed(self) -> None:
        self.generation += 1
        self.serial += 1

    def upsert_namespace(self, ns: Mapping[str, Any]) -> None:
        self._namespaces.add(str(_meta(ns).get("name") or ""))
        self._changed()

    def delete_namespace(self, name: str) -> None:
        self._namespaces.discard(name)
        self._changed()

    def upsert_service(self, svc: Mapping[str, Any]) -> None:
        ns, name = str(_meta(svc).get("namespace") or "default"), str(_meta(svc).get("name") or "")
        info = service_info(svc)
        self._services[(ns, name)] = info
        fqdn = f"{name}.{ns}.svc.{self.zone}"
        self._set_ptr(("svc", ns, name), {ip: (fqdn,) for ip in info.cluster_ips})
        self._refresh_endpoint_ptr(ns, name)
        self._changed()

    def delete_service(self, namespace: str, name: str) -> None:
        self._services.pop((namespace, name), None)
        self._set_ptr(("svc", namespace, name), {})
        self._refresh_endpoint_ptr(namespace, name)
        self._changed()

    def upsert_endpointslice(self, eps: Mapping[str, Any]) -> None:
        ns, name = str(_meta(eps).get("namespace") or "default"), str(_meta(eps).get("name") or "")
        info = slice_info(eps)
        old = self._slices.get((ns, name))
        if old is not None and (info is None or old.service != info.service):
            self._unlink_slice(ns, name, old.service)
        if info is None:
            self._slices.pop((ns, name), None)
        else:
            self._slices[(ns, name)] = info
            self._slices_by_service.setdefault((ns, info.service), set()).add(name)
            self._refresh_endpoint_ptr(ns, info.service)
        self._changed()

    def delete_endpointslice(self, namespace: str, name: str) -> None:
        old = self._slices.pop((namespace, name), None)
        if old is not None:
            self._unlink_slice(namespace, name, old.service)
        self._changed()

    def _unlink_slice(self, ns: str, name: str, service: str) -> None:
        names = self._slices_by_service.get((ns, service))
        if names is not None:
            names.discard(name)
            if not names:
                del self._slices_by_service[(ns, service)]
        self._slices.pop((ns, name), None)
        self._refresh_endpoint_ptr(ns, service)

    def upsert_pod(self, pod: Mapping[str, Any]) -> None:
        ns, name = str(_meta(pod).get("namespace") or "default"), str(_meta(pod).get("name") or "")
        self._drop_pod(ns, name)
        ips = pod_ips(pod)
        if ips:
            self._pods[(ns, name)] = ips
            for ip in ips:
                self._pod_ips[(ns, ip)] = self._pod_ips.get((ns, ip), 0) + 1
        self._changed()

    def delete_pod(self, namespace: str, name: str) -> None:
        self._drop_pod(namespace, name)
        self._changed()

    def _drop_pod(self, ns: str, name: str) -> None:
        for ip in self._pods.pop((ns, name), ()):
            left = self._pod_ips.get((ns, ip), 0) - 1
            if left > 0:
                self._pod_ips[(ns, ip)] = left
            else:
                self._pod_ips.pop((ns, ip), None)

    def _set_ptr(self, source: tuple[str, str, str], names_by_ip: Mapping[str, tuple[str, ...]]) -> None:
        for ip in self._ptr_sources.pop(source, set()) - set(names_by_ip):
            by_source = self._ptr.get(ip, {})
            by_source.pop(source, None)
            if not by_source:
                self._ptr.pop(ip, None)
        for ip, names in names_by_ip.items():
            self._ptr.setdefault(ip, {})[source] = names
        if names_by_ip:
            self._ptr_sources[source] = set(names_by_ip)

    def _refresh_endpoint_ptr(self, ns: str, service: str) -> None:
        """PTR records for headless endpoints that carry a hostname (StatefulSet pods)."""
        names: dict[str, list[str]] = {}
        svc = self._services.get((ns, service))
        if svc is not None and svc.headless:
            for ep in self._endpoints(ns, service, svc):
                if ep.hostname:
                    for ip in ep.addresses:
                        names.setdefault(ip, []).append(f"{ep.hostname}.{service}.{ns}.svc.{self.zone}")
        self._set_ptr(("eps", ns, service), {ip: tuple(n) for ip, n in names.items()})

    # --- facts ------------------------------------------------------------------------------------
    def _endpoints(self, ns: str, service: str, svc: ServiceInfo) -> list[EndpointInfo]:
        out: list[EndpointInfo] = []
        seen: set[tuple[str, ...]] = set()
        for slice_name in sorted(self._slices_by_service.get((ns, service), ())):
            for ep in self._slices[(ns, slice_name)].endpoints:
                if (ep.ready or svc.publish_not_ready) and ep.addresses and ep.addresses not in seen:
                    seen.add(ep.addresses)
                    out.append(ep)
        return out

    def _endpoint_ports(self, ns: str, service: str) -> list[PortInfo]:
        out: list[PortInfo] = []
        for slice_name in sorted(self._slices_by_service.get((ns, service), ())):
            out += [p for p in self._slices[(ns, slice_name)].ports if p not in out]
        return out

    def _namespace_exists(self, ns: str) -> bool:
        return ns in self._namespaces or any(k[0] == ns for k in self._services)

    # --- answering --------------------------------------------------------------------------------
    def soa(self) -> Record:
        return Record(self.zone, "SOA", self.ttl, SOA(f"ns.dns.{self.zone}", f"hostmaster.{self.zone}",
                                                      self.serial, *SOA_TIMERS, self.ttl))

    def _answer(self, qname: str, qtype: str, records: Iterable[Record], *,
                additional: Iterable[Record] = ()) -> Answer:
        """NOERROR with the records of the asked type (CNAME answers every type); NODATA if none."""
        matching = tuple(r for r in records if qtype in (r.rtype, "ANY") or r.rtype == "CNAME")
        if not matching:
            return Answer(NOERROR, authority=(self.soa(),))
        return Answer(NOERROR, matching, additional=tuple(additional))

    def _nxdomain(self) -> Answer:
        return Answer(NXDOMAIN, authority=(self.soa(),))

    def _nodata(self) -> Answer:
        return Answer(NOERROR, authority=(self.soa(),))

    def lookup(self, qname: str, qtype: str) -> Answer | None:
        """The answer to (qname, qtype), or None when the name is not the cluster's (forward it)."""
        name = qname.rstrip(".").lower()
        qtype = qtype.upper()
        if name.endswith(".in-addr.arpa") or name.endswith(".ip6.arpa"):
            return self._reverse(name, qtype)
        if name == self.zone:
            return self._answer(name, qtype, [self.soa(), Record(name, "NS", self.ttl, f"ns.dns.{self.zone}")])
        if not name.endswith("." + self.zone):
            return None
        labels = name[: -len(self.zone) - 1].split(".")
        top = labels[-1]
        if top == "svc":
            return self._svc(name, qtype, labels[:-1])
        if top == "pod":
            return self._pod(name, qtype, labels[:-1])
        if name == f"dns-version.{self.zone}":
            return self._answer(name, qtype, [Record(name, "TXT", self.ttl, SCHEMA_VERSION)])
        if name == f"ns.dns.{self.zone}" and self.dns_ip:
            return self._answer(name, qtype, [Record(name, _family(self.dns_ip), self.ttl, self.dns_ip)])
        if name == f"dns.{self.zone}" and self.dns_ip:
            return self._nodata()  # has ns.dns below it
        return self._nxdomain()

    def _svc(self, name: str, qtype: str, labels: list[str]) -> Answer:
        if not labels:
            return self._nodata()
        ns = labels[-1]
        if len(labels) == 1:
            return self._nodata() if self._namespace_exists(ns) else self._nxdomain()
        service = labels[-2]
        svc = self._services.get((ns, service))
        if svc is None:
            return self._nxdomain()
        base = f"{service}.{ns}.svc.{self.zone}"
        rest = labels[:-2]
        if svc.external_name:
            if rest:
                return self._nxdomain()
            return self._answer(name, qtype, [Record(name, "CNAME", self.ttl, svc.external_name)])
        endpoints = self._endpoints(ns, service, svc) if svc.headless else []
        if svc.headless and not endpoints:
            return self._nxdomain()  # the specification: a headless Service without ready endpoints
        if not rest:
            ips = [ip for ep in endpoints for ip in ep.addresses] if svc.headless else list(svc.cluster_ips)
            return self._answer(name, qtype, [Record(name, _family(ip), self.ttl, ip) for ip in ips])
        if len(rest) == 1 and not rest[0].startswith("_"):
            host = rest[0]
            ips = [ip for ep in endpoints for ip in ep.addresses if _endpoint_name(ep) == host]
            if not ips:
                return self._nxdomain()
            return self._answer(name, qtype, [Record(name, _family(ip), self.ttl, ip) for ip in ips])
        ports = self._endpoint_ports(ns, service) if svc.headless else list(svc.ports)
        ports = [p for p in ports if p.name]
        if len(rest) == 1:  # _<proto>: an empty non-terminal when some named port uses it
            exists = any(rest[0] == f"_{p.protocol}" for p in ports)
            return self._nodata() if exists else self._nxdomain()
        if len(rest) != 2 or not rest[0].startswith("_") or not rest[1].startswith("_"):
            return self._nxdomain()
        port_name, proto = rest[0][1:], rest[1][1:]
        chosen = [p for p in ports if p.name == port_name and p.protocol == proto]
        if not chosen:
            return self._nxdomain()
        records: list[Record] = []
        extra: list[Record] = []
        if svc.headless:
            weight = 100 // len(endpoints)
            for ep in endpoints:
                target = f"{_endpoint_name(ep)}.{base}"
                records += [Record(name, "SRV", self.ttl, SRV(0, weight, p.port, target)) for p in chosen]
                extra += [Record(target, _family(ip), self.ttl, ip) for ip in ep.addresses]
        else:
            records = [Record(name, "SRV", self.ttl, SRV(0, 100, p.port, base)) for p in chosen]
            extra = [Record(base, _family(ip), self.ttl, ip) for ip in svc.cluster_ips]
        return self._answer(name, qtype, records, additional=extra if qtype in ("SRV", "ANY") else ())

    def _pod(self, name: str, qtype: str, labels: list[str]) -> Answer:
        if self.pod_mode == "disabled":
            return self._nxdomain()
        if not labels:
            return self._nodata()
        ns = labels[-1]
        if len(labels) == 1:
            return self._nodata() if self._namespace_exists(ns) else self._nxdomain()
        if len(labels) != 2:
            return self._nxdomain()
        ip = undashed(labels[0])
        if ip is None:
            return self._nxdomain()
        if self.pod_mode == "verified" and (ns, ip) not in self._pod_ips:
            return self._nxdomain()
        return self._answer(name, qtype, [Record(name, _family(ip), self.ttl, ip)])

    def _reverse(self, name: str, qtype: str) -> Answer | None:
        ip = reverse_ip(name)
        if ip is None or ip not in self._ptr or qtype not in ("PTR", "ANY"):
            return None
        targets = sorted({t for names in self._ptr[ip].values() for t in names})
        return Answer(NOERROR, tuple(Record(name, "PTR", self.ttl, t) for t in targets))


def _endpoint_name(ep: EndpointInfo) -> str:
    """An endpoint's name under its headless Service: its hostname, else its first IP dashed."""
    return ep.hostname or dashed(ep.addresses[0])
