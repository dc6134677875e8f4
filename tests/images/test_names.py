from __future__ import annotations

import pytest

from kybernetes.images.names import normalize_image, parse_image

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(("ref", "expected"), [
    pytest.param("busybox", "docker.io/library/busybox:latest", id="bare-name"),
    pytest.param("busybox:1.36", "docker.io/library/busybox:1.36", id="tag"),
    pytest.param("library/busybox", "docker.io/library/busybox:latest", id="library-path"),
    pytest.param("team/app:v2", "docker.io/team/app:v2", id="hub-user-repo"),
    pytest.param("docker.io/busybox", "docker.io/library/busybox:latest", id="hub-host-single"),
    pytest.param("index.docker.io/library/busybox:1", "docker.io/library/busybox:1", id="hub-alias"),
    pytest.param("registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9", id="other-registry"),
    pytest.param("localhost/app", "localhost/app:latest", id="localhost"),
    pytest.param("127.0.0.1:5000/a/b/c", "127.0.0.1:5000/a/b/c:latest", id="host-port-deep"),
    pytest.param("kybernetes.local/pause:3.10", "kybernetes.local/pause:3.10", id="local-name"),
    pytest.param(f"busybox@{DIGEST}", f"docker.io/library/busybox@{DIGEST}", id="digest-only"),
    pytest.param(f"busybox:1@{DIGEST}", f"docker.io/library/busybox:1@{DIGEST}", id="tag-and-digest"),
    pytest.param("host:5000/app:1.0-rc_1", "host:5000/app:1.0-rc_1", id="tag-punctuation"),
])
def test_normalize(ref: str, expected: str) -> None:
    assert normalize_image(ref) == expected


@pytest.mark.parametrize("ref", [
    pytest.param("", id="empty"),
    pytest.param("Busybox", id="uppercase-repo"),
    pytest.param("busybox:", id="empty-tag"),
    pytest.param("busybox@sha256:abc", id="short-digest"),
    pytest.param(" busybox", id="whitespace"),
    pytest.param("host:5000/", id="no-repository"),
])
def test_invalid_references(ref: str) -> None:
    with pytest.raises(ValueError):
        parse_image(ref)


def test_parts() -> None:
    ref = parse_image("127.0.0.1:5000/team/app:7")
    assert (ref.registry, ref.repository, ref.tag, ref.digest, ref.name) == (
        "127.0.0.1:5000", "team/app", "7", "", "127.0.0.1:5000/team/app")
