"""CRD conversion webhooks through real kubectl against a real `kyb server`.

A Widget is stored as v1 (``spec.size``, a string such as "3") and also served as v2
(``spec.replicas``, an integer). A real HTTPS conversion webhook on loopback (written here,
trusted through the CRD's caBundle) converts between the two; the tests create, read, list and
watch in both versions, then point the CRD at a webhook that answers wrongly or not at all.
"""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer, free_port
from kybernetes.testing.reviewserver import ReviewServer

pytestmark = pytest.mark.e2e
GROUP = "conv.example.com"
Obj = dict[str, Any]


def convert_widget(obj: Obj, desired: str) -> Obj:
    out = dict(obj, apiVersion=desired)
    spec = dict(obj.get("spec") or {})
    if desired.endswith("/v2") and "size" in spec:
        spec["replicas"] = int(spec.pop("size"))
    elif desired.endswith("/v1") and "replicas" in spec:
        spec["size"] = str(spec.pop("replicas"))
    out["spec"] = spec
    return out


def answer_conversion(path: str, review: Obj) -> Obj:
    """Convert as asked; on ``/bad-uid`` answer for another request."""
    req = review["request"]
    response: Obj = {
        "uid": "not-the-request" if path == "/bad-uid" else req["uid"],
        "result": {"status": "Success"},
        "convertedObjects": [convert_widget(o, req["desiredAPIVersion"]) for o in req["objects"]],
    }
    return {"apiVersion": review["apiVersion"], "kind": "ConversionReview", "response": response}


@pytest.fixture(scope="module")
def webhook() -> Iterator[ReviewServer]:
    with ReviewServer(answer_conversion, name="e2e-conversion") as server:
        yield server


