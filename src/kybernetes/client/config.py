"""Where a component finds the API server and how it proves who it is.

Every kybernetes component outside the apiserver starts from a `ClientConfig`: either loaded from a
kubeconfig file (the admin one ``kyb server`` writes, a user's ``~/.kube/config``, a kubelet's
bootstrap file) or, inside a pod, from the service account mount and the ``KUBERNETES_SERVICE_*``
environment. The dataclass holds plain values; `ssl_context()` turns them into a TLS context.

Assumptions: kubeconfig files are YAML as kubectl writes them; relative file paths in a kubeconfig
are relative to that file's directory (as kubectl resolves them); ``$KUBECONFIG`` may list several
files, and for each named entry (cluster, user, context) the first file that defines it wins, as does
the first ``current-context``. Exec and auth-provider plugins are not supported.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
# Projected service-account tokens rotate; re-read the file about this often (client-go: 1 minute).
TOKEN_FILE_REFRESH = 60.0


class ConfigError(Exception):
    """The configuration is missing or cannot be used."""


@dataclass(slots=True)
class ClientConfig:
    server: str  # "https://host:port" without a trailing slash
    ca_data: bytes | None = None  # PEM
    ca_file: str = ""
    client_cert_data: bytes | None = None  # PEM
    client_key_data: bytes | None = None  # PEM
    client_cert_file: str = ""
    client_key_file: str = ""
    token: str = ""
    token_file: str = ""
    insecure_skip_tls_verify: bool = False
    tls_server_name: str = ""
    namespace: str = "default"  # the context's (or pod's) namespace
    # the other API servers of an HA control plane, tried in turn when `server` cannot be reached
    # (kept current from the `kubernetes` Endpoints by client/failover.py)
    alternate_servers: list[str] = field(default_factory=list, repr=False, compare=False)
    _token_cache: tuple[float, str] | None = field(default=None, repr=False, compare=False)

    def bearer_token(self) -> str:
        """The token to send: a literal one, or the token file's current content."""
        if self.token:
            return self.token
        if not self.token_file:
            return ""
        now = time.monotonic()
        if self._token_cache is None or now - self._token_cache[0] > TOKEN_FILE_REFRESH:
            text = Path(self.token_file).read_text().strip()
            self._token_cache = (now, text)
        return self._token_cache[1]

    def ssl_context(self) -> ssl.SSLContext | None:
        """A TLS context for https servers (None for plain http)."""
        if not self.server.startswith("https://"):
            return None
        if self.insecure_skip_tls_verify:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif self.ca_data is not None:
            ctx = ssl.create_default_context(cadata=self.ca_data.decode())
        elif self.ca_file:
            ctx = ssl.create_default_context(cafile=self.ca_file)
        else:
            ctx = ssl.create_default_context()
        if self.client_cert_data is not None or self.client_cert_file:
            _load_client_cert(ctx, self)
        return ctx


def _load_client_cert(ctx: ssl.SSLContext, cfg: ClientConfig) -> None:
    # The ssl module only loads certificate chains from files, so embedded data is written to a
    # private temporary directory that is gone again before this returns.
    if cfg.client_cert_data is None and cfg.client_key_data is None:
        ctx.load_cert_chain(cfg.client_cert_file, cfg.client_key_file or None)
        return
    with tempfile.TemporaryDirectory(prefix="kyb-client-") as d:
        cert = cfg.client_cert_data if cfg.client_cert_data is not None else Path(cfg.client_cert_file).read_bytes()
        key = cfg.client_key_data if cfg.client_key_data is not None else Path(cfg.client_key_file).read_bytes()
        cert_path = Path(d) / "tls.crt"
        key_path = Path(d) / "tls.key"
        cert_path.write_bytes(cert)
        key_path.touch(mode=0o600)
        key_path.write_bytes(key)
        ctx.load_cert_chain(str(cert_path), str(key_path))


# --- kubeconfig ---------------------------------------------------------------------------------------
def kubeconfig_paths(path: str | os.PathLike[str] | None = None) -> list[Path]:
    """The kubeconfig files to read: the explicit path, else ``$KUBECONFIG`` (a list), else ~/.kube/config."""
    if path:
        return [Path(path)]
    env = os.environ.get("KUBECONFIG", "")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def _named(doc: dict[str, Any], section: str, inner: str, base: Path, out: dict[str, tuple[dict[str, Any], Path]]) -> None:
    for entry in doc.get(section) or []:
        name = entry.get("name")
        if isinstance(name, str) and name not in out:
            out[name] = (entry.get(inner) or {}, base)


