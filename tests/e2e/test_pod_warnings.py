"""Real kubectl against a real `kyb server`: warnings about valid but doubtful pods and pod
templates arrive as `Warning: 299` headers, which kubectl prints on stderr as `Warning: ...`
while the write itself succeeds; new pod validations answer 422 with upstream's texts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer

pytestmark = pytest.mark.e2e


def pod(name: str, container: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    c = {"name": "app", "image": "busybox", **(container or {})}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [c], **spec},
    }


def warnings_of(stderr: str) -> list[str]:
    return [line.removeprefix("Warning: ") for line in stderr.splitlines() if line.startswith("Warning: ")]


def test_pod_create_prints_upstream_warnings(kyb: KybServer) -> None:
    obj = pod(
        "dup-ports", {"ports": [{"containerPort": 80}]}, nodeSelector={"beta.kubernetes.io/arch": "amd64"}
    )
    obj["spec"]["containers"].append({"name": "side", "image": "busybox", "ports": [{"containerPort": 80}]})
    proc = kyb.kubectl("create", "-f", "-", input=json.dumps(obj))
    assert warnings_of(proc.stderr) == [
        'spec.nodeSelector[beta.kubernetes.io/arch]: deprecated since v1.14; use "kubernetes.io/arch" instead',
        "spec.containers[1].ports[0]: duplicate port definition with spec.containers[0].ports[0]",
    ]
    assert "pod/dup-ports created" in proc.stdout


def test_deployment_template_warnings_carry_the_template_path(kyb: KybServer) -> None:
    dep = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "graceless"},
        "spec": {
            "selector": {"matchLabels": {"app": "g"}},
            "template": {
                "metadata": {"labels": {"app": "g"}},
                "spec": {
                    "terminationGracePeriodSeconds": -1,
                    "containers": [{"name": "a", "image": "busybox"}],
                },
            },
        },
    }
    proc = kyb.kubectl("apply", "-f", "-", input=json.dumps(dep))
    assert proc.returncode == 0, proc.stderr
    assert warnings_of(proc.stderr) == [
        "spec.template.spec.terminationGracePeriodSeconds: must be >= 0; negative values are invalid and will be "
        "treated as 1"
    ]
    # an update that leaves the spec alone says nothing; one that changes it warns again
    proc = kyb.kubectl("label", "deployment", "graceless", "team=a")
    assert warnings_of(proc.stderr) == []
    proc = kyb.kubectl("patch", "deployment", "graceless", "-p", '{"spec":{"minReadySeconds":1}}')
    assert len(warnings_of(proc.stderr)) == 1, proc.stderr


def test_new_pod_rules_refuse_with_upstream_texts(kyb: KybServer) -> None:
    bad = pod(
        "blocky",
        {
            "volumeDevices": [{"name": "scratch", "devicePath": "/dev/x"}],
            "volumeMounts": [{"name": "scratch", "mountPath": "/s", "mountPropagation": "Bidirectional"}],
        },
        volumes=[{"name": "scratch", "emptyDir": {}}],
    )
    proc = kyb.kubectl("create", "-f", "-", input=json.dumps(bad), check=False)
    assert proc.returncode != 0
    assert proc.stderr.strip() == (
        'The Pod "blocky" is invalid: \n'
        '* spec.containers[0].volumeMounts[0].name: Invalid value: "scratch": must not already exist in '
        "volumeDevices\n"
        "* spec.containers[0].volumeMounts.mountPropagation: Forbidden: Bidirectional mount propagation is "
        "available only to privileged containers\n"
        '* spec.containers[0].volumeDevices[0].name: Invalid value: "scratch": can only use volume source type of '
        "PersistentVolumeClaim or Ephemeral for block mode\n"
        '* spec.containers[0].volumeDevices[0].name: Invalid value: "scratch": must not already exist in '
        "volumeMounts"
    )


def test_apparmor_annotation_becomes_the_field(kyb: KybServer) -> None:
    obj = pod("armored")
    obj["metadata"]["annotations"] = {"container.apparmor.security.beta.kubernetes.io/app": "runtime/default"}
    proc = kyb.kubectl("create", "-f", "-", input=json.dumps(obj))
    assert warnings_of(proc.stderr) == [
        "metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]: deprecated since v1.30; "
        'use the "appArmorProfile" field instead'
    ]
    got = json.loads(kyb.kubectl("get", "pod", "armored", "-o", "json").stdout)
    assert got["spec"]["containers"][0]["securityContext"]["appArmorProfile"] == {"type": "RuntimeDefault"}
