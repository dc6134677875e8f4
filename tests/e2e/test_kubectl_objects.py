"""Real kubectl against a real `kyb server` subprocess: everyday object management."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from kybernetes.testing.cluster import KybServer, find_kubectl

pytestmark = pytest.mark.e2e


def kj(kyb: KybServer, *args: str) -> dict:
    return json.loads(kyb.kubectl(*args, "-o", "json").stdout)


def test_version_and_cluster_info(kyb: KybServer) -> None:
    out = kyb.kubectl("version").stdout
    assert "Server Version: v1.32" in out
    assert "exceeds the supported minor version skew" not in out
    info = kyb.kubectl("cluster-info").stdout
    assert f"Kubernetes control plane is running at https://127.0.0.1:{kyb.port}" in info


def test_api_resources_and_versions(kyb: KybServer) -> None:
    out = kyb.kubectl("api-resources").stdout
    # first row per name: metrics.k8s.io also serves "pods" and "nodes" (listed after the core group)
    lines = {line.split()[0]: line.split() for line in reversed(out.splitlines()[1:])}
    assert lines["deployments"][1:] == ["deploy", "apps/v1", "true", "Deployment"]
    assert lines["pods"][1:] == ["po", "v1", "true", "Pod"]
    assert lines["namespaces"][1:] == ["ns", "v1", "false", "Namespace"]
    assert "horizontalpodautoscalers" in lines
    versions = kyb.kubectl("api-versions").stdout.split()
    for gv in ("v1", "apps/v1", "batch/v1", "autoscaling/v1", "autoscaling/v2", "networking.k8s.io/v1",
               "policy/v1", "rbac.authorization.k8s.io/v1", "coordination.k8s.io/v1"):
        assert gv in versions


def test_system_namespaces_and_kubernetes_service(kyb: KybServer) -> None:
    names = kyb.kubectl("get", "ns", "-o", "name").stdout.split()
    for ns in ("namespace/default", "namespace/kube-system", "namespace/kube-public", "namespace/kube-node-lease"):
        assert ns in names
    svc = kj(kyb, "get", "svc", "kubernetes")
    assert svc["spec"]["clusterIP"] == "10.43.0.1"
    assert svc["spec"]["ports"][0]["port"] == 443


def test_explain(kyb: KybServer) -> None:
    out = kyb.kubectl("explain", "pod.spec").stdout
    assert "KIND:" in out and "Pod" in out
    assert "containers" in out
    out = kyb.kubectl("explain", "deployment.spec.strategy").stdout
    assert "rollingUpdate" in out


DEPLOY = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
      labels: {app: web}
    spec:
      replicas: 1
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers:
          - name: app
            image: nginx:1.25
            env:
            - {name: OLD, value: "1"}
            - {name: MODE, value: one}
    """)


