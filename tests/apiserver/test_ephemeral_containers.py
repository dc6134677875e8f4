"""pods/ephemeralcontainers: the validation rules (table) and the subresource over real HTTP."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from kybernetes.apiserver.strategies.pod_ephemeral import (
    prepare_ephemeral_containers_update,
    validate_ephemeral_containers,
    validate_ephemeral_containers_change,
)
from kybernetes.testing.inprocess import serve_api

E = "spec.ephemeralContainers"
FORBIDDEN = "Forbidden: cannot be set for an Ephemeral Container"


def debugger(**extra: Any) -> dict[str, Any]:
    return {
        "name": "dbg",
        "image": "busybox:1.36",
        "imagePullPolicy": "IfNotPresent",
        "terminationMessagePolicy": "File",
        **extra,
    }


def spec(*ephemeral: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "containers": [{"name": "app", "image": "busybox:1.36"}],
        "initContainers": [{"name": "setup", "image": "busybox:1.36"}],
        "volumes": [{"name": "data", "emptyDir": {}}],
        "ephemeralContainers": list(ephemeral),
        **extra,
    }


VALIDATION_CASES = [
    ("none", spec(), []),
    ("plain", spec(debugger()), []),
    ("target-regular", spec(debugger(targetContainerName="app")), []),
    ("target-init", spec(debugger(targetContainerName="setup")), []),
    (
        "target-missing",
        spec(debugger(targetContainerName="nope")),
        [(f"{E}[0].targetContainerName", 'Not found: "nope"')],
    ),
    (
        "target-ephemeral",
        spec(debugger(), debugger(name="dbg2", targetContainerName="dbg")),
        [(f"{E}[1].targetContainerName", 'Not found: "dbg"')],
    ),
    ("name-clashes-regular", spec(debugger(name="app")), [(f"{E}[0].name", 'Duplicate value: "app"')]),
    ("name-clashes-init", spec(debugger(name="setup")), [(f"{E}[0].name", 'Duplicate value: "setup"')]),
    ("name-clashes-ephemeral", spec(debugger(), debugger()), [(f"{E}[1].name", 'Duplicate value: "dbg"')]),
    ("name-missing", spec(debugger(name="")), [(f"{E}[0].name", "Required value")]),
    (
        "name-not-a-label",
        spec(debugger(name="Dbg")),
        [
            (
                f"{E}[0].name",
                'Invalid value: "Dbg": a lowercase RFC 1123 label must consist of lower case '
                "alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. "
                "'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
            )
        ],
    ),
    ("image-missing", spec(debugger(image="")), [(f"{E}[0].image", "Required value")]),
    (
        "ports",
        spec(debugger(ports=[{"containerPort": 80, "protocol": "TCP"}])),
        [(f"{E}[0].ports", FORBIDDEN)],
    ),
    ("resources", spec(debugger(resources={"limits": {"cpu": "1"}})), [(f"{E}[0].resources", FORBIDDEN)]),
    ("empty-resources-are-unset", spec(debugger(resources={})), []),
    (
        "probes-and-lifecycle",
        spec(
            debugger(
                livenessProbe={"exec": {"command": ["true"]}},
                readinessProbe={"exec": {"command": ["true"]}},
                startupProbe={"exec": {"command": ["true"]}},
                lifecycle={"preStop": {"exec": {"command": ["true"]}}},
            )
        ),
        [
            (f"{E}[0].livenessProbe", FORBIDDEN),
            (f"{E}[0].readinessProbe", FORBIDDEN),
            (f"{E}[0].startupProbe", FORBIDDEN),
            (f"{E}[0].lifecycle", FORBIDDEN),
        ],
    ),
    (
        "restart-and-resize-policy",
        spec(
            debugger(
                restartPolicy="Always", resizePolicy=[{"resourceName": "cpu", "restartPolicy": "NotRequired"}]
            )
        ),
        [(f"{E}[0].resizePolicy", FORBIDDEN), (f"{E}[0].restartPolicy", FORBIDDEN)],
    ),
    ("mount-ok", spec(debugger(volumeMounts=[{"name": "data", "mountPath": "/data"}])), []),
    (
        "mount-unknown-volume",
        spec(debugger(volumeMounts=[{"name": "nope", "mountPath": "/x"}])),
        [(f"{E}[0].volumeMounts[0].name", 'Not found: "nope"')],
    ),
    (
        "mount-subpath",
        spec(
            debugger(
                volumeMounts=[
                    {"name": "data", "mountPath": "/d", "subPath": "a"},
                    {"name": "data", "mountPath": "/e", "subPathExpr": "$(X)"},
                ]
            )
        ),
        [(f"{E}[0].volumeMounts[0].subPath", FORBIDDEN), (f"{E}[0].volumeMounts[1].subPathExpr", FORBIDDEN)],
    ),
    (
        "pull-policy",
        spec(debugger(imagePullPolicy="Sometimes")),
        [
            (
                f"{E}[0].imagePullPolicy",
                'Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"',
            )
        ],
    ),
    ("stdin-tty-allowed", spec(debugger(stdin=True, tty=True, stdinOnce=True, command=["sh"])), []),
]


@pytest.mark.parametrize(
    ("case", "pod_spec", "expected"), VALIDATION_CASES, ids=[c[0] for c in VALIDATION_CASES]
)
def test_validate_ephemeral_containers(
    case: str, pod_spec: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    del case
    assert [(c.field, c.message) for c in validate_ephemeral_containers(pod_spec)] == expected


def pod_with(*ephemeral: dict[str, Any], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "p", "annotations": annotations or {}}, "spec": spec(*ephemeral)}


CHANGE_CASES = [
    ("add-first", pod_with(), pod_with(debugger()), []),
    ("add-second", pod_with(debugger()), pod_with(debugger(), debugger(name="dbg2")), []),
    (
        "reordered",
        pod_with(debugger(), debugger(name="dbg2")),
        pod_with(debugger(name="dbg2"), debugger()),
        [],
    ),
    (
        "removed",
        pod_with(debugger()),
        pod_with(),
        [(E, 'Forbidden: existing ephemeral containers "dbg" may not be removed\n')],
    ),
    (
        "static-pod",
        pod_with(annotations={"kubernetes.io/config.mirror": "x"}),
        pod_with(debugger()),
        [("[]", "Forbidden: static pods do not support ephemeral containers")],
    ),
]


@pytest.mark.parametrize(("case", "old", "new", "expected"), CHANGE_CASES, ids=[c[0] for c in CHANGE_CASES])
def test_validate_ephemeral_containers_change(
    case: str, old: dict[str, Any], new: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    del case
    assert [(c.field, c.message) for c in validate_ephemeral_containers_change(new, old)] == expected


def test_changing_one_names_it_and_shows_the_difference() -> None:
    causes = validate_ephemeral_containers_change(pod_with(debugger(image="busybox:1")), pod_with(debugger()))
    assert len(causes) == 1 and causes[0].field == E
    first, *diff = causes[0].message.split("\n")
    assert first == 'Forbidden: existing ephemeral containers "dbg" may not be changed'
    assert '-\tImage: "busybox:1.36",' in diff and '+\tImage: "busybox:1",' in diff


def test_prepare_keeps_everything_but_the_ephemeral_containers() -> None:
    old: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": {"a": "1"}},
        "spec": spec(),
        "status": {"phase": "Running"},
    }
    new = copy.deepcopy(old)
    new["metadata"]["labels"] = {"b": "2"}
    new["spec"]["containers"][0]["image"] = "evil"
    new["spec"]["ephemeralContainers"] = [debugger()]
    new["status"] = {"phase": "Failed"}
    prepare_ephemeral_containers_update(new, old)
    want = copy.deepcopy(old)
    want["spec"]["ephemeralContainers"] = [debugger()]
    assert new == want


# --- over HTTP ---------------------------------------------------------------------------------


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    async with serve_api(tmp_path) as served, aiohttp.ClientSession() as session:
        yield session, served.base_url


async def req(
    session: aiohttp.ClientSession, method: str, url: str, body: Any = None, ctype: str = "application/json"
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    async with session.request(method, url, data=data, headers={"Content-Type": ctype}) as r:
        return r.status, json.loads(await r.read())


POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p"},
    "spec": {"containers": [{"name": "app", "image": "busybox:1.36", "command": ["sleep", "3600"]}]},
}


async def test_subresource_adds_and_guards(api: Any) -> None:
    s, base = api
    pods = f"{base}/api/v1/namespaces/default/pods"
    sub = f"{pods}/p/ephemeralcontainers"
    code, _ = await req(s, "POST", pods, POD)
    assert code == 201
    code, got = await req(s, "GET", sub)
    assert code == 200 and got["kind"] == "Pod" and "ephemeralContainers" not in got["spec"]

    # kubectl debug's strategic merge patch (with a stray change elsewhere, which is dropped)
    patch = {
        "metadata": {"labels": {"sneaky": "yes"}},
        "spec": {
            "ephemeralContainers": [
                {
                    "name": "dbg",
                    "image": "busybox:1.36",
                    "targetContainerName": "app",
                    "stdin": True,
                    "tty": True,
                    "resources": {},
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": "IfNotPresent",
                }
            ]
        },
    }
    code, got = await req(s, "PATCH", sub, patch, "application/strategic-merge-patch+json")
    assert code == 200, got
    assert [c["name"] for c in got["spec"]["ephemeralContainers"]] == ["dbg"]
    assert "labels" not in got["metadata"]
    managers = {(m["manager"], m.get("subresource")) for m in got["metadata"]["managedFields"]}
    assert any(sr == "ephemeralcontainers" for _, sr in managers)

    # a JSON patch appending a second one (defaults filled in)
    add = [
        {
            "op": "add",
            "path": "/spec/ephemeralContainers/-",
            "value": {"name": "dbg2", "image": "busybox:1.36"},
        }
    ]
    code, got = await req(s, "PATCH", sub, add, "application/json-patch+json")
    assert code == 200, got
    second = got["spec"]["ephemeralContainers"][1]
    assert second["imagePullPolicy"] == "IfNotPresent" and second["terminationMessagePolicy"] == "File"

    # removing one, or changing it, is refused with upstream's texts
    code, st = await req(
        s,
        "PATCH",
        sub,
        [{"op": "remove", "path": "/spec/ephemeralContainers/0"}],
        "application/json-patch+json",
    )
    assert code == 422 and st["reason"] == "Invalid"
    assert st["message"] == (
        'Pod "p" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral '
        'containers "dbg" may not be removed\n'
    )
    code, st = await req(
        s,
        "PATCH",
        sub,
        [{"op": "replace", "path": "/spec/ephemeralContainers/0/image", "value": "busybox:1"}],
        "application/json-patch+json",
    )
    assert code == 422
    assert st["details"]["causes"][0]["message"].startswith(
        'Forbidden: existing ephemeral containers "dbg" may not be changed\n'
    )

    # the subresource validates the new one
    bad = {
        "spec": {
            "$setElementOrder/ephemeralContainers": [{"name": "dbg"}, {"name": "dbg2"}, {"name": "app"}],
            "ephemeralContainers": [
                {
                    "name": "app",
                    "image": "busybox:1.36",
                    "ports": [{"containerPort": 80}],
                    "targetContainerName": "zz",
                }
            ],
        }
    }
    code, st = await req(s, "PATCH", sub, bad, "application/strategic-merge-patch+json")
    assert code == 422
    assert [(c["field"], c["message"]) for c in st["details"]["causes"]] == [
        ("spec.ephemeralContainers[2].name", 'Duplicate value: "app"'),
        ("spec.ephemeralContainers[2].targetContainerName", 'Not found: "zz"'),
        ("spec.ephemeralContainers[2].ports", FORBIDDEN),
    ]

    # a PUT to the subresource replaces the list as a whole
    code, current = await req(s, "GET", sub)
    current["spec"]["ephemeralContainers"] = current["spec"]["ephemeralContainers"][:1]
    code, st = await req(s, "PUT", sub, current)
    assert code == 422 and 'existing ephemeral containers "dbg2" may not be removed' in st["message"]

    # the pod itself may not change them
    code, current = await req(s, "GET", f"{pods}/p")
    current["spec"]["ephemeralContainers"][0]["image"] = "busybox:1"
    code, st = await req(s, "PUT", f"{pods}/p", current)
    assert code == 422 and st["details"]["causes"][0]["field"] == "spec"
    assert st["details"]["causes"][0]["message"].startswith("Forbidden: pod updates may not change fields")
    assert "EphemeralContainers" in st["details"]["causes"][0]["message"]


async def test_subresource_is_discovered_and_needs_a_pod(api: Any) -> None:
    s, base = api
    code, listing = await req(s, "GET", f"{base}/api/v1")
    entry = next(r for r in listing["resources"] if r["name"] == "pods/ephemeralcontainers")
    assert entry["kind"] == "Pod" and sorted(entry["verbs"]) == ["get", "patch", "update"]
    code, st = await req(s, "GET", f"{base}/api/v1/namespaces/default/pods/none/ephemeralcontainers")
    assert code == 404 and st["reason"] == "NotFound"
    code, _ = await req(
        s, "POST", f"{base}/api/v1/namespaces/default/configmaps", {"metadata": {"name": "c"}, "data": {}}
    )
    code, st = await req(s, "GET", f"{base}/api/v1/namespaces/default/configmaps/c/ephemeralcontainers")
    assert code == 404
