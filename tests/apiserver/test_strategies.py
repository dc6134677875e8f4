"""Per-kind strategies: defaults as the real apiserver returns them, causes with upstream's
fields and texts, immutability on update."""

from __future__ import annotations

import copy
import importlib
from typing import Any

import pytest

from kybernetes.api.resources import RESOURCES, Resource
from kybernetes.apiserver.strategies.base import validate_metadata
from kybernetes.apiserver.strategy import Strategy, strategy_for

Obj = dict[str, Any]


def res(group: str, kind: str) -> Resource:
    return next(r for r in RESOURCES if r.group == group and r.kind == kind)


def strat(group: str, kind: str) -> Strategy:
    return strategy_for(res(group, kind))


def create(group: str, kind: str, obj: Obj) -> Obj:
    """What the store does on create, minus storage: uid, prepare, defaults (in its order)."""
    obj = copy.deepcopy(obj)
    obj.setdefault("metadata", {}).setdefault("uid", "u-1")
    s = strat(group, kind)
    s.prepare_for_create(obj)
    s.default(obj)
    return obj


def causes(group: str, kind: str, obj: Obj) -> list[tuple[str, str, str]]:
    obj = create(group, kind, obj)
    return [(c.field, c.type, c.message) for c in strat(group, kind).validate(obj)]


def update_causes(group: str, kind: str, old: Obj, new: Obj) -> list[tuple[str, str, str]]:
    s = strat(group, kind)
    new = copy.deepcopy(new)
    s.default(new)
    s.prepare_for_update(new, old)
    return [(c.field, c.type, c.message) for c in s.validate_update(new, old)]


def test_every_resource_kind_is_registered() -> None:
    # The CRD strategy registers itself where the server wires CRDs; import it as the server does.
    importlib.import_module("kybernetes.apiserver.crd.strategy")
    plain = {("", "ConfigMap"),  # fine with the base behaviour too, but registered anyway
             # create-only reviews, answered and never stored: no strategy runs for them
             ("authentication.k8s.io", "SelfSubjectReview"), ("authentication.k8s.io", "TokenReview"),
             *(("authorization.k8s.io", k) for k in ("LocalSubjectAccessReview", "SelfSubjectAccessReview",
                                                     "SelfSubjectRulesReview", "SubjectAccessReview"))}
    for r in RESOURCES:
        assert type(strategy_for(r)) is not Strategy or (r.group, r.kind) in plain, r.kind


# --- Pod ----------------------------------------------------------------------------------------

KUBECTL_RUN: Obj = {"kind": "Pod", "apiVersion": "v1",
               "metadata": {"name": "x", "namespace": "default", "creationTimestamp": None, "labels": {"run": "x"}},
               "spec": {"containers": [{"name": "x", "image": "busybox", "resources": {}}],
                        "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"},
               "status": {}}


