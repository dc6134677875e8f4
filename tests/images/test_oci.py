from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from kybernetes.images import oci
from kybernetes.images.oci import ImageConfig, Layer, dir_entry, file_entry, symlink_entry

LAYER = Layer((
    file_entry("bin/tool", b"#!/bin/sh\necho hi\n", mode=0o755),
    symlink_entry("bin/alias", "tool"),
    dir_entry("tmp", mode=0o1777),
    file_entry("/etc/deep/config", b"x=1\n"),
), created_by="test layer")
CONFIG = ImageConfig(entrypoint=("/bin/tool",), cmd=("--flag",), env=("PATH=/bin", "A=b"), working_dir="/work")


def read_archive(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        out: dict[str, bytes] = {}
        for m in tar.getmembers():
            if m.isfile():
                f = tar.extractfile(m)
                assert f is not None
                out[m.name] = f.read()
        return out


def blob(members: dict[str, bytes], digest: str) -> bytes:
    return members["blobs/sha256/" + digest.removeprefix("sha256:")]


def build(tmp_path: Path, name: str = "example.com/team/app:1", **kw: Any) -> tuple[oci.BuiltImage, dict[str, bytes]]:
    built = oci.build_oci_archive(tmp_path / "img.tar", name=name, layers=[LAYER], config=CONFIG, **kw)
    return built, read_archive(built.path)


def test_archive_layout_and_digests(tmp_path: Path) -> None:
    built, members = build(tmp_path)
    assert json.loads(members["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    for path, data in members.items():
        if path.startswith("blobs/sha256/"):
            assert hashlib.sha256(data).hexdigest() == path.rsplit("/", 1)[1], path
    index = json.loads(members["index.json"])
    assert index["schemaVersion"] == 2 and index["mediaType"] == oci.MEDIA_INDEX
    [desc] = index["manifests"]
    assert desc["digest"] == built.manifest.digest
    assert desc["size"] == len(blob(members, desc["digest"]))
    manifest = json.loads(blob(members, desc["digest"]))
    assert manifest["mediaType"] == oci.MEDIA_MANIFEST
    assert manifest["config"]["mediaType"] == oci.MEDIA_CONFIG
    assert [layer["mediaType"] for layer in manifest["layers"]] == [oci.MEDIA_LAYER]
    layer_bytes = blob(members, manifest["layers"][0]["digest"])
    assert manifest["layers"][0]["size"] == len(layer_bytes)
    config = json.loads(blob(members, manifest["config"]["digest"]))
    # Uncompressed layers: the diff id is the layer digest.
    assert config["rootfs"] == {"type": "layers", "diff_ids": [manifest["layers"][0]["digest"]]}


def test_index_annotations_name_every_image(tmp_path: Path) -> None:
    _, members = build(tmp_path, name="busybox", extra_names=["busybox:1", "kybernetes.local/busybox:latest"])
    index = json.loads(members["index.json"])
    names = [(m["annotations"][oci.ANNOTATION_IMAGE_NAME], m["annotations"][oci.ANNOTATION_REF_NAME])
             for m in index["manifests"]]
    assert names == [
        ("docker.io/library/busybox:latest", "docker.io/library/busybox:latest"),
        ("docker.io/library/busybox:1", "docker.io/library/busybox:1"),
        ("kybernetes.local/busybox:latest", "kybernetes.local/busybox:latest"),
    ]
    assert len({m["digest"] for m in index["manifests"]}) == 1
    assert index["manifests"][0]["platform"]["os"] == "linux"


def test_config_runtime_fields(tmp_path: Path) -> None:
    built, members = build(tmp_path)
    config = json.loads(blob(members, built.config.digest))
    assert config["os"] == "linux"
    assert config["architecture"] == oci.host_architecture()[0]
    assert config["config"] == {"Entrypoint": ["/bin/tool"], "Cmd": ["--flag"], "Env": ["PATH=/bin", "A=b"],
                                "WorkingDir": "/work"}
    assert config["history"][0]["created_by"] == "test layer"


def test_same_inputs_same_bytes(tmp_path: Path) -> None:
    a = oci.build_oci_archive(tmp_path / "a.tar", name="x/y:1", layers=[LAYER], config=CONFIG)
    b = oci.build_oci_archive(tmp_path / "b.tar", name="x/y:1", layers=[LAYER], config=CONFIG)
    assert a.path.read_bytes() == b.path.read_bytes()
    assert a.manifest == b.manifest
    changed = Layer((*LAYER.entries, file_entry("etc/more", b"1")))
    c = oci.build_oci_archive(tmp_path / "c.tar", name="x/y:1", layers=[changed], config=CONFIG)
    assert c.manifest.digest != a.manifest.digest


def test_layer_entries_parents_modes_and_times() -> None:
    with tarfile.open(fileobj=io.BytesIO(oci.layer_tar(LAYER))) as tar:
        members = {m.name.rstrip("/"): m for m in tar.getmembers()}
        assert list(members) == sorted(members)
        assert set(members) == {"bin", "bin/alias", "bin/tool", "etc", "etc/deep", "etc/deep/config", "tmp"}
        assert members["etc/deep"].isdir() and members["etc/deep"].mode == 0o755
        assert members["tmp"].mode == 0o1777
        assert members["bin/tool"].mode == 0o755 and members["bin/tool"].size == len(b"#!/bin/sh\necho hi\n")
        assert members["bin/alias"].issym() and members["bin/alias"].linkname == "tool"
        assert {m.mtime for m in members.values()} == {oci.FIXED_MTIME}
        assert {(m.uid, m.gid, m.uname, m.gname) for m in members.values()} == {(0, 0, "", "")}


@pytest.mark.parametrize(("entries", "message"), [
    pytest.param([file_entry("a", b""), file_entry("/a", b"")], "duplicate", id="duplicate-path"),
    pytest.param([file_entry("../escape", b"")], "invalid path", id="dotdot"),
    pytest.param([file_entry("/", b"")], "invalid path", id="root"),
    pytest.param([file_entry("a", b""), file_entry("a/b", b"")], "both", id="file-as-parent"),
])
def test_bad_layers_are_refused(entries: list[oci.Entry], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        oci.complete_entries(entries)


@pytest.mark.parametrize(("machine", "expected"), [
    pytest.param("x86_64", ("amd64", ""), id="x86_64"),
    pytest.param("aarch64", ("arm64", ""), id="aarch64"),
    pytest.param("armv7l", ("arm", "v7"), id="armv7"),
    pytest.param("s390x", ("s390x", ""), id="s390x"),
    pytest.param("mips", ("mips", ""), id="unknown-passes-through"),
])
def test_host_architecture(machine: str, expected: tuple[str, str]) -> None:
    assert oci.host_architecture(machine) == expected


def test_write_is_atomic_and_leaves_no_temp(tmp_path: Path) -> None:
    oci.build_oci_archive(tmp_path / "out" / "img.tar", name="a:1", layers=[LAYER], config=CONFIG)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["img.tar"]
