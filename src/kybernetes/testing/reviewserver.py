"""A real HTTPS server on loopback that answers JSON reviews, for end-to-end webhook tests.

Why: admission and conversion webhook tests against a `kyb server` subprocess need a server the
API server calls over TLS, trusted through a `caBundle`, whose answers the test decides and whose
requests it can inspect afterwards. It runs in a thread (the tests drive kubectl synchronously).

Every POST is decoded and kept in `reviews` as (path without query, the review's ``request``);
`answer(path, review)` returns the whole review to send back.
"""

from __future__ import annotations

import base64
import json
import ssl
import tempfile
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from kybernetes.util.pki import generate_ca, issue_serving_cert

Obj = dict[str, Any]
Answer = Callable[[str, Obj], Obj]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        del format, args

    def do_POST(self) -> None:
        review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        path = self.path.split("?")[0]
        self.server.reviews.append((path, review["request"]))
        body = json.dumps(self.server.answer(path, review)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    reviews: list[tuple[str, Obj]]
    answer: Answer


class ReviewServer:
    """``with ReviewServer(answer) as hook:`` serves on a free loopback port until the block ends."""

    def __init__(self, answer: Answer, *, name: str = "review-server") -> None:
        ca = generate_ca(f"{name}-ca")
        cert, key = issue_serving_cert(ca, common_name=name, dns_names=[], ip_addresses=["127.0.0.1"])
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        with tempfile.TemporaryDirectory() as tmp:  # load_cert_chain reads files only
            (Path(tmp) / "tls.crt").write_bytes(cert)
            (Path(tmp) / "tls.key").write_bytes(key)
            ctx.load_cert_chain(Path(tmp) / "tls.crt", Path(tmp) / "tls.key")
        self.ca_bundle = base64.b64encode(ca.cert_pem).decode()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.reviews = []
        self._server.answer = answer
        self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def reviews(self) -> list[tuple[str, Obj]]:
        return self._server.reviews

    def url(self, path: str = "/") -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> ReviewServer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
