"""Lifecycle loops end to end: kyb server with simulated nodes, driven by the real kubectl.

Garbage collection (background through a ReplicaSet's pods, foreground, orphan), namespace deletion
(including a custom resource held by a finalizer), the default ServiceAccount and kube-root-ca.crt
in new namespaces, and a Service's Endpoints and EndpointSlices following its pods' readiness.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer

PORT = 18920


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    saved = os.environ.get("KYB_SIM_NODES")
    os.environ["KYB_SIM_NODES"] = "2"
    server = KybServer(Path(tmp_path_factory.mktemp("kyb-lifecycle")), port=PORT)
    try:
        server.start()
    finally:
        if saved is None:
            os.environ.pop("KYB_SIM_NODES", None)
        else:
            os.environ["KYB_SIM_NODES"] = saved
    try:
        yield server
    finally:
        server.stop()


def get_json(kyb: KybServer, *args: str) -> Any:
    return json.loads(kyb.kubectl("get", *args, "-o", "json").stdout)


def exists(kyb: KybServer, *args: str) -> bool:
    return kyb.kubectl("get", *args, check=False).returncode == 0


def wait_for(pred: Callable[[], Any], timeout: float, what: str, step: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}; last: {last}")


def apply(kyb: KybServer, manifest: str) -> None:
    kyb.kubectl("apply", "-f", "-", input=manifest)


def owned_secret(kyb: KybServer, ns: str, owner: str, name: str) -> None:
    kyb.kubectl("create", "configmap", owner, "-n", ns, "--from-literal=a=b")
    uid = get_json(kyb, "configmap", owner, "-n", ns)["metadata"]["uid"]
    apply(kyb, f"""
apiVersion: v1
kind: Secret
metadata:
  name: {name}
  namespace: {ns}
  ownerReferences: [{{apiVersion: v1, kind: ConfigMap, name: {owner}, uid: {uid}, blockOwnerDeletion: true}}]
stringData: {{k: "v"}}
""")


def test_new_namespace_gets_default_service_account_and_root_ca(kyb: KybServer) -> None:
    kyb.kubectl("create", "namespace", "fresh")
    wait_for(lambda: exists(kyb, "serviceaccount", "default", "-n", "fresh"), 15, "default ServiceAccount")
    cm = wait_for(lambda: exists(kyb, "configmap", "kube-root-ca.crt", "-n", "fresh")
                  and get_json(kyb, "configmap", "kube-root-ca.crt", "-n", "fresh"), 15, "kube-root-ca.crt")
    assert cm["data"]["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")
    kyb.kubectl("delete", "serviceaccount", "default", "-n", "fresh")
    wait_for(lambda: exists(kyb, "serviceaccount", "default", "-n", "fresh"), 15, "default recreated")


def test_cascading_deletion_policies(kyb: KybServer) -> None:
    kyb.kubectl("create", "namespace", "gc")
    owned_secret(kyb, "gc", "bg-owner", "bg-dep")
    owned_secret(kyb, "gc", "fg-owner", "fg-dep")
    owned_secret(kyb, "gc", "or-owner", "or-dep")

    kyb.kubectl("delete", "configmap", "bg-owner", "-n", "gc")
    wait_for(lambda: not exists(kyb, "secret", "bg-dep", "-n", "gc"), 15, "background dependent removed")

    # foreground: kubectl waits for the owner, which goes only after its dependent
    kyb.kubectl("delete", "configmap", "fg-owner", "-n", "gc", "--cascade=foreground")
    assert not exists(kyb, "secret", "fg-dep", "-n", "gc")
    assert not exists(kyb, "configmap", "fg-owner", "-n", "gc")

    kyb.kubectl("delete", "configmap", "or-owner", "-n", "gc", "--cascade=orphan")
    assert not exists(kyb, "configmap", "or-owner", "-n", "gc")
    dep = get_json(kyb, "secret", "or-dep", "-n", "gc")
    assert not dep["metadata"].get("ownerReferences")


def test_replicaset_pods_are_collected(kyb: KybServer) -> None:
    apply(kyb, """
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: rs-web}}
  template:
    metadata: {labels: {app: rs-web}}
    spec: {containers: [{name: c, image: busybox}]}
""")
    wait_for(lambda: len(get_json(kyb, "pods", "-l", "app=rs-web")["items"]) == 2, 30, "two pods")
    kyb.kubectl("delete", "replicaset", "web")
    wait_for(lambda: not get_json(kyb, "pods", "-l", "app=rs-web")["items"], 60, "pods collected")


def test_namespace_deletion_empties_and_removes_it(kyb: KybServer) -> None:
    apply(kyb, """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
""")
    kyb.kubectl("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=20s")
    kyb.kubectl("create", "namespace", "doomed")
    kyb.kubectl("create", "configmap", "c", "-n", "doomed", "--from-literal=a=b")
    kyb.kubectl("run", "p", "-n", "doomed", "--image=busybox")
    apply(kyb, """
