"""Regenerates the Python modules for kybernetes' CRI proto (src/kybernetes/kubelet/cri/api.proto).

The generated ``api_pb2.py``, ``api_pb2.pyi`` and ``api_pb2_grpc.py`` are committed so that a
normal install needs only the ``grpcio`` and ``protobuf`` runtimes, not the protoc toolchain.
The proto is compiled with ``src`` as its include root, which makes the gRPC module import its
messages as ``kybernetes.kubelet.cri.api_pb2`` rather than as a top-level ``api_pb2``.

Run with the project's venv (grpcio-tools is a test extra): ``.venv/bin/python tools/gen_cri.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PROTO = Path("kybernetes/kubelet/cri/api.proto")


def main() -> int:
    try:
        from grpc_tools import protoc  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        print("gen_cri: grpcio-tools is missing; pip install grpcio-tools", file=sys.stderr)
        return 1
    import grpc_tools

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{SRC}",
        f"-I{well_known}",
        f"--python_out={SRC}",
        f"--pyi_out={SRC}",
        f"--grpc_python_out={SRC}",
        str(PROTO),
    ]
    rc = int(protoc.main(args))
    if rc != 0:
        print(f"gen_cri: protoc failed with {rc}", file=sys.stderr)
        return rc
    for name in ("api_pb2.py", "api_pb2.pyi", "api_pb2_grpc.py"):
        print(f"wrote {SRC / PROTO.parent / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
