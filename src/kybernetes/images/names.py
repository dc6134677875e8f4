"""Image references as users write them (`busybox`, `nginx:1.25`, `host:5000/team/app@sha256:...`)
and the fully qualified form containerd and the kubelet compare (`docker.io/library/busybox:latest`).

The rules are the Docker reference grammar's: the first path component is a registry host when it
contains a `.` or a `:`, is `localhost`, or has upper-case letters; otherwise the image lives on
docker.io, where a single-component name belongs to `library/`. A reference with neither tag nor
digest means `:latest`; a digest reference keeps its digest (and its tag, when it has both).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")
_HOST = re.compile(r"[a-zA-Z0-9.-]+(?::[0-9]+)?|\[[0-9a-fA-F:]+\](?::[0-9]+)?")


@dataclass(frozen=True)
class ImageRef:
    registry: str  # host[:port], docker.io for Docker Hub
    repository: str  # path inside the registry, e.g. library/busybox
    tag: str  # "" when the reference is by digest only
    digest: str  # "" when the reference is by tag

    def __str__(self) -> str:
        s = f"{self.registry}/{self.repository}"
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s

    @property
    def name(self) -> str:
        """registry/repository without tag or digest."""
        return f"{self.registry}/{self.repository}"


def registry_host(host: str) -> str:
    """A registry host as containerd names its `certs.d` directory (Docker Hub aliases → docker.io)."""
    h = host.lower() if not host.startswith("[") else host
    return DOCKER_HUB if h in _DOCKER_HUB_ALIASES else host


def parse_image(ref: str) -> ImageRef:
    """Parse and normalise an image reference; raise ValueError when it is not one."""
    if not ref or ref != ref.strip():
        raise ValueError(f"invalid image reference {ref!r}")
    rest, _, digest = ref.partition("@")
    if digest and not _DIGEST.fullmatch(digest):
        raise ValueError(f"invalid digest in image reference {ref!r}")
    slash = rest.find("/")
    first = rest[:slash] if slash >= 0 else ""
    if slash >= 0 and (any(c in first for c in ".:") or first == "localhost" or first.lower() != first):
        registry, path = first, rest[slash + 1:]
    else:
        registry, path = DOCKER_HUB, rest
    tag = ""
    colon = path.rfind(":")
    if colon >= 0:
        path, tag = path[:colon], path[colon + 1:]
        if not _TAG.fullmatch(tag):
            raise ValueError(f"invalid tag in image reference {ref!r}")
    if not _HOST.fullmatch(registry):
        raise ValueError(f"invalid registry in image reference {ref!r}")
    registry = registry_host(registry)
    if not path or not all(_COMPONENT.fullmatch(c) for c in path.split("/")):
        raise ValueError(f"invalid repository in image reference {ref!r}")
    if registry == DOCKER_HUB and "/" not in path:
        path = "library/" + path
    if not tag and not digest:
        tag = "latest"
    return ImageRef(registry, path, tag, digest)


def normalize_image(ref: str) -> str:
    """`busybox` → `docker.io/library/busybox:latest`; digest references keep their digest."""
    return str(parse_image(ref))