def crd(url: str, ca_bundle: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: widgets.{GROUP}
        spec:
          group: {GROUP}
          scope: Namespaced
          names: {{plural: widgets, singular: widget, kind: Widget}}
          conversion:
            strategy: Webhook
            webhook:
              conversionReviewVersions: [v1]
              clientConfig:
                url: {url}
                caBundle: {ca_bundle}
          versions:
          - name: v1
            served: true
            storage: true
            schema:
              openAPIV3Schema:
                type: object
                properties:
                  spec: {{type: object, properties: {{size: {{type: string}}}}}}
          - name: v2
            served: true
            storage: false
            schema:
              openAPIV3Schema:
                type: object
                properties:
                  spec: {{type: object, properties: {{replicas: {{type: integer}}}}}}
        """)


def widget(name: str, version: str, spec: Obj) -> str:
    return json.dumps(
        {"apiVersion": f"{GROUP}/{version}", "kind": "Widget", "metadata": {"name": name}, "spec": spec}
    )


def get_json(kyb: KybServer, *args: str) -> Any:
    return json.loads(kyb.kubectl("get", *args, "-o", "json").stdout)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, webhook: ReviewServer) -> Iterator[KybServer]:
    kyb = KybServer(Path(tmp_path_factory.mktemp("kyb")))
    kyb.start()
    try:
        kyb.kubectl("apply", "-f", "-", input=crd(webhook.url("/convert"), webhook.ca_bundle))
        kyb.kubectl("wait", "--for=condition=established", f"crd/widgets.{GROUP}", "--timeout=20s")
        yield kyb
    finally:
        kyb.stop()


def test_create_in_one_version_read_in_the_other(cluster: KybServer, webhook: ReviewServer) -> None:
    cluster.kubectl("create", "-f", "-", input=widget("w1", "v1", {"size": "3"}))
    out = cluster.kubectl("get", f"widgets.v2.{GROUP}", "w1", "-o", "yaml").stdout
    assert f"apiVersion: {GROUP}/v2" in out
    assert "replicas: 3" in out and "size" not in out
    path, request = webhook.reviews[-1]
    assert path == "/convert" and request["desiredAPIVersion"] == f"{GROUP}/v2"

    cluster.kubectl("create", "-f", "-", input=widget("w2", "v2", {"replicas": 5}))
    w2 = get_json(cluster, f"widgets.v1.{GROUP}", "w2")
    assert w2["apiVersion"] == f"{GROUP}/v1"
    assert w2["spec"] == {"size": "5"}  # stored in v1, read in v1: no conversion needed

    # lists in both versions: all items converted, in one review per list
    before = len(webhook.reviews)
    v2 = get_json(cluster, f"widgets.v2.{GROUP}")
    assert len(webhook.reviews) == before + 1
    assert len(webhook.reviews[-1][1]["objects"]) == 2
    assert {i["metadata"]["name"]: i["spec"] for i in v2["items"]} == {
        "w1": {"replicas": 3},
        "w2": {"replicas": 5},
    }
    assert {i["apiVersion"] for i in v2["items"]} == {f"{GROUP}/v2"}
    v1 = get_json(cluster, f"widgets.v1.{GROUP}")
    assert {i["metadata"]["name"]: i["spec"] for i in v1["items"]} == {
        "w1": {"size": "3"},
        "w2": {"size": "5"},
    }

    # a patch through v2 changes the stored v1 object
    cluster.kubectl("patch", f"widgets.v2.{GROUP}", "w1", "--type=merge", "-p", '{"spec":{"replicas":7}}')
    assert get_json(cluster, f"widgets.v1.{GROUP}", "w1")["spec"] == {"size": "7"}


def test_watch_in_the_served_version_gets_converted_events(cluster: KybServer) -> None:
    rv = get_json(cluster, f"widgets.v2.{GROUP}")["metadata"]["resourceVersion"]
    cluster.kubectl("create", "-f", "-", input=widget("w3", "v1", {"size": "9"}))
    raw = cluster.kubectl(
        "get",
        "--raw",
        f"/apis/{GROUP}/v2/namespaces/default/widgets?watch=1&resourceVersion={rv}&timeoutSeconds=2",
    ).stdout
    events = [json.loads(line) for line in raw.splitlines() if line.strip()]
    added = [e["object"] for e in events if e["type"] == "ADDED" and e["object"]["metadata"]["name"] == "w3"]
    assert added and added[0]["apiVersion"] == f"{GROUP}/v2" and added[0]["spec"] == {"replicas": 9}


def _point_to(cluster: KybServer, url: str) -> None:
    patch = json.dumps({"spec": {"conversion": {"webhook": {"clientConfig": {"url": url}}}}})
    cluster.kubectl("patch", "crd", f"widgets.{GROUP}", "--type=merge", "-p", patch)


def _get_error(cluster: KybServer, expected: str) -> str:
    """kubectl's error for reading w1 in v2, once the changed CRD is served (polls briefly)."""
    deadline = time.monotonic() + 10
    while True:
        proc = cluster.kubectl("get", f"widgets.v2.{GROUP}", "w1", check=False)
        if (proc.returncode != 0 and expected in proc.stderr) or time.monotonic() > deadline:
            return proc.stderr.strip()
        time.sleep(0.2)


def test_bad_answer_and_webhook_down(cluster: KybServer, webhook: ReviewServer) -> None:
    prefix = f"Error from server: conversion for {GROUP}/v1, Kind=Widget failed: conversion webhook for /, Kind= failed: "
    _point_to(cluster, webhook.url("/bad-uid"))
    err = _get_error(cluster, "expected response.uid")
    uid = webhook.reviews[-1][1]["uid"]
    assert err == prefix + f'expected response.uid="{uid}", got "not-the-request"'

    closed = free_port()  # nothing listens there
    _point_to(cluster, f"https://127.0.0.1:{closed}/convert")
    err = _get_error(cluster, "connection refused")
    assert err == prefix + (
        f'Post "https://127.0.0.1:{closed}/convert?timeout=30s": '
        f"dial tcp 127.0.0.1:{closed}: connect: connection refused"
    )
    # a watch in v2 ends with an ERROR event carrying the failure as an internal error
    raw = cluster.kubectl(
        "get", "--raw", f"/apis/{GROUP}/v2/namespaces/default/widgets?watch=1&timeoutSeconds=2"
    )
    last = json.loads(raw.stdout.splitlines()[-1])
    assert last["type"] == "ERROR" and last["object"]["reason"] == "InternalError"
    assert last["object"]["message"].startswith(
        f"Internal error occurred: conversion for {GROUP}/v1, Kind=Widget"
    )
    # reading in the stored version needs no webhook; writing in v2 does and fails the same way
    assert get_json(cluster, f"widgets.v1.{GROUP}", "w1")["spec"] == {"size": "7"}
    proc = cluster.kubectl("create", "-f", "-", input=widget("w4", "v2", {"replicas": 1}), check=False)
    assert proc.returncode != 0
    assert (
        f"conversion for {GROUP}/v2, Kind=Widget failed: conversion webhook for /, Kind= failed"
        in proc.stderr
    )


def test_invalid_conversion_settings_are_rejected(cluster: KybServer) -> None:
    bad = crd("http://127.0.0.1/convert", "").replace("widgets", "gadgets").replace("Widget", "Gadget")
    bad = bad.replace("conversionReviewVersions: [v1]", "conversionReviewVersions: [v3]")
    proc = cluster.kubectl("apply", "-f", "-", input=bad, check=False)
    assert proc.returncode != 0
    assert (
        "spec.conversion.webhookClientConfig.url: Invalid value: \"http\": 'https' is the only allowed URL scheme"
        in proc.stderr
    )
    assert (
        'spec.conversion.conversionReviewVersions: Invalid value: []string{"v3"}: must include at least one '
        "of v1, v1beta1" in proc.stderr
    )


def test_storage_version_change_converts_old_objects_on_read(
    cluster: KybServer, webhook: ReviewServer
) -> None:
    _point_to(cluster, webhook.url("/convert"))
    ops = [
        {"op": "replace", "path": "/spec/versions/0/storage", "value": False},
        {"op": "replace", "path": "/spec/versions/1/storage", "value": True},
    ]
    cluster.kubectl("patch", "crd", f"widgets.{GROUP}", "--type=json", "-p", json.dumps(ops))
    time.sleep(1.0)  # the CRD controller serves the new storage version
    before = len(webhook.reviews)
    cluster.kubectl("create", "-f", "-", input=widget("w5", "v1", {"size": "2"}))
    assert [r["desiredAPIVersion"] for _, r in webhook.reviews[before:]][:1] == [
        f"{GROUP}/v2"
    ]  # stored as v2
    before = len(webhook.reviews)
    v1 = get_json(cluster, f"widgets.v1.{GROUP}")
    assert {i["metadata"]["name"]: i["spec"] for i in v1["items"]} == {
        "w1": {"size": "7"},
        "w2": {"size": "5"},
        "w3": {"size": "9"},
        "w5": {"size": "2"},
    }
    # only w5 (stored as v2) needed the webhook; the older objects are still stored as v1
    assert [[o["metadata"]["name"] for o in r["objects"]] for _, r in webhook.reviews[before:]] == [["w5"]]
    v2 = get_json(cluster, f"widgets.v2.{GROUP}")
    assert {i["metadata"]["name"]: i["spec"] for i in v2["items"]}["w1"] == {"replicas": 7}
