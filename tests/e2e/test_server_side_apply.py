"""Real kubectl against a real `kyb server`: server-side apply and managedFields.

``kubectl apply --server-side`` sends the manifest as an apply patch; the server creates or
merges it, tracks field ownership per manager in ``metadata.managedFields``, reports conflicts
with other managers (409, kubectl exits non-zero) unless ``--force-conflicts``, and removes
fields a manager stops applying. A client-side-applied object migrates to server-side apply
(kubectl rewrites managedFields with a JSON patch) without conflicts. helm 4, which installs
and upgrades with server-side apply, works against the server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer

pytestmark = pytest.mark.e2e


def configmap(name: str, data: dict[str, str], labels: dict[str, str] | None = None) -> str:
    doc: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}
    if labels:
        doc["metadata"]["labels"] = labels
    return json.dumps(doc)


def deployment(name: str, replicas: int = 1, image: str = "busybox", env: bool = False) -> str:
    extra = "\n                env:\n                - {name: MODE, value: fast}" if env else ""
    return textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {name}
        spec:
          replicas: {replicas}
          selector:
            matchLabels: {{app: {name}}}
          template:
            metadata:
              labels: {{app: {name}}}
            spec:
              containers:
              - name: app
                image: {image}{extra}
        """)


def write(d: Path, name: str, text: str) -> str:
    p = d / f"{name}.yaml"
    p.write_text(text)
    return str(p)


def get(kyb: KybServer, kind: str, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(kyb.kubectl("get", kind, name, "-o", "json", "--show-managed-fields").stdout)
    return obj


def managers(obj: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["manager"], e["operation"]): e["fieldsV1"] for e in obj["metadata"].get("managedFields", [])}


def test_create_then_change(kyb: KybServer, tmp_path: Path) -> None:
    path = write(tmp_path, "cm", configmap("ssa-a", {"k": "1"}, {"team": "x"}))
    proc = kyb.kubectl("apply", "--server-side", "-f", path)
    assert proc.stdout.strip() == "configmap/ssa-a serverside-applied"
    obj = get(kyb, "configmap", "ssa-a")
    assert managers(obj) == {("kubectl", "Apply"): {"f:data": {"f:k": {}},
                                                    "f:metadata": {"f:labels": {"f:team": {}}}}}
    write(tmp_path, "cm", configmap("ssa-a", {"k": "2", "j": "3"}, {"team": "x"}))
    kyb.kubectl("apply", "--server-side", "-f", path)
    obj = get(kyb, "configmap", "ssa-a")
    assert obj["data"] == {"k": "2", "j": "3"}
    assert managers(obj)[("kubectl", "Apply")]["f:data"] == {"f:j": {}, "f:k": {}}


def test_conflict_with_another_manager_then_force(kyb: KybServer, tmp_path: Path) -> None:
    path = write(tmp_path, "d", deployment("ssa-b", replicas=1))
    kyb.kubectl("apply", "--server-side", "-f", path)
    write(tmp_path, "d", deployment("ssa-b", replicas=3))
    proc = kyb.kubectl("apply", "--server-side", "--field-manager=other", "-f", path, check=False)
    assert proc.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas' in proc.stderr
    assert "--force-conflicts" in proc.stderr  # kubectl's advice, printed for a conflict
    assert get(kyb, "deployment", "ssa-b")["spec"]["replicas"] == 1
    kyb.kubectl("apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", path)
    obj = get(kyb, "deployment", "ssa-b")
    assert obj["spec"]["replicas"] == 3
    owned = managers(obj)
    assert "f:replicas" in owned[("other", "Apply")]["f:spec"]
    assert "f:replicas" not in owned[("kubectl", "Apply")]["f:spec"]


def test_same_value_is_shared_not_a_conflict(kyb: KybServer, tmp_path: Path) -> None:
    path = write(tmp_path, "cm", configmap("ssa-c", {"k": "1"}))
    kyb.kubectl("apply", "--server-side", "-f", path)
    kyb.kubectl("apply", "--server-side", "--field-manager=other", "-f", path)
    owned = managers(get(kyb, "configmap", "ssa-c"))
    assert owned[("kubectl", "Apply")] == owned[("other", "Apply")] == {"f:data": {"f:k": {}}}


def test_removing_a_field_from_the_manifest_removes_it(kyb: KybServer, tmp_path: Path) -> None:
    path = write(tmp_path, "d", deployment("ssa-d", env=True))
    kyb.kubectl("apply", "--server-side", "-f", path)
    assert get(kyb, "deployment", "ssa-d")["spec"]["template"]["spec"]["containers"][0]["env"]
    write(tmp_path, "d", deployment("ssa-d", env=False))
    kyb.kubectl("apply", "--server-side", "-f", path)
    container = get(kyb, "deployment", "ssa-d")["spec"]["template"]["spec"]["containers"][0]
    assert "env" not in container
    assert container["image"] == "busybox"
    cm = write(tmp_path, "cm", configmap("ssa-e", {"a": "1", "b": "2"}, {"x": "1"}))
    kyb.kubectl("apply", "--server-side", "-f", cm)
    write(tmp_path, "cm", configmap("ssa-e", {"a": "1"}))
    kyb.kubectl("apply", "--server-side", "-f", cm)
    obj = get(kyb, "configmap", "ssa-e")
    assert obj["data"] == {"a": "1"}
    assert "x" not in (obj["metadata"].get("labels") or {})


