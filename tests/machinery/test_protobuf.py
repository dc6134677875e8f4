"""Protobuf decoding, piece by piece, on hand-built bodies; and robustness on random bytes."""

from __future__ import annotations

import contextlib
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kybernetes.api.resources import RESOURCES
from kybernetes.api.schemas import REGISTRY
from kybernetes.machinery.protobuf import (
    builtin_message,
    decode_envelope,
    decode_message,
    decode_object,
)

CORE = "io.k8s.api.core.v1."
META = "io.k8s.apimachinery.pkg.apis.meta.v1."


# --- a tiny encoder for building test bodies -------------------------------------------------


def varint(n: int) -> bytes:
    n &= 0xFFFFFFFFFFFFFFFF  # negative numbers as 64-bit two's complement, like Go
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def vi(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def ld(number: int, value: bytes | str) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def entry(number: int, key: str, value: bytes) -> bytes:
    return ld(number, ld(1, key) + value)


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    return b"k8s\x00" + ld(1, ld(1, api_version) + ld(2, kind)) + ld(2, raw) + ld(3, "") + ld(4, "")


def meta(name: str) -> bytes:
    # gogo writes every non-pointer field, empty or not
    return ld(1, name) + ld(2, "") + ld(3, "") + ld(4, "") + ld(5, "") + ld(6, "") + vi(7, 0) + ld(8, b"")


def decode(raw: bytes, message: str) -> dict[str, Any]:
    return decode_message(raw, message, REGISTRY)


# --- the envelope ----------------------------------------------------------------------------


def test_envelope() -> None:
    assert decode_envelope(envelope("v1", "ConfigMap", b"\x0a\x00")) == ("v1", "ConfigMap", b"\x0a\x00")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b"", "magic", id="empty"),
        pytest.param(b"{}", "magic", id="json"),
        pytest.param(b"k8s\x00" + ld(2, b"x"), "apiVersion and kind", id="no-type-meta"),
        pytest.param(b"k8s\x00\x0a\x05ab", "past the end", id="bad-length"),
        pytest.param(b"k8s\x00\x0a", "truncated varint", id="truncated-length"),
        pytest.param(b"k8s\x00" + vi(1, 3), "length-delimited", id="wrong-wire-type"),
        pytest.param(envelope("v1", "Pod", b"") + b"\x0b", "wire type 3", id="group-wire-type"),
        pytest.param(
            b"k8s\x00" + ld(1, ld(1, "v1") + ld(2, "Pod")) + ld(3, "gzip"), "content encoding", id="encoded"
        ),
    ],
)
def test_envelope_errors(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_envelope(body)


# --- field types ---------------------------------------------------------------------------------


def test_configmap_with_zero_fields_dropped() -> None:
    raw = ld(1, meta("cm1")) + entry(2, "a", ld(2, "b")) + entry(2, "empty", ld(2, "")) + vi(6, 0)
    assert decode(raw, CORE + "ConfigMap") == {"metadata": {"name": "cm1"}, "data": {"a": "b", "empty": ""}}


def test_secret_bytes_are_base64() -> None:
    raw = ld(1, meta("s")) + entry(2, "k", ld(2, b"\x00\xffhi")) + ld(3, "Opaque")
    assert decode(raw, CORE + "Secret")["data"] == {"k": "AP9oaQ=="}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(vi(1, 3), {"replicas": 3}, id="pointer-int"),
        pytest.param(vi(1, 0), {"replicas": 0}, id="pointer-zero-kept"),
        pytest.param(vi(5, 0), {}, id="omitempty-zero-dropped"),
        pytest.param(vi(5, 7), {"minReadySeconds": 7}, id="plain-int"),
        pytest.param(vi(6, -1), {"revisionHistoryLimit": -1}, id="negative-int32"),
        pytest.param(vi(7, 1), {"paused": True}, id="bool"),
        pytest.param(vi(7, 0), {}, id="false-omitempty-dropped"),
        pytest.param(ld(4, b""), {}, id="empty-message-omitempty-dropped"),
        pytest.param(ld(4, ld(1, "Recreate")), {"strategy": {"type": "Recreate"}}, id="message"),
        pytest.param(ld(4, ld(1, "A")) + ld(4, ld(1, "B")), {"strategy": {"type": "B"}}, id="message-merged"),
        pytest.param(vi(99, 5) + ld(98, "x"), {}, id="unknown-fields-skipped"),
    ],
)
def test_deployment_spec_fields(raw: bytes, expected: dict[str, Any]) -> None:
    assert decode(raw, "io.k8s.api.apps.v1.DeploymentSpec") == expected


