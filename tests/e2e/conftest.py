from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kybernetes.testing.cluster import KybServer


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    server = KybServer(Path(tmp_path_factory.mktemp("kyb")))
    server.start()
    try:
        yield server
    finally:
        server.stop()
