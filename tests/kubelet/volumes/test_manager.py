"""VolumeManager on the real kernel: tmpfs for secrets, emptyDir limits, hostPath, PVCs,
refresh, and teardown that trusts /proc/self/mountinfo."""

from __future__ import annotations

import base64
import os
import socket
import stat
from pathlib import Path
from typing import Any

import pytest

from kybernetes.kubelet.volumes import VolumeManager, VolumeSetupError
from kybernetes.kubelet.volumes.manager import memory_volume_size, pod_memory_limit
from kybernetes.kubelet.volumes.mounts import LinuxMounter, MountInfo, mounts_under

ALLOC = {"cpu": "2", "memory": "1Gi"}


class FakeAPI:
    def __init__(self) -> None:
        self.configmaps: dict[tuple[str, str], dict[str, Any]] = {}
        self.secrets: dict[tuple[str, str], dict[str, Any]] = {}
        self.pvcs: dict[tuple[str, str], dict[str, Any]] = {}
        self.pvs: dict[str, dict[str, Any]] = {}
        self.token_calls: list[dict[str, Any]] = []

    async def get_configmap(self, ns: str, name: str) -> dict[str, Any] | None:
        return self.configmaps.get((ns, name))

    async def get_secret(self, ns: str, name: str) -> dict[str, Any] | None:
        return self.secrets.get((ns, name))

    async def get_pvc(self, ns: str, name: str) -> dict[str, Any] | None:
        return self.pvcs.get((ns, name))

    async def get_pv(self, name: str) -> dict[str, Any] | None:
        return self.pvs.get(name)

    async def token(self, pod: dict[str, Any], projection: dict[str, Any]) -> str:
        self.token_calls.append(projection)
        return f"token-for-{pod['metadata']['name']}-{projection.get('audience', 'api')}"


@pytest.fixture
def api() -> FakeAPI:
    return FakeAPI()


def manager(work: Path, api: FakeAPI, *, tokens: bool = True) -> VolumeManager:
    return VolumeManager(work / "pods", get_configmap=api.get_configmap, get_secret=api.get_secret,
                         get_pvc=api.get_pvc, get_pv=api.get_pv, node_allocatable=ALLOC,
                         service_account_token=api.token if tokens else None)


def make_pod(volumes: list[dict[str, Any]], uid: str = "uid-1", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "ns", "uid": uid, "labels": {"app": "web"}},
            "spec": {"volumes": volumes, "containers": [{"name": "app"}], **spec}}


def tmpfs_at(path: Path) -> MountInfo | None:
    for m in LinuxMounter().list_mounts():
        if m.mount_point == str(path) and m.fs_type == "tmpfs":
            return m
    return None


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


async def test_secret_volume_is_tmpfs(work: Path, api: FakeAPI) -> None:
    api.secrets[("ns", "db")] = {"data": {"password": b64("hunter2")}}
    mgr = manager(work, api)
    paths = await mgr.setup_pod(make_pod([{"name": "creds", "secret": {"secretName": "db", "defaultMode": 0o400}}]))
    path = paths["creds"]
    assert path == mgr.pods_dir / "uid-1/volumes/kubernetes.io~secret/creds"
    info = tmpfs_at(path)
    assert info is not None
    assert f"size={1024 * 1024}k" in info.super_options  # node allocatable memory
    assert (path / "password").read_text() == "hunter2"
    assert stat.S_IMODE(os.stat(path / "password").st_mode) == 0o400
    # Again: idempotent, one mount only.
    await mgr.setup_pod(make_pod([{"name": "creds", "secret": {"secretName": "db", "defaultMode": 0o400}}]))
    assert [m.mount_point for m in mounts_under(LinuxMounter().list_mounts(), path)] == [str(path)]