def test_int64_negative_and_large() -> None:
    raw = vi(10, -5)  # deletionGracePeriodSeconds, a pointer
    assert decode(raw, META + "ObjectMeta") == {"deletionGracePeriodSeconds": -5}
    assert decode(vi(7, 2**40), META + "ObjectMeta") == {"generation": 2**40}


def test_repeated_and_packed_scalars() -> None:
    caps = ld(1, "NET_ADMIN") + ld(1, "SYS_TIME")
    assert decode(caps, CORE + "Capabilities") == {"add": ["NET_ADMIN", "SYS_TIME"]}
    # PodSecurityContext.supplementalGroups (repeated int64), unpacked and packed
    unpacked = vi(4, 1) + vi(4, 2)
    packed = ld(4, varint(1) + varint(2))
    assert decode(unpacked, CORE + "PodSecurityContext") == {"supplementalGroups": [1, 2]}
    assert decode(packed, CORE + "PodSecurityContext") == {"supplementalGroups": [1, 2]}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(b"", None, id="empty-is-zero-time"),
        pytest.param(vi(1, 1704164645), "2024-01-02T03:04:05Z", id="seconds"),
        pytest.param(vi(1, 1704164645) + vi(2, 500), "2024-01-02T03:04:05Z", id="nanos-dropped"),
        pytest.param(vi(1, 0), "1970-01-01T00:00:00Z", id="epoch-is-not-zero"),
        pytest.param(vi(1, -62135596800), None, id="go-zero-time"),
    ],
)
def test_time(raw: bytes, expected: str | None) -> None:
    # lastTransitionTime of a meta.v1 Condition is not omitempty: a zero time stays as null
    got = decode(ld(4, raw), META + "Condition")
    assert got == {"lastTransitionTime": expected}


def test_time_omitempty_zero_dropped() -> None:
    assert decode(ld(8, b""), META + "ObjectMeta") == {}


def test_microtime() -> None:
    raw = ld(2, vi(1, 1704164645) + vi(2, 123456789))  # events.v1 Event.eventTime
    assert decode(raw, "io.k8s.api.events.v1.Event") == {"eventTime": "2024-01-02T03:04:05.123456Z"}


def test_duration_scalar() -> None:
    # no field of the declared packages is a meta.v1 Duration today; the type is still decoded
    from kybernetes.machinery import protobuf

    d = protobuf._Decoder(REGISTRY)
    assert d.scalar(2, vi(1, 90 * 10**9), "duration", "x", 0) == "1m30s"
    assert d.scalar(2, b"", "duration", "x", 0) == "0s"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(vi(1, 0) + vi(2, 8080) + ld(3, ""), 8080, id="int"),
        pytest.param(vi(1, 1) + vi(2, 0) + ld(3, "http"), "http", id="string"),
        pytest.param(vi(1, 0) + vi(2, -3), -3, id="negative"),
    ],
)
def test_int_or_string(raw: bytes, expected: int | str) -> None:
    assert decode(ld(4, raw), CORE + "ServicePort") == {"targetPort": expected}


def test_int_or_string_zero_is_unset() -> None:
    assert decode(vi(3, 80) + ld(4, vi(1, 0) + vi(2, 0) + ld(3, "")), CORE + "ServicePort") == {"port": 80}


def test_int_or_string_bad_type() -> None:
    with pytest.raises(ValueError, match="neither 0"):
        decode(ld(4, vi(1, 7)), CORE + "ServicePort")


def test_quantity_map() -> None:
    raw = entry(1, "cpu", ld(2, ld(1, "500m"))) + entry(1, "memory", ld(2, ld(1, "1Gi")))
    assert decode(raw, CORE + "ResourceQuotaSpec") == {"hard": {"cpu": "500m", "memory": "1Gi"}}


