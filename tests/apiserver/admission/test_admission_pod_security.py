"""PodSecurity: the checks (pure, table-driven), enforce over HTTP, warnings for pods, workloads
and namespace label changes."""

from __future__ import annotations

from typing import Any

import pytest
from admission_helpers import Api, ApiFactory, container, namespace, pod

from kybernetes.api import resources as res
from kybernetes.apiserver.admission import CREATE, UPDATE, Attributes
from kybernetes.apiserver.admission.plugins import PodSecurity
from kybernetes.apiserver.admission.plugins.pod_security import LevelVersion, existing_pod_warnings
from kybernetes.apiserver.admission.plugins.pod_security_checks import evaluate, forbidden_detail

RESTRICTED_OK: dict[str, Any] = {
    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [{"name": "c", "image": "x", "securityContext": {
        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}],
}


def with_container(**sc: Any) -> dict[str, Any]:
    return {"containers": [{"name": "c", "image": "x", "securityContext": sc}]}


BASELINE_CASES = [
    ({"hostNetwork": True, "hostPID": True, "containers": [{"name": "c"}]}, "host namespaces (hostNetwork, hostPID)"),
    (with_container(privileged=True), 'privileged (container "c" must not set securityContext.privileged=true)'),
    (with_container(capabilities={"add": ["NET_ADMIN", "CHOWN", "SYS_ADMIN"]}),
     'non-default capabilities (container "c" must not include "NET_ADMIN", "SYS_ADMIN" in '
     "securityContext.capabilities.add)"),
    ({"containers": [{"name": "c"}], "volumes": [{"name": "h", "hostPath": {"path": "/"}}]},
     'hostPath volumes (volume "h")'),
    ({"containers": [{"name": "a", "ports": [{"containerPort": 80, "hostPort": 80}]},
                     {"name": "b", "ports": [{"containerPort": 81, "hostPort": 8081}]}]},
     'hostPort (containers "a", "b" use hostPorts 80, 8081)'),
    (with_container(procMount="Unmasked"), 'procMount (container "c" must not set securityContext.procMount to "Unmasked")'),
    (with_container(seccompProfile={"type": "Unconfined"}),
     'seccompProfile (container "c" must not set securityContext.seccompProfile.type to "Unconfined")'),
    ({"containers": [{"name": "c"}], "securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"},
                                                                     {"name": "net.ipv4.tcp_syncookies", "value": "1"}]}},
     "forbidden sysctls (kernel.msgmax)"),
    (with_container(seLinuxOptions={"type": "spc_t", "user": "u"}),
     'seLinuxOptions (container "c" set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set)'),
    (with_container(appArmorProfile={"type": "Unconfined"}),
     'forbidden AppArmor profile (container "c" must not set AppArmor profile type to "Unconfined")'),
    (with_container(windowsOptions={"hostProcess": True}),
     'hostProcess (container "c" must not set securityContext.windowsOptions.hostProcess=true)'),
]


@pytest.mark.parametrize(("spec", "detail"), BASELINE_CASES,
                         ids=[c[1].split(" (")[0].replace(" ", "-") for c in BASELINE_CASES])
def test_baseline_checks(spec: dict[str, Any], detail: str) -> None:
    assert forbidden_detail(evaluate("baseline", {}, spec)) == detail


def test_baseline_allows_plain_pod() -> None:
    assert evaluate("baseline", {}, {"containers": [{"name": "c", "image": "x"}]}) == []
    assert evaluate("restricted", {}, RESTRICTED_OK) == []


RESTRICTED_CASES = [
    ({"containers": [{"name": "c"}]},
     'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), '
     'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), '
     'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), '
     'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or '
     '"Localhost")'),
    ({**RESTRICTED_OK, "volumes": [{"name": "h", "hostPath": {"path": "/"}}, {"name": "n", "nfs": {}}]},
     'restricted volume types (volumes "h", "n" use restricted volume types "hostPath", "nfs")'),
    ({**RESTRICTED_OK, "securityContext": {"runAsNonRoot": False, "runAsUser": 0,
                                           "seccompProfile": {"type": "RuntimeDefault"}}},
     "runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false), "
     "runAsUser=0 (pod must not set runAsUser=0)"),
    ({**RESTRICTED_OK, "containers": [{"name": "c", "securityContext": {
        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "CHOWN"]}}}]},
     'unrestricted capabilities (container "c" must not include "CHOWN" in securityContext.capabilities.add)'),
]


@pytest.mark.parametrize(("spec", "detail"), RESTRICTED_CASES,
                         ids=["plain-pod", "volumes", "root", "capabilities"])
def test_restricted_checks(spec: dict[str, Any], detail: str) -> None:
    assert forbidden_detail(evaluate("restricted", {}, spec)) == detail


