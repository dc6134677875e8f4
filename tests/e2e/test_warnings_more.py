"""Real kubectl against a real `kyb server`: the non-pod warnings of upstream 1.32 (Service IPs
and CIDRs, the Ingress class annotation, PV/PVC/StorageClass deprecations, workload names) are
printed by kubectl as `Warning: ...` while the write succeeds; the new Service and IngressClass
validations answer 422 with upstream's texts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer

pytestmark = pytest.mark.e2e

ZONE = "failure-domain.beta.kubernetes.io/zone"


def warnings_of(stderr: str) -> list[str]:
    return [line.removeprefix("Warning: ") for line in stderr.splitlines() if line.startswith("Warning: ")]


def create(kyb: KybServer, obj: dict[str, Any]) -> tuple[list[str], str]:
    proc = kyb.kubectl("create", "-f", "-", input=json.dumps(obj))
    return warnings_of(proc.stderr), proc.stdout


def refused(kyb: KybServer, obj: dict[str, Any]) -> str:
    proc = kyb.kubectl("create", "-f", "-", input=json.dumps(obj), check=False)
    assert proc.returncode != 0, proc.stdout
    return proc.stderr.strip()


def service(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"ports": [{"port": 80}], "selector": {"app": name}, **spec},
    }


def test_service_ip_warnings_on_create_and_update(kyb: KybServer) -> None:
    warned, out = create(kyb, service("zeros", externalIPs=["192.168.010.5"]))
    assert warned == [
        "spec.externalIPs[0]: IP address was accepted, but will be invalid in a future Kubernetes "
        'release: ParseAddr("192.168.010.5"): IPv4 field has octet with leading zero'
    ]
    assert "service/zeros created" in out
    proc = kyb.kubectl(
        "patch",
        "service",
        "zeros",
        "--type=merge",
        "-p",
        json.dumps({"spec": {"externalIPs": ["192.168.10.5", "2001:DB8::5"]}}),
    )
    assert warnings_of(proc.stderr) == [
        'spec.externalIPs[1]: IPv6 address "2001:DB8::5" is not in RFC 5952 canonical format ("2001:db8::5"), '
        "which may cause controller apply-loops"
    ]


def test_service_validation_errors(kyb: KybServer) -> None:
    assert refused(kyb, service("ranges", loadBalancerSourceRanges=["10.0.0.0/8"])) == (
        'The Service "ranges" is invalid: spec.LoadBalancerSourceRanges: Forbidden: may only be used when `type` '
        "is 'LoadBalancer'"
    )
    assert refused(kyb, service("loop", externalIPs=["127.0.0.1"])) == (
        'The Service "loop" is invalid: spec.externalIPs[0]: Invalid value: "127.0.0.1": may not be in the '
        "loopback range (127.0.0.0/8, ::1/128)"
    )


def test_ingress_class_annotation_warns(kyb: KybServer) -> None:
    ing = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "old-style", "annotations": {"kubernetes.io/ingress.class": "nginx"}},
        "spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}},
    }
    warned, out = create(kyb, ing)
    assert warned == [
        "annotation \"kubernetes.io/ingress.class\" is deprecated, please use 'spec.ingressClassName' instead"
    ]
    assert "ingress.networking.k8s.io/old-style created" in out


def test_ingress_class_parameters_are_validated(kyb: KybServer) -> None:
    ic = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {"name": "params"},
        "spec": {
            "controller": "example.com/ingress",
            "parameters": {"kind": "Params", "name": "p", "scope": "Namespace"},
        },
    }
    assert refused(kyb, ic) == (
        'The IngressClass "params" is invalid: spec.parameters.namespace: Required value: '
        "`parameters.scope` is set to 'Namespace'"
    )


def test_storage_warnings(kyb: KybServer) -> None:
    sc = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "zonal"},
        "provisioner": "example.com/disk",
        "allowedTopologies": [{"matchLabelExpressions": [{"key": ZONE, "values": ["a"]}]}],
    }
    warned, _ = create(kyb, sc)
    assert warned == [
        "allowedTopologies[0].matchLabelExpressions[0]: deprecated since v1.17; use "
        '"topology.kubernetes.io/zone" instead'
    ]
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "claim", "annotations": {"volume.beta.kubernetes.io/storage-class": "zonal"}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1500m"}}},
    }
    warned, _ = create(kyb, pvc)
    assert warned == [
        "metadata.annotations[volume.beta.kubernetes.io/storage-class]: deprecated since v1.8; use "
        '"storageClassName" attribute instead',
        'spec.resources.requests[storage]: fractional byte value "1500m" is invalid, must be an integer',
    ]
    pv = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": "recycled"},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Recycle",
            "hostPath": {"path": "/tmp/pv"},
        },
    }
    warned, _ = create(kyb, pv)
    assert warned == [
        "spec.persistentVolumeReclaimPolicy: The Recycle reclaim policy is deprecated. Instead, the "
        "recommended approach is to use dynamic provisioning."
    ]


def test_workload_name_that_is_no_dns_label_warns(kyb: KybServer) -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate.v2"},
        "spec": {
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "busybox"}]}
            }
        },
    }
    warned, out = create(kyb, job)
    assert warned == [
        "metadata.name: this is used in Pod names and hostnames, which can result in surprising "
        "behavior; a DNS label is recommended: [must not contain dots]"
    ]
    assert "job.batch/migrate.v2 created" in out
