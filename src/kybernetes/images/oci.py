"""Write an OCI image-layout tar ("oci-archive") from files held in memory.

Why: no public registry is reachable from the machines this project runs on, so the test images
(`pause`, `busybox`) are built here and imported with `ctr images import` or pushed to a loopback
registry with `skopeo copy oci-archive:...`. Both read the same layout:

    oci-layout                 {"imageLayoutVersion": "1.0.0"}
    index.json                 one manifest descriptor per image name, annotated with
                               io.containerd.image.name (full name, what containerd imports as) and
                               org.opencontainers.image.ref.name (also the full name, so that
                               `oci-archive:FILE:NAME` selects one image without ambiguity)
    blobs/sha256/<hex>         manifest, config and uncompressed tar layers

Assumptions: images are small (a few MiB), so layers are built in memory. Every timestamp is fixed
and every entry is sorted, so the same inputs always give the same bytes and the same digests —
the cache in `testimages` relies on that, and so does a reproducible image id across machines.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from kybernetes.images.names import normalize_image

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar"
ANNOTATION_IMAGE_NAME = "io.containerd.image.name"
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"

# 2024-01-01T00:00:00Z: every file, layer and archive entry carries this time.
FIXED_MTIME = 1704067200
FIXED_CREATED = "2024-01-01T00:00:00Z"
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

EntryKind = Literal["file", "dir", "symlink"]


@dataclass(frozen=True)
class Entry:
    """One file system entry of a layer; `path` is relative to the image root."""

    path: str
    kind: EntryKind
    data: bytes = b""
    target: str = ""  # symlinks only
    mode: int = 0o644
    uid: int = 0
    gid: int = 0


def file_entry(path: str, data: bytes, *, mode: int = 0o644, uid: int = 0, gid: int = 0) -> Entry:
    return Entry(path, "file", data=data, mode=mode, uid=uid, gid=gid)


def dir_entry(path: str, *, mode: int = 0o755, uid: int = 0, gid: int = 0) -> Entry:
    return Entry(path, "dir", mode=mode, uid=uid, gid=gid)


def symlink_entry(path: str, target: str) -> Entry:
    return Entry(path, "symlink", target=target, mode=0o777)


@dataclass(frozen=True)
class Layer:
    entries: tuple[Entry, ...]
    created_by: str = ""  # shown in the config's history


@dataclass(frozen=True)
class ImageConfig:
    """The runtime part of an image config (what `docker inspect` calls Config)."""

    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[str, ...] = (DEFAULT_PATH,)
    working_dir: str = "/"
    user: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    architecture: str = ""  # empty: this machine's
    variant: str = ""
    os: str = "linux"


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


@dataclass(frozen=True)
class BuiltImage:
    path: Path
    names: tuple[str, ...]
    manifest: Descriptor
    config: Descriptor
    layers: tuple[Descriptor, ...]


# Machine names (uname -m) to OCI architecture and variant.
_ARCHITECTURES: dict[str, tuple[str, str]] = {
    "x86_64": ("amd64", ""), "amd64": ("amd64", ""),
    "aarch64": ("arm64", ""), "arm64": ("arm64", ""),
    "armv7l": ("arm", "v7"), "armv6l": ("arm", "v6"),
    "i386": ("386", ""), "i686": ("386", ""),
    "ppc64le": ("ppc64le", ""), "s390x": ("s390x", ""), "riscv64": ("riscv64", ""),
}


def host_architecture(machine: str | None = None) -> tuple[str, str]:
    """(architecture, variant) in OCI terms for a `uname -m` machine name (default: this one)."""
    m = (machine if machine is not None else platform.machine()).lower()
    return _ARCHITECTURES.get(m, (m, ""))


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _clean_path(path: str) -> str:
    p = PurePosixPath("/" + path.lstrip("/"))
    parts = [part for part in p.parts[1:] if part not in ("", ".")]
    if not parts or ".." in parts:
        raise ValueError(f"invalid path in layer: {path!r}")
    return "/".join(parts)


def complete_entries(entries: Iterable[Entry]) -> list[Entry]:
    """Entries with clean paths, missing parent directories added (0755 root), sorted by path.

    A path given twice is an error: a layer holding two versions of a file is never intended.
    """
    by_path: dict[str, Entry] = {}
    for e in entries:
        path = _clean_path(e.path)
        if path in by_path:
            raise ValueError(f"duplicate path in layer: {path}")
        by_path[path] = Entry(path, e.kind, data=e.data, target=e.target, mode=e.mode, uid=e.uid, gid=e.gid)
    for path in list(by_path):
        parent = PurePosixPath(path).parent
        while str(parent) != ".":
            key = str(parent)
            existing = by_path.get(key)
            if existing is None:
                by_path[key] = dir_entry(key)
            elif existing.kind != "dir":
                raise ValueError(f"{key} is both a {existing.kind} and a directory")
            parent = parent.parent
    return [by_path[p] for p in sorted(by_path)]


def layer_tar(layer: Layer) -> bytes:
    """The uncompressed tar of a layer, byte-for-byte reproducible."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in complete_entries(layer.entries):
            info = tarfile.TarInfo(e.path + ("/" if e.kind == "dir" else ""))
            info.mtime = FIXED_MTIME
            info.mode = e.mode
            info.uid, info.gid = e.uid, e.gid
            info.uname = info.gname = ""
            if e.kind == "file":
                info.type = tarfile.REGTYPE
                info.size = len(e.data)
                tar.addfile(info, io.BytesIO(e.data))
            elif e.kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.type = tarfile.SYMTYPE
                info.linkname = e.target
                tar.addfile(info)
    return buf.getvalue()


