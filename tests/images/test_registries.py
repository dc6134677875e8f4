from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from kybernetes.images.registries import (
    credentials_for,
    load_registries,
    render_hosts_toml,
    write_registry_config,
)

LOCAL = "127.0.0.1:5000"


@pytest.mark.parametrize(("registries", "expected"), [
    pytest.param({}, {}, id="empty"),
    pytest.param(
        {"mirrors": {"docker.io": {"endpoint": [f"http://{LOCAL}"]}}},
        {"docker.io": 'server = "https://registry-1.docker.io"\n\n'
                      f'[host."http://{LOCAL}"]\n  capabilities = ["pull", "resolve"]\n'},
        id="docker-hub-plain-http-mirror"),
    pytest.param(
        {"mirrors": {"quay.io": {"endpoint": ["mirror.example.com:8443/", "https://m2.example.com/v2"]}},
         "configs": {"mirror.example.com:8443": {"tls": {"insecure_skip_verify": True}}}},
        {"quay.io": 'server = "https://quay.io"\n\n'
                    '[host."https://mirror.example.com:8443"]\n  capabilities = ["pull", "resolve"]\n'
                    '  skip_verify = true\n\n'
                    '[host."https://m2.example.com/v2"]\n  capabilities = ["pull", "resolve"]\n',
         # Its TLS settings also hold when the mirror is pulled from directly.
         "mirror.example.com:8443": 'server = "https://mirror.example.com:8443"\nskip_verify = true\n\n[host]\n'},
        id="schemeless-endpoint-gets-https-and-endpoint-tls"),
    pytest.param(
        {"mirrors": {"*": {"endpoint": [f"http://{LOCAL}"]}}},
        {"_default": f'[host."http://{LOCAL}"]\n  capabilities = ["pull", "resolve"]\n'},
        id="wildcard-is-default-dir-without-server"),
    pytest.param(
        {"configs": {"reg.example.com": {"tls": {"ca_file": "/etc/ca.pem", "cert_file": "/c.pem",
                                                  "key_file": "/k.pem", "insecure_skip_verify": False}}}},
        {"reg.example.com": 'server = "https://reg.example.com"\nskip_verify = false\nca = "/etc/ca.pem"\n'
                            'client = [["/c.pem", "/k.pem"]]\n\n[host]\n'},
        id="config-only-tls-upstream"),
    pytest.param(
        {"configs": {"reg.example.com": {"auth": {"username": "u", "password": "p"}}}},
        {}, id="auth-only-config-needs-no-file"),
    pytest.param(
        {"mirrors": {"docker.io": {"endpoint": ["https://registry-1.docker.io"]}}},
        {"docker.io": 'server = "https://registry-1.docker.io"\n\n[host]\n'},
        id="mirror-equal-to-upstream-not-repeated"),
    pytest.param(
        {"mirrors": {"docker.io": {"endpoint": []}},
         "configs": {"docker.io": {"tls": {"ca_file": "/ca"}}}},
        {"docker.io": 'server = "https://registry-1.docker.io"\nca = "/ca"\n\n[host]\n'},
        id="upstream-tls-at-top-level"),
])
def test_render_hosts_toml(registries: dict[str, Any], expected: dict[str, str]) -> None:
    assert render_hosts_toml(registries) == expected


def test_write_registry_config_replaces_stale_hosts(tmp_path: Path) -> None:
    certs = tmp_path / "certs.d"
    yml = tmp_path / "registries.yaml"
    yml.write_text("mirrors:\n  docker.io:\n    endpoint: [http://127.0.0.1:5000]\n"
                   "  quay.io:\n    endpoint: [http://127.0.0.1:5001]\n")
    write_registry_config(yml, certs)
    assert sorted(p.name for p in certs.iterdir()) == ["docker.io", "quay.io"]
    (certs / "user-certs").mkdir()  # not ours: no hosts.toml inside, so left alone
    yml.write_text("mirrors:\n  docker.io:\n    endpoint: [http://127.0.0.1:5002]\n")
    registries = write_registry_config(yml, certs)
    assert sorted(p.name for p in certs.iterdir()) == ["docker.io", "user-certs"]
    assert "5002" in (certs / "docker.io" / "hosts.toml").read_text()
    assert registries["mirrors"]["docker.io"]["endpoint"] == ["http://127.0.0.1:5002"]
    assert write_registry_config(None, certs) == {}
    assert sorted(p.name for p in certs.iterdir()) == ["user-certs"]


