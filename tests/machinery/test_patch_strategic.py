"""Strategic merge patch against a small hand-made schema (not the generated built-ins).

Expected results follow upstream's StrategicMergeMapPatch, including its list orders.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kybernetes.api.schema import F, M, SchemaRegistry
from kybernetes.machinery.errors import StatusError
from kybernetes.machinery.patch import apply_strategic_merge_patch

DEPLOY = "test.Deployment"


def _registry() -> SchemaRegistry:
    r = SchemaRegistry()
    r.add(
        M(DEPLOY, F("apiVersion", 1, "string"), F("kind", 2, "string"),
          F("metadata", 3, "test.ObjectMeta"), F("spec", 4, "test.DeploymentSpec"),
          F("status", 5, "test.DeploymentStatus")),
        M("test.ObjectMeta", F("name", 1, "string"),
          F("labels", 2, "string", map=True), F("annotations", 3, "string", map=True),
          F("finalizers", 4, "string", repeated=True, patch_strategy="merge")),
        M("test.DeploymentSpec", F("replicas", 1, "int32"), F("paused", 2, "boolean"),
          F("strategy", 3, "test.DeploymentStrategy", patch_strategy="retainKeys"),
          F("template", 4, "test.PodTemplateSpec")),
        M("test.DeploymentStrategy", F("type", 1, "string"), F("rollingUpdate", 2, "test.RollingUpdate")),
        M("test.RollingUpdate", F("maxSurge", 1, "int-or-string"), F("maxUnavailable", 2, "int-or-string")),
        M("test.PodTemplateSpec", F("metadata", 1, "test.ObjectMeta"), F("spec", 2, "test.PodSpec")),
        M("test.PodSpec",
          F("containers", 1, "test.Container", repeated=True, merge_key="name", patch_strategy="merge"),
          F("volumes", 2, "test.Volume", repeated=True, merge_key="name", patch_strategy="merge,retainKeys"),
          F("tolerations", 3, "test.Toleration", repeated=True),
          F("nodeSelector", 4, "string", map=True),
          F("extra", 5, "test.Extra", map=True)),
        M("test.Extra", F("items", 1, "string", repeated=True, patch_strategy="merge")),
        M("test.Container", F("name", 1, "string"), F("image", 2, "string"),
          F("args", 3, "string", repeated=True),
          F("ports", 4, "test.ContainerPort", repeated=True, merge_key="containerPort", patch_strategy="merge"),
          F("env", 5, "test.EnvVar", repeated=True, merge_key="name", patch_strategy="merge"),
          F("resources", 6, "test.Resources"),
          F("securityContext", 7, "test.SecurityContext", patch_strategy="replace")),
        M("test.SecurityContext", F("runAsUser", 1, "int64"), F("privileged", 2, "boolean")),
        M("test.Resources", F("limits", 1, "quantity", map=True), F("requests", 2, "quantity", map=True)),
        M("test.ContainerPort", F("containerPort", 1, "int32"), F("name", 2, "string"), F("protocol", 3, "string")),
        M("test.EnvVar", F("name", 1, "string"), F("value", 2, "string")),
        M("test.Volume", F("name", 1, "string"), F("emptyDir", 2, "test.EmptyDir"),
          F("configMap", 3, "test.ConfigMapSource")),
        M("test.EmptyDir", F("medium", 1, "string")),
        M("test.ConfigMapSource", F("name", 1, "string")),
        M("test.Toleration", F("key", 1, "string"), F("value", 2, "string")),
        M("test.DeploymentStatus",
          F("conditions", 1, "test.Condition", repeated=True, merge_key="type", patch_strategy="merge")),
        M("test.Condition", F("type", 1, "string"), F("status", 2, "string"), F("reason", 3, "string")),
    )
    return r


SCHEMA = _registry()


def pod(**spec: Any) -> dict[str, Any]:
    """A Deployment whose pod template spec is `spec`."""
    return {"spec": {"template": {"spec": spec}}}


def meta(**m: Any) -> dict[str, Any]:
    return {"metadata": m}


def env(*pairs: str) -> list[dict[str, str]]:
    return [{"name": n, "value": v} for n, v in (p.split("=") for p in pairs)]


# --- kubectl's own patches (see /work/shared/kubectl-wire.md) --------------------------------

APPLY_LIVE: dict[str, Any] = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "probeapp", "labels": {"app": "probeapp"},
                 "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{old}\n",
                                 "deployment.kubernetes.io/revision": "1"}},
    "spec": {"replicas": 1,
             "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
             "template": {"metadata": {"labels": {"app": "probeapp"}},
                          "spec": {"containers": [{"name": "app", "image": "nginx:1.25",
                                                   "imagePullPolicy": "IfNotPresent",
                                                   "env": env("OLD=x", "MODE=one")}]}}},
    "status": {"replicas": 1},
}
# §2.9: the second `kubectl apply` (image, replicas, a label, env OLD removed, env MODE changed).
APPLY_PATCH = json.loads("""
{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{new}\\n"},"labels":{"tier":"web"}},
 "spec":{"replicas":2,"template":{"spec":{"$setElementOrder/containers":[{"name":"app"}],
   "containers":[{"$setElementOrder/env":[{"name":"MODE"}],
                  "env":[{"name":"MODE","value":"two"},{"$patch":"delete","name":"OLD"}],
                  "image":"nginx:1.26","name":"app"}]}}}}
