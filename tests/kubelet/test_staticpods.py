"""Static pods from manifest files and their mirror pods: table tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kybernetes.kubelet.staticpods import (
    CONFIG_HASH,
    CONFIG_MIRROR,
    CONFIG_SOURCE,
    mirror_pod,
    parse_manifest,
    plan_mirrors,
    read_manifests,
)

WEB = """
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  containers: [{name: app, image: "busybox:1.36", command: [sleep, "3600"]}]
"""


def parse(text: str, source: str = "/m/web.yaml", node: str = "Node1") -> list[dict[str, Any]]:
    pods, problems = parse_manifest(text, node_name=node, source=source)
    assert not problems, problems
    return pods


def test_static_pod_identity_and_defaults() -> None:
    [p] = parse(WEB)
    meta, spec = p["metadata"], p["spec"]
    assert meta["name"] == "web-node1" and meta["namespace"] == "default"
    assert len(meta["uid"]) == 32 and meta["annotations"][CONFIG_HASH] == meta["uid"]
    assert meta["annotations"][CONFIG_SOURCE] == "file"
    assert spec["nodeName"] == "Node1"
    assert {"operator": "Exists", "effect": "NoExecute"} in spec["tolerations"]
    assert spec["restartPolicy"] == "Always" and spec["dnsPolicy"] == "ClusterFirst"
    assert spec["terminationGracePeriodSeconds"] == 30
    c = spec["containers"][0]
    assert c["imagePullPolicy"] == "IfNotPresent" and c["terminationMessagePath"] == "/dev/termination-log"
    assert c["terminationMessagePolicy"] == "File"


@pytest.mark.parametrize(("a", "b", "same"), [
    pytest.param(("/m/web.yaml", "n1", WEB), ("/m/web.yaml", "n1", WEB), True, id="same-file-same-uid"),
    pytest.param(("/m/web.yaml", "n1", WEB), ("/m/web.yaml", "n1", WEB.replace("3600", "3601")), False,
                 id="edited-file-new-uid"),
    pytest.param(("/m/web.yaml", "n1", WEB), ("/m/web.yaml", "n2", WEB), False, id="other-node-new-uid"),
    pytest.param(("/m/web.yaml", "n1", WEB), ("/m/other.yaml", "n1", WEB), False, id="other-path-new-uid"),
    pytest.param(("/m/web.yaml", "n1", WEB), ("/m/web.yaml", "n1", json.dumps(
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {"app": "web"}, "name": "web"},
         "spec": {"containers": [{"name": "app", "image": "busybox:1.36", "command": ["sleep", "3600"]}]}})),
        True, id="json-and-yaml-of-the-same-pod-agree"),
])
def test_uid_stability(a: tuple[str, str, str], b: tuple[str, str, str], same: bool) -> None:
    ua = parse(a[2], a[0], a[1])[0]["metadata"]["uid"]
    ub = parse(b[2], b[0], b[1])[0]["metadata"]["uid"]
    assert (ua == ub) is same


@pytest.mark.parametrize(("text", "problem"), [
    pytest.param("kind: Service\nmetadata: {name: x}\n", "not a Pod", id="not-a-pod"),
    pytest.param("kind: Pod\nmetadata: {}\nspec: {containers: [{name: a, image: b}]}\n", "metadata.name",
                 id="no-name"),
    pytest.param("kind: Pod\nmetadata: {name: x}\nspec: {}\n", "spec.containers", id="no-containers"),
    pytest.param("kind: Pod\nmetadata: {name: x\n", "cannot parse", id="bad-yaml"),
])
def test_bad_manifests(text: str, problem: str) -> None:
    pods, problems = parse_manifest(text, node_name="n", source="/m/x.yaml")
    assert pods == [] and problem in problems[0].message


def test_pod_list_and_multiple_documents(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(WEB + "---\n" + WEB.replace("name: web", "name: api"))
    (tmp_path / "b.json").write_text(json.dumps({"kind": "PodList", "items": [
        {"metadata": {"name": "db", "namespace": "data"}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}}]}))
    (tmp_path / ".swap.yaml").write_text(WEB.replace("name: web", "name: hidden"))
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "dup.yaml").write_text(WEB)
    pods, problems = read_manifests(tmp_path, node_name="n")
    names = sorted(p["metadata"]["namespace"] + "/" + p["metadata"]["name"] for p in pods.values())
    assert names == ["data/db-n", "default/api-n", "default/web-n"]
    assert len(problems) == 1 and "more than once" in problems[0].message


def test_mirror_pod_body() -> None:
    [p] = parse(WEB, node="n1")
    m = mirror_pod(p, node_name="n1", node_uid="node-uid", seen="2026-01-01T00:00:00Z")
    meta = m["metadata"]
    assert "uid" not in meta and meta["name"] == "web-n1"
    assert meta["annotations"][CONFIG_MIRROR] == p["metadata"]["uid"]
    assert meta["annotations"][CONFIG_SOURCE] == "file"
    assert meta["ownerReferences"] == [{"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": "node-uid",
                                        "controller": True}]
    assert m["spec"]["nodeName"] == "n1" and "status" not in m


def mirror_of(static: dict[str, Any], **meta: Any) -> dict[str, Any]:
    m = mirror_pod(static, node_name="n", node_uid="u")
    m["metadata"].update(meta)
    return m


def test_plan_mirrors() -> None:
    [web] = parse(WEB, node="n")
    [api] = parse(WEB.replace("name: web", "name: api"), node="n")
    [web2] = parse(WEB.replace("3600", "99"), node="n")
    stale = mirror_of(web)
    cases = {
        "missing-is-created": ([web], {}, [], ["web-n"]),
        "matching-is-kept": ([web], {"default/web-n": mirror_of(web)}, [], []),
        "edited-is-replaced": ([web2], {"default/web-n": stale}, ["web-n"], ["web-n"]),
        "deleted-is-replaced": ([web], {"default/web-n": mirror_of(web, deletionTimestamp="t")}, ["web-n"],
                                ["web-n"]),
        "orphan-is-deleted": ([api], {"default/web-n": mirror_of(web), "default/api-n": mirror_of(api)},
                              ["web-n"], []),
    }
    for name, (statics, mirrors, delete, create) in cases.items():
        plan = plan_mirrors(statics, mirrors)
        assert [m["metadata"]["name"] for m in plan.delete] == delete, name
        assert [p["metadata"]["name"] for p in plan.create] == create, name
