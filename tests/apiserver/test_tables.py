"""Server-side Table output: upstream's columns and exact cells for realistic objects."""

from __future__ import annotations

import asyncio
import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from kybernetes.api.resources import RESOURCES, Resource, lookup
from kybernetes.apiserver.tables import build_table, column_definitions, human_duration, row_cells

NOW = datetime(2025, 3, 10, 12, 0, 0, tzinfo=UTC)


def ago(seconds: float) -> str:
    return (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def res(group: str, version: str, plural: str) -> Resource:
    r = lookup(group, version, plural)
    assert r is not None, plural
    return r


def meta(name: str, created: float = 3600, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": "default", "uid": f"uid-{name}", "resourceVersion": "7",
            "creationTimestamp": ago(created), **extra}


# --- human_duration ------------------------------------------------------------------------------

DURATIONS = [
    (-3, "<invalid>"), (-2, "<invalid>"), (-1.9, "0s"), (-0.4, "0s"), (0, "0s"), (0.9, "0s"),
    (59, "59s"), (119.9, "119s"), (120, "2m"), (123, "2m3s"), (599, "9m59s"), (600, "10m"),
    (10799, "179m"), (10800, "3h"), (11040, "3h4m"), (28799, "7h59m"), (28800, "8h"),
    (48 * 3600 - 1, "47h"), (48 * 3600, "2d"), (2 * 86400 + 3 * 3600, "2d3h"), (8 * 86400 - 1, "7d23h"),
    (8 * 86400, "8d"), (10 * 86400, "10d"), (729 * 86400, "729d"), (730 * 86400, "2y"),
    (767 * 86400, "2y37d"), (8 * 365 * 86400 - 1, "7y364d"), (8 * 365 * 86400, "8y"), (3000 * 86400, "8y"),
]


@pytest.mark.parametrize(("seconds", "expected"), DURATIONS, ids=[e for _, e in DURATIONS])
def test_human_duration(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


# --- pods ----------------------------------------------------------------------------------------

def running(name: str, *, restarts: int = 0, finished: float | None = None, ready: bool = True) -> dict[str, Any]:
    cs: dict[str, Any] = {"name": name, "ready": ready, "restartCount": restarts, "started": True,
                          "image": "nginx", "imageID": "", "state": {"running": {"startedAt": ago(60)}}}
    if finished is not None:
        cs["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(finished)}}
    return cs


def waiting(name: str, reason: str, *, restarts: int = 0, finished: float | None = None) -> dict[str, Any]:
    cs: dict[str, Any] = {"name": name, "ready": False, "restartCount": restarts,
                          "state": {"waiting": {"reason": reason}}}
    if finished is not None:
        cs["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(finished)}}
    return cs


def terminated(name: str, exit_code: int, reason: str = "", signal: int = 0) -> dict[str, Any]:
    term: dict[str, Any] = {"exitCode": exit_code, "finishedAt": ago(30)}
    if reason:
        term["reason"] = reason
    if signal:
        term["signal"] = signal
    return {"name": name, "ready": False, "restartCount": 0, "state": {"terminated": term}}


def pod(name: str, *, containers: int = 1, init: list[dict[str, Any]] | None = None, phase: str = "Running",
        statuses: list[dict[str, Any]] | None = None, init_statuses: list[dict[str, Any]] | None = None,
        conditions: list[dict[str, Any]] | None = None, created: float = 11040, node: str = "node1",
        ip: str = "10.42.0.5", deleting: bool = False, reason: str = "", gates: list[str] | None = None,
        ) -> dict[str, Any]:
    m = meta(name, created)
    if deleting:
        m["deletionTimestamp"] = ago(-30)
    spec: dict[str, Any] = {"containers": [{"name": f"c{i}", "image": "nginx"} for i in range(containers)]}
    if init is not None:
        spec["initContainers"] = init
    if node:
        spec["nodeName"] = node
    if gates:
        spec["readinessGates"] = [{"conditionType": g} for g in gates]
    status: dict[str, Any] = {"phase": phase}
    if reason:
        status["reason"] = reason
    if ip:
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}]
    if statuses is not None:
        status["containerStatuses"] = statuses
    if init_statuses is not None:
        status["initContainerStatuses"] = init_statuses
    if conditions is not None:
        status["conditions"] = conditions
    return {"apiVersion": "v1", "kind": "Pod", "metadata": m, "spec": spec, "status": status}


READY = [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}]
NOT_READY = [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "False"}]

