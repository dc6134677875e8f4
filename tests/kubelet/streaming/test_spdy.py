"""SPDY/3.1 framing (both directions, any fragmentation, shared compression contexts) and sessions."""

from __future__ import annotations

import asyncio
import hashlib
import struct
import zlib

import pytest

from kybernetes.kubelet.streaming import spdy

from .memconn import pipe

FRAMES: list[tuple[str, spdy.Frame]] = [
    ("data", spdy.DataFrame(1, b"hello")),
    ("data-fin-empty", spdy.DataFrame(3, b"", fin=True)),
    ("data-large", spdy.DataFrame(5, bytes(range(256)) * 300)),
    ("syn-stream", spdy.SynStream(1, {"streamtype": ["error"]})),
    ("syn-stream-flags", spdy.SynStream(7, {"streamtype": ["data"], "port": ["80"], "requestid": ["0"]},
                                        associated_id=3, priority=5, fin=True, unidirectional=True)),
    ("syn-stream-multivalue", spdy.SynStream(9, {"x": ["a", "b"]})),
    ("syn-reply", spdy.SynReply(2, {})),
    ("syn-reply-fin", spdy.SynReply(4, {"status": ["200"]}, fin=True)),
    ("headers", spdy.HeadersFrame(1, {"k": ["v"]}, fin=True)),
    ("rst", spdy.RstStream(1, spdy.CANCEL)),
    ("settings", spdy.Settings(((0, spdy.SETTINGS_INITIAL_WINDOW_SIZE, 131072), (1, 4, 100)), clear=True)),
    ("ping", spdy.Ping(7)),
    ("goaway", spdy.GoAway(5, 0)),
    ("window-update-session", spdy.WindowUpdate(0, 32768)),
    ("window-update-stream", spdy.WindowUpdate(3, 1)),
]


def test_header_dictionary_is_spdy3s() -> None:
    assert len(spdy.HEADER_DICTIONARY) == 1423
    assert spdy.HEADER_DICTIONARY.startswith(b"\x00\x00\x00\x07options")
    assert spdy.HEADER_DICTIONARY.endswith(b"enq=0.")
    assert hashlib.sha256(spdy.HEADER_DICTIONARY).hexdigest() == (
        "51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02")


@pytest.mark.parametrize(("name", "frame"), FRAMES, ids=[n for n, _ in FRAMES])
def test_frame_round_trip(name: str, frame: spdy.Frame) -> None:
    data = spdy.FrameEncoder().encode(frame)
    dec = spdy.FrameDecoder()
    dec.feed(data)
    assert list(dec.frames()) == [frame]


def test_all_frames_in_one_compression_context_fed_byte_by_byte() -> None:
    enc, dec = spdy.FrameEncoder(), spdy.FrameDecoder()
    wire = b"".join(enc.encode(f) for _, f in FRAMES)
    got: list[spdy.Frame] = []
    for i in range(len(wire)):
        dec.feed(wire[i:i + 1])
        got.extend(dec.frames())
    assert got == [f for _, f in FRAMES]


def test_header_blocks_share_one_zlib_stream_per_direction() -> None:
    enc = spdy.FrameEncoder()
    first = enc.encode(spdy.SynStream(1, {"streamtype": ["error"]}))
    second = enc.encode(spdy.SynStream(3, {"streamtype": ["error"]}))
    # the second block refers back into the first: much shorter, and not decodable on its own
    assert len(second) < len(first)
    fresh = spdy.FrameDecoder()
    fresh.feed(second)
    with pytest.raises(spdy.ProtocolError):
        list(fresh.frames())
    shared = spdy.FrameDecoder()
    shared.feed(first + second)
    assert [f.stream_id for f in shared.frames() if isinstance(f, spdy.SynStream)] == [1, 3]


def test_wire_layout_matches_spdy3() -> None:
    enc = spdy.FrameEncoder()
    assert enc.encode(spdy.Ping(1)) == bytes.fromhex("80030006" "00000004" "00000001")
    assert enc.encode(spdy.RstStream(3, 5)) == bytes.fromhex("80030003" "00000008" "00000003" "00000005")
    assert enc.encode(spdy.DataFrame(5, b"ab", fin=True)) == bytes.fromhex("00000005" "01000002") + b"ab"
    syn = enc.encode(spdy.SynStream(1, {"streamtype": ["stdin"]}))
    assert syn[:4] == bytes.fromhex("80030001")
    # a zlib stream with the preset dictionary (FDICT) carrying the dictionary's Adler-32
    block = syn[18:]
    assert block[1] & 0x20 and block[2:6] == struct.pack(">I", zlib.adler32(spdy.HEADER_DICTIONARY))
    raw = zlib.decompressobj(zdict=spdy.HEADER_DICTIONARY).decompress(block)
    assert raw == struct.pack(">I", 1) + struct.pack(">I", 10) + b"streamtype" + struct.pack(">I", 5) + b"stdin"


def test_unknown_control_frames_are_skipped_and_bad_versions_rejected() -> None:
    dec = spdy.FrameDecoder()
    dec.feed(bytes.fromhex("8003000a" "00000002") + b"xx" + spdy.FrameEncoder().encode(spdy.Ping(3)))
    assert list(dec.frames()) == [spdy.Ping(3)]
    dec = spdy.FrameDecoder()
    dec.feed(bytes.fromhex("80020006" "00000004" "00000001"))
    with pytest.raises(spdy.ProtocolError):
        list(dec.frames())


