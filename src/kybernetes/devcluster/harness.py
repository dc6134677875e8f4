"""Build, run and remove a multi-node cluster on one machine (`kyb dev cluster`, test fixtures).

Order of start (each step needs the one before):
1. remove whatever an earlier run with the same config left (namespaces, veths, bridge, processes);
2. the host bridge with the host's address, so the API server certificate names that address;
3. per node: network namespace, veth, address, default route, forwarding;
4. `kyb server` (control plane + DNS on the bridge address, no local node);
5. per node: `kyb agent` inside its namespace (`nsenter --net`) with a kubeconfig that points
   at the bridge address; then wait until every Node is Ready.
Stop is the reverse and never raises: agents by PID (SIGTERM, then SIGKILL), `kyb node-reset` in
each namespace (containers, containerd, mounts, CNI bridge, nftables, cgroups), the server, the
namespaces, the veths, the bridge.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from kybernetes.devcluster.plan import (
    DevClusterConfig,
    NodePlan,
    agent_command,
    host_commands,
    node_commands,
    node_kubeconfig,
    plan_nodes,
    reset_command,
    server_command,
    server_env,
    server_url,
    token_command,
)
from kybernetes.testing.cluster import KybServer, free_port


class DevClusterError(RuntimeError):
    pass


def _run(cmd: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise DevClusterError(f"{' '.join(cmd)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it if the harness dies (survives nsenter's exec)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _pids_with(needle: str) -> list[int]:
    """Processes whose command line holds `needle` (a data-dir path only this cluster uses)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in cmd:
            out.append(int(entry))
    return out


def _terminate(procs: list[subprocess.Popen[bytes]], timeout: float) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


