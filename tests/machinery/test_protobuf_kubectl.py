"""Protobuf bodies that real kubectl sends, decoded and compared with what kubectl sends as JSON.

kubectl 1.32 posts protobuf for its typed generators; kubectl 1.27 posts JSON for the same
commands, built from the same Go structs. Decoding the 1.32 body must give the 1.27 JSON, except
for what Go's JSON encoder writes for unset non-pointer struct fields, which the decoder leaves
out on purpose (kybernetes.machinery.protobuf, point 1):

* ``creationTimestamp: null`` (metadata, and the pod template's metadata): the zero Time;
* ``{}`` for empty non-pointer structs marked omitempty: ``status``, container ``resources``,
  deployment ``strategy``, pod template ``metadata`` and the like.

``normalise_go_json`` removes exactly those from the 1.27 JSON: nulls, and empty objects of
fields the schema declares ``omit_empty``. Nothing else may differ.

Both captures are committed under ``fixtures/kubectl/`` (``<case>.pb`` from 1.32, ``<case>.json``
from 1.27). Regenerate them with ``.venv/bin/python tests/machinery/test_protobuf_kubectl.py``.
The slow test captures 1.32 afresh from the real binary and checks it against the fixtures.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from kybernetes.api.schemas import REGISTRY
from kybernetes.machinery.protobuf import builtin_message, decode_envelope, decode_object

FIXTURES = Path(__file__).parent / "fixtures" / "kubectl"
KUBECTL_NEW = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"
KUBECTL_OLD = "/usr/lib/google-cloud-sdk/bin/kubectl.1.27"
PORT = 18101

CASES: dict[str, list[str]] = {
    "configmap": ["create", "configmap", "cm1", "--from-literal=a=b", "--from-literal=empty="],
    "secret-generic": ["create", "secret", "generic", "s1", "--from-literal=user=admin", "--type=Opaque"],
    "secret-docker-registry": [
        "create",
        "secret",
        "docker-registry",
        "reg",
        "--docker-server=r.example",
        "--docker-username=u",
        "--docker-password=p",
    ],
    "namespace": ["create", "namespace", "ns1"],
    # --replicas=0: a pointer field set to zero must survive
    "deployment": ["create", "deployment", "web", "--image=nginx:1.25", "--replicas=0", "--port=80"],
    "job": ["create", "job", "j1", "--image=busybox", "--", "echo", "hello"],
    "cronjob": [
        "create",
        "cronjob",
        "cj1",
        "--image=busybox",
        "--schedule=*/5 * * * *",
        "--restart=OnFailure",
        "--",
        "date",
    ],
    # a numeric and a named target port: both int-or-string forms
    "service-clusterip": ["create", "service", "clusterip", "svc1", "--tcp=80:8080", "--tcp=443:https"],
    "service-nodeport": ["create", "service", "nodeport", "np1", "--tcp=80:8080", "--node-port=30080"],
    "ingress": [
        "create",
        "ingress",
        "ing1",
        "--class=nginx",
        "--rule=foo.com/bar*=svc1:8080,tls=my-cert",
        "--annotation=a=b",
        "--default-backend=defsvc:http",
    ],
    "priorityclass": [
        "create",
        "priorityclass",
        "pc1",
        "--value=1000",
        "--description=hi",
        "--preemption-policy=Never",
    ],
    "poddisruptionbudget": ["create", "pdb", "p1", "--selector=app=web", "--min-available=50%"],
    "quota": ["create", "quota", "q1", "--hard=pods=3,cpu=500m,memory=1Gi", "--scopes=NotTerminating"],
    "serviceaccount": ["create", "serviceaccount", "sa1"],
    "autoscale": ["autoscale", "deployment", "web", "--min=2", "--max=5", "--cpu-percent=80"],
    "auth-can-i": ["auth", "can-i", "get", "pods", "--subresource=log"],
}

# --- a capture server ---------------------------------------------------------------------------

_DISCOVERY: dict[str, Any] = {
    "/api": {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{PORT}"}],
    },
    "/apis": {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {
                "name": "apps",
                "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"},
            },
        ],
    },
    "/api/v1": {
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            {
                "name": "pods",
                "singularName": "pod",
                "namespaced": True,
                "kind": "Pod",
                "verbs": ["get", "list"],
            },
            {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]},
        ],
    },
    "/apis/apps/v1": {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "apps/v1",
        "resources": [
            {
                "name": "deployments",
                "singularName": "deployment",
                "namespaced": True,
                "kind": "Deployment",
                "verbs": ["create", "get", "list"],
                "shortNames": ["deploy"],
            },
            {
                "name": "deployments/scale",
                "singularName": "",
                "namespaced": True,
                "group": "autoscaling",
                "version": "v1",
                "kind": "Scale",
                "verbs": ["get", "patch", "update"],
            },
        ],
    },
}
_DEPLOYMENT = {
    "kind": "Deployment",
    "apiVersion": "apps/v1",
    "metadata": {"name": "web", "namespace": "default", "uid": "u1", "resourceVersion": "1"},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        },
    },
}


async def _capture(kubectl: str, args: list[str]) -> tuple[str, bytes]:
    """Run kubectl against a recording server; (content type, body) of the first POST."""
    posts: list[tuple[str, bytes]] = []

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        if request.method == "GET" and request.path in _DISCOVERY:
            return web.json_response(_DISCOVERY[request.path])
        if request.method == "GET" and request.path.endswith("/deployments/web"):
            return web.json_response(_DEPLOYMENT)
        if request.method == "POST":
            ctype = request.headers.get("Content-Type", "")
            posts.append((ctype, body))
            if ctype.startswith("application/json"):
                sent = json.loads(body)
                echo = {k: sent.get(k) for k in ("apiVersion", "kind", "metadata")}
            else:
                api_version, kind, _ = decode_envelope(body)
                echo = {"apiVersion": api_version, "kind": kind, "metadata": {}}
            return web.json_response(echo, status=201)
        return web.json_response(
            {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404},
            status=404,
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", PORT)
    await site.start()
    try:
        with tempfile.TemporaryDirectory() as home:
            env = {"HOME": home, "KUBECONFIG": os.path.join(home, "none"), "PATH": "/usr/bin:/bin"}
            proc = await asyncio.create_subprocess_exec(
                kubectl,
                f"--server=http://127.0.0.1:{PORT}",
                *args,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                raise
    finally:
        await runner.cleanup()
    assert posts, f"{kubectl} {args} sent no POST: {out!r} {err!r}"
    return posts[0]


async def capture_case(name: str) -> tuple[bytes, dict[str, Any]]:
    ctype_new, body_new = await _capture(KUBECTL_NEW, CASES[name])
    assert ctype_new == "application/vnd.kubernetes.protobuf", ctype_new
    ctype_old, body_old = await _capture(KUBECTL_OLD, CASES[name])
    assert ctype_old.startswith("application/json"), ctype_old
    return body_new, json.loads(body_old)


# --- comparing --------------------------------------------------------------------------------


def message_for(api_version: str, kind: str) -> str | None:
    return builtin_message(api_version, kind, REGISTRY)


def normalise_go_json(value: Any, message: str | None) -> Any:
    """Drop what Go's JSON encoder writes for unset struct fields (see the module docstring)."""
    if isinstance(value, list):
        return [normalise_go_json(v, message) for v in value]
    if not isinstance(value, dict) or message is None:
        return value
    msg = REGISTRY.get(message)
    out: dict[str, Any] = {}
    for key, v in value.items():
        f = msg.field(key) if msg is not None else None
        child = f.type if f is not None and not f.is_scalar else None
        if f is not None and f.map:
            v = {k: normalise_go_json(x, child) for k, x in v.items()}
        else:
            v = normalise_go_json(v, child)
        if v is None:
            continue
        if v == {} and f is not None and f.omit_empty and not f.map:
            continue
        out[key] = v
    return out


