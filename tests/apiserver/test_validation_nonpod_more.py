"""Service, IngressClass and non-pod warnings as upstream 1.32: field paths and message texts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kybernetes.api.resources import RESOURCES, Resource
from kybernetes.apiserver.strategies import ipaddr, warnings_nonpod
from kybernetes.apiserver.strategy import Strategy, strategy_for

Obj = dict[str, Any]


def strat(group: str, kind: str) -> Strategy:
    res: Resource = next(r for r in RESOURCES if r.group == group and r.kind == kind)
    return strategy_for(res)


def created(group: str, kind: str, obj: Obj) -> Obj:
    obj = copy.deepcopy(obj)
    obj.setdefault("metadata", {"name": "x"}).setdefault("uid", "u-1")
    strat(group, kind).prepare_for_create(obj)
    return obj


def causes(group: str, kind: str, obj: Obj) -> list[tuple[str, str]]:
    return [(c.field, c.message) for c in strat(group, kind).validate(created(group, kind, obj))]


def svc(**spec: Any) -> Obj:
    body: Obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 80}], "selector": {"app": "a"}},
    }
    body["spec"].update(spec)
    return body


IP_MSG = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
CIDR_MSG = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"

SERVICE_CASES = [
    pytest.param(svc(), [], id="plain-ok"),
    pytest.param(svc(externalIPs=["1.2.3.4", "010.1.2.3"]), [], id="external-ips-ok-leading-zero-accepted"),
    pytest.param(
        svc(externalIPs=["nope"]),
        [("spec.externalIPs[0]", f'Invalid value: "nope": {IP_MSG}')],
        id="external-ip-invalid",
    ),
    pytest.param(
        svc(externalIPs=["0.0.0.0"]),
        [("spec.externalIPs[0]", 'Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)')],
        id="external-ip-unspecified",
    ),
    pytest.param(
        svc(externalIPs=["127.0.0.2"]),
        [
            (
                "spec.externalIPs[0]",
                'Invalid value: "127.0.0.2": may not be in the loopback range (127.0.0.0/8, ::1/128)',
            )
        ],
        id="external-ip-loopback",
    ),
    pytest.param(
        svc(externalIPs=["fe80::1"]),
        [
            (
                "spec.externalIPs[0]",
                'Invalid value: "fe80::1": may not be in the link-local range (169.254.0.0/16, fe80::/10)',
            )
        ],
        id="external-ip-link-local",
    ),
    pytest.param(
        svc(externalIPs=["224.0.0.5"]),
        [
            (
                "spec.externalIPs[0]",
                'Invalid value: "224.0.0.5": may not be in the link-local multicast '
                "range (224.0.0.0/24, ff02::/10)",
            )
        ],
        id="external-ip-link-local-multicast",
    ),
    pytest.param(
        svc(loadBalancerSourceRanges=["10.0.0.0/8"]),
        [("spec.LoadBalancerSourceRanges", "Forbidden: may only be used when `type` is 'LoadBalancer'")],
        id="source-ranges-not-lb",
    ),
    pytest.param(
        svc(type="LoadBalancer", loadBalancerSourceRanges=[" 10.0.0.0/8 ", "10.0.0.0"]),
        [("spec.LoadBalancerSourceRanges[1]", f'Invalid value: "10.0.0.0": {CIDR_MSG}')],
        id="source-range-not-cidr",
    ),
    pytest.param(
        svc(loadBalancerClass="example.com/lb"),
        [("spec.loadBalancerClass", "Forbidden: may only be used when `type` is 'LoadBalancer'")],
        id="lb-class-not-lb",
    ),
    pytest.param(
        svc(type="LoadBalancer", loadBalancerClass="-bad"),
        [
            (
                "spec.loadBalancerClass",
                'Invalid value: "-bad": name part must consist of alphanumeric '
                "characters, '-', '_' or '.', and must start and end with an "
                "alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
                "'123-abc', regex used for validation is "
                "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            )
        ],
        id="lb-class-bad-name",
    ),
    pytest.param(
        svc(allocateLoadBalancerNodePorts=False),
        [("spec.allocateLoadBalancerNodePorts", "Forbidden: may only be used when `type` is 'LoadBalancer'")],
        id="allocate-node-ports-not-lb",
    ),
    pytest.param(
        svc(sessionAffinity="ClientIP", sessionAffinityConfig={"clientIP": {"timeoutSeconds": 86401}}),
        [
            (
                "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                "Invalid value: 86401: must be greater than 0 and less than 86400",
            )
        ],
        id="affinity-timeout-too-big",
    ),
    pytest.param(
        svc(sessionAffinityConfig={"clientIP": {"timeoutSeconds": 10}}),
        [("spec.sessionAffinityConfig", "Forbidden: must not be set when session affinity is None")],
        id="affinity-config-without-clientip",
    ),
    pytest.param(
        svc(ipFamilyPolicy="Dual"),
        [
            (
                "spec.ipFamilyPolicy",
                'Unsupported value: "Dual": supported values: "PreferDualStack", '
                '"RequireDualStack", "SingleStack"',
            )
        ],
        id="family-policy-unsupported",
    ),
    pytest.param(
        svc(ipFamilies=["IPv4", "IPv4"]),
        [("spec.ipFamilies[1]", 'Duplicate value: "IPv4"')],
        id="families-duplicate",
    ),
    pytest.param(
        svc(clusterIP="10.0.0.1", clusterIPs=["10.0.0.2"]),
        [("spec.clusterIPs", 'Invalid value: []string{"10.0.0.2"}: first value must match `clusterIP`')],
        id="cluster-ips-mismatch",
    ),
    pytest.param(
        svc(clusterIP="10.0.0.1", clusterIPs=["10.0.0.1", "10.0.0.2"]),
        [
            (
                "spec.clusterIPs",
                'Invalid value: []string{"10.0.0.1", "10.0.0.2"}: may specify no more than '
                "one IP for each IP family",
            )
        ],
        id="cluster-ips-same-family",
    ),
    pytest.param(
        svc(clusterIP="bad"),
        [("spec.clusterIPs[0]", f'Invalid value: "bad": {IP_MSG}')],
        id="cluster-ip-invalid",
    ),
    pytest.param(
        svc(clusterIP="fd00::1", ipFamilies=["IPv4"]),
        [
            (
                "spec.clusterIPs[0]",
                'Invalid value: "fd00::1": expected an IPv4 value as indicated by `ipFamilies[0]`',
            )
        ],
        id="cluster-ip-family-mismatch",
    ),
    pytest.param(
        svc(type="NodePort", clusterIP="None"),
        [("spec.clusterIPs[0]", "Invalid value: \"None\": may not be set to 'None' for NodePort services")],
        id="headless-nodeport",
    ),
    pytest.param(
        svc(type="ExternalName", externalName="db.example.com.", ipFamilyPolicy="SingleStack"),
        [("spec.ipFamilyPolicy", "Forbidden: may not be set for ExternalName services")],
        id="externalname-with-family-policy",
    ),
    pytest.param(
        svc(type="ExternalName", externalName="Bad_Name"),
        [
            (
                "spec.externalName",
                'Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist '
                "of lower case alphanumeric characters, '-' or '.', and must start and end "
                "with an alphanumeric character (e.g. 'example.com', regex used for "
                "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*"
                "[a-z0-9])?)*')",
            )
        ],
        id="externalname-invalid",
    ),
    pytest.param(
        svc(trafficDistribution="Nearest"),
        [("spec.trafficDistribution", 'Unsupported value: "Nearest": supported values: "PreferClose"')],
        id="traffic-distribution",
    ),
    pytest.param(
        svc(
            type="NodePort",
            ports=[
                {"name": "a", "port": 80, "nodePort": 30001},
                {"name": "b", "port": 81, "nodePort": 30001},
            ],
        ),
        [("spec.ports[1].nodePort", "Duplicate value: 30001")],
        id="duplicate-node-port",
    ),
]


@pytest.mark.parametrize(("body", "want"), SERVICE_CASES)
def test_service_validation(body: Obj, want: list[tuple[str, str]]) -> None:
    assert causes("", "Service", body) == want


def test_service_topology_annotations_must_agree() -> None:
    body = svc()
    body["metadata"]["annotations"] = {
        "service.kubernetes.io/topology-aware-hints": "auto",
        "service.kubernetes.io/topology-mode": "Auto",
    }
    assert causes("", "Service", body) == [
        (
            "metadata.annotations[service.kubernetes.io/topology-mode]",
            'Invalid value: "Auto": must match annotations[service.kubernetes.io/topology-aware-hints] when both '
            "are specified",
        )
    ]


def update(old_spec: Obj, **changes: Any) -> list[tuple[str, str]]:
    s = strat("", "Service")
    old = created("", "Service", svc(**old_spec))
    new = copy.deepcopy(old)
    new["spec"].update(changes)
    s.prepare_for_update(new, old)
    return [(c.field, c.message) for c in s.validate_update(new, old)]


def test_service_update_rules() -> None:
    lb = {"type": "LoadBalancer", "loadBalancerClass": "example.com/a"}
    assert update(lb, loadBalancerClass="example.com/b") == [
        ("spec.loadBalancerClass", 'Invalid value: "example.com/b": may not change once set')
    ]
    assert update(
        {"clusterIP": "10.0.0.1", "ipFamilies": ["IPv4"]},
        ipFamilies=["IPv6"],
        clusterIP="fd00::1",
        clusterIPs=["fd00::1"],
    )[:2] == [
        ("spec.clusterIPs[0]", 'Invalid value: []string{"fd00::1"}: may not change once set'),
        ("spec.ipFamilies[0]", 'Invalid value: []core.IPFamily{"IPv6"}: may not change once set'),
    ]


def test_type_change_to_external_name_drops_what_the_old_type_filled_in() -> None:
    s = strat("", "Service")
    old = created(
        "", "Service", svc(type="NodePort", clusterIP="10.0.0.1", ports=[{"port": 80, "nodePort": 30080}])
    )
    new = copy.deepcopy(old)
    new["spec"].update(type="ExternalName", externalName="db.example.com")
    s.prepare_for_update(new, old)
    assert s.validate_update(new, old) == []
    for gone in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "externalTrafficPolicy"):
        assert gone not in new["spec"]
    assert "nodePort" not in new["spec"]["ports"][0]


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("10.1.2.3", "10.1.2.3"),
        ("010.001.002.003", "10.1.2.3"),
        ("256.1.1.1", None),
        ("1.2.3", None),
        ("fe80::1%eth0", None),
        ("2001:DB8::1", "2001:db8::1"),
        ("", None),
    ],
)
def test_sloppy_ip_parsing(value: str, parsed: str | None) -> None:
    got = ipaddr.parse_ip_sloppy(value)
    assert (str(got) if got is not None else None) == parsed


def test_cidr_parsing() -> None:
    assert ipaddr.parse_cidr_sloppy("10.0.0.0/8") is not None
    assert ipaddr.parse_cidr_sloppy("010.0.0.0/08") is not None  # Go's sloppy parser takes both zeros
    assert ipaddr.parse_cidr_sloppy("10.0.0.0/33") is None
    assert ipaddr.parse_cidr_sloppy("10.0.0.0") is None


SERVICE_WARNINGS = [
    pytest.param(
        svc(clusterIP="10.096.0.1"),
        [
            "spec.clusterIPs[0]: IP address was accepted, but will be invalid in a future Kubernetes release: "
            'ParseAddr("10.096.0.1"): IPv4 field has octet with leading zero'
        ],
        id="cluster-ip-leading-zero",
    ),
    pytest.param(
        svc(externalIPs=["2001:DB8::0:1"]),
        [
            'spec.externalIPs[0]: IPv6 address "2001:DB8::0:1" is not in RFC 5952 canonical format ("2001:db8::1"), '
            "which may cause controller apply-loops"
        ],
        id="external-ip-not-canonical",
    ),
    pytest.param(
        svc(type="LoadBalancer", loadBalancerIP="1.02.3.4"),
        [
            "spec.loadBalancerIP: IP address was accepted, but will be invalid in a future Kubernetes release: "
            'ParseAddr("1.02.3.4"): IPv4 field has octet with leading zero'
        ],
        id="lb-ip-leading-zero",
    ),
    pytest.param(
        svc(type="LoadBalancer", loadBalancerSourceRanges=["10.0.0.0/8", "010.0.0.0/8", "10.0.0.0/08"]),
        [
            "spec.loadBalancerSourceRanges[1]: IP prefix was accepted, but will be invalid in a future Kubernetes "
            'release: netip.ParsePrefix("010.0.0.0/8"): ParseAddr("010.0.0.0"): IPv4 field has octet with leading zero',
            "spec.loadBalancerSourceRanges[2]: IP prefix was accepted, but will be invalid in a future Kubernetes "
            'release: netip.ParsePrefix("10.0.0.0/08"): bad bits after slash: "08"',
        ],
        id="source-ranges",
    ),
    pytest.param(svc(clusterIP="None"), [], id="headless-no-ip-warnings"),
]


@pytest.mark.parametrize(("body", "want"), SERVICE_WARNINGS)
def test_service_warnings(body: Obj, want: list[str]) -> None:
    assert strat("", "Service").warnings_on_create(created("", "Service", body)) == want


def ingress_class(**spec: Any) -> Obj:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {"name": "c"},
        "spec": {"controller": "example.com/ingress", **spec},
    }


INGRESS_CLASS_CASES = [
    pytest.param(ingress_class(), [], id="ok"),
    pytest.param(
        ingress_class(controller="nginx"),
        [
            (
                "spec.controller",
                'Invalid value: "nginx": must be a domain-prefixed path (such as "acme.io/foo")',
            )
        ],
        id="controller-not-domain-prefixed",
    ),
    pytest.param(
        ingress_class(controller="example.com/a b"),
        [
            (
                "spec.controller",
                'Invalid value: "a b": Invalid path (regex used for validation is '
                "'[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+')",
            )
        ],
        id="controller-bad-path",
    ),
    pytest.param(
        ingress_class(controller="example.com/" + "a" * 250),
        [("spec.controller", "Too long: must have at most 250 bytes")],
        id="controller-too-long",
    ),
    pytest.param(
        ingress_class(parameters={"kind": "Params", "name": "p"}),
        [("spec.parameters.scope", "Required value")],
        id="parameters-no-scope",
    ),
    pytest.param(
        ingress_class(parameters={"kind": "Params", "name": "p", "scope": "Namespace"}),
        [("spec.parameters.namespace", "Required value: `parameters.scope` is set to 'Namespace'")],
        id="namespace-scope-needs-namespace",
    ),
    pytest.param(
        ingress_class(parameters={"kind": "Params", "name": "p", "scope": "Cluster", "namespace": "x"}),
        [("spec.parameters.namespace", "Forbidden: `parameters.scope` is set to 'Cluster'")],
        id="cluster-scope-no-namespace",
    ),
    pytest.param(
        ingress_class(parameters={"apiGroup": "Bad_Group", "name": "p", "scope": "Global"}),
        [
            (
                "spec.parameters.apiGroup",
                'Invalid value: "Bad_Group": a lowercase RFC 1123 subdomain must consist of '
                "lower case alphanumeric characters, '-' or '.', and must start and end with "
                "an alphanumeric character (e.g. 'example.com', regex used for validation is "
                "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            ),
            ("spec.parameters.kind", "Required value: kind is required"),
            (
                "spec.parameters.scope",
                'Unsupported value: "Global": supported values: "Cluster", "Namespace"',
            ),
        ],
        id="parameters-bad",
    ),
]


@pytest.mark.parametrize(("body", "want"), INGRESS_CLASS_CASES)
def test_ingress_class_validation(body: Obj, want: list[tuple[str, str]]) -> None:
    assert causes("networking.k8s.io", "IngressClass", body) == want


def test_ingress_class_controller_is_immutable() -> None:
    s = strat("networking.k8s.io", "IngressClass")
    old = created("networking.k8s.io", "IngressClass", ingress_class())
    new = copy.deepcopy(old)
    new["spec"]["controller"] = "example.com/other"
    assert [(c.field, c.message) for c in s.validate_update(new, old)] == [
        ("spec.controller", 'Invalid value: "example.com/other": field is immutable')
    ]


ZONE = "failure-domain.beta.kubernetes.io/zone"
ZONE_MSG = 'deprecated since v1.17; use "topology.kubernetes.io/zone" instead'
STORAGE_CLASS = (
    "metadata.annotations[volume.beta.kubernetes.io/storage-class]: deprecated since v1.8; use "
    '"storageClassName" attribute instead'
)

KIND_WARNINGS = [
    pytest.param(
        "networking.k8s.io",
        "Ingress",
        {"metadata": {"name": "i", "annotations": {"kubernetes.io/ingress.class": "nginx"}}, "spec": {}},
        [
            "annotation \"kubernetes.io/ingress.class\" is deprecated, please use 'spec.ingressClassName' "
            "instead"
        ],
        id="ingress-class-annotation",
    ),
    pytest.param(
        "networking.k8s.io",
        "Ingress",
        {
            "metadata": {"name": "i", "annotations": {"kubernetes.io/ingress.class": "nginx"}},
            "spec": {"ingressClassName": "nginx"},
        },
        [],
        id="ingress-class-annotation-and-field",
    ),
    pytest.param(
        "",
        "Node",
        {"metadata": {"name": "n"}, "spec": {"externalID": "x", "configSource": {}}},
        [
            "spec.configSource: the feature is removed",
            "spec.externalID: this field is deprecated, and is unused by Kubernetes",
        ],
        id="node",
    ),
    pytest.param(
        "",
        "PersistentVolume",
        {
            "metadata": {"name": "pv", "annotations": {"volume.beta.kubernetes.io/storage-class": "x"}},
            "spec": {
                "persistentVolumeReclaimPolicy": "Recycle",
                "rbd": {"image": "i", "monitors": ["m"]},
                "nodeAffinity": {
                    "required": {
                        "nodeSelectorTerms": [{"matchExpressions": [{"key": ZONE, "operator": "Exists"}]}]
                    }
                },
            },
        },
        [
            STORAGE_CLASS,
            "spec.persistentVolumeReclaimPolicy: The Recycle reclaim policy is deprecated. Instead, the "
            "recommended approach is to use dynamic provisioning.",
            f"spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].key: {ZONE} is {ZONE_MSG}",
            "spec.rbd: deprecated in v1.28, non-functional in v1.31+",
        ],
        id="persistent-volume",
    ),
    pytest.param(
        "",
        "PersistentVolumeClaim",
        {
            "metadata": {"name": "c", "annotations": {"volume.beta.kubernetes.io/storage-class": "x"}},
            "spec": {"resources": {"requests": {"storage": "1500m"}}},
        },
        [
            STORAGE_CLASS,
            'spec.resources.requests[storage]: fractional byte value "1500m" is invalid, must be an integer',
        ],
        id="persistent-volume-claim",
    ),
    pytest.param(
        "storage.k8s.io",
        "StorageClass",
        {
            "metadata": {"name": "sc"},
            "provisioner": "p",
            "allowedTopologies": [{"matchLabelExpressions": [{"key": ZONE, "values": ["a"]}]}],
        },
        [f"allowedTopologies[0].matchLabelExpressions[0]: {ZONE_MSG}"],
        id="storage-class",
    ),
    pytest.param(
        "batch",
        "Job",
        {
            "metadata": {"name": "j.v1"},
            "spec": {
                "completionMode": "Indexed",
                "completions": 200_000,
                "parallelism": 20_000,
                "template": {},
            },
        },
        [
            "metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; "
            "a DNS label is recommended: [must not contain dots]",
            "spec: In Indexed Jobs with a number of completions higher than 10^5 and a parallelism higher "
            "than 10^4, Kubernetes might not be able to track completedIndexes when a big number of indexes "
            "fail",
        ],
        id="job",
    ),
    pytest.param(
        "apps",
        "Deployment",
        {"metadata": {"name": "web.v2"}, "spec": {}},
        [
            "metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; "
            "a DNS label is recommended: [must not contain dots]"
        ],
        id="deployment-name",
    ),
]


@pytest.mark.parametrize(("group", "kind", "obj", "want"), KIND_WARNINGS)
def test_kind_warnings_on_create(group: str, kind: str, obj: Obj, want: list[str]) -> None:
    assert strat(group, kind).warnings_on_create(obj) == want


def test_cronjob_schedule_time_zone_warns_on_update_only() -> None:
    s = strat("batch", "CronJob")
    old = {
        "metadata": {"name": "c"},
        "spec": {"schedule": "CRON_TZ=UTC 0 * * * *", "jobTemplate": {"spec": {}}},
    }
    assert warnings_nonpod.cron_schedule_warning(old) == [
        "cannot use TZ or CRON_TZ in spec.spec.schedule, use timeZone instead, see "
        "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details"
    ]
    assert s.warnings_on_update(old, old) == warnings_nonpod.cron_schedule_warning(old)
    assert all("TZ" not in w for w in s.warnings_on_create(old))


def test_warnings_survive_malformed_objects() -> None:
    for fn in (
        warnings_nonpod.pv_warnings,
        warnings_nonpod.pvc_warnings,
        warnings_nonpod.node_warnings,
        warnings_nonpod.storage_class_warnings,
        warnings_nonpod.ingress_warnings,
    ):
        assert fn({"metadata": [], "spec": "x", "allowedTopologies": [1, {"matchLabelExpressions": 3}]}) == []


CORE_CASES = [
    pytest.param(
        "ConfigMap",
        {"metadata": {"name": "big"}, "data": {"a": "x" * (1024 * 1024 + 1)}},
        [("", "Too long: must have at most 1048576 bytes")],
        id="configmap-too-big",
    ),
    pytest.param(
        "Secret",
        {"metadata": {"name": "s"}, "type": "kubernetes.io/basic-auth", "data": {"username": ""}},
        [],
        id="basic-auth-empty-username-is-present",
    ),
    pytest.param(
        "Secret",
        {"metadata": {"name": "s"}, "type": "kubernetes.io/ssh-auth", "data": {"ssh-privatekey": ""}},
        [("data[ssh-privatekey]", "Required value")],
        id="ssh-auth-empty-key",
    ),
    pytest.param(
        "PersistentVolume",
        {
            "metadata": {"name": "pv"},
            "spec": {"accessModes": ["ReadWriteOncePod", "ReadOnlyMany"], "hostPath": {"path": "/x"}},
        },
        [
            ("spec.accessModes", "Forbidden: may not use ReadWriteOncePod with other access modes"),
            ("spec.capacity", "Required value"),
            ("spec.capacity", 'Unsupported value: core.ResourceList(nil): supported values: "storage"'),
        ],
        id="pv-rwop-mixed-no-capacity",
    ),
    pytest.param(
        "ResourceQuota",
        {
            "metadata": {"name": "q"},
            "spec": {
                "hard": {"cpu": "-1", "widgets": "1", "example.com/widgets": "2"},
                "scopes": ["BestEffort", "NotBestEffort", "Someday"],
            },
        },
        [
            ("spec.hard[cpu]", 'Invalid value: "-1": must be greater than or equal to 0'),
            ("spec.hard[widgets]", 'Invalid value: "widgets": must be a standard resource for quota'),
            (
                "spec.scopes",
                'Invalid value: []core.ResourceQuotaScope{"BestEffort", "NotBestEffort", '
                '"Someday"}: unsupported scope',
            ),
            (
                "spec.scopes",
                'Invalid value: []core.ResourceQuotaScope{"BestEffort", "NotBestEffort", '
                '"Someday"}: conflicting scopes',
            ),
        ],
        id="quota",
    ),
]


@pytest.mark.parametrize(("kind", "obj", "want"), CORE_CASES)
def test_core_kind_validation(kind: str, obj: Obj, want: list[tuple[str, str]]) -> None:
    assert causes("", kind, obj) == want