""")
APPLY_RESULT: dict[str, Any] = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "probeapp", "labels": {"app": "probeapp", "tier": "web"},
                 "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{new}\n",
                                 "deployment.kubernetes.io/revision": "1"}},
    "spec": {"replicas": 2,
             "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
             "template": {"metadata": {"labels": {"app": "probeapp"}},
                          "spec": {"containers": [{"name": "app", "image": "nginx:1.26",
                                                   "imagePullPolicy": "IfNotPresent",
                                                   "env": env("MODE=two")}]}}},
    "status": {"replicas": 1},
}

SET_IMAGE_LIVE = pod(containers=[{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]},
                                 {"name": "log", "image": "busybox"}])
# §2.35: `kubectl set image deploy/web web=nginx:1.28` (kubectl lists only the container it sets).
SET_IMAGE_PATCH = json.loads(
    '{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"web"}],'
    '"containers":[{"image":"nginx:1.28","name":"web"}]}}}}'
)
SET_IMAGE_RESULT = pod(containers=[{"name": "web", "image": "nginx:1.28", "ports": [{"containerPort": 80}]},
                                   {"name": "log", "image": "busybox"}])

CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    ("kubectl-apply", APPLY_LIVE, APPLY_PATCH, APPLY_RESULT),
    ("kubectl-set-image", SET_IMAGE_LIVE, SET_IMAGE_PATCH, SET_IMAGE_RESULT),
    ("kubectl-apply-label-removed", meta(labels={"app": "a", "tier": "web"}), meta(labels={"tier": None}),
     meta(labels={"app": "a"})),
    ("rollout-restart-new-annotations", {"spec": {"template": {"metadata": {"labels": {"a": "b"}}}}},
     {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "t"}}}}},
     {"spec": {"template": {"metadata": {"labels": {"a": "b"},
                                         "annotations": {"kubectl.kubernetes.io/restartedAt": "t"}}}}}),
    ("rollout-resume-null", {"spec": {"paused": True, "replicas": 1}}, {"spec": {"paused": None}},
     {"spec": {"replicas": 1}}),
    ("null-for-absent-key", {"spec": {"replicas": 1}}, {"spec": {"paused": None}}, {"spec": {"replicas": 1}}),
    # merge lists of maps
    ("container-merged-by-name", pod(containers=[{"name": "a", "image": "1", "args": ["x"]}]),
     pod(containers=[{"name": "a", "image": "2"}]), pod(containers=[{"name": "a", "image": "2", "args": ["x"]}])),
    ("new-container-goes-first", pod(containers=[{"name": "a"}]), pod(containers=[{"name": "b"}]),
     pod(containers=[{"name": "b"}, {"name": "a"}])),
    ("delete-container", pod(containers=[{"name": "a"}, {"name": "b"}, {"name": "c"}]),
     pod(containers=[{"$patch": "delete", "name": "b"}]), pod(containers=[{"name": "a"}, {"name": "c"}])),
    ("delete-removes-duplicates", pod(containers=[{"name": "a"}, {"name": "b"}, {"name": "a"}]),
     pod(containers=[{"name": "a", "$patch": "delete"}]), pod(containers=[{"name": "b"}])),
    ("replace-list", pod(containers=[{"name": "a"}, {"name": "b"}]),
     pod(containers=[{"name": "c", "image": "i"}, {"$patch": "replace"}]), pod(containers=[{"name": "c", "image": "i"}])),
    ("replace-list-empty", pod(containers=[{"name": "a"}]), pod(containers=[{"$patch": "replace"}]), pod(containers=[])),
    ("ports-by-container-port", pod(containers=[{"name": "a", "ports": [{"containerPort": 80, "name": "http"},
                                                                         {"containerPort": 443}]}]),
     pod(containers=[{"name": "a", "ports": [{"containerPort": 443, "name": "https"}]}]),
     pod(containers=[{"name": "a", "ports": [{"containerPort": 80, "name": "http"},
                                             {"containerPort": 443, "name": "https"}]}])),
    ("patch-order-kept", pod(containers=[{"name": "a", "env": [{"name": "1"}, {"name": "2", "value": "b"}, {"name": "3"}]}]),
     pod(containers=[{"name": "a", "env": [{"name": "3", "value": "c"}, {"name": "1", "value": "a"},
                                          {"name": "2", "other": "x"}]}]),
     pod(containers=[{"name": "a", "env": [{"name": "3", "value": "c"}, {"name": "1", "value": "a"},
                                          {"name": "2", "value": "b", "other": "x"}]}])),
    ("server-only-item-keeps-its-place",
     pod(containers=[{"name": "a", "env": [{"name": "1"}, {"name": "2", "value": "b"}, {"name": "3"}]}]),
     pod(containers=[{"name": "a", "env": [{"name": "3", "value": "c"}, {"name": "1", "value": "a"}]}]),
     pod(containers=[{"name": "a", "env": [{"name": "2", "value": "b"}, {"name": "3", "value": "c"},
                                          {"name": "1", "value": "a"}]}])),
    ("conditions-by-type",
     {"status": {"conditions": [{"type": "Available", "status": "True"}, {"type": "Progressing", "status": "True"}]}},
     {"status": {"conditions": [{"type": "Progressing", "status": "False", "reason": "Timeout"}]}},
     {"status": {"conditions": [{"type": "Available", "status": "True"},
                                {"type": "Progressing", "status": "False", "reason": "Timeout"}]}}),
    # merge lists of primitives
    ("finalizers-union", meta(finalizers=["a", "b"]), meta(finalizers=["b", "c"]), meta(finalizers=["a", "b", "c"])),
    ("finalizers-new-goes-first", meta(finalizers=["a", "b"]), meta(finalizers=["c"]), meta(finalizers=["c", "a", "b"])),
    ("finalizers-patch-order", meta(finalizers=["a", "b", "c"]), meta(finalizers=["c", "a"]),
     meta(finalizers=["b", "c", "a"])),
    ("finalizers-delete", meta(finalizers=["a", "b", "c"]), meta(**{"$deleteFromPrimitiveList/finalizers": ["b", "x"]}),
     meta(finalizers=["a", "c"])),
    ("finalizers-delete-absent-list", meta(name="n"), meta(**{"$deleteFromPrimitiveList/finalizers": ["b"]}),
     meta(name="n")),
    ("finalizers-add-and-delete", meta(finalizers=["a", "b"]),
     meta(finalizers=["c"], **{"$deleteFromPrimitiveList/finalizers": ["a"], "$setElementOrder/finalizers": ["b", "c"]}),
     meta(finalizers=["b", "c"])),
    # $setElementOrder
    ("order-only-reorders", pod(containers=[{"name": "a"}, {"name": "b"}]),
     pod(**{"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}), pod(containers=[{"name": "b"}, {"name": "a"}])),
    ("order-keeps-server-only-item", pod(containers=[{"name": "app", "image": "1"}, {"name": "proxy"}]),
     pod(**{"$setElementOrder/containers": [{"name": "app"}], "containers": [{"name": "app", "image": "2"}]}),
     pod(containers=[{"name": "app", "image": "2"}, {"name": "proxy"}])),
    ("order-adds-new-item", pod(containers=[{"name": "a"}, {"name": "c"}]),
     pod(**{"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
            "containers": [{"name": "b", "image": "x"}]}),
     pod(containers=[{"name": "a"}, {"name": "b", "image": "x"}, {"name": "c"}])),
    ("order-names-missing-item", pod(containers=[{"name": "1"}, {"name": "3"}]),
     pod(**{"$setElementOrder/containers": [{"name": "3"}, {"name": "2"}, {"name": "1"}],
            "containers": [{"name": "3", "image": "3"}, {"name": "1", "image": "1"}]}),
     pod(containers=[{"name": "3", "image": "3"}, {"name": "1", "image": "1"}])),
    ("order-primitive-list", meta(finalizers=["a", "c"]), meta(**{"$setElementOrder/finalizers": ["c", "b", "a"]}),
     meta(finalizers=["c", "a"])),
    ("order-for-absent-list", pod(), pod(**{"$setElementOrder/containers": [{"name": "a"}],
                                           "containers": [{"name": "a", "image": "x"}]}),
     pod(containers=[{"name": "a", "image": "x"}])),
    # retainKeys
    ("retain-keys-strategy", {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}},
     {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": None}}},
     {"spec": {"strategy": {"type": "Recreate"}}}),
    ("retain-keys-volume-item", pod(volumes=[{"name": "v", "emptyDir": {}}]),
     pod(volumes=[{"name": "v", "$retainKeys": ["configMap", "name"], "configMap": {"name": "cm"}}]),
     pod(volumes=[{"name": "v", "configMap": {"name": "cm"}}])),
    ("retain-keys-field-without-directive", {"spec": {"strategy": {"type": "RollingUpdate"}}},
     {"spec": {"strategy": {"rollingUpdate": {"maxSurge": 1}}}},
     {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}),
    # maps
    ("map-replace-directive", pod(nodeSelector={"a": "1", "b": "2"}), pod(nodeSelector={"c": "3", "$patch": "replace"}),
     pod(nodeSelector={"c": "3"})),
    ("map-delete-directive", pod(nodeSelector={"a": "1"}), pod(nodeSelector={"$patch": "delete"}), pod(nodeSelector={})),
    ("replace-strategy-field", pod(containers=[{"name": "a", "securityContext": {"runAsUser": 1, "privileged": True}}]),
     pod(containers=[{"name": "a", "securityContext": {"runAsUser": 2}}]),
     pod(containers=[{"name": "a", "securityContext": {"runAsUser": 2}}])),
    ("map-of-messages", pod(extra={"k": {"items": ["a"]}, "j": {"items": ["z"]}}), pod(extra={"k": {"items": ["b"]}}),
     pod(extra={"k": {"items": ["b", "a"]}, "j": {"items": ["z"]}})),
    ("nested-quantity-map", pod(containers=[{"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]),
     pod(containers=[{"name": "a", "resources": {"limits": {"cpu": None, "memory": "2Gi"}}}]),
     pod(containers=[{"name": "a", "resources": {"limits": {"memory": "2Gi"}}}])),
    # lists without merge strategy and unknown fields: JSON merge patch
    ("atomic-list-replaced", pod(tolerations=[{"key": "a"}, {"key": "b"}]), pod(tolerations=[{"key": "c"}]),
     pod(tolerations=[{"key": "c"}])),
    ("primitive-atomic-list-replaced", pod(containers=[{"name": "a", "args": ["x", "y"]}]),
     pod(containers=[{"name": "a", "args": ["z"]}]), pod(containers=[{"name": "a", "args": ["z"]}])),
    ("unknown-field-list-replaced", pod(unknownList=[1, 2]), pod(unknownList=[3]), pod(unknownList=[3])),
    ("unknown-field-map-merged", pod(unknownMap={"a": 1, "b": {"c": 1}}), pod(unknownMap={"b": {"d": 2}, "a": None}),
     pod(unknownMap={"b": {"c": 1, "d": 2}})),
    ("type-change-replaces", pod(nodeSelector={"a": "1"}), pod(nodeSelector="oops"), pod(nodeSelector="oops")),
    # new subtrees have their directives resolved
    ("new-subtree-drops-nulls-and-directives", {"spec": {}},
     pod(nodeSelector={"a": None, "b": "1"},
         volumes=[{"name": "x", "$patch": "delete"}, {"name": "y", "emptyDir": {}}],
         containers=[{"name": "c", "$setElementOrder/env": [{"name": "E"}], "env": [{"name": "E", "value": "1"}]}]),
     pod(nodeSelector={"b": "1"}, volumes=[{"name": "y", "emptyDir": {}}],
         containers=[{"name": "c", "env": [{"name": "E", "value": "1"}]}])),
    ("new-list-item-stripped", pod(containers=[{"name": "a"}]),
     pod(containers=[{"name": "b", "resources": {"limits": {"cpu": None, "memory": "1Gi"}}}]),
     pod(containers=[{"name": "b", "resources": {"limits": {"memory": "1Gi"}}}, {"name": "a"}])),
    ("root-delete", {"a": 1}, {"$patch": "delete"}, {}),
    ("empty-patch", APPLY_LIVE, {}, APPLY_LIVE),
]


@pytest.mark.parametrize(("original", "patch", "want"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_apply(original: dict[str, Any], patch: dict[str, Any], want: dict[str, Any]) -> None:
    before_o, before_p = copy.deepcopy(original), copy.deepcopy(patch)
    got = apply_strategic_merge_patch(original, patch, SCHEMA, DEPLOY)
    assert got == want
    assert json.dumps(got) == json.dumps(want)  # list and key order too
    assert (original, patch) == (before_o, before_p)


NO_SCHEMA = [
    ("schema-none", None, DEPLOY),
    ("root-none", SCHEMA, None),
    ("root-unknown", SCHEMA, "test.Nope"),
]


@pytest.mark.parametrize(("schema", "root"), [n[1:] for n in NO_SCHEMA], ids=[n[0] for n in NO_SCHEMA])
def test_without_schema_lists_are_replaced(schema: SchemaRegistry | None, root: str | None) -> None:
    original = pod(containers=[{"name": "a", "image": "1"}], nodeSelector={"x": "1"})
    patch = pod(containers=[{"name": "b"}], nodeSelector={"y": "2", "x": None})
    got = apply_strategic_merge_patch(original, patch, schema, root)
    assert got == pod(containers=[{"name": "b"}], nodeSelector={"y": "2"})


def test_without_schema_order_directive_is_dropped() -> None:
    original = pod(containers=[{"name": "a"}])
    patch = pod(**{"$setElementOrder/containers": [{"name": "b"}], "containers": [{"name": "b"}]})
    assert apply_strategic_merge_patch(original, patch, None, None) == pod(containers=[{"name": "b"}])


ENV_132 = pod(containers=[{"name": "a", "env": [{"name": "1"}, {"name": "3"}, {"name": "2"}]}])

ERRORS: list[tuple[str, dict[str, Any], Any, int, str, str]] = [
    ("missing-merge-key", pod(containers=[{"name": "a"}]), pod(containers=[{"image": "x"}]),
     500, "", "map: map[image:x] does not contain declared merge key: name"),
    ("delete-without-merge-key", pod(containers=[{"name": "a"}]), pod(containers=[{"$patch": "delete"}]),
     500, "", "map: map[$patch:delete] does not contain declared merge key: name"),
    ("order-mismatch", ENV_132,
     pod(containers=[{"name": "a", "$setElementOrder/env": [{"name": "1"}, {"name": "2"}, {"name": "3"}],
                      "env": [{"name": "3", "value": "3"}, {"name": "1", "value": "1"}]}]),
     500, "", "The order in patch list:\n[map[name:3 value:3] map[name:1 value:1]]\n doesn't match "
              "$setElementOrder list:\n[map[name:1] map[name:2] map[name:3]]\n"),
    ("order-key-without-slash", pod(containers=[]), pod(**{"$setElementOrder": []}),
     400, "BadRequest", "invalid patch format of setElementOrder list"),
    ("order-not-a-list", pod(containers=[]), pod(**{"$setElementOrder/containers": "x"}),
     500, "", "expected a []interface {}, but received a string"),
    ("delete-list-key-without-slash", meta(finalizers=["a"]), meta(**{"$deleteFromPrimitiveListfinalizers": ["a"]}),
     400, "BadRequest", "invalid patch format of primitive list"),
    ("retain-keys-not-a-list", {"spec": {"strategy": {}}}, {"spec": {"strategy": {"$retainKeys": "type"}}},
     400, "BadRequest", "invalid patch format of retainKeys"),
    ("retain-keys-missing-patched-key", {"spec": {"strategy": {}}},
     {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}},
     400, "BadRequest", "invalid patch format of retainKeys"),
    ("unknown-map-directive", pod(nodeSelector={"a": "1"}), pod(nodeSelector={"$patch": "bogus", "a": "b"}),
     500, "", "unknown patch type: bogus in map: map[$patch:bogus a:b]"),
    ("merge-directive-on-map", pod(nodeSelector={"a": "1"}), pod(nodeSelector={"$patch": "merge"}),
     500, "", "unknown patch type: merge in map: map[$patch:merge]"),
    ("merge-directive-in-list", pod(containers=[{"name": "a"}]), pod(containers=[{"$patch": "merge"}]),
     500, "", "merging lists cannot yet be specified in the patch"),
    ("unknown-list-directive", pod(containers=[{"name": "a"}]), pod(containers=[{"$patch": "x", "name": "a"}]),
     500, "", "unknown patch type: x in map: map[$patch:x name:a]"),
    ("mixed-element-types", meta(finalizers=["a"]), meta(finalizers=[1]),
     500, "", "list element types are not identical: [[a] [1]]"),
    ("list-of-lists", meta(finalizers=[]), meta(finalizers=[["a"]]),
     422, "Invalid", "the server rejected our request due to an error in our request"),
    ("patch-not-an-object", {}, ["x"],
     400, "BadRequest", "json: cannot unmarshal array into Go value of type map[string]interface {}"),
]


@pytest.mark.parametrize(("original", "patch", "code", "reason", "message"), [e[1:] for e in ERRORS],
                         ids=[e[0] for e in ERRORS])
def test_errors(original: dict[str, Any], patch: Any, code: int, reason: str, message: str) -> None:
    with pytest.raises(StatusError) as ei:
        apply_strategic_merge_patch(original, patch, SCHEMA, DEPLOY)
    assert (ei.value.code, ei.value.reason, ei.value.message) == (code, reason, message)


def test_result_shares_nothing_with_inputs() -> None:
    original = copy.deepcopy(APPLY_LIVE)
    patch = copy.deepcopy(APPLY_PATCH)
    got = apply_strategic_merge_patch(original, patch, SCHEMA, DEPLOY)
    got["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "Z"})
    got["metadata"]["labels"]["x"] = "y"
    assert original == APPLY_LIVE and patch == APPLY_PATCH
