"""`kubectl get --raw /metrics` against a real `kyb server`: request counters move with what kubectl
does, the scheduler's families are served by the same endpoint, and only users allowed the
non-resource URL ``/metrics`` may read it (RBAC)."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kybernetes.testing.cluster import KybServer
from kybernetes.testing.node import wait_for

pytestmark = [pytest.mark.e2e]


def scrape(kyb: KybServer, *extra: str) -> str:
    return kyb.kubectl("get", "--raw", "/metrics", *extra).stdout


def value(text: str, name: str, **labels: str) -> float:
    return sum(
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


# PodTemplates: a kind no controller writes, so every request counted here is the test's own
TEMPLATES = {"group": "", "version": "v1", "resource": "podtemplates", "component": "apiserver"}


def template(name: str) -> str:
    return (
        f"apiVersion: v1\nkind: PodTemplate\nmetadata: {{name: {name}}}\n"
        "template: {spec: {containers: [{name: c, image: busybox:1.36}]}}\n"
    )


def test_request_counters_move_with_kubectl(kyb: KybServer) -> None:
    before = scrape(kyb)
    kyb.kubectl("create", "-f", "-", input=template("prom-a"))
    kyb.kubectl("get", "podtemplate", "prom-a")
    kyb.kubectl("apply", "--server-side", "-f", "-", input=template("prom-b"))
    failed = kyb.kubectl("create", "-f", "-", input=template("prom-a"), check=False)
    assert failed.returncode != 0
    after = scrape(kyb)

    def moved(**labels: str) -> float:
        return value(after, "apiserver_request_total", **TEMPLATES, **labels) - value(
            before, "apiserver_request_total", **TEMPLATES, **labels
        )

    assert moved(verb="POST", code="201", scope="resource") == 1
    assert moved(verb="POST", code="409") == 1
    assert moved(verb="GET", code="200", scope="resource") >= 1
    assert moved(verb="APPLY", code="201") == 1
    assert value(after, "apiserver_request_duration_seconds_count", verb="POST", **TEMPLATES) >= 2
    assert value(after, "apiserver_storage_objects", resource="podtemplates") == 2
    assert value(after, "etcd_request_duration_seconds_count", operation="create", type="podtemplates") >= 1
    # the controllers' and scheduler's informers hold watches open
    assert value(after, "apiserver_longrunning_requests", verb="WATCH") >= 1
    assert value(after, "process_resident_memory_bytes") > 0


def test_scheduler_families_are_served_by_the_server(kyb: KybServer) -> None:
    kyb.kubectl("run", "prom-pending", "--image=busybox:1.36", "--restart=Never")  # no node: unschedulable

    def attempted() -> float:
        return value(
            scrape(kyb),
            "scheduler_schedule_attempts_total",
            result="unschedulable",
            profile="default-scheduler",
        )

    assert wait_for(attempted, timeout=30, what="an unschedulable attempt") >= 1
    text = scrape(kyb)
    assert (
        value(text, "scheduler_pending_pods", queue="unschedulable")
        + value(text, "scheduler_pending_pods", queue="backoff")
        >= 1
    )
    assert value(text, "scheduler_scheduling_attempt_duration_seconds_count", result="unschedulable") >= 1
    kyb.kubectl("delete", "pod", "prom-pending", "--wait=false")


def test_metrics_need_the_nonresource_permission(kyb: KybServer) -> None:
    denied = kyb.kubectl("get", "--raw", "/metrics", "--as=prom-reader", check=False)
    assert denied.returncode != 0 and "forbidden" in denied.stderr.lower()
    kyb.kubectl(
        "apply",
        "-f",
        "-",
        input="""
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: prom-metrics-reader}
rules: [{nonResourceURLs: [/metrics], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: prom-metrics-reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: prom-metrics-reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: prom-reader}]
""",
    )

    def allowed() -> Any:
        out = kyb.kubectl("get", "--raw", "/metrics", "--as=prom-reader", check=False)
        return out.returncode == 0 and out.stdout

    text = wait_for(allowed, timeout=20, what="/metrics allowed by RBAC")
    assert value(text, "apiserver_request_total") > 0