apiVersion: example.com/v1
kind: Widget
metadata: {name: held, namespace: doomed, finalizers: [example.com/hold]}
""")
    kyb.kubectl("delete", "namespace", "doomed", "--wait=false")

    def stuck_on_widget() -> Any:
        conds = {c["type"]: c for c in get_json(kyb, "namespace", "doomed").get("status", {}).get("conditions", [])}
        c = conds.get("NamespaceFinalizersRemaining")
        return c if c and c["status"] == "True" else None

    cond = wait_for(stuck_on_widget, 30, "finalizers-remaining condition")
    assert cond["message"] == ("Some content in the namespace has finalizers remaining: "
                               "example.com/hold in 1 resource instances")
    assert get_json(kyb, "namespace", "doomed")["status"]["phase"] == "Terminating"
    assert not exists(kyb, "configmap", "c", "-n", "doomed")
    kyb.kubectl("patch", "widget", "held", "-n", "doomed", "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    kyb.kubectl("wait", "--for=delete", "namespace/doomed", "--timeout=30s")
    # a plain `kubectl delete namespace` returns once the namespace is gone
    kyb.kubectl("create", "namespace", "quick")
    kyb.kubectl("create", "configmap", "c", "-n", "quick", "--from-literal=a=b")
    kyb.kubectl("delete", "namespace", "quick", timeout=60)
    assert not exists(kyb, "namespace", "quick")


def _slice_ips(kyb: KybServer, ns: str, svc: str) -> dict[str, bool]:
    slices = get_json(kyb, "endpointslices", "-n", ns, "-l", f"kubernetes.io/service-name={svc}")["items"]
    return {e["addresses"][0]: e["conditions"]["ready"] for s in slices for e in s.get("endpoints") or []}


def _ep_ips(kyb: KybServer, ns: str, svc: str) -> tuple[list[str], list[str]]:
    if not exists(kyb, "endpoints", svc, "-n", ns):
        return [], []
    subsets = get_json(kyb, "endpoints", svc, "-n", ns).get("subsets") or []
    return (sorted(a["ip"] for s in subsets for a in s.get("addresses") or []),
            sorted(a["ip"] for s in subsets for a in s.get("notReadyAddresses") or []))


def test_service_endpoints_follow_ready_pods(kyb: KybServer) -> None:
    kyb.kubectl("create", "namespace", "svc")
    apply(kyb, """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: svc}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web, namespace: svc}
spec:
  replicas: 2
  selector: {matchLabels: {app: web, tier: rs}}
  template:
    metadata: {labels: {app: web, tier: rs}}
    spec: {containers: [{name: c, image: busybox, ports: [{name: http, containerPort: 8080}]}]}
""")

    def running_ips() -> list[str]:
        pods = get_json(kyb, "pods", "-n", "svc", "-l", "app=web,tier=rs")["items"]
        ips = sorted(p["status"].get("podIP", "") for p in pods
                     if any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", [])))
        return ips if len(ips) == 2 and all(ips) else []

    ips = wait_for(running_ips, 40, "two Ready pods on simulated nodes")
    wait_for(lambda: _ep_ips(kyb, "svc", "web") == (ips, []), 20, "Endpoints list the ready pods")
    wait_for(lambda: _slice_ips(kyb, "svc", "web") == {ip: True for ip in ips}, 20, "EndpointSlice lists them")
    ep = get_json(kyb, "endpoints", "web", "-n", "svc")
    assert ep["subsets"][0]["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert "endpoints.kubernetes.io/last-change-trigger-time" in ep["metadata"]["annotations"]
    sl = get_json(kyb, "endpointslices", "-n", "svc", "-l", "kubernetes.io/service-name=web")["items"][0]
    assert sl["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io"
    assert sl["metadata"]["ownerReferences"][0]["kind"] == "Service"

    # a pod no node runs (so its status is ours to write; outside the ReplicaSet's selector)
    # joins, then stops being ready
    apply(kyb, """
apiVersion: v1
kind: Pod
metadata: {name: manual, namespace: svc, labels: {app: web}}
spec:
  schedulerName: nobody
  containers: [{name: c, image: busybox, ports: [{name: http, containerPort: 8080}]}]
""")

    def set_ready(ready: bool) -> None:
        status = {"status": {"phase": "Running", "podIP": "10.99.0.7", "podIPs": [{"ip": "10.99.0.7"}],
                             "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}
        kyb.kubectl("patch", "pod", "manual", "-n", "svc", "--subresource=status", "--type=merge",
                    "-p", json.dumps(status))

    set_ready(True)
    wait_for(lambda: _ep_ips(kyb, "svc", "web") == (sorted([*ips, "10.99.0.7"]), []), 20, "manual pod listed")
    set_ready(False)
    wait_for(lambda: _ep_ips(kyb, "svc", "web") == (ips, ["10.99.0.7"]), 20, "manual pod not ready")
    wait_for(lambda: _slice_ips(kyb, "svc", "web").get("10.99.0.7") is False, 20, "slice marks it not ready")

    # selector-less Service: hand-written Endpoints are mirrored into a slice
    apply(kyb, """
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: svc}
spec:
  ports: [{port: 80}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: ext, namespace: svc}
subsets: [{addresses: [{ip: 10.9.9.9}], ports: [{port: 8080}]}]
""")
    wait_for(lambda: _slice_ips(kyb, "svc", "ext") == {"10.9.9.9": True}, 20, "mirrored slice")
    mirrored = get_json(kyb, "endpointslices", "-n", "svc", "-l", "kubernetes.io/service-name=ext")["items"][0]
    assert mirrored["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == \
        "endpointslicemirroring-controller.k8s.io"
    assert _ep_ips(kyb, "svc", "ext") == (["10.9.9.9"], [])  # the Endpoints stay the user's

    # the Service goes: its Endpoints and slices go too
    kyb.kubectl("delete", "service", "web", "-n", "svc")
    wait_for(lambda: not exists(kyb, "endpoints", "web", "-n", "svc")
             and not _slice_ips(kyb, "svc", "web"), 20, "Endpoints and slices removed")
