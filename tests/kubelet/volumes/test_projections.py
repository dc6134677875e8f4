"""Payloads of configMap, secret, downwardAPI and projected volumes (pure, table-driven)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import pytest

from kybernetes.kubelet.volumes.atomic_writer import FileProjection as F
from kybernetes.kubelet.volumes.projections import (
    VolumeSetupError,
    configmap_payload,
    downward_api_payload,
    format_map,
    go_quote,
    needs_memory_medium,
    projected_payload,
    secret_payload,
)


def b64(s: bytes) -> str:
    return base64.b64encode(s).decode()


CM = {"metadata": {"name": "cfg"}, "data": {"a": "alpha", "b": "beta"}, "binaryData": {"bin": b64(b"\x00\x01")}}

CONFIGMAP_CASES: list[tuple[str, dict[str, Any], dict[str, Any] | None, dict[str, F] | str]] = [
    ("all-keys-default-mode", {"name": "cfg"}, CM,
     {"a": F(b"alpha", 0o644), "b": F(b"beta", 0o644), "bin": F(b"\x00\x01", 0o644)}),
    ("default-mode", {"name": "cfg", "defaultMode": 0o400}, {"data": {"a": "x"}}, {"a": F(b"x", 0o400)}),
    ("items-path-and-mode", {"name": "cfg", "items": [{"key": "a", "path": "sub/dir/a.txt", "mode": 0o600},
                                                     {"key": "bin", "path": "b.bin"}]}, CM,
     {"sub/dir/a.txt": F(b"alpha", 0o600), "b.bin": F(b"\x00\x01", 0o644)}),
    ("missing-key", {"name": "cfg", "items": [{"key": "zz", "path": "z"}]}, CM,
     "configmap references non-existent config key: zz"),
    ("missing-key-optional", {"name": "cfg", "optional": True, "items": [{"key": "zz", "path": "z"},
                                                                        {"key": "a", "path": "a"}]}, CM,
     {"a": F(b"alpha", 0o644)}),
    ("missing-configmap", {"name": "nope"}, None, 'configmap "nope" not found'),
    ("missing-configmap-optional", {"name": "nope", "optional": True}, None, {}),
    ("empty-configmap", {"name": "cfg"}, {"metadata": {"name": "cfg"}}, {}),
]


@pytest.mark.parametrize(("source", "configmap", "want"), [c[1:] for c in CONFIGMAP_CASES],
                         ids=[c[0] for c in CONFIGMAP_CASES])
def test_configmap_payload(source: dict[str, Any], configmap: dict[str, Any] | None, want: Any) -> None:
    if isinstance(want, str):
        with pytest.raises(VolumeSetupError, match=want.replace('"', '.')):
            configmap_payload(source, configmap)
    else:
        assert configmap_payload(source, configmap) == want


SECRET = {"metadata": {"name": "s"}, "data": {"user": b64(b"admin"), "pass": b64(b"p\nw")}}

SECRET_CASES: list[tuple[str, dict[str, Any], dict[str, Any] | None, dict[str, F] | str]] = [
    ("decoded", {"secretName": "s"}, SECRET, {"user": F(b"admin", 0o644), "pass": F(b"p\nw", 0o644)}),
    ("items", {"secretName": "s", "defaultMode": 0o440, "items": [{"key": "pass", "path": "p", "mode": 0o400},
                                                                 {"key": "user", "path": "u"}]}, SECRET,
     {"p": F(b"p\nw", 0o400), "u": F(b"admin", 0o440)}),
    ("missing-key", {"secretName": "s", "items": [{"key": "x", "path": "x"}]}, SECRET,
     "references non-existent secret key: x"),
    ("missing-secret", {"secretName": "gone"}, None, 'secret "gone" not found'),
    ("missing-secret-optional", {"secretName": "gone", "optional": True}, None, {}),
    ("bad-base64", {"secretName": "s"}, {"data": {"k": "!!!"}}, "not valid base64"),
]


@pytest.mark.parametrize(("source", "secret", "want"), [c[1:] for c in SECRET_CASES],
                         ids=[c[0] for c in SECRET_CASES])
def test_secret_payload(source: dict[str, Any], secret: dict[str, Any] | None, want: Any) -> None:
    if isinstance(want, str):
        with pytest.raises(VolumeSetupError, match=want.replace('"', '.')):
            secret_payload(source, secret)
    else:
        assert secret_payload(source, secret) == want


QUOTE_CASES = [
    ("plain", "abc", '"abc"'),
    ("quote-backslash", 'a"b\\c', '"a\\"b\\\\c"'),
    ("newline-tab", "a\nb\tc", '"a\\nb\\tc"'),
    ("control", "\x01\x7f", '"\\x01\\x7f"'),
    ("unicode-printable", "héllo ✓", '"héllo ✓"'),
    ("nbsp-not-printable", "a\u00a0b", '"a\\u00a0b"'),
    ("astral-private", "\U000f0000", '"\\U000f0000"'),
]


@pytest.mark.parametrize(("s", "want"), [c[1:] for c in QUOTE_CASES], ids=[c[0] for c in QUOTE_CASES])
def test_go_quote(s: str, want: str) -> None:
    assert go_quote(s) == want


def test_format_map_sorted_and_quoted() -> None:
    assert format_map({"z": "1", "app": 'we"b', "a/b": "x\ny"}) == 'a/b="x\\ny"\napp="we\\"b"\nz="1"'
    assert format_map({}) == ""


POD = {
    "metadata": {"name": "web-0", "namespace": "prod", "uid": "u-1",
                 "labels": {"tier": "front", "app": "web"}, "annotations": {"note": "hi there"}},
    "spec": {"containers": [
        {"name": "app", "resources": {"limits": {"cpu": "500m", "memory": "128Mi"},
                                      "requests": {"cpu": "250m", "memory": "64Mi"}}},
        {"name": "nolimits", "resources": {}},
    ]},
}
ALLOC = {"cpu": "2", "memory": "4Gi", "ephemeral-storage": "10Gi"}


def field(path: str, fp: str, mode: int | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"path": path, "fieldRef": {"fieldPath": fp}}
    if mode is not None:
        item["mode"] = mode
    return item


def res(path: str, resource: str, container: str = "app", divisor: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"containerName": container, "resource": resource}
    if divisor:
        ref["divisor"] = divisor
    return {"path": path, "resourceFieldRef": ref}


DOWNWARD_CASES: list[tuple[str, list[dict[str, Any]], dict[str, F] | str]] = [
    ("name-namespace-uid", [field("n", "metadata.name"), field("ns", "metadata.namespace"),
                            field("uid", "metadata.uid", 0o400)],
     {"n": F(b"web-0", 0o644), "ns": F(b"prod", 0o644), "uid": F(b"u-1", 0o400)}),
    ("labels", [field("labels", "metadata.labels")], {"labels": F(b'app="web"\ntier="front"', 0o644)}),
    ("annotations", [field("annotations", "metadata.annotations")],
     {"annotations": F(b'note="hi there"', 0o644)}),
    ("label-subscript", [field("tier", "metadata.labels['tier']")], {"tier": F(b"front", 0o644)}),
    ("annotation-subscript-missing", [field("x", "metadata.annotations['none']")], {"x": F(b"", 0o644)}),
    ("nested-path", [field("dir/name", "metadata.name")], {"dir/name": F(b"web-0", 0o644)}),
    ("unsupported", [field("x", "spec.nodeName")], "unsupported fieldPath: spec.nodeName"),
    ("cpu-limit-millicores", [res("cpu", "limits.cpu", divisor="1m")], {"cpu": F(b"500", 0o644)}),
    ("cpu-limit-cores-rounds-up", [res("cpu", "limits.cpu")], {"cpu": F(b"1", 0o644)}),
    ("cpu-request", [res("cpu", "requests.cpu", divisor="1m")], {"cpu": F(b"250", 0o644)}),
    ("memory-limit-mi", [res("mem", "limits.memory", divisor="1Mi")], {"mem": F(b"128", 0o644)}),
    ("memory-request-bytes", [res("mem", "requests.memory")], {"mem": F(b"67108864", 0o644)}),
    ("unset-limit-is-node-allocatable", [res("mem", "limits.memory", "nolimits", "1Gi"),
                                         res("cpu", "limits.cpu", "nolimits")],
     {"mem": F(b"4", 0o644), "cpu": F(b"2", 0o644)}),
    ("unset-request-is-zero", [res("cpu", "requests.cpu", "nolimits")], {"cpu": F(b"0", 0o644)}),
    ("unknown-resource", [res("x", "limits.gpu")], "unsupported container resource : limits.gpu"),
    ("unknown-container", [res("x", "limits.cpu", "ghost")], "container ghost not found"),
]


@pytest.mark.parametrize(("items", "want"), [c[1:] for c in DOWNWARD_CASES], ids=[c[0] for c in DOWNWARD_CASES])
def test_downward_api_payload(items: list[dict[str, Any]], want: Any) -> None:
    if isinstance(want, str):
        with pytest.raises(VolumeSetupError, match=want.replace("[", ".").replace("(", ".")):
            downward_api_payload(items, POD, ALLOC)
    else:
        assert downward_api_payload(items, POD, ALLOC) == want


def test_downward_api_errors_aggregate() -> None:
    with pytest.raises(VolumeSetupError) as e:
        downward_api_payload([field("a", "spec.x"), field("b", "status.y")], POD, ALLOC)
    assert str(e.value) == "[unsupported fieldPath: spec.x, unsupported fieldPath: status.y]"


OBJECTS: dict[str, dict[str, Any]] = {"cfg": {"data": {"a": "alpha", "b": "beta"}}, "s": SECRET}
API_ACCESS = {"defaultMode": 0o644, "sources": [
    {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
]}
ROOT_CA = {"kube-root-ca.crt": {"data": {"ca.crt": "PEM"}}}

PROJECTED_CASES: list[tuple[str, dict[str, Any], dict[str, dict[str, Any]], bool, bool, dict[str, F] | str]] = [
    ("mixed-sources-default-mode",
     {"defaultMode": 0o440, "sources": [
         {"configMap": {"name": "cfg", "items": [{"key": "a", "path": "cfg/a"}]}},
         {"secret": {"name": "s", "items": [{"key": "user", "path": "user", "mode": 0o400}]}},
         {"downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
         {"clusterTrustBundle": {"name": "x", "path": "bundle.pem"}},
     ]}, OBJECTS, True, False,
     {"cfg/a": F(b"alpha", 0o440), "user": F(b"admin", 0o400), "labels": F(b'app="web"\ntier="front"', 0o440)}),
    ("kube-api-access", API_ACCESS, ROOT_CA, True, False,
     {"token": F(b"TOKEN", 0o644), "ca.crt": F(b"PEM", 0o644), "namespace": F(b"prod", 0o644)}),
    ("token-skipped-without-source", API_ACCESS, ROOT_CA, False, False,
     {"ca.crt": F(b"PEM", 0o644), "namespace": F(b"prod", 0o644)}),
    ("token-0600-with-fsgroup", API_ACCESS, ROOT_CA, True, True,
     {"token": F(b"TOKEN", 0o600), "ca.crt": F(b"PEM", 0o644), "namespace": F(b"prod", 0o644)}),
    ("missing-secret-and-configmap", {"sources": [{"secret": {"name": "gone"}}, {"configMap": {"name": "nope"}}]},
     {}, True, False, '[secret "gone" not found, configmap "nope" not found]'),
    ("missing-optional", {"sources": [{"secret": {"name": "gone", "optional": True}}]}, {}, True, False, {}),
]


@pytest.mark.parametrize(("source", "objects", "with_token", "fs_group", "want"),
                         [c[1:] for c in PROJECTED_CASES], ids=[c[0] for c in PROJECTED_CASES])
def test_projected_payload(source: dict[str, Any], objects: dict[str, dict[str, Any]], with_token: bool,
                           fs_group: bool, want: Any) -> None:
    seen: list[Mapping[str, Any]] = []

    def token(projection: Mapping[str, Any]) -> str:
        seen.append(projection)
        return "TOKEN"

    def call() -> dict[str, F]:
        return projected_payload(source, POD, get_configmap=objects.get, get_secret=objects.get,
                                 node_allocatable=ALLOC, service_account_token=token if with_token else None,
                                 fs_owner_set=fs_group)
    if isinstance(want, str):
        with pytest.raises(VolumeSetupError) as e:
            call()
        assert str(e.value) == want
    else:
        assert call() == want
        if "token" in want:
            assert seen == [{"path": "token", "expirationSeconds": 3607}]


MEMORY_CASES = [
    ("secret", {"secret": {"secretName": "s"}}, True),
    ("configmap", {"configMap": {"name": "c"}}, False),
    ("projected-token", {"projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}, True),
    ("projected-secret", {"projected": {"sources": [{"configMap": {"name": "c"}}, {"secret": {"name": "s"}}]}}, True),
    ("projected-configmap-only", {"projected": {"sources": [{"configMap": {"name": "c"}}]}}, False),
    ("downward", {"downwardAPI": {"items": []}}, False),
]


@pytest.mark.parametrize(("volume", "want"), [c[1:] for c in MEMORY_CASES], ids=[c[0] for c in MEMORY_CASES])
def test_needs_memory_medium(volume: dict[str, Any], want: bool) -> None:
    assert needs_memory_medium(volume) is want
