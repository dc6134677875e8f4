"""End to end: our images imported into a real containerd, and pulled through CRI from a real
`docker-registry` on loopback via a registries.yaml mirror, with and without htpasswd auth."""

from __future__ import annotations

import base64
import json
import subprocess
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from kybernetes.cli.image import image
from kybernetes.images.registries import credentials_for, write_registry_config
from kybernetes.images.testimages import BUSYBOX_NAMES, PAUSE_IMAGE
from kybernetes.kubelet.cri.client import CRIClient
from kybernetes.kubelet.cri.errors import CRIError

from .conftest import REGISTRY_ADDRESS, Containerd, Registry

pytestmark = pytest.mark.e2e


def run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{argv}: {done.stderr}"
    return done.stdout


def skopeo_push(archive: Path, ref: str, dest: str, creds: tuple[str, str] | None = None) -> str:
    """Push one image of an OCI archive to the loopback registry; return its manifest digest there."""
    auth = ["--dest-creds", ":".join(creds)] if creds else []
    run(["skopeo", "copy", "--dest-tls-verify=false", *auth, f"oci-archive:{archive}:{ref}",
         f"docker://{REGISTRY_ADDRESS}/{dest}"])
    src_auth = ["--creds", ":".join(creds)] if creds else []
    return str(json.loads(run(["skopeo", "inspect", "--tls-verify=false", *src_auth,
                               f"docker://{REGISTRY_ADDRESS}/{dest}"]))["Digest"])


def bcrypt_htpasswd(user: str, password: str) -> str:
    """An htpasswd line with a bcrypt hash (the only kind docker-registry accepts)."""
    try:
        import bcrypt  # type: ignore[import-not-found]

        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
    except ImportError:
        # Python 3.11/3.12: glibc's crypt(3) (libxcrypt on Debian) makes bcrypt hashes.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))
    assert hashed.startswith("$2"), hashed
    return f"{user}:{hashed}\n"


def mirror_docker_hub(containerd: Containerd, tmp_path: Path) -> dict[str, object]:
    yml = tmp_path / "registries.yaml"
    yml.write_text(f"mirrors:\n  docker.io:\n    endpoint: [\"http://{REGISTRY_ADDRESS}\"]\n")
    return write_registry_config(yml, containerd.certs_dir)


def test_import_with_cli_and_list(containerd: Containerd, test_images: dict[str, Path]) -> None:
    archives = sorted(set(test_images.values()))
    result = CliRunner().invoke(image, ["import", "--address", str(containerd.socket), *map(str, archives)])
    assert result.exit_code == 0, result.output
    names = set(containerd.ctr("images", "ls", "-q").stdout.split())
    assert {PAUSE_IMAGE, *BUSYBOX_NAMES} <= names

    listing = CliRunner().invoke(image, ["ls", "--address", str(containerd.socket)])
    assert listing.exit_code == 0, listing.output
    rows = [line.split() for line in listing.output.splitlines()[1:]]
    assert ["kybernetes.local/pause", "3.10"] in [r[:2] for r in rows]
    assert ["docker.io/library/busybox", "1.36"] in [r[:2] for r in rows]


async def test_pull_through_mirror(containerd: Containerd, registry: Registry, test_images: dict[str, Path],
                                   tmp_path: Path) -> None:
    registry.start()
    digest = skopeo_push(test_images[BUSYBOX_NAMES[0]], "docker.io/library/busybox:1.36", "library/busybox:1.36")
    mirror_docker_hub(containerd, tmp_path)
    containerd.ctr("images", "rm", "docker.io/library/busybox:1.36", check=False)
    async with CRIClient(str(containerd.socket), pull_timeout=60) as cri:
        ref = await cri.pull_image("busybox:1.36")
        assert ref.startswith("sha256:")
        img = await cri.image_status("docker.io/library/busybox:1.36")
    assert img is not None and img.id == ref
    # The digest the registry serves: the image came from the mirror, not from the earlier import.
    assert f"docker.io/library/busybox@{digest}" in img.repo_digests


async def test_pull_with_htpasswd_auth(containerd: Containerd, registry: Registry, test_images: dict[str, Path],
                                       tmp_path: Path) -> None:
    user, password = "puller", "s3cret-pw"
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(bcrypt_htpasswd(user, password))
    registry.start(htpasswd)
    digest = skopeo_push(test_images[BUSYBOX_NAMES[0]], "docker.io/library/busybox:1", "team/private:1",
                         creds=(user, password))
    registries = mirror_docker_hub(containerd, tmp_path)
    secret = {"type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": base64.b64encode(
        json.dumps({"auths": {"https://index.docker.io/v1/": {
            "auth": base64.b64encode(f"{user}:{password}".encode()).decode()}}}).encode()).decode()}}

    async with CRIClient(str(containerd.socket), pull_timeout=60) as cri:
        assert credentials_for("team/private:1", registries, []) is None
        with pytest.raises(CRIError) as failed:
            await cri.pull_image("docker.io/team/private:1")
        assert "401" in str(failed.value) or "unauthorized" in str(failed.value).lower()

        creds = credentials_for("team/private:1", registries, [secret])
        assert creds == (user, password)
        from kybernetes.kubelet.cri import api_pb2 as pb

        ref = await cri.pull_image("docker.io/team/private:1", auth=pb.AuthConfig(username=creds[0],
                                                                                   password=creds[1]))
        img = await cri.image_status("docker.io/team/private:1")
    assert img is not None and img.id == ref
    assert f"docker.io/team/private@{digest}" in img.repo_digests