POD_CASES: list[tuple[str, dict[str, Any], list[Any]]] = [
    ("running-2of2-with-restarts",
     pod("web", containers=2, conditions=READY,
         statuses=[running("c0", restarts=1, finished=3600), running("c1", restarts=2, finished=600)]),
     ["web", "2/2", "Running", "3 (10m ago)", "3h4m", "10.42.0.5", "node1", "<none>", "<none>"]),
    ("pending-unscheduled",
     pod("pend", phase="Pending", node="", ip="", created=59,
         conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]),
     ["pend", "0/1", "Pending", "0", "59s", "<none>", "<none>", "<none>", "<none>"]),
    ("container-creating",
     pod("new", phase="Pending", ip="", statuses=[waiting("c0", "ContainerCreating")], created=5),
     ["new", "0/1", "ContainerCreating", "0", "5s", "<none>", "node1", "<none>", "<none>"]),
    ("crash-loop",
     pod("crash", statuses=[waiting("c0", "CrashLoopBackOff", restarts=5, finished=30)], conditions=NOT_READY),
     ["crash", "0/1", "CrashLoopBackOff", "5 (30s ago)", "3h4m", "10.42.0.5", "node1", "<none>", "<none>"]),
    ("terminating",
     pod("bye", statuses=[running("c0")], conditions=READY, deleting=True),
     ["bye", "1/1", "Terminating", "0", "3h4m", "10.42.0.5", "node1", "<none>", "<none>"]),
    ("completed",
     pod("done", phase="Succeeded", statuses=[terminated("c0", 0, "Completed")]),
     ["done", "0/1", "Completed", "0", "3h4m", "10.42.0.5", "node1", "<none>", "<none>"]),
    ("completed-while-deleting-stays-completed",
     pod("done2", phase="Succeeded", statuses=[terminated("c0", 0, "Completed")], deleting=True),
     ["done2", "0/1", "Completed", "0", "3h4m", "10.42.0.5", "node1", "<none>", "<none>"]),
    ("error",
     pod("err", phase="Failed", statuses=[terminated("c0", 1, "Error")]),
     ["err", "0/1", "Error", "0", "3h4m", "10.42.0.5", "node1", "<none>", "<none>"]),
    ("exit-code-without-reason",
     pod("ec", statuses=[terminated("c0", 137)]),
     ["ec", "0/1", "ExitCode:137", "0", "3h4m", "10.42.0.5", "node1", "<none>", "<none>"]),
    ("signal-without-reason",
     pod("sig", statuses=[terminated("c0", 0, signal=9)]),
     ["sig", "0/1", "Signal:9", "0", "3h4m", "10.42.0.5", "node1", "<none>", "<none>"]),
    ("evicted",
     pod("ev", phase="Failed", reason="Evicted", ip="", statuses=[terminated("c0", 137, "ContainerStatusUnknown")]),
     ["ev", "0/1", "ContainerStatusUnknown", "0", "3h4m", "<none>", "node1", "<none>", "<none>"]),
    ("evicted-no-statuses",
     pod("ev2", phase="Failed", reason="Evicted", ip=""),
     ["ev2", "0/1", "Evicted", "0", "3h4m", "<none>", "node1", "<none>", "<none>"]),
    ("first-container-reason-wins",
     pod("two", containers=2, statuses=[waiting("c0", "ImagePullBackOff"), waiting("c1", "ErrImagePull")]),
     ["two", "0/2", "ImagePullBackOff", "0", "3h4m", "10.42.0.5", "node1", "<none>", "<none>"]),
    ("completed-container-but-another-running-ready",
     pod("mix", containers=2, conditions=READY, statuses=[terminated("c0", 0, "Completed"), running("c1")]),
     ["mix", "1/2", "Running", "0", "3h4m", "10.42.0.5", "node1", "<none>", "<none>"]),
    ("completed-container-but-another-running-not-ready-pod",
     pod("mix2", containers=2, conditions=NOT_READY, statuses=[terminated("c0", 0, "Completed"), running("c1")]),
     ["mix2", "1/2", "NotReady", "0", "3h4m", "10.42.0.5", "node1", "<none>", "<none>"]),
    ("init-running",
     pod("i0", phase="Pending", init=[{"name": "i1"}, {"name": "i2"}], statuses=[waiting("c0", "PodInitializing")],
         init_statuses=[running("i1", ready=False), waiting("i2", "PodInitializing")]),
     ["i0", "0/1", "Init:0/2", "0", "3h4m", "10.42.0.5", "node1", "<none>", "<none>"]),
    ("init-second-running-counts-init-restarts",
     pod("i1", phase="Pending", init=[{"name": "i1"}, {"name": "i2"}],
         init_statuses=[terminated("i1", 0, "Completed") | {"restartCount": 2},
                        running("i2", ready=False)]),
     ["i1", "0/1", "Init:1/2", "2", "3h4m", "10.42.0.5", "node1", "<none>", "<none>"]),
    ("init-crash-loop",
     pod("i2", phase="Pending", init=[{"name": "i1"}],
         init_statuses=[waiting("i1", "CrashLoopBackOff", restarts=4, finished=90)]),
     ["i2", "0/1", "Init:CrashLoopBackOff", "4 (90s ago)", "3h4m", "10.42.0.5", "node1", "<none>", "<none>"]),
    ("init-error",
     pod("i3", phase="Pending", init=[{"name": "i1"}], init_statuses=[terminated("i1", 1, "Error")]),
     ["i3", "0/1", "Init:Error", "0", "3h4m", "10.42.0.5", "node1", "<none>", "<none>"]),
    ("init-exit-code",
     pod("i4", phase="Pending", init=[{"name": "i1"}], init_statuses=[terminated("i1", 3)]),
     ["i4", "0/1", "Init:ExitCode:3", "0", "3h4m", "10.42.0.5", "node1", "<none>", "<none>"]),
    ("init-signal",
     pod("i5", phase="Pending", init=[{"name": "i1"}], init_statuses=[terminated("i1", 0, signal=9) | {
         "state": {"terminated": {"exitCode": 2, "signal": 9}}}]),
     ["i5", "0/1", "Init:Signal:9", "0", "3h4m", "10.42.0.5", "node1", "<none>", "<none>"]),
    ("sidecar-started-counts-as-container",
     pod("side", conditions=READY, init=[{"name": "proxy", "restartPolicy": "Always"}],
         init_statuses=[running("proxy", restarts=1, finished=120)], statuses=[running("c0")]),
     ["side", "2/2", "Running", "1 (2m ago)", "3h4m", "10.42.0.5", "node1", "<none>", "<none>"]),
    ("node-lost-while-deleting",
     pod("lost", reason="NodeLost", statuses=[running("c0")], deleting=True),
     ["lost", "1/1", "Unknown", "0", "3h4m", "10.42.0.5", "node1", "<none>", "<none>"]),
    ("scheduling-gated",
     pod("gated", phase="Pending", node="", ip="",
         conditions=[{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]),
     ["gated", "0/1", "SchedulingGated", "0", "3h4m", "<none>", "<none>", "<none>", "<none>"]),
    ("readiness-gates-and-nominated-node",
     pod("gates", gates=["a", "b"], statuses=[running("c0")],
         conditions=[*READY, {"type": "a", "status": "True"}, {"type": "b", "status": "False"}])
     | {"status": {"phase": "Running", "nominatedNodeName": "node2", "containerStatuses": [running("c0")],
                   "conditions": [{"type": "a", "status": "True"}]}},
     ["gates", "1/1", "Running", "0", "3h4m", "<none>", "node1", "node2", "1/2"]),
]


