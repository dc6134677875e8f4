from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from kybernetes.images import testimages
from kybernetes.images.oci import layer_tar


def layer_members(archive: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(archive) as outer:
        files = {m.name: outer.extractfile(m) for m in outer.getmembers() if m.isfile()}
        blobs = {name: f.read() for name, f in files.items() if f is not None}
    index = json.loads(blobs["index.json"])
    manifest = json.loads(blobs["blobs/sha256/" + index["manifests"][0]["digest"][7:]])
    layer = blobs["blobs/sha256/" + manifest["layers"][0]["digest"][7:]]
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        return {m.name.rstrip("/"): m for m in tar.getmembers()}


def test_busybox_layer_contents() -> None:
    layer = testimages.busybox_layer(b"\x7fELF fake", ["sh", "ls", "wget", "busybox", "sh"])
    with tarfile.open(fileobj=io.BytesIO(layer_tar(layer))) as tar:
        members = {m.name.rstrip("/"): m for m in tar.getmembers()}
        passwd = tar.extractfile(members["etc/passwd"])
        assert passwd is not None
        users = [line.split(":")[0] for line in passwd.read().decode().splitlines()]
    assert users == ["root", "nobody"]
    for applet in ("sh", "ls", "wget"):
        assert members[f"bin/{applet}"].issym() and members[f"bin/{applet}"].linkname == "busybox"
    assert members["bin/busybox"].isfile() and members["bin/busybox"].mode == 0o755
    assert members["tmp"].mode == 0o1777
    assert {"etc/group", "etc/hosts", "etc/resolv.conf", "proc", "sys", "dev", "root"} <= set(members)


@pytest.fixture()
def fake_busybox(tmp_path: Path) -> Path:
    script = tmp_path / "busybox"
    script.write_text("#!/bin/sh\nprintf 'sh\\nls\\ncat\\n'\n")
    script.chmod(0o755)
    return script


def test_busybox_archive_is_cached_until_inputs_change(tmp_path: Path, fake_busybox: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    first = testimages.ensure_busybox_image(cache, binary=fake_busybox)
    stamp = first.stat().st_mtime_ns
    time.sleep(0.01)
    assert testimages.ensure_busybox_image(cache, binary=fake_busybox) == first
    assert first.stat().st_mtime_ns == stamp  # not rewritten
    assert {"bin/sh", "bin/ls", "bin/cat", "bin/busybox"} <= set(layer_members(first))

    before = first.read_bytes()
    fake_busybox.write_text(fake_busybox.read_text() + "# changed\n")
    testimages.ensure_busybox_image(cache, binary=fake_busybox)
    assert first.read_bytes() != before


def test_missing_busybox_binary_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="busybox-static"):
        testimages.ensure_busybox_image(tmp_path, binary=tmp_path / "nope")


def test_pause_binary_behaves(tmp_path: Path) -> None:
    binary = tmp_path / "pause"
    binary.write_bytes(testimages.compile_pause(tmp_path))
    binary.chmod(0o755)
    assert b"GLIBC" not in subprocess.run(["ldd", str(binary)], capture_output=True).stdout  # static
    for sig in (signal.SIGTERM, signal.SIGINT):
        proc = subprocess.Popen([str(binary)])
        try:
            time.sleep(0.1)
            assert proc.poll() is None  # sleeps
            os.kill(proc.pid, sig)
            assert proc.wait(5) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_ensure_test_images_names_and_reuse(tmp_path: Path) -> None:
    images = testimages.ensure_test_images(tmp_path)
    assert set(images) == {testimages.PAUSE_IMAGE, *testimages.BUSYBOX_NAMES}
    pause = images[testimages.PAUSE_IMAGE]
    members = layer_members(pause)
    assert members["pause"].mode == 0o755
    mtime = pause.stat().st_mtime_ns
    assert testimages.ensure_test_images(tmp_path) == images
    assert pause.stat().st_mtime_ns == mtime
