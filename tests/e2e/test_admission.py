"""The built-in admission plugins through real kubectl against a real `kyb server`: each plugin
accepting and refusing, with the exact text kubectl prints, and 20 concurrent creates against
a quota of 5 pods."""

from __future__ import annotations

import json
import ssl
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer, admin_ssl_context

pytestmark = pytest.mark.e2e


def kj(kyb: KybServer, *args: str) -> Any:
    return json.loads(kyb.kubectl(*args, "-o", "json").stdout)


def refused(kyb: KybServer, *args: str, input: str | None = None) -> str:
    proc = kyb.kubectl(*args, input=input, check=False)
    assert proc.returncode != 0, proc.stdout
    return proc.stderr.strip()


def test_namespace_lifecycle(kyb: KybServer) -> None:
    assert refused(kyb, "delete", "namespace", "kube-system") == (
        'Error from server (Forbidden): namespaces "kube-system" is forbidden: this namespace may not be deleted')
    assert refused(kyb, "run", "p", "--image=busybox", "-n", "nowhere") == (
        'Error from server (NotFound): namespaces "nowhere" not found')


def test_limit_ranger(kyb: KybServer) -> None:
    kyb.kubectl("create", "namespace", "lr")
    kyb.kubectl("apply", "-n", "lr", "-f", "-", input=textwrap.dedent("""\
        apiVersion: v1
        kind: LimitRange
        metadata: {name: limits}
        spec:
          limits:
          - type: Container
            max: {cpu: "1"}
            default: {cpu: 500m}
            defaultRequest: {cpu: 100m}
        """))
    kyb.kubectl("run", "small", "--image=busybox", "-n", "lr")
    p = kj(kyb, "get", "pod", "small", "-n", "lr")
    assert p["spec"]["containers"][0]["resources"] == {"limits": {"cpu": "500m"}, "requests": {"cpu": "100m"}}
    assert p["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu request for container small; cpu limit for container small")
    err = refused(kyb, "run", "big", "--image=busybox", "-n", "lr", "--overrides",
                  json.dumps({"spec": {"containers": [{"name": "big", "image": "busybox",
                                                        "resources": {"limits": {"cpu": "2"}}}]}}))
    assert err == ('Error from server (Forbidden): pods "big" is forbidden: '
                   "maximum cpu usage per Container is 1, but limit is 2")


def test_service_account_priority_and_tolerations(kyb: KybServer) -> None:
    kyb.kubectl("create", "namespace", "sa")
    kyb.kubectl("run", "plain", "--image=busybox", "-n", "sa")
    p = kj(kyb, "get", "pod", "plain", "-n", "sa")
    spec = p["spec"]
    assert spec["serviceAccountName"] == "default"
    assert spec["containers"][0]["volumeMounts"][0]["mountPath"] == "/var/run/secrets/kubernetes.io/serviceaccount"
    assert spec["volumes"][0]["name"].startswith("kube-api-access-")
    assert {t["key"] for t in spec["tolerations"]} == {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}
    assert spec["priority"] == 0
    err = refused(kyb, "run", "robot", "--image=busybox", "-n", "sa", "--overrides",
                  json.dumps({"spec": {"serviceAccountName": "robot"}}))
    assert err == ('Error from server (Forbidden): pods "robot" is forbidden: error looking up service account '
                   'sa/robot: serviceaccount "robot" not found')
    kyb.kubectl("create", "priorityclass", "high", "--value=1000")
    kyb.kubectl("run", "urgent", "--image=busybox", "-n", "sa", "--overrides",
                json.dumps({"spec": {"priorityClassName": "high"}}))
    assert kj(kyb, "get", "pod", "urgent", "-n", "sa")["spec"]["priority"] == 1000
    err = refused(kyb, "run", "lost", "--image=busybox", "-n", "sa", "--overrides",
                  json.dumps({"spec": {"priorityClassName": "missing"}}))
    assert err == ('Error from server (Forbidden): pods "lost" is forbidden: '
                   "no PriorityClass with name missing was found")


def test_default_storage_class(kyb: KybServer) -> None:
    kyb.kubectl("apply", "-f", "-", input=textwrap.dedent("""\
        apiVersion: storage.k8s.io/v1
        kind: StorageClass
        metadata:
          name: local
          annotations: {storageclass.kubernetes.io/is-default-class: "true"}
        provisioner: example.com/local
        """))
    kyb.kubectl("apply", "-f", "-", input=textwrap.dedent("""\
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata: {name: data}
        spec:
          accessModes: [ReadWriteOnce]
          resources: {requests: {storage: 1Gi}}
        """))
    assert kj(kyb, "get", "pvc", "data")["spec"]["storageClassName"] == "local"


