"""Unknown, duplicate and wrongly typed fields, checked against the declared schemas."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from kybernetes.api.schema import F, M, SchemaRegistry
from kybernetes.api.schemas import REGISTRY
from kybernetes.machinery import errors
from kybernetes.machinery import fieldcheck as fc

POD = "io.k8s.api.core.v1.Pod"
DEPLOY = "io.k8s.api.apps.v1.Deployment"
CM = "io.k8s.api.core.v1.ConfigMap"


def pod(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                            "spec": {"containers": [{"name": "app", "image": "busybox"}]}}
    base["spec"].update(spec)
    return base


# --- unknown fields: paths and pruning ---------------------------------------------------------------

UNKNOWN_CASES = [
    pytest.param(pod(foo=1), ["spec.foo"], id="top-level-of-spec"),
    pytest.param({**pod(), "extra": {"a": 1}}, ["extra"], id="root"),
    pytest.param({**pod(), "metadata": {"name": "p", "app": "x"}}, ["metadata.app"], id="metadata"),
    pytest.param(pod(containers=[{"name": "a"}, {"name": "b", "bar": 1}]), ["spec.containers[1].bar"],
                 id="list-item-index"),
    pytest.param(pod(containers=[{"name": "a", "ports": [{"containerPort": 80, "hostPortt": 1}]}]),
                 ["spec.containers[0].ports[0].hostPortt"], id="nested-lists"),
    pytest.param(pod(volumes=[{"name": "v", "configMap": {"name": "c", "itemz": []}}]),
                 ["spec.volumes[0].configMap.itemz"], id="inlined-volume-source"),
    pytest.param(pod(volumes=[{"name": "v", "emptyDir": {}, "hostPath": {"path": "/x"}}]), [],
                 id="inlined-fields-are-known"),
    pytest.param(pod(containers=[{"name": "a", "resources": {"limits": {"cpu": "1"}, "limitz": {}}}]),
                 ["spec.containers[0].resources.limitz"], id="under-map-holder"),
    pytest.param(pod(foo=1, bar=2), ["spec.foo", "spec.bar"], id="document-order"),
    pytest.param(pod(foo={"deep": {"deeper": 1}}), ["spec.foo"], id="unknown-subtree-not-entered"),
]


@pytest.mark.parametrize(("obj", "paths"), UNKNOWN_CASES)
def test_unknown_fields(obj: dict[str, Any], paths: list[str]) -> None:
    before = copy.deepcopy(obj)
    result = fc.check_and_prune(obj, POD, REGISTRY)
    assert result.unknown_paths == paths
    assert result.type_errors == []
    assert obj == before  # input untouched
    assert fc.check_and_prune(result.obj, POD, REGISTRY).strict == []  # pruned


def test_clean_object_comes_back_as_is() -> None:
    obj = pod(volumes=[{"name": "v", "emptyDir": {}}])
    result = fc.check_and_prune(obj, POD, REGISTRY)
    assert result.obj is obj and not result.strict and not result.type_errors


def test_pruning_copies_only_the_way_to_the_field() -> None:
    obj = pod(foo=1)
    obj["spec"]["containers"].append({"name": "b", "bar": 2})
    result = fc.check_and_prune(obj, POD, REGISTRY)
    assert result.obj["spec"]["containers"][0] is obj["spec"]["containers"][0]
    assert result.obj["spec"]["containers"][1] == {"name": "b"}
    assert result.obj["metadata"] is obj["metadata"]
    assert "foo" not in result.obj["spec"] and "foo" in obj["spec"]


def test_map_of_messages_and_open_and_raw() -> None:
    reg = SchemaRegistry()
    reg.add(
        M("T", F("items", 1, "Item", map=True), F("free", 2, "Open"), F("blob", 3, "raw"),
          F("tags", 4, "string", map=True, repeated=True)),
        M("Item", F("a", 1, "int32")),
        M("Open", F("known", 1, "string"), open=True),
    )
    obj = {"items": {"x": {"a": 1, "b": 2}}, "free": {"anything": [1, {"z": 2}]}, "blob": {"q": [1]},
           "tags": {"k": ["v1", "v2"]}, "other": 1}
    result = fc.check_and_prune(obj, "T", reg)
    assert result.unknown_paths == ["items.x.b", "other"]
    assert result.obj == {"items": {"x": {"a": 1}}, "free": {"anything": [1, {"z": 2}]}, "blob": {"q": [1]},
                          "tags": {"k": ["v1", "v2"]}}
    bad = fc.check_and_prune({"tags": {"k": "v"}}, "T", reg)
    assert bad.type_errors[0].message == \
        "json: cannot unmarshal string into Go struct field T.tags of type []string"


def test_undeclared_message_accepts_anything() -> None:
    assert fc.check_and_prune({"x": 1}, "NoSuchMessage", REGISTRY).obj == {"x": 1}


@pytest.mark.parametrize("field", ["replicas", "minReadySeconds", "selector", "template"])
def test_null_means_absent(field: str) -> None:
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {field: None}}
    result = fc.check_and_prune(obj, DEPLOY, REGISTRY)
    assert not result.strict and not result.type_errors
    assert result.obj["spec"] == {}


def test_null_time_kept() -> None:
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "creationTimestamp": None}}
    assert fc.check_and_prune(obj, POD, REGISTRY).obj["metadata"] == {"name": "p", "creationTimestamp": None}


def test_at_most_100_strict_errors_and_deduplicated() -> None:
    obj = pod(**{f"f{i}": i for i in range(150)})
    assert len(fc.check_and_prune(obj, POD, REGISTRY).strict) == 100


# --- wrong types -----------------------------------------------------------------------------------------

TYPE_CASES = [
    pytest.param(pod(containers="x"),
                 "json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container",
                 id="string-for-list"),
    pytest.param(pod(containers=["x"]),
                 "json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type v1.Container",
                 id="string-for-list-item"),
    pytest.param(pod(containers={"name": "a"}),
                 "json: cannot unmarshal object into Go struct field PodSpec.spec.containers of type []v1.Container",
                 id="object-for-list"),
    pytest.param(pod(containers=[{"name": "a", "ports": [{"containerPort": "80"}]}]),
                 "json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort"
                 " of type int32", id="string-for-int32"),
    pytest.param(pod(containers=[{"name": "a", "ports": [{"containerPort": 1.5}]}]),
                 "json: cannot unmarshal number 1.5 into Go struct field ContainerPort.spec.containers.ports."
                 "containerPort of type int32", id="fraction-for-int32"),
    pytest.param(pod(containers=[{"name": "a", "ports": [{"containerPort": 2**31}]}]),
                 "json: cannot unmarshal number 2147483648 into Go struct field ContainerPort.spec.containers.ports."
                 "containerPort of type int32", id="int32-overflow"),
    pytest.param(pod(hostNetwork="true"),
                 "json: cannot unmarshal string into Go struct field PodSpec.spec.hostNetwork of type bool",
                 id="string-for-bool"),
    pytest.param(pod(nodeName=5),
                 "json: cannot unmarshal number into Go struct field PodSpec.spec.nodeName of type string",
                 id="number-for-string"),
    pytest.param(pod(containers=[{"name": "a", "args": [1]}]),
                 "json: cannot unmarshal number into Go struct field Container.spec.containers.args of type string",
                 id="number-in-string-list"),
    pytest.param({**pod(), "metadata": {"name": "p", "labels": {"a": 1}}},
                 "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string",
                 id="number-in-label-map"),
    pytest.param({**pod(), "metadata": {"name": "p", "labels": ["a"]}},
                 "json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type"
                 " map[string]string", id="array-for-map"),
    pytest.param(pod(securityContext="x"),
                 "json: cannot unmarshal string into Go struct field PodSpec.spec.securityContext of type"
                 " v1.PodSecurityContext", id="string-for-message"),
    pytest.param(pod(volumes=[{"name": "v", "configMap": "x"}]),
                 "json: cannot unmarshal string into Go struct field Volume.spec.volumes.VolumeSource.configMap of"
                 " type v1.ConfigMapVolumeSource", id="inlined-field-names-its-embedded-struct"),
    pytest.param(pod(containers=[{"name": "a", "resources": {"limits": {"cpu": "lots"}}}]),
                 "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                 id="bad-quantity"),
    pytest.param(pod(containers=[{"name": "a", "resources": {"limits": {"cpu": 1.5, "memory": 100}}}]),
                 None, id="numeric-quantities-ok"),
    pytest.param(pod(containers=[{"name": "a", "ports": [{"containerPort": 80}],
                                  "readinessProbe": {"httpGet": {"port": True}}}]),
                 "json: cannot unmarshal bool into Go struct field HTTPGetAction.spec.containers.readinessProbe."
                 "ProbeHandler.httpGet.port of type int32", id="bool-for-int-or-string"),
    pytest.param(pod(containers=[{"name": "a", "readinessProbe": {"httpGet": {"port": "http"}}}]),
                 None, id="int-or-string-takes-string"),
    pytest.param(pod(containers=[{"name": "a", "readinessProbe": {"httpGet": {"port": 8080}}}]),
                 None, id="int-or-string-takes-int"),
    pytest.param({**pod(), "metadata": {"name": "p", "creationTimestamp": 5}},
                 "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.creationTimestamp of type"
                 " string", id="number-for-time"),
    pytest.param({**pod(), "metadata": {"name": "p", "creationTimestamp": "yesterday"}},
                 'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"',
                 id="bad-time-text"),
    pytest.param({**pod(), "metadata": {"name": "p", "creationTimestamp": "2024-01-02T03:04:05+01:00"}},
                 None, id="rfc3339-offset"),
    pytest.param(pod(activeDeadlineSeconds=30.0),
                 "json: cannot unmarshal number 30.0 into Go struct field PodSpec.spec.activeDeadlineSeconds of type"
                 " int64", id="float-for-int64"),
]


@pytest.mark.parametrize(("obj", "message"), TYPE_CASES)
def test_type_errors(obj: dict[str, Any], message: str | None) -> None:
    result = fc.check_and_prune(obj, POD, REGISTRY)
    if message is None:
        assert result.type_errors == []
    else:
        assert [t.message for t in result.type_errors][:1] == [message]


@pytest.mark.parametrize(("data", "ok"), [
    pytest.param({"binaryData": {"k": "aGVsbG8="}}, True, id="base64"),
    pytest.param({"binaryData": {"k": "aGVs\nbG8="}}, True, id="base64-with-line-break"),
    pytest.param({"binaryData": {"k": "not base64!"}}, False, id="not-base64"),
    pytest.param({"data": {"k": 1}}, False, id="number-in-string-map"),
])
def test_configmap_values(data: dict[str, Any], ok: bool) -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, **data}
    result = fc.check_and_prune(obj, CM, REGISTRY)
    assert (result.type_errors == []) is ok


def test_bad_base64_text() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "binaryData": {"k": "abc!"}}
    assert fc.check_and_prune(obj, CM, REGISTRY).type_errors[0].message == "illegal base64 data at input byte 3"


def test_duration() -> None:
    reg = SchemaRegistry()
    reg.add(M("D", F("d", 1, "duration")))
    assert fc.check_and_prune({"d": "1h30m"}, "D", reg).type_errors == []
    assert fc.check_and_prune({"d": "10"}, "D", reg).type_errors[0].message == 'time: missing unit in duration "10"'
    assert fc.check_and_prune({"d": "soon"}, "D", reg).type_errors[0].message == 'time: invalid duration "soon"'


# --- duplicates -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "expected"), [
    pytest.param(b'{"a":1,"b":{"c":2}}', 3, id="plain"),
    pytest.param(b'{"a":"x\\":y","b":1}', 2, id="escaped-quote-colon-in-value"),
    pytest.param(b'{"a\\\\":1}', 1, id="key-ending-in-backslash"),
    pytest.param(b'{"a":"\\\\\\":"}', 1, id="escaped-backslash-then-quote"),
    pytest.param(b'{"a": [{"b": 1}, {"c": 2}]}', 3, id="pretty-printed"),
])
def test_json_key_tokens(body: bytes, expected: int) -> None:
    assert fc.json_key_tokens(body) == expected
    assert fc._count_keys(orjson.loads(body)) == expected


def test_duplicates_found_with_paths() -> None:
    body = (b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","name":"q","labels":{"a":"1","a":"2"}},'
            b'"spec":{"containers":[{"name":"c","image":"x","image":"y"}],"zz":1,"zz":2}}')
    obj = orjson.loads(body)
    result = fc.check_json_body(obj, body, POD, REGISTRY)
    assert result.strict_texts == [
        'duplicate field "metadata.name"', 'duplicate field "metadata.labels.a"',
        'duplicate field "spec.containers[0].image"', 'unknown field "spec.zz"']
    assert result.obj["metadata"]["name"] == "q"  # last wins, as in Go
    assert result.obj["spec"]["containers"][0]["image"] == "y"


def test_duplicates_not_looked_for_when_ignored_or_absent() -> None:
    body = b'{"kind":"Pod","metadata":{"name":"p","name":"q"}}'
    assert fc.check_json_body(orjson.loads(body), body, POD, REGISTRY, duplicates=False).strict == []
    clean = b'{"kind":"Pod","metadata":{"name":"p"}}'
    assert fc.check_json_body(orjson.loads(clean), clean, POD, REGISTRY).strict == []


def test_patch_duplicates() -> None:
    body = b'{"spec":{"replicas":1,"replicas":2}}'
    assert fc.patch_duplicates(body, orjson.loads(body)) == ['duplicate field "spec.replicas"']
    jp = b'[{"op":"add","op":"replace","path":"/a","value":1}]'
    assert fc.patch_duplicates(jp, orjson.loads(jp), json_patch=True) == ['json patch duplicate field "[0].op"']
    assert fc.patch_duplicates(b'{"a":1}', {"a": 1}) == []


# --- answers ---------------------------------------------------------------------------------------------


def test_strict_error_and_warning_headers() -> None:
    texts = ['unknown field "spec.foo"', 'unknown field "spec.containers[0].bar"']
    assert fc.format_strict_error(texts) == \
        'strict decoding error: unknown field "spec.foo", unknown field "spec.containers[0].bar"'
    assert fc.warning_headers(texts) == ['299 - "unknown field \\"spec.foo\\""',
                                         '299 - "unknown field \\"spec.containers[0].bar\\""']
    yaml_err = 'yaml: unmarshal errors:\n  line 4: key "a" already set in map\n  line 6: key "b" already set in map'
    assert fc.warning_texts([yaml_err]) == ['line 4: key "a" already set in map', 'line 6: key "b" already set in map']
    assert fc.warning_header("bad\x01text") is None


@pytest.mark.parametrize(("mode", "raises", "warnings"), [
    pytest.param("Strict", True, 0, id="strict"),
    pytest.param("Warn", False, 1, id="warn"),
    pytest.param("Ignore", False, 0, id="ignore"),
])
def test_decide_body_by_mode(mode: str, raises: bool, warnings: int) -> None:
    result = fc.check_and_prune({"kind": "Deployment", "spec": {"replicass": 2}}, DEPLOY, REGISTRY)
    if raises:
        with pytest.raises(errors.StatusError) as e:
            fc.decide_body(result, mode, kind="Deployment", version="v1")
        assert e.value.code == 400 and e.value.reason == "BadRequest"
        assert e.value.message == ('Deployment in version "v1" cannot be handled as a Deployment: '
                                   'strict decoding error: unknown field "spec.replicass"')
    else:
        assert len(fc.decide_body(result, mode, kind="Deployment", version="v1")) == warnings
    assert "replicass" not in result.obj["spec"]


@pytest.mark.parametrize("mode", ["Strict", "Warn", "Ignore"])
def test_type_errors_fail_in_every_mode(mode: str) -> None:
    result = fc.check_and_prune({"kind": "Deployment", "spec": {"replicas": "two"}}, DEPLOY, REGISTRY)
    with pytest.raises(errors.StatusError) as e:
        fc.decide_body(result, mode, kind="Deployment", version="v1")
    assert e.value.message == ('Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal'
                               ' string into Go struct field DeploymentSpec.spec.replicas of type int32')


def test_default_mode_is_warn() -> None:
    assert fc.normalize_mode(None) == fc.normalize_mode("") == "Warn"


def test_decide_patch() -> None:
    result = fc.check_and_prune({"kind": "Deployment", "spec": {"foo": 1}}, DEPLOY, REGISTRY)
    with pytest.raises(errors.StatusError) as e:
        fc.decide_patch(result, "Strict", patch_strict=['duplicate field "spec.x"'])
    assert e.value.message == 'strict decoding error: duplicate field "spec.x", unknown field "spec.foo"'
    assert fc.decide_patch(result, "Warn") == ['unknown field "spec.foo"']
    typed = fc.check_and_prune({"kind": "Deployment", "spec": {"replicas": "x"}}, DEPLOY, REGISTRY)
    with pytest.raises(errors.StatusError) as e:
        fc.decide_patch(typed, "Ignore")
    assert e.value.code == 422
    assert e.value.causes[0].field == "patch"
    assert e.value.causes[0].message.endswith(
        "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32")


def test_decide_apply() -> None:
    obj = {"kind": "Deployment", "metadata": {"name": "d", "namespace": "ns"},
           "spec": {"replicass": 2, "template": {"spec": {"containers": [{"name": "app", "bogus": 1}]}}}}
    with pytest.raises(errors.StatusError) as e:
        fc.decide_apply(fc.check_and_prune(obj, DEPLOY, REGISTRY), "Ignore", group_version="apps/v1",
                        kind="Deployment", namespace="ns", name="d")
    assert e.value.code == 500 and e.value.reason == ""
    assert e.value.message == ('failed to create typed patch object (ns/d; apps/v1, Kind=Deployment): errors:\n'
                               '  .spec.replicass: field not declared in schema\n'
                               '  .spec.template.spec.containers[name="app"].bogus: field not declared in schema')
    one = fc.check_and_prune({"kind": "ConfigMap", "data": {"a": 1}}, CM, REGISTRY)
    with pytest.raises(errors.StatusError) as e:
        fc.decide_apply(one, "Strict", group_version="v1", kind="ConfigMap", namespace="", name="c")
    assert e.value.message == ("failed to create typed patch object (/c; /v1, Kind=ConfigMap): "
                               ".data.a: expected string, got int64")
    clean = fc.check_and_prune({"kind": "ConfigMap"}, CM, REGISTRY)
    yaml_err = ['yaml: unmarshal errors:\n  line 3: key "a" already set in map']
    assert fc.decide_apply(clean, "Warn", group_version="v1", kind="ConfigMap", namespace="", name="c",
                           yaml_strict=yaml_err) == yaml_err
    with pytest.raises(errors.StatusError) as e:
        fc.decide_apply(clean, "Strict", group_version="v1", kind="ConfigMap", namespace="", name="c",
                        yaml_strict=yaml_err)
    assert e.value.message.startswith("error strict decoding YAML: yaml: unmarshal errors:")
