"""Write storm for the crash test: run as `python crash_writer.py DB_PATH [WRITERS]`.

Many concurrent writers create, update (with compare-and-swap) and delete keys in a SQLiteStorage
and print one line per acknowledged write, flushed at once, so the parent that kills this
process with SIGKILL knows exactly which writes were acknowledged:
    PUT <key> <revision> <sha256 of value>
    DEL <key> <mod_revision of the value it deleted>
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import sys

from kybernetes.storage.interface import KeyValue, StorageError
from kybernetes.storage.sqlite import SQLiteStorage


def digest(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()


async def writer(store: SQLiteStorage, n: int, out: int) -> None:
    rng = random.Random(os.getpid() * 1000 + n)
    keys = [f"/crash/{n}/{i}" for i in range(6)]
    while True:
        key = rng.choice(keys)
        current: KeyValue | None = await store.get(key)
        value = rng.randbytes(rng.randint(16, 512))
        try:
            if current is None:
                kv = await store.create(key, value)
                line = f"PUT {key} {kv.mod_revision} {digest(value)}\n"
            elif rng.random() < 0.15:
                prev = await store.delete(key, expected_revision=current.mod_revision)
                line = f"DEL {key} {prev.mod_revision}\n"
            else:
                kv = await store.update(key, value, expected_revision=current.mod_revision)
                line = f"PUT {key} {kv.mod_revision} {digest(value)}\n"
        except StorageError:
            continue
        os.write(out, line.encode())


async def main(path: str, writers: int) -> None:
    store = SQLiteStorage(path)
    await store.open()
    out = sys.stdout.fileno()
    os.write(out, f"READY {await store.current_revision()}\n".encode())
    await asyncio.gather(*(writer(store, n, out) for n in range(writers)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 32))