def test_client_side_apply_migrates_to_server_side(kyb: KybServer, tmp_path: Path) -> None:
    path = write(tmp_path, "d", deployment("ssa-f", replicas=2))
    kyb.kubectl("apply", "-f", path)
    owned = managers(get(kyb, "deployment", "ssa-f"))
    assert ("kubectl-client-side-apply", "Update") in owned
    proc = kyb.kubectl("apply", "--server-side", "-f", path)
    assert "serverside-applied" in proc.stdout
    obj = get(kyb, "deployment", "ssa-f")
    owned = managers(obj)
    assert ("kubectl-client-side-apply", "Update") not in owned
    assert "f:replicas" in owned[("kubectl", "Apply")]["f:spec"]
    # and a later change through server-side apply meets no conflict
    write(tmp_path, "d", deployment("ssa-f", replicas=4))
    kyb.kubectl("apply", "--server-side", "-f", path)
    assert get(kyb, "deployment", "ssa-f")["spec"]["replicas"] == 4


def test_update_managers_and_yaml_output(kyb: KybServer, tmp_path: Path) -> None:
    kyb.kubectl("create", "configmap", "ssa-g", "--from-literal=a=1")
    kyb.kubectl("label", "configmap", "ssa-g", "tier=web")
    out = kyb.kubectl("get", "configmap", "ssa-g", "-o", "yaml", "--show-managed-fields").stdout
    assert "manager: kubectl-create" in out and "manager: kubectl-label" in out
    assert "operation: Update" in out and "fieldsType: FieldsV1" in out
    owned = managers(get(kyb, "configmap", "ssa-g"))
    assert owned[("kubectl-create", "Update")] == {"f:data": {".": {}, "f:a": {}}}
    assert owned[("kubectl-label", "Update")] == {"f:metadata": {"f:labels": {".": {}, "f:tier": {}}}}
    # an applier changing a field another manager set by update conflicts with it
    path = write(tmp_path, "cm", configmap("ssa-g", {"a": "2"}))
    proc = kyb.kubectl("apply", "--server-side", "-f", path, check=False)
    assert proc.returncode != 0
    assert 'conflict with "kubectl-create" using v1: .data.a' in proc.stderr


# --- helm 4 (server-side apply by default) ------------------------------------------------------------
CHART = {
    "Chart.yaml": "apiVersion: v2\nname: tiny\nversion: 0.1.0\n",
    "values.yaml": "replicas: 1\nextra: true\n",
    "templates/cm.yaml": textwrap.dedent("""\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ .Release.Name }}-cfg
        data:
          greeting: hello
          {{- if .Values.extra }}
          extra: "yes"
          {{- end }}
        """),
    "templates/deploy.yaml": textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ .Release.Name }}-web
        spec:
          replicas: {{ .Values.replicas }}
          selector:
            matchLabels: {app: {{ .Release.Name }}}
          template:
            metadata:
              labels: {app: {{ .Release.Name }}}
            spec:
              containers:
              - name: web
                image: busybox
                ports:
                - containerPort: 8080
        """),
}


@pytest.fixture(scope="module")
def helm(tmp_path_factory: pytest.TempPathFactory) -> str:
    """helm 4 from tools/install_kubectl.py, in a temp dir (skips where it cannot be installed)."""
    dest = tmp_path_factory.mktemp("helm-bin")
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, str(repo / "tools" / "install_kubectl.py"), str(dest)],
                          capture_output=True, text=True, timeout=300)
    binary = dest / "helm"
    if proc.returncode != 0 or not binary.exists():
        pytest.skip(f"helm could not be installed: {proc.stderr[-500:]}")
    return str(binary)


def run_helm(helm: str, kyb: KybServer, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, KUBECONFIG=str(kyb.kubeconfig), HOME=str(home), HELM_CACHE_HOME=str(home / "cache"),
               HELM_CONFIG_HOME=str(home / "config"), HELM_DATA_HOME=str(home / "data"))
    proc = subprocess.run([helm, *args], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"helm {' '.join(args)}: {proc.stdout}\n{proc.stderr}"
    return proc


def test_helm_install_and_upgrade(kyb: KybServer, helm: str, tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    for name, text in CHART.items():
        (chart / name).parent.mkdir(parents=True, exist_ok=True)
        (chart / name).write_text(text)
    home = tmp_path / "home"
    run_helm(helm, kyb, home, "install", "rel", str(chart))
    deploy_obj = get(kyb, "deployment", "rel-web")
    assert deploy_obj["spec"]["replicas"] == 1
    assert ("helm", "Apply") in managers(deploy_obj)
    assert get(kyb, "configmap", "rel-cfg")["data"] == {"greeting": "hello", "extra": "yes"}
    run_helm(helm, kyb, home, "upgrade", "rel", str(chart), "--set", "replicas=3", "--set", "extra=false")
    assert get(kyb, "deployment", "rel-web")["spec"]["replicas"] == 3
    assert get(kyb, "configmap", "rel-cfg")["data"] == {"greeting": "hello"}  # dropped from the chart: removed
    assert "deployed" in run_helm(helm, kyb, home, "list").stdout
    run_helm(helm, kyb, home, "uninstall", "rel")
    assert kyb.kubectl("get", "configmap", "rel-cfg", check=False).returncode != 0


def test_client_side_apply_then_changed_server_side_apply(kyb: KybServer, tmp_path: Path) -> None:
    """kubectl may take over what it applied client-side even when the new manifest changes it."""
    path = write(tmp_path, "d", deployment("ssa-h", replicas=2))
    kyb.kubectl("apply", "-f", path)
    write(tmp_path, "d", deployment("ssa-h", replicas=5))
    kyb.kubectl("apply", "--server-side", "-f", path)
    obj = get(kyb, "deployment", "ssa-h")
    assert obj["spec"]["replicas"] == 5
    assert ("kubectl-client-side-apply", "Update") not in managers(obj)
    last = json.loads(obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert last["spec"]["replicas"] == 5
