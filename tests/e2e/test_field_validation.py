"""Real kubectl against a real `kyb server`: unknown fields, duplicate fields and wrong types.

kubectl asks for ``fieldValidation=Strict`` by default (``--validate=strict``), ``Warn`` with
``--validate=warn`` and ``Ignore`` with ``--validate=false``; the server prunes unknown fields in
every mode and rejects wrongly typed values in every mode.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer

pytestmark = pytest.mark.e2e


def deployment(name: str, *, spec_extra: str = "", container_extra: str = "", replicas: str = "1") -> str:
    return textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {name}
        spec:
          replicas: {replicas}
        {textwrap.indent(spec_extra, "  ")}
          selector:
            matchLabels: {{app: {name}}}
          template:
            metadata:
              labels: {{app: {name}}}
            spec:
              containers:
              - name: app
                image: busybox
        {textwrap.indent(container_extra, "        ")}
        """)


@pytest.fixture
def manifests(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


def write(d: Path, name: str, text: str) -> str:
    p = d / f"{name}.yaml"
    p.write_text(text)
    return str(p)


def stored(kyb: KybServer, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(kyb.kubectl("get", "deployment", name, "-o", "json").stdout)
    return obj


def test_strict_create_rejects_unknown_field(kyb: KybServer, manifests: Path) -> None:
    path = write(manifests, "typo", deployment("typo", spec_extra="replicass: 2"))
    proc = kyb.kubectl("create", "-f", path, check=False)
    assert proc.returncode != 0
    assert (f'Error from server (BadRequest): error when creating "{path}": Deployment in version "v1" cannot be'
            ' handled as a Deployment: strict decoding error: unknown field "spec.replicass"') in proc.stderr
    assert kyb.kubectl("get", "deployment", "typo", check=False).returncode != 0


def test_strict_lists_every_unknown_field_with_list_indexes(kyb: KybServer, manifests: Path) -> None:
    path = write(manifests, "typo2", deployment("typo2", spec_extra="replicass: 2", container_extra="bogus: 1"))
    proc = kyb.kubectl("create", "-f", path, check=False)
    assert proc.returncode != 0
    assert ('strict decoding error: unknown field "spec.replicass", '
            'unknown field "spec.template.spec.containers[0].bogus"') in proc.stderr


def test_warn_creates_without_the_field(kyb: KybServer, manifests: Path) -> None:
    path = write(manifests, "warned", deployment("warned", spec_extra="replicass: 2", container_extra="bogus: 1"))
    proc = kyb.kubectl("create", "-f", path, "--validate=warn")
    assert "deployment.apps/warned created" in proc.stdout
    assert 'Warning: unknown field "spec.replicass"' in proc.stderr
    assert 'Warning: unknown field "spec.template.spec.containers[0].bogus"' in proc.stderr
    obj = stored(kyb, "warned")
    assert "replicass" not in obj["spec"]
    assert "bogus" not in obj["spec"]["template"]["spec"]["containers"][0]


def test_ignore_creates_silently_without_the_field(kyb: KybServer, manifests: Path) -> None:
    path = write(manifests, "ignored", deployment("ignored", spec_extra="replicass: 2"))
    proc = kyb.kubectl("create", "-f", path, "--validate=false")
    assert "deployment.apps/ignored created" in proc.stdout
    assert "Warning" not in proc.stderr
    assert "replicass" not in json.dumps(stored(kyb, "ignored"))


def test_apply_rejects_unknown_field(kyb: KybServer, manifests: Path) -> None:
    path = write(manifests, "applied", deployment("applied", spec_extra="replicass: 2"))
    proc = kyb.kubectl("apply", "-f", path, check=False)
    assert proc.returncode != 0
    assert ('Deployment in version "v1" cannot be handled as a Deployment: '
            'strict decoding error: unknown field "spec.replicass"') in proc.stderr


def test_apply_patch_of_existing_object_rejects_unknown_field(kyb: KybServer, manifests: Path) -> None:
    good = write(manifests, "patched", deployment("patched"))
    kyb.kubectl("apply", "-f", good)
    bad = write(manifests, "patched", deployment("patched", spec_extra="replicass: 2"))
    proc = kyb.kubectl("apply", "-f", bad, check=False)
    assert proc.returncode != 0
    assert "Error from server (BadRequest): error when applying patch" in proc.stderr
    assert 'strict decoding error: unknown field "spec.replicass"' in proc.stderr
    proc = kyb.kubectl("apply", "-f", bad, "--validate=warn")
    assert 'Warning: unknown field "spec.replicass"' in proc.stderr
    assert "replicass" not in stored(kyb, "patched")["spec"]


def test_server_side_apply_rejects_unknown_field(kyb: KybServer, manifests: Path) -> None:
    path = write(manifests, "ssa", deployment("ssa", spec_extra="replicass: 2"))
    proc = kyb.kubectl("apply", "--server-side", "-f", path, check=False)
    assert proc.returncode != 0
    assert ("Error from server: failed to create typed patch object (default/ssa; apps/v1, Kind=Deployment): "
            ".spec.replicass: field not declared in schema") in proc.stderr


def test_wrong_type_fails_in_every_mode(kyb: KybServer, manifests: Path) -> None:
    path = write(manifests, "typed", deployment("typed", replicas='"two"'))
    for validate in ("strict", "warn", "false"):
        proc = kyb.kubectl("create", "-f", path, f"--validate={validate}", check=False)
        assert proc.returncode != 0, validate
        assert ('Error from server (BadRequest): error when creating "' + path + '": Deployment in version "v1" '
                "cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field "
                "DeploymentSpec.spec.replicas of type int32") in proc.stderr, validate


def test_patch_defaults_to_warn_and_edit_is_strict(kyb: KybServer, manifests: Path) -> None:
    kyb.kubectl("apply", "-f", write(manifests, "meta", deployment("meta")))
    # kubectl patch sends no fieldValidation: the server default (Warn) applies.
    proc = kyb.kubectl("patch", "deployment", "meta", "-p", '{"metadata":{"app":"x"}}')
    assert 'Warning: unknown field "metadata.app"' in proc.stderr
    assert "app" not in stored(kyb, "meta")["metadata"]
    proc = kyb.kubectl("patch", "deployment", "meta", "--type=merge", "-p", '{"spec":{"replicas":"x"}}',
                       check=False)
    assert proc.returncode != 0
    assert "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32" \
        in proc.stderr
    # kubectl edit asks for Strict.
    editor = manifests / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/^spec:$/spec:\\n  replicass: 2/' \"$1\"\n")
    editor.chmod(0o755)
    proc = kyb.kubectl("edit", "deployment", "meta", env={"KUBE_EDITOR": str(editor)}, check=False)
    assert proc.returncode != 0
    assert 'strict decoding error: unknown field "spec.replicass"' in proc.stderr