def test_pod_security_enforce(kyb: KybServer) -> None:
    kyb.kubectl("create", "namespace", "secure")
    kyb.kubectl("label", "namespace", "secure", "pod-security.kubernetes.io/enforce=restricted")
    err = refused(kyb, "run", "p", "--image=busybox", "-n", "secure")
    assert err == (
        'Error from server (Forbidden): pods "p" is forbidden: violates PodSecurity "restricted:latest": '
        'allowPrivilegeEscalation != false (container "p" must set securityContext.allowPrivilegeEscalation=false), '
        'unrestricted capabilities (container "p" must set securityContext.capabilities.drop=["ALL"]), '
        'runAsNonRoot != true (pod or container "p" must set securityContext.runAsNonRoot=true), '
        'seccompProfile (pod or container "p" must set securityContext.seccompProfile.type to "RuntimeDefault" or '
        '"Localhost")')
    kyb.kubectl("apply", "-n", "secure", "-f", "-", input=textwrap.dedent("""\
        apiVersion: v1
        kind: Pod
        metadata: {name: good}
        spec:
          securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
          containers:
          - name: c
            image: busybox
            securityContext:
              allowPrivilegeEscalation: false
              capabilities: {drop: [ALL]}
        """))
    err = refused(kyb, "label", "namespace", "secure", "--overwrite", "pod-security.kubernetes.io/enforce=strict")
    assert err == ('The Namespace "secure" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: '
                   'Invalid value: "strict": must be one of privileged, baseline, restricted')


def test_resource_quota(kyb: KybServer) -> None:
    kyb.kubectl("create", "namespace", "quota")
    # every namespace gets the cluster CA ConfigMap from the root-ca publisher; count it
    wait_until(lambda: kyb.kubectl("get", "configmap", "kube-root-ca.crt", "-n", "quota", check=False).returncode == 0)
    kyb.kubectl("create", "quota", "q", "--hard=pods=2,configmaps=2", "-n", "quota")
    q = kj(kyb, "get", "quota", "q", "-n", "quota")
    assert q["status"]["hard"] == {"configmaps": "2", "pods": "2"}
    assert q["status"]["used"] == {"configmaps": "1", "pods": "0"}
    kyb.kubectl("run", "a", "--image=busybox", "-n", "quota")
    kyb.kubectl("run", "b", "--image=busybox", "-n", "quota")
    assert refused(kyb, "run", "c", "--image=busybox", "-n", "quota") == (
        'Error from server (Forbidden): pods "c" is forbidden: exceeded quota: q, requested: pods=1, '
        "used: pods=2, limited: pods=2")
    kyb.kubectl("create", "configmap", "one", "-n", "quota")
    assert refused(kyb, "create", "configmap", "two", "-n", "quota") == (
        'error: failed to create configmap: configmaps "two" is forbidden: exceeded quota: q, '
        "requested: configmaps=1, used: configmaps=2, limited: configmaps=2")
    kyb.kubectl("delete", "configmap", "one", "-n", "quota")
    assert kj(kyb, "get", "quota", "q", "-n", "quota")["status"]["used"]["configmaps"] == "1"
    kyb.kubectl("create", "configmap", "two", "-n", "quota")
    out = kyb.kubectl("describe", "quota", "q", "-n", "quota").stdout
    assert "pods        2     2" in out and "configmaps  2     2" in out


def wait_until(cond: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def test_concurrent_creates_against_quota(kyb: KybServer) -> None:
    kyb.kubectl("create", "namespace", "race")
    kyb.kubectl("create", "quota", "five", "--hard=pods=5", "-n", "race")
    ctx: ssl.SSLContext = admin_ssl_context(kyb.kubeconfig)

    def create(i: int) -> int:
        body = json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}"},
                           "spec": {"containers": [{"name": "c", "image": "busybox"}]}}).encode()
        req = urllib.request.Request(f"{kyb.url}/api/v1/namespaces/race/pods", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
                return int(r.status)
        except urllib.error.HTTPError as e:
            return int(e.code)

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(create, range(20)))
    assert sorted(codes).count(201) == 5 and codes.count(403) == 15
    assert kj(kyb, "get", "quota", "five", "-n", "race")["status"]["used"] == {"pods": "5"}
    assert len(kj(kyb, "get", "pods", "-n", "race")["items"]) == 5
