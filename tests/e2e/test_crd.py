"""CustomResourceDefinitions through real kubectl against a real `kyb server`.

One CRD (namespaced, short name, category, printer columns, status and scale subresources, two
served versions, defaults, int-or-string and an embedded resource) is applied once; the tests
then use it the way a user's kubectl session does.
"""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Iterator

import pytest

from kybernetes.testing.cluster import KybServer

pytestmark = pytest.mark.e2e

CRD = textwrap.dedent("""\
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: crontabs.stable.example.com
    spec:
      group: stable.example.com
      scope: Namespaced
      names:
        plural: crontabs
        singular: crontab
        kind: CronTab
        shortNames: [ct]
        categories: [all]
      versions:
      - name: v1beta1
        served: true
        storage: false
        schema:
          openAPIV3Schema:
            type: object
            properties:
              spec:
                type: object
                x-kubernetes-preserve-unknown-fields: true
              status:
                type: object
                x-kubernetes-preserve-unknown-fields: true
      - name: v1
        served: true
        storage: true
        subresources:
          status: {}
          scale:
            specReplicasPath: .spec.replicas
            statusReplicasPath: .status.replicas
        additionalPrinterColumns:
        - name: Spec
          type: string
          jsonPath: .spec.cronSpec
        - name: Replicas
          type: integer
          jsonPath: .spec.replicas
        - name: Age
          type: date
          jsonPath: .metadata.creationTimestamp
        schema:
          openAPIV3Schema:
            type: object
            description: A CronTab runs a command on a schedule.
            properties:
              spec:
                type: object
                description: What to run and when.
                required: [cronSpec]
                properties:
                  cronSpec:
                    type: string
                    description: The schedule in cron format.
                  image:
                    type: string
                    default: busybox
                  replicas:
                    type: integer
                    minimum: 1
                    maximum: 10
                    default: 1
                  port:
                    x-kubernetes-int-or-string: true
                  template:
                    type: object
                    x-kubernetes-embedded-resource: true
                    x-kubernetes-preserve-unknown-fields: true
              status:
                type: object
                properties:
                  replicas:
                    type: integer
                  phase:
                    type: string
    """)


