"""Static pods: pods the node runs from manifest files, without the API server deciding anything.

The agent reads a manifest directory (YAML or JSON files, one Pod or a PodList or several YAML
documents each) and runs every pod it finds as if the API had bound it here. The API server only
gets a *mirror pod*: a read-only copy whose status the kubelet keeps, so `kubectl get pods` shows
what runs. Everything here is pure: reading files gives bytes, and these functions turn bytes into
pods and decide what the mirror pods should be.

Facts kept from upstream (pkg/kubelet/config, pod/mirror_client):
1. A static pod's UID is a hash of the node name, the file path and the pod as written, so the same
   file gives the same UID across restarts (running containers are adopted) and an edited file gives
   a new UID (the old pod stops, the new one starts).
2. Its name is `<name>-<node name>`, its namespace `default` unless given, spec.nodeName the node;
   it tolerates every NoExecute taint; annotation `kubernetes.io/config.hash` holds the UID and
   `kubernetes.io/config.source` says `file`.
3. Its mirror pod carries `kubernetes.io/config.mirror` = that hash and a controller owner reference
   to the Node. A mirror whose hash differs, or that is being deleted, is deleted (grace 0) and
   created again; a mirror with no static pod behind it is deleted.
The API server's defaults are not imported (the kubelet never imports the apiserver); the few the
kubelet itself relies on are applied here.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]

CONFIG_HASH = "kubernetes.io/config.hash"
CONFIG_MIRROR = "kubernetes.io/config.mirror"
CONFIG_SOURCE = "kubernetes.io/config.source"
CONFIG_SEEN = "kubernetes.io/config.seen"
SOURCE_FILE = "file"
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class ManifestProblem:
    path: str
    message: str


def is_mirror_pod(pod: Obj) -> bool:
    return CONFIG_MIRROR in ((pod.get("metadata") or {}).get("annotations") or {})


def is_static_pod(pod: Obj) -> bool:
    return ((pod.get("metadata") or {}).get("annotations") or {}).get(CONFIG_SOURCE) == SOURCE_FILE


def full_name(pod: Obj) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name', '')}"


def _pull_policy(image: str) -> str:
    """Always for `:latest` or an untagged image, IfNotPresent otherwise (upstream's rule)."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.rpartition(":")[2] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def apply_kubelet_defaults(spec: Obj) -> None:
    """The defaults the kubelet reads (the API server would have set them on an API pod)."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            if not isinstance(c, dict):
                continue
            c.setdefault("imagePullPolicy", _pull_policy(str(c.get("image") or "")))
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
            c.setdefault("resources", {})


def static_uid(raw_pod: Obj, *, node_name: str, source: str) -> str:
    """Stable for the same file content on the same node; any edit gives a new UID."""
    h = hashlib.md5(usedforsecurity=False)
    h.update(f"host:{node_name}".encode())
    h.update(f"file:{source}".encode())
    h.update(json.dumps(raw_pod, sort_keys=True, separators=(",", ":")).encode())
    return h.hexdigest()


def static_pod(raw_pod: Obj, *, node_name: str, source: str) -> Obj:
    """A manifest's pod as the kubelet runs it (name, namespace, UID, node, tolerations, defaults)."""
    pod = copy.deepcopy(raw_pod)
    meta = pod.setdefault("metadata", {})
    uid = meta.get("uid") or static_uid(raw_pod, node_name=node_name, source=source)
    meta["uid"] = uid
    meta["name"] = f"{meta.get('name', '')}-{node_name.lower()}"
    meta["namespace"] = meta.get("namespace") or "default"
    annotations = meta.setdefault("annotations", {})
    annotations[CONFIG_HASH] = uid
    annotations[CONFIG_SOURCE] = SOURCE_FILE
    spec = pod.setdefault("spec", {})
    spec["nodeName"] = node_name
    tolerations = spec.setdefault("tolerations", [])
    everything = {"operator": "Exists", "effect": "NoExecute"}
    if everything not in tolerations:
        tolerations.append(everything)
    apply_kubelet_defaults(spec)
    pod["apiVersion"], pod["kind"] = "v1", "Pod"
    pod["status"] = {"phase": "Pending"}
    return pod


def _check(raw: Any) -> str:
    if not isinstance(raw, dict) or raw.get("kind", "Pod") != "Pod":
        return "not a Pod"
    meta = raw.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        return "metadata.name is required"
    containers = (raw.get("spec") or {}).get("containers")
    if not isinstance(containers, list) or not containers:
        return "spec.containers is required"
    if not all(isinstance(c, dict) and c.get("name") and c.get("image") for c in containers):
        return "every container needs a name and an image"
    return ""


def parse_manifest(text: str, *, node_name: str, source: str) -> tuple[list[Obj], list[ManifestProblem]]:
    """Pods of one file: a Pod, a PodList or several YAML documents (JSON is YAML too)."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        return [], [ManifestProblem(source, f"cannot parse: {e}")]
    raws: list[Any] = []
    for d in docs:
        if isinstance(d, dict) and d.get("kind") == "PodList":
            raws.extend(d.get("items") or [])
        else:
            raws.append(d)
    pods, problems = [], []
    for raw in raws:
        problem = _check(raw)
        if problem:
            problems.append(ManifestProblem(source, problem))
        else:
            pods.append(static_pod(raw, node_name=node_name, source=source))
    return pods, problems


def manifest_files(directory: Path) -> list[Path]:
    """Manifest files in name order; hidden files (editors' swap files) are skipped as upstream."""
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return []
    return [p for p in entries if p.is_file() and not p.name.startswith(".") and p.suffix in MANIFEST_SUFFIXES]


def read_manifests(directory: Path, *, node_name: str) -> tuple[dict[str, Obj], list[ManifestProblem]]:
    """Every static pod of the directory by UID; a duplicate name keeps the first file's pod."""
    pods: dict[str, Obj] = {}
    names: set[str] = set()
    problems: list[ManifestProblem] = []
    for path in manifest_files(directory):
        try:
            text = path.read_text()
        except OSError as e:
            problems.append(ManifestProblem(str(path), str(e)))
            continue
        found, bad = parse_manifest(text, node_name=node_name, source=str(path))
        problems.extend(bad)
        for p in found:
            if full_name(p) in names:
                problems.append(ManifestProblem(str(path), f"pod {full_name(p)} is defined more than once"))
                continue
            names.add(full_name(p))
            pods[p["metadata"]["uid"]] = p
    return pods, problems


def mirror_pod(static: Obj, *, node_name: str, node_uid: str, seen: str = "") -> Obj:
    """The API object that shows a static pod: same spec, hash annotation, owned by the Node."""
    meta = static["metadata"]
    annotations = {**(meta.get("annotations") or {}), CONFIG_MIRROR: meta["uid"]}
    if seen:
        annotations[CONFIG_SEEN] = seen
    body: Obj = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {k: v for k, v in meta.items() if k not in ("uid", "resourceVersion", "creationTimestamp")},
        "spec": copy.deepcopy(static["spec"]),
    }
    body["metadata"]["annotations"] = annotations
    if node_uid:
        body["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": node_name,
                                                "uid": node_uid, "controller": True}]
    return body


@dataclass(frozen=True)
class MirrorPlan:
    delete: list[Obj]   # mirror pods to delete (grace 0, UID precondition)
    create: list[Obj]   # static pods whose mirror must be created (after any delete)


def plan_mirrors(static_pods: Iterable[Obj], mirrors: Mapping[str, Obj]) -> MirrorPlan:
    """Compare the static pods with the mirror pods the API has (by full name)."""
    wanted = {full_name(p): p for p in static_pods}
    delete, create = [], []
    for name, mirror in mirrors.items():
        static = wanted.get(name)
        meta = mirror["metadata"]
        if (static is None or meta.get("deletionTimestamp")
                or (meta.get("annotations") or {}).get(CONFIG_MIRROR) != static["metadata"]["uid"]):
            delete.append(mirror)
    deleted = {full_name(m) for m in delete}
    for name, static in wanted.items():
        if name not in mirrors or name in deleted:
            create.append(static)
    return MirrorPlan(delete=delete, create=create)