def test_kubectl_run_pod_is_fully_defaulted() -> None:
    pod = create("", "Pod", KUBECTL_RUN)
    assert pod["spec"] == {
        "containers": [{"name": "x", "image": "busybox", "resources": {}, "imagePullPolicy": "Always",
                        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}],
        "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "enableServiceLinks": True,
        "schedulerName": "default-scheduler",
        "securityContext": {}, "terminationGracePeriodSeconds": 30,
    }
    assert pod["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
    assert strat("", "Pod").validate(pod) == []


@pytest.mark.parametrize(("image", "policy"), [
    pytest.param("busybox", "Always", id="no-tag"),
    pytest.param("busybox:latest", "Always", id="latest"),
    pytest.param("nginx:1.25", "IfNotPresent", id="tag"),
    pytest.param("localhost:5000/nginx", "Always", id="registry-port-no-tag"),
    pytest.param("nginx@sha256:abc", "IfNotPresent", id="digest"),
])
def test_image_pull_policy(image: str, policy: str) -> None:
    pod = create("", "Pod", {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": image}]}})
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == policy


@pytest.mark.parametrize(("resources", "qos"), [
    pytest.param({}, "BestEffort", id="none"),
    pytest.param({"requests": {"cpu": "100m"}}, "Burstable", id="requests-only"),
    pytest.param({"limits": {"cpu": "1", "memory": "1Gi"}}, "Guaranteed", id="limits-imply-requests"),
    pytest.param({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}, "Burstable",
                 id="requests-below-limits"),
    pytest.param({"limits": {"cpu": "1000m", "memory": "1024Mi"}, "requests": {"cpu": "1", "memory": "1Gi"}},
                 "Guaranteed", id="equal-in-other-units"),
])
def test_pod_qos(resources: Obj, qos: str) -> None:
    pod = create("", "Pod", {"metadata": {"name": "p"},
                             "spec": {"containers": [{"name": "c", "image": "i", "resources": resources}]}})
    assert pod["status"]["qosClass"] == qos


def _pod(**spec: Any) -> Obj:
    base: Obj = {"containers": [{"name": "c", "image": "busybox"}]}
    base.update(spec)
    return {"metadata": {"name": "p", "namespace": "default"}, "spec": base}


@pytest.mark.parametrize(("pod", "expected"), [
    pytest.param(_pod(containers=[]), [("spec.containers", "FieldValueRequired", "Required value")], id="no-containers"),
    pytest.param(_pod(containers=[{"name": "c"}]),
                 [("spec.containers[0].image", "FieldValueRequired", "Required value")], id="no-image"),
    pytest.param(_pod(containers=[{"name": "c", "image": "a"}, {"name": "c", "image": "b"}]),
                 [("spec.containers[1].name", "FieldValueDuplicate", 'Duplicate value: "c"')], id="dup-name"),
    pytest.param(_pod(restartPolicy="Sometimes"),
                 [("spec.restartPolicy", "FieldValueNotSupported",
                   'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"')],
                 id="restart-policy"),
    pytest.param(_pod(containers=[{"name": "c", "image": "i", "ports": [{"containerPort": 70000}]}]),
                 [("spec.containers[0].ports[0].containerPort", "FieldValueInvalid",
                   "Invalid value: 70000: must be between 1 and 65535, inclusive")], id="port-range"),
    pytest.param(_pod(containers=[{"name": "c", "image": "i", "ports": [{"containerPort": 80, "protocol": "TCPX"}]}]),
                 [("spec.containers[0].ports[0].protocol", "FieldValueNotSupported",
                   'Unsupported value: "TCPX": supported values: "SCTP", "TCP", "UDP"')], id="protocol"),
    pytest.param(_pod(containers=[{"name": "c", "image": "i", "imagePullPolicy": "Sometimes"}]),
                 [("spec.containers[0].imagePullPolicy", "FieldValueNotSupported",
                   'Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"')],
                 id="pull-policy"),
    pytest.param(_pod(containers=[{"name": "c", "image": "i", "volumeMounts": [{"name": "v", "mountPath": "/x"}]}]),
                 [("spec.containers[0].volumeMounts[0].name", "FieldValueNotFound", 'Not found: "v"')],
                 id="mount-unknown-volume"),
])
def test_pod_validation(pod: Obj, expected: list[tuple[str, str, str]]) -> None:
    assert causes("", "Pod", pod) == expected


def test_pod_update_may_change_image_only() -> None:
    old = create("", "Pod", _pod())
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "busybox:2"
    assert update_causes("", "Pod", old, new) == []
    new["spec"]["nodeName"] = "n1"
    (field, typ, msg), = update_causes("", "Pod", old, new)
    assert (field, typ) == ("spec", "FieldValueForbidden")
    assert msg.startswith("Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
                          "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
                          "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be "
                          "set to 1 if it was previously negative)\n")


def test_pod_update_tolerations_only_added() -> None:
    old = create("", "Pod", _pod(tolerations=[{"key": "a", "operator": "Exists"}]))
    new = copy.deepcopy(old)
    new["spec"]["tolerations"].append({"key": "b", "operator": "Exists"})
    assert update_causes("", "Pod", old, new) == []
    new["spec"]["tolerations"] = [{"key": "b", "operator": "Exists"}]
    assert [c[0] for c in update_causes("", "Pod", old, new)] == ["spec"]


def test_pod_status_kept_on_update_and_selectable_fields() -> None:
    old = create("", "Pod", _pod(nodeName="n1"))
    old["status"] = {"phase": "Running", "podIPs": [{"ip": "10.42.0.5"}]}
    new = copy.deepcopy(old)
    new["status"] = {"phase": "Failed"}
    strat("", "Pod").prepare_for_update(new, old)
    assert new["status"]["phase"] == "Running"
    fields = strat("", "Pod").selectable_fields(old)
    assert fields["spec.nodeName"] == "n1"
    assert fields["status.podIP"] == "10.42.0.5"
    assert fields["spec.hostNetwork"] == "false"
    assert fields["metadata.namespace"] == "default"


# --- workloads ------------------------------------------------------------------------------------


def _deploy(labels: dict[str, str] | None = None, **spec: Any) -> Obj:
    s: Obj = {"selector": {"matchLabels": {"app": "web"}},
              "template": {"metadata": {"labels": labels if labels is not None else {"app": "web"}},
                           "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}}
    s.update(spec)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
            "spec": s}


def test_deployment_defaults() -> None:
    d = create("apps", "Deployment", _deploy())
    s = d["spec"]
    assert s["replicas"] == 1
    assert s["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert s["revisionHistoryLimit"] == 10
    assert s["progressDeadlineSeconds"] == 600
    assert s["template"]["metadata"]["creationTimestamp"] is None
    tspec = s["template"]["spec"]
    assert tspec["schedulerName"] == "default-scheduler"
    assert "enableServiceLinks" not in tspec  # a Pod-only default
    assert tspec["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert d["status"] == {}
    assert strat("apps", "Deployment").tracks_generation


@pytest.mark.parametrize(("kind", "obj", "expected"), [
    pytest.param("Deployment", _deploy(labels={"app": "other"}),
                 [("spec.template.metadata.labels", "FieldValueInvalid",
                   'Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`')],
                 id="selector-mismatch"),
    pytest.param("Deployment", _deploy(replicas=-1),
                 [("spec.replicas", "FieldValueInvalid", "Invalid value: -1: must be greater than or equal to 0")],
                 id="negative-replicas"),
    pytest.param("Deployment", _deploy(selector={}),
                 [("spec.selector", "FieldValueInvalid",
                   "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
                   "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment")],
                 id="empty-selector"),
    pytest.param("ReplicaSet", {**_deploy(), "kind": "ReplicaSet", "spec": {
        **_deploy()["spec"], "template": {"metadata": {"labels": {"app": "web"}},
                                          "spec": {"restartPolicy": "Never",
                                                   "containers": [{"name": "c", "image": "i"}]}}}},
                 [("spec.template.spec.restartPolicy", "FieldValueNotSupported",
                   'Unsupported value: "Never": supported values: "Always"')], id="rs-restart-never"),
])
def test_workload_validation(kind: str, obj: Obj, expected: list[tuple[str, str, str]]) -> None:
    assert causes("apps", kind, obj) == expected


def test_deployment_selector_immutable() -> None:
    old = create("apps", "Deployment", _deploy())
    new = copy.deepcopy(old)
    new["spec"]["selector"] = {"matchLabels": {"app": "web", "x": "y"}}
    new["spec"]["template"]["metadata"]["labels"]["x"] = "y"
    assert update_causes("apps", "Deployment", old, new) == [(
        "spec.selector", "FieldValueInvalid",
        'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "x":"y"}, '
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable")]


def test_statefulset_and_daemonset_defaults() -> None:
    sts = create("apps", "StatefulSet", {**_deploy(), "kind": "StatefulSet"})["spec"]
    assert sts["podManagementPolicy"] == "OrderedReady"
    assert sts["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert sts["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    assert (sts["replicas"], sts["revisionHistoryLimit"]) == (1, 10)
    ds = create("apps", "DaemonSet", {**_deploy(), "kind": "DaemonSet"})["spec"]
    assert ds["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert ds["revisionHistoryLimit"] == 10


def test_statefulset_forbidden_update() -> None:
    old = create("apps", "StatefulSet", {**_deploy(), "kind": "StatefulSet"})
    new = copy.deepcopy(old)
    new["spec"]["serviceName"] = "other"
    assert update_causes("apps", "StatefulSet", old, new) == [(
        "spec", "FieldValueForbidden",
        "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
        "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")]


def test_replication_controller_selector_from_template() -> None:
    rc = create("", "ReplicationController", {"metadata": {"name": "rc", "namespace": "default"}, "spec": {
        "template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
    assert rc["spec"]["selector"] == {"app": "a"}
    assert rc["metadata"]["labels"] == {"app": "a"}
    assert rc["spec"]["replicas"] == 1
    assert rc["status"] == {"replicas": 0}


# --- batch --------------------------------------------------------------------------------------

KUBECTL_JOB: Obj = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "namespace": "default"},
               "spec": {"template": {"metadata": {}, "spec": {
                   "containers": [{"name": "j", "image": "busybox"}], "restartPolicy": "Never"}}}}


def test_job_defaults_and_generated_selector() -> None:
    job = create("batch", "Job", KUBECTL_JOB)
    s = job["spec"]
    assert (s["backoffLimit"], s["completions"], s["parallelism"]) == (6, 1, 1)
    assert (s["completionMode"], s["suspend"], s["podReplacementPolicy"]) == ("NonIndexed", False,
                                                                               "TerminatingOrFailed")
    assert s["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}}
    want = {"batch.kubernetes.io/controller-uid": "u-1", "batch.kubernetes.io/job-name": "j",
            "controller-uid": "u-1", "job-name": "j"}
    assert s["template"]["metadata"]["labels"] == want
    assert job["metadata"]["labels"] == want
    assert "manualSelector" not in s
    assert strat("batch", "Job").validate(job) == []
    labelled = copy.deepcopy(KUBECTL_JOB)
    labelled["spec"]["template"]["metadata"]["labels"] = {"app": "x"}
    assert create("batch", "Job", labelled)["metadata"]["labels"] == {"app": "x", **want}


def test_job_restart_policy_and_immutable_template() -> None:
    bad = copy.deepcopy(KUBECTL_JOB)
    bad["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    assert causes("batch", "Job", bad) == [(
        "spec.template.spec.restartPolicy", "FieldValueRequired",
        'Required value: valid values: "OnFailure", "Never"')]
    old = create("batch", "Job", KUBECTL_JOB)
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:2"
    assert [(f, m.endswith(": field is immutable")) for f, _, m in update_causes("batch", "Job", old, new)] == [
        ("spec.template", True)]


def test_cronjob_defaults_and_validation() -> None:
    cj = {"metadata": {"name": "cj", "namespace": "default"},
          "spec": {"schedule": "*/1 * * * *", "jobTemplate": {"spec": KUBECTL_JOB["spec"]}}}
    out = create("batch", "CronJob", cj)["spec"]
    assert (out["concurrencyPolicy"], out["suspend"], out["successfulJobsHistoryLimit"],
            out["failedJobsHistoryLimit"]) == ("Allow", False, 3, 1)
    assert "backoffLimit" not in out["jobTemplate"]["spec"]
    assert causes("batch", "CronJob", cj) == []
    missing: Obj = copy.deepcopy(cj)
    del missing["spec"]["schedule"]
    assert causes("batch", "CronJob", missing) == [("spec.schedule", "FieldValueRequired", "Required value")]


# --- Service ------------------------------------------------------------------------------------

KUBECTL_EXPOSE: Obj = {"apiVersion": "v1", "kind": "Service",
                  "metadata": {"creationTimestamp": None, "labels": {"app": "web"}, "name": "web",
                               "namespace": "default"},
                  "spec": {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}], "selector": {"app": "web"}},
                  "status": {"loadBalancer": {}}}


def test_service_defaults() -> None:
    svc = create("", "Service", KUBECTL_EXPOSE)
    assert svc["spec"] == {
        "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}], "selector": {"app": "web"},
        "sessionAffinity": "None", "type": "ClusterIP", "internalTrafficPolicy": "Cluster",
        "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"]}
    assert svc["status"] == {"loadBalancer": {}}
    np = create("", "Service", {"metadata": {"name": "s"}, "spec": {"type": "NodePort", "ports": [{"port": 1}]}})
    assert np["spec"]["externalTrafficPolicy"] == "Cluster"
    assert np["spec"]["ports"][0]["targetPort"] == 1
    headless = create("", "Service", {"metadata": {"name": "h"}, "spec": {"clusterIP": "None"}})
    assert headless["spec"]["ipFamilyPolicy"] == "RequireDualStack"
    assert headless["spec"]["ipFamilies"] == ["IPv4", "IPv6"]
    assert headless["spec"]["clusterIPs"] == ["None"]
    ext = create("", "Service", {"metadata": {"name": "e"}, "spec": {"type": "ExternalName", "externalName": "a.b"}})
    assert "ipFamilies" not in ext["spec"] and "internalTrafficPolicy" not in ext["spec"]


@pytest.mark.parametrize(("spec", "expected"), [
    pytest.param({}, [("spec.ports", "FieldValueRequired", "Required value")], id="no-ports"),
    pytest.param({"type": "Bogus", "ports": [{"port": 80}]},
                 [("spec.type", "FieldValueNotSupported",
                   'Unsupported value: "Bogus": supported values: "ClusterIP", "ExternalName", "LoadBalancer", '
                   '"NodePort"')], id="type"),
    pytest.param({"ports": [{"port": 80}, {"port": 81}]},
                 [("spec.ports[0].name", "FieldValueRequired", "Required value"),
                  ("spec.ports[1].name", "FieldValueRequired", "Required value")], id="names-required"),
    pytest.param({"ports": [{"port": 80, "nodePort": 30000}]},
                 [("spec.ports[0].nodePort", "FieldValueForbidden",
                   "Forbidden: may not be used when `type` is 'ClusterIP'")], id="nodeport-on-clusterip"),
])
def test_service_validation(spec: Obj, expected: list[tuple[str, str, str]]) -> None:
    assert causes("", "Service", {"metadata": {"name": "s", "namespace": "default"}, "spec": spec}) == expected


def test_service_update_keeps_and_protects_cluster_ip() -> None:
    old = create("", "Service", KUBECTL_EXPOSE)
    old["spec"]["clusterIP"] = "10.43.0.20"
    old["spec"]["clusterIPs"] = ["10.43.0.20"]
    new = copy.deepcopy(KUBECTL_EXPOSE)  # `kubectl apply` of a manifest without clusterIP
    assert update_causes("", "Service", old, new) == []
    s = strat("", "Service")
    applied = copy.deepcopy(new)
    s.prepare_for_update(applied, old)
    assert applied["spec"]["clusterIP"] == "10.43.0.20"
    moved = copy.deepcopy(old)
    moved["spec"]["clusterIP"] = "10.43.0.21"
    moved["spec"]["clusterIPs"] = ["10.43.0.21"]
    assert update_causes("", "Service", old, moved) == [
        ("spec.clusterIPs[0]", "FieldValueInvalid", 'Invalid value: []string{"10.43.0.21"}: may not change once set')]


def test_service_name_is_dns1035() -> None:
    svc = {"metadata": {"name": "1web", "namespace": "default"}}
    msgs = [c.message for c in validate_metadata(strat("", "Service"), svc)]
    assert msgs == ['Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric characters or '
                    "'-', start with an alphabetic character, and end with an alphanumeric character (e.g. "
                    "'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"]


# --- small core kinds ---------------------------------------------------------------------------------


def test_namespace_create() -> None:
    ns = create("", "Namespace", {"metadata": {"name": "team-a"}})
    assert ns["spec"] == {"finalizers": ["kubernetes"]}
    assert ns["status"] == {"phase": "Active"}
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-a"}
    assert [c.field for c in validate_metadata(strat("", "Namespace"), {"metadata": {"name": "a.b"}})] == [
        "metadata.name"]
    assert strat("", "Namespace").selectable_fields(ns) == {"metadata.name": "team-a", "status.phase": "Active"}


def test_secret_defaults_and_keys() -> None:
    sec = create("", "Secret", {"metadata": {"name": "s"}, "type": "", "stringData": {"a": "hi"}})
    assert sec["type"] == "Opaque"
    assert sec["data"] == {"a": "aGk="}
    assert "stringData" not in sec
    assert causes("", "Secret", {"metadata": {"name": "s"}, "data": {"a b": ""}}) == [(
        "data[a b]", "FieldValueInvalid",
        "Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
        "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")]
    assert causes("", "Secret", {"metadata": {"name": "s"}, "type": "kubernetes.io/tls", "data": {}}) == [
        ("data[tls.crt]", "FieldValueRequired", "Required value"),
        ("data[tls.key]", "FieldValueRequired", "Required value")]


def test_immutable_configmap() -> None:
    old = {"metadata": {"name": "c"}, "immutable": True, "data": {"a": "1"}}
    new = {**old, "data": {"a": "2"}}
    assert update_causes("", "ConfigMap", old, new) == [
        ("data", "FieldValueForbidden", "Forbidden: field is immutable when `immutable` is set")]


def test_pv_and_pvc_defaults() -> None:
    pv = create("", "PersistentVolume", {"metadata": {"name": "pv"}, "spec": {
        "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/x"}}})
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert pv["spec"]["volumeMode"] == "Filesystem"
    assert pv["status"] == {"phase": "Pending"}
    assert strat("", "PersistentVolume").validate(pv) == []
    pvc = create("", "PersistentVolumeClaim", {"metadata": {"name": "c"}, "spec": {"accessModes": ["ReadWriteOnce"]}})
    assert pvc["spec"]["volumeMode"] == "Filesystem"
    assert [c.field for c in strat("", "PersistentVolumeClaim").validate(pvc)] == ["spec.resources[storage]"]


def test_event_and_node_fields() -> None:
    ev = {"metadata": {"name": "e", "namespace": "default"}, "reason": "Started", "type": "Normal",
          "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"}, "source": {"component": "kubelet"}}
    f = strat("", "Event").selectable_fields(ev)
    assert (f["involvedObject.kind"], f["involvedObject.name"], f["source"], f["reason"]) == (
        "Pod", "p", "kubelet", "Started")
    assert strat("", "Node").selectable_fields({"metadata": {"name": "n"}, "spec": {"unschedulable": True}}) == {
        "metadata.name": "n", "spec.unschedulable": "true"}
    node = create("", "Node", {"metadata": {"name": "n"}, "status": {"capacity": {"cpu": "2"}}})
    assert node["status"]["allocatable"] == {"cpu": "2"}


def test_rbac_names_and_bindings() -> None:
    cr = {"metadata": {"name": "system:controller:x"}}
    assert validate_metadata(strat("rbac.authorization.k8s.io", "ClusterRole"), cr) == []
    rb = {"metadata": {"name": "rb", "namespace": "d"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                                     "kind": "Thing", "name": "r"}}
    assert causes("rbac.authorization.k8s.io", "RoleBinding", rb) == [
        ("roleRef.kind", "FieldValueNotSupported", 'Unsupported value: "Thing": supported values: "Role", '
         '"ClusterRole"')]


def test_storageclass_and_networkpolicy_defaults() -> None:
    sc = create("storage.k8s.io", "StorageClass", {"metadata": {"name": "sc"}, "provisioner": "x"})
    assert (sc["reclaimPolicy"], sc["volumeBindingMode"]) == ("Delete", "Immediate")
    np = create("networking.k8s.io", "NetworkPolicy", {"metadata": {"name": "n"}, "spec": {"egress": [{}]}})
    assert np["spec"]["policyTypes"] == ["Ingress", "Egress"]


def test_ingress_path_type_required() -> None:
    ing = {"metadata": {"name": "i", "namespace": "d"}, "spec": {"rules": [{"host": "foo.com", "http": {"paths": [
        {"path": "/bar", "backend": {"service": {"name": "svc1", "port": {"number": 8080}}}}]}}]}}
    assert causes("networking.k8s.io", "Ingress", ing) == [(
        "spec.rules[0].http.paths[0].pathType", "FieldValueRequired", "Required value: pathType must be specified")]


@pytest.mark.parametrize(("group", "kind"), sorted({(r.group, r.kind) for r in RESOURCES}))
@pytest.mark.parametrize("junk", [True, [1], "x", {"a": [None]}], ids=["bool", "list", "str", "dict"])
def test_malformed_bodies_never_raise(group: str, kind: str, junk: Any) -> None:
    s = strat(group, kind)
    obj: Obj = {"metadata": {"name": "x", "uid": "u"}, "spec": junk, "data": junk, "status": junk,
                "template": junk, "rules": junk, "subsets": junk, "ports": junk, "roleRef": junk}
    s.prepare_for_create(obj)
    s.default(obj)
    s.validate(obj)
    s.validate_update(obj, copy.deepcopy(obj))
    s.prepare_for_update(obj, copy.deepcopy(obj))
    s.selectable_fields(obj)