@pytest.mark.parametrize("text", [
    pytest.param("- a\n", id="not-a-mapping"),
    pytest.param("mirrors: [a]\n", id="mirrors-list"),
    pytest.param("mirrors:\n  docker.io:\n    endpoint: http://x\n", id="endpoint-not-list"),
])
def test_invalid_registries_yaml(tmp_path: Path, text: str) -> None:
    (tmp_path / "r.yaml").write_text(text)
    with pytest.raises(ValueError):
        load_registries(tmp_path / "r.yaml")


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def dockerconfigjson(auths: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": b64(json.dumps({"auths": auths}))}}


def dockercfg(auths: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "Secret", "type": "kubernetes.io/dockercfg", "data": {".dockercfg": b64(json.dumps(auths))}}


MIRRORED = {"mirrors": {"docker.io": {"endpoint": [f"http://{LOCAL}"]}},
            "configs": {LOCAL: {"auth": {"username": "mirror-user", "password": "mirror-pw"}},
                        "quay.io": {"auth": {"auth": b64("quay-user:quay:pw")}}}}


@pytest.mark.parametrize(("image", "registries", "secrets", "expected"), [
    pytest.param("busybox", {}, [], None, id="nothing-configured"),
    pytest.param("busybox", {}, [dockerconfigjson({"https://index.docker.io/v1/": {"auth": b64("hub:pw")}})],
                 ("hub", "pw"), id="hub-v1-key-base64"),
    pytest.param("docker.io/team/app", {}, [dockerconfigjson({"docker.io": {"username": "u", "password": "p"}})],
                 ("u", "p"), id="hub-host-key-username"),
    pytest.param("quay.io/a/b", {}, [dockerconfigjson({"https://index.docker.io/v1/": {"auth": b64("hub:pw")}})],
                 None, id="other-registry-no-match"),
    pytest.param("reg.example.com:5000/a", {}, [dockercfg({"reg.example.com:5000": {"auth": b64("old:fmt")}})],
                 ("old", "fmt"), id="dockercfg-format"),
    pytest.param("reg.example.com/a", {}, [dockercfg({"reg.example.com:5000": {"auth": b64("x:y")}})],
                 None, id="port-must-match"),
    pytest.param("reg.example.com/team/app:1", {},
                 [dockerconfigjson({"reg.example.com": {"auth": b64("general:1")},
                                    "reg.example.com/team": {"auth": b64("team:2")}})],
                 ("team", "2"), id="longest-path-wins"),
    pytest.param("reg.example.com/teams/app", {},
                 [dockerconfigjson({"reg.example.com/team": {"auth": b64("team:2")}})],
                 None, id="path-prefix-is-per-component"),
    pytest.param("eu.reg.example.com/app", {}, [dockerconfigjson({"*.reg.example.com": {"auth": b64("w:c")}})],
                 ("w", "c"), id="wildcard-host"),
    pytest.param("reg.example.com/app", {},
                 [dockerconfigjson({"reg.example.com": {"auth": b64("first:1")}}),
                  dockerconfigjson({"reg.example.com": {"auth": b64("second:2")}})],
                 ("first", "1"), id="first-secret-wins-among-equals"),
    pytest.param("busybox", MIRRORED, [], ("mirror-user", "mirror-pw"), id="mirror-endpoint-config"),
    pytest.param("busybox", MIRRORED, [dockerconfigjson({"docker.io": {"auth": b64("s:p")}})],
                 ("s", "p"), id="secret-before-registries-yaml"),
    pytest.param("quay.io/x/y", MIRRORED, [], ("quay-user", "quay:pw"), id="registry-config-base64-colon-in-pw"),
    pytest.param("reg.example.com/app", {},
                 [{"type": "Opaque", "data": {"x": b64("y")}},
                  dockerconfigjson({"reg.example.com": {"auth": "!!not-base64"}})],
                 None, id="garbage-ignored"),
    pytest.param("reg.example.com/app", {}, [{"type": "kubernetes.io/dockerconfigjson",
                                              "data": {".dockerconfigjson": b64("not json")}}],
                 None, id="bad-json-ignored"),
])
def test_credentials_for(image: str, registries: dict[str, Any], secrets: list[dict[str, Any]],
                         expected: tuple[str, str] | None) -> None:
    assert credentials_for(image, registries, secrets) == expected
