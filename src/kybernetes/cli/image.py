"""`kyb image`: build the project's test images and load them into a node's containerd.

Images must live in containerd namespace `k8s.io` for CRI (and so the kubelet) to see them. Import
goes through containerd's own `ctr` client (CRI has no import call); listing goes through CRI
ListImages, so it shows exactly what the kubelet sees. Both talk to the node's private containerd
socket (`<data-dir>/containerd/containerd.sock`, the layout `kyb server` uses).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

import click

CRI_NAMESPACE = "k8s.io"
DEFAULT_DATA_DIR = Path("/var/lib/kybernetes")  # the same default as `kyb server`


def node_socket(data_dir: Path) -> Path:
    """The node's containerd socket: `kyb server` keeps its local node under DATA_DIR/node,
    `kyb agent` keeps it in DATA_DIR itself; either data dir works here."""
    under_server = data_dir / "node" / "containerd" / "containerd.sock"
    return under_server if under_server.is_socket() else data_dir / "containerd" / "containerd.sock"


def ctr_import_argv(socket: str, archive: Path) -> list[str]:
    return ["ctr", "-a", socket, "-n", CRI_NAMESPACE, "images", "import", "--all-platforms", str(archive)]


class ImageLike(Protocol):
    """The fields of a CRI `Image` the listing shows."""

    @property
    def id(self) -> str: ...
    @property
    def repo_tags(self) -> Sequence[str]: ...
    @property
    def repo_digests(self) -> Sequence[str]: ...
    @property
    def size(self) -> int: ...


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.3g}{unit}"
        size /= 1000
    raise AssertionError("unreachable")


def image_rows(images: Iterable[ImageLike]) -> list[tuple[str, str, str, str]]:
    """(image, tag, short id, size) per tag, as crictl shows them; untagged images once as <none>."""
    rows: list[tuple[str, str, str, str]] = []
    for img in images:
        short = img.id.removeprefix("sha256:")[:13]
        names = [(t.rpartition(":")[0], t.rpartition(":")[2]) for t in img.repo_tags]
        if not names:
            names = [(d.partition("@")[0], "<none>") for d in img.repo_digests[:1]] or [("<none>", "<none>")]
        rows += [(name, tag, short, human_size(img.size)) for name, tag in names]
    return sorted(rows)


def format_table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in [header, *rows])


def _ctr(argv: list[str]) -> str:
    if shutil.which(argv[0]) is None:
        raise click.ClickException("ctr not found (Debian package containerd)")
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise click.ClickException(f"{' '.join(argv)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def _address(address: str | None, data_dir: Path) -> str:
    socket = address or str(node_socket(data_dir))
    if not Path(socket).is_socket():
        # Fail at once: ctr would wait 10 s to dial a socket that is not there.
        raise click.ClickException(f"no containerd socket at {socket} (is the node running? see --address)")
    return socket


address_option = click.option("--address", "-a", default=None,
                              help="containerd socket (default: DATA_DIR/containerd/containerd.sock).")
data_dir_option = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
                               default=DEFAULT_DATA_DIR, show_default=True, help="The node's data directory.")


@click.group()
def image() -> None:
    """Build, import and list a node's container images."""


@image.command("build-test-images")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Cache directory (default: ~/.cache/kybernetes/images).")
def build_test_images(out: Path | None) -> None:
    """Build the pause and busybox images as OCI archives (only what changed is rebuilt)."""
    from kybernetes.images.testimages import ensure_test_images

    try:
        built = ensure_test_images(out)
    except RuntimeError as e:
        raise click.ClickException(str(e)) from e
    for name, path in built.items():
        click.echo(f"{name}\t{path}")


@image.command("import")
@click.argument("archives", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@address_option
@data_dir_option
def import_images(archives: tuple[Path, ...], address: str | None, data_dir: Path) -> None:
    """Import OCI archives into the node's containerd (namespace k8s.io)."""
    socket = _address(address, data_dir)
    for archive in archives:
        out = _ctr(ctr_import_argv(socket, archive))
        click.echo(out.rstrip() or f"imported {archive}")


@image.command("ls")
@address_option
@data_dir_option
def list_images(address: str | None, data_dir: Path) -> None:
    """List the images the node's CRI sees."""
    from kybernetes.kubelet.cri.client import CRIClient
    from kybernetes.kubelet.cri.errors import CRIError

    socket = _address(address, data_dir)

    async def fetch() -> list[ImageLike]:
        async with CRIClient(socket, request_timeout=10) as client:
            return list(await client.list_images())

    try:
        images = asyncio.run(fetch())
    except CRIError as e:
        raise click.ClickException(f"CRI ListImages at {socket}: {e}") from e
    click.echo(format_table(image_rows(images), ("IMAGE", "TAG", "IMAGE ID", "SIZE")))
