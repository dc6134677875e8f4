"""Regenerates the Python modules for kybernetes' etcd v3 proto (src/kybernetes/storage/etcd/rpc.proto).

The generated ``rpc_pb2.py``, ``rpc_pb2.pyi`` and ``rpc_pb2_grpc.py`` are committed so that a normal
install needs only the ``grpcio`` and ``protobuf`` runtimes, not the protoc toolchain. The proto is
compiled with ``src`` as its include root, so the gRPC module imports its messages as
``kybernetes.storage.etcd.rpc_pb2``.

Run with the project's venv (grpcio-tools is a test extra): ``.venv/bin/python tools/gen_etcd.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PROTO = Path("kybernetes/storage/etcd/rpc.proto")


def main() -> int:
    try:
        from grpc_tools import protoc  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        print("gen_etcd: grpcio-tools is missing; pip install grpcio-tools", file=sys.stderr)
        return 1
    args = [
        "grpc_tools.protoc",
        f"-I{SRC}",
        f"--python_out={SRC}",
        f"--pyi_out={SRC}",
        f"--grpc_python_out={SRC}",
        str(PROTO),
    ]
    rc = int(protoc.main(args))
    if rc != 0:
        print(f"gen_etcd: protoc failed with {rc}", file=sys.stderr)
        return rc
    for name in ("rpc_pb2.py", "rpc_pb2.pyi", "rpc_pb2_grpc.py"):
        print(f"wrote {SRC / PROTO.parent / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
