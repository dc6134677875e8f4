"""Container mounts: pure decisions table-driven, then the filesystem part on real directories."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from kybernetes.kubelet.volumes.atomic_writer import FileProjection, current_data_dir, write_atomically
from kybernetes.kubelet.volumes.container_mounts import (
    ContainerMountError,
    MountPropagation,
    MountSpec,
    container_mounts,
    expand_subpath_expr,
    mount_propagation,
    mount_readonly,
    render_etc_hosts,
)

EXPAND_CASES = [
    ("plain", "logs", {}, "logs"),
    ("one-var", "logs/$(POD)", {"POD": "web-0"}, "logs/web-0"),
    ("two-vars", "$(NS)/$(POD)", {"NS": "a", "POD": "b"}, "a/b"),
    ("escaped-dollar", "$$(POD)", {"POD": "x"}, "$(POD)"),
    ("lone-dollar-end", "a$", {}, "a$"),
    ("dollar-other", "$x/$(POD)", {"POD": "p"}, "$x/p"),
    ("unclosed", "$(POD", {"POD": "p"}, "$(POD"),
]


@pytest.mark.parametrize(("expr", "env", "want"), [c[1:] for c in EXPAND_CASES], ids=[c[0] for c in EXPAND_CASES])
def test_expand_subpath_expr(expr: str, env: dict[str, str], want: str) -> None:
    assert expand_subpath_expr(expr, env) == want


@pytest.mark.parametrize(("expr", "env", "message"), [
    ("$(A)/$(B)", {}, "missing value for A, B"),
    ("$(A)", {"A": ""}, "missing value for A"),
], ids=["unset", "empty"])
def test_expand_subpath_expr_missing(expr: str, env: dict[str, str], message: str) -> None:
    with pytest.raises(ContainerMountError, match=message):
        expand_subpath_expr(expr, env)


PROPAGATION_CASES: list[tuple[str, dict[str, Any], bool, MountPropagation | str]] = [
    ("unset", {}, False, MountPropagation.PRIVATE),
    ("none", {"mountPropagation": "None"}, False, MountPropagation.PRIVATE),
    ("host-to-container", {"mountPropagation": "HostToContainer"}, False, MountPropagation.HOST_TO_CONTAINER),
    ("bidirectional-privileged", {"mountPropagation": "Bidirectional"}, True, MountPropagation.BIDIRECTIONAL),
    ("bidirectional-unprivileged", {"mountPropagation": "Bidirectional"}, False,
     "Bidirectional mount propagation is available only to privileged containers"),
    ("bogus", {"mountPropagation": "Sideways"}, False, "invalid MountPropagation mode: 'Sideways'"),
]


@pytest.mark.parametrize(("vm", "privileged", "want"), [c[1:] for c in PROPAGATION_CASES],
                         ids=[c[0] for c in PROPAGATION_CASES])
def test_mount_propagation(vm: dict[str, Any], privileged: bool, want: Any) -> None:
    if isinstance(want, str):
        with pytest.raises(ContainerMountError, match=want):
            mount_propagation(vm, privileged=privileged)
    else:
        assert mount_propagation(vm, privileged=privileged) is want


@pytest.mark.parametrize(("vm", "volume", "want"), [
    ({}, {"emptyDir": {}}, False),
    ({"readOnly": True}, {"emptyDir": {}}, True),
    ({}, {"configMap": {"name": "c"}}, True),
    ({}, {"secret": {"secretName": "s"}}, True),
    ({}, {"downwardAPI": {}}, True),
    ({}, {"projected": {"sources": []}}, True),
    ({}, {"hostPath": {"path": "/x"}}, False),
    ({}, {"persistentVolumeClaim": {"claimName": "c", "readOnly": True}}, True),
    ({}, {"persistentVolumeClaim": {"claimName": "c"}}, False),
], ids=["emptydir", "readonly-flag", "configmap", "secret", "downward", "projected", "hostpath", "pvc-ro", "pvc-rw"])
def test_mount_readonly(vm: dict[str, Any], volume: dict[str, Any], want: bool) -> None:
    assert mount_readonly(vm, volume) is want


BASE_HOSTS = ("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
              "fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")


def pod(name: str = "web-0", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "prod", "uid": "u1"}, "spec": spec}


HOSTS_CASES: list[tuple[str, dict[str, Any], list[str], list[dict[str, Any]] | None, str]] = [
    ("plain", pod(), ["10.42.0.5"], None, BASE_HOSTS + "10.42.0.5\tweb-0\n"),
    ("dual-stack", pod(), ["10.42.0.5", "fd00::5"], None, BASE_HOSTS + "10.42.0.5\tweb-0\nfd00::5\tweb-0\n"),
    ("hostname-subdomain", pod(hostname="db", subdomain="svc-a"), ["10.42.0.6"], None,
     BASE_HOSTS + "10.42.0.6\tdb.svc-a.prod.svc.cluster.local\tdb\n"),
    ("host-aliases-from-spec",
     pod(hostAliases=[{"ip": "1.2.3.4", "hostnames": ["foo.local", "bar.local"]}, {"ip": "::2", "hostnames": ["v6"]}]),
     ["10.42.0.7"], None,
     BASE_HOSTS + "10.42.0.7\tweb-0\n\n# Entries added by HostAliases.\n1.2.3.4\tfoo.local\tbar.local\n::2\tv6\n"),
    ("host-aliases-param-wins", pod(hostAliases=[{"ip": "9.9.9.9", "hostnames": ["x"]}]), ["10.42.0.7"],
     [{"ip": "1.1.1.1", "hostnames": ["one"]}],
     BASE_HOSTS + "10.42.0.7\tweb-0\n\n# Entries added by HostAliases.\n1.1.1.1\tone\n"),
    ("long-name-truncated", pod(name="a" * 62 + "-bbbb"), ["10.42.0.8"], None,
     BASE_HOSTS + "10.42.0.8\t" + "a" * 62 + "\n"),
]


@pytest.mark.parametrize(("p", "ips", "aliases", "want"), [c[1:] for c in HOSTS_CASES], ids=[c[0] for c in HOSTS_CASES])
def test_render_etc_hosts(p: dict[str, Any], ips: list[str], aliases: list[dict[str, Any]] | None, want: str) -> None:
    assert render_etc_hosts(p, ips, aliases) == want


# --- filesystem ---------------------------------------------------------------------------------

def full_pod(volumes: list[dict[str, Any]], mounts: list[dict[str, Any]], **spec: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    container = {"name": "app", "volumeMounts": mounts, "terminationMessagePath": "/dev/termination-log"}
    return pod(volumes=volumes, containers=[container], **spec), container


def test_volume_mounts_hosts_and_termination_log(work: Path) -> None:
    data, cfg = work / "data", work / "cfg"
    data.mkdir()
    os.chmod(data, 0o777)
    cfg.mkdir()
    write_atomically(cfg, {"app.conf": FileProjection(b"v1")})
    p, c = full_pod(
        [{"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "cfg"}}],
        [{"name": "data", "mountPath": "/data"},
         {"name": "data", "mountPath": "/logs", "subPathExpr": "logs/$(POD_NAME)"},
         {"name": "cfg", "mountPath": "/etc/app"},
         {"name": "cfg", "mountPath": "/etc/app.conf", "subPath": "app.conf"},
         {"name": "data", "mountPath": "/ro", "readOnly": True, "mountPropagation": "HostToContainer"}])
    term = work / "pod" / "containers" / "app" / "0"
    got = container_mounts(p, c, {"data": data, "cfg": cfg}, work / "pod", env={"POD_NAME": "web-0"},
                           pod_ips=["10.42.0.9"], termination_log_path=term)
    ts = current_data_dir(cfg)
    assert ts is not None
    assert got == [
        MountSpec("/data", data),
        MountSpec("/logs", data / "logs" / "web-0"),
        MountSpec("/etc/app", cfg, readonly=True),
        MountSpec("/etc/app.conf", Path(os.path.realpath(ts)) / "app.conf", readonly=True),
        MountSpec("/ro", data, readonly=True, propagation=MountPropagation.HOST_TO_CONTAINER),
        MountSpec("/etc/hosts", work / "pod" / "etc-hosts"),
        MountSpec("/dev/termination-log", term),
    ]
    # subPath directories take the volume root's permissions.
    assert stat.S_IMODE(os.stat(data / "logs" / "web-0").st_mode) == 0o777
    assert (work / "pod" / "etc-hosts").read_text().endswith("10.42.0.9\tweb-0\n")
    assert stat.S_IMODE(os.stat(term).st_mode) == 0o666 and term.read_bytes() == b""


def test_no_etc_hosts_for_host_network_no_ip_or_own_mount(work: Path) -> None:
    vol = work / "v"
    vol.mkdir()
    p, c = full_pod([{"name": "v", "emptyDir": {}}], [], hostNetwork=True)
    assert container_mounts(p, c, {"v": vol}, work / "pod", pod_ips=["10.0.0.1"]) == []
    p, c = full_pod([{"name": "v", "emptyDir": {}}], [])
    assert container_mounts(p, c, {"v": vol}, work / "pod", pod_ips=[]) == []
    p, c = full_pod([{"name": "v", "emptyDir": {}}], [{"name": "v", "mountPath": "/etc/hosts", "subPath": "h"}])
    got = container_mounts(p, c, {"v": vol}, work / "pod", pod_ips=["10.0.0.1"])
    assert [m.container_path for m in got] == ["/etc/hosts"]
    assert not (work / "pod" / "etc-hosts").exists()


def test_termination_log_skipped_when_path_empty(work: Path) -> None:
    p, c = full_pod([], [])
    c["terminationMessagePath"] = ""
    assert container_mounts(p, c, {}, work / "pod", termination_log_path=work / "t") == []


@pytest.mark.parametrize(("mount", "message"), [
    ({"name": "ghost", "mountPath": "/x"}, "cannot find volume 'ghost' to mount into container 'app'"),
    ({"name": "v", "mountPath": "/x", "subPath": "/abs"}, "must not be an absolute path"),
    ({"name": "v", "mountPath": "/x", "subPath": "a/../../b"}, "must not contain '..'"),
    ({"name": "v", "mountPath": "/x", "subPath": "escape/etc"}, "not within volume path"),
    ({"name": "v", "mountPath": "/x", "subPath": "escape"}, "not within volume path"),
    ({"name": "v", "mountPath": "/x", "subPathExpr": "$(NOPE)"}, "missing value for NOPE"),
], ids=["missing-volume", "absolute", "backstep", "symlink-escape-create", "symlink-escape", "expr-missing"])
def test_mount_errors(work: Path, mount: dict[str, Any], message: str) -> None:
    vol = work / "v"
    vol.mkdir()
    outside = work / "outside"
    outside.mkdir()
    os.symlink(outside, vol / "escape")
    p, c = full_pod([{"name": "v", "emptyDir": {}}], [mount])
    with pytest.raises(ContainerMountError, match=message):
        container_mounts(p, c, {"v": vol}, work / "pod", env={})
    assert os.listdir(outside) == []


def test_subpath_on_file_volume_is_rejected(work: Path) -> None:
    f = work / "file"
    f.write_text("x")
    p, c = full_pod([{"name": "f", "hostPath": {"path": str(f)}}], [{"name": "f", "mountPath": "/x", "subPath": "a"}])
    with pytest.raises(ContainerMountError, match="volume is not a directory"):
        container_mounts(p, c, {"f": f}, work / "pod")


def test_etc_hosts_rewritten_only_when_content_changes(work: Path) -> None:
    p, c = full_pod([], [])
    container_mounts(p, c, {}, work / "pod", pod_ips=["10.0.0.1"])
    hosts = work / "pod" / "etc-hosts"
    inode = os.stat(hosts).st_ino
    container_mounts(p, c, {}, work / "pod", pod_ips=["10.0.0.1"])
    assert os.stat(hosts).st_ino == inode
    container_mounts(p, c, {}, work / "pod", pod_ips=["10.0.0.2"])
    assert hosts.read_text().endswith("10.0.0.2\tweb-0\n")
