"""NetworkPolicy test fixtures: the bridged lab needs root, nftables and iproute2, and fails (never
skips) without them, because CI must prove the datapath."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from .netlab import LabPod, NetLab

POD_A_WEB = LabPod("prod", "web", "10.51.0.11", {"app": "web"}, (("http", 80, "TCP"),))
POD_A_DB = LabPod("prod", "db", "10.51.0.12", {"app": "db"}, (("pg", 8082, "TCP"),))
POD_A_CLI = LabPod("prod", "cli", "10.51.0.13", {"app": "client"})
POD_B_WEB = LabPod("dev", "web", "10.51.0.21", {"app": "web"}, (("http", 8080, "TCP"),))
POD_B_CLI = LabPod("dev", "cli", "10.51.0.22", {"app": "client"})
POD_DNS = LabPod("infra", "dns", "10.51.0.31", {"app": "dns"}, (("dns", 53, "UDP"),))
LAB_PODS = [POD_A_WEB, POD_A_DB, POD_A_CLI, POD_B_WEB, POD_B_CLI, POD_DNS]
NAMESPACES = [
    {"metadata": {"name": "prod", "labels": {"env": "prod", "team": "a"}}},
    {"metadata": {"name": "dev", "labels": {"env": "dev", "team": "a"}}},
    {"metadata": {"name": "infra", "labels": {"env": "infra"}}},
]


def require_tools() -> None:
    missing = [t for t in ("nft", "ip", "nsenter", "sysctl") if shutil.which(t) is None]
    if missing or os.geteuid() != 0:
        pytest.fail(f"netpol datapath tests need root and {', '.join(missing) or 'nothing else'} "
                    "(apt-get install nftables iproute2)")


@pytest.fixture(scope="module")
def lab() -> Iterator[NetLab]:
    require_tools()
    lab = NetLab(LAB_PODS)
    lab.up()
    try:
        yield lab
    finally:
        lab.down()