def test_create_apply_diff_replace(kyb: KybServer, tmp_path: Path) -> None:
    f = tmp_path / "deploy.yaml"
    f.write_text(DEPLOY)
    out = kyb.kubectl("apply", "-f", str(f)).stdout
    assert out.strip() == "deployment.apps/web created"
    d = kj(kyb, "get", "deploy", "web")
    assert d["metadata"]["generation"] == 1
    assert d["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": "25%"}
    assert d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert "kubectl.kubernetes.io/last-applied-configuration" in d["metadata"]["annotations"]

    # second apply: image and replicas change, a label added, an env entry removed
    changed = (DEPLOY.replace("nginx:1.25", "nginx:1.26").replace("replicas: 1", "replicas: 2")
               .replace("labels: {app: web}\nspec", "labels: {app: web, tier: web}\nspec")
               .replace("value: one", "value: two"))
    changed = "".join(line for line in changed.splitlines(keepends=True) if "name: OLD" not in line)
    f.write_text(changed)
    diff = kyb.kubectl("diff", "-f", str(f), check=False)
    assert diff.returncode == 1, diff.stderr
    assert "nginx:1.26" in diff.stdout
    out = kyb.kubectl("apply", "-f", str(f)).stdout
    assert out.strip() == "deployment.apps/web configured"
    d = kj(kyb, "get", "deploy", "web")
    c = d["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "nginx:1.26"
    assert c["env"] == [{"name": "MODE", "value": "two"}]
    assert d["spec"]["replicas"] == 2
    assert d["metadata"]["labels"] == {"app": "web", "tier": "web"}
    assert d["metadata"]["generation"] == 2
    out = kyb.kubectl("apply", "-f", str(f)).stdout
    assert out.strip() == "deployment.apps/web unchanged"
    # (the deployment controller keeps writing status, so compare what apply owns, not the resourceVersion)
    again = kj(kyb, "get", "deploy", "web")
    assert again["metadata"]["generation"] == 2 and again["spec"] == d["spec"]

    # replace with the live resourceVersion works (re-read on a conflict: the deployment controller
    # writes status concurrently); create of an existing object is AlreadyExists
    live = tmp_path / "live.json"
    for _ in range(5):
        d = kj(kyb, "get", "deploy", "web")
        d["spec"]["replicas"] = 3
        live.write_text(json.dumps(d))
        replaced = kyb.kubectl("replace", "-f", str(live), check=False)
        if "Conflict" not in replaced.stderr:
            break
    assert replaced.stdout.strip() == "deployment.apps/web replaced", replaced.stderr
    # the same (now stale) resourceVersion again is a Conflict with upstream's text
    stale = kyb.kubectl("replace", "-f", str(live), check=False)
    assert stale.returncode != 0
    assert ('Operation cannot be fulfilled on deployments.apps "web": the object has been modified; '
            "please apply your changes to the latest version and try again") in stale.stderr
    dup = kyb.kubectl("create", "-f", str(f), check=False)
    assert 'deployments.apps "web" already exists' in dup.stderr


def test_edit_with_editor_script(kyb: KybServer, tmp_path: Path) -> None:
    kyb.kubectl("create", "configmap", "edited", "--from-literal=a=1")
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/^  a: \"1\"/  a: \"2\"/' \"$1\"\n")
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    out = kyb.kubectl("edit", "configmap", "edited", env={"KUBE_EDITOR": str(editor)}).stdout
    assert "configmap/edited edited" in out
    assert kj(kyb, "get", "cm", "edited")["data"] == {"a": "2"}


@pytest.mark.parametrize(("ptype", "patch", "expected"), [
    ("strategic", '{"data":{"b":"2"}}', {"a": "1", "b": "2"}),
    ("merge", '{"data":{"a":null,"c":"3"}}', {"c": "3"}),
    ("json", '[{"op":"add","path":"/data/d","value":"4"}]', {"a": "1", "d": "4"}),
], ids=["strategic", "merge", "json"])
def test_patch_types(kyb: KybServer, ptype: str, patch: str, expected: dict) -> None:
    name = f"patch-{ptype}"
    kyb.kubectl("create", "configmap", name, "--from-literal=a=1")
    out = kyb.kubectl("patch", "configmap", name, "--type", ptype, "-p", patch).stdout
    assert f"configmap/{name} patched" in out
    assert kj(kyb, "get", "cm", name)["data"] == expected


def test_label_annotate_scale(kyb: KybServer) -> None:
    kyb.kubectl("create", "deployment", "lab", "--image=busybox")
    kyb.kubectl("label", "deploy", "lab", "tier=backend")
    assert kj(kyb, "get", "deploy", "lab")["metadata"]["labels"]["tier"] == "backend"
    clash = kyb.kubectl("label", "deploy", "lab", "tier=frontend", check=False)
    assert clash.returncode != 0 and "--overwrite" in clash.stderr
    kyb.kubectl("label", "deploy", "lab", "tier=frontend", "--overwrite")
    assert kj(kyb, "get", "deploy", "lab")["metadata"]["labels"]["tier"] == "frontend"
    kyb.kubectl("label", "deploy", "lab", "tier-")
    assert "tier" not in kj(kyb, "get", "deploy", "lab")["metadata"]["labels"]
    kyb.kubectl("annotate", "deploy", "lab", "note=hello")
    assert kj(kyb, "get", "deploy", "lab")["metadata"]["annotations"]["note"] == "hello"
    kyb.kubectl("annotate", "deploy", "lab", "note-")
    assert "note" not in (kj(kyb, "get", "deploy", "lab")["metadata"].get("annotations") or {})
    out = kyb.kubectl("scale", "deploy", "lab", "--replicas=4").stdout
    assert "deployment.apps/lab scaled" in out
    assert kj(kyb, "get", "deploy", "lab")["spec"]["replicas"] == 4
    kyb.kubectl("scale", "deploy", "lab", "--replicas=2", "--current-replicas=4")
    assert kj(kyb, "get", "deploy", "lab")["spec"]["replicas"] == 2


