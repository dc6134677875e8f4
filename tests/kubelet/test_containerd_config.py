"""The per-node containerd config and CNI conflist: every setting the node depends on, per node."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from kybernetes.kubelet.containerd import (
    PAUSE_IMAGE,
    ContainerdSettings,
    _kernel_problems,
    containerd_command,
    render_cni_conflist,
    render_config,
)

CRI = "io.containerd.grpc.v1.cri"


def settings(**kw: Any) -> ContainerdSettings:
    base: dict[str, Any] = {"root_dir": Path("/var/lib/kyb/node-a"), "node_name": "node-a",
                            "pod_cidr": "10.42.7.0/24"}
    return ContainerdSettings(**(base | kw))


def config(s: ContainerdSettings) -> dict[str, Any]:
    return tomllib.loads(render_config(s))


def dig(d: dict[str, Any], *path: str) -> Any:
    for p in path:
        d = d[p]
    return d


CONFIG_CASES = [
    ("version-2", ("version",), 2),
    ("root-under-node-dir", ("root",), "/var/lib/kyb/node-a/containerd/root"),
    ("state-under-node-dir", ("state",), "/var/lib/kyb/node-a/containerd/state"),
    ("grpc-socket", ("grpc", "address"), "/var/lib/kyb/node-a/containerd/containerd.sock"),
    ("ttrpc-socket", ("ttrpc", "address"), "/var/lib/kyb/node-a/containerd/containerd.sock.ttrpc"),
    ("opt-dir-per-node", ("plugins", "io.containerd.internal.v1.opt", "path"), "/var/lib/kyb/node-a/containerd/opt"),
    ("restrict-oom-score-adj", ("plugins", CRI, "restrict_oom_score_adj"), True),
    ("sandbox-image", ("plugins", CRI, "sandbox_image"), PAUSE_IMAGE),
    ("stream-address", ("plugins", CRI, "stream_server_address"), "127.0.0.1"),
    ("stream-port-random", ("plugins", CRI, "stream_server_port"), "0"),
    ("no-apparmor", ("plugins", CRI, "disable_apparmor"), True),
    ("no-selinux", ("plugins", CRI, "enable_selinux"), False),
    ("netns-under-state", ("plugins", CRI, "netns_mounts_under_state_dir"), True),
    ("overlayfs", ("plugins", CRI, "containerd", "snapshotter"), "overlayfs"),
    ("default-runtime", ("plugins", CRI, "containerd", "default_runtime_name"), "runc"),
    ("runc-v2", ("plugins", CRI, "containerd", "runtimes", "runc", "runtime_type"), "io.containerd.runc.v2"),
    ("runc-binary", ("plugins", CRI, "containerd", "runtimes", "runc", "options", "BinaryName"), "/usr/sbin/runc"),
    ("cgroupfs-driver", ("plugins", CRI, "containerd", "runtimes", "runc", "options", "SystemdCgroup"), False),
    ("runc-root-per-node", ("plugins", CRI, "containerd", "runtimes", "runc", "options", "Root"),
     "/var/lib/kyb/node-a/containerd/runc"),
    ("cni-bin", ("plugins", CRI, "cni", "bin_dir"), "/usr/lib/cni"),
    ("cni-conf-per-node", ("plugins", CRI, "cni", "conf_dir"), "/var/lib/kyb/node-a/cni/net.d"),
    ("one-cni-conf", ("plugins", CRI, "cni", "max_conf_num"), 1),
    ("no-registry-dir", ("plugins", CRI, "registry", "config_path"), ""),
]


@pytest.mark.parametrize(("path", "want"), [c[1:] for c in CONFIG_CASES], ids=[c[0] for c in CONFIG_CASES])
def test_config_setting(path: tuple[str, ...], want: Any) -> None:
    assert dig(config(settings()), *path) == want


OVERRIDE_CASES = [
    ("stream-on-node-ip", {"stream_address": "10.99.0.2"}, ("plugins", CRI, "stream_server_address"), "10.99.0.2"),
    ("registry-hosts-dir", {"registry_config_dir": Path("/etc/kyb/certs.d")},
     ("plugins", CRI, "registry", "config_path"), "/etc/kyb/certs.d"),
    ("own-pause-image", {"pause_image": "kyb.local/pause:1"}, ("plugins", CRI, "sandbox_image"), "kyb.local/pause:1"),
    ("quoted-path", {"root_dir": Path('/tmp/we"ird')}, ("root",), '/tmp/we"ird/containerd/root'),
]


@pytest.mark.parametrize(("kw", "path", "want"), [c[1:] for c in OVERRIDE_CASES], ids=[c[0] for c in OVERRIDE_CASES])
def test_config_follows_settings(kw: dict[str, Any], path: tuple[str, ...], want: Any) -> None:
    assert dig(config(settings(**kw)), *path) == want


def test_unused_plugins_are_disabled() -> None:
    disabled = config(settings())["disabled_plugins"]
    assert "io.containerd.snapshotter.v1.btrfs" in disabled
    assert "io.containerd.snapshotter.v1.overlayfs" not in disabled
    assert not any("cri" in p for p in disabled)


def test_two_nodes_share_no_path() -> None:
    a = settings()
    b = settings(root_dir=Path("/var/lib/kyb/node-b"), node_name="node-b", pod_cidr="10.42.8.0/24")
    props = ["config_path", "containerd_root", "state_dir", "socket_path", "ttrpc_socket_path", "runc_root",
             "opt_dir", "containerd_log", "cni_conf_dir", "cni_conflist_path", "cni_ipam_dir", "log_dir"]
    for p in props:
        assert getattr(a, p) != getattr(b, p), p
        assert str(getattr(a, p)).startswith("/var/lib/kyb/node-a/"), p


def test_socket_path_fits_sun_path() -> None:
    # sockaddr_un holds 108 bytes; deep data dirs would make containerd fail to listen.
    assert len(str(settings(root_dir=Path("/tmp/kyb-h1/node")).socket_path)) < 100


def test_conflist_bridge() -> None:
    s = settings(bridge="kybh1", network_name="kyb-h1", pod_cidr="10.42.201.0/24",
                 root_dir=Path("/tmp/kyb-h1/node"))
    conf = render_cni_conflist(s)
    assert conf["name"] == "kyb-h1"
    bridge, portmap = conf["plugins"]
    assert bridge["type"] == "bridge"
    assert bridge["bridge"] == "kybh1"
    assert bridge["isGateway"] is True
    assert bridge["hairpinMode"] is True
    assert bridge["ipMasq"] is False   # cluster traffic keeps pod IPs; egress NAT is a node rule
    ipam = bridge["ipam"]
    assert ipam["type"] == "host-local"
    assert ipam["ranges"] == [[{"subnet": "10.42.201.0/24"}]]
    assert ipam["dataDir"] == "/tmp/kyb-h1/node/cni/ipam"
    assert {"dst": "0.0.0.0/0"} in ipam["routes"]
    assert portmap == {"type": "portmap", "capabilities": {"portMappings": True}}


COMMAND_CASES = [
    ("host-network", None, ["containerd", "--config", "/var/lib/kyb/node-a/containerd/config.toml"]),
    ("in-netns", "kyb-n2",
     ["nsenter", "--net=/var/run/netns/kyb-n2", "containerd", "--config", "/var/lib/kyb/node-a/containerd/config.toml"]),
]


@pytest.mark.parametrize(("netns", "want"), [c[1:] for c in COMMAND_CASES], ids=[c[0] for c in COMMAND_CASES])
def test_containerd_command(netns: str | None, want: list[str]) -> None:
    assert containerd_command(settings(netns=netns)) == want


CGROUP1 = "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
CGROUP2 = "41 31 0:38 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n"
ROOTFS = "23 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
KERNEL_CASES = [
    ("cgroup-v1", ROOTFS + CGROUP1, "nodev\toverlay\n", []),
    ("cgroup-v2", ROOTFS + CGROUP2, "nodev\toverlay\n", []),
    ("no-cgroups", ROOTFS, "nodev\toverlay\n", ["no cgroup filesystem"]),
    ("no-overlay", ROOTFS + CGROUP2, "nodev\ttmpfs\n", ["overlayfs"]),
]


@pytest.mark.parametrize(("mountinfo", "filesystems", "want"), [c[1:] for c in KERNEL_CASES],
                         ids=[c[0] for c in KERNEL_CASES])
def test_kernel_problems(mountinfo: str, filesystems: str, want: list[str]) -> None:
    got = _kernel_problems(mountinfo, filesystems)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert w in g
