"""Node-level registry configuration (k3s-style `registries.yaml`) and pull credentials.

A node reads an optional registries.yaml:

    mirrors:
      docker.io:
        endpoint: ["http://127.0.0.1:5000"]
    configs:
      "127.0.0.1:5000":
        auth: {username: u, password: p}          # or auth: base64("u:p")
        tls: {insecure_skip_verify: true, ca_file: ..., cert_file: ..., key_file: ...}

and turns it into containerd's registry host directory (CRI `registry.config_path`): one
`<host>/hosts.toml` per mirrored or configured registry. Facts of that format (containerd 1.6):
`server` is the upstream tried last; each `[host."<url>"]` is tried first, in file order; keys
`capabilities` (pull, resolve, push), `skip_verify`, `ca` (file or list), `client` (list of
[cert, key] pairs); an `http://` URL means plain HTTP (1.6 has no separate plain-http key); the
mirror key `*` is the directory `_default`, used for registries without one of their own.

containerd 1.6 gets credentials only from the CRI PullImage request, so the kubelet resolves them
here: `credentials_for` looks at the pod's imagePullSecrets first (as upstream's keyring does),
then at registries.yaml `configs` of the mirror endpoints and of the registry itself.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from kybernetes.images.names import DOCKER_HUB, normalize_image, parse_image, registry_host

__all__ = ["credentials_for", "load_registries", "normalize_image", "render_hosts_toml", "write_registry_config"]

DOCKER_HUB_UPSTREAM = "https://registry-1.docker.io"
DEFAULT_DIR = "_default"
HOSTS_FILE = "hosts.toml"


# ---- registries.yaml ----

def load_registries(path: Path | None) -> dict[str, Any]:
    """Parse a registries.yaml (a missing path or file means no configuration)."""
    if path is None or not path.exists():
        return {}
    doc = yaml.safe_load(path.read_text()) or {}
    return validate_registries(doc)


def validate_registries(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise ValueError("registries: expected a mapping with `mirrors` and `configs`")
    for section in ("mirrors", "configs"):
        value = doc.get(section) or {}
        if not isinstance(value, dict) or not all(isinstance(v or {}, dict) for v in value.values()):
            raise ValueError(f"registries: `{section}` must map registry hosts to mappings")
    for host, mirror in (doc.get("mirrors") or {}).items():
        endpoints = (mirror or {}).get("endpoint") or []
        if not isinstance(endpoints, list) or not all(isinstance(e, str) and e for e in endpoints):
            raise ValueError(f"registries: mirrors[{host}].endpoint must be a list of URLs")
    return doc


# ---- hosts.toml ----

def _toml_str(s: str) -> str:
    # A JSON string literal is a valid TOML basic string (same escapes).
    return json.dumps(s, ensure_ascii=False)


def _endpoint_url(endpoint: str) -> str:
    url = endpoint if "://" in endpoint else "https://" + endpoint
    return url.rstrip("/")


def _url_host(url: str) -> str:
    return urlsplit(url).netloc


def _host_dir(registry: str) -> str:
    return DEFAULT_DIR if registry == "*" else registry


def _tls_lines(config: Mapping[str, Any] | None) -> list[str]:
    tls = (config or {}).get("tls") or {}
    lines: list[str] = []
    if "insecure_skip_verify" in tls:
        lines.append(f"skip_verify = {'true' if tls['insecure_skip_verify'] else 'false'}")
    if tls.get("ca_file"):
        lines.append(f"ca = {_toml_str(tls['ca_file'])}")
    if tls.get("cert_file"):
        pair = [tls["cert_file"], tls.get("key_file") or ""]
        lines.append(f"client = [[{', '.join(_toml_str(p) for p in pair)}]]")
    return lines


def _upstream(registry: str) -> str | None:
    if registry == "*":
        return None  # containerd falls back to the requested host itself
    return DOCKER_HUB_UPSTREAM if registry_host(registry) == DOCKER_HUB else f"https://{registry}"


def render_hosts_file(registry: str, endpoints: Sequence[str], configs: Mapping[str, Any]) -> str:
    """hosts.toml of one registry: mirror endpoints first, then the upstream with its TLS settings."""
    lines: list[str] = []
    upstream = _upstream(registry)
    if upstream is not None:
        lines.append(f"server = {_toml_str(upstream)}")
        lines += _tls_lines(configs.get(registry))
    for endpoint in endpoints:
        url = _endpoint_url(endpoint)
        if upstream is not None and url == upstream and not _tls_lines(configs.get(_url_host(url))):
            continue  # the upstream is tried anyway
        if lines:
            lines.append("")
        lines.append(f"[host.{_toml_str(url)}]")
        lines.append('  capabilities = ["pull", "resolve"]')
        lines += ["  " + line for line in _tls_lines(configs.get(_url_host(url)))]
    if not any(line.startswith("[host.") for line in lines):
        # containerd 1.6 rejects a file without a `host` table and then ignores it.
        lines += ["", "[host]"] if lines else ["[host]"]
    return "\n".join(lines) + "\n"


def render_hosts_toml(registries: Mapping[str, Any]) -> dict[str, str]:
    """Host directory name → hosts.toml text, for every mirrored or configured registry."""
    mirrors: Mapping[str, Any] = registries.get("mirrors") or {}
    configs: Mapping[str, Any] = registries.get("configs") or {}
    out: dict[str, str] = {}
    for registry, mirror in mirrors.items():
        endpoints = (mirror or {}).get("endpoint") or []
        out[_host_dir(registry)] = render_hosts_file(registry, endpoints, configs)
    for host, config in configs.items():
        if _host_dir(host) in out or not _tls_lines(config):
            continue  # auth-only configs need no host file: credentials go in the pull request
        out[_host_dir(host)] = render_hosts_file(host, [], configs)
    return out


def write_registry_config(registries_yaml: Path | None, certs_dir: Path) -> dict[str, Any]:
    """Render registries.yaml into `certs_dir` (containerd's config_path); return the parsed file.

    `certs_dir` belongs to the node: host directories no longer configured are removed, so taking a
    mirror out of registries.yaml takes effect (containerd re-reads the directory on every pull).
    """
    registries = load_registries(registries_yaml)
    files = render_hosts_toml(registries)
    certs_dir.mkdir(parents=True, exist_ok=True)
    for child in certs_dir.iterdir():
        if child.is_dir() and child.name not in files and (child / HOSTS_FILE).exists():
            shutil.rmtree(child)
    for name, text in files.items():
        d = certs_dir / name
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / (HOSTS_FILE + ".tmp")
        tmp.write_text(text)
        tmp.replace(d / HOSTS_FILE)
    return registries


# ---- credentials ----

Credentials = tuple[str, str]


def _decode_auth_entry(entry: Mapping[str, Any]) -> Credentials | None:
    if entry.get("username"):
        return str(entry["username"]), str(entry.get("password") or "")
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if sep and user:
            return user, password
    return None


def _secret_auths(secret: Mapping[str, Any]) -> Mapping[str, Any]:
    """The `auths` map (registry key → entry) of a docker config secret; {} for other secrets."""
    data = secret.get("data") or {}
    stype = secret.get("type", "")
    try:
        if ".dockerconfigjson" in data and stype in ("", "kubernetes.io/dockerconfigjson"):
            doc = json.loads(base64.b64decode(data[".dockerconfigjson"]))
            auths = doc.get("auths") if isinstance(doc, dict) else None
        elif ".dockercfg" in data and stype in ("", "kubernetes.io/dockercfg"):
            auths = json.loads(base64.b64decode(data[".dockercfg"]))
        else:
            return {}
    except (binascii.Error, ValueError):
        return {}
    return auths if isinstance(auths, dict) else {}


def _parse_key(key: str) -> tuple[str, str]:
    """A docker config key (`https://index.docker.io/v1/`, `host:5000/team`) → (host, path)."""
    rest = key.split("://", 1)[1] if "://" in key else key
    host, _, path = rest.partition("/")
    path = path.strip("/")
    if path in ("v1", "v2"):
        path = ""  # API version suffixes name the registry, not a repository prefix
    return registry_host(host), path


def _key_matches(key_host: str, key_path: str, host: str, repository: str) -> bool:
    if ("*" in key_host and fnmatch.fnmatchcase(host, key_host)
            and key_host.count(".") == host.count(".")) or key_host == host:
        return not key_path or repository == key_path or repository.startswith(key_path + "/")
    return False


def _from_pull_secrets(host: str, repository: str, pull_secrets: Sequence[Mapping[str, Any]]) -> Credentials | None:
    best: tuple[int, int, Credentials] | None = None
    for index, secret in enumerate(pull_secrets):
        for key, entry in _secret_auths(secret).items():
            key_host, key_path = _parse_key(str(key))
            if not isinstance(entry, dict) or not _key_matches(key_host, key_path, host, repository):
                continue
            creds = _decode_auth_entry(entry)
            # The most specific key wins (longer path, exact host); among equals, the first secret.
            rank = (len(key_path) * 2 + (0 if "*" in key_host else 1), -index)
            if creds is not None and (best is None or rank > best[:2]):
                best = (rank[0], rank[1], creds)
    return best[2] if best else None


def _from_registries(host: str, registries: Mapping[str, Any]) -> Credentials | None:
    mirrors: Mapping[str, Any] = registries.get("mirrors") or {}
    configs: Mapping[str, Any] = registries.get("configs") or {}
    mirror = mirrors.get(host) or (mirrors.get("docker.io") if host == DOCKER_HUB else None) or mirrors.get("*")
    candidates = [_url_host(_endpoint_url(e)) for e in ((mirror or {}).get("endpoint") or [])] + [host]
    for candidate in candidates:
        auth = (configs.get(candidate) or {}).get("auth")
        if isinstance(auth, dict) and (creds := _decode_auth_entry(auth)) is not None:
            return creds
    return None


def credentials_for(image: str, registries: Mapping[str, Any],
                    pull_secrets: Sequence[Mapping[str, Any]]) -> Credentials | None:
    """(username, password) to pull `image` with, or None for an anonymous pull.

    `pull_secrets` are Secret objects (kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg)
    named by the pod's imagePullSecrets; they win over the node's registries.yaml.
    """
    ref = parse_image(image)
    return (_from_pull_secrets(ref.registry, ref.repository, pull_secrets)
            or _from_registries(ref.registry, registries))
