"""kubectl logs/exec/attach/cp/port-forward end to end: real kubectl → `kyb server` → KubeletServer →
a real private containerd's streaming server → a busybox container.

The test plays the node agent: it starts containerd (``ContainerdSupervisor``), imports the
project's pause and busybox images, runs one pod's sandbox and containers through CRI, and serves
them with ``KubeletServer`` over a small ``StreamingRuntime`` built on ``CRIClient``. The API
server gets a Node pointing at that kubelet (127.0.0.1:17511) and the Pod bound to it, marked
Running. kubectl 1.32 speaks WebSocket (v5 channels; SPDY tunnelled in WebSocket for
port-forward), kubectl 1.27 SPDY/3.1 (v4). Everything started is stopped by PID, and the bridge,
mounts, cgroups and /tmp/kyb-h5 are removed.

Resources: API port 17510, kubelet 17511, local port-forward ports 17520-17529, bridge kybh5,
pod subnet 10.42.205.0/24.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest

from kybernetes.images.testimages import BUSYBOX_IMAGE, ensure_test_images
from kybernetes.kubelet.containerd import ContainerdSettings, ContainerdSupervisor, check_node_prerequisites
from kybernetes.kubelet.cri import api_pb2 as pb
from kybernetes.kubelet.cri.client import CRIClient
from kybernetes.kubelet.server import ContainerRef, KubeletServer, NotFound
from kybernetes.testing.cluster import KybServer, find_kubectl
from kybernetes.util import pki

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BASE = Path("/tmp/kyb-h5")
BRIDGE = "kybh5"
POD_CIDR = "10.42.205.0/24"
CGROUP_PARENT = "/kyb-h5"
API_PORT = 17510
KUBELET_PORT = 17511
NODE = "h5node"
NS = "default"
POD = "streamer"
POD_UID = "5e1f0000-h5"

T = TypeVar("T")

SCRIPTS = {
    "main": "mkdir -p /www && echo hello-from-httpd > /www/index.html && echo main-started "
            "&& echo main-second && echo main-third && exec httpd -f -p 8080 -h /www",
    "logger": "sleep 2; for i in 1 2 3 4 5; do echo log-$i; sleep 0.3; done",
    "attacher": "read line; echo got-$line",
}


class LoopThread:
    """An event loop in a thread: the kubelet side runs there while the test calls kubectl."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="kubelet-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass
class Running:
    container_id: str
    log_path: str
    running: bool = True


@dataclass
class CRIRuntime:
    """The test's StreamingRuntime: one pod, its containers by name, states refreshed from CRI."""

    client: CRIClient
    sandbox_id: str = ""
    containers: dict[str, Running] = field(default_factory=dict)
    _poller: asyncio.Task[None] | None = None

    def resolve_container(self, namespace: str, pod: str, container: str) -> ContainerRef:
        entry = self.containers.get(container) if (namespace, pod) == (NS, POD) else None
        if entry is None:
            raise NotFound(f'container "{container}" in pod "{pod}" is not available')
        return ContainerRef(entry.container_id, entry.log_path, None, entry.running)

    async def exec_url(self, container_id: str, cmd: Sequence[str], stdin: bool, stdout: bool,
                       stderr: bool, tty: bool) -> str:
        return await self.client.exec(pb.ExecRequest(container_id=container_id, cmd=list(cmd), tty=tty,
                                                     stdin=stdin, stdout=stdout, stderr=stderr))

    async def attach_url(self, container_id: str, stdin: bool, stdout: bool, stderr: bool, tty: bool) -> str:
        return await self.client.attach(pb.AttachRequest(container_id=container_id, stdin=stdin, tty=tty,
                                                         stdout=stdout, stderr=stderr))

    async def port_forward_url(self, pod_sandbox_id: str, ports: Sequence[int]) -> str:
        return await self.client.port_forward(pb.PortForwardRequest(pod_sandbox_id=pod_sandbox_id, port=list(ports)))

    def pod_sandbox_id(self, namespace: str, pod: str) -> str:
        if (namespace, pod) != (NS, POD) or not self.sandbox_id:
            raise NotFound(f'pod "{pod}" not found')
        return self.sandbox_id

    async def stats_summary(self) -> dict[str, Any]:
        return {"node": {"nodeName": NODE}, "pods": []}

    def pods(self) -> list[dict[str, Any]]:
        return [{"metadata": {"name": POD, "namespace": NS, "uid": POD_UID}}]

    async def poll(self) -> None:
        while True:
            for entry in list(self.containers.values()):
                with contextlib.suppress(Exception):
                    st = (await self.client.container_status(entry.container_id)).status
                    entry.running = st.state == pb.CONTAINER_RUNNING
            await asyncio.sleep(0.1)


