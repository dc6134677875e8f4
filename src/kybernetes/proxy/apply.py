"""Thin executor for the proxy: feeds rendered scripts to `nft -f -`, reads back affinity state,
deletes stale UDP conntrack entries, and removes the table on shutdown.

Everything here runs a command-line tool (`nft`, `conntrack`) in the current network namespace or,
for tests and benchmarks, in a named one (`nsenter --net=/var/run/netns/NAME`, which, unlike
`ip netns exec`, does not remount /sys). The script itself is one atomic nft transaction, so a
failed apply leaves the previous ruleset in place.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence

from kybernetes.proxy.sync import TableInventory

log = logging.getLogger("kyb.proxy.apply")


class NftError(RuntimeError):
    pass


class NftApplier:
    def __init__(self, table: str = "kyb-proxy", *, netns: str | None = None, nft: str = "nft",
                 conntrack: str = "conntrack") -> None:
        self.table = table
        # The proxy's rules live in `table` or its twin; each apply writes the other one and deletes
        # the live one in the same transaction (see render.py for why).
        self.names = (table, f"{table}-b")
        self.live: str | None = None  # unknown until asked
        self.netns = netns
        self.nft = nft
        self.conntrack = conntrack
        self.last_nft_seconds = 0.0

    def _argv(self, *args: str) -> list[str]:
        prefix = ["nsenter", f"--net=/var/run/netns/{self.netns}"] if self.netns else []
        return [*prefix, *args]

    async def _run(self, *args: str, stdin: bytes | None = None) -> tuple[int, bytes, bytes]:
        proc = await asyncio.create_subprocess_exec(
            *self._argv(*args), stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate(stdin)
        return proc.returncode or 0, out, err

    async def live_table(self) -> str | None:
        """Which of the two names holds the rules now (asks the kernel the first time)."""
        if self.live is None:
            code, out, _ = await self._run(self.nft, "list", "tables", "ip")
            present = {line.split()[-1] for line in out.decode().splitlines() if line.startswith("table ")}
            self.live = next((n for n in self.names if n in present), "") if code == 0 else ""
        return self.live or None

    async def target(self) -> tuple[str, str | None]:
        """(table to write next, live table that the same transaction must delete)."""
        live = await self.live_table()
        return (self.names[1] if live == self.names[0] else self.names[0]), live

    async def apply(self, script: str, *, table: str | None = None) -> None:
        """Apply a whole-table script in one transaction; raises `NftError` with nft's message.
        `table` is the table the script defines (default: the base name)."""
        started = time.perf_counter()
        code, _, err = await self._run(self.nft, "-f", "-", stdin=script.encode())
        self.last_nft_seconds = time.perf_counter() - started
        if code != 0:
            self.live = None  # ask again: the failed transaction changed nothing, but be sure
            raise NftError(f"nft -f failed ({code}): {err.decode(errors='replace')[:2000]}")
        self.live = table or self.table

    async def check(self, script: str) -> None:
        """Parse and validate without committing (`nft -c`)."""
        code, _, err = await self._run(self.nft, "-c", "-f", "-", stdin=script.encode())
        if code != 0:
            raise NftError(f"nft -c failed ({code}): {err.decode(errors='replace')[:2000]}")

    async def affinity_state(self) -> dict[str, list[tuple[str, int]]]:
        """Live ClientIP affinity entries: set name -> [(client ip, seconds left)] (empty if no table)."""
        live = await self.live_table()
        if not live:
            return {}
        code, out, _ = await self._run(self.nft, "-j", "list", "sets", "table", "ip", live)
        if code != 0:
            return {}
        return parse_affinity_sets(out)

    async def inventory(self, table: str | None = None) -> TableInventory:
        """Names of the chains and sets in `table` (default: the base name) and their affinity
        timeouts, without rules or elements: what a full in-place sync needs to know."""
        name = table or self.table
        code, out, _ = await self._run(self.nft, "-j", "list", "chains", "ip")
        if code != 0:
            raise NftError(f"nft list chains failed ({code})")
        _, sets_out, _ = await self._run(self.nft, "-t", "-j", "list", "sets", "table", "ip", name)
        return parse_inventory(out, sets_out, name)

    async def present_tables(self) -> set[str]:
        """Which of the proxy's two names exist (the twin is left by earlier table-swapping syncs)."""
        _, out, _ = await self._run(self.nft, "list", "tables", "ip")
        return {line.split()[-1] for line in out.decode().splitlines() if line.startswith("table ")} & set(self.names)

    async def delete(self) -> None:
        """Remove the table and its twin (idempotent)."""
        for name in self.names:
            await self._run(self.nft, "delete", "table", "ip", name)
        self.live = ""

    async def list_table(self) -> str:
        """`nft list table` of the live table."""
        code, out, err = await self._run(self.nft, "list", "table", "ip", await self.live_table() or self.table)
        if code != 0:
            raise NftError(err.decode(errors="replace"))
        return out.decode()

    async def clear_conntrack(self, commands: Sequence[Sequence[str]]) -> int:
        """Run `conntrack` argument lists (from `stale_udp_flows`); returns how many ran cleanly.
        conntrack exits 1 when nothing matched, which is not an error."""
        ok = 0
        for args in commands:
            code, _, err = await self._run(self.conntrack, *args)
            if code in (0, 1):
                ok += 1
            else:
                log.warning("conntrack %s failed (%d): %s", " ".join(args), code, err.decode(errors="replace").strip())
        return ok


def parse_affinity_sets(raw: bytes | str) -> dict[str, list[tuple[str, int]]]:
    """Affinity sets from `nft -j list sets` output (only sets named ``aff-...``)."""
    try:
        doc = json.loads(raw or "{}")
    except ValueError:
        return {}
    out: dict[str, list[tuple[str, int]]] = {}
    for item in doc.get("nftables") or []:
        s = item.get("set") if isinstance(item, dict) else None
        if not s or not str(s.get("name", "")).startswith("aff-"):
            continue
        entries: list[tuple[str, int]] = []
        for e in s.get("elem") or []:
            inner = e.get("elem") if isinstance(e, dict) else None
            if isinstance(inner, dict) and isinstance(inner.get("val"), str):
                entries.append((inner["val"], int(inner.get("expires") or 0)))
        if entries:
            out[s["name"]] = entries
    return out


def parse_inventory(chains_raw: bytes | str, sets_raw: bytes | str, table: str) -> TableInventory:
    """`TableInventory` of `table` from `nft -j list chains ip` (every table's chains) and
    `nft -t -j list sets table ip TABLE` output (empty when the table does not exist)."""
    def items(raw: bytes | str) -> list[dict[str, object]]:
        try:
            doc = json.loads(raw or "{}")
        except ValueError:
            return []
        return [i for i in doc.get("nftables") or [] if isinstance(i, dict)]

    chains = frozenset(str(c["name"]) for i in items(chains_raw) if isinstance(c := i.get("chain"), dict)
                       and c.get("family") == "ip" and c.get("table") == table)
    sets: dict[str, int] = {}
    for i in items(sets_raw):
        s = i.get("set")
        if isinstance(s, dict) and s.get("table") == table:
            timeout = s.get("timeout")
            sets[str(s["name"])] = timeout if isinstance(timeout, int) else 0
    return TableInventory(exists=bool(chains or sets), chains=chains, sets=sets)