@pytest.fixture
async def api(make_api: ApiFactory) -> Api:
    return await make_api([PodSecurity()])


async def test_enforce_restricted(api: Api) -> None:
    await api.ok("POST", "/api/v1/namespaces", namespace("secure", {"pod-security.kubernetes.io/enforce": "restricted"}))
    code, st = await api.req("POST", "/api/v1/namespaces/secure/pods", pod("p", container("c")))
    assert code == 403 and st["reason"] == "Forbidden"
    assert st["message"] == (
        'pods "p" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false '
        '(container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities '
        '(container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container '
        '"c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set '
        'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")')
    ok = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "good"}, "spec": RESTRICTED_OK}
    await api.ok("POST", "/api/v1/namespaces/secure/pods", ok)
    # a Deployment with a violating template is accepted (templates only warn)
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
           "spec": {"selector": {"matchLabels": {"a": "b"}},
                    "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [container("c")]}}}}
    await api.ok("POST", "/apis/apps/v1/namespaces/secure/deployments", dep)


async def test_enforce_version_in_message(api: Api) -> None:
    await api.ok("POST", "/api/v1/namespaces", namespace("b", {"pod-security.kubernetes.io/enforce": "baseline",
                                                             "pod-security.kubernetes.io/enforce-version": "v1.30"}))
    code, st = await api.req("POST", "/api/v1/namespaces/b/pods", pod("p", hostNetwork=True))
    assert code == 403
    assert st["message"] == 'pods "p" is forbidden: violates PodSecurity "baseline:v1.30": host namespaces (hostNetwork)'


@pytest.mark.parametrize(("labels", "message"), [
    ({"pod-security.kubernetes.io/enforce": "strict"},
     'Namespace "bad" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": '
     "must be one of privileged, baseline, restricted"),
    ({"pod-security.kubernetes.io/warn-version": "1.25"},
     'Namespace "bad" is invalid: metadata.labels[pod-security.kubernetes.io/warn-version]: Invalid value: "1.25": '
     'must be "latest" or "v1.x"'),
], ids=["level", "version"])
async def test_invalid_labels(api: Api, labels: dict[str, str], message: str) -> None:
    code, st = await api.req("POST", "/api/v1/namespaces", namespace("bad", labels))
    assert code == 422 and st["reason"] == "Invalid" and st["message"] == message


def _attrs(kind: str, group: str, plural: str, ns: str, obj: dict[str, Any], op: str = CREATE,
           old: dict[str, Any] | None = None) -> Attributes:
    resource = next(r for r in res.RESOURCES if r.group == group and r.plural == plural)
    return Attributes(resource, op, ns, obj["metadata"]["name"], obj, old)


async def test_warnings_for_pods_and_workloads(api: Api) -> None:
    await api.ok("POST", "/api/v1/namespaces", namespace("w", {"pod-security.kubernetes.io/warn": "baseline"}))
    plugin = PodSecurity()
    attrs = _attrs("Pod", "", "pods", "w", pod("p", hostPID=True))
    await plugin.validate(attrs, api.ctx)
    assert attrs.options["warnings"] == ['would violate PodSecurity "baseline:latest": host namespaces (hostPID)']
    job = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cj"},
           "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
               "containers": [container("c", securityContext={"privileged": True})]}}}}}}
    attrs = _attrs("CronJob", "batch", "cronjobs", "w", job)
    await plugin.validate(attrs, api.ctx)
    assert attrs.options["warnings"] == [
        'would violate PodSecurity "baseline:latest": privileged (container "c" must not set '
        "securityContext.privileged=true)"]


async def test_namespace_label_change_warns_about_existing_pods(api: Api) -> None:
    await api.ok("POST", "/api/v1/namespaces", namespace("live"))
    for name in ("b", "a", "c"):
        await api.ok("POST", "/api/v1/namespaces/live/pods", pod(name, hostNetwork=True))
    old = await api.ok("GET", "/api/v1/namespaces/live")
    new = {**old, "metadata": {**old["metadata"], "labels": {"pod-security.kubernetes.io/enforce": "baseline"}}}
    attrs = _attrs("Namespace", "", "namespaces", "", new, UPDATE, old)
    await PodSecurity().validate(attrs, api.ctx)
    assert attrs.options["warnings"] == [
        'existing pods in namespace "live" violate the new PodSecurity enforce level "baseline:latest"',
        "a (and 2 other pods): host namespaces"]


def test_existing_pod_warnings_single() -> None:
    pods = [pod("x", hostIPC=True), pod("y")]
    assert existing_pod_warnings("n", LevelVersion("baseline"), pods) == [
        'existing pods in namespace "n" violate the new PodSecurity enforce level "baseline:latest"',
        "x: host namespaces"]
