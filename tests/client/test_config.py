"""Kubeconfig and in-cluster configuration loading, and the TLS context they give."""

from __future__ import annotations

import base64
import ssl
from pathlib import Path
from typing import Any

import pytest
import yaml

from kybernetes.client.config import (
    ClientConfig,
    ConfigError,
    in_cluster_config,
    load_config,
    load_kubeconfig,
)
from kybernetes.util import pki


def write(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return path


def kubeconfig(*, clusters: list[Any], users: list[Any], contexts: list[Any], current: str = "") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Config", "clusters": clusters, "users": users, "contexts": contexts,
            "current-context": current}


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


CASES = [
    pytest.param(
        kubeconfig(clusters=[{"name": "c", "cluster": {"server": "https://h:6443/", "certificate-authority-data": b64("CA")}}],
                   users=[{"name": "u", "user": {"client-certificate-data": b64("CERT"), "client-key-data": b64("KEY")}}],
                   contexts=[{"name": "x", "context": {"cluster": "c", "user": "u", "namespace": "team"}}], current="x"),
        "", {"server": "https://h:6443", "ca_data": b"CA", "client_cert_data": b"CERT", "client_key_data": b"KEY",
             "namespace": "team"},
        id="embedded-data"),
    pytest.param(
        kubeconfig(clusters=[{"name": "c", "cluster": {"server": "https://h", "certificate-authority": "pki/ca.crt"}}],
                   users=[{"name": "u", "user": {"client-certificate": "pki/u.crt", "client-key": "/abs/u.key"}}],
                   contexts=[{"name": "x", "context": {"cluster": "c", "user": "u"}}], current="x"),
        "", {"ca_file": "{dir}/pki/ca.crt", "client_cert_file": "{dir}/pki/u.crt", "client_key_file": "/abs/u.key",
             "namespace": "default"},
        id="relative-paths-from-the-file"),
    pytest.param(
        kubeconfig(clusters=[{"name": "c", "cluster": {"server": "https://h", "insecure-skip-tls-verify": True}}],
                   users=[{"name": "u", "user": {"token": "abc"}}, {"name": "v", "user": {"tokenFile": "tok"}}],
                   contexts=[{"name": "x", "context": {"cluster": "c", "user": "u"}},
                             {"name": "y", "context": {"cluster": "c", "user": "v"}}], current="x"),
        "y", {"insecure_skip_tls_verify": True, "token": "", "token_file": "{dir}/tok"},
        id="explicit-context-token-file"),
    pytest.param(
        kubeconfig(clusters=[{"name": "c", "cluster": {"server": "https://h", "insecure-skip-tls-verify": True}}],
                   users=[{"name": "u", "user": {"token": "abc"}}],
                   contexts=[{"name": "x", "context": {"cluster": "c", "user": "u"}}], current="x"),
        "", {"token": "abc"},
        id="token"),
]


@pytest.mark.parametrize(("doc", "context", "expected"), CASES)
def test_load_kubeconfig(tmp_path: Path, doc: dict[str, Any], context: str, expected: dict[str, Any]) -> None:
    cfg = load_kubeconfig(write(tmp_path / "kc", doc), context=context)
    for attr, value in expected.items():
        if isinstance(value, str):
            value = value.replace("{dir}", str(tmp_path))
        assert getattr(cfg, attr) == value, attr


@pytest.mark.parametrize(("doc", "context", "message"), [
    pytest.param(kubeconfig(clusters=[], users=[], contexts=[]), "", "no current-context", id="no-context"),
    pytest.param(kubeconfig(clusters=[], users=[], contexts=[], current="gone"), "", 'context "gone" does not exist',
                 id="missing-context"),
    pytest.param(kubeconfig(clusters=[], users=[], contexts=[{"name": "x", "context": {"cluster": "c"}}], current="x"),
                 "", 'cluster "c"', id="missing-cluster"),
])
def test_bad_kubeconfig(tmp_path: Path, doc: dict[str, Any], context: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_kubeconfig(write(tmp_path / "kc", doc), context=context)


def test_kubeconfig_env_list_merges_first_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = write(tmp_path / "a", kubeconfig(clusters=[{"name": "c", "cluster": {"server": "https://first"}}],
                                             users=[], contexts=[], current="x"))
    second = write(tmp_path / "b", kubeconfig(clusters=[{"name": "c", "cluster": {"server": "https://second"}}],
                                              users=[{"name": "u", "user": {"token": "t"}}],
                                              contexts=[{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                                              current="other"))
    monkeypatch.setenv("KUBECONFIG", f"{first}:{tmp_path / 'missing'}:{second}")
    cfg = load_config()
    assert cfg.server == "https://first" and cfg.token == "t"


def test_default_kubeconfig_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ConfigError, match="no kubeconfig found"):
        load_config()
    write(tmp_path / ".kube" / "config", kubeconfig(clusters=[{"name": "c", "cluster": {"server": "http://h:8080"}}],
                                                    users=[], contexts=[{"name": "x", "context": {"cluster": "c"}}],
                                                    current="x"))
    cfg = load_config()
    assert cfg.server == "http://h:8080" and cfg.ssl_context() is None


def test_in_cluster(tmp_path: Path) -> None:
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("jwt-1\n")
    (sa / "namespace").write_text("kube-system")
    env = {"KUBERNETES_SERVICE_HOST": "10.43.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    cfg = in_cluster_config(sa, env)
    assert cfg.server == "https://10.43.0.1:443" and cfg.namespace == "kube-system"
    assert cfg.bearer_token() == "jwt-1" and cfg.ca_file == ""
    (sa / "token").write_text("jwt-2")
    assert cfg.bearer_token() == "jwt-1", "the token file is re-read only now and then"
    cfg._token_cache = None
    assert cfg.bearer_token() == "jwt-2"
    v6 = in_cluster_config(sa, {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"})
    assert v6.server == "https://[fd00::1]:443"
    with pytest.raises(ConfigError, match="KUBERNETES_SERVICE_HOST"):
        in_cluster_config(sa, {})


def test_ssl_context_with_real_certificates(tmp_path: Path) -> None:
    paths = pki.ensure_pki(tmp_path, server_sans_dns=["localhost"], server_sans_ip=["127.0.0.1"],
                           server_url="https://127.0.0.1:6443")
    cfg = load_kubeconfig(paths.kubeconfig)
    ctx = cfg.ssl_context()
    assert isinstance(ctx, ssl.SSLContext) and ctx.verify_mode == ssl.CERT_REQUIRED
    assert len(ctx.get_ca_certs()) == 1
    by_file = ClientConfig(server=cfg.server, ca_file=str(paths.ca_cert), client_cert_file=str(paths.tls_dir / "client-admin.crt"),
                           client_key_file=str(paths.tls_dir / "client-admin.key"))
    assert by_file.ssl_context() is not None
    insecure = ClientConfig(server="https://x", insecure_skip_tls_verify=True).ssl_context()
    assert insecure is not None and insecure.verify_mode == ssl.CERT_NONE
