"""The server token: the secret a second `kyb server` presents to join the control plane.

A bootstrap token (`kyb token create`) lets a *node* ask for a kubelet certificate and nothing
else. A server that joins receives the cluster CA's private key and the service-account signing
key, i.e. everything, so it needs a stronger secret that is never stored in the API: the server
token. Its shape follows k3s's "secure" token::

    KYB10<sha256 hex of the CA's SubjectPublicKeyInfo>::server:<password>

The hash pins the CA the joiner must find at the server it contacts (as kubeadm's
--discovery-token-ca-cert-hash); the password authenticates the joiner and is the key material
that encrypts the bootstrap data in the datastore. A bare password (no prefix) is accepted too; then
the CA is not pinned and the first contact trusts what it gets (documented in docs/ha.md).

The first server keeps its token in DATA/token (mode 0600); a joined server writes the token it
was given there, so it can in turn be joined through.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

PREFIX = "KYB10"
TOKEN_FILE = "token"
_SECURE_RE = re.compile(r"^KYB10([0-9a-f]{64})::server:(\S+)$")


class TokenError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ServerToken:
    password: str
    ca_hash: str = ""  # "sha256:<hex>" as pki.ca_cert_hash writes it; "" when not pinned

    def __str__(self) -> str:
        if not self.ca_hash:
            return self.password
        return f"{PREFIX}{self.ca_hash.removeprefix('sha256:')}::server:{self.password}"

    def matches(self, password: str) -> bool:
        return hmac.compare_digest(self.password.encode(), password.encode())


def parse(text: str) -> ServerToken:
    text = text.strip()
    m = _SECURE_RE.match(text)
    if m:
        return ServerToken(password=m.group(2), ca_hash=f"sha256:{m.group(1)}")
    if text.startswith(PREFIX) or "::" in text:
        raise TokenError(
            "malformed server token: expected KYB10<ca hash>::server:<password> or a bare password"
        )
    if not text or any(c.isspace() for c in text):
        raise TokenError("a server token must be non-empty and without whitespace")
    return ServerToken(password=text)


def generate_password() -> str:
    return secrets.token_hex(16)


def ensure_token_file(data_dir: Path, *, given: str, ca_hash: str) -> ServerToken:
    """The token this server runs with: `given` (--token) if any, else the one in DATA/token,
    else a new one. The file always holds the full (CA-pinned) form."""
    path = data_dir / TOKEN_FILE
    if given:
        token = parse(given)
    elif path.exists():
        token = parse(path.read_text())
    else:
        token = ServerToken(password=generate_password())
    if token.ca_hash and token.ca_hash != ca_hash:
        raise TokenError(f"the server token pins CA {token.ca_hash}, but this cluster's CA is {ca_hash}")
    pinned = ServerToken(password=token.password, ca_hash=ca_hash)
    text = f"{pinned}\n"
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    return pinned
