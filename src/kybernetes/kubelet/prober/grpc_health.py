"""The two messages of the standard gRPC health protocol, encoded by hand.

A gRPC probe calls ``/grpc.health.v1.Health/Check`` on the container. The request carries one
field (1: ``service``, a string) and the response one field (1: ``status``, an enum), so a few
lines of protobuf wire format replace generated code and a runtime protobuf dependency. The test
suite serves the same codec from an in-process grpcio server.

Wire facts: field 1 of type string is tag byte 0x0a followed by a varint length; field 1 of type
enum is tag byte 0x08 followed by a varint. Status numbers: 0 UNKNOWN, 1 SERVING, 2 NOT_SERVING,
3 SERVICE_UNKNOWN. Unknown fields are skipped, as protobuf decoders must.
"""

from __future__ import annotations

CHECK_METHOD = "/grpc.health.v1.Health/Check"
SERVICE_NAME = "grpc.health.v1.Health"

STATUS_NAMES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}
SERVING = 1


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(data: bytes) -> list[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) for every field; length-delimited values are bytes."""
    fields: list[tuple[int, int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        value: int | bytes
        if wire_type == 0:
            value, pos = _read_varint(data, pos)
        elif wire_type == 2:
            length, pos = _read_varint(data, pos)
            if pos + length > len(data):
                raise ValueError("truncated field")
            value, pos = data[pos:pos + length], pos + length
        elif wire_type == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire_type == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire_type}")
        fields.append((number, wire_type, value))
    return fields


def encode_request(service: str) -> bytes:
    """HealthCheckRequest{service}; the empty string is the default and is not written."""
    raw = service.encode()
    return b"\x0a" + _varint(len(raw)) + raw if raw else b""


def decode_request(data: bytes) -> str:
    service = ""
    for number, wire_type, value in _fields(data):
        if number == 1 and wire_type == 2 and isinstance(value, bytes):
            service = value.decode()
    return service


def encode_response(status: int) -> bytes:
    """HealthCheckResponse{status}; status 0 is the default and is not written."""
    return b"\x08" + _varint(status) if status else b""


def decode_response(data: bytes) -> int:
    status = 0
    for number, wire_type, value in _fields(data):
        if number == 1 and wire_type == 0 and isinstance(value, int):
            status = value
    return status


def status_name(status: int) -> str:
    """The enum's name as Go's generated String() prints it (the number when unknown)."""
    return STATUS_NAMES.get(status, str(status))