def sandbox_config(log_dir: Path) -> pb.PodSandboxConfig:
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=POD, uid=POD_UID, namespace=NS, attempt=0),
        hostname=POD, log_directory=str(log_dir),
        linux=pb.LinuxPodSandboxConfig(
            cgroup_parent=f"{CGROUP_PARENT}/pod{POD_UID}",
            security_context=pb.LinuxSandboxSecurityContext(
                namespace_options=pb.NamespaceOption(network=pb.POD, pid=pb.CONTAINER, ipc=pb.POD))))


def container_config(name: str, attempt: int) -> pb.ContainerConfig:
    stdin = name == "attacher"
    return pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name=name, attempt=attempt), image=pb.ImageSpec(image=BUSYBOX_IMAGE),
        command=["sh", "-c"], args=[SCRIPTS[name]], log_path=f"{name}/{attempt}.log",
        stdin=stdin, stdin_once=stdin,
        linux=pb.LinuxContainerConfig(security_context=pb.LinuxContainerSecurityContext(
            namespace_options=pb.NamespaceOption(network=pb.POD, pid=pb.CONTAINER, ipc=pb.POD))))


@dataclass
class Node:
    loop: LoopThread
    runtime: CRIRuntime
    sandbox: pb.PodSandboxConfig
    log_dir: Path
    attempts: dict[str, int] = field(default_factory=dict)

    def start_container(self, name: str) -> str:
        attempt = self.attempts.get(name, -1) + 1
        self.attempts[name] = attempt
        (self.log_dir / name).mkdir(parents=True, exist_ok=True)

        async def go() -> str:
            c = self.runtime.client
            cid = await c.create_container(self.runtime.sandbox_id, container_config(name, attempt), self.sandbox)
            await c.start_container(cid)
            return cid

        cid = self.loop.run(go())
        self.runtime.containers[name] = Running(cid, str(self.log_dir / name / f"{attempt}.log"))
        return cid


# ---- cleanup of everything the node leaves behind -------------------------------------------------------


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
    points = [line.split()[4].encode().decode("unicode_escape")
              for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)


def _remove_cgroups(parent: str) -> None:
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        top = hierarchy / parent.lstrip("/")
        if not top.is_dir():
            continue
        for d in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                d.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()


async def _remove_all_pods(client: CRIClient) -> None:
    for sb in await client.list_pod_sandbox():
        for c in await client.list_containers(pb.ContainerFilter(pod_sandbox_id=sb.id)):
            with contextlib.suppress(Exception):
                await client.stop_container(c.id, 0)
        await client.stop_pod_sandbox(sb.id)
        await client.remove_pod_sandbox(sb.id)


# ---- fixtures -------------------------------------------------------------------------------------------------


