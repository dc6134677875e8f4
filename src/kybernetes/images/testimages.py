"""The project's own images, built from this machine's Debian packages: `pause` and `busybox`.

Why: no public registry is reachable here, yet every pod needs a sandbox (pause) image and the tests
and docs run busybox. `pause` is a static binary compiled from the C below (we write it: sleep in
pause(), reap children on SIGCHLD, exit 0 on SIGTERM/SIGINT); `busybox` is Debian's static
/usr/bin/busybox with one symlink per applet in /bin, a minimal /etc/passwd and /etc/group (root
and nobody) and the directories a container expects.

Builds go to a cache directory. Each archive has a sidecar `<name>.inputs` holding the hash of
everything it was built from (builder version, C source, compiler identity, busybox binary); an
archive is rebuilt only when that hash changes, so calling `ensure_test_images` is cheap.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from kybernetes.images.oci import (
    DEFAULT_PATH,
    Entry,
    ImageConfig,
    Layer,
    build_oci_archive,
    dir_entry,
    file_entry,
    symlink_entry,
)

PAUSE_IMAGE = "kybernetes.local/pause:3.10"
BUSYBOX_IMAGE = "kybernetes.local/busybox:latest"
# The names manifests use (`busybox`, `busybox:1`, ...) resolve to these, so they work offline.
BUSYBOX_NAMES = (
    "docker.io/library/busybox:latest",
    "docker.io/library/busybox:1",
    "docker.io/library/busybox:1.36",
    BUSYBOX_IMAGE,
)
BUSYBOX_BINARY = Path("/usr/bin/busybox")

# Bump when the layout of an image changes in a way the input hash cannot see.
BUILDER_VERSION = "1"

PAUSE_C = r"""/* kybernetes pause: holds a pod's namespaces open and reaps orphaned children. */
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

static void leave(int sig) {
    (void)sig;
    _exit(0);
}

static void reap(int sig) {
    (void)sig;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

int main(void) {
    struct sigaction sa;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sa.sa_handler = leave;
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
        return 1;
    sa.sa_handler = reap;
    sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
    if (sigaction(SIGCHLD, &sa, NULL) < 0)
        return 2;
    for (;;)
        pause();
}
"""

GCC_FLAGS = ("-static", "-Os", "-s", "-Wall", "-Werror")

PASSWD = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = b"root:x:0:\nnobody:x:65534:\n"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kybernetes" / "images"


def _run(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    except FileNotFoundError as e:
        raise RuntimeError(f"{argv[0]} not found (install it: see README)") from e
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def compile_pause(workdir: Path, *, cc: str = "gcc") -> bytes:
    """Compile the pause binary statically and return its bytes."""
    src, out = workdir / "pause.c", workdir / "pause"
    src.write_text(PAUSE_C)
    _run([cc, *GCC_FLAGS, "-o", str(out), str(src)])
    return out.read_bytes()


def pause_layer(binary: bytes) -> Layer:
    return Layer((file_entry("pause", binary, mode=0o755),), created_by="pause (static, gcc -Os)")


def pause_config() -> ImageConfig:
    return ImageConfig(entrypoint=("/pause",), env=(DEFAULT_PATH,), working_dir="/")


def busybox_layer(binary: bytes, applets: list[str]) -> Layer:
    """Root file system of the busybox image: the binary, applet links and a minimal /etc."""
    entries: list[Entry] = [
        file_entry("bin/busybox", binary, mode=0o755),
        file_entry("etc/passwd", PASSWD),
        file_entry("etc/group", GROUP),
        # Placeholders the runtime bind-mounts over.
        file_entry("etc/hosts", b""),
        file_entry("etc/resolv.conf", b""),
        file_entry("etc/hostname", b""),
        dir_entry("tmp", mode=0o1777),
        dir_entry("var/tmp", mode=0o1777),
        dir_entry("root", mode=0o700),
        dir_entry("home"),
        dir_entry("dev"),
        dir_entry("proc"),
        dir_entry("sys"),
        dir_entry("usr/bin"),
        dir_entry("usr/sbin"),
        dir_entry("sbin"),
    ]
    for name in sorted(set(applets)):
        if name and "/" not in name and name != "busybox":
            entries.append(symlink_entry(f"bin/{name}", "busybox"))
    return Layer(tuple(entries), created_by="busybox (Debian busybox-static)")


def busybox_config() -> ImageConfig:
    return ImageConfig(cmd=("sh",), env=(DEFAULT_PATH,), working_dir="/")


def busybox_applets(binary: Path = BUSYBOX_BINARY) -> list[str]:
    return [line.strip() for line in _run([str(binary), "--list"]).splitlines() if line.strip()]


def _fingerprint(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(hashlib.sha256(p).digest())
    return h.hexdigest()


def _cached(out: Path, fingerprint: str, build: Callable[[], None]) -> Path:
    stamp = out.with_name(out.name + ".inputs")
    if out.exists() and stamp.exists() and stamp.read_text().strip() == fingerprint:
        return out
    build()
    stamp.write_text(fingerprint + "\n")
    return out


def ensure_pause_image(cache_dir: Path, *, cc: str = "gcc") -> Path:
    compiler = _run([cc, "--version"]).splitlines()[0].encode() if shutil.which(cc) else cc.encode()
    fingerprint = _fingerprint(BUILDER_VERSION.encode(), PAUSE_C.encode(), " ".join(GCC_FLAGS).encode(), compiler)
    out = cache_dir / "pause.tar"

    def build() -> None:
        with tempfile.TemporaryDirectory(prefix="kyb-pause-") as tmp:
            binary = compile_pause(Path(tmp), cc=cc)
        build_oci_archive(out, name=PAUSE_IMAGE, layers=[pause_layer(binary)], config=pause_config())

    return _cached(out, fingerprint, build)


def ensure_busybox_image(cache_dir: Path, *, binary: Path = BUSYBOX_BINARY) -> Path:
    if not binary.exists():
        raise RuntimeError(f"{binary} not found (Debian package busybox-static)")
    data = binary.read_bytes()
    fingerprint = _fingerprint(BUILDER_VERSION.encode(), data, "\n".join(BUSYBOX_NAMES).encode())
    out = cache_dir / "busybox.tar"

    def build() -> None:
        build_oci_archive(out, name=BUSYBOX_NAMES[0], extra_names=BUSYBOX_NAMES[1:],
                          layers=[busybox_layer(data, busybox_applets(binary))], config=busybox_config())

    return _cached(out, fingerprint, build)


def ensure_test_images(cache_dir: Path | None = None) -> dict[str, Path]:
    """Build (or reuse) the test images; image name → archive that holds it."""
    cache = cache_dir if cache_dir is not None else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    result = {PAUSE_IMAGE: ensure_pause_image(cache)}
    busybox = ensure_busybox_image(cache)
    for name in BUSYBOX_NAMES:
        result[name] = busybox
    return result