def test_raw_extension_and_fields_v1_are_json() -> None:
    raw = ld(1, meta("r")) + ld(2, ld(1, b'{"a":[1,2]}')) + vi(3, 4)
    assert decode(raw, "io.k8s.api.apps.v1.ControllerRevision") == {
        "metadata": {"name": "r"},
        "data": {"a": [1, 2]},
        "revision": 4,
    }
    entry_ = ld(1, "kubectl") + ld(6, "FieldsV1") + ld(7, ld(1, b'{"f:metadata":{}}'))
    assert decode(entry_, META + "ManagedFieldsEntry") == {
        "manager": "kubectl",
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:metadata": {}},
    }


def test_raw_extension_not_json() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        decode(ld(2, ld(1, b"{nope")), "io.k8s.api.apps.v1.ControllerRevision")


def test_embedded_volume_source_is_inlined() -> None:
    host_path = ld(1, "/data") + ld(2, "")
    raw = ld(1, "v") + ld(2, ld(1, host_path))
    assert decode(raw, CORE + "Volume") == {"name": "v", "hostPath": {"path": "/data", "type": ""}}
    # a set pointer to an empty struct stays: emptyDir: {}
    assert decode(ld(1, "e") + ld(2, ld(2, b"")), CORE + "Volume") == {"name": "e", "emptyDir": {}}


def test_embedded_local_object_reference() -> None:
    raw = ld(1, ld(1, "cfg")) + ld(2, "key")  # ConfigMapKeySelector{LocalObjectReference{name}, key}
    assert decode(raw, CORE + "ConfigMapKeySelector") == {"name": "cfg", "key": "key"}


def test_map_of_string_lists() -> None:
    extra = entry(4, "scopes", ld(2, ld(1, "a") + ld(1, "b")))
    raw = ld(1, "alice") + extra  # authentication.v1 UserInfo
    assert decode(raw, "io.k8s.api.authentication.v1.UserInfo") == {
        "username": "alice",
        "extra": {"scopes": ["a", "b"]},
    }


def test_wrapped_verbs() -> None:
    raw = ld(1, "pods") + ld(4, ld(1, "get") + ld(1, "list"))
    assert decode(raw, META + "APIResource")["verbs"] == ["get", "list"]


def test_decode_object_sets_type_meta_first() -> None:
    body = envelope("v1", "Namespace", ld(1, meta("ns1")) + ld(2, b"") + ld(3, ld(1, "")))
    obj = decode_object(body, REGISTRY, lambda av, k: CORE + k)
    assert obj == {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "ns1"}}
    assert list(obj)[:2] == ["kind", "apiVersion"]


@pytest.mark.parametrize(
    ("api_version", "kind", "expected"),
    [
        ("v1", "Pod", CORE + "Pod"),
        ("v1", "Event", CORE + "Event"),
        ("events.k8s.io/v1", "Event", "io.k8s.api.events.v1.Event"),
        ("apps/v1", "Deployment", "io.k8s.api.apps.v1.Deployment"),
        ("autoscaling/v1", "HorizontalPodAutoscaler", "io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler"),
        ("rbac.authorization.k8s.io/v1", "Role", "io.k8s.api.rbac.v1.Role"),
        (
            "authorization.k8s.io/v1",
            "SelfSubjectAccessReview",
            "io.k8s.api.authorization.v1.SelfSubjectAccessReview",
        ),
        ("v1", "DeleteOptions", META + "DeleteOptions"),
        ("apps/v1", "DeleteOptions", META + "DeleteOptions"),
        ("apps.example.com/v1", "Deployment", None),
        ("apps/v1beta1", "Deployment", None),
        ("v1", "Nope", None),
    ],
)
def test_builtin_message(api_version: str, kind: str, expected: str | None) -> None:
    assert builtin_message(api_version, kind, REGISTRY) == expected


def test_builtin_message_agrees_with_the_resource_table() -> None:
    for r in RESOURCES:
        assert builtin_message(r.api_version, r.kind, REGISTRY) == r.schema, r


