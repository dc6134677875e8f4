from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kybernetes.machinery import bootstraptoken as bt

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TOKEN = bt.Token("abcdef", "0123456789abcdef")


@pytest.mark.parametrize(("text", "ok"), [
    ("abcdef.0123456789abcdef", True),
    (" abcdef.0123456789abcdef\n", True),
    ("ABCDEF.0123456789abcdef", False),
    ("abcde.0123456789abcdef", False),
    ("abcdef.0123456789abcde", False),
    ("abcdef0123456789abcdef", False),
    ("eyJhbGciOi.x.y", False),
], ids=["valid", "whitespace", "upper-case", "short-id", "short-secret", "no-dot", "jwt"])
def test_parse_token(text: str, ok: bool) -> None:
    assert (bt.parse_token(text) is not None) == ok


def test_generated_tokens_parse() -> None:
    t = bt.generate_token()
    assert bt.parse_token(str(t)) == t


def secret(**changes: object) -> dict[str, object]:
    s = bt.token_secret(TOKEN, now=NOW, ttl=timedelta(hours=1))
    for k, v in changes.items():
        if k == "data":
            s["data"].update(v)  # type: ignore[union-attr]
        else:
            s[k] = v
    return s


def b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(("token", "sec", "now", "user"), [
    (str(TOKEN), secret(), NOW, "system:bootstrap:abcdef"),
    (str(TOKEN), secret(), NOW + timedelta(hours=2), None),
    ("abcdef.ffffffffffffffff", secret(), NOW, None),
    (str(TOKEN), None, NOW, None),
    (str(TOKEN), secret(type="Opaque"), NOW, None),
    (str(TOKEN), secret(data={"usage-bootstrap-authentication": b64("false")}), NOW, None),
    (str(TOKEN), secret(data={"expiration": b64("tomorrow")}), NOW, None),
    (str(TOKEN), secret(data={"auth-extra-groups": b64("system:masters")}), NOW, None),
    (str(TOKEN), secret(metadata={"name": "bootstrap-token-abcdef", "deletionTimestamp": "x"}), NOW, None),
], ids=["valid", "expired", "wrong-secret", "no-secret", "wrong-type", "not-for-authn", "bad-expiration",
        "escaping-extra-group", "being-deleted"])
def test_authenticate(token: str, sec: dict[str, object] | None, now: datetime, user: str | None) -> None:
    found = bt.authenticate(token, sec, now)
    assert (found[0] if found else None) == user
    if found:
        assert found[1] == ("system:bootstrappers", bt.DEFAULT_EXTRA_GROUP)


def test_secret_shape_and_describe() -> None:
    s = bt.token_secret(TOKEN, now=NOW, ttl=timedelta(hours=24))
    assert s["metadata"] == {"name": "bootstrap-token-abcdef", "namespace": "kube-system"}
    assert bt.secret_data(s)["expiration"] == "2026-01-02T00:00:00Z"
    row = bt.describe(s, NOW)
    assert row is not None and row["TTL"] == "24h" and row["USAGES"] == "authentication,signing"
    forever = bt.token_secret(TOKEN, now=NOW, ttl=None)
    assert "expiration" not in bt.secret_data(forever) and not bt.is_expired(forever, NOW + timedelta(days=999))


@pytest.mark.parametrize(("text", "seconds"), [("24h", 86400), ("1h30m", 5400), ("90s", 90), ("0", 0)])
def test_parse_ttl(text: str, seconds: int) -> None:
    assert bt.parse_ttl(text).total_seconds() == seconds


def test_parse_ttl_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        bt.parse_ttl("1 day")
