"""KubeletServer with a fake runtime whose streaming URLs point at a fake containerd streaming server.

The fake streaming server is this project's own SPDY server role (what containerd does): it
accepts the streams, then for exec echoes stdin to stdout upper-cased once stdin ends, and
answers the status on the error stream; for port-forward it echoes each data stream reversed.
Clients: aiohttp WebSocket (v5 channels; SPDY tunnelled for port-forward) and our SPDY client.
Ports 17530-17539.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from kybernetes.kubelet.server import ContainerRef, KubeletServer, NotFound
from kybernetes.kubelet.streaming import remotecommand, spdy
from kybernetes.kubelet.streaming.transport import StreamConnection
from kybernetes.util import pki
from kybernetes.util.hijack import hijack

STREAM_PORT = 17530
KUBELET_PORT = 17531
NONZERO = {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
           "message": "command terminated with non-zero exit code: exit status 3",
           "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}


# --- the fake containerd streaming server ---------------------------------------------------------------


async def fake_exec(session: spdy.SpdySession, streams: dict[str, spdy.SpdyStream], cmd: str) -> None:
    if "stdin" in streams:
        data = await streams["stdin"].read_all()
    else:
        data = b""
    if cmd == "fail":
        await streams["stderr"].write(b"boom\n")
        await streams["error"].write(orjson.dumps(NONZERO))
    else:
        await streams["stdout"].write(data.upper() or b"no input\n")
        await streams["error"].write(orjson.dumps({"metadata": {}, "status": "Success"}))
    for s in streams.values():
        s.reset(spdy.CANCEL)  # as upstream's server tears its streams down: no FIN on stdout
    await session.close()


async def fake_port_forward_stream(stream: spdy.SpdyStream) -> None:
    stream.reply()
    if stream.header("streamtype") == "data":
        data = await stream.read_all()
        await stream.write(f"port {stream.header('port')}: ".encode() + data[::-1])
        await stream.close()
    else:
        await stream.read_all()
        await stream.close()


@dataclass
class FakeStreamingServer:
    expected: dict[str, tuple[str, ...]] = field(default_factory=dict)  # token → stream types
    protocols: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/exec/{token}", self.exec)
        app.router.add_post("/portforward/{token}", self.port_forward)
        return app

    async def exec(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        self.protocols.append(request.headers.get("X-Stream-Protocol-Version", ""))
        conn = await hijack(request, headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1",
                                              "X-Stream-Protocol-Version": "v4.channel.k8s.io"})
        streams: dict[str, spdy.SpdyStream] = {}
        ready = asyncio.Event()
        want = set(self.expected[token])

        async def on_stream(stream: spdy.SpdyStream) -> None:
            stream.reply()
            streams[stream.header("streamtype")] = stream
            if want <= streams.keys():
                ready.set()

        session = spdy.SpdySession(conn, client=False, on_stream=on_stream)
        serving = asyncio.create_task(session.serve())
        await asyncio.wait_for(ready.wait(), 5)
        await fake_exec(session, streams, token.split("-")[0])
        await serving
        return conn.response

    async def port_forward(self, request: web.Request) -> web.StreamResponse:
        self.protocols.append(request.headers.get("X-Stream-Protocol-Version", ""))
        conn = await hijack(request, headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1",
                                              "X-Stream-Protocol-Version": "portforward.k8s.io"})
        await spdy.SpdySession(conn, client=False, on_stream=fake_port_forward_stream).serve()
        return conn.response


@dataclass
class FakeRuntime:
    streams: FakeStreamingServer
    log_path: str
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    counter: int = 0

    def resolve_container(self, namespace: str, pod: str, container: str) -> ContainerRef:
        if (namespace, pod) != ("ns", "web") or container not in ("app", "stopped"):
            raise NotFound(f'container "{container}" in pod "{pod}" is not available')
        return ContainerRef(f"cid-{container}", self.log_path, None, container == "app")

    async def exec_url(self, container_id: str, cmd: Sequence[str], stdin: bool, stdout: bool,
                       stderr: bool, tty: bool) -> str:
        self.calls.append(("exec", container_id, tuple(cmd), stdin, stdout, stderr, tty))
        self.counter += 1
        token = f"{cmd[0]}-{self.counter}"
        opts = remotecommand.StreamOptions(stdin=stdin, stdout=stdout, stderr=stderr, tty=tty)
        self.streams.expected[token] = remotecommand.expected_streams(opts)
        return f"http://127.0.0.1:{STREAM_PORT}/exec/{token}"

    async def attach_url(self, container_id: str, stdin: bool, stdout: bool, stderr: bool, tty: bool) -> str:
        return await self.exec_url(container_id, ["attach"], stdin, stdout, stderr, tty)

    async def port_forward_url(self, pod_sandbox_id: str, ports: Sequence[int]) -> str:
        self.calls.append(("portforward", pod_sandbox_id, tuple(ports)))
        return f"http://127.0.0.1:{STREAM_PORT}/portforward/pf"

    def pod_sandbox_id(self, namespace: str, pod: str) -> str:
        if (namespace, pod) != ("ns", "web"):
            raise NotFound(f'pod "{pod}" not found')
        return "sandbox-1"

    async def stats_summary(self) -> dict[str, Any]:
        return {"node": {"nodeName": "n1"}, "pods": []}

    def pods(self) -> list[dict[str, Any]]:
        return [{"metadata": {"name": "web", "namespace": "ns"}}]


@dataclass
class Env:
    runtime: FakeRuntime
    client_ssl: ssl.SSLContext
    other_ssl: ssl.SSLContext
    base: str = f"https://127.0.0.1:{KUBELET_PORT}"


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    ca = pki.generate_ca()
    (tmp_path / "ca.crt").write_bytes(ca.cert_pem)
    cert, key = pki.issue_serving_cert(ca, common_name="n1", dns_names=["localhost"], ip_addresses=["127.0.0.1"])
    (tmp_path / "kubelet.crt").write_bytes(cert)
    (tmp_path / "kubelet.key").write_bytes(key)

    def client_ctx(cn: str) -> ssl.SSLContext:
        c, k = pki.issue_client_cert(ca, cn, ("system:masters",))
        (tmp_path / f"{cn}.crt").write_bytes(c)
        (tmp_path / f"{cn}.key").write_bytes(k)
        ctx = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
        ctx.load_cert_chain(str(tmp_path / f"{cn}.crt"), str(tmp_path / f"{cn}.key"))
        return ctx

    log = tmp_path / "0.log"
    log.write_text("2023-11-14T22:13:20Z stdout F one\n2023-11-14T22:13:21Z stderr F two\n")
    streams = FakeStreamingServer()
    runner = web.AppRunner(streams.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", STREAM_PORT).start()
    runtime = FakeRuntime(streams, str(log))
    kubelet = KubeletServer(runtime, host="127.0.0.1", port=KUBELET_PORT, tls_cert=tmp_path / "kubelet.crt",
                            tls_key=tmp_path / "kubelet.key", client_ca=tmp_path / "ca.crt")
    await kubelet.start()
    try:
        yield Env(runtime, client_ctx("kube-apiserver-kubelet-client"), client_ctx("someone-else"))
    finally:
        await kubelet.stop()
        await runner.cleanup()


def session(ctx: ssl.SSLContext) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx))


# --- plain routes and authorization ------------------------------------------------------------------------


async def test_only_the_api_server_identity_is_served(env: Env) -> None:
    async with session(env.client_ssl) as s, s.get(env.base + "/healthz") as r:
        assert (r.status, await r.text()) == (200, "ok")
    async with session(env.other_ssl) as s, s.get(env.base + "/pods") as r:
        assert r.status == 403
        assert (await r.json())["message"].startswith("Forbidden (user=someone-else")
    no_cert = ssl.create_default_context(cafile=None)
    no_cert.check_hostname = False
    no_cert.verify_mode = ssl.CERT_NONE
    async with session(no_cert) as s:
        with pytest.raises(aiohttp.ClientError):
            async with s.get(env.base + "/healthz") as r:
                await r.read()


async def test_pods_stats_and_logs(env: Env) -> None:
    async with session(env.client_ssl) as s:
        async with s.get(env.base + "/pods") as r:
            assert (await r.json())["items"][0]["metadata"]["name"] == "web"
        async with s.get(env.base + "/stats/summary") as r:
            assert (await r.json())["node"]["nodeName"] == "n1"
        async with s.get(env.base + "/containerLogs/ns/web/app?tailLines=1&timestamps=true") as r:
            assert r.headers["Transfer-Encoding"] == "chunked"
            assert await r.text() == "2023-11-14T22:13:21.000000000Z two\n"
        async with s.get(env.base + "/containerLogs/ns/web/stopped?follow=true") as r:
            assert await r.text() == "one\ntwo\n"  # the container is not running: follow ends at EOF
        async with s.get(env.base + "/containerLogs/ns/web/nosuch") as r:
            assert r.status == 404
            assert (await r.json())["message"] == 'container "nosuch" in pod "web" is not available'
        async with s.get(env.base + "/containerLogs/ns/web/app?previous=true") as r:
            assert r.status == 400
            assert (await r.json())["message"] == 'previous terminated container "app" in pod "web" not found'
        async with s.get(env.base + "/containerLogs/ns/web/app?tailLines=-2") as r:
            assert r.status == 400


# --- exec and attach -------------------------------------------------------------------------------------------


async def ws_exec(env: Env, query: str, stdin: bytes | None) -> tuple[dict[int, bytes], int | None]:
    """Run an exec over WebSocket v5; returns the bytes per channel and the close code."""
    got: dict[int, bytes] = {}
    async with session(env.client_ssl) as s, s.ws_connect(
            env.base + "/exec/ns/web/app?" + query, protocols=("v5.channel.k8s.io",)) as ws:
        assert ws.protocol == "v5.channel.k8s.io"
        if stdin is not None:
            await ws.send_bytes(b"\x00" + stdin)
            await ws.send_bytes(b"\xff\x00")  # v5 CLOSE: stdin is done
        async for msg in ws:
            assert msg.type == aiohttp.WSMsgType.BINARY
            got[msg.data[0]] = got.get(msg.data[0], b"") + msg.data[1:]
        return got, ws.close_code


async def test_exec_over_websocket_v5(env: Env) -> None:
    got, code = await ws_exec(env, "command=cat&stdin=true&stdout=true&stderr=true", b"hello")
    assert got[1] == b"HELLO"
    assert orjson.loads(got[3]) == {"metadata": {}, "status": "Success"}
    assert code == 1000
    assert env.runtime.calls[-1] == ("exec", "cid-app", ("cat",), True, True, True, False)
    assert env.runtime.streams.protocols[-1] == "v4.channel.k8s.io"  # containerd only knows v4

    got, _ = await ws_exec(env, "command=fail&command=now&stdout=true&stderr=true", None)
    assert got[2] == b"boom\n"
    assert orjson.loads(got[3])["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]


async def test_upstream_api_server_spelling_of_the_stream_flags(env: Env) -> None:
    got, _ = await ws_exec(env, "command=cat&input=1&output=1&error=1", b"x")
    assert got[1] == b"X"


async def spdy_connect(env: Env, path: str, protocols: Sequence[str]) -> tuple[spdy.SpdySession, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", KUBELET_PORT, ssl=env.client_ssl)
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
    head += "".join(f"X-Stream-Protocol-Version: {p}\r\n" for p in protocols) + "Content-Length: 0\r\n\r\n"
    writer.write(head.encode())
    status, headers = remotecommand.parse_response_head(await reader.readuntil(b"\r\n\r\n"))
    assert " 101 " in status, status
    session = spdy.SpdySession(StreamConnection(reader, writer), client=True)
    return session, headers["x-stream-protocol-version"]


async def test_exec_over_spdy_with_stdin_half_close(env: Env) -> None:
    session, chosen = await spdy_connect(env, "/exec/ns/web/app?command=cat&stdin=true&stdout=true&stderr=true",
                                         ["v4.channel.k8s.io", "v3.channel.k8s.io"])
    assert chosen == "v4.channel.k8s.io"
    serving = asyncio.create_task(session.serve())
    streams = {t: await session.open_stream({"streamtype": t}) for t in ("error", "stdin", "stdout", "stderr")}
    await streams["stdin"].write(b"spdy in")
    await streams["stdin"].close()
    assert await streams["stdout"].read_all() == b"SPDY IN"
    assert await streams["stderr"].read_all() == b""
    assert orjson.loads(await streams["error"].read_all()) == {"metadata": {}, "status": "Success"}
    await asyncio.wait_for(serving, 5)  # the kubelet closes the connection after the status


async def test_attach_and_refusals(env: Env) -> None:
    async with session(env.client_ssl) as s:
        async with s.ws_connect(env.base + "/attach/ns/web/app?stdout=true&stdin=true",
                                protocols=("v5.channel.k8s.io",)) as ws:
            await ws.send_bytes(b"\xff\x00")
            msgs = [bytes(m.data) async for m in ws]
        assert msgs[0] == b"\x01no input\n"
        assert env.runtime.calls[-1][:3] == ("exec", "cid-app", ("attach",))
        async with s.get(env.base + "/exec/ns/web/stopped?command=ls&stdout=true",
                         headers={"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                                  "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                                  "Sec-WebSocket-Protocol": "v5.channel.k8s.io"}) as r:
            assert r.status == 400
            assert (await r.json())["message"] == 'container "stopped" in pod "web" is not running'
        # a WebSocket protocol we do not speak: a non-101 answer, so kubectl falls back to SPDY
        async with s.get(env.base + "/exec/ns/web/app?command=ls&stdout=true",
                         headers={"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                                  "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                                  "Sec-WebSocket-Protocol": "base64.channel.k8s.io"}) as r:
            assert r.status == 403
        async with s.get(env.base + "/exec/ns/web/app?command=ls&stdout=true") as r:
            assert r.status == 400  # not an upgrade at all


# --- port-forward ----------------------------------------------------------------------------------------------


class ClientWebSocketBytes:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def read(self) -> bytes:
        msg = await self.ws.receive()
        return bytes(msg.data) if msg.type == aiohttp.WSMsgType.BINARY else b""

    async def write(self, data: bytes) -> None:
        # fragment like kubectl does, with an empty message thrown in
        for i in range(0, len(data), 3):
            await self.ws.send_bytes(data[i:i + 3])
        await self.ws.send_bytes(b"")

    async def close(self) -> None:
        await self.ws.close()


async def forward_once(client: spdy.SpdySession, request_id: int, payload: bytes) -> bytes:
    headers = {"port": "8080", "requestid": str(request_id)}
    error = await client.open_stream({"streamtype": "error", **headers})
    await error.close()
    data = await client.open_stream({"streamtype": "data", **headers})
    await data.write(payload)
    await data.close()
    answer = await data.read_all()
    assert await error.read_all() == b""
    return answer


async def test_port_forward_spdy_tunnelled_in_websocket(env: Env) -> None:
    async with session(env.client_ssl) as s, s.ws_connect(
            env.base + "/portForward/ns/web", protocols=("SPDY/3.1+portforward.k8s.io",)) as ws:
        assert ws.protocol == "SPDY/3.1+portforward.k8s.io"
        client = spdy.SpdySession(ClientWebSocketBytes(ws), client=True)
        serving = asyncio.create_task(client.serve())
        assert await forward_once(client, 0, b"abc") == b"port 8080: cba"
        assert await forward_once(client, 1, b"hello") == b"port 8080: olleh"
        await client.ping()
        await client.close()
        await asyncio.wait_for(serving, 5)
    assert env.runtime.calls[-1] == ("portforward", "sandbox-1", ())
    assert env.runtime.streams.protocols[-1] == "portforward.k8s.io"


async def test_port_forward_plain_spdy(env: Env) -> None:
    client, chosen = await spdy_connect(env, "/portForward/ns/web?port=8080", ["portforward.k8s.io"])
    assert chosen == "portforward.k8s.io"
    serving = asyncio.create_task(client.serve())
    assert await forward_once(client, 0, b"xyz") == b"port 8080: zyx"
    await client.close()
    await asyncio.wait_for(serving, 5)
    assert env.runtime.calls[-1] == ("portforward", "sandbox-1", (8080,))