def merge_kubeconfigs(files: list[Path]) -> dict[str, Any]:
    """Read and merge kubeconfig files; each entry remembers the directory relative paths start from."""
    clusters: dict[str, tuple[dict[str, Any], Path]] = {}
    users: dict[str, tuple[dict[str, Any], Path]] = {}
    contexts: dict[str, tuple[dict[str, Any], Path]] = {}
    current = ""
    found = False
    for f in files:
        try:
            text = f.read_text()
        except FileNotFoundError:
            continue
        found = True
        doc = yaml.safe_load(text) or {}
        if not isinstance(doc, dict):
            raise ConfigError(f"{f}: not a kubeconfig")
        base = f.parent
        _named(doc, "clusters", "cluster", base, clusters)
        _named(doc, "users", "user", base, users)
        _named(doc, "contexts", "context", base, contexts)
        if not current and doc.get("current-context"):
            current = str(doc["current-context"])
    if not found:
        raise ConfigError(f"no kubeconfig found (looked at {', '.join(str(f) for f in files)})")
    return {"clusters": clusters, "users": users, "contexts": contexts, "current-context": current}


def _data(entry: dict[str, Any], key: str) -> bytes | None:
    value = entry.get(key)
    return base64.b64decode(value) if value else None


def _path(entry: dict[str, Any], key: str, base: Path) -> str:
    value = entry.get(key)
    if not value:
        return ""
    p = Path(str(value)).expanduser()
    return str(p if p.is_absolute() else base / p)


def config_from_kubeconfig(merged: dict[str, Any], *, context: str = "") -> ClientConfig:
    """Resolve a context of a merged kubeconfig (see `merge_kubeconfigs`) into a ClientConfig."""
    name = context or merged["current-context"]
    if not name:
        raise ConfigError("kubeconfig has no current-context and none was given")
    if name not in merged["contexts"]:
        raise ConfigError(f'context "{name}" does not exist')
    ctx, _ = merged["contexts"][name]
    cluster_name = ctx.get("cluster", "")
    if cluster_name not in merged["clusters"]:
        raise ConfigError(f'cluster "{cluster_name}" (context "{name}") does not exist')
    cluster, cbase = merged["clusters"][cluster_name]
    user, ubase = merged["users"].get(ctx.get("user", ""), ({}, Path(".")))
    server = str(cluster.get("server", "")).rstrip("/")
    if not server:
        raise ConfigError(f'cluster "{cluster_name}" has no server')
    return ClientConfig(
        server=server,
        ca_data=_data(cluster, "certificate-authority-data"),
        ca_file=_path(cluster, "certificate-authority", cbase),
        insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify", False)),
        tls_server_name=str(cluster.get("tls-server-name", "")),
        client_cert_data=_data(user, "client-certificate-data"),
        client_key_data=_data(user, "client-key-data"),
        client_cert_file=_path(user, "client-certificate", ubase),
        client_key_file=_path(user, "client-key", ubase),
        token=str(user.get("token", "")),
        token_file=_path(user, "tokenFile", ubase),
        namespace=str(ctx.get("namespace") or "default"),
    )


def load_kubeconfig(path: str | os.PathLike[str] | None = None, *, context: str = "") -> ClientConfig:
    """Load a kubeconfig: `path`, else ``$KUBECONFIG``, else ``~/.kube/config``; `context` overrides
    the current context."""
    return config_from_kubeconfig(merge_kubeconfigs(kubeconfig_paths(path)), context=context)


# --- in-cluster ---------------------------------------------------------------------------------------
def in_cluster_config(sa_dir: Path = SERVICE_ACCOUNT_DIR, env: dict[str, str] | None = None) -> ClientConfig:
    """The config of a process running in a pod: the service account's token and CA, and the
    ``kubernetes`` Service address from the environment."""
    env = dict(os.environ) if env is None else env
    host = env.get("KUBERNETES_SERVICE_HOST", "")
    port = env.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise ConfigError("unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and "
                          "KUBERNETES_SERVICE_PORT must be defined")
    token_file = sa_dir / "token"
    if not token_file.exists():
        raise ConfigError(f"unable to load in-cluster configuration: {token_file} does not exist")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address in a URL
    ns_file = sa_dir / "namespace"
    namespace = ns_file.read_text().strip() if ns_file.exists() else "default"
    ca = sa_dir / "ca.crt"
    return ClientConfig(server=f"https://{host}:{port}", ca_file=str(ca) if ca.exists() else "",
                        token_file=str(token_file), namespace=namespace or "default")


def load_config(path: str | os.PathLike[str] | None = None, *, context: str = "") -> ClientConfig:
    """An explicit kubeconfig if given; else in-cluster config inside a pod; else the default kubeconfig."""
    if path:
        return load_kubeconfig(path, context=context)
    if not os.environ.get("KUBECONFIG") and os.environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            return in_cluster_config()
        except ConfigError:
            pass
    return load_kubeconfig(None, context=context)
