"""RecordIndex.lookup: every record kind of the cluster DNS specification and the NXDOMAIN/NODATA rules."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.dns.records import NOERROR, NXDOMAIN, SRV, RecordIndex, reverse_ip, undashed

Z = "cluster.local"


def svc(name: str, ns: str = "default", *, ip: str | None = "10.43.0.20", ports: list[dict[str, Any]] | None = None,
        external: str = "", publish_not_ready: bool = False, ips: list[str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"ports": ports or [], "publishNotReadyAddresses": publish_not_ready}
    if external:
        spec.update(type="ExternalName", externalName=external)
    else:
        spec.update(type="ClusterIP", clusterIP=ip or "None", clusterIPs=ips or [ip or "None"])
    return {"metadata": {"name": name, "namespace": ns}, "spec": spec}


def eps(name: str, service: str, endpoints: list[tuple[str, str, bool | None]], ns: str = "default",
        ports: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns, "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [ip], **({"hostname": host} if host else {}),
                           "conditions": {} if ready is None else {"ready": ready}} for ip, host, ready in endpoints],
            "ports": ports or []}


def pod(name: str, ip: str, ns: str = "default") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns}, "status": {"podIP": ip, "podIPs": [{"ip": ip}]}}


def build() -> RecordIndex:
    index = RecordIndex(zone=Z, dns_ip="10.43.0.10")
    for ns in ("default", "kube-system", "empty"):
        index.upsert_namespace({"metadata": {"name": ns}})
    index.upsert_service(svc("web", ports=[{"name": "http", "port": 80, "protocol": "TCP"},
                                           {"port": 81, "protocol": "TCP"},
                                           {"name": "dns", "port": 53, "protocol": "UDP"}]))
    index.upsert_service(svc("dual", ip="10.43.0.21", ips=["10.43.0.21", "fd00::21"]))
    index.upsert_service(svc("db", ip=None, ports=[{"name": "pg", "port": 5432, "protocol": "TCP"}]))
    index.upsert_endpointslice(eps("db-abc", "db", [("10.42.0.5", "db-0", True), ("10.42.0.6", "db-1", True),
                                                    ("10.42.0.7", "", None), ("10.42.0.8", "db-3", False)],
                                   ports=[{"name": "pg", "port": 15432, "protocol": "TCP"}]))
    index.upsert_service(svc("lonely", ip=None))
    index.upsert_service(svc("ext", external="www.example.com."))
    index.upsert_pod(pod("p1", "10.42.0.9"))
    return index


ROWS: list[tuple[str, str, str, int, list[tuple[str, str, Any]]]] = [
    # id, qname, qtype, rcode, [(owner, type, data)]
    ("service-A", "web.default.svc.cluster.local", "A", NOERROR, [("web.default.svc.cluster.local", "A", "10.43.0.20")]),
    ("service-A-any-case", "WEB.Default.SVC.cluster.LOCAL.", "A", NOERROR,
     [("web.default.svc.cluster.local", "A", "10.43.0.20")]),
    ("service-AAAA-of-v4-only-is-nodata", "web.default.svc.cluster.local", "AAAA", NOERROR, []),
    ("service-TXT-is-nodata", "web.default.svc.cluster.local", "TXT", NOERROR, []),
    ("dual-stack-AAAA", "dual.default.svc.cluster.local", "AAAA", NOERROR,
     [("dual.default.svc.cluster.local", "AAAA", "fd00::21")]),
    ("missing-service-nxdomain", "nope.default.svc.cluster.local", "A", NXDOMAIN, []),
    ("missing-namespace-nxdomain", "web.nowhere.svc.cluster.local", "A", NXDOMAIN, []),
    ("namespace-name-nodata", "empty.svc.cluster.local", "A", NOERROR, []),
    ("unknown-namespace-name-nxdomain", "nowhere.svc.cluster.local", "A", NXDOMAIN, []),
    ("svc-label-nodata", "svc.cluster.local", "A", NOERROR, []),
    ("srv-named-port", "_http._tcp.web.default.svc.cluster.local", "SRV", NOERROR,
     [("_http._tcp.web.default.svc.cluster.local", "SRV", SRV(0, 100, 80, "web.default.svc.cluster.local"))]),
    ("srv-udp-port", "_dns._udp.web.default.svc.cluster.local", "SRV", NOERROR,
     [("_dns._udp.web.default.svc.cluster.local", "SRV", SRV(0, 100, 53, "web.default.svc.cluster.local"))]),
    ("srv-wrong-proto-nxdomain", "_http._udp.web.default.svc.cluster.local", "SRV", NXDOMAIN, []),
    ("srv-unknown-port-nxdomain", "_grpc._tcp.web.default.svc.cluster.local", "SRV", NXDOMAIN, []),
    ("srv-name-asked-for-A-is-nodata", "_http._tcp.web.default.svc.cluster.local", "A", NOERROR, []),
    ("proto-label-is-empty-nonterminal", "_tcp.web.default.svc.cluster.local", "SRV", NOERROR, []),
    ("proto-label-without-ports-nxdomain", "_sctp.web.default.svc.cluster.local", "SRV", NXDOMAIN, []),
    ("headless-ready-endpoints", "db.default.svc.cluster.local", "A", NOERROR,
     [("db.default.svc.cluster.local", "A", "10.42.0.5"), ("db.default.svc.cluster.local", "A", "10.42.0.6"),
      ("db.default.svc.cluster.local", "A", "10.42.0.7")]),
    ("headless-hostname", "db-1.db.default.svc.cluster.local", "A", NOERROR,
     [("db-1.db.default.svc.cluster.local", "A", "10.42.0.6")]),
    ("headless-dashed-ip-name", "10-42-0-7.db.default.svc.cluster.local", "A", NOERROR,
     [("10-42-0-7.db.default.svc.cluster.local", "A", "10.42.0.7")]),
    ("headless-not-ready-hostname-nxdomain", "db-3.db.default.svc.cluster.local", "A", NXDOMAIN, []),
    ("headless-hostname-AAAA-nodata", "db-0.db.default.svc.cluster.local", "AAAA", NOERROR, []),
    ("headless-srv-per-endpoint", "_pg._tcp.db.default.svc.cluster.local", "SRV", NOERROR,
     [("_pg._tcp.db.default.svc.cluster.local", "SRV", SRV(0, 33, 15432, "db-0.db.default.svc.cluster.local")),
      ("_pg._tcp.db.default.svc.cluster.local", "SRV", SRV(0, 33, 15432, "db-1.db.default.svc.cluster.local")),
      ("_pg._tcp.db.default.svc.cluster.local", "SRV", SRV(0, 33, 15432, "10-42-0-7.db.default.svc.cluster.local"))]),
    ("headless-without-endpoints-nxdomain", "lonely.default.svc.cluster.local", "A", NXDOMAIN, []),
    ("externalname-cname-for-A", "ext.default.svc.cluster.local", "A", NOERROR,
     [("ext.default.svc.cluster.local", "CNAME", "www.example.com")]),
    ("externalname-cname-for-CNAME", "ext.default.svc.cluster.local", "CNAME", NOERROR,
     [("ext.default.svc.cluster.local", "CNAME", "www.example.com")]),
    ("below-externalname-nxdomain", "x.ext.default.svc.cluster.local", "A", NXDOMAIN, []),
    ("pod-record-verified", "10-42-0-9.default.pod.cluster.local", "A", NOERROR,
     [("10-42-0-9.default.pod.cluster.local", "A", "10.42.0.9")]),
    ("pod-record-other-namespace-nxdomain", "10-42-0-9.kube-system.pod.cluster.local", "A", NXDOMAIN, []),
    ("pod-record-unknown-ip-nxdomain", "10-42-0-99.default.pod.cluster.local", "A", NXDOMAIN, []),
    ("pod-record-garbage-nxdomain", "not-an-ip.default.pod.cluster.local", "A", NXDOMAIN, []),
    ("pod-record-AAAA-nodata", "10-42-0-9.default.pod.cluster.local", "AAAA", NOERROR, []),
    ("pod-label-nodata", "pod.cluster.local", "A", NOERROR, []),
    ("ptr-cluster-ip", "20.0.43.10.in-addr.arpa", "PTR", NOERROR,
     [("20.0.43.10.in-addr.arpa", "PTR", "web.default.svc.cluster.local")]),
    ("ptr-headless-hostname", "5.0.42.10.in-addr.arpa", "PTR", NOERROR,
     [("5.0.42.10.in-addr.arpa", "PTR", "db-0.db.default.svc.cluster.local")]),
    ("dns-version-txt", "dns-version.cluster.local", "TXT", NOERROR, [("dns-version.cluster.local", "TXT", "1.1.0")]),
    ("dns-version-A-nodata", "dns-version.cluster.local", "A", NOERROR, []),
    ("zone-apex-NS", "cluster.local", "NS", NOERROR, [("cluster.local", "NS", "ns.dns.cluster.local")]),
    ("zone-apex-A-nodata", "cluster.local", "A", NOERROR, []),
    ("ns-target-address", "ns.dns.cluster.local", "A", NOERROR, [("ns.dns.cluster.local", "A", "10.43.0.10")]),
    ("unknown-top-label-nxdomain", "foo.cluster.local", "A", NXDOMAIN, []),
    ("too-deep-nxdomain", "a.b._http._tcp.web.default.svc.cluster.local", "A", NXDOMAIN, []),
]


@pytest.mark.parametrize(("qname", "qtype", "rcode", "expected"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_lookup(qname: str, qtype: str, rcode: int, expected: list[tuple[str, str, Any]]) -> None:
    answer = build().lookup(qname, qtype)
    assert answer is not None
    assert answer.rcode == rcode
    assert [(r.name, r.rtype, r.data) for r in answer.answers] == expected
    if not expected:  # negative answers carry the SOA that bounds negative caching
        assert [r.rtype for r in answer.authority] == ["SOA"]
        assert answer.authority[0].data.minimum == 5  # type: ignore[union-attr]
    assert all(r.ttl == 5 for r in answer.answers)


FORWARDED = [
    ("external-name", "www.example.com", "A"),
    ("other-zone", "cluster.local.example.org", "A"),
    ("unknown-ptr", "1.1.168.192.in-addr.arpa", "PTR"),
    ("known-ip-other-type", "20.0.43.10.in-addr.arpa", "A"),
]


@pytest.mark.parametrize(("qname", "qtype"), [r[1:] for r in FORWARDED], ids=[r[0] for r in FORWARDED])
def test_not_ours(qname: str, qtype: str) -> None:
    assert build().lookup(qname, qtype) is None


def test_srv_additional_addresses() -> None:
    answer = build().lookup("_pg._tcp.db.default.svc.cluster.local", "SRV")
    assert answer is not None
    assert [(r.name, r.data) for r in answer.additional] == [
        ("db-0.db.default.svc.cluster.local", "10.42.0.5"), ("db-1.db.default.svc.cluster.local", "10.42.0.6"),
        ("10-42-0-7.db.default.svc.cluster.local", "10.42.0.7")]


def test_changes_and_deletes() -> None:
    index = build()
    gen = index.generation
    index.delete_service("default", "web")
    assert index.generation > gen
    assert index.lookup("web.default.svc.cluster.local", "A").rcode == NXDOMAIN  # type: ignore[union-attr]
    assert index.lookup("20.0.43.10.in-addr.arpa", "PTR") is None
    index.delete_endpointslice("default", "db-abc")
    assert index.lookup("db.default.svc.cluster.local", "A").rcode == NXDOMAIN  # type: ignore[union-attr]
    assert index.lookup("5.0.42.10.in-addr.arpa", "PTR") is None
    index.delete_pod("default", "p1")
    assert index.lookup("10-42-0-9.default.pod.cluster.local", "A").rcode == NXDOMAIN  # type: ignore[union-attr]


def test_publish_not_ready_addresses_serves_unready_endpoints() -> None:
    index = build()
    index.upsert_service(svc("db", ip=None, publish_not_ready=True))
    answer = index.lookup("db-3.db.default.svc.cluster.local", "A")
    assert answer is not None and [r.data for r in answer.answers] == ["10.42.0.8"]


def test_slice_moving_between_services() -> None:
    index = build()
    index.upsert_service(svc("db2", ip=None))
    moved = eps("db-abc", "db2", [("10.42.0.50", "x", True)])
    index.upsert_endpointslice(moved)
    assert index.lookup("db.default.svc.cluster.local", "A").rcode == NXDOMAIN  # type: ignore[union-attr]
    assert [r.data for r in index.lookup("db2.default.svc.cluster.local", "A").answers] == ["10.42.0.50"]  # type: ignore[union-attr]


@pytest.mark.parametrize(("mode", "rcode"), [("insecure", NOERROR), ("disabled", NXDOMAIN)], ids=["insecure", "disabled"])
def test_pod_modes(mode: str, rcode: int) -> None:
    index = RecordIndex(pod_mode=mode)  # type: ignore[arg-type]
    index.upsert_namespace({"metadata": {"name": "default"}})
    assert index.lookup("10-1-2-3.default.pod.cluster.local", "A").rcode == rcode  # type: ignore[union-attr]


@pytest.mark.parametrize(("name", "ip"), [
    ("4.3.2.1.in-addr.arpa", "1.2.3.4"),
    ("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "2001:db8::1"),
    ("3.2.1.in-addr.arpa", None),
    ("x.3.2.1.in-addr.arpa", None),
], ids=["v4", "v6", "short", "garbage"])
def test_reverse_ip(name: str, ip: str | None) -> None:
    assert reverse_ip(name) == ip


@pytest.mark.parametrize(("label", "ip"), [("10-42-0-9", "10.42.0.9"), ("fd00--1", "fd00::1"), ("web", None)],
                         ids=["v4", "v6", "not-ip"])
def test_undashed(label: str, ip: str | None) -> None:
    assert undashed(label) == ip
