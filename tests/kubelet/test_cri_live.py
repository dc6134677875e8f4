"""CRIClient and ContainerdSupervisor against a real private containerd (root, containerd, runc, CNI).

The test builds its own two images (no registry is reachable): a static ``pause`` and a busybox
from Debian's busybox-static, each a single-layer OCI image-layout tar imported with ``ctr``. It
then walks one pod through its life, SIGKILLs containerd half way (the supervisor restarts it and
the running container must survive), and removes everything it made: sandboxes, shims, mounts,
the ``kybh1`` bridge, cgroups and /tmp/kyb-h1.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import tarfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kybernetes.kubelet.containerd import (
    PAUSE_IMAGE,
    ContainerdSettings,
    ContainerdSupervisor,
    check_node_prerequisites,
)
from kybernetes.kubelet.cri import api_pb2 as pb
from kybernetes.kubelet.cri.client import CRIClient
from kybernetes.kubelet.cri.errors import NotFound

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BASE = Path("/tmp/kyb-h1")
BRIDGE = "kybh1"
POD_CIDR = "10.42.201.0/24"
CGROUP_PARENT = "/kyb-h1"
BUSYBOX_IMAGE = "kyb.test/busybox:h1"
BUSYBOX_APPLETS = ("sh", "sleep", "echo", "cat", "ls", "true", "false", "kill")

PAUSE_C = r"""
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
static void stop(int sig) { (void)sig; _exit(0); }
static void reap(int sig) { (void)sig; while (waitpid(-1, 0, WNOHANG) > 0) {} }
int main(void) {
    signal(SIGTERM, stop);
    signal(SIGINT, stop);
    signal(SIGCHLD, reap);
    for (;;) pause();
}
"""


# ---- a tiny OCI image builder (test fixture only) ----

def _tar_add(tar: tarfile.TarFile, name: str, data: bytes | None = None, *, mode: int = 0o755,
             link: str | None = None) -> None:
    info = tarfile.TarInfo(name)
    info.mtime = 0
    info.mode = mode
    if link is not None:
        info.type, info.linkname = tarfile.SYMTYPE, link
        tar.addfile(info)
    elif data is None:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def write_oci_archive(dest: Path, name: str, files: dict[str, bytes], symlinks: dict[str, str],
                      dirs: list[str], config: dict[str, object]) -> None:
    layer_buf = io.BytesIO()
    with tarfile.open(fileobj=layer_buf, mode="w", format=tarfile.PAX_FORMAT) as layer:
        for d in dirs:
            _tar_add(layer, d)
        for path, data in files.items():
            _tar_add(layer, path, data)
        for path, target in symlinks.items():
            _tar_add(layer, path, link=target, mode=0o777)
    layer_bytes = layer_buf.getvalue()
    layer_digest = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    image_config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": config,
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
    }).encode()
    config_digest = "sha256:" + hashlib.sha256(image_config).hexdigest()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                   "size": len(image_config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest,
                    "size": len(layer_bytes)}],
    }).encode()
    manifest_digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    index = json.dumps({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest,
            "size": len(manifest),
            "annotations": {"io.containerd.image.name": name,
                            "org.opencontainers.image.ref.name": name.rsplit(":", 1)[1]},
        }],
    }).encode()
    with tarfile.open(dest, "w") as out:
        _tar_add(out, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}', mode=0o644)
        _tar_add(out, "index.json", index, mode=0o644)
        for blob in (layer_bytes, image_config, manifest):
            _tar_add(out, "blobs/sha256/" + hashlib.sha256(blob).hexdigest(), blob, mode=0o644)


def build_images(workdir: Path) -> list[Path]:
    workdir.mkdir(parents=True, exist_ok=True)
    src = workdir / "pause.c"
    src.write_text(PAUSE_C)
    subprocess.run(["gcc", "-static", "-Os", "-o", str(workdir / "pause"), str(src)], check=True)
    pause_tar, busybox_tar = workdir / "pause.tar", workdir / "busybox.tar"
    write_oci_archive(pause_tar, PAUSE_IMAGE, {"pause": (workdir / "pause").read_bytes()}, {}, [],
                      {"Entrypoint": ["/pause"]})
    write_oci_archive(
        busybox_tar, BUSYBOX_IMAGE, {"bin/busybox": Path("/usr/bin/busybox").read_bytes()},
        {f"bin/{a}": "busybox" for a in BUSYBOX_APPLETS}, ["bin", "etc", "tmp"],
        {"Env": ["PATH=/bin"], "Cmd": ["sh"]})
    return [pause_tar, busybox_tar]


# ---- cleanup of everything a node leaves behind ----

def _kill_shims(socket_path: str) -> None:
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"containerd-shim-runc-v2") and socket_path.encode() in argv:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)


def _unmount_under(base: Path) -> None:
    prefix = str(base) + "/"
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")
        if point.startswith(prefix):
            mounts.append(point)
    for point in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)


def _remove_cgroups(parent: str) -> None:
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        top = hierarchy / parent.lstrip("/")
        if not top.is_dir():
            continue
        for d in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            d.rmdir()
        top.rmdir()


async def _remove_all_pods(client: CRIClient) -> None:
    for sb in await client.list_pod_sandbox():
        await client.stop_pod_sandbox(sb.id)
        await client.remove_pod_sandbox(sb.id)


@pytest.fixture
async def node() -> AsyncIterator[tuple[ContainerdSupervisor, CRIClient]]:
    problems = check_node_prerequisites()
    assert not problems, "this test needs a node-capable machine:\n" + "\n".join(problems)
    shutil.rmtree(BASE, ignore_errors=True)
    settings = ContainerdSettings(root_dir=BASE / "node", node_name="h1", pod_cidr=POD_CIDR,
                                  bridge=BRIDGE, network_name="kyb-h1")
    sup = ContainerdSupervisor(settings)
    client = CRIClient(sup.socket_path, request_timeout=30)
    try:
        await sup.start()
        print(f"\ncontainerd ready in {sup.last_start_seconds * 1000:.0f} ms" if sup.last_start_seconds else "")
        for archive in build_images(BASE / "images"):
            subprocess.run(["ctr", "-a", sup.socket_path, "-n", "k8s.io", "images", "import", str(archive)],
                           check=True, capture_output=True)
        await client.connect()
        yield sup, client
    finally:
        try:
            if sup.pid is not None:
                await _remove_all_pods(client)
        finally:
            await client.close()
            await sup.stop()
            _kill_shims(sup.socket_path)
            _unmount_under(BASE)
            subprocess.run(["ip", "link", "delete", BRIDGE], check=False, capture_output=True)
            _remove_cgroups(CGROUP_PARENT)
            shutil.rmtree(BASE, ignore_errors=True)


def sandbox_config(log_dir: Path) -> pb.PodSandboxConfig:
    uid = "0f1e2d3c-h1"
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name="talker", uid=uid, namespace="default", attempt=0),
        hostname="talker",
        log_directory=str(log_dir),
        labels={"io.kubernetes.pod.uid": uid},
        annotations={"kyb.test/case": "h1"},
        dns_config=pb.DNSConfig(servers=["10.43.0.10"], searches=["default.svc.cluster.local"],
                                options=["ndots:5"]),
        linux=pb.LinuxPodSandboxConfig(
            cgroup_parent=f"{CGROUP_PARENT}/pod{uid}",
            security_context=pb.LinuxSandboxSecurityContext(
                namespace_options=pb.NamespaceOption(network=pb.POD, pid=pb.CONTAINER, ipc=pb.POD)),
        ),
    )


def container_config(name: str, script: str) -> pb.ContainerConfig:
    return pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name=name, attempt=0),
        image=pb.ImageSpec(image=BUSYBOX_IMAGE),
        command=["sh", "-c"], args=[script],
        envs=[pb.KeyValue(key="GREETING", value="hello-h1")],
        log_path=f"{name}/0.log",
        labels={"io.kubernetes.container.name": name},
        linux=pb.LinuxContainerConfig(
            resources=pb.LinuxContainerResources(cpu_shares=256, memory_limit_in_bytes=64 << 20),
            security_context=pb.LinuxContainerSecurityContext(
                namespace_options=pb.NamespaceOption(network=pb.POD, pid=pb.CONTAINER, ipc=pb.POD)),
        ),
    )


CRI_LOG_LINE = re.compile(r"^(\S+) (stdout|stderr) ([FP]) (.*)$")


async def read_log(path: Path, want_lines: int, timeout: float = 5.0) -> list[tuple[str, str]]:
    deadline = time.monotonic() + timeout
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= want_lines or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    out = []
    for line in lines:
        m = CRI_LOG_LINE.match(line)
        assert m, f"not a CRI log line: {line!r}"
        out.append((m.group(2), m.group(4)))
    return out


async def wait_state(client: CRIClient, cid: str, state: int, timeout: float = 10.0) -> pb.ContainerStatus:
    deadline = time.monotonic() + timeout
    while True:
        st = (await client.container_status(cid)).status
        if st.state == state or time.monotonic() > deadline:
            return st
        await asyncio.sleep(0.05)


async def test_pod_lifecycle_and_containerd_restart(node: tuple[ContainerdSupervisor, CRIClient]) -> None:
    sup, client = node
    timings: dict[str, float] = {}

    version = await client.version()
    assert version.runtime_name == "containerd"
    assert version.runtime_api_version == "v1"
    conditions = {c.type: c.status for c in (await client.status()).status.conditions}
    assert conditions == {"RuntimeReady": True, "NetworkReady": True}

    # Images: both imported ones are visible to CRI; an unknown one is None, not an error.
    tags = {t for img in await client.list_images() for t in img.repo_tags}
    assert {PAUSE_IMAGE, BUSYBOX_IMAGE} <= tags
    busybox = await client.image_status(BUSYBOX_IMAGE)
    assert busybox is not None and busybox.size > 0
    assert await client.image_status("kyb.test/nothing:here") is None
    assert (await client.image_fs_info())[0].fs_id.mountpoint.startswith(str(BASE))

    # Sandbox: gets an address from this node's pod CIDR.
    log_dir = sup.settings.log_dir / "default_talker_0f1e2d3c-h1"
    sb_config = sandbox_config(log_dir)
    t0 = time.monotonic()
    sandbox_id = await client.run_pod_sandbox(sb_config)
    timings["RunPodSandbox"] = time.monotonic() - t0
    sb_status = (await client.pod_sandbox_status(sandbox_id)).status
    assert sb_status.state == pb.SANDBOX_READY
    assert ipaddress.ip_address(sb_status.network.ip) in ipaddress.ip_network(POD_CIDR)
    assert sb_status.annotations["kyb.test/case"] == "h1"
    ready = pb.PodSandboxFilter(state=pb.PodSandboxStateValue(state=pb.SANDBOX_READY))
    assert [s.id for s in await client.list_pod_sandbox(ready)] == [sandbox_id]

    # A container that logs to both streams and then ignores SIGTERM (sleep as PID 1, pitfall 7).
    (log_dir / "talker").mkdir(parents=True, exist_ok=True)   # pitfall 14
    script = 'echo "$GREETING"; echo to-stderr >&2; exec sleep 1000'
    t0 = time.monotonic()
    cid = await client.create_container(sandbox_id, container_config("talker", script), sb_config)
    timings["CreateContainer"] = time.monotonic() - t0
    t0 = time.monotonic()
    await client.start_container(cid)
    timings["StartContainer"] = time.monotonic() - t0

    st = await wait_state(client, cid, pb.CONTAINER_RUNNING)
    assert st.state == pb.CONTAINER_RUNNING
    assert st.started_at > 0 and st.finished_at == 0
    assert st.log_path == str(log_dir / "talker" / "0.log")
    assert st.image_ref.startswith("sha256:")
    lines = await read_log(Path(st.log_path), 2)
    assert sorted(lines) == [("stderr", "to-stderr"), ("stdout", "hello-h1")]

    filt = pb.ContainerFilter(pod_sandbox_id=sandbox_id)
    assert [c.metadata.name for c in await client.list_containers(filt)] == ["talker"]

    code, out, err = await client.exec_sync(cid, ["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=5)
    assert (code, out, err) == (3, b"out\n", b"err\n")
    code, out, _ = await client.exec_sync(cid, ["cat", "/etc/resolv.conf"], timeout=5)
    assert code == 0 and b"nameserver 10.43.0.10" in out

    stats = await client.container_stats(cid)
    assert stats.attributes.id == cid
    assert stats.memory.working_set_bytes.value > 0
    assert cid in {s.attributes.id for s in await client.list_container_stats()}
    pod_stats = {s.attributes.id: s for s in await client.list_pod_sandbox_stats()}
    assert pod_stats[sandbox_id].linux.memory.working_set_bytes.value > 0
    url = await client.exec(pb.ExecRequest(container_id=cid, cmd=["sh"], stdin=True, stdout=True))
    assert url.startswith("http://127.0.0.1:")
    url = await client.port_forward(pb.PortForwardRequest(pod_sandbox_id=sandbox_id, port=[80]))
    assert url.startswith("http://127.0.0.1:")

    await client.update_container_resources(
        cid, pb.LinuxContainerResources(cpu_shares=512, memory_limit_in_bytes=96 << 20))
    # Log rotation: rename the file, then ask the runtime to reopen it at the old path.
    Path(st.log_path).rename(st.log_path + ".1")
    await client.reopen_container_log(cid)
    assert Path(st.log_path).exists()

    # containerd dies hard: the supervisor restarts it; the container keeps running meanwhile.
    old_pid = sup.pid
    assert old_pid is not None
    os.kill(old_pid, signal.SIGKILL)
    t0 = time.monotonic()
    deadline = t0 + 15
    while (sup.restarts < 1 or not sup.running) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    timings["containerd restart"] = time.monotonic() - t0
    assert sup.restarts == 1 and sup.running and sup.pid != old_pid
    st = (await client.container_status(cid)).status   # the old channel reconnects by itself
    assert st.state == pb.CONTAINER_RUNNING
    code, out, _ = await client.exec_sync(cid, ["echo", "still-here"], timeout=5)
    assert (code, out) == (0, b"still-here\n")

    # Stop with a grace period the process ignores: SIGKILL at the deadline, exit 137.
    t0 = time.monotonic()
    await client.stop_container(cid, timeout=2)
    timings["StopContainer(grace 2s)"] = time.monotonic() - t0
    assert timings["StopContainer(grace 2s)"] >= 1.9
    st = (await client.container_status(cid)).status
    assert st.state == pb.CONTAINER_EXITED
    assert st.exit_code == 137 and st.finished_at >= st.started_at

    # A container that exits on its own reports its exit code.
    (log_dir / "quitter").mkdir(exist_ok=True)
    qid = await client.create_container(sandbox_id, container_config("quitter", "exit 7"), sb_config)
    await client.start_container(qid)
    st = await wait_state(client, qid, pb.CONTAINER_EXITED)
    assert (st.state, st.exit_code, st.reason) == (pb.CONTAINER_EXITED, 7, "Error")

    for c in (cid, qid):
        await client.remove_container(c)
    assert await client.list_containers(filt) == []
    with pytest.raises(NotFound):
        await client.container_status(cid)

    t0 = time.monotonic()
    await client.stop_pod_sandbox(sandbox_id)
    timings["StopPodSandbox"] = time.monotonic() - t0
    await client.remove_pod_sandbox(sandbox_id)
    assert await client.list_pod_sandbox() == []

    print("\n" + "\n".join(f"  {k}: {v * 1000:.0f} ms" for k, v in timings.items()))
