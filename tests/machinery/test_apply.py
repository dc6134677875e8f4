"""Server-side apply machinery: list semantics, field sets, merge, removal, conflicts and the
managedFields of Update operations."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kybernetes.machinery import errors, managedfields
from kybernetes.machinery.apply import fieldpath as fp
from kybernetes.machinery.apply import typeinfo, walk
from kybernetes.machinery.apply.operation import LAST_APPLIED as LAST
from kybernetes.machinery.apply.operation import apply, encode_last_applied

DEPLOY = "io.k8s.api.apps.v1.Deployment"
CM = "io.k8s.api.core.v1.ConfigMap"
POD = "io.k8s.api.core.v1.Pod"
SVC = "io.k8s.api.core.v1.Service"


def T(root: str, *path: str) -> typeinfo.T:
    t = typeinfo.root(root)
    for name in path:
        t = typeinfo.child(t, name) if name != "[]" else (t.elem or typeinfo.UNTYPED)
    return t


# --- list and struct semantics ------------------------------------------------------------------------
@pytest.mark.parametrize(("root", "path", "kind", "list_kind", "keys", "atomic"), [
    pytest.param(POD, ("spec", "containers"), "list", "map", ("name",), False, id="containers-by-name"),
    pytest.param(POD, ("spec", "containers", "[]", "ports"), "list", "map", ("containerPort", "protocol"), False,
                 id="container-ports-two-keys"),
    pytest.param(SVC, ("spec", "ports"), "list", "map", ("port", "protocol"), False, id="service-ports"),
    pytest.param(POD, ("spec", "topologySpreadConstraints"), "list", "map", ("topologyKey", "whenUnsatisfiable"),
                 False, id="spread-constraints"),
    pytest.param(POD, ("metadata", "finalizers"), "list", "set", (), False, id="finalizers-set"),
    pytest.param(POD, ("spec", "tolerations"), "list", "atomic", (), False, id="tolerations-atomic"),
    pytest.param(POD, ("spec", "containers", "[]", "args"), "list", "atomic", (), False, id="args-atomic"),
    pytest.param("io.k8s.api.batch.v1.Job", ("status", "conditions"), "list", "atomic", (), False,
                 id="job-conditions-atomic"),
    pytest.param(DEPLOY, ("status", "conditions"), "list", "map", ("type",), False, id="deploy-conditions"),
    pytest.param(DEPLOY, ("spec", "selector"), "struct", "atomic", (), True, id="label-selector-atomic"),
    pytest.param(POD, ("spec", "nodeSelector"), "map", "atomic", (), True, id="node-selector-atomic-map"),
    pytest.param(POD, ("metadata", "labels"), "map", "atomic", (), False, id="labels-granular"),
    pytest.param(POD, ("spec", "bogus"), "untyped", "atomic", (), False, id="unknown-field-untyped"),
])
def test_semantics(root: str, path: tuple[str, ...], kind: str, list_kind: str, keys: tuple[str, ...],
                   atomic: bool) -> None:
    t = T(root, *path)
    assert (t.kind, t.list_kind, t.keys, t.atomic) == (kind, list_kind, keys, atomic)


# --- field paths --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("path", "text"), [
    pytest.param(("f:spec", "f:replicas"), ".spec.replicas", id="fields"),
    pytest.param(("f:spec", "f:containers", 'k:{"name":"web"}', "f:image"), '.spec.containers[name="web"].image',
                 id="key"),
    pytest.param(("f:ports", 'k:{"containerPort":80,"protocol":"TCP"}'), '.ports[containerPort=80,protocol="TCP"]',
                 id="two-keys"),
    pytest.param(("f:metadata", "f:finalizers", 'v:"a"'), '.metadata.finalizers[="a"]', id="value"),
    pytest.param(("f:x", "i:2"), ".x[2]", id="index"),
])
def test_path_string(path: fp.Path, text: str) -> None:
    assert fp.path_string(path) == text


def test_fields_v1_round_trip() -> None:
    fs = {("f:data", "f:a"), ("f:metadata", "f:labels"), ("f:spec", 'k:{"name":"c"}'),
          ("f:spec", 'k:{"name":"c"}', "f:image")}
    tree = fp.to_fields_v1(fs)
    assert tree == {"f:data": {"f:a": {}}, "f:metadata": {"f:labels": {}},
                    "f:spec": {'k:{"name":"c"}': {".": {}, "f:image": {}}}}
    assert fp.from_fields_v1(tree) == fs


@pytest.mark.parametrize("bad", [
    pytest.param([], id="not-object"), pytest.param({"x:y": {}}, id="bad-element"),
    pytest.param({"k:[1]": {}}, id="key-not-object"), pytest.param({"f:a": 1}, id="leaf-not-object"),
])
def test_fields_v1_malformed(bad: Any) -> None:
    with pytest.raises(ValueError):
        fp.from_fields_v1(bad)


# --- field sets ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("root", "obj", "expected"), [
    pytest.param(CM, {"data": {"a": "1"}, "metadata": {"labels": {"x": "y"}}},
                 {"f:data": {"f:a": {}}, "f:metadata": {"f:labels": {"f:x": {}}}}, id="maps-own-entries"),
    pytest.param(DEPLOY, {"spec": {"selector": {"matchLabels": {"a": "b"}}, "strategy": {}}},
                 {"f:spec": {"f:selector": {}, "f:strategy": {}}}, id="atomic-struct-and-empty-struct"),
    pytest.param(POD, {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]}},
                 {"f:spec": {"f:containers": {'k:{"name":"c"}': {
                     ".": {}, "f:name": {},
                     "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}}}}}},
                 id="map-list-items-with-defaulted-key"),
    pytest.param(POD, {"metadata": {"finalizers": ["a", "b"]}},
                 {"f:metadata": {"f:finalizers": {'v:"a"': {}, 'v:"b"': {}}}}, id="set-items-not-the-set"),
    pytest.param(POD, {"spec": {"tolerations": [{"key": "k"}]}}, {"f:spec": {"f:tolerations": {}}},
                 id="atomic-list"),
])
def test_field_set(root: str, obj: dict[str, Any], expected: dict[str, Any]) -> None:
    assert fp.to_fields_v1(walk.field_set(obj, typeinfo.root(root))) == expected


def test_duplicate_keys_are_an_error() -> None:
    obj = {"spec": {"containers": [{"name": "c"}, {"name": "c"}]}}
    with pytest.raises(walk.ApplyError, match=r'\.spec\.containers: duplicate entries for key \[name="c"\]'):
        walk.field_set(obj, typeinfo.root(POD))


# --- merge --------------------------------------------------------------------------------------------
def containers(*items: dict[str, Any]) -> dict[str, Any]:
    return {"spec": {"containers": list(items)}}


@pytest.mark.parametrize(("root", "live", "config", "expected"), [
    pytest.param(CM, {"data": {"a": "1", "b": "2"}}, {"data": {"b": "3", "c": "4"}},
                 {"data": {"a": "1", "b": "3", "c": "4"}}, id="granular-map"),
    pytest.param(CM, {"data": {"a": "1"}}, {"data": {"a": None}}, {"data": {}}, id="null-deletes"),
    pytest.param(POD, containers({"name": "a", "image": "x", "tty": True}), containers({"name": "a", "image": "y"}),
                 containers({"name": "a", "image": "y", "tty": True}), id="map-list-item-merges"),
    pytest.param(POD, containers({"name": "a"}, {"name": "b"}, {"name": "c"}), containers({"name": "c"}, {"name": "a"}),
                 containers({"name": "c"}, {"name": "a"}, {"name": "b"}), id="map-list-order"),
    pytest.param(POD, containers({"name": "a"}), containers({"name": "b"}),
                 containers({"name": "a"}, {"name": "b"}), id="map-list-appends"),
    pytest.param(POD, {"metadata": {"finalizers": ["x", "y"]}}, {"metadata": {"finalizers": ["z", "x"]}},
                 {"metadata": {"finalizers": ["z", "x", "y"]}}, id="set-union"),
    pytest.param(POD, {"spec": {"tolerations": [{"key": "a"}]}}, {"spec": {"tolerations": [{"key": "b"}]}},
                 {"spec": {"tolerations": [{"key": "b"}]}}, id="atomic-list-replaced"),
    pytest.param(DEPLOY, {"spec": {"selector": {"matchLabels": {"a": "1"}}}},
                 {"spec": {"selector": {"matchExpressions": []}}},
                 {"spec": {"selector": {"matchExpressions": []}}}, id="atomic-struct-replaced"),
])
def test_merge(root: str, live: dict[str, Any], config: dict[str, Any], expected: dict[str, Any]) -> None:
    assert walk.merge(live, config, typeinfo.root(root)) == expected


# --- apply --------------------------------------------------------------------------------------------
def run(live: dict[str, Any] | None, config: dict[str, Any], manager: str = "m", *, force: bool = False,
        root: str = DEPLOY, subresource: str = "") -> dict[str, Any]:
    return apply(copy.deepcopy(live) if live else None, config, manager=manager, api_version="apps/v1", now="T",
                 root=root, subresource=subresource, status_reset=True, force=force)


def deploy(replicas: int | None = None, **containers_by_name: str) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if replicas is not None:
        spec["replicas"] = replicas
    if containers_by_name:
        spec["template"] = {"spec": {"containers": [{"name": n, "image": i} for n, i in containers_by_name.items()]}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": spec}


def owners(obj: dict[str, Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for e in managedfields.decode(obj["metadata"].get("managedFields")):
        out[f"{e.manager}/{e.operation}"] = {fp.path_string(p) for p in e.fields}
    return out


def test_apply_creates_with_one_apply_entry() -> None:
    obj = run(None, deploy(2, web="nginx"))
    assert obj["spec"]["replicas"] == 2
    assert owners(obj) == {"m/Apply": {".spec.replicas", '.spec.template.spec.containers[name="web"]',
                                       '.spec.template.spec.containers[name="web"].name',
                                       '.spec.template.spec.containers[name="web"].image'}}


@pytest.mark.parametrize(("second", "force", "error", "replicas", "owner_of_replicas"), [
    pytest.param(deploy(2), False, None, 2, {"m", "o"}, id="same-value-shared"),
    pytest.param(deploy(3), False, 'Apply failed with 1 conflict: conflict with "m": .spec.replicas', 2, {"m"},
                 id="different-value-conflicts"),
    pytest.param(deploy(3), True, None, 3, {"o"}, id="force-takes-ownership"),
    pytest.param(deploy(None, side="x"), False, None, 2, {"m"}, id="disjoint-fields"),
])
def test_second_applier(second: dict[str, Any], force: bool, error: str | None, replicas: int,
                        owner_of_replicas: set[str]) -> None:
    live = run(None, deploy(2))
    if error:
        with pytest.raises(errors.StatusError) as ei:
            run(live, second, "o", force=force)
        status = ei.value.status()
        assert status["code"] == 409 and status["reason"] == "Conflict"
        assert status["message"] == error
        assert status["details"]["causes"] == [
            {"reason": "FieldManagerConflict", "message": 'conflict with "m"', "field": ".spec.replicas"}]
        return
    obj = run(live, second, "o", force=force)
    assert obj["spec"]["replicas"] == replicas
    assert {k.split("/")[0] for k, paths in owners(obj).items() if ".spec.replicas" in paths} == owner_of_replicas


def test_conflict_message_with_several_managers() -> None:
    live = run(None, deploy(2))
    live = run(live, {**deploy(), "metadata": {"name": "d", "labels": {"a": "1"}}}, "n")
    cfg = {**deploy(3), "metadata": {"name": "d", "labels": {"a": "2"}}}
    with pytest.raises(errors.StatusError) as ei:
        run(live, cfg, "o")
    assert ei.value.message == ('Apply failed with 2 conflicts: conflicts with "m":\n- .spec.replicas\n'
                                'conflicts with "n":\n- .metadata.labels.a')


def test_update_manager_conflict_names_its_version() -> None:
    live = deploy(1)
    managedfields.record_update(live, None, manager="kubectl-client-side-apply", api_version="apps/v1", now="T",
                                root=DEPLOY, status_reset=True)
    with pytest.raises(errors.StatusError) as ei:
        run(live, deploy(5), "kubectl")
    assert ei.value.message == ('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" '
                                "using apps/v1: .spec.replicas")


@pytest.mark.parametrize(("first", "other", "second", "expected_containers"), [
    pytest.param(deploy(None, a="x", b="y"), None, deploy(None, a="x"), [{"name": "a", "image": "x"}],
                 id="omitted-item-removed"),
    pytest.param(deploy(None, a="x", b="y"), deploy(None, b="y"), deploy(None, a="x"),
                 [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}], id="item-kept-if-another-applier-owns"),
])
def test_removal(first: dict[str, Any], other: dict[str, Any] | None, second: dict[str, Any],
                 expected_containers: list[dict[str, Any]]) -> None:
    live = run(None, first)
    if other:
        live = run(live, other, "o")
    obj = run(live, second)
    assert obj["spec"]["template"]["spec"]["containers"] == expected_containers


def test_removal_takes_defaults_of_the_item_too_and_empties_maps() -> None:
    live = run(None, {**deploy(None, a="x", b="y"), "metadata": {"name": "d", "labels": {"l": "1"}}})
    live["spec"]["template"]["spec"]["containers"][1]["imagePullPolicy"] = "Always"  # defaulted, unowned
    obj = run(live, deploy(None, a="x"))
    assert obj["spec"]["template"]["spec"]["containers"] == [{"name": "a", "image": "x"}]
    assert "labels" not in obj["metadata"]


def test_unowned_fields_survive_apply() -> None:
    live = run(None, deploy(2))
    live["spec"]["paused"] = True  # nobody's
    obj = run(live, deploy(None, a="x"))
    assert obj["spec"]["paused"] is True and "replicas" not in obj["spec"]


def test_before_first_apply_owns_a_live_object_without_managed_fields() -> None:
    live = deploy(2)
    with pytest.raises(errors.StatusError, match='conflict with "before-first-apply" using apps/v1'):
        run(live, deploy(3))
    obj = run(live, deploy(2))
    assert set(owners(obj)) == {"before-first-apply/Update", "m/Apply"}


def test_status_apply_owns_only_status() -> None:
    live = run(None, deploy(2))
    cfg = {**deploy(9), "status": {"replicas": 1}}
    obj = run(live, cfg, "ctl", subresource="status")
    assert obj["spec"]["replicas"] == 2 and obj["status"] == {"replicas": 1}
    entry = next(e for e in obj["metadata"]["managedFields"] if e["manager"] == "ctl")
    assert entry["subresource"] == "status" and entry["fieldsV1"] == {"f:status": {"f:replicas": {}}}


@pytest.mark.parametrize(("config", "message"), [
    pytest.param({**deploy(), "metadata": {"name": "d", "managedFields": []}}, "metadata.managedFields must be nil",
                 id="managed-fields-in-config"),
    pytest.param(deploy(None, a="x") | {"spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "a"}]}}}},
                 "duplicate entries for key", id="duplicate-keys"),
])
def test_bad_configurations(config: dict[str, Any], message: str) -> None:
    with pytest.raises(errors.StatusError, match=message) as ei:
        run(None, config)
    assert ei.value.code == 400


def test_noop_apply_keeps_time() -> None:
    live = run(None, deploy(2))
    again = apply(copy.deepcopy(live), deploy(2), manager="m", api_version="apps/v1", now="LATER", root=DEPLOY,
                  status_reset=True)
    assert again["metadata"]["managedFields"][0]["time"] == "T"


# --- Update operations --------------------------------------------------------------------------------
def update(old: dict[str, Any] | None, new: dict[str, Any], manager: str, now: str = "T",
           subresource: str = "", root: str = CM) -> dict[str, Any]:
    new = copy.deepcopy(new)
    if old is not None and "managedFields" in old["metadata"] and "managedFields" not in new["metadata"]:
        new["metadata"]["managedFields"] = copy.deepcopy(old["metadata"]["managedFields"])
    managedfields.record_update(new, old, manager=manager, api_version="v1", now=now, root=root,
                                subresource=subresource, status_reset=False)
    return new


def cm(**data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": dict(data)}


def test_create_owns_everything_with_dot_for_new_maps() -> None:
    obj = update(None, cm(a="1"), "kubectl-create")
    assert obj["metadata"]["managedFields"] == [{
        "manager": "kubectl-create", "operation": "Update", "apiVersion": "v1", "time": "T",
        "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {".": {}, "f:a": {}}}}]


def test_update_moves_changed_fields_and_drops_removed_ones() -> None:
    obj = update(None, cm(a="1", b="2"), "creator")
    obj = update(obj, cm(a="9", b="2", c="3"), "editor")
    assert owners(obj) == {"creator/Update": {".data", ".data.b"}, "editor/Update": {".data.a", ".data.c"}}
    obj = update(obj, cm(a="9"), "pruner")
    assert owners(obj) == {"creator/Update": {".data"}, "editor/Update": {".data.a"}}


def test_unchanged_write_adds_no_entry() -> None:
    obj = update(None, cm(a="1"), "creator")
    obj = update(obj, cm(a="1"), "toucher")
    assert set(owners(obj)) == {"creator/Update"}


def test_explicit_managed_fields_are_kept_and_reset_clears() -> None:
    obj = update(None, cm(a="1"), "creator")
    given = copy.deepcopy(obj)
    given["metadata"]["managedFields"][0]["manager"] = "renamed"
    kept = update(obj, given, "kubectl")
    assert set(owners(kept)) == {"renamed/Update"}
    reset = copy.deepcopy(obj)
    reset["metadata"]["managedFields"] = [{}]
    cleared = update(obj, reset, "kubectl")
    assert "managedFields" not in cleared["metadata"]


def test_status_writes_keep_live_entries() -> None:
    obj = update(None, cm(a="1"), "creator")
    given = copy.deepcopy(obj)
    given["metadata"]["managedFields"] = [{}]
    after = update(obj, given, "k", subresource="status")
    assert set(owners(after)) == {"creator/Update"}


def test_update_managers_are_capped_into_ancient_changes() -> None:
    obj = update(None, cm(k0="0"), "m00", now="2024-01-01T00:00:00Z")
    for i in range(1, 13):
        data = {f"k{j}": str(j) for j in range(i + 1)}
        obj = update(obj, cm(**data), f"m{i:02d}", now=f"2024-01-01T00:00:{i:02d}Z")
    names = [e["manager"] for e in obj["metadata"]["managedFields"]]
    assert len(names) == 10 and "ancient-changes" in names
    ancient = next(e for e in managedfields.decode(obj["metadata"]["managedFields"]) if e.manager == "ancient-changes")
    assert {fp.path_string(p) for p in ancient.fields} == {".data", ".data.k0", ".data.k1", ".data.k2", ".data.k3"}


# --- client-side apply interplay (manager "kubectl") --------------------------------------------------
def csa_applied(replicas: int) -> dict[str, Any]:
    obj = deploy(replicas)
    obj["metadata"]["annotations"] = {LAST: json.dumps(deploy(replicas))}
    managedfields.record_update(obj, None, manager="kubectl-client-side-apply", api_version="apps/v1", now="T",
                                root=DEPLOY, status_reset=True)
    return obj


@pytest.mark.parametrize(("manager", "live_replicas", "conflicts"), [
    pytest.param("kubectl", 2, False, id="kubectl-takes-over-what-it-applied"),
    pytest.param("other", 2, True, id="other-managers-still-conflict"),
    pytest.param("kubectl", 7, True, id="changed-since-last-apply-conflicts"),
])
def test_last_applied_allows_kubectl(manager: str, live_replicas: int, conflicts: bool) -> None:
    live = csa_applied(2)
    live["spec"]["replicas"] = live_replicas
    if conflicts:
        with pytest.raises(errors.StatusError, match="conflict"):
            run(live, deploy(4), manager)
        return
    obj = run(live, deploy(4), manager)
    assert obj["spec"]["replicas"] == 4
    assert ".spec.replicas" in owners(obj)["kubectl/Apply"]
    assert json.loads(obj["metadata"]["annotations"][LAST])["spec"]["replicas"] == 4


def test_last_applied_encoding() -> None:
    cfg = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "c", "annotations": {LAST: "old"}},
           "data": {"x": "<&>"}}
    assert encode_last_applied(cfg) == ('{"apiVersion":"v1","data":{"x":"\\u003c\\u0026\\u003e"},"kind":"ConfigMap",'
                                        '"metadata":{"annotations":{},"name":"c"}}\n')


def test_create_of_a_struct_kind_does_not_own_spec_itself() -> None:
    obj = deploy(2)
    managedfields.record_update(obj, None, manager="kubectl-create", api_version="apps/v1", now="T", root=DEPLOY,
                                status_reset=True)
    assert obj["metadata"]["managedFields"][0]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}


def test_update_tolerates_duplicate_keys_and_owns_them_as_one_value() -> None:
    # A pod may list one containerPort twice (upstream only warns); the write must not fail.
    port = {"containerPort": 80, "protocol": "TCP"}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "app", "image": "x", "ports": [port, dict(port)]}]}}
    created = update(None, pod, "creator", root=POD)
    owned = owners(created)["creator/Update"]
    ports = '.spec.containers[name="app"].ports'
    assert f'{ports}[containerPort=80,protocol="TCP"]' in owned
    assert f'{ports}[containerPort=80,protocol="TCP"].containerPort' not in owned
    changed = copy.deepcopy(created)
    changed["spec"]["containers"][0]["ports"][1]["name"] = "web"
    edited = update(created, changed, "editor", root=POD)
    assert owners(edited)["editor/Update"] == {f'{ports}[containerPort=80,protocol="TCP"]'}