def test_decode_object_unknown_kind() -> None:
    with pytest.raises(ValueError, match="no schema"):
        decode_object(envelope("x/v1", "Nope", b""), REGISTRY, lambda av, k: None)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(vi(1, 5), "expected length-delimited", id="string-as-varint"),
        pytest.param(ld(7, "x"), "expected a varint", id="int-as-bytes"),
        pytest.param(ld(1, b"\xff\xfe"), "invalid UTF-8", id="bad-utf8"),
        pytest.param(b"\x0a\x05ab", "past the end", id="length-past-end"),
        pytest.param(b"\x38\xff\xff", "truncated varint", id="truncated-varint"),
        pytest.param(b"\x38" + b"\xff" * 11, "longer than 10", id="overlong-varint"),
        pytest.param(b"\x00\x01", "field number 0", id="field-zero"),
        pytest.param(b"\x0f", "wire type 7", id="bad-wire-type"),
        pytest.param(b"\x09\x00", "truncated fixed", id="truncated-fixed64"),
        pytest.param(ld(8, vi(1, 10**15)), "out of range", id="time-out-of-range"),
        pytest.param(ld(8, vi(1, 1) + vi(2, -1)), "out of range", id="negative-nanos"),
    ],
)
def test_corrupt_object_meta(raw: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode(raw, META + "ObjectMeta")


def test_unknown_message_name() -> None:
    with pytest.raises(ValueError, match="no schema"):
        decode(b"", "io.k8s.api.core.v1.Nope")


def test_depth_limit() -> None:
    # no declared message nests itself, so the guard cannot be reached through a body; check it
    # directly
    from kybernetes.machinery import protobuf

    deep = ld(1, b"")
    with pytest.raises(ValueError, match="nested too deeply"):
        protobuf._Decoder(REGISTRY).message(deep, META + "ObjectMeta", "x", protobuf._MAX_DEPTH + 1)


def test_double() -> None:
    # no double fields in the declared packages today; the wire format is still handled
    from kybernetes.machinery import protobuf

    d = protobuf._Decoder(REGISTRY)
    assert d.scalar(1, struct.pack("<d", 1.5), "double", "x", 0) == 1.5
    with pytest.raises(ValueError):
        d.scalar(0, 1, "double", "x", 0)


# --- robustness ----------------------------------------------------------------------------------

_MESSAGES = [
    CORE + "Pod",
    CORE + "Service",
    CORE + "Secret",
    "io.k8s.api.apps.v1.Deployment",
    "io.k8s.api.batch.v1.CronJob",
    "io.k8s.api.networking.v1.Ingress",
    "io.k8s.api.events.v1.Event",
    "io.k8s.api.authentication.v1.TokenReview",
    META + "APIResourceList",
]


@settings(max_examples=400, deadline=None)
@given(data=st.binary(max_size=200), message=st.sampled_from(_MESSAGES))
def test_random_bytes_raise_only_value_error(data: bytes, message: str) -> None:
    with contextlib.suppress(ValueError):
        decode(data, message)


def _fuzz_field() -> st.SearchStrategy[bytes]:
    # structurally valid protobuf with plausible field numbers, nested a few levels: reaches deep
    # into the typed paths far more often than random bytes do
    leaf = st.one_of(
        st.builds(vi, st.integers(1, 40), st.integers(-(2**63), 2**64 - 1)),
        st.builds(ld, st.integers(1, 40), st.binary(max_size=12)),
    )
    return st.recursive(
        leaf,
        lambda inner: st.builds(ld, st.integers(1, 40), st.lists(inner, max_size=4).map(b"".join)),
        max_leaves=20,
    )


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(_fuzz_field(), max_size=6), message=st.sampled_from(_MESSAGES))
def test_random_messages_raise_only_value_error(parts: list[bytes], message: str) -> None:
    with contextlib.suppress(ValueError):
        decode(b"".join(parts), message)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=120))
def test_random_envelopes_raise_only_value_error(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        decode_object(b"k8s\x00" + data, REGISTRY, lambda av, k: CORE + "Pod")
