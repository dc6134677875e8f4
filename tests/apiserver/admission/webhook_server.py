"""A real HTTPS admission webhook server for tests: aiohttp on loopback, certificate from a test CA.

Paths:
- ``/label``: mutating; adds label ``webhook=was-here`` (JSONPatch) and a warning;
- ``/deny``: validating; denies objects labelled ``deny=yes`` with a message and code 403;
- ``/suffix``: mutating; appends "-x" to annotation ``trail`` (for reinvocation tests);
- ``/mark-<value>``: mutating; sets annotation ``mark`` to <value> if it differs;
- ``/slow``: sleeps 3 s, then allows;
- ``/allow``: allows.
Every review received is kept in ``reviews`` as (path, request).
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from pathlib import Path
from typing import Any

from aiohttp import web

from kybernetes.util.pki import CertificateAuthority, generate_ca, issue_serving_cert


def b64(ops: list[dict[str, Any]]) -> str:
    return base64.b64encode(json.dumps(ops).encode()).decode()


def _labels_patch(obj: dict[str, Any], key: str, value: str) -> list[dict[str, Any]]:
    meta = obj.get("metadata") or {}
    if "labels" not in meta:
        return [{"op": "add", "path": "/metadata/labels", "value": {key: value}}]
    return [{"op": "add", "path": f"/metadata/labels/{key}", "value": value}]


def _annotation_patch(obj: dict[str, Any], key: str, value: str) -> list[dict[str, Any]]:
    meta = obj.get("metadata") or {}
    if "annotations" not in meta:
        return [{"op": "add", "path": "/metadata/annotations", "value": {key: value}}]
    return [{"op": "add", "path": f"/metadata/annotations/{key}", "value": value}]


class WebhookServer:
    def __init__(self, port: int, tmp: Path) -> None:
        self.port = port
        self.ca: CertificateAuthority = generate_ca("webhook-test-ca")
        cert, key = issue_serving_cert(self.ca, common_name="webhook", dns_names=["localhost"],
                                       ip_addresses=["127.0.0.1"])
        (tmp / "wh.crt").write_bytes(cert)
        (tmp / "wh.key").write_bytes(key)
        self.ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ssl.load_cert_chain(tmp / "wh.crt", tmp / "wh.key")
        self.reviews: list[tuple[str, dict[str, Any]]] = []
        self.runner: web.AppRunner | None = None

    @property
    def ca_bundle(self) -> str:
        return base64.b64encode(self.ca.cert_pem).decode()

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{path:.*}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port, ssl_context=self.ssl).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    def paths(self) -> list[str]:
        return [p for p, _ in self.reviews]

    async def handle(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        review = await request.json()
        req = review["request"]
        self.reviews.append((path, req))
        resp: dict[str, Any] = {"uid": req["uid"], "allowed": True}
        obj = req.get("object") or {}
        labels = (obj.get("metadata") or {}).get("labels") or {}
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if path == "/label" and obj:
            resp["patchType"] = "JSONPatch"
            resp["patch"] = b64(_labels_patch(obj, "webhook", "was-here"))
            resp["warnings"] = ["labelled by the test webhook"]
        elif path == "/deny" and labels.get("deny") == "yes":
            resp = {"uid": req["uid"], "allowed": False,
                    "status": {"code": 403, "reason": "Forbidden", "message": "objects labelled deny=yes are refused"}}
        elif path == "/suffix" and obj:
            resp["patchType"] = "JSONPatch"
            resp["patch"] = b64(_annotation_patch(obj, "trail", annotations.get("trail", "") + "-x"))
        elif path.startswith("/mark-") and obj and annotations.get("mark") != path[6:]:
            resp["patchType"] = "JSONPatch"
            resp["patch"] = b64(_annotation_patch(obj, "mark", path[6:]))
        elif path == "/slow":
            await asyncio.sleep(3)
        elif path == "/bad-uid":
            resp["uid"] = "not-the-uid"
        return web.json_response({"apiVersion": review["apiVersion"], "kind": "AdmissionReview", "response": resp})


def hook(name: str, client_config: dict[str, Any], **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "clientConfig": client_config,
        "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": [""], "apiVersions": ["v1"],
                   "resources": ["configmaps"]}],
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
    }
    out.update(extra)
    return out


def configuration(kind: str, name: str, *hooks: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": {"name": name},
            "webhooks": list(hooks)}