class DevCluster:
    def __init__(self, cfg: DevClusterConfig, *, log: Any = None) -> None:
        self.cfg = cfg
        self.nodes: list[NodePlan] = plan_nodes(cfg)
        self.server = KybServer(cfg.data_dir / "server", port=cfg.port)
        self.agents: dict[str, subprocess.Popen[bytes]] = {}
        self.token = ""
        self._log = log or (lambda _msg: None)

    @property
    def kubeconfig(self) -> Path:
        return self.server.kubeconfig

    @property
    def node_kubeconfig_path(self) -> Path:
        return self.cfg.data_dir / "node-kubeconfig"

    # --- start --------------------------------------------------------------------------------------
    def start(self, *, ready_timeout: float = 180.0) -> None:
        self.cleanup()
        self.cfg.data_dir.mkdir(parents=True, exist_ok=True)
        for cmd in host_commands(self.cfg):
            _run(cmd)
        for node in self.nodes:
            for cmd in node_commands(self.cfg, node):
                _run(cmd)
        self._log(f"network: bridge {self.cfg.host_bridge}, namespaces "
                  + ", ".join(f"{n.netns} ({n.address})" for n in self.nodes))
        self._start_server()
        if self.cfg.join:
            self.token = _run(token_command(self.cfg)).stdout.split()[0]
        else:
            admin = yaml.safe_load(self.kubeconfig.read_text())
            self.node_kubeconfig_path.write_text(yaml.safe_dump(node_kubeconfig(admin, server_url(self.cfg))))
            self.node_kubeconfig_path.chmod(0o600)
        for node in self.nodes:
            self.start_agent(node)
        self.wait_nodes_ready(self.nodes, timeout=ready_timeout)

    def _start_server(self) -> None:
        s = self.server
        s.data_dir.mkdir(parents=True, exist_ok=True)
        s.log_path = s.data_dir / "server.log"
        env = {**os.environ, **server_env(self.cfg, dns_http_port=free_port()), "PYTHONUNBUFFERED": "1"}
        with open(s.log_path, "ab") as log:
            s.proc = subprocess.Popen(server_command(self.cfg), stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True, env=env, preexec_fn=_die_with_parent)
        s.wait_ready(60)
        self._log(f"server: https://127.0.0.1:{self.cfg.port} (nodes use {server_url(self.cfg)})")

    def start_agent(self, node: NodePlan) -> None:
        node.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = agent_command(self.cfg, node, tls_dir=self.server.data_dir / "tls", token=self.token,
                            kubeconfig=None if self.token else self.node_kubeconfig_path)
        with open(node.data_dir / "agent.log", "ab") as log:
            self.agents[node.name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                                      start_new_session=True, preexec_fn=_die_with_parent,
                                                      env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def stop_agent(self, node: NodePlan, timeout: float = 20.0) -> None:
        proc = self.agents.pop(node.name, None)
        if proc is not None:
            _terminate([proc], timeout)

    def node_conditions(self) -> dict[str, bool]:
        out = self.server.kubectl("get", "nodes", "-o", "json", check=False)
        if out.returncode != 0:
            return {}
        ready = {}
        for item in json.loads(out.stdout)["items"]:
            ready[item["metadata"]["name"]] = any(c["type"] == "Ready" and c["status"] == "True"
                                                  for c in item.get("status", {}).get("conditions", []))
        return ready

    def wait_nodes_ready(self, nodes: list[NodePlan], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        names = {n.name for n in nodes}
        while time.monotonic() < deadline:
            for node in nodes:
                proc = self.agents.get(node.name)
                if proc is not None and proc.poll() is not None:
                    raise DevClusterError(f"the agent of {node.name} exited with {proc.returncode}; "
                                          f"see {node.data_dir / 'agent.log'}")
            ready = self.node_conditions()
            if all(ready.get(n) for n in names):
                self._log(f"nodes Ready: {', '.join(sorted(names))}")
                return
            time.sleep(1)
        raise DevClusterError(f"nodes not Ready after {timeout:.0f}s: {self.node_conditions()}")

    # --- stop ---------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Everything this cluster made goes; safe to call twice and after a failed start."""
        _terminate(list(self.agents.values()), 20)
        self.agents.clear()
        self.cleanup()

    def cleanup(self) -> None:
        cfg = self.cfg
        # processes of an earlier run (its agents carry this cluster's data dir on their command line)
        stale = [p for n in self.nodes for p in _pids_with(f"--data-dir {n.data_dir} ")]
        for pid in stale:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for node in self.nodes:
            if Path(node.netns_path).exists():
                reset = subprocess.run(reset_command(cfg, node), capture_output=True, text=True, check=False)
                if reset.returncode != 0:
                    self._log(f"node-reset {node.name}: {reset.stderr.strip()[-500:]}")
        if self.server.proc is not None:
            self.server.stop(timeout=15)
        for pid in _pids_with(f"--data-dir {cfg.data_dir / 'server'} "):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for node in self.nodes:
            if Path(node.netns_path).exists():
                _run(["ip", "netns", "del", node.netns], check=False)
            if Path(f"/sys/class/net/{node.veth_host}").exists():
                _run(["ip", "link", "del", node.veth_host], check=False)
        if Path(f"/sys/class/net/{cfg.host_bridge}").exists():
            _run(["ip", "link", "del", cfg.host_bridge], check=False)

    def leftovers(self) -> list[str]:
        """What of this cluster still exists on the machine (empty after a clean stop)."""
        cfg = self.cfg
        found = [f"network namespace {n.netns}" for n in self.nodes if Path(n.netns_path).exists()]
        found += [f"interface {name}" for name in [cfg.host_bridge, *(n.veth_host for n in self.nodes)]
                  if Path(f"/sys/class/net/{name}").exists()]
        found += [f"process {pid}" for n in self.nodes for pid in _pids_with(f" {n.data_dir}")]
        found += [f"cgroup {d}" for n in self.nodes for d in Path("/sys/fs/cgroup").glob(f"*/{n.cgroup_parent}")]
        mountinfo = Path("/proc/self/mountinfo").read_text()
        found += [f"mount {line.split()[4]}" for line in mountinfo.splitlines()
                  if len(line.split()) > 4 and line.split()[4].startswith(f"{cfg.data_dir}/")]
        return found

    def remove_data(self) -> None:
        shutil.rmtree(self.cfg.data_dir, ignore_errors=True)


@contextlib.contextmanager
def dev_cluster(cfg: DevClusterConfig, *, keep_data: bool = False, log: Any = None) -> Iterator[DevCluster]:
    cluster = DevCluster(cfg, log=log)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        if not keep_data:
            cluster.remove_data()
