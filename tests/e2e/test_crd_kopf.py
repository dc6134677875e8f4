"""A kopf operator (from PyPI) runs against `kyb server`: it watches a custom resource, patches
its status, creates a ConfigMap it owns, posts events and handles deletion with its finalizer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kybernetes.testing.cluster import KybServer

pytestmark = pytest.mark.e2e

CRD = textwrap.dedent("""\
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: greetings.kopf.example.com
    spec:
      group: kopf.example.com
      scope: Namespaced
      names: {plural: greetings, singular: greeting, kind: Greeting, shortNames: [gr]}
      versions:
      - name: v1
        served: true
        storage: true
        subresources: {status: {}}
        schema:
          openAPIV3Schema:
            type: object
            properties:
              spec:
                type: object
                properties:
                  message: {type: string}
              status:
                type: object
                x-kubernetes-preserve-unknown-fields: true
    """)

OPERATOR = textwrap.dedent('''\
    import kopf
    import kubernetes


    @kopf.on.startup()
    def configure(settings, **_):
        settings.watching.server_timeout = 30
        settings.posting.level = 20  # INFO: handler outcomes become events


    @kopf.on.create("kopf.example.com", "v1", "greetings")
    def greet(body, spec, name, namespace, patch, logger, **_):
        cm = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": f"greeting-{name}"}, "data": {"message": spec.get("message", "")}}
        kopf.adopt(cm)
        kubernetes.config.load_kube_config()
        kubernetes.client.CoreV1Api().create_namespaced_config_map(namespace, cm)
        patch.status["phase"] = "Greeted"
        logger.info("greeted %s", name)
        kopf.info(body, reason="Greeted", message=f"greeted {name}")
        return {"configmap": f"greeting-{name}"}


    @kopf.on.delete("kopf.example.com", "v1", "greetings")
    def farewell(name, namespace, **_):
        kubernetes.config.load_kube_config()
        kubernetes.client.CoreV1Api().create_namespaced_config_map(
            namespace, {"metadata": {"name": f"farewell-{name}"}, "data": {"bye": name}})
    ''')


def wait_for(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError("condition not met in time")


@pytest.fixture(scope="module")
def operator(kyb: KybServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[subprocess.Popen[bytes]]:
    kyb.kubectl("apply", "-f", "-", input=CRD)
    kyb.kubectl("wait", "--for=condition=established", "crd/greetings.kopf.example.com", "--timeout=20s")
    work = tmp_path_factory.mktemp("kopf")
    module = work / "operator.py"
    module.write_text(OPERATOR)
    log = open(work / "kopf.log", "wb")  # noqa: SIM115 - the child writes it until stopped
    env = dict(os.environ, KUBECONFIG=str(kyb.kubeconfig), HOME=str(work))
    kopf = Path(sys.executable).parent / "kopf"
    proc = subprocess.Popen([str(kopf), "run", "--standalone", "--namespace", "default", str(module)],
                            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        if proc.returncode not in (0, -15):
            print((work / "kopf.log").read_text(errors="replace")[-5000:])


def test_kopf_operator_reacts_patches_status_and_finalizes(kyb: KybServer, operator: subprocess.Popen[bytes]) -> None:
    kyb.kubectl("apply", "-f", "-", input=textwrap.dedent("""\
        apiVersion: kopf.example.com/v1
        kind: Greeting
        metadata:
          name: hello
        spec:
          message: hi there
        """))

    def greeted() -> bool:
        obj = json.loads(kyb.kubectl("get", "greeting", "hello", "-o", "json").stdout)
        return (obj.get("status") or {}).get("phase") == "Greeted"

    wait_for(greeted)
    obj = json.loads(kyb.kubectl("get", "greeting", "hello", "-o", "json").stdout)
    assert obj["status"]["greet"] == {"configmap": "greeting-hello"}
    assert "kopf.zalando.org/KopfFinalizerMarker" in obj["metadata"]["finalizers"]
    cm = json.loads(kyb.kubectl("get", "configmap", "greeting-hello", "-o", "json").stdout)
    assert cm["data"] == {"message": "hi there"}
    assert cm["metadata"]["ownerReferences"][0]["kind"] == "Greeting"

    def event_posted() -> bool:
        out = kyb.kubectl("get", "events", "--field-selector", "involvedObject.name=hello", "-o", "json").stdout
        return any("greet" in (e.get("message") or "") for e in json.loads(out)["items"])

    wait_for(event_posted)

    kyb.kubectl("delete", "greeting", "hello", "--timeout=30s")
    assert kyb.kubectl("get", "greeting", "hello", check=False).returncode != 0
    farewell = json.loads(kyb.kubectl("get", "configmap", "farewell-hello", "-o", "json").stdout)
    assert farewell["data"] == {"bye": "hello"}
    assert operator.poll() is None
