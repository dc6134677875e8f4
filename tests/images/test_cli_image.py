from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from kybernetes.cli.image import ctr_import_argv, format_table, human_size, image, image_rows, node_socket


@dataclass
class Img:
    id: str
    repo_tags: list[str] = field(default_factory=list)
    repo_digests: list[str] = field(default_factory=list)
    size: int = 0


def test_import_argv_targets_cri_namespace() -> None:
    assert ctr_import_argv("/d/containerd/containerd.sock", Path("/x/busybox.tar")) == [
        "ctr", "-a", "/d/containerd/containerd.sock", "-n", "k8s.io", "images", "import", "--all-platforms",
        "/x/busybox.tar"]
    assert node_socket(Path("/var/lib/kybernetes")) == Path("/var/lib/kybernetes/containerd/containerd.sock")


def test_node_socket_of_a_servers_data_dir(tmp_path: Path) -> None:
    """`kyb server --data-dir D` runs its node under D/node: `kyb image ls --data-dir D` finds it."""
    import socket

    sock_path = tmp_path / "node" / "containerd" / "containerd.sock"
    sock_path.parent.mkdir(parents=True)
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(sock_path))
        assert node_socket(tmp_path) == sock_path


@pytest.mark.parametrize(("images", "rows"), [
    pytest.param([], [], id="none"),
    pytest.param([Img("sha256:" + "ab" * 32, ["docker.io/library/busybox:1", "localhost:5000/b:latest"],
                      size=2_150_400)],
                 [("docker.io/library/busybox", "1", "abababababab" + "a", "2.15MB"),
                  ("localhost:5000/b", "latest", "abababababab" + "a", "2.15MB")], id="tags-with-ports"),
    pytest.param([Img("sha256:" + "cd" * 32, [], ["docker.io/library/x@sha256:" + "0" * 64], size=999)],
                 [("docker.io/library/x", "<none>", "cdcdcdcdcdcdc", "999B")], id="untagged"),
])
def test_image_rows(images: list[Img], rows: list[tuple[str, str, str, str]]) -> None:
    assert image_rows(images) == rows


@pytest.mark.parametrize(("n", "text"), [(0, "0B"), (999, "999B"), (1000, "1kB"), (686_080, "686kB"),
                                          (5_000_000_000, "5GB")])
def test_human_size(n: int, text: str) -> None:
    assert human_size(n) == text


def test_format_table_aligns() -> None:
    assert format_table([("a", "bb")], ("IMAGE", "TAG")) == "IMAGE   TAG\na       bb"


def test_import_without_containerd_fails_clearly(tmp_path: Path) -> None:
    archive = tmp_path / "x.tar"
    archive.write_bytes(b"")
    result = CliRunner().invoke(image, ["import", "--data-dir", str(tmp_path), str(archive)])
    assert result.exit_code == 1
    assert f"no containerd socket at {tmp_path}/containerd/containerd.sock" in result.output


def test_ls_without_containerd_fails_clearly(tmp_path: Path) -> None:
    result = CliRunner().invoke(image, ["ls", "--address", str(tmp_path / "missing.sock")])
    assert result.exit_code == 1
    assert "no containerd socket" in result.output
