"""Proxy test fixtures: the network lab needs root, nftables, conntrack and iproute2 — and fails
(never skips) without them, because CI must prove the datapath."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from .netlab import NetLab


def require_tools() -> None:
    missing = [t for t in ("nft", "conntrack", "ip", "nsenter") if shutil.which(t) is None]
    if missing or os.geteuid() != 0:
        pytest.fail(f"proxy datapath tests need root and {', '.join(missing) or 'nothing else'} "
                    "(apt-get install nftables conntrack iproute2)")


@pytest.fixture(scope="module")
def lab() -> Iterator[NetLab]:
    require_tools()
    lab = NetLab()
    lab.up()
    try:
        yield lab
    finally:
        lab.down()
