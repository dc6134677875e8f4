"""A machine that cannot run a node still gets a control plane, and is told why and how to fix it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kybernetes.testing.cluster import KybServer

pytestmark = pytest.mark.e2e


def test_server_without_containerd_serves_and_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A PATH without containerd (the Python interpreter is found by absolute path).
    bare = tmp_path / "bin"
    bare.mkdir()
    original = os.environ.get("PATH", "")
    monkeypatch.setenv("PATH", str(bare))
    server = KybServer(tmp_path / "data", node=True)
    try:
        server.start()
        monkeypatch.setenv("PATH", original)  # kubectl may live in the venv
        assert server.kubectl("get", "namespaces").returncode == 0
        logs = server.logs()
        assert "the local node is not started" in logs
        assert "containerd not found on PATH: apt-get install containerd" in logs
        assert server.kubectl("get", "nodes", "-o", "name").stdout.strip() == ""
    finally:
        server.stop()