def test_get_output_formats(kyb: KybServer) -> None:
    kyb.kubectl("create", "namespace", "fmt")
    for name, tier in (("a", "web"), ("b", "db"), ("c", "web")):
        kyb.kubectl("-n", "fmt", "run", name, "--image=busybox", f"--labels=tier={tier},app={name}")
    out = kyb.kubectl("-n", "fmt", "get", "pods").stdout.splitlines()
    assert out[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [line.split()[0] for line in out[1:]] == ["a", "b", "c"]
    assert out[1].split()[1:3] == ["0/1", "Pending"]
    wide = kyb.kubectl("-n", "fmt", "get", "pods", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert kyb.kubectl("-n", "fmt", "get", "pods", "-o", "name").stdout.split() == ["pod/a", "pod/b", "pod/c"]
    jp = kyb.kubectl("-n", "fmt", "get", "pods", "-o", "jsonpath={.items[*].metadata.name}").stdout
    assert jp == "a b c"
    cc = kyb.kubectl("-n", "fmt", "get", "pods", "-o", "custom-columns=N:.metadata.name,T:.metadata.labels.tier").stdout
    assert cc.split() == ["N", "T", "a", "web", "b", "db", "c", "web"]
    y = yaml.safe_load(kyb.kubectl("-n", "fmt", "get", "pod", "a", "-o", "yaml").stdout)
    assert y["spec"]["restartPolicy"] == "Always" and y["spec"]["dnsPolicy"] == "ClusterFirst"
    assert y["spec"]["terminationGracePeriodSeconds"] == 30
    assert y["spec"]["schedulerName"] == "default-scheduler"
    labels = kyb.kubectl("-n", "fmt", "get", "pods", "--show-labels").stdout.splitlines()
    assert labels[0].split()[-1] == "LABELS" and "app=a,tier=web" in labels[1]
    allns = kyb.kubectl("get", "pods", "-A").stdout.splitlines()
    assert allns[0].split()[0] == "NAMESPACE" and any(line.split()[:2] == ["fmt", "b"] for line in allns)
    sort = kyb.kubectl("-n", "fmt", "get", "pods", "--sort-by=.metadata.labels.tier", "-o", "name").stdout.split()
    assert sort == ["pod/b", "pod/a", "pod/c"]


@pytest.mark.parametrize(("selector", "expected"), [
    ("tier=web", ["a", "c"]),
    ("tier==web", ["a", "c"]),
    ("tier!=web", ["b"]),
    ("tier in (db,cache)", ["b"]),
    ("tier notin (db)", ["a", "c"]),
    ("app", ["a", "b", "c"]),
    ("!missing", ["a", "b", "c"]),
    ("tier=web,app=c", ["c"]),
], ids=["eq", "eqeq", "neq", "in", "notin", "exists", "notexists", "and"])
def test_label_selectors(kyb: KybServer, selector: str, expected: list[str]) -> None:
    if kyb.kubectl("get", "ns", "sel", check=False).returncode != 0:
        kyb.kubectl("create", "namespace", "sel")
        for name, tier in (("a", "web"), ("b", "db"), ("c", "web")):
            kyb.kubectl("-n", "sel", "run", name, "--image=busybox", f"--labels=tier={tier},app={name}")
    out = kyb.kubectl("-n", "sel", "get", "pods", "-l", selector, "-o", "name").stdout.split()
    assert out == [f"pod/{n}" for n in expected]


def test_field_selectors(kyb: KybServer) -> None:
    kyb.kubectl("create", "namespace", "fs")
    kyb.kubectl("-n", "fs", "run", "x", "--image=busybox")
    kyb.kubectl("-n", "fs", "run", "y", "--image=busybox")
    assert kyb.kubectl("-n", "fs", "get", "pods", "--field-selector", "metadata.name=y", "-o", "name").stdout.split() == ["pod/y"]
    assert kyb.kubectl("-n", "fs", "get", "pods", "--field-selector", "status.phase=Pending", "-o", "name").stdout.split() == ["pod/x", "pod/y"]
    assert kyb.kubectl("-n", "fs", "get", "pods", "--field-selector", "spec.nodeName=", "-o", "name").stdout.split() == ["pod/x", "pod/y"]
    bad = kyb.kubectl("-n", "fs", "get", "pods", "--field-selector", "spec.bogus=1", check=False)
    assert bad.returncode != 0 and "spec.bogus" in bad.stderr


def test_get_watch_sees_changes(kyb: KybServer) -> None:
    kyb.kubectl("create", "namespace", "watch")
    env = dict(os.environ, KUBECONFIG=str(kyb.kubeconfig), HOME=str(kyb.data_dir / "home"))
    proc = subprocess.Popen([find_kubectl(), "-n", "watch", "get", "configmaps", "-w", "--output-watch-events"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(1.0)
        kyb.kubectl("-n", "watch", "create", "configmap", "w1", "--from-literal=a=b")
        kyb.kubectl("-n", "watch", "label", "configmap", "w1", "x=y")
        kyb.kubectl("-n", "watch", "delete", "configmap", "w1")
        time.sleep(1.0)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    events = [line.split()[:2] for line in out.splitlines() if "w1" in line]
    assert events == [["ADDED", "w1"], ["MODIFIED", "w1"], ["DELETED", "w1"]], out


def test_generators_protobuf_and_json(kyb: KybServer) -> None:
    for version, ns in (("", "gen132"), ("1.27", "gen127")):
        kyb.kubectl("create", "namespace", ns, version=version)
        def run(*a: str, v: str = version, n: str = ns) -> str:
            return kyb.kubectl("-n", n, *a, version=v).stdout.strip()

        assert run("create", "configmap", "cm", "--from-literal=k=v") == "configmap/cm created"
        assert run("create", "secret", "generic", "s", "--from-literal=p=secret") == "secret/s created"
        assert run("create", "deployment", "d", "--image=busybox", "--replicas=2", "--port=80") == "deployment.apps/d created"
        assert run("create", "job", "j", "--image=busybox") == "job.batch/j created"
        assert run("create", "cronjob", "cj", "--image=busybox", "--schedule=*/5 * * * *") == "cronjob.batch/cj created"
        assert run("create", "service", "clusterip", "svc", "--tcp=80:8080") == "service/svc created"
        assert run("create", "ingress", "ing", "--rule=foo.com/bar=svc:80") == "ingress.networking.k8s.io/ing created"
        cm = kj(kyb, "-n", ns, "get", "cm", "cm")
        assert cm["data"] == {"k": "v"}
        sec = kj(kyb, "-n", ns, "get", "secret", "s")
        assert sec["type"] == "Opaque" and sec["data"] == {"p": "c2VjcmV0"}
        d = kj(kyb, "-n", ns, "get", "deploy", "d")
        assert d["spec"]["replicas"] == 2
        assert d["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
        j = kj(kyb, "-n", ns, "get", "job", "j")
        assert j["spec"]["template"]["spec"]["restartPolicy"] == "Never" and j["spec"]["backoffLimit"] == 6
        assert kj(kyb, "-n", ns, "get", "cronjob", "cj")["spec"]["schedule"] == "*/5 * * * *"
        svc = kj(kyb, "-n", ns, "get", "svc", "svc")
        assert svc["spec"]["ports"][0]["port"] == 80 and svc["spec"]["ports"][0]["targetPort"] == 8080
        assert svc["spec"]["clusterIP"].startswith("10.43.")
        ing = kj(kyb, "-n", ns, "get", "ingress", "ing")
        assert ing["spec"]["rules"][0]["host"] == "foo.com"


def test_run_expose_and_nodeport(kyb: KybServer) -> None:
    kyb.kubectl("create", "namespace", "expo")
    assert kyb.kubectl("-n", "expo", "run", "pinger", "--image=busybox", "--labels=app=ping").stdout.strip() == "pod/pinger created"
    out = kyb.kubectl("-n", "expo", "expose", "pod", "pinger", "--port=80", "--type=NodePort").stdout.strip()
    assert out == "service/pinger exposed"
    svc = kj(kyb, "-n", "expo", "get", "svc", "pinger")
    node_port = svc["spec"]["ports"][0]["nodePort"]
    assert 30000 <= node_port <= 32767
    assert svc["spec"]["selector"] == {"app": "ping"}
    table = kyb.kubectl("-n", "expo", "get", "svc", "pinger").stdout.splitlines()
    assert table[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert f"80:{node_port}/TCP" in table[1]


def test_delete_variants(kyb: KybServer) -> None:
    kyb.kubectl("create", "namespace", "del")
    for n in ("d1", "d2", "d3", "d4"):
        kyb.kubectl("-n", "del", "create", "configmap", n, "--from-literal=a=b")
    kyb.kubectl("-n", "del", "label", "configmap", "d3", "d4", "gone=yes")
    assert 'configmap "d1" deleted' in kyb.kubectl("-n", "del", "delete", "configmap", "d1").stdout
    assert 'configmap "d2" deleted' in kyb.kubectl("-n", "del", "delete", "configmap", "d2", "--cascade=foreground").stdout
    out = kyb.kubectl("-n", "del", "delete", "configmap", "-l", "gone=yes").stdout
    assert 'configmap "d3" deleted' in out and 'configmap "d4" deleted' in out
    assert kyb.kubectl("-n", "del", "get", "configmaps", "-o", "name").stdout.split() == ["configmap/kube-root-ca.crt"] \
        or kyb.kubectl("-n", "del", "get", "configmaps", "-o", "name").stdout.split() == []
    missing = kyb.kubectl("-n", "del", "delete", "configmap", "nosuch", check=False)
    assert 'Error from server (NotFound): configmaps "nosuch" not found' in missing.stderr
    # an unscheduled pod is removed at once; grace and force variants
    kyb.kubectl("-n", "del", "run", "p1", "--image=busybox")
    assert 'pod "p1" deleted' in kyb.kubectl("-n", "del", "delete", "pod", "p1").stdout
    kyb.kubectl("-n", "del", "run", "p2", "--image=busybox")
    out = kyb.kubectl("-n", "del", "delete", "pod", "p2", "--grace-period=0", "--force")
    assert 'pod "p2" force deleted' in out.stdout
    kyb.kubectl("-n", "del", "create", "deployment", "dep", "--image=busybox")
    kyb.kubectl("-n", "del", "delete", "deployment", "dep", "--cascade=orphan")
    assert kyb.kubectl("-n", "del", "get", "deploy", "dep", check=False).returncode != 0


def test_finalizers_keep_object_until_removed(kyb: KybServer) -> None:
    kyb.kubectl("create", "namespace", "fin")
    kyb.kubectl("-n", "fin", "create", "configmap", "held", "--from-literal=a=b")
    kyb.kubectl("-n", "fin", "patch", "configmap", "held", "--type=merge", "-p",
                '{"metadata":{"finalizers":["example.com/hold"]}}')
    kyb.kubectl("-n", "fin", "delete", "configmap", "held", "--wait=false")
    cm = kj(kyb, "-n", "fin", "get", "cm", "held")
    assert cm["metadata"]["deletionTimestamp"]
    kyb.kubectl("-n", "fin", "patch", "configmap", "held", "--type=json", "-p",
                '[{"op":"remove","path":"/metadata/finalizers"}]')
    assert kyb.kubectl("-n", "fin", "get", "cm", "held", check=False).returncode != 0


def test_pod_on_node_deletes_gracefully(kyb: KybServer, tmp_path: Path) -> None:
    kyb.kubectl("create", "namespace", "grace")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bound", "namespace": "grace"},
           "spec": {"nodeName": "node-a", "containers": [{"name": "c", "image": "busybox"}]}}
    f = tmp_path / "pod.json"
    f.write_text(json.dumps(pod))
    kyb.kubectl("create", "-f", str(f))
    kyb.kubectl("-n", "grace", "delete", "pod", "bound", "--wait=false")
    live = kj(kyb, "-n", "grace", "get", "pod", "bound")
    assert live["metadata"]["deletionGracePeriodSeconds"] == 30
    assert "Terminating" in kyb.kubectl("-n", "grace", "get", "pod", "bound").stdout
    kyb.kubectl("-n", "grace", "delete", "pod", "bound", "--grace-period=0", "--force")
    assert kyb.kubectl("-n", "grace", "get", "pod", "bound", check=False).returncode != 0


def test_get_all_and_short_names(kyb: KybServer) -> None:
    kyb.kubectl("create", "namespace", "all")
    kyb.kubectl("-n", "all", "create", "deployment", "web", "--image=busybox")
    kyb.kubectl("-n", "all", "create", "service", "clusterip", "web", "--tcp=80:80")
    out = kyb.kubectl("-n", "all", "get", "all").stdout
    assert "deployment.apps/web" in out and "service/web" in out
    assert "web" in kyb.kubectl("-n", "all", "get", "deploy").stdout
    assert "web" in kyb.kubectl("-n", "all", "get", "svc").stdout


def test_errors_from_server(kyb: KybServer, tmp_path: Path) -> None:
    out = kyb.kubectl("get", "pod", "nosuch", check=False)
    assert out.stderr.strip() == 'Error from server (NotFound): pods "nosuch" not found'
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n")
    out = kyb.kubectl("create", "-f", str(bad), check=False)
    assert "Invalid" in out.stderr and "metadata.name" in out.stderr
    ns = tmp_path / "ns.yaml"
    ns.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: nope\n")
    out = kyb.kubectl("create", "-f", str(ns), check=False)
    assert 'namespaces "nope" not found' in out.stderr
