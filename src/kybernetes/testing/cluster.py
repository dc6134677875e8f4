"""Run a real `kyb server` as a subprocess for tests and benchmarks, and drive it with kubectl."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_kubectl(version: str = "") -> str:
    """The kubectl binary: /usr/bin/kubectl (or PATH), or a versioned one from the Cloud SDK."""
    if version:
        path = f"/usr/lib/google-cloud-sdk/bin/kubectl.{version}"
        if os.path.exists(path):
            return path
        raise FileNotFoundError(path)
    found = shutil.which("kubectl")
    if not found:
        raise FileNotFoundError("kubectl")
    return found


@dataclass
class KybServer:
    data_dir: Path
    port: int = 0
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    # Run the local node (kubelet on containerd)? Off by default: most tests need only the API
    # (and simulated nodes); tests of real pods ask for it.
    node: bool = False
    # With a node: the pod range and bridge name (tests running side by side must not share them).
    cluster_cidr: str = ""
    bridge: str = ""
    # Extra environment for the server process (e.g. KYB_SIM_NODES for simulated nodes).
    env: dict[str, str] = field(default_factory=dict)

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        if not self.port:
            self.port = free_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / "server.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child for its lifetime
        cmd = [sys.executable, "-m", "kybernetes.cli.main", "server", "--data-dir", str(self.data_dir),
               "--port", str(self.port), "--bind-address", "127.0.0.1", *self.extra_args]
        if not self.node:
            # API-only tests need neither a node nor DNS (which would bind the host's port 53), nor
            # the ingress controller (ports 80/443) unless they give it ports.
            cmd += ["--disable", "kubelet,dns" + ("" if "KYB_INGRESS_HTTP" in self.env else ",ingress")
                    + ("" if "KYB_DASHBOARD_LISTEN" in self.env else ",dashboard")]
        env = {**os.environ, **self.env}
        if self.node:
            env.setdefault("KYB_KUBELET_PORT", str(free_port()))
            # each test cluster's DNS on its own port of the host address (pods reach it through
            # the kube-dns Service; the host's port 53 may belong to someone else)
            from kybernetes.util.listen import primary_address

            env.setdefault("KYB_DNS_LISTEN", f"{primary_address()}:{free_port()}")
            env.setdefault("KYB_DNS_HTTP", f"127.0.0.1:{free_port()}")
            env.setdefault("KYB_INGRESS_HTTP", f"127.0.0.1:{free_port()}")
            env.setdefault("KYB_INGRESS_HTTPS", f"127.0.0.1:{free_port()}")
            env.setdefault("KYB_DASHBOARD_LISTEN", f"127.0.0.1:{free_port()}")
            if self.bridge:
                env["KYB_NODE_BRIDGE"] = self.bridge
        if self.cluster_cidr:
            cmd += ["--cluster-cidr", self.cluster_cidr]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        log.close()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 30.0) -> None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"kyb server exited with {self.proc.returncode}: {self.logs()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", context=ctx, timeout=1) as r:
                    if r.status == 200 and self.kubeconfig.exists():
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"kyb server not ready after {timeout}s: {self.logs()[-3000:]}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def kubectl(self, *args: str, version: str = "", input: str | None = None, check: bool = True,
                env: dict[str, str] | None = None, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        binary = find_kubectl(version)
        full_env = dict(os.environ)
        full_env["KUBECONFIG"] = str(self.kubeconfig)
        full_env["HOME"] = str(self.data_dir / "home")
        full_env.pop("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", None)
        if env:
            full_env.update(env)
        proc = subprocess.run([binary, *args], input=input, capture_output=True, text=True, env=full_env,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
        return proc


def admin_ssl_context(kubeconfig: Path) -> ssl.SSLContext:
    """A client TLS context with the kubeconfig's CA and client certificate (for raw HTTP tests)."""
    import base64
    import tempfile

    import yaml

    cfg = yaml.safe_load(kubeconfig.read_text())
    cluster = cfg["clusters"][0]["cluster"]
    user = cfg["users"][0]["user"]
    ctx = ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
    with tempfile.TemporaryDirectory() as d:
        cert = Path(d) / "c.pem"
        key = Path(d) / "k.pem"
        cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
        key.write_bytes(base64.b64decode(user["client-key-data"]))
        ctx.load_cert_chain(str(cert), str(key))
    return ctx


def sim_cluster(data_dir: Path, port: int, nodes: int = 3) -> Iterator[KybServer]:
    """A server with `nodes` simulated nodes inside it, for a module fixture (`yield from`)."""
    server = KybServer(data_dir, port=port, env={"KYB_SIM_NODES": str(nodes)})
    try:
        server.start()
        yield server
    finally:
        server.stop()