def kubectl(kyb: KybServer, *args: str, version: str = "", input: str | None = None, check: bool = True,
            env: dict[str, str] | None = None, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return kyb.kubectl(*args, version=version, input=input, check=check, env=env, timeout=timeout)


def apply(kyb: KybServer, obj: dict[str, Any]) -> None:
    kubectl(kyb, "apply", "-f", "-", input=orjson.dumps(obj).decode())


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[KybServer, Node]]:
    problems = check_node_prerequisites()
    assert not problems, "this test needs a node-capable machine:\n" + "\n".join(problems)
    assert os.path.exists(find_kubectl("1.27")), "kubectl 1.27 (Cloud SDK) is needed for the SPDY path"
    shutil.rmtree(BASE, ignore_errors=True)
    loop = LoopThread()
    settings = ContainerdSettings(root_dir=BASE / "node", node_name="h5", pod_cidr=POD_CIDR, bridge=BRIDGE,
                                  network_name="kyb-h5")
    sup = ContainerdSupervisor(settings)
    client = CRIClient(sup.socket_path, request_timeout=30)
    runtime = CRIRuntime(client)
    kyb = KybServer(BASE / "api", port=API_PORT, extra_args=["--disable", "kubelet,controllers,scheduler"])
    kubelet: KubeletServer | None = None
    try:
        loop.run(sup.start())
        for archive in sorted(set(ensure_test_images(BASE / "images").values())):
            subprocess.run(["ctr", "-a", sup.socket_path, "-n", "k8s.io", "images", "import", str(archive)],
                           check=True, capture_output=True)
        loop.run(client.connect())
        log_dir = settings.log_dir / f"{NS}_{POD}_{POD_UID}"
        sandbox = sandbox_config(log_dir)
        runtime.sandbox_id = loop.run(client.run_pod_sandbox(sandbox))
        node = Node(loop, runtime, sandbox, log_dir)
        node.start_container("main")

        async def start_poller() -> None:
            runtime._poller = asyncio.create_task(runtime.poll())

        loop.run(start_poller())

        kyb.start()
        tls = kyb.data_dir / "tls"
        ca = pki.CertificateAuthority.load(tls / "ca.crt", tls / "ca.key")
        cert_pem, key_pem = pki.issue_serving_cert(ca, common_name=NODE, dns_names=["localhost"],
                                                   ip_addresses=["127.0.0.1"])
        (BASE / "kubelet.crt").write_bytes(cert_pem)
        (BASE / "kubelet.key").write_bytes(key_pem)
        kubelet = KubeletServer(runtime, host="127.0.0.1", port=KUBELET_PORT, tls_cert=BASE / "kubelet.crt",
                                tls_key=BASE / "kubelet.key", client_ca=tls / "ca.crt")
        loop.run(kubelet.start())

        apply(kyb, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE}})
        kubectl(kyb, "patch", "node", NODE, "--subresource=status", "--type=merge", "-p", orjson.dumps({
            "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": KUBELET_PORT}}}}).decode())
        apply(kyb, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": POD, "namespace": NS},
                    "spec": {"nodeName": NODE, "automountServiceAccountToken": False, "containers": [
                        {"name": n, "image": BUSYBOX_IMAGE, "stdin": n == "attacher", "stdinOnce": n == "attacher"}
                        for n in SCRIPTS]}})
        kubectl(kyb, "patch", "pod", POD, "--subresource=status", "--type=merge",
                "-p", '{"status":{"phase":"Running"}}')
        yield kyb, node
    finally:
        try:
            if kubelet is not None:
                loop.run(kubelet.stop())
            if runtime._poller is not None:
                loop.loop.call_soon_threadsafe(runtime._poller.cancel)
            if sup.pid is not None:
                loop.run(_remove_all_pods(client))
        finally:
            kyb.stop()
            with contextlib.suppress(Exception):
                loop.run(client.close())
            with contextlib.suppress(Exception):
                loop.run(sup.stop())
            loop.stop()
            _kill_shims(sup.socket_path)
            _unmount_under(BASE)
            subprocess.run(["ip", "link", "delete", BRIDGE], check=False, capture_output=True)
            _remove_cgroups(CGROUP_PARENT)
            shutil.rmtree(BASE, ignore_errors=True)


SPDY_ONLY = {"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"}
CLIENTS = [pytest.param("", {}, id="1.32-websocket"), pytest.param("", SPDY_ONLY, id="1.32-spdy"),
           pytest.param("1.27", {}, id="1.27-spdy")]