async def _pair(on_stream: spdy.StreamHandler) -> tuple[spdy.SpdySession, spdy.SpdySession, list[asyncio.Task[None]]]:
    a, b = pipe()
    client = spdy.SpdySession(a, client=True)
    server = spdy.SpdySession(b, client=False, on_stream=on_stream)
    return client, server, [asyncio.create_task(client.serve()), asyncio.create_task(server.serve())]


async def test_session_echo_with_half_close_both_roles() -> None:
    async def echo(stream: spdy.SpdyStream) -> None:
        stream.reply({"accepted": "yes"})
        data = await stream.read_all()
        await stream.write(data.upper())
        await stream.close()

    client, server, tasks = await _pair(echo)
    s1 = await client.open_stream({"streamtype": "stdin"})
    assert s1.id == 1 and s1.header("accepted") == "yes"
    s3 = await client.open_stream({"streamtype": "stdout"})
    assert s3.id == 3
    await s1.write(b"hello ")
    await s1.write(b"world")
    await s1.close()
    await s3.close()
    assert await s1.read_all() == b"HELLO WORLD"
    assert await s3.read_all() == b""
    await client.ping()
    await client.close()
    await asyncio.wait_for(asyncio.gather(*tasks), 2)
    assert server.closed.is_set() and client.closed.is_set()


async def test_server_opens_even_streams_and_answers_pings() -> None:
    got: list[int] = []

    async def accept(stream: spdy.SpdyStream) -> None:
        got.append(stream.id)
        stream.reply()

    client, server, tasks = await _pair(accept)
    client.on_stream = accept
    s = await server.open_stream({"a": "b"})
    assert s.id == 2 and got == [2]
    await server.ping()
    await server.close()
    await asyncio.wait_for(asyncio.gather(*tasks), 2)


async def test_reset_ends_both_sides_and_refused_streams_raise() -> None:
    async def reset_it(stream: spdy.SpdyStream) -> None:
        if stream.header("streamtype") == "bad":
            stream.reset(spdy.REFUSED_STREAM)
            return
        stream.reply()
        await stream.read()
        stream.reset(spdy.CANCEL)

    client, _server, tasks = await _pair(reset_it)
    with pytest.raises(spdy.StreamReset) as info:
        await client.open_stream({"streamtype": "bad"})
    assert info.value.status == spdy.REFUSED_STREAM
    s = await client.open_stream({"streamtype": "ok"})
    await s.write(b"x")
    assert await s.read() == b""
    assert s.reset_status == spdy.CANCEL
    with pytest.raises(spdy.StreamReset):
        await s.write(b"more")
    await client.close()
    await asyncio.wait_for(asyncio.gather(*tasks), 2)


async def test_flow_control_when_the_peer_does_it() -> None:
    """Both ends are ours: the reader grants windows as it consumes, the writer obeys them."""
    received = bytearray()
    max_unread = 0

    async def slow_reader(stream: spdy.SpdyStream) -> None:
        nonlocal max_unread
        stream.reply()
        # announce flow control, as a peer that does it would
        stream.session._send(spdy.WindowUpdate(stream.id, 1))
        stream.session._send(spdy.WindowUpdate(0, 1))
        while True:
            max_unread = max(max_unread, sum(len(c) for c in stream._data))
            chunk = await stream.read()
            if not chunk:
                break
            received.extend(chunk)
            await asyncio.sleep(0)

    client, _server, tasks = await _pair(slow_reader)
    s = await client.open_stream({"streamtype": "data"})
    await client.ping()  # the window updates have arrived
    assert client.peer_flow_control
    payload = bytes(range(256)) * 2048  # 512 KiB, eight windows' worth
    await s.write(payload)
    await s.close()
    for _ in range(200):
        if len(received) == len(payload):
            break
        await asyncio.sleep(0.01)
    assert bytes(received) == payload
    assert max_unread <= spdy.DEFAULT_WINDOW + 2
    await client.close()
    await asyncio.wait_for(asyncio.gather(*tasks), 2)


async def test_peer_without_flow_control_is_never_waited_for() -> None:
    """Go's spdystream never sends WINDOW_UPDATE: writing far past 64 KiB must not stall."""
    a, b = pipe()
    client = spdy.SpdySession(a, client=True)
    task = asyncio.create_task(client.serve())
    dec = spdy.FrameDecoder()
    enc = spdy.FrameEncoder()

    async def fake_go_server() -> bytes:
        data = bytearray()
        while True:
            chunk = await b.read()
            if not chunk:
                return bytes(data)
            dec.feed(chunk)
            for f in dec.frames():
                if isinstance(f, spdy.SynStream):
                    await b.write(enc.encode(spdy.SynReply(f.stream_id, {})))
                elif isinstance(f, spdy.DataFrame):
                    data += f.data
                    if f.fin:
                        return bytes(data)

    go = asyncio.create_task(fake_go_server())
    s = await client.open_stream({"streamtype": "stdin"})
    await asyncio.wait_for(s.write(b"z" * 300_000), 2)
    await s.close()
    assert len(await asyncio.wait_for(go, 2)) == 300_000
    await client.close()
    await asyncio.wait_for(task, 2)


async def test_connection_loss_ends_every_stream() -> None:
    async def hold(stream: spdy.SpdyStream) -> None:
        stream.reply()

    client, server, tasks = await _pair(hold)
    s = await client.open_stream({"streamtype": "stdout"})
    reader = asyncio.create_task(s.read())
    await server.conn.close()
    assert await asyncio.wait_for(reader, 2) == b""
    await asyncio.wait_for(asyncio.gather(*tasks), 2)
    with pytest.raises(spdy.SessionClosed):
        await client.open_stream({"streamtype": "x"})