async def test_memory_empty_dir_size_limit_and_disk_empty_dir(work: Path, api: FakeAPI) -> None:
    mgr = manager(work, api)
    pod = make_pod([{"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "2Mi"}},
                    {"name": "scratch", "emptyDir": {}}])
    paths = await mgr.setup_pod(pod)
    info = tmpfs_at(paths["cache"])
    assert info is not None and "size=2048k" in info.super_options
    assert tmpfs_at(paths["scratch"]) is None
    assert stat.S_IMODE(os.stat(paths["scratch"]).st_mode) == 0o777
    # The limit is enforced by the kernel.
    with pytest.raises(OSError), open(paths["cache"] / "big", "wb") as f:
        f.write(b"x" * (3 * 1024 * 1024))
    (paths["scratch"] / "keep").write_text("data")
    (paths["cache"] / "big").unlink()
    (paths["cache"] / "keep").write_text("mem")
    again = await mgr.setup_pod(pod)
    assert (again["scratch"] / "keep").read_text() == "data"
    assert (again["cache"] / "keep").read_text() == "mem"


async def test_configmap_on_disk_and_missing(work: Path, api: FakeAPI) -> None:
    mgr = manager(work, api)
    api.configmaps[("ns", "cfg")] = {"data": {"a": "1"}}
    paths = await mgr.setup_pod(make_pod([{"name": "c", "configMap": {"name": "cfg"}},
                                          {"name": "opt", "configMap": {"name": "nope", "optional": True}}]))
    assert tmpfs_at(paths["c"]) is None
    assert (paths["c"] / "a").read_text() == "1"
    # An optional configmap that does not exist gives an empty (but set up) volume.
    assert sorted(os.listdir(paths["opt"])) == sorted(["..data", os.readlink(paths["opt"] / "..data")])

    with pytest.raises(VolumeSetupError) as e:
        await mgr.setup_pod(make_pod([{"name": "c", "configMap": {"name": "cfg"}},
                                      {"name": "bad", "configMap": {"name": "nope"}},
                                      {"name": "worse", "secret": {"secretName": "nope"}}], uid="uid-2"))
    assert str(e.value) == 'MountVolume.SetUp failed for volume "bad" : configmap "nope" not found'
    assert e.value.volume == "bad"
    assert e.value.failures == {"bad": 'configmap "nope" not found', "worse": 'secret "nope" not found'}


async def test_projected_with_token_is_tmpfs_and_configmap_only_is_not(work: Path, api: FakeAPI) -> None:
    api.configmaps[("ns", "kube-root-ca.crt")] = {"data": {"ca.crt": "PEM"}}
    mgr = manager(work, api)
    access = {"name": "kube-api-access-abcde", "projected": {"defaultMode": 0o644, "sources": [
        {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}}]}}
    plain = {"name": "plain", "projected": {"sources": [{"configMap": {"name": "kube-root-ca.crt"}}]}}
    paths = await mgr.setup_pod(make_pod([access, plain]))
    p = paths["kube-api-access-abcde"]
    assert tmpfs_at(p) is not None
    assert {n: (p / n).read_text() for n in ("token", "ca.crt", "namespace")} == {
        "token": "token-for-web-api", "ca.crt": "PEM", "namespace": "ns"}
    assert tmpfs_at(paths["plain"]) is None
    assert api.token_calls == [{"path": "token", "expirationSeconds": 3607}]


async def test_projected_without_token_source_skips_token(work: Path, api: FakeAPI) -> None:
    mgr = manager(work, api, tokens=False)
    paths = await mgr.setup_pod(make_pod([{"name": "t", "projected": {"sources": [
        {"serviceAccountToken": {"path": "token"}}]}}]))
    assert tmpfs_at(paths["t"]) is not None
    assert not (paths["t"] / "token").exists()


async def test_fs_group_owns_projected_files(work: Path, api: FakeAPI) -> None:
    api.secrets[("ns", "s")] = {"data": {"k": b64("v")}}
    mgr = manager(work, api)
    paths = await mgr.setup_pod(make_pod(
        [{"name": "s", "secret": {"secretName": "s", "defaultMode": 0o400}},
         {"name": "t", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}},
         {"name": "e", "emptyDir": {}}],
        securityContext={"fsGroup": 2000}))
    st = os.stat(paths["s"] / "k")
    assert (st.st_gid, stat.S_IMODE(st.st_mode)) == (2000, 0o440)
    st = os.stat(paths["t"] / "token")
    assert (st.st_gid, stat.S_IMODE(st.st_mode)) == (2000, 0o640)
    st = os.stat(paths["e"])
    assert st.st_gid == 2000 and st.st_mode & stat.S_ISGID