def _cases_with_fixtures() -> list[str]:
    return [c for c in CASES if (FIXTURES / f"{c}.pb").exists()]


@pytest.mark.parametrize("case", _cases_with_fixtures())
def test_decoded_protobuf_equals_kubectl_json(case: str) -> None:
    body = (FIXTURES / f"{case}.pb").read_bytes()
    expected_json = json.loads((FIXTURES / f"{case}.json").read_text())
    decoded = decode_object(body, REGISTRY, message_for)
    message = message_for(decoded["apiVersion"], decoded["kind"])
    assert decoded == normalise_go_json(expected_json, message)


def test_every_case_has_fixtures() -> None:
    assert _cases_with_fixtures() == list(CASES)


def test_known_differences_are_only_nulls_and_empty_objects() -> None:
    # The deployment case shows each documented difference at least once.
    expected = json.loads((FIXTURES / "deployment.json").read_text())
    assert expected["metadata"]["creationTimestamp"] is None
    assert expected["status"] == {}
    assert expected["spec"]["strategy"] == {}
    assert expected["spec"]["template"]["spec"]["containers"][0]["resources"] == {}
    decoded = decode_object((FIXTURES / "deployment.pb").read_bytes(), REGISTRY, message_for)
    assert "creationTimestamp" not in decoded["metadata"]
    assert "status" not in decoded and "strategy" not in decoded["spec"]
    assert decoded["spec"]["replicas"] == 0  # an explicit zero of a pointer field is kept


def test_spot_values() -> None:
    svc = decode_object((FIXTURES / "service-clusterip.pb").read_bytes(), REGISTRY, message_for)
    assert [p["targetPort"] for p in svc["spec"]["ports"]] == [8080, "https"]
    secret = decode_object((FIXTURES / "secret-generic.pb").read_bytes(), REGISTRY, message_for)
    assert secret["data"] == {"user": "YWRtaW4="}
    cm = decode_object((FIXTURES / "configmap.pb").read_bytes(), REGISTRY, message_for)
    assert cm["data"] == {"a": "b", "empty": ""}
    quota = decode_object((FIXTURES / "quota.pb").read_bytes(), REGISTRY, message_for)
    assert quota["spec"]["hard"] == {"pods": "3", "cpu": "500m", "memory": "1Gi"}


@pytest.mark.slow
@pytest.mark.skipif(
    not (os.access(KUBECTL_NEW, os.X_OK) and os.access(KUBECTL_OLD, os.X_OK)),
    reason="needs kubectl 1.32 and 1.27 from the Google Cloud SDK",
)
async def test_live_kubectl_bodies_match_fixtures() -> None:
    for case in ("configmap", "deployment", "service-clusterip", "autoscale"):
        body_new, json_old = await capture_case(case)
        decoded = decode_object(body_new, REGISTRY, message_for)
        assert decoded == normalise_go_json(json_old, message_for(decoded["apiVersion"], decoded["kind"]))
        assert decoded == decode_object((FIXTURES / f"{case}.pb").read_bytes(), REGISTRY, message_for)


async def _regenerate() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        body_new, json_old = await capture_case(case)
        (FIXTURES / f"{case}.pb").write_bytes(body_new)
        (FIXTURES / f"{case}.json").write_text(json.dumps(json_old, indent=2, sort_keys=True) + "\n")
        print(case, len(body_new), file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(_regenerate())
