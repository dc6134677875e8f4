"""A private etcd for the storage tests: one per test session, on this suite's own ports
(client 23790, peer 23791), data in a temp dir under /tmp/kyb-etcd*, stopped by its PID.

Tests share it through key prefixes and revision offsets (keyspace.py): each store gets a fresh
prefix and counts revisions from the etcd revision at which it opened, so it looks empty.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from kybernetes.storage.etcd.embedded import MemberConfig, etcd_command

CLIENT_PORT = 23790
PEER_PORT = 23791
_state: dict[str, object] = {}
_prefixes = itertools.count()


def etcd_available() -> bool:
    return shutil.which("etcd") is not None or Path("/usr/bin/etcd").exists()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1) as r:
            return b'"true"' in r.read()
    except OSError:
        return False


def shared_etcd() -> str:
    """The client URL of the session's etcd, started on first use."""
    url = f"http://127.0.0.1:{CLIENT_PORT}"
    if "proc" in _state:
        return url
    directory = Path(tempfile.mkdtemp(prefix="kyb-etcd-storage-", dir="/tmp"))
    config = MemberConfig(
        name="storage-tests",
        data_dir=directory / "data",
        client_url=url,
        peer_url=f"http://127.0.0.1:{PEER_PORT}",
    )
    log = (directory / "etcd.log").open("wb")
    proc = subprocess.Popen(
        etcd_command(config), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    log.close()
    _state.update(proc=proc, dir=directory)
    atexit.register(stop_shared_etcd)
    deadline = time.monotonic() + 30
    while not _healthy(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            text = (directory / "etcd.log").read_text(errors="replace")[-2000:]
            stop_shared_etcd()
            raise RuntimeError(f"test etcd did not start: {text}")
        time.sleep(0.05)
    return url


def stop_shared_etcd() -> None:
    proc = _state.pop("proc", None)
    if isinstance(proc, subprocess.Popen) and proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
    directory = _state.pop("dir", None)
    if isinstance(directory, Path):
        shutil.rmtree(directory, ignore_errors=True)


def fresh_prefix() -> str:
    return f"/t{os.getpid()}-{next(_prefixes)}"
