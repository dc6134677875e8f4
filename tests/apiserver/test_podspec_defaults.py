"""Defaults the validation relies on: a fieldRef's apiVersion is v1 wherever a fieldRef can stand."""

from __future__ import annotations

from typing import Any

from kybernetes.apiserver.strategies.podspec import default_pod


def test_field_ref_api_version_defaults_in_env_downward_api_and_projected_volumes() -> None:
    ref: dict[str, Any] = {"fieldPath": "metadata.name"}
    pod: dict[str, Any] = {"spec": {
        "containers": [{"name": "c", "image": "busybox:1.36",
                        "env": [{"name": "N", "valueFrom": {"fieldRef": dict(ref)}}]}],
        "volumes": [
            {"name": "d", "downwardAPI": {"items": [{"path": "n", "fieldRef": dict(ref)}]}},
            {"name": "p", "projected": {"sources": [{"downwardAPI": {"items": [{"path": "n", "fieldRef": dict(ref)}]}},
                                                    {"configMap": {"name": "x"}}]}},
        ]}}
    default_pod(pod)
    spec = pod["spec"]
    assert spec["containers"][0]["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"
    assert spec["volumes"][0]["downwardAPI"]["items"][0]["fieldRef"]["apiVersion"] == "v1"
    assert spec["volumes"][1]["projected"]["sources"][0]["downwardAPI"]["items"][0]["fieldRef"]["apiVersion"] == "v1"
