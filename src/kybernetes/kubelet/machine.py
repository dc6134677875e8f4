"""Facts about the machine the node agent runs on, read once at start (and on status ticks for
the pressure signals). Readers take the file contents as text so the parsers stay pure."""

from __future__ import annotations

import os
import platform
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path

from kybernetes.util.listen import primary_address

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}


@dataclass(frozen=True)
class MachineInfo:
    hostname: str
    cpus: int
    memory_bytes: int
    ephemeral_storage_bytes: int
    kernel_version: str
    os_image: str
    architecture: str
    machine_id: str
    system_uuid: str
    boot_id: str
    addresses: list[str] = field(default_factory=list)  # IPv4 first


def parse_meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo as bytes per key."""
    out = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            out[key.strip()] = int(parts[0]) * (1024 if len(parts) > 1 and parts[1] == "kB" else 1)
    return out


def parse_os_release(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.partition("=")[2].strip().strip('"')
    return "Linux"


def _read(path: str, default: str = "") -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return default


def read_machine(data_dir: Path, *, hostname: str = "", address: str = "") -> MachineInfo:
    mem = parse_meminfo(_read("/proc/meminfo"))
    data_dir.mkdir(parents=True, exist_ok=True)
    disk = shutil.disk_usage(data_dir)
    machine = platform.machine()
    return MachineInfo(
        hostname=(hostname or socket.gethostname()).lower(),
        cpus=os.cpu_count() or 1,
        memory_bytes=mem.get("MemTotal", 0),
        ephemeral_storage_bytes=disk.total,
        kernel_version=platform.release(),
        os_image=parse_os_release(_read("/etc/os-release")),
        architecture=_ARCH.get(machine, machine),
        machine_id=_read("/etc/machine-id").strip(),
        system_uuid=_read("/sys/class/dmi/id/product_uuid").strip(),
        boot_id=_read("/proc/sys/kernel/random/boot_id").strip(),
        addresses=[address or primary_address()],
    )


def memory_available(meminfo_text: str) -> int:
    return parse_meminfo(meminfo_text).get("MemAvailable", 0)
