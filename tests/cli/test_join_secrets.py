"""Shared secrets at server start (cli/join.py settle_shared_secrets): the first server publishes,
the next adopts with the token, a wrong token is refused instead of making a second CA."""

from __future__ import annotations

from pathlib import Path

import pytest

from kybernetes.cli.join import settle_shared_secrets
from kybernetes.cli.serve import ServeOptions
from kybernetes.storage.memory import MemoryStorage
from kybernetes.util import pki


async def settle(storage: MemoryStorage, data_dir: Path, token: str = "") -> tuple[pki.PKIPaths, str]:
    opts = ServeOptions(data_dir=data_dir, token=token)

    def make() -> pki.PKIPaths:
        return pki.ensure_pki(
            data_dir,
            server_sans_dns=["localhost"],
            server_sans_ip=["127.0.0.1"],
            server_url="https://127.0.0.1:6443",
        )

    paths, server_token = await settle_shared_secrets(storage, opts, make)
    return paths, str(server_token)


async def test_first_publishes_second_adopts_wrong_token_refused(tmp_path: Path) -> None:
    storage = MemoryStorage()
    first, token = await settle(storage, tmp_path / "a")
    assert (tmp_path / "a" / "token").read_text().strip() == token and token.startswith("KYB10")
    second, _ = await settle(storage, tmp_path / "b", token)
    assert second.ca_key.read_bytes() == first.ca_key.read_bytes()
    assert (second.tls_dir / "sa.key").read_bytes() == (first.tls_dir / "sa.key").read_bytes()
    # the second server's serving certificate is its own, signed by the shared CA
    assert second.server_cert.read_bytes() != first.server_cert.read_bytes()
    with pytest.raises(SystemExit, match="different server token"):
        await settle(storage, tmp_path / "c", "not-the-token")
    # a restart finds its token in DATA/token
    again, again_token = await settle(storage, tmp_path / "a")
    assert again_token == token and again.ca_cert.read_bytes() == first.ca_cert.read_bytes()
