"""The official Python client against `kyb server`, and state surviving restarts."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from kybernetes.testing.cluster import KybServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def core(kyb: KybServer) -> Iterator[client.CoreV1Api]:
    api_client = config.new_client_from_config(config_file=str(kyb.kubeconfig))
    try:
        yield client.CoreV1Api(api_client)
    finally:
        api_client.close()


def test_crud_and_selectors(core: client.CoreV1Api) -> None:
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="py")))
    for i in range(5):
        core.create_namespaced_config_map("py", client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name=f"cm{i}", labels={"parity": "even" if i % 2 == 0 else "odd"}),
            data={"i": str(i)}))
    cm = core.read_namespaced_config_map("cm3", "py")
    assert cm.data == {"i": "3"} and cm.metadata.labels == {"parity": "odd"}
    cm.data["i"] = "33"
    updated = core.replace_namespaced_config_map("cm3", "py", cm)
    assert updated.data == {"i": "33"}
    with pytest.raises(ApiException) as exc:
        core.replace_namespaced_config_map("cm3", "py", cm)  # stale resourceVersion
    assert exc.value.status == 409
    evens = core.list_namespaced_config_map("py", label_selector="parity=even")
    assert sorted(i.metadata.name for i in evens.items) == ["cm0", "cm2", "cm4"]
    named = core.list_namespaced_config_map("py", field_selector="metadata.name=cm1")
    assert [i.metadata.name for i in named.items] == ["cm1"]
    core.patch_namespaced_config_map("cm1", "py", {"metadata": {"labels": {"patched": "yes"}}})
    assert core.read_namespaced_config_map("cm1", "py").metadata.labels["patched"] == "yes"
    core.delete_namespaced_config_map("cm4", "py")
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_config_map("cm4", "py")
    assert exc.value.status == 404 and json.loads(exc.value.body)["reason"] == "NotFound"


def test_pagination(core: client.CoreV1Api) -> None:
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="pages")))
    for i in range(11):
        core.create_namespaced_config_map("pages", client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name=f"c{i:02d}", labels={"page": "yes"})))
    names: list[str] = []
    token = None
    pages = 0
    while True:
        page = core.list_namespaced_config_map("pages", limit=4, _continue=token, label_selector="page=yes")
        names += [i.metadata.name for i in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
    assert pages == 3 and names == [f"c{i:02d}" for i in range(11)]


def test_watch_with_resume(core: client.CoreV1Api) -> None:
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="wt")))
    start = core.list_namespaced_config_map("wt").metadata.resource_version
    seen: list[tuple[str, str]] = []
    done = threading.Event()

    def consume(rv: str, want: int) -> str:
        w = watch.Watch()
        last = rv
        for ev in w.stream(core.list_namespaced_config_map, "wt", resource_version=rv, timeout_seconds=5,
                           label_selector="watched=yes"):
            seen.append((ev["type"], ev["object"].metadata.name))
            last = ev["object"].metadata.resource_version
            if len(seen) >= want:
                w.stop()
        return last

    for name in ("one", "two"):
        core.create_namespaced_config_map("wt", client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name=name, labels={"watched": "yes"})))
    rv = consume(start, 2)
    assert seen == [("ADDED", "one"), ("ADDED", "two")]
    core.delete_namespaced_config_map("one", "wt")
    consume(rv, 3)  # resume from the last seen resourceVersion: only the new event
    assert seen[2] == ("DELETED", "one")
    done.set()


def test_restart_keeps_objects_versions_and_allocations(tmp_path: Path) -> None:
    server = KybServer(tmp_path / "data")
    server.start()
    try:
        server.kubectl("create", "namespace", "keep")
        server.kubectl("-n", "keep", "create", "configmap", "kept", "--from-literal=a=b")
        server.kubectl("-n", "keep", "create", "service", "nodeport", "np", "--tcp=80:80")
        before_cm = json.loads(server.kubectl("-n", "keep", "get", "cm", "kept", "-o", "json").stdout)
        before_svc = json.loads(server.kubectl("-n", "keep", "get", "svc", "np", "-o", "json").stdout)
        before_rv = int(before_svc["metadata"]["resourceVersion"])
    finally:
        assert server.stop() == 0
    server.start()
    try:
        after_cm = json.loads(server.kubectl("-n", "keep", "get", "cm", "kept", "-o", "json").stdout)
        assert after_cm == before_cm
        after_svc = json.loads(server.kubectl("-n", "keep", "get", "svc", "np", "-o", "json").stdout)
        assert after_svc["spec"]["clusterIP"] == before_svc["spec"]["clusterIP"]
        # the allocations are remembered: asking for the same IP or node port again is refused
        ip = before_svc["spec"]["clusterIP"]
        node_port = before_svc["spec"]["ports"][0]["nodePort"]
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "dup", "namespace": "keep"},
               "spec": {"type": "NodePort", "clusterIP": ip, "ports": [{"port": 81}]}}
        out = server.kubectl("create", "-f", "-", input=json.dumps(svc), check=False)
        assert out.returncode != 0 and "provided IP is already allocated" in out.stderr
        svc["spec"].pop("clusterIP")
        svc["spec"]["ports"][0]["nodePort"] = node_port
        out = server.kubectl("create", "-f", "-", input=json.dumps(svc), check=False)
        assert out.returncode != 0 and "provided port is already allocated" in out.stderr
        server.kubectl("-n", "keep", "create", "configmap", "newer")
        newer = json.loads(server.kubectl("-n", "keep", "get", "cm", "newer", "-o", "json").stdout)
        assert int(newer["metadata"]["resourceVersion"]) > before_rv
    finally:
        server.stop()
