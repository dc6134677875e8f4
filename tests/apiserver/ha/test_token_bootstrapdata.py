"""Server tokens and the encrypted bootstrap data record (apiserver/ha/token.py, bootstrapdata.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kybernetes.apiserver.ha import bootstrapdata
from kybernetes.apiserver.ha.token import ServerToken, TokenError, ensure_token_file, parse
from kybernetes.storage.memory import MemoryStorage

HASH = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "want"),
    [
        pytest.param(f"KYB10{'ab' * 32}::server:s3cret", ServerToken("s3cret", HASH), id="pinned"),
        pytest.param("s3cret\n", ServerToken("s3cret"), id="bare-password"),
        pytest.param(f"KYB10{'ab' * 32}::server:a:b", ServerToken("a:b", HASH), id="password-with-colon"),
    ],
)
def test_parse(text: str, want: ServerToken) -> None:
    assert parse(text) == want


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("KYB10abc::server:x", id="short-hash"),
        pytest.param(f"KYB10{'ab' * 32}::node:x", id="not-a-server-token"),
        pytest.param("two words", id="whitespace"),
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(TokenError):
        parse(text)


def test_round_trip_and_constant_time_match() -> None:
    token = ServerToken("pw", HASH)
    assert parse(str(token)) == token
    assert token.matches("pw") and not token.matches("pW")


def test_token_file_generated_kept_and_pinned(tmp_path: Path) -> None:
    first = ensure_token_file(tmp_path, given="", ca_hash=HASH)
    assert first.ca_hash == HASH and len(first.password) == 32
    assert (tmp_path / "token").stat().st_mode & 0o777 == 0o600
    assert ensure_token_file(tmp_path, given="", ca_hash=HASH) == first
    # a bare --token is written in its pinned form
    other = tmp_path / "other"
    other.mkdir()
    assert ensure_token_file(other, given="pw", ca_hash=HASH) == ServerToken("pw", HASH)
    assert parse((other / "token").read_text()) == ServerToken("pw", HASH)


def test_token_pinning_another_ca_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TokenError, match="pins CA"):
        ensure_token_file(tmp_path, given=f"KYB10{'cd' * 32}::server:pw", ca_hash=HASH)


FILES = {"tls/ca.crt": b"CERT", "tls/ca.key": b"KEY", "tls/sa.key": b"SA"}


def test_encrypt_decrypt() -> None:
    record = bootstrapdata.encrypt("pw", FILES)
    assert b"KEY" not in record and b"CERT" not in record
    assert bootstrapdata.decrypt("pw", record) == FILES
    with pytest.raises(bootstrapdata.BootstrapDataError, match="wrong token"):
        bootstrapdata.decrypt("other", record)
    with pytest.raises(bootstrapdata.BootstrapDataError, match="malformed"):
        bootstrapdata.decrypt("pw", b"{}")


def test_write_files_only_known_names_and_private_modes(tmp_path: Path) -> None:
    assert bootstrapdata.write_files(tmp_path, FILES) == sorted(FILES)
    assert (tmp_path / "tls/ca.key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "tls/ca.crt").stat().st_mode & 0o777 == 0o644
    assert bootstrapdata.write_files(tmp_path, FILES) == []  # unchanged: nothing written
    with pytest.raises(bootstrapdata.BootstrapDataError, match="unexpected file"):
        bootstrapdata.write_files(tmp_path, {"../../etc/passwd": b"x"})


async def test_first_server_publishes_second_adopts(tmp_path: Path) -> None:
    storage = MemoryStorage()
    first, second = tmp_path / "a", tmp_path / "b"
    bootstrapdata.write_files(first, FILES)
    bootstrapdata.write_files(second, {**FILES, "tls/ca.key": b"OTHER KEY"})
    assert await bootstrapdata.publish_or_adopt(storage, first, "pw") == []
    assert await bootstrapdata.publish_or_adopt(storage, second, "pw") == ["tls/ca.key"]
    assert bootstrapdata.read_files(second) == FILES
    assert await bootstrapdata.load(storage, "pw") == FILES
    # another token names another record
    assert await bootstrapdata.load(storage, "other") is None