def crontab(name: str, spec: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: stable.example.com/v1
        kind: CronTab
        metadata:
          name: {name}
        spec:
        """) + textwrap.indent(textwrap.dedent(spec), "  ")


@pytest.fixture(scope="module")
def crd(kyb: KybServer) -> Iterator[KybServer]:
    kyb.kubectl("apply", "-f", "-", input=CRD)
    kyb.kubectl("wait", "--for=condition=established", "crd/crontabs.stable.example.com", "--timeout=20s")
    yield kyb


def test_crd_status_conditions_and_discovery(crd: KybServer) -> None:
    got = json.loads(crd.kubectl("get", "crd", "crontabs.stable.example.com", "-o", "json").stdout)
    conditions = {c["type"]: (c["status"], c["reason"]) for c in got["status"]["conditions"]}
    assert conditions["NamesAccepted"] == ("True", "NoConflicts")
    assert conditions["Established"] == ("True", "InitialNamesAccepted")
    assert got["status"]["acceptedNames"]["shortNames"] == ["ct"]
    assert got["status"]["storedVersions"] == ["v1"]
    assert "customresourcecleanup.apiextensions.k8s.io" in got["metadata"]["finalizers"]
    lines = crd.kubectl("api-resources", "--api-group=stable.example.com").stdout.splitlines()
    assert lines[1].split() == ["crontabs", "ct", "stable.example.com/v1", "true", "CronTab"]
    versions = crd.kubectl("api-versions").stdout.split()
    assert {"stable.example.com/v1", "stable.example.com/v1beta1"} <= set(versions)


def test_get_by_short_name_shows_printer_columns_and_defaults(crd: KybServer) -> None:
    crd.kubectl("apply", "-f", "-", input=crontab("first", 'cronSpec: "* * * * */5"\nreplicas: 3\nport: http\n'))
    out = crd.kubectl("get", "ct").stdout.splitlines()
    assert out[0].split() == ["NAME", "SPEC", "REPLICAS", "AGE"]
    assert out[1].split()[:7] == ["first", "*", "*", "*", "*", "*/5", "3"]
    obj = json.loads(crd.kubectl("get", "ct", "first", "-o", "json").stdout)
    assert obj["spec"] == {"cronSpec": "* * * * */5", "replicas": 3, "port": "http", "image": "busybox"}
    assert obj["metadata"]["generation"] == 1
    # `kubectl get all` includes the category
    assert "crontab.stable.example.com/first" in crd.kubectl("get", "all").stdout


def test_both_versions_serve_the_same_objects(crd: KybServer) -> None:
    crd.kubectl("apply", "-f", "-", input=crontab("versions", 'cronSpec: "1 * * * *"\n'))
    for version in ("v1", "v1beta1"):
        obj = json.loads(crd.kubectl("get", f"crontabs.{version}.stable.example.com", "versions", "-o", "json").stdout)
        assert obj["apiVersion"] == f"stable.example.com/{version}"
        assert obj["spec"]["cronSpec"] == "1 * * * *"


def test_explain(crd: KybServer) -> None:
    out = crd.kubectl("explain", "crontab.spec").stdout
    assert "KIND:       CronTab" in out
    assert "What to run and when." in out
    assert "cronSpec\t<string> -required-" in out
    assert "The schedule in cron format." in out


def test_invalid_custom_resource_is_rejected_with_upstream_text(crd: KybServer) -> None:
    proc = crd.kubectl("apply", "-f", "-", input=crontab("bad", 'cronSpec: "* * * * *"\nreplicas: two\n'),
                       check=False)
    assert proc.returncode != 0
    assert ('The CronTab "bad" is invalid: spec.replicas: Invalid value: "string": '
            'spec.replicas in body must be of type integer: "string"') in proc.stderr
    proc = crd.kubectl("apply", "-f", "-", input=crontab("big", 'cronSpec: "* * * * *"\nreplicas: 11\n'),
                       check=False)
    assert "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10" in proc.stderr
    proc = crd.kubectl("apply", "-f", "-", input=crontab("nospec", "image: x\n"), check=False)
    assert 'The CronTab "nospec" is invalid: spec.cronSpec: Required value' in proc.stderr


def test_unknown_fields_rejected_under_strict_and_pruned_otherwise(crd: KybServer) -> None:
    manifest = crontab("unknown", 'cronSpec: "* * * * *"\nfoo: bar\n')
    proc = crd.kubectl("create", "-f", "-", input=manifest, check=False)
    assert proc.returncode != 0
    assert ('CronTab in version "v1" cannot be handled as a CronTab: strict decoding error: '
            'unknown field "spec.foo"') in proc.stderr
    proc = crd.kubectl("create", "--validate=warn", "-f", "-", input=manifest)
    assert 'unknown field "spec.foo"' in proc.stderr
    obj = json.loads(crd.kubectl("get", "ct", "unknown", "-o", "json").stdout)
    assert "foo" not in obj["spec"]


def test_scale_and_status_subresources(crd: KybServer) -> None:
    crd.kubectl("apply", "-f", "-", input=crontab("scaled", 'cronSpec: "* * * * *"\nreplicas: 2\n'))
    crd.kubectl("scale", "ct", "scaled", "--replicas=5")
    obj = json.loads(crd.kubectl("get", "ct", "scaled", "-o", "json").stdout)
    assert obj["spec"]["replicas"] == 5
    assert obj["metadata"]["generation"] == 2
    # /status changes only status
    crd.kubectl("patch", "ct", "scaled", "--subresource=status", "--type=merge",
                "-p", '{"status":{"replicas":4,"phase":"Running"},"spec":{"replicas":9}}')
    obj = json.loads(crd.kubectl("get", "ct", "scaled", "-o", "json").stdout)
    assert obj["spec"]["replicas"] == 5
    assert obj["status"] == {"replicas": 4, "phase": "Running"}
    assert obj["metadata"]["generation"] == 2
    # the main resource ignores status
    crd.kubectl("patch", "ct", "scaled", "--type=merge", "-p", '{"status":{"phase":"Other"}}')
    obj = json.loads(crd.kubectl("get", "ct", "scaled", "-o", "json").stdout)
    assert obj["status"]["phase"] == "Running"
    scale = json.loads(crd.kubectl("get", "--raw",
                                   "/apis/stable.example.com/v1/namespaces/default/crontabs/scaled/scale").stdout)
    assert scale["spec"] == {"replicas": 5} and scale["status"]["replicas"] == 4


def test_strategic_merge_patch_is_not_supported(crd: KybServer) -> None:
    crd.kubectl("apply", "-f", "-", input=crontab("smp", 'cronSpec: "* * * * *"\n'))
    proc = crd.kubectl("patch", "ct", "smp", "-p", '{"spec":{"image":"x"}}', check=False)
    assert proc.returncode != 0
    assert "UnsupportedMediaType" in proc.stderr or "unknown format" in proc.stderr
    crd.kubectl("patch", "ct", "smp", "--type=merge", "-p", '{"spec":{"image":"x"}}')


WIDGETS = textwrap.dedent("""\
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: widgets.example.org
    spec:
      group: example.org
      scope: Cluster
      names: {plural: widgets, singular: widget, kind: Widget}
      versions:
      - name: v1
        served: true
        storage: true
        schema:
          openAPIV3Schema:
            type: object
            x-kubernetes-preserve-unknown-fields: true
    """)


def test_deleting_a_crd_removes_its_objects(kyb: KybServer) -> None:
    kyb.kubectl("apply", "-f", "-", input=WIDGETS)
    kyb.kubectl("wait", "--for=condition=established", "crd/widgets.example.org", "--timeout=20s")
    for name in ("a", "b"):
        kyb.kubectl("apply", "-f", "-", input=f"apiVersion: example.org/v1\nkind: Widget\nmetadata:\n  name: {name}\n"
                                              "size: 3\n")
    out = kyb.kubectl("get", "widgets").stdout.splitlines()
    assert [line.split()[0] for line in out] == ["NAME", "a", "b"]
    assert out[0].split() == ["NAME", "AGE"]
    kyb.kubectl("delete", "crd", "widgets.example.org", "--timeout=30s")
    deadline = time.monotonic() + 10
    while "widgets" in kyb.kubectl("api-resources").stdout and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "widgets" not in kyb.kubectl("api-resources").stdout
    kyb.kubectl("apply", "-f", "-", input=WIDGETS)
    kyb.kubectl("wait", "--for=condition=established", "crd/widgets.example.org", "--timeout=20s")
    assert kyb.kubectl("get", "widgets", "-o", "name").stdout.strip() == ""
