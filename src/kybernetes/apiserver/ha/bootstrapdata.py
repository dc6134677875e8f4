"""Bootstrap data: the secrets every server of one cluster must share, kept in the datastore.

What `kyb server` generates at its first start and every other server must have byte for byte:
the cluster CA (certificate and key: it signs serving, client and node certificates, and clients
trust only it) and the service-account signing key (tokens issued by one server must verify on
all). Leaf certificates are not shared: each server issues its own from the CA.

As k3s does, the files travel as one record in the datastore, encrypted with the server token's
password: AES-256-GCM under a key stretched from the password with PBKDF2-HMAC-SHA256 and a random
salt. Whoever can read the datastore but lacks the token learns nothing; a record that decrypts is
also proof that it was written by a holder of the token (GCM authenticates).

Record: ``/registry/kyb-bootstrap/<first 16 hex of sha256(password)>`` (under /registry/ so the
API server's watch cache follows its revisions; no resource serves that prefix), a JSON object::

    {"kind": "BootstrapData", "metadata": {"name": <id>}, "salt": b64, "nonce": b64, "ciphertext": b64}

Rules (``reconcile``): the first server to *create* the record wins; a server that finds a record
writes its files from it (and reissues its leaves, since the CA may have changed).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from kybernetes.storage.interface import KeyExistsError, Storage

PREFIX = "/registry/kyb-bootstrap/"
# Paths relative to the data dir. Extra files (e.g. an etcd CA) are added by whoever makes them.
SHARED_FILES: list[str] = ["tls/ca.crt", "tls/ca.key", "tls/sa.key"]
PBKDF2_ITERATIONS = 100_000
_PRIVATE_SUFFIXES = (".key",)


class BootstrapDataError(Exception):
    pass


def storage_key(password: str) -> str:
    return PREFIX + hashlib.sha256(password.encode()).hexdigest()[:16]


def _key(password: str, salt: bytes) -> bytes:
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=PBKDF2_ITERATIONS)
    return kdf.derive(password.encode())


def encrypt(password: str, files: Mapping[str, bytes]) -> bytes:
    """The record's JSON for `files` (relative path -> content)."""
    salt, nonce = os.urandom(16), os.urandom(12)
    plain = orjson.dumps({"files": {p: base64.b64encode(c).decode() for p, c in sorted(files.items())}})
    sealed = AESGCM(_key(password, salt)).encrypt(nonce, plain, None)
    name = storage_key(password).removeprefix(PREFIX)
    return orjson.dumps(
        {
            "apiVersion": "kybernetes.io/v1",
            "kind": "BootstrapData",
            "metadata": {"name": name},
            "salt": base64.b64encode(salt).decode(),
            "nonce": base64.b64encode(nonce).decode(),
            "ciphertext": base64.b64encode(sealed).decode(),
        }
    )


def decrypt(password: str, record: bytes) -> dict[str, bytes]:
    try:
        doc = orjson.loads(record)
        salt, nonce, sealed = (base64.b64decode(doc[k]) for k in ("salt", "nonce", "ciphertext"))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise BootstrapDataError(f"bootstrap data is malformed: {e}") from None
    try:
        plain = AESGCM(_key(password, salt)).decrypt(nonce, sealed, None)
    except InvalidTag:
        raise BootstrapDataError("bootstrap data does not decrypt with this token (wrong token?)") from None
    files = orjson.loads(plain).get("files") or {}
    return {str(p): base64.b64decode(c) for p, c in files.items()}


def read_files(data_dir: Path) -> dict[str, bytes]:
    """The shared files present under `data_dir`."""
    out: dict[str, bytes] = {}
    for rel in SHARED_FILES:
        path = data_dir / rel
        if path.exists():
            out[rel] = path.read_bytes()
    return out


def write_files(data_dir: Path, files: Mapping[str, bytes]) -> list[str]:
    """Write the files that differ; the relative paths written. Only known names are accepted:
    a record is trusted for its content, never for where it writes."""
    changed = []
    for rel, content in sorted(files.items()):
        if rel not in SHARED_FILES:
            raise BootstrapDataError(f"bootstrap data names an unexpected file {rel!r}")
        path = data_dir / rel
        if path.exists() and path.read_bytes() == content:
            continue
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if rel.endswith(_PRIVATE_SUFFIXES) else 0o644
        )
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.replace(tmp, path)
        changed.append(rel)
    return changed


async def load(storage: Storage, password: str) -> dict[str, bytes] | None:
    kv = await storage.get(storage_key(password))
    return None if kv is None else decrypt(password, kv.value)


async def record(storage: Storage, password: str) -> bytes | None:
    """The encrypted record as stored (what a joining server downloads)."""
    kv = await storage.get(storage_key(password))
    return None if kv is None else kv.value


async def publish_or_adopt(storage: Storage, data_dir: Path, password: str) -> list[str]:
    """Make this server's shared files the cluster's, unless another server was first: then take
    theirs. Returns the relative paths rewritten from the datastore ([] when ours won or matched)."""
    existing = await load(storage, password)
    if existing is None:
        try:
            await storage.create(storage_key(password), encrypt(password, read_files(data_dir)))
            return []
        except KeyExistsError:
            existing = await load(storage, password)
            if existing is None:  # pragma: no cover - created and deleted in between
                raise BootstrapDataError("bootstrap data vanished while it was being read") from None
    return write_files(data_dir, existing)