@pytest.mark.parametrize(("obj", "expected"), [(o, e) for _, o, e in POD_CASES], ids=[i for i, _, _ in POD_CASES])
def test_pod_cells(obj: dict[str, Any], expected: list[Any]) -> None:
    assert row_cells(res("", "v1", "pods"), obj, NOW) == expected


def test_pod_columns() -> None:
    cols = column_definitions(res("", "v1", "pods"))
    assert [(c["name"], c["type"], c["format"], c["priority"]) for c in cols] == [
        ("Name", "string", "name", 0), ("Ready", "string", "", 0), ("Status", "string", "", 0),
        ("Restarts", "string", "", 0), ("Age", "string", "", 0), ("IP", "string", "", 1),
        ("Node", "string", "", 1), ("Nominated Node", "string", "", 1), ("Readiness Gates", "string", "", 1),
    ]
    assert all(c["description"] for c in cols)


# --- everything else ----------------------------------------------------------------------------

def template(*containers: tuple[str, str], **spec: Any) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": n, "image": i} for n, i in containers], **spec}}


SELECTOR = {"matchLabels": {"app": "web"}}

CASES: list[tuple[str, Resource, dict[str, Any], list[Any]]] = [
    ("deployment-mid-rollout", res("apps", "v1", "deployments"),
     {"metadata": meta("web", 300), "spec": {"replicas": 3, "selector": SELECTOR,
                                             "template": template(("web", "nginx:1.27"), ("log", "busybox"))},
      "status": {"replicas": 4, "updatedReplicas": 1, "readyReplicas": 2, "availableReplicas": 2}},
     ["web", "2/3", 1, 2, "5m", "web,log", "nginx:1.27,busybox", "app=web"]),
    ("deployment-new-no-status", res("apps", "v1", "deployments"),
     {"metadata": meta("web", 2), "spec": {"replicas": 1, "selector": {
         "matchLabels": {"tier": "fe", "app": "web"},
         "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]},
                              {"key": "legacy", "operator": "DoesNotExist"}]},
         "template": template(("web", "nginx"))}},
     ["web", "0/1", 0, 0, "2s", "web", "nginx", "app=web,env in (dev,prod),!legacy,tier=fe"]),
    ("replicaset", res("apps", "v1", "replicasets"),
     {"metadata": meta("web-5d4f", 7200), "spec": {"replicas": 3, "selector": SELECTOR,
                                                   "template": template(("web", "nginx"))},
      "status": {"replicas": 3, "readyReplicas": 2}},
     ["web-5d4f", 3, 3, 2, "120m", "web", "nginx", "app=web"]),
    ("replicationcontroller", res("", "v1", "replicationcontrollers"),
     {"metadata": meta("rc", 86400 * 3), "spec": {"replicas": 2, "selector": {"app": "rc"},
                                                  "template": template(("a", "busybox"))},
      "status": {"replicas": 2, "readyReplicas": 2}},
     ["rc", 2, 2, 2, "3d", "a", "busybox", "app=rc"]),
    ("statefulset", res("apps", "v1", "statefulsets"),
     {"metadata": meta("db", 3600 * 30), "spec": {"replicas": 3, "selector": SELECTOR,
                                                  "template": template(("pg", "postgres:16"))},
      "status": {"replicas": 2, "readyReplicas": 1}},
     ["db", "1/3", "30h", "pg", "postgres:16"]),
    ("daemonset", res("apps", "v1", "daemonsets"),
     {"metadata": meta("fluent", 600), "spec": {"selector": SELECTOR,
                                                "template": template(("f", "fluent-bit"),
                                                                     nodeSelector={"kubernetes.io/os": "linux"})},
      "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2,
                 "updatedNumberScheduled": 3, "numberAvailable": 2}},
     ["fluent", 3, 3, 2, 3, 2, "kubernetes.io/os=linux", "10m", "f", "fluent-bit", "app=web"]),
    ("job-running", res("batch", "v1", "jobs"),
     {"metadata": meta("pi", 130), "spec": {"completions": 1, "parallelism": 1,
                                            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}},
                                            "template": template(("pi", "perl"))},
      "status": {"startTime": ago(125), "active": 1}},
     ["pi", "Running", "0/1", "2m5s", "2m10s", "pi", "perl", "batch.kubernetes.io/controller-uid=u1"]),
    ("job-complete", res("batch", "v1", "jobs"),
     {"metadata": meta("done", 3600), "spec": {"completions": 3, "template": template(("x", "busybox"))},
      "status": {"startTime": ago(3600), "completionTime": ago(3555), "succeeded": 3,
                 "conditions": [{"type": "SuccessCriteriaMet", "status": "True"},
                                {"type": "Complete", "status": "True"}]}},
     ["done", "Complete", "3/3", "45s", "60m", "x", "busybox", "<none>"]),
    ("job-parallel-failed", res("batch", "v1", "jobs"),
     {"metadata": meta("par", 60), "spec": {"parallelism": 2, "template": template(("x", "busybox"))},
      "status": {"conditions": [{"type": "Failed", "status": "True"}]}},
     ["par", "Failed", "0/1 of 2", "", "60s", "x", "busybox", "<none>"]),
    ("job-suspended", res("batch", "v1", "jobs"),
     {"metadata": meta("sus", 60), "spec": {"completions": 1, "template": template(("x", "busybox"))},
      "status": {"conditions": [{"type": "Suspended", "status": "True"}]}},
     ["sus", "Suspended", "0/1", "", "60s", "x", "busybox", "<none>"]),
    ("cronjob", res("batch", "v1", "cronjobs"),
     {"metadata": meta("backup", 86400 * 12), "spec": {
         "schedule": "*/5 * * * *", "suspend": False,
         "jobTemplate": {"spec": {"template": template(("b", "busybox"))}}},
      "status": {"active": [{"name": "backup-1"}], "lastScheduleTime": ago(180)}},
     ["backup", "*/5 * * * *", "<none>", "False", 1, "3m", "12d", "b", "busybox", "<none>"]),
    ("cronjob-never-run-with-timezone", res("batch", "v1", "cronjobs"),
     {"metadata": meta("tz", 10), "spec": {"schedule": "0 3 * * *", "timeZone": "Europe/Berlin", "suspend": True,
                                           "jobTemplate": {"spec": {"template": template(("b", "busybox"))}}}},
     ["tz", "0 3 * * *", "Europe/Berlin", "True", 0, "<none>", "10s", "b", "busybox", "<none>"]),
    ("service-clusterip", res("", "v1", "services"),
     {"metadata": meta("kubernetes", 86400 * 40), "spec": {
         "type": "ClusterIP", "clusterIP": "10.43.0.1", "clusterIPs": ["10.43.0.1"],
         "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}},
     ["kubernetes", "ClusterIP", "10.43.0.1", "<none>", "443/TCP", "40d", "<none>"]),
    ("service-nodeport", res("", "v1", "services"),
     {"metadata": meta("web", 60), "spec": {
         "type": "NodePort", "clusterIPs": ["10.43.12.7"], "selector": {"app": "web", "tier": "fe"},
         "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"},
                   {"port": 53, "nodePort": 30053, "protocol": "UDP"}]}},
     ["web", "NodePort", "10.43.12.7", "<none>", "80:30080/TCP,53:30053/UDP", "60s", "app=web,tier=fe"]),
    ("service-loadbalancer-pending", res("", "v1", "services"),
     {"metadata": meta("lb", 60), "spec": {"type": "LoadBalancer", "clusterIPs": ["10.43.0.9"],
                                           "ports": [{"port": 80, "nodePort": 31000, "protocol": "TCP"}]}},
     ["lb", "LoadBalancer", "10.43.0.9", "<pending>", "80:31000/TCP", "60s", "<none>"]),
    ("service-loadbalancer-with-ingress-and-external-ips", res("", "v1", "services"),
     {"metadata": meta("lb2", 60), "spec": {"type": "LoadBalancer", "clusterIPs": ["10.43.0.9"],
                                            "externalIPs": ["1.2.3.4"],
                                            "ports": [{"port": 80, "nodePort": 31000, "protocol": "TCP"}]},
      "status": {"loadBalancer": {"ingress": [{"ip": "192.168.1.20"}, {"hostname": "lb.example"},
                                              {"ip": "192.168.1.10"}]}}},
     ["lb2", "LoadBalancer", "10.43.0.9", "192.168.1.10,192.168.1.20,lb.example,1.2.3.4", "80:31000/TCP",
      "60s", "<none>"]),
    ("service-headless-externalips", res("", "v1", "services"),
     {"metadata": meta("db", 60), "spec": {"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"],
                                           "externalIPs": ["5.6.7.8", "5.6.7.9"], "selector": {"app": "db"}}},
     ["db", "ClusterIP", "None", "5.6.7.8,5.6.7.9", "<none>", "60s", "app=db"]),
    ("service-externalname", res("", "v1", "services"),
     {"metadata": meta("ext", 60), "spec": {"type": "ExternalName", "externalName": "example.com"}},
     ["ext", "ExternalName", "<none>", "example.com", "<none>", "60s", "<none>"]),
    ("endpoints", res("", "v1", "endpoints"),
     {"metadata": meta("web", 60), "subsets": [
         {"addresses": [{"ip": "10.42.0.5"}, {"ip": "10.42.0.6"}], "ports": [{"port": 80}, {"port": 443}]}]},
     ["web", "10.42.0.5:80,10.42.0.6:80,10.42.0.5:443 + 1 more...", "60s"]),
    ("endpoints-empty", res("", "v1", "endpoints"),
     {"metadata": meta("none", 60)}, ["none", "<none>", "60s"]),
    ("endpointslice", res("discovery.k8s.io", "v1", "endpointslices"),
     {"metadata": meta("web-abc", 60), "addressType": "IPv4", "ports": [{"name": "http", "port": 80}, {"name": "x"}],
      "endpoints": [{"addresses": ["10.42.0.5"]}, {"addresses": ["10.42.0.6"]}]},
     ["web-abc", "IPv4", "80,x", "10.42.0.5,10.42.0.6", "60s"]),
    ("endpointslice-empty", res("discovery.k8s.io", "v1", "endpointslices"),
     {"metadata": meta("e", 60), "addressType": "IPv4"}, ["e", "IPv4", "<unset>", "<unset>", "60s"]),
    ("node-ready", res("", "v1", "nodes"),
     {"metadata": meta("node1", 86400 * 2 + 3600 * 3, labels={"node-role.kubernetes.io/control-plane": "",
                                                              "node-role.kubernetes.io/master": "",
                                                              "kubernetes.io/hostname": "node1"}),
      "spec": {"podCIDR": "10.42.0.0/24"},
      "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                 "addresses": [{"type": "InternalIP", "address": "192.168.5.10"}, {"type": "Hostname",
                                                                                  "address": "node1"}],
                 "nodeInfo": {"kubeletVersion": "v1.32.4", "osImage": "Debian GNU/Linux 12 (bookworm)",
                              "kernelVersion": "6.1.0-18-amd64", "containerRuntimeVersion": "containerd://1.6.20"}}},
     ["node1", "Ready", "control-plane,master", "2d3h", "v1.32.4", "192.168.5.10", "<none>",
      "Debian GNU/Linux 12 (bookworm)", "6.1.0-18-amd64", "containerd://1.6.20"]),
    ("node-cordoned", res("", "v1", "nodes"),
     {"metadata": meta("node2", 600, labels={"kubernetes.io/role": "worker"}), "spec": {"unschedulable": True},
      "status": {"conditions": [{"type": "Ready", "status": "True"}],
                 "addresses": [{"type": "ExternalIP", "address": "203.0.113.9"}],
                 "nodeInfo": {"kubeletVersion": "v1.32.4"}}},
     ["node2", "Ready,SchedulingDisabled", "worker", "10m", "v1.32.4", "<none>", "203.0.113.9",
      "<unknown>", "<unknown>", "<unknown>"]),
    ("node-not-ready", res("", "v1", "nodes"),
     {"metadata": meta("node3", 600), "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}},
     ["node3", "NotReady", "<none>", "10m", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"]),
    ("node-no-conditions-cordoned", res("", "v1", "nodes"),
     {"metadata": meta("node4", 600), "spec": {"unschedulable": True}},
     ["node4", "Unknown,SchedulingDisabled", "<none>", "10m", "", "<none>", "<none>", "<unknown>", "<unknown>",
      "<unknown>"]),
    ("namespace", res("", "v1", "namespaces"),
     {"metadata": meta("kube-system", 86400 * 400), "status": {"phase": "Active"}},
     ["kube-system", "Active", "400d"]),
    ("configmap", res("", "v1", "configmaps"),
     {"metadata": meta("cfg", 60), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}},
     ["cfg", 3, "60s"]),
    ("secret", res("", "v1", "secrets"),
     {"metadata": meta("tls", 60), "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}},
     ["tls", "kubernetes.io/tls", 2, "60s"]),
    ("serviceaccount", res("", "v1", "serviceaccounts"),
     {"metadata": meta("default", 60)}, ["default", 0, "60s"]),
    ("event", res("", "v1", "events"),
     {"metadata": meta("web.17f3", 600), "involvedObject": {"kind": "Pod", "name": "web",
                                                            "fieldPath": "spec.containers{web}"},
      "reason": "BackOff", "message": "Back-off restarting failed container\n", "type": "Warning",
      "source": {"component": "kubelet", "host": "node1"}, "firstTimestamp": ago(600),
      "lastTimestamp": ago(65), "count": 7},
     ["65s", "Warning", "BackOff", "pod/web", "spec.containers{web}", "kubelet, node1",
      "Back-off restarting failed container", "10m", 7, "web.17f3"]),
    ("event-new-style-in-core-shape", res("", "v1", "events"),
     {"metadata": meta("sched.1", 30), "involvedObject": {"kind": "Pod", "name": "web"}, "reason": "Scheduled",
      "message": "Successfully assigned default/web to node1", "type": "Normal", "eventTime": ago(30),
      "reportingComponent": "default-scheduler", "reportingInstance": "default-scheduler-node1"},
     ["30s", "Normal", "Scheduled", "pod/web", "", "default-scheduler, default-scheduler-node1",
      "Successfully assigned default/web to node1", "30s", 1, "sched.1"]),
    ("event-events-k8s-io-series", res("events.k8s.io", "v1", "events"),
     {"metadata": meta("x.1", 900), "regarding": {"kind": "Node", "name": "node1"}, "reason": "Rebooted",
      "note": "Node rebooted", "type": "Warning", "eventTime": ago(900), "reportingController": "kubelet",
      "series": {"count": 4, "lastObservedTime": ago(20)}},
     ["20s", "Warning", "Rebooted", "node/node1", "", "kubelet", "Node rebooted", "15m", 4, "x.1"]),
    ("hpa-v2-cpu", res("autoscaling", "v2", "horizontalpodautoscalers"),
     {"metadata": meta("web", 60), "spec": {
         "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 1,
         "maxReplicas": 5, "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
             "type": "Utilization", "averageUtilization": 80}}}]},
      "status": {"currentReplicas": 2, "currentMetrics": [{"type": "Resource", "resource": {
          "name": "cpu", "current": {"averageUtilization": 41, "averageValue": "41m"}}}]}},
     ["web", "Deployment/web", "cpu: 41%/80%", "1", 5, 2, "60s"]),
    ("hpa-v2-unknown-and-more", res("autoscaling", "v2", "horizontalpodautoscalers"),
     {"metadata": meta("web", 60), "spec": {
         "scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 10, "metrics": [
             {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                        "averageUtilization": 50}}},
             {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue",
                                                                           "averageValue": "500Mi"}}},
             {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue",
                                                                            "averageValue": "10"}}}]}},
     ["web", "Deployment/web", "cpu: <unknown>/50%, memory: <unknown>/500Mi + 1 more...", "<unset>", 10, 0,
      "60s"]),
    ("hpa-v2-external-and-object", res("autoscaling", "v2", "horizontalpodautoscalers"),
     {"metadata": meta("q", 60), "spec": {
         "scaleTargetRef": {"kind": "Deployment", "name": "worker"}, "minReplicas": 2, "maxReplicas": 4,
         "metrics": [
             {"type": "External", "external": {"metric": {"name": "queue"}, "target": {"type": "AverageValue",
                                                                                     "averageValue": "30"}}},
             {"type": "Object", "object": {"metric": {"name": "rps"}, "target": {"type": "Value",
                                                                               "value": "100"}}}]},
      "status": {"currentReplicas": 3, "currentMetrics": [
          {"type": "External", "external": {"current": {"averageValue": "12"}}},
          {"type": "Object", "object": {"current": {"value": "80"}}}]}},
     ["q", "Deployment/worker", "12/30 (avg), 80/100", "2", 4, 3, "60s"]),
    ("hpa-v1", res("autoscaling", "v1", "horizontalpodautoscalers"),
     {"metadata": meta("web", 60), "spec": {
         "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 1,
         "maxReplicas": 5, "targetCPUUtilizationPercentage": 50},
      "status": {"currentReplicas": 1, "desiredReplicas": 1, "currentCPUUtilizationPercentage": 20}},
     ["web", "Deployment/web", "cpu: 20%/50%", "1", 5, 1, "60s"]),
    ("hpa-v1-default-target", res("autoscaling", "v1", "horizontalpodautoscalers"),
     {"metadata": meta("web", 60), "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                                            "minReplicas": 1, "maxReplicas": 3}},
     ["web", "Deployment/web", "cpu: <unknown>/80%", "1", 3, 0, "60s"]),
    ("ingress", res("networking.k8s.io", "v1", "ingresses"),
     {"metadata": meta("ing", 60), "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["foo.example.com"]}],
                                            "rules": [{"host": "foo.example.com"}, {"host": "bar.example.com"}]},
      "status": {"loadBalancer": {"ingress": [{"ip": "192.168.5.10"}]}}},
     ["ing", "nginx", "foo.example.com,bar.example.com", "192.168.5.10", "80, 443", "60s"]),
    ("ingress-no-class-catch-all", res("networking.k8s.io", "v1", "ingresses"),
     {"metadata": meta("ing2", 60), "spec": {"rules": [{"http": {"paths": []}}]}},
     ["ing2", "<none>", "*", "", "80", "60s"]),
    ("ingress-many-hosts", res("networking.k8s.io", "v1", "ingresses"),
     {"metadata": meta("ing3", 60), "spec": {"rules": [{"host": "a"}, {}, {"host": "b"}, {"host": "c"},
                                                       {"host": "d"}]}},
     ["ing3", "<none>", "a,b,c + 2 more...", "", "80", "60s"]),
    ("ingressclass", res("networking.k8s.io", "v1", "ingressclasses"),
     {"metadata": meta("nginx", 60), "spec": {"controller": "k8s.io/ingress-nginx", "parameters": {
         "apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "external-lb"}}},
     ["nginx", "k8s.io/ingress-nginx", "IngressParameters.k8s.example.com/external-lb", "60s"]),
    ("networkpolicy-all-pods", res("networking.k8s.io", "v1", "networkpolicies"),
     {"metadata": meta("deny", 60), "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}},
     ["deny", "<none>", "60s"]),
    ("networkpolicy-selected", res("networking.k8s.io", "v1", "networkpolicies"),
     {"metadata": meta("db", 60), "spec": {"podSelector": {"matchLabels": {"role": "db"}}}},
     ["db", "role=db", "60s"]),
    ("pdb", res("policy", "v1", "poddisruptionbudgets"),
     {"metadata": meta("web", 60), "spec": {"minAvailable": 2, "selector": SELECTOR},
      "status": {"disruptionsAllowed": 1}},
     ["web", "2", "N/A", 1, "60s"]),
    ("pdb-percent", res("policy", "v1", "poddisruptionbudgets"),
     {"metadata": meta("web", 60), "spec": {"maxUnavailable": "25%"}},
     ["web", "N/A", "25%", 0, "60s"]),
    ("lease", res("coordination.k8s.io", "v1", "leases"),
     {"metadata": meta("kube-scheduler", 60), "spec": {"holderIdentity": "node1_1234"}},
     ["kube-scheduler", "node1_1234", "60s"]),
    ("priorityclass", res("scheduling.k8s.io", "v1", "priorityclasses"),
     {"metadata": meta("system-node-critical", 60), "value": 2000001000,
      "preemptionPolicy": "PreemptLowerPriority"},
     ["system-node-critical", 2000001000, False, "60s", "PreemptLowerPriority"]),
    ("storageclass-default", res("storage.k8s.io", "v1", "storageclasses"),
     {"metadata": meta("local-path", 60, annotations={"storageclass.kubernetes.io/is-default-class": "true"}),
      "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"},
     ["local-path (default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer", False, "60s"]),
    ("pv", res("", "v1", "persistentvolumes"),
     {"metadata": meta("pv1", 60), "spec": {"capacity": {"storage": "1Gi"},
                                            "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                                            "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "manual",
                                            "claimRef": {"namespace": "default", "name": "data"},
                                            "volumeMode": "Filesystem"},
      "status": {"phase": "Bound"}},
     ["pv1", "1Gi", "RWO,RWX", "Retain", "Bound", "default/data", "manual", "<unset>", "", "60s", "Filesystem"]),
    ("pvc-bound", res("", "v1", "persistentvolumeclaims"),
     {"metadata": meta("data", 60), "spec": {"volumeName": "pv1", "storageClassName": "manual",
                                             "resources": {"requests": {"storage": "500Mi"}},
                                             "volumeMode": "Filesystem"},
      "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]}},
     ["data", "Bound", "pv1", "1Gi", "RWO", "manual", "<unset>", "60s", "Filesystem"]),
    ("pvc-pending-deleting", res("", "v1", "persistentvolumeclaims"),
     {"metadata": meta("data", 60, deletionTimestamp=ago(1)), "spec": {"storageClassName": "manual"},
      "status": {"phase": "Pending"}},
     ["data", "Terminating", "", "", "", "manual", "<unset>", "60s", "<unset>"]),
    ("resourcequota", res("", "v1", "resourcequotas"),
     {"metadata": meta("q", 60), "status": {"hard": {"pods": "10", "requests.cpu": "2", "limits.memory": "2Gi"},
                                            "used": {"pods": "3", "limits.memory": "512Mi"}}},
     ["q", "pods: 3/10, requests.cpu: 0/2", "limits.memory: 512Mi/2Gi", "60s"]),
    ("rolebinding", res("rbac.authorization.k8s.io", "v1", "rolebindings"),
     {"metadata": meta("read", 60), "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                                "name": "reader"},
      "subjects": [{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "devs"},
                   {"kind": "ServiceAccount", "namespace": "ci", "name": "bot"}, {"kind": "User", "name": "bob"}]},
     ["read", "Role/reader", "60s", "alice, bob", "devs", "ci/bot"]),
    ("clusterrolebinding", res("rbac.authorization.k8s.io", "v1", "clusterrolebindings"),
     {"metadata": meta("admin", 60), "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
      "subjects": [{"kind": "Group", "name": "system:masters"}]},
     ["admin", "ClusterRole/cluster-admin", "60s", "", "system:masters", ""]),
    ("role-default-table", res("rbac.authorization.k8s.io", "v1", "roles"),
     {"metadata": meta("reader", 60), "rules": []}, ["reader", "2025-03-10T11:59:00Z"]),
    ("clusterrole-default-table", res("rbac.authorization.k8s.io", "v1", "clusterroles"),
     {"metadata": {"name": "view", "creationTimestamp": "2025-01-02T03:04:05.123456+01:00"}},
     ["view", "2025-01-02T02:04:05Z"]),
    ("limitrange-default-table", res("", "v1", "limitranges"),
     {"metadata": meta("limits", 60)}, ["limits", "2025-03-10T11:59:00Z"]),
    ("controllerrevision", res("apps", "v1", "controllerrevisions"),
     {"metadata": meta("fluent-7b9", 60, ownerReferences=[
         {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "fluent", "uid": "u", "controller": True}]),
      "revision": 2},
     ["fluent-7b9", "daemonset.apps/fluent", 2, "60s"]),
    ("controllerrevision-orphan", res("apps", "v1", "controllerrevisions"),
     {"metadata": meta("r", 60), "revision": 1}, ["r", "<none>", 1, "60s"]),
    ("podtemplate", res("", "v1", "podtemplates"),
     {"metadata": meta("tpl", 60), "template": template(("a", "busybox"), ("b", "nginx"))},
     ["tpl", "a,b", "busybox,nginx", "app=web"]),
]


@pytest.mark.parametrize(("resource", "obj", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_cells(resource: Resource, obj: dict[str, Any], expected: list[Any]) -> None:
    assert row_cells(resource, obj, NOW) == expected


COLUMN_NAMES = [
    ("deployments", "apps", ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"]),
    ("services", "", ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"]),
    ("nodes", "", ["Name", "Status", "Roles", "Age", "Version", "Internal-IP", "External-IP", "OS-Image",
                   "Kernel-Version", "Container-Runtime"]),
    ("jobs", "batch", ["Name", "Status", "Completions", "Duration", "Age", "Containers", "Images", "Selector"]),
    ("cronjobs", "batch", ["Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age",
                           "Containers", "Images", "Selector"]),
    ("events", "", ["Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message", "First Seen",
                    "Count", "Name"]),
    ("roles", "rbac.authorization.k8s.io", ["Name", "Created At"]),
]


@pytest.mark.parametrize(("plural", "group", "names"), COLUMN_NAMES, ids=[c[0] for c in COLUMN_NAMES])
def test_column_names(plural: str, group: str, names: list[str]) -> None:
    version = "v1"
    assert [c["name"] for c in column_definitions(res(group, version, plural))] == names


def test_priorities_and_types() -> None:
    cols = {c["name"]: c for c in column_definitions(res("", "v1", "services"))}
    assert cols["Selector"]["priority"] == 1 and cols["Port(s)"]["priority"] == 0
    assert column_definitions(res("rbac.authorization.k8s.io", "v1", "roles"))[1]["type"] == "date"
    rs = {c["name"]: c for c in column_definitions(res("apps", "v1", "replicasets"))}
    assert rs["Desired"]["type"] == "integer"
    events = {c["name"]: c for c in column_definitions(res("", "v1", "events"))}
    assert events["Name"] == {**events["Name"], "format": "name", "priority": 1}


@pytest.mark.parametrize("resource", RESOURCES, ids=[f"{r.group or 'core'}/{r.version}/{r.plural}" for r in RESOURCES])
def test_every_resource_has_matching_cells_even_for_bare_objects(resource: Resource) -> None:
    cols = column_definitions(resource)
    assert cols[0]["name"] in ("Name", "Last Seen")
    assert all(set(c) == {"name", "type", "format", "description", "priority"} for c in cols)
    assert sum(c["format"] == "name" for c in cols) == 1
    cells = row_cells(resource, {"metadata": {"name": "x"}}, NOW)
    assert len(cells) == len(cols)


# --- the whole table -------------------------------------------------------------------------------

PODS = res("", "v1", "pods")


def two_pods() -> list[dict[str, Any]]:
    a = pod("a", statuses=[running("c0")], conditions=READY)
    a["metadata"]["labels"] = {"app": "a"}
    b = pod("b", phase="Succeeded", statuses=[terminated("c0", 0, "Completed")])
    return [a, b]


def test_table_with_partial_metadata() -> None:
    table = build_table(PODS, two_pods(), now=NOW, resource_version="42", continue_token="tok", remaining=3)
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "42", "continue": "tok", "remainingItemCount": 3}
    assert [c["name"] for c in table["columnDefinitions"]][:5] == ["Name", "Ready", "Status", "Restarts", "Age"]
    first, second = table["rows"]
    assert first["cells"][:3] == ["a", "1/1", "Running"]
    assert first["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                               "metadata": two_pods()[0]["metadata"]}
    assert "conditions" not in first
    assert second["conditions"] == [{"type": "Completed", "status": "True", "reason": "Succeeded",
                                     "message": "The pod has completed successfully."}]


def test_table_include_object_and_none() -> None:
    objs = two_pods()
    full = build_table(PODS, objs, include_object="Object", now=NOW)
    assert full["rows"][0]["object"] is objs[0]
    assert full["metadata"] == {}
    bare = build_table(PODS, objs, include_object="None", now=NOW)
    assert all("object" not in r for r in bare["rows"])
    default = build_table(PODS, objs, include_object="", now=NOW)
    assert default["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_table_no_headers_for_later_watch_events() -> None:
    table = build_table(PODS, two_pods()[:1], now=NOW, no_headers=True, resource_version="9")
    assert "columnDefinitions" not in table
    assert len(table["rows"]) == 1


def test_table_rejects_unknown_include_object() -> None:
    with pytest.raises(ValueError, match="unrecognized includeObject value"):
        build_table(PODS, [], include_object="Everything", now=NOW)


def test_empty_table_keeps_columns() -> None:
    table = build_table(res("apps", "v1", "deployments"), [], now=NOW)
    assert table["rows"] == [] and len(table["columnDefinitions"]) == 8


# --- the real kubectl prints our tables ----------------------------------------------------------

KUBECTL = "/usr/bin/kubectl"
PORTS = range(18400, 18410)
DISCOVERY_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: t
  cluster: {server: "http://127.0.0.1:%d"}
contexts:
- name: t
  context: {cluster: t, user: t, namespace: default}
current-context: t
users:
- name: t
  user: {}
"""


def kubectl_pods() -> list[dict[str, Any]]:
    by_id = {case_id: obj for case_id, obj, _ in POD_CASES}
    return [by_id[i] for i in ("running-2of2-with-restarts", "pending-unscheduled", "terminating", "scheduling-gated")]


def pods_discovery() -> dict[str, Any]:
    pods = {"resource": "pods", "responseKind": {"group": "", "version": "v1", "kind": "Pod"},
            "scope": "Namespaced", "singularResource": "pod", "shortNames": ["po"], "categories": ["all"],
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]}
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
            "items": [{"metadata": {"name": ""}, "versions": [
                {"version": "v1", "resources": [pods], "freshness": "Current"}]}]}


async def run_kubectl(*args: str, port: int, home: str, kubeconfig: str) -> str:
    env = {"HOME": home, "KUBECONFIG": kubeconfig, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    proc = await asyncio.create_subprocess_exec(
        KUBECTL, "--server", f"http://127.0.0.1:{port}", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode == 0, err.decode()
    return out.decode()


def printed_rows(output: str) -> list[list[str]]:
    # kubectl pads columns with at least three spaces; cells themselves hold single spaces.
    return [re.split(r"\s{2,}", line.strip()) for line in output.splitlines() if line.strip()]


@pytest.mark.skipif(not os.path.exists(KUBECTL), reason="needs the real kubectl at /usr/bin/kubectl")
async def test_real_kubectl_prints_server_table(tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []
    pods = kubectl_pods()

    async def version(request: web.Request) -> web.Response:
        return web.json_response({"major": "1", "minor": "32", "gitVersion": "v1.32.4", "platform": "linux/amd64"})

    async def api(request: web.Request) -> web.Response:
        return web.Response(text=json.dumps(pods_discovery()), content_type=None,
                            headers={"Content-Type": DISCOVERY_TYPE})

    async def apis(request: web.Request) -> web.Response:
        body = {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
                "items": []}
        return web.Response(text=json.dumps(body), content_type=None, headers={"Content-Type": DISCOVERY_TYPE})

    async def list_pods(request: web.Request) -> web.Response:
        accept = request.headers.get("Accept", "")
        seen.append((request.path_qs, accept))
        assert "as=Table" in accept
        table = build_table(PODS, pods, include_object=request.query.get("includeObject", ""), now=NOW,
                            resource_version="12")
        return web.json_response(table)

    app = web.Application()
    app.router.add_get("/version", version)
    app.router.add_get("/api", api)
    app.router.add_get("/apis", apis)
    app.router.add_get("/api/v1/namespaces/default/pods", list_pods)
    app.router.add_get("/api/v1/pods", list_pods)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = 0
    for candidate in PORTS:
        try:
            await web.TCPSite(runner, "127.0.0.1", candidate).start()
        except OSError:
            continue
        port = candidate
        break
    assert port, "no free port in 18400-18409"
    try:
        home = tmp_path / "home"
        home.mkdir()
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(KUBECONFIG % port)
        plain = await run_kubectl("get", "pods", port=port, home=str(home), kubeconfig=str(kubeconfig))
        wide = await run_kubectl("get", "pods", "-o", "wide", port=port, home=str(home),
                                 kubeconfig=str(kubeconfig))
        labels = await run_kubectl("get", "pods", "-A", "--show-labels", port=port, home=str(home),
                                   kubeconfig=str(kubeconfig))
        # --sort-by asks for includeObject=Object and sorts on the full objects in the rows.
        by_name = await run_kubectl("get", "pods", "--sort-by=.metadata.name", port=port, home=str(home),
                                    kubeconfig=str(kubeconfig))
    finally:
        await runner.cleanup()

    assert printed_rows(plain) == [
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        ["web", "2/2", "Running", "3 (10m ago)", "3h4m"],
        ["pend", "0/1", "Pending", "0", "59s"],
        ["bye", "1/1", "Terminating", "0", "3h4m"],
        ["gated", "0/1", "SchedulingGated", "0", "3h4m"],
    ]
    assert printed_rows(wide) == [
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"],
        ["web", "2/2", "Running", "3 (10m ago)", "3h4m", "10.42.0.5", "node1", "<none>", "<none>"],
        ["pend", "0/1", "Pending", "0", "59s", "<none>", "<none>", "<none>", "<none>"],
        ["bye", "1/1", "Terminating", "0", "3h4m", "10.42.0.5", "node1", "<none>", "<none>"],
        ["gated", "0/1", "SchedulingGated", "0", "3h4m", "<none>", "<none>", "<none>", "<none>"],
    ]
    # The NAMESPACE and LABELS columns come from the rows' PartialObjectMetadata.
    assert printed_rows(labels)[0] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "LABELS"]
    assert printed_rows(labels)[1] == ["default", "web", "2/2", "Running", "3 (10m ago)", "3h4m", "<none>"]
    assert [row[0] for row in printed_rows(by_name)] == ["NAME", "bye", "gated", "pend", "web"]
    assert [path for path, _ in seen] == [
        "/api/v1/namespaces/default/pods?limit=500",
        "/api/v1/namespaces/default/pods?limit=500",
        "/api/v1/pods?limit=500",
        "/api/v1/namespaces/default/pods?includeObject=Object",
    ]