def config_document(config: ImageConfig, diff_ids: Sequence[str], history: Sequence[str]) -> dict[str, Any]:
    arch, variant = (config.architecture, config.variant) if config.architecture else host_architecture()
    runtime: dict[str, Any] = {"Env": list(config.env), "WorkingDir": config.working_dir}
    if config.entrypoint:
        runtime["Entrypoint"] = list(config.entrypoint)
    if config.cmd:
        runtime["Cmd"] = list(config.cmd)
    if config.user:
        runtime["User"] = config.user
    if config.labels:
        runtime["Labels"] = dict(config.labels)
    doc: dict[str, Any] = {
        "created": FIXED_CREATED,
        "architecture": arch,
        "os": config.os,
        "config": runtime,
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
        "history": [{"created": FIXED_CREATED, "created_by": h or "kybernetes image builder"} for h in history],
    }
    if variant:
        doc["variant"] = variant
    return doc


def manifest_document(config: Descriptor, layers: Sequence[Descriptor]) -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": config.to_json(),
        "layers": [d.to_json() for d in layers],
    }


def index_document(manifest: Descriptor, names: Sequence[str], *, architecture: str, os_name: str,
                   variant: str = "") -> dict[str, Any]:
    plat: dict[str, str] = {"architecture": architecture, "os": os_name}
    if variant:
        plat["variant"] = variant
    return {
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": [
            {**manifest.to_json(), "platform": plat,
             "annotations": {ANNOTATION_IMAGE_NAME: n, ANNOTATION_REF_NAME: n}}
            for n in names
        ],
    }


def archive_members(*, names: Sequence[str], layers: Sequence[Layer],
                    config: ImageConfig) -> tuple[dict[str, bytes], BuiltImage]:
    """Everything the archive holds (path → bytes) and its descriptors; pure."""
    if not names:
        raise ValueError("an image needs at least one name")
    full_names = tuple(dict.fromkeys(normalize_image(n) for n in names))
    blobs: dict[str, bytes] = {}

    def add_blob(media_type: str, data: bytes) -> Descriptor:
        d = Descriptor(media_type, digest_of(data), len(data))
        blobs[d.digest] = data
        return d

    layer_descs = tuple(add_blob(MEDIA_LAYER, layer_tar(layer)) for layer in layers)
    doc = config_document(config, [d.digest for d in layer_descs], [layer.created_by for layer in layers])
    config_desc = add_blob(MEDIA_CONFIG, canonical_json(doc))
    manifest_desc = add_blob(MEDIA_MANIFEST, canonical_json(manifest_document(config_desc, layer_descs)))
    index = index_document(manifest_desc, full_names, architecture=doc["architecture"], os_name=doc["os"],
                           variant=doc.get("variant", ""))
    members = {"oci-layout": canonical_json({"imageLayoutVersion": "1.0.0"}),
               "index.json": canonical_json(index)}
    for digest, data in blobs.items():
        members["blobs/sha256/" + digest.removeprefix("sha256:")] = data
    built = BuiltImage(Path(), full_names, manifest_desc, config_desc, layer_descs)
    return members, built


def write_archive(out: Path, members: dict[str, bytes]) -> None:
    """Write members as a tar, atomically (a reader never sees half an archive)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    dirs = sorted({str(q) for p in members for q in PurePosixPath(p).parents if str(q) != "."})
    try:
        with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for d in dirs:
                info = tarfile.TarInfo(d + "/")
                info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, FIXED_MTIME
                tar.addfile(info)
            for path in sorted(members):
                data = members[path]
                info = tarfile.TarInfo(path)
                info.size, info.mode, info.mtime = len(data), 0o644, FIXED_MTIME
                tar.addfile(info, io.BytesIO(data))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def build_oci_archive(out: Path, *, name: str, layers: Sequence[Layer], config: ImageConfig,
                      extra_names: Sequence[str] = ()) -> BuiltImage:
    """Write an oci-archive of one image known by `name` (and `extra_names`) to `out`."""
    members, built = archive_members(names=[name, *extra_names], layers=layers, config=config)
    write_archive(out, members)
    return BuiltImage(out, built.names, built.manifest, built.config, built.layers)