# ---- exec ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "env"), CLIENTS)
def test_exec_output_and_exit_codes(cluster: tuple[KybServer, Node], version: str, env: dict[str, str]) -> None:
    kyb, _ = cluster
    out = kubectl(kyb, "exec", POD, "-c", "main", "--", "echo", "hi", version=version, env=env)
    assert out.stdout == "hi\n"
    both = kubectl(kyb, "exec", POD, "-c", "main", "--", "sh", "-c", "echo out; echo err >&2",
                   version=version, env=env)
    assert (both.stdout, both.stderr) == ("out\n", "err\n")
    failed = kubectl(kyb, "exec", POD, "-c", "main", "--", "sh", "-c", "exit 3", version=version, env=env,
                     check=False)
    assert failed.returncode == 3, failed.stderr
    assert "command terminated with exit code 3" in failed.stderr


@pytest.mark.parametrize(("version", "env"), CLIENTS)
def test_exec_stdin_reaches_eof(cluster: tuple[KybServer, Node], version: str, env: dict[str, str]) -> None:
    kyb, _ = cluster
    text = "".join(f"line {i}\n" for i in range(2000))
    t0 = time.monotonic()
    out = kubectl(kyb, "exec", "-i", POD, "-c", "main", "--", "cat", input=text, version=version, env=env,
                  timeout=30)
    assert out.stdout == text
    assert time.monotonic() - t0 < 10  # cat saw EOF: no hang until a timeout
    counted = kubectl(kyb, "exec", "-i", POD, "-c", "main", "--", "wc", "-c", input=text, version=version,
                      env=env)
    assert counted.stdout.strip() == str(len(text))


def test_default_container_and_unknown_container(cluster: tuple[KybServer, Node]) -> None:
    kyb, _ = cluster
    out = kubectl(kyb, "exec", POD, "--", "echo", "defaulted")
    assert out.stdout == "defaulted\n"  # kubectl picks the first container and says so
    bad = kubectl(kyb, "exec", POD, "-c", "nosuch", "--", "true", check=False)
    assert bad.returncode != 0
    assert "container nosuch is not valid for pod streamer" in bad.stderr


@pytest.mark.parametrize("version", ["", "1.27"], ids=["1.32", "1.27"])
def test_cp_both_ways(cluster: tuple[KybServer, Node], tmp_path: Path, version: str) -> None:
    kyb, _ = cluster
    payload = os.urandom(300_000)
    src = tmp_path / "payload.bin"
    src.write_bytes(payload)
    kubectl(kyb, "cp", str(src), f"{POD}:/tmp/payload-{version or 'new'}.bin", "-c", "main", version=version)
    sums = kubectl(kyb, "exec", POD, "-c", "main", "--", "wc", "-c", f"/tmp/payload-{version or 'new'}.bin")
    assert sums.stdout.split()[0] == str(len(payload))
    back = tmp_path / "back.bin"
    kubectl(kyb, "cp", f"{POD}:/tmp/payload-{version or 'new'}.bin", str(back), "-c", "main", version=version)
    assert back.read_bytes() == payload


# ---- logs ------------------------------------------------------------------------------------------------------


def test_logs_plain_tail_and_timestamps(cluster: tuple[KybServer, Node]) -> None:
    kyb, _ = cluster
    out = kubectl(kyb, "logs", POD, "-c", "main")
    assert out.stdout == "main-started\nmain-second\nmain-third\n"
    assert kubectl(kyb, "logs", POD, "-c", "main", "--tail=2").stdout == "main-second\nmain-third\n"
    stamped = kubectl(kyb, "logs", POD, "-c", "main", "--timestamps", "--tail=1").stdout
    stamp, _, text = stamped.partition(" ")
    assert text == "main-third\n"
    assert len(stamp) == len("2024-01-01T00:00:00.000000000Z") and stamp.endswith("Z")
    assert kubectl(kyb, "logs", POD, "-c", "main", "--limit-bytes=5").stdout == "main-"
    assert kubectl(kyb, "logs", POD, "-c", "main", "--since=1h").stdout.count("\n") == 3


@pytest.mark.parametrize("version", ["", "1.27"], ids=["1.32", "1.27"])
def test_logs_follow_ends_when_the_container_exits(cluster: tuple[KybServer, Node], version: str) -> None:
    kyb, node = cluster
    node.start_container("logger")
    t0 = time.monotonic()
    out = kubectl(kyb, "logs", "-f", POD, "-c", "logger", version=version, timeout=30)
    assert out.stdout == "".join(f"log-{i}\n" for i in range(1, 6))
    assert time.monotonic() - t0 < 15


