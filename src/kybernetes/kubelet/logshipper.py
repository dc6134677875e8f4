"""The node's log shipper: tails every container log and sends the lines to the cluster log store.

It plays the part fluent-bit plays beside an upstream kubelet (docs/logging.md).

Theory of operation.
- Discovery: twice a second the shipper lists ``<data_dir>/containers/`` (the symlinks
  kubelet/logrotation.py keeps, named ``<pod>_<namespace>_<container>-<id>.log``) and starts a
  tail for each new one. Pod UID and labels come from the agent's pod cache and are remembered, so
  lines written just before a pod was deleted still carry them.
- A tail holds its file open and reads it with ``pread`` from its *committed* offset: the end of
  the last complete logical line (CRI ``P`` records joined to their ``F``) the store acknowledged.
  Nothing advances until the store answers 200, so a failed send is simply read again
  (at-least-once delivery; a crash between the answer and the offsets file repeats one batch).
- Rotation: the open descriptor still names the renamed file; once it is read to its end and the
  live path names another file, the tail moves to the live file at offset 0. A file removed
  meanwhile stays readable through the descriptor.
- Restarts: committed offsets are saved in ``<data_dir>/logship/offsets.json`` as
  (container, inode, offset). On start a tail resumes in the file with that inode — the live file,
  or a rotated plain file beside it — and otherwise starts the live file from the beginning.
- A tail ends when its symlink is gone (the container was removed) and its file is read to the end.
Batches are bounded (bytes per file per round, bytes per request), so memory stays small however
much the containers write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from kybernetes.kubelet.logrotation import COMPRESS_SUFFIX, TMP_SUFFIX, parse_log_symlink_name, rotated_files
from kybernetes.kubelet.logs import parse_cri_line

log = logging.getLogger("kyb.kubelet.logship")

INGEST_PATH = "/kyb/logs/v1/ingest"
SCAN_PERIOD = 0.5
READ_PER_FILE = 256 * 1024
BATCH_BYTES = 1024 * 1024
MAX_PASSES = 8  # read-send-commit passes per round while a tail has more at once
MAX_BACKOFF = 60.0
Record = dict[str, Any]


# --- pure parts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedLine:
    ts_ns: int
    stream: str
    text: str


def parse_chunk(data: bytes, *, final: bool = False) -> tuple[list[ParsedLine], int]:
    """The logical lines in ``data`` (CRI log bytes read from a committed offset) and how many bytes
    they use up: up to the end of the last raw line after which no stream has a partial line
    pending. ``final`` (the file will not grow: it was rotated away) uses up everything, emitting a
    pending partial line as it is."""
    partial: dict[str, tuple[int, list[bytes]]] = {}  # stream -> (first record's ts, parts so far)
    done: list[tuple[int, ParsedLine]] = []
    consumed = 0
    pos = 0
    for raw in data.split(b"\n")[:-1]:  # the part after the last newline is not a whole line yet
        pos += len(raw) + 1
        record = parse_cri_line(raw)
        if record is not None:
            ts, parts = partial.pop(record.stream, (record.ts_ns, []))
            parts.append(record.message)
            if record.partial:
                partial[record.stream] = (ts, parts)
            else:
                done.append((pos, ParsedLine(ts, record.stream, _text(b"".join(parts)))))
        if not partial:
            consumed = pos
    lines = [line for end, line in done if end <= consumed]
    if final:
        lines = [line for _, line in done]
        for stream, (ts, parts) in sorted(partial.items()):
            lines.append(ParsedLine(ts, stream, _text(b"".join(parts))))
        consumed = len(data)
    elif consumed == 0 and len(data) >= READ_PER_FILE:
        # one partial run longer than a whole read: ship what there is rather than stall
        return parse_chunk(data[: data.rfind(b"\n") + 1] or data, final=True)
    return lines, consumed


def _text(content: bytes) -> str:
    return content.decode("utf-8", errors="replace").removesuffix("\n")


@dataclass(frozen=True)
class SavedOffset:
    path: str
    inode: int
    offset: int


def choose_resume(
    saved: SavedOffset | None, live_inode: int | None, rotated: Mapping[str, int]
) -> tuple[str, int]:
    """Where a tail starts after an agent restart: (path to open, offset). ``rotated`` maps the plain
    rotated files beside the live log to their inodes."""
    if saved is None:
        return "", 0
    if live_inode == saved.inode:
        return saved.path, saved.offset
    for path, inode in rotated.items():
        if inode == saved.inode:
            return path, saved.offset
    return "", 0  # that file was compressed or removed: start the live file


def next_file(current: tuple[int, int] | None, files: Mapping[str, tuple[int, int]]) -> str | None:
    """The file to read after ``current`` (inode, mtime in ns; None: nothing read yet) among the
    live log and its plain rotated files (path -> (inode, mtime ns)): the least recently written
    one written after ``current``. A rotated file's last write precedes the next file's first, so
    this is the file rotated right after it, or the live file; a shipper that fell behind thus
    reads every rotated file still plain instead of jumping to the live one."""
    ino, mtime = current if current is not None else (-1, -1)
    newer = sorted((mt, path) for path, (i, mt) in files.items() if i != ino and mt >= mtime)
    return newer[0][1] if newer else None


def load_offsets(text: str) -> dict[str, SavedOffset]:
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    out = {}
    if isinstance(doc, dict):
        for cid, v in doc.items():
            if (
                isinstance(v, dict)
                and isinstance(v.get("path"), str)
                and isinstance(v.get("inode"), int)
                and isinstance(v.get("offset"), int)
                and v["offset"] >= 0
            ):
                out[str(cid)] = SavedOffset(v["path"], v["inode"], v["offset"])
    return out


def dump_offsets(offsets: Mapping[str, SavedOffset]) -> bytes:
    return orjson.dumps(
        {cid: {"path": o.path, "inode": o.inode, "offset": o.offset} for cid, o in sorted(offsets.items())},
        option=orjson.OPT_INDENT_2,
    )


# --- the tails -------------------------------------------------------------------------------------


@dataclass
class Tail:
    container_id: str
    link: str  # the symlink's path
    live_path: str  # where it points: the container's live log
    meta: Record  # namespace, pod, uid, container, labels
    fd: int = -1
    inode: int = 0
    offset: int = 0  # committed
    link_gone: bool = False
    pending: tuple[int, int] | None = field(default=None)  # (offset, inode) a send will commit

    def close(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1

    def open_at(self, path: str, offset: int) -> bool:
        self.close()
        try:
            self.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return False
        self.inode = os.fstat(self.fd).st_ino
        self.offset = offset
        return True


Sender = Callable[[list[Record]], Awaitable[None]]
PodMeta = Callable[[str, str], "tuple[str, dict[str, str]] | None"]


class LogShipper:
    def __init__(
        self, *, symlink_dir: Path, state_dir: Path, node_name: str, send: Sender, pod_meta: PodMeta
    ) -> None:
        self.symlink_dir = symlink_dir
        self.state_file = state_dir / "offsets.json"
        self.node_name = node_name
        self._send = send
        self._pod_meta = pod_meta
        self.tails: dict[str, Tail] = {}
        self._saved: dict[str, SavedOffset] = {}
        self._saved_dirty = False
        self.backoff = 0.0

    async def run(self) -> None:
        await asyncio.to_thread(self.load_state)
        try:
            while True:
                sent = 0
                try:
                    sent = await self.step()
                    self.backoff = 0.0
                except asyncio.CancelledError:
                    raise
                except Exception as e:
                    self.backoff = min(max(self.backoff * 2, 1.0), MAX_BACKOFF)
                    log.warning("log shipping failed (retrying in %.0f s): %s", self.backoff, e)
                # a full batch means more is waiting: go again at once
                await asyncio.sleep(self.backoff or (0 if sent >= BATCH_BYTES else SCAN_PERIOD))
        finally:
            for t in self.tails.values():
                t.close()

    async def step(self) -> int:
        """One round: find new logs, send what they have, save the offsets. Returns the batch size."""
        self.discover()
        try:
            return await self.ship_once()
        finally:
            if self._saved_dirty:
                await asyncio.to_thread(self.save_state)

    def load_state(self) -> None:
        try:
            self._saved = load_offsets(self.state_file.read_text())
        except OSError:
            self._saved = {}

    def save_state(self) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_bytes(dump_offsets(self._saved))
        os.replace(tmp, self.state_file)
        self._saved_dirty = False

    # --- discovery ---
    def discover(self) -> None:
        seen = set()
        try:
            entries = list(os.scandir(self.symlink_dir))
        except FileNotFoundError:
            entries = []
        for entry in entries:
            parsed = parse_log_symlink_name(entry.name)
            if parsed is None or not entry.is_symlink():
                continue
            pod, namespace, container, cid = parsed
            seen.add(cid)
            tail = self.tails.get(cid)
            if tail is None:
                tail = self._start_tail(cid, entry.path, namespace, pod, container)
                if tail is None:
                    continue
            tail.link_gone = False
            known = self._pod_meta(namespace, pod)
            if known is not None:
                tail.meta["uid"], tail.meta["labels"] = known
        for cid, tail in self.tails.items():
            if cid not in seen:
                tail.link_gone = True

    def _start_tail(self, cid: str, link: str, namespace: str, pod: str, container: str) -> Tail | None:
        try:
            live = os.readlink(link)
        except OSError:
            return None
        tail = Tail(
            cid,
            link,
            live,
            {"namespace": namespace, "pod": pod, "uid": "", "container": container, "labels": {}},
        )
        try:
            live_inode: int | None = os.stat(live).st_ino
        except OSError:
            live_inode = None
        files = log_files(live)
        rotated = {p: ino for p, (ino, _) in files.items() if p != live}
        saved = self._saved.get(cid)
        path, offset = choose_resume(saved, live_inode, rotated)
        if saved is None:  # a new container: from its oldest file still plain (a rotation may be done)
            path = next_file(None, files) or live
        if not tail.open_at(path or live, offset):
            if live_inode is not None:
                return None  # try again next scan
            tail.fd = -1  # not written yet: opened once it appears
        self.tails[cid] = tail
        return tail

    # --- reading and sending ---
    def collect(self) -> tuple[list[Record], int, bool]:
        """Read what the tails have beyond their committed offsets (bounded); each tail remembers what
        a successful send will commit. The flag says another pass could read more at once (a tail
        moved to its next file, or read a whole block)."""
        records: list[Record] = []
        size = 0
        more = False
        for tail in list(self.tails.values()):
            if size >= BATCH_BYTES:
                break
            tail.pending = None
            if tail.fd < 0 and not tail.open_at(tail.live_path, 0):
                if tail.link_gone:
                    self._finish(tail)
                continue
            # whether the file was rotated away is asked *before* reading: once the live path names
            # a new file containerd writes there, so this read then sees all the old file holds
            moved = self._moved_on(tail)
            data = os.pread(tail.fd, READ_PER_FILE, tail.offset)
            final = moved and len(data) < READ_PER_FILE
            lines, used = parse_chunk(data, final=final)
            for line in lines:
                records.append(
                    {
                        "ts": line.ts_ns,
                        "node": self.node_name,
                        **tail.meta,
                        "stream": line.stream,
                        "log": line.text,
                    }
                )
                size += len(line.text) + 64
            if used:
                tail.pending = (tail.offset + used, tail.inode)
            if len(data) == READ_PER_FILE:
                more = True
            if not data or (final and used == len(data)):
                more = self._at_end(tail, final) or more
        return records, size, more

    def _moved_on(self, tail: Tail) -> bool:
        """The live path names another file than the open one: this one is done once read."""
        try:
            return os.stat(tail.live_path).st_ino != tail.inode
        except FileNotFoundError:
            return tail.link_gone

    def _at_end(self, tail: Tail, final: bool) -> bool:
        """At the end of the open file: move to the next one if this one is done (rotated away, or its
        container removed). True when it moved (or will, once this pass is committed)."""
        if tail.pending is not None:
            return final  # commit first; the next pass moves on
        if not (final or tail.link_gone):
            return False
        current = (tail.inode, os.fstat(tail.fd).st_mtime_ns)
        following = next_file(current, log_files(tail.live_path))
        if following is None:
            if tail.link_gone:
                self._finish(tail)
                return False
            following = tail.live_path
        if tail.open_at(following, 0):
            self._remember(tail)
            return True
        return False

    async def ship_once(self) -> int:
        """Passes of read, send, commit while they make progress (bounded); returns bytes sent."""
        total = 0
        for _ in range(MAX_PASSES):
            records, size, more = self.collect()
            if records:
                await self._send(records)
            for tail in list(self.tails.values()):
                if tail.pending is not None:
                    tail.offset, _ = tail.pending
                    tail.pending = None
                    self._remember(tail)
            total += size
            if not more or total >= BATCH_BYTES:
                break
        return total

    def _remember(self, tail: Tail) -> None:
        self._saved[tail.container_id] = SavedOffset(tail.live_path, tail.inode, tail.offset)
        self._saved_dirty = True

    def _finish(self, tail: Tail) -> None:
        tail.close()
        self.tails.pop(tail.container_id, None)
        if self._saved.pop(tail.container_id, None) is not None:
            self._saved_dirty = True


def log_files(live: str) -> dict[str, tuple[int, int]]:
    """The live log and its plain rotated files: path -> (inode, mtime ns)."""
    out = {}
    for path in [*rotated_files(live), live]:
        if path.endswith((COMPRESS_SUFFIX, TMP_SUFFIX)):
            continue
        with contextlib.suppress(OSError):
            st = os.stat(path)
            out[path] = (st.st_ino, st.st_mtime_ns)
    return out


def api_sender(client: Any) -> Sender:
    """POST batches to the API server (the kubelet's own credentials)."""

    async def send(records: list[Record]) -> None:
        await client.request("POST", INGEST_PATH, body={"records": records}, timeout=30.0)

    return send


def pod_meta_from(by_uid: Mapping[str, Any]) -> PodMeta:
    """(uid, labels) of a pod the agent knows, by namespace and name."""

    def meta(namespace: str, name: str) -> tuple[str, dict[str, str]] | None:
        for uid, pod in list(by_uid.items()):
            m = pod.get("metadata") or {}
            if m.get("namespace") == namespace and m.get("name") == name:
                return str(uid), dict(m.get("labels") or {})
        return None

    return meta
