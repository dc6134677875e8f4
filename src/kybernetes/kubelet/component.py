"""The local node inside `kyb server`: the node agent as a supervised child process.

The agent runs in its own process (`kyb agent`) so that pod work never competes with the API
server for one interpreter, and so that it can be restarted on its own: running containers
survive an agent restart. When the machine cannot run a node (not root, no containerd, ...),
the control plane still starts and this says plainly why the node did not and how to fix it.
`kyb server --disable kubelet` leaves it out.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
from pathlib import Path

from kybernetes.kubelet.containerd import check_node_prerequisites

log = logging.getLogger("kyb.node")


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it if `kyb server` dies, even by SIGKILL (Linux prctl)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def agent_command(kubeconfig: Path) -> list[str]:
    data_dir = kubeconfig.parent
    tls = data_dir / "tls"
    cmd = [sys.executable, "-m", "kybernetes.cli.main", "agent", "--kubeconfig", str(kubeconfig),
           "--data-dir", str(data_dir / "node"), "--ca-cert", str(tls / "ca.crt"), "--ca-key", str(tls / "ca.key")]
    for env, flag in (("KYB_CLUSTER_CIDR", "--cluster-cidr"), ("KYB_NODE_BRIDGE", "--bridge"),
                      ("KYB_NETWORK_BACKEND", "--network-backend")):
        if os.environ.get(env, "").strip():
            cmd += [flag, os.environ[env].strip()]
    port = os.environ.get("KYB_KUBELET_PORT", "").strip()
    if port:  # several clusters on one machine (tests) each need their own kubelet port
        cmd += ["--kubelet-port", port]
    registries = data_dir / "registries.yaml"
    if registries.exists():
        cmd += ["--registries", str(registries)]
    return cmd


async def run(kubeconfig: Path) -> None:
    problems = check_node_prerequisites()
    if problems:
        print("kyb server: the local node is not started (the control plane runs without it):", flush=True)
        for p in problems:
            print(f"  - {p}", flush=True)
        return
    backoff = 1.0
    while True:
        proc = await asyncio.create_subprocess_exec(*agent_command(kubeconfig), start_new_session=True, preexec_fn=_die_with_parent,
                                                    env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            code = await proc.wait()
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 15)
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
            raise
        if code == 3:  # the agent decided the node cannot run here; it said why
            return
        log.warning("node agent exited with %s; restarting in %.0f s", code, backoff)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, 30.0)
