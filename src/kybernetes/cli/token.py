"""`kyb token create|list|delete`: bootstrap tokens that let new nodes join (kubeadm's `token`).

`create` stores the Secret and prints the token, then the command a new machine joins with
(`kyb agent --server URL --token T --ca-cert-hash sha256:...`). The cluster is found through
--kubeconfig, else DATA_DIR/kubeconfig of a `kyb server`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from cryptography import x509

from kybernetes.machinery import bootstraptoken as bt

DEFAULT_DATA_DIR = Path("/var/lib/kybernetes")


def _kubeconfig(data_dir: Path | None, kubeconfig: Path | None) -> Path:
    if kubeconfig is not None:
        return kubeconfig
    return (data_dir or DEFAULT_DATA_DIR) / "kubeconfig"


def _ca_pem(cfg: object) -> bytes:
    ca_data = getattr(cfg, "ca_data", None)
    if ca_data:
        return bytes(ca_data)
    ca_file = getattr(cfg, "ca_file", "")
    return Path(ca_file).read_bytes() if ca_file else b""


def join_command(server: str, token: str, ca_pem: bytes) -> str:
    parts = ["kyb", "agent", "--server", server, "--token", token]
    if ca_pem:
        parts += ["--ca-cert-hash", ca_cert_hash_of_pem(ca_pem)]
    return " ".join(parts)


def ca_cert_hash_of_pem(ca_pem: bytes) -> str:
    from kybernetes.util import pki

    return pki.ca_cert_hash(x509.load_pem_x509_certificate(ca_pem))


_cluster_options = [
    click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                 help=f"Data dir of the `kyb server` (its kubeconfig is used; default {DEFAULT_DATA_DIR})."),
    click.option("--kubeconfig", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 help="Admin kubeconfig of the cluster (instead of --data-dir)."),
]


def cluster_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_cluster_options):
        f = option(f)
    return f


@click.group()
def token() -> None:
    """Manage bootstrap tokens (what `kyb agent --token` joins with)."""


@token.command("create")
@cluster_options
@click.option("--ttl", default="24h", show_default=True, help='Lifetime of the token ("0" for never).')
@click.option("--description", default=bt.DEFAULT_DESCRIPTION, show_default=True)
@click.option("--usages", default=",".join(bt.DEFAULT_USAGES), show_default=True,
              help="What the token may be used for: authentication (joining), signing (cluster-info discovery).")
@click.argument("value", required=False, default="")
def create(data_dir: Path | None, kubeconfig: Path | None, ttl: str, description: str, usages: str,
           value: str) -> None:
    """Create a token (random unless VALUE, of the form [a-z0-9]{6}.[a-z0-9]{16}, is given)."""
    from kybernetes.client.config import load_kubeconfig
    from kybernetes.client.rest import APIClient

    parsed = bt.parse_token(value) if value else bt.generate_token()
    if parsed is None:
        raise click.BadParameter(f"token {value!r} does not match [a-z0-9]{{6}}.[a-z0-9]{{16}}")
    try:
        lifetime = bt.parse_ttl(ttl)
        chosen = bt.parse_usages(usages)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    cfg = load_kubeconfig(_kubeconfig(data_dir, kubeconfig))
    body = bt.token_secret(parsed, now=datetime.now(UTC), ttl=lifetime, description=description, usages=chosen)

    async def run() -> None:
        from kybernetes.controllers.tokencleaner import SECRETS

        async with APIClient(cfg, user_agent="kyb-token/0.1") as client:
            await client.create(SECRETS, body, namespace=bt.NAMESPACE)

    asyncio.run(run())
    click.echo(str(parsed))
    click.echo(join_command(cfg.server, str(parsed), _ca_pem(cfg)))


@token.command("list")
@cluster_options
def list_tokens(data_dir: Path | None, kubeconfig: Path | None) -> None:
    """List bootstrap tokens (TOKEN TTL EXPIRES USAGES DESCRIPTION EXTRA GROUPS)."""
    from kybernetes.client.config import load_kubeconfig
    from kybernetes.client.rest import APIClient

    cfg = load_kubeconfig(_kubeconfig(data_dir, kubeconfig))

    async def run() -> list[dict[str, object]]:
        from kybernetes.controllers.tokencleaner import SECRETS

        async with APIClient(cfg, user_agent="kyb-token/0.1") as client:
            out = await client.list(SECRETS, namespace=bt.NAMESPACE)
            return list(out.get("items") or [])

    now = datetime.now(UTC)
    rows = [r for r in (bt.describe(s, now) for s in asyncio.run(run())) if r is not None]
    columns = ["TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA GROUPS"]
    widths = [max([len(c), *(len(r[c]) for r in rows)]) for c in columns]
    for line in [dict(zip(columns, columns, strict=True)), *rows]:
        click.echo("   ".join(line[c].ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())


@token.command("delete")
@cluster_options
@click.argument("tokens", nargs=-1, required=True)
def delete(data_dir: Path | None, kubeconfig: Path | None, tokens: tuple[str, ...]) -> None:
    """Delete tokens, given as ID or ID.SECRET."""
    from kybernetes.client import is_not_found
    from kybernetes.client.config import load_kubeconfig
    from kybernetes.client.rest import APIClient

    ids = []
    for t in tokens:
        token_id = t.split(".", 1)[0]
        if not bt.ID_RE.match(token_id):
            raise click.BadParameter(f"{t!r} is neither a token id nor a token")
        ids.append(token_id)
    cfg = load_kubeconfig(_kubeconfig(data_dir, kubeconfig))

    async def run() -> int:
        from kybernetes.controllers.tokencleaner import SECRETS

        code = 0
        async with APIClient(cfg, user_agent="kyb-token/0.1") as client:
            for token_id in ids:
                try:
                    await client.delete(SECRETS, bt.secret_name(token_id), namespace=bt.NAMESPACE)
                    click.echo(f"bootstrap token {token_id!r} deleted")
                except Exception as e:
                    if not is_not_found(e):
                        raise
                    click.echo(f"bootstrap token {token_id!r} not found", err=True)
                    code = 1
        return code

    raise SystemExit(asyncio.run(run()))