async def test_downward_api_and_refresh(work: Path, api: FakeAPI) -> None:
    api.configmaps[("ns", "cfg")] = {"data": {"a": "1"}}
    api.secrets[("ns", "s")] = {"data": {"k": b64("v1")}}
    mgr = manager(work, api)
    volumes = [{"name": "c", "configMap": {"name": "cfg"}}, {"name": "s", "secret": {"secretName": "s"}},
               {"name": "info", "downwardAPI": {"items": [
                   {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
               {"name": "e", "emptyDir": {}}]
    pod = make_pod(volumes)
    paths = await mgr.setup_pod(pod)
    assert (paths["info"] / "labels").read_text() == 'app="web"'
    assert await mgr.refresh_pod(pod) == []

    api.configmaps[("ns", "cfg")] = {"data": {"a": "2", "b": "new"}}
    api.secrets[("ns", "s")] = {"data": {"k": b64("v2")}}
    pod["metadata"]["labels"] = {"app": "web", "tier": "front"}
    assert await mgr.refresh_pod(pod) == ["c", "s", "info"]
    assert (paths["c"] / "a").read_text() == "2" and (paths["c"] / "b").read_text() == "new"
    assert (paths["s"] / "k").read_text() == "v2"
    assert (paths["info"] / "labels").read_text() == 'app="web"\ntier="front"'

    # A source that disappears keeps the last content.
    del api.configmaps[("ns", "cfg")]
    assert await mgr.refresh_pod(pod) == []
    assert (paths["c"] / "a").read_text() == "2"
    # Volumes never set up are left for setup_pod.
    assert await mgr.refresh_pod(make_pod(volumes, uid="other")) == []
    assert "other" not in mgr.mounted_pods()


HOSTPATH_CASES: list[tuple[str, str, str | None, str | None]] = [
    ("no-type-missing-ok", "missing", None, None),
    ("dir-or-create", "new/deep", "DirectoryOrCreate", None),
    ("dir-exists", "dir", "Directory", None),
    ("dir-missing", "missing", "Directory", "hostPath type check failed: {} is not a directory"),
    ("dir-is-file", "file", "Directory", "hostPath type check failed: {} is not a directory"),
    ("file-or-create", "newfile", "FileOrCreate", None),
    ("file-is-dir", "dir", "File", "hostPath type check failed: {} is not a file"),
    ("socket", "sock", "Socket", None),
    ("socket-is-file", "file", "Socket", "hostPath type check failed: {} is not a socket file"),
    ("chardev", "/dev/null", "CharDevice", None),
    ("blockdev-is-chardev", "/dev/null", "BlockDevice", "hostPath type check failed: {} is not a block device"),
    ("bad-type", "dir", "Bogus", "Bogus is an invalid volume type"),
]


@pytest.mark.parametrize(("rel", "kind", "error"), [c[1:] for c in HOSTPATH_CASES], ids=[c[0] for c in HOSTPATH_CASES])
async def test_host_path(work: Path, api: FakeAPI, rel: str, kind: str | None, error: str | None) -> None:
    host = work / "host"
    host.mkdir()
    (host / "dir").mkdir()
    (host / "file").write_text("f")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(host / "sock"))
    try:
        path = Path(rel) if rel.startswith("/") else host / rel
        source: dict[str, Any] = {"path": str(path)}
        if kind:
            source["type"] = kind
        mgr = manager(work, api)
        if error:
            with pytest.raises(VolumeSetupError) as e:
                await mgr.setup_pod(make_pod([{"name": "h", "hostPath": source}]))
            assert str(e.value) == f'MountVolume.SetUp failed for volume "h" : {error.format(path)}'
            return
        paths = await mgr.setup_pod(make_pod([{"name": "h", "hostPath": source}]))
        assert paths["h"] == path
        if kind == "DirectoryOrCreate":
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o755
            assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o755
        if kind == "FileOrCreate":
            assert path.is_file() and stat.S_IMODE(os.stat(path).st_mode) == 0o644
    finally:
        sock.close()


async def test_persistent_volume_claims(work: Path, api: FakeAPI) -> None:
    data, local = work / "pv-data", work / "local-disk"
    local.mkdir()
    api.pvcs[("ns", "claim")] = {"metadata": {"uid": "pvc-uid"}, "spec": {"volumeName": "pv1"},
                                 "status": {"phase": "Bound"}}
    api.pvs["pv1"] = {"spec": {"claimRef": {"uid": "pvc-uid"},
                               "hostPath": {"path": str(data), "type": "DirectoryOrCreate"}}}
    api.pvcs[("ns", "local")] = {"metadata": {"uid": "l"}, "spec": {"volumeName": "pv2"}, "status": {"phase": "Bound"}}
    api.pvs["pv2"] = {"spec": {"claimRef": {"uid": "l"}, "local": {"path": str(local)}}}
    api.pvcs[("ns", "pending")] = {"spec": {}, "status": {"phase": "Pending"}}
    api.pvcs[("ns", "stolen")] = {"metadata": {"uid": "x"}, "spec": {"volumeName": "pv1"}, "status": {"phase": "Bound"}}
    mgr = manager(work, api)
    paths = await mgr.setup_pod(make_pod([{"name": "d", "persistentVolumeClaim": {"claimName": "claim"}},
                                          {"name": "l", "persistentVolumeClaim": {"claimName": "local"}}]))
    assert paths == {"d": data, "l": local}
    assert data.is_dir()
    for claim, message in [
        ("pending", 'PVC ns/pending has non-bound phase ("Pending") or empty pvc.Spec.VolumeName ("")'),
        ("absent", 'persistentvolumeclaim "absent" not found'),
        ("stolen", "does not point to the PVC"),
    ]:
        with pytest.raises(VolumeSetupError, match=message.replace("(", r"\(").replace(")", r"\)")):
            await mgr.setup_pod(make_pod([{"name": "p", "persistentVolumeClaim": {"claimName": claim}}]))


async def test_unsupported_volume_type(work: Path, api: FakeAPI) -> None:
    with pytest.raises(VolumeSetupError, match="no volume plugin matched"):
        await manager(work, api).setup_pod(make_pod([{"name": "n", "nfs": {"server": "x", "path": "/"}}]))


async def test_teardown_unmounts_and_removes_even_after_crash(work: Path, api: FakeAPI) -> None:
    api.secrets[("ns", "s")] = {"data": {"k": b64("v")}}
    mgr = manager(work, api)
    pod = make_pod([{"name": "s", "secret": {"secretName": "s"}},
                    {"name": "m", "emptyDir": {"medium": "Memory"}}, {"name": "d", "emptyDir": {}}])
    await mgr.setup_pod(pod)
    await mgr.setup_pod(make_pod([{"name": "m", "emptyDir": {"medium": "Memory"}}], uid="uid-keep"))
    assert mgr.mounted_pods() == {"uid-1", "uid-keep"}
    pod_dir = mgr.pod_dir("uid-1")
    # A mount nested inside a volume (what a crashed kubelet could leave) goes too.
    nested = pod_dir / "volumes/kubernetes.io~empty-dir/m/nested"
    nested.mkdir()
    LinuxMounter().mount_tmpfs(nested, size_bytes=None)
    assert len(mounts_under(LinuxMounter().list_mounts(), pod_dir)) == 3

    # A fresh manager (the kubelet restarted) knows nothing but the kernel's mount table.
    fresh = manager(work, api)
    await fresh.teardown_pod("uid-1")
    assert mounts_under(LinuxMounter().list_mounts(), pod_dir) == []
    assert not pod_dir.exists()
    await fresh.teardown_pod("uid-1")  # twice is fine
    assert fresh.mounted_pods() == {"uid-keep"}
    assert tmpfs_at(mgr.volume_dir("uid-keep", "emptyDir", "m")) is not None
    await fresh.teardown_pod("uid-keep")
    assert fresh.mounted_pods() == set()
    with pytest.raises(ValueError):
        await fresh.teardown_pod("../etc")


MEMORY_SIZE_CASES: list[tuple[str, list[dict[str, Any]], str | None, int | None]] = [
    ("node-allocatable", [{"name": "a"}], None, 1 << 30),
    ("size-limit-smaller", [{"name": "a"}], "64Mi", 64 << 20),
    ("size-limit-larger-than-node", [{"name": "a"}], "8Gi", 1 << 30),
    ("pod-limit", [{"name": "a", "resources": {"limits": {"memory": "100Mi"}}},
                   {"name": "b", "resources": {"limits": {"memory": "28Mi"}}}], None, 128 << 20),
    ("one-container-unlimited", [{"name": "a", "resources": {"limits": {"memory": "100Mi"}}}, {"name": "b"}],
     None, 1 << 30),
    ("size-limit-below-pod-limit", [{"name": "a", "resources": {"limits": {"memory": "100Mi"}}}], "10Mi", 10 << 20),
]


@pytest.mark.parametrize(("containers", "size_limit", "want"), [c[1:] for c in MEMORY_SIZE_CASES],
                         ids=[c[0] for c in MEMORY_SIZE_CASES])
def test_memory_volume_size(containers: list[dict[str, Any]], size_limit: str | None, want: int | None) -> None:
    pod = {"spec": {"containers": containers}}
    assert memory_volume_size(pod, ALLOC, size_limit) == want


def test_pod_memory_limit_with_init_containers() -> None:
    spec = {"containers": [{"resources": {"limits": {"memory": "100Mi"}}}],
            "initContainers": [{"resources": {"limits": {"memory": "300Mi"}}},
                               {"restartPolicy": "Always", "resources": {"limits": {"memory": "10Mi"}}}]}
    assert pod_memory_limit({"spec": spec}) == 300 << 20
    assert memory_volume_size({"spec": {"containers": []}}, {}, None) is None