# ---- attach ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "env"), CLIENTS)
def test_attach_with_stdin(cluster: tuple[KybServer, Node], version: str, env: dict[str, str]) -> None:
    kyb, node = cluster
    node.start_container("attacher")
    deadline = time.monotonic() + 10
    while not node.runtime.containers["attacher"].running and time.monotonic() < deadline:
        time.sleep(0.05)
    out = kubectl(kyb, "attach", "-i", POD, "-c", "attacher", input="hello\n", version=version, env=env,
                  timeout=30)
    assert "got-hello" in out.stdout


# ---- port-forward ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "local"), [("", 17520), ("1.27", 17521)], ids=["1.32-ws-tunnel", "1.27-spdy"])
def test_port_forward_to_httpd(cluster: tuple[KybServer, Node], version: str, local: int) -> None:
    kyb, _ = cluster
    env = dict(os.environ, KUBECONFIG=str(kyb.kubeconfig), HOME=str(kyb.data_dir / "home"))
    with subprocess.Popen([find_kubectl(version), "port-forward", f"pod/{POD}", f"{local}:8080"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as proc:
        try:
            assert proc.stdout is not None and proc.stderr is not None
            line = proc.stdout.readline()
            assert "Forwarding from 127.0.0.1" in line, line
            for _ in range(3):  # three connections: request ids 0, 1, 2 on one session
                with urllib.request.urlopen(f"http://127.0.0.1:{local}/", timeout=10) as r:
                    assert r.read() == b"hello-from-httpd\n"
            assert proc.poll() is None  # still forwarding: the session stays up between connections
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        errors = proc.stderr.read() if proc.stderr is not None else ""
    assert "lost connection" not in errors and "error" not in errors.lower(), errors


@pytest.mark.parametrize(("version", "env"), CLIENTS)
def test_exec_with_a_terminal(cluster: tuple[KybServer, Node], version: str, env: dict[str, str]) -> None:
    """`exec -it` under a pseudo-terminal (script(1)): the TTY and its size reach the container."""
    kyb, _ = cluster
    binary = find_kubectl(version)
    inner = f"stty cols 91 rows 37; {binary} exec -it {POD} -c main -- sh -c 'tty; sleep 1; stty size'"
    full_env = dict(os.environ, KUBECONFIG=str(kyb.kubeconfig), HOME=str(kyb.data_dir / "home"), **env)
    out = subprocess.run(["script", "-qec", inner, "/dev/null"], env=full_env, capture_output=True, text=True,
                         timeout=30, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "/dev/pts/" in out.stdout
    assert "37 91" in out.stdout, out.stdout


@pytest.mark.parametrize("version", ["", "1.27"], ids=["1.32-ws-tunnel", "1.27-spdy"])
def test_port_forward_to_a_closed_port_reports_containerds_error(cluster: tuple[KybServer, Node],
                                                                 version: str) -> None:
    """containerd's dial error travels back on the error stream; kubectl (≥ 1.23) prints it and quits."""
    kyb, _ = cluster
    local = 17522 if version else 17523
    env = dict(os.environ, KUBECONFIG=str(kyb.kubeconfig), HOME=str(kyb.data_dir / "home"))
    with subprocess.Popen([find_kubectl(version), "port-forward", f"pod/{POD}", f"{local}:9"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as proc:
        try:
            assert proc.stdout is not None
            assert "Forwarding from 127.0.0.1" in proc.stdout.readline()
            with pytest.raises(OSError), urllib.request.urlopen(f"http://127.0.0.1:{local}/", timeout=10) as r:
                r.read()
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        errors = proc.stderr.read() if proc.stderr is not None else ""
    assert proc.returncode == 1
    assert f"an error occurred forwarding {local} -> 9: error forwarding port 9 to pod" in errors, errors
    assert "connect: connection refused" in errors
