"""The scheduler's configuration: a YAML file modelled on KubeSchedulerConfiguration
(``apiVersion: kubescheduler.config.k8s.io/v1``), with upstream's defaults and merge rules.

    apiVersion: kubescheduler.config.k8s.io/v1
    kind: KubeSchedulerConfiguration
    percentageOfNodesToScore: 0          # 0 = adaptive (50% - nodes/125, at least 5%)
    podInitialBackoffSeconds: 1
    podMaxBackoffSeconds: 10
    leaderElection: {leaderElect: true, resourceName: kube-scheduler, resourceNamespace: kube-system}
    pluginModules: [my_plugins]          # kybernetes: Python modules with a PLUGINS dict
    profiles:
    - schedulerName: default-scheduler
      plugins:
        score:
          enabled: [{name: NodeResourcesBalancedAllocation, weight: 2}]
          disabled: [{name: ImageLocality}]
      pluginConfig:
      - name: NodeResourcesFit
        args: {scoringStrategy: {type: MostAllocated}}

Merging as upstream v1: the default plugins are enabled at ``multiPoint`` (every extension point
each implements). Per extension point, ``disabled`` removes default plugins (``*`` all of them),
``enabled`` adds plugins (replacing a default of the same name in place, e.g. to change a weight).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

API_VERSION = "kubescheduler.config.k8s.io/v1"
KIND = "KubeSchedulerConfiguration"
DEFAULT_SCHEDULER_NAME = "default-scheduler"
PLUGIN_SET_NAMES = ("preEnqueue", "queueSort", "preFilter", "filter", "postFilter", "preScore", "score",
                    "reserve", "permit", "preBind", "bind", "postBind", "multiPoint")


class ConfigError(ValueError):
    pass


@dataclass(slots=True)
class PluginRef:
    name: str
    weight: int = 0


@dataclass(slots=True)
class PluginSet:
    enabled: list[PluginRef] = field(default_factory=list)
    disabled: list[PluginRef] = field(default_factory=list)


@dataclass(slots=True)
class Profile:
    scheduler_name: str = DEFAULT_SCHEDULER_NAME
    plugins: dict[str, PluginSet] = field(default_factory=dict)  # extension point -> set
    plugin_config: dict[str, dict[str, Any]] = field(default_factory=dict)  # plugin name -> args
    percentage_of_nodes_to_score: int | None = None


@dataclass(slots=True)
class LeaderElection:
    leader_elect: bool = True
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    resource_name: str = "kube-scheduler"
    resource_namespace: str = "kube-system"


@dataclass(slots=True)
class ManagedResource:
    name: str
    ignored_by_scheduler: bool = False


@dataclass(slots=True)
class ExtenderTLSConfig:
    insecure: bool = False
    server_name: str = ""
    cert_file: str = ""
    key_file: str = ""
    ca_file: str = ""
    cert_data: bytes = b""
    key_data: bytes = b""
    ca_data: bytes = b""


@dataclass(slots=True)
class ExtenderConfig:
    """One HTTP extender (upstream's ``Extender``): POSTs ``<urlPrefix>/<verb>``."""

    url_prefix: str
    filter_verb: str = ""
    preempt_verb: str = ""
    prioritize_verb: str = ""
    weight: int = 0
    bind_verb: str = ""
    enable_https: bool = False
    tls_config: ExtenderTLSConfig | None = None
    http_timeout: float = 0.0  # 0 = upstream's default of 5 s
    node_cache_capable: bool = False
    managed_resources: list[ManagedResource] = field(default_factory=list)
    ignorable: bool = False


@dataclass(slots=True)
class SchedulerConfiguration:
    profiles: list[Profile] = field(default_factory=lambda: [Profile()])
    percentage_of_nodes_to_score: int = 0
    pod_initial_backoff_seconds: float = 1.0
    pod_max_backoff_seconds: float = 10.0
    leader_election: LeaderElection = field(default_factory=LeaderElection)
    plugin_modules: list[str] = field(default_factory=list)
    # Not upstream: how many bindings may be in flight at once (the binding cycles run concurrently).
    max_inflight_bindings: int = 256
    extenders: list[ExtenderConfig] = field(default_factory=list)


# Upstream v1's default multiPoint plugins and score weights, in order. Names not (yet) in the
# registry are skipped when the default profile is built.
# TODO(issue 4 §2, another helper): VolumeRestrictions, NodeVolumeLimits, VolumeBinding,
# VolumeZone, PodTopologySpread (weight 2), InterPodAffinity (weight 2), DefaultPreemption.
DEFAULT_MULTI_POINT: list[PluginRef] = [
    PluginRef("SchedulingGates"),
    PluginRef("PrioritySort"),
    PluginRef("NodeUnschedulable"),
    PluginRef("NodeName"),
    PluginRef("TaintToleration", 3),
    PluginRef("NodeAffinity", 2),
    PluginRef("NodePorts"),
    PluginRef("NodeResourcesFit", 1),
    PluginRef("VolumeRestrictions"),
    PluginRef("NodeVolumeLimits"),
    PluginRef("VolumeBinding"),
    PluginRef("VolumeZone"),
    PluginRef("PodTopologySpread", 2),
    PluginRef("InterPodAffinity", 2),
    PluginRef("DefaultPreemption"),
    PluginRef("NodeResourcesBalancedAllocation", 1),
    PluginRef("ImageLocality", 1),
    PluginRef("DefaultBinder"),
]


def _refs(raw: Any, where: str) -> list[PluginRef]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: must be a list of {{name, weight}}")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise ConfigError(f"{where}[{i}].name: Required value")
        weight = item.get("weight", 0)
        if not isinstance(weight, int) or weight < 0:
            raise ConfigError(f"{where}[{i}].weight: must be a non-negative integer")
        out.append(PluginRef(item["name"], weight))
    return out


def _profile(raw: Any, i: int) -> Profile:
    where = f"profiles[{i}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be an object")
    p = Profile(scheduler_name=str(raw.get("schedulerName") or DEFAULT_SCHEDULER_NAME))
    plugins = raw.get("plugins") or {}
    if not isinstance(plugins, dict):
        raise ConfigError(f"{where}.plugins: must be an object")
    for point, s in plugins.items():
        if point not in PLUGIN_SET_NAMES:
            raise ConfigError(f"{where}.plugins: unknown extension point {point!r}")
        s = s or {}
        p.plugins[point] = PluginSet(_refs(s.get("enabled"), f"{where}.plugins.{point}.enabled"),
                                     _refs(s.get("disabled"), f"{where}.plugins.{point}.disabled"))
    for j, pc in enumerate(raw.get("pluginConfig") or []):
        if not isinstance(pc, dict) or not pc.get("name"):
            raise ConfigError(f"{where}.pluginConfig[{j}].name: Required value")
        args = pc.get("args") or {}
        if not isinstance(args, dict):
            raise ConfigError(f"{where}.pluginConfig[{j}].args: must be an object")
        if pc["name"] in p.plugin_config:
            raise ConfigError(f"{where}.pluginConfig[{j}]: Duplicate value: {pc['name']!r}")
        p.plugin_config[pc["name"]] = args
    pct = raw.get("percentageOfNodesToScore")
    if pct is not None:
        p.percentage_of_nodes_to_score = _percentage(pct, f"{where}.percentageOfNodesToScore")
    return p


def _percentage(v: Any, where: str) -> int:
    if not isinstance(v, int) or not 0 <= v <= 100:
        raise ConfigError(f"{where}: Invalid value: {v!r}: not in valid range [0-100]")
    return v


def parse_config(doc: dict[str, Any] | None) -> SchedulerConfiguration:
    """A configuration from a decoded YAML document (None or {} = all defaults)."""
    doc = doc or {}
    if doc.get("apiVersion", API_VERSION) != API_VERSION or doc.get("kind", KIND) != KIND:
        raise ConfigError(f"expected apiVersion {API_VERSION}, kind {KIND}")
    cfg = SchedulerConfiguration()
    if doc.get("profiles"):
        cfg.profiles = [_profile(p, i) for i, p in enumerate(doc["profiles"])]
    names = [p.scheduler_name for p in cfg.profiles]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"profiles: Duplicate value: {dup[0]!r}")
    if "percentageOfNodesToScore" in doc:
        cfg.percentage_of_nodes_to_score = _percentage(doc["percentageOfNodesToScore"], "percentageOfNodesToScore")
    cfg.pod_initial_backoff_seconds = float(doc.get("podInitialBackoffSeconds", 1))
    cfg.pod_max_backoff_seconds = float(doc.get("podMaxBackoffSeconds", 10))
    if not 0 < cfg.pod_initial_backoff_seconds <= cfg.pod_max_backoff_seconds:
        raise ConfigError("podInitialBackoffSeconds must be > 0 and <= podMaxBackoffSeconds")
    le = doc.get("leaderElection") or {}
    cfg.leader_election = LeaderElection(
        leader_elect=bool(le.get("leaderElect", True)),
        lease_duration=_seconds(le.get("leaseDuration", "15s")),
        renew_deadline=_seconds(le.get("renewDeadline", "10s")),
        retry_period=_seconds(le.get("retryPeriod", "2s")),
        resource_name=str(le.get("resourceName") or "kube-scheduler"),
        resource_namespace=str(le.get("resourceNamespace") or "kube-system"))
    cfg.plugin_modules = [str(m) for m in doc.get("pluginModules") or []]
    if "maxInflightBindings" in doc:
        cfg.max_inflight_bindings = max(1, int(doc["maxInflightBindings"]))
    cfg.extenders = _extenders(doc.get("extenders"))
    ignored = [r.name for e in cfg.extenders for r in e.managed_resources if r.ignored_by_scheduler]
    if ignored:
        # As upstream: resources an extender manages and asks the scheduler to ignore become
        # NodeResourcesFit's ignoredResources in every profile (replacing any configured ones).
        for p in cfg.profiles:
            p.plugin_config["NodeResourcesFit"] = {**p.plugin_config.get("NodeResourcesFit", {}),
                                                   "ignoredResources": ignored}
    return cfg


def _extenders(raw: Any) -> list[ExtenderConfig]:
    """The ``extenders`` list, validated as upstream (positive weight with a prioritizeVerb, at most
    one binder, no duplicate managed resources)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError("extenders: must be a list")
    out: list[ExtenderConfig] = []
    binders = 0
    for i, e in enumerate(raw):
        where = f"extenders[{i}]"
        if not isinstance(e, dict):
            raise ConfigError(f"{where}: must be an object")
        tls_raw = e.get("tlsConfig")
        tls = None
        if tls_raw:
            tls = ExtenderTLSConfig(
                insecure=bool(tls_raw.get("insecure")), server_name=str(tls_raw.get("serverName") or ""),
                cert_file=str(tls_raw.get("certFile") or ""), key_file=str(tls_raw.get("keyFile") or ""),
                ca_file=str(tls_raw.get("caFile") or ""), cert_data=_b64(tls_raw.get("certData"), where),
                key_data=_b64(tls_raw.get("keyData"), where), ca_data=_b64(tls_raw.get("caData"), where))
        managed: list[ManagedResource] = []
        seen: set[str] = set()
        for j, r in enumerate(e.get("managedResources") or []):
            name = str((r or {}).get("name") or "")
            if not name:
                raise ConfigError(f"{where}.managedResources[{j}].name: Required value")
            if name in seen:
                raise ConfigError(f"{where}.managedResources[{j}].name: Duplicate value: {name!r}")
            seen.add(name)
            managed.append(ManagedResource(name, bool(r.get("ignoredByScheduler"))))
        ext = ExtenderConfig(
            url_prefix=str(e.get("urlPrefix") or ""), filter_verb=str(e.get("filterVerb") or ""),
            preempt_verb=str(e.get("preemptVerb") or ""), prioritize_verb=str(e.get("prioritizeVerb") or ""),
            weight=int(e.get("weight") or 0), bind_verb=str(e.get("bindVerb") or ""),
            enable_https=bool(e.get("enableHTTPS")), tls_config=tls,
            http_timeout=_seconds(e["httpTimeout"]) if e.get("httpTimeout") else 0.0,
            node_cache_capable=bool(e.get("nodeCacheCapable")), managed_resources=managed,
            ignorable=bool(e.get("ignorable")))
        if ext.prioritize_verb and ext.weight <= 0:
            raise ConfigError(f"{where}.weight: Invalid value: {ext.weight}: must have a positive weight applied to it")
        if ext.bind_verb:
            binders += 1
        out.append(ext)
    if binders > 1:
        raise ConfigError(f'extenders: Invalid value: "found {binders} extenders implementing bind": '
                          "only one extender can implement bind")
    return out


def _b64(v: Any, where: str) -> bytes:
    if not v:
        return b""
    import base64
    import binascii

    try:
        return base64.b64decode(str(v), validate=True)
    except (binascii.Error, ValueError) as e:
        raise ConfigError(f"{where}.tlsConfig: invalid base64 data: {e}") from e


def _seconds(v: Any) -> float:
    """A Go duration as configs write them ("15s", "500ms", "1m") or a number of seconds."""
    if isinstance(v, int | float):
        return float(v)
    s = str(v).strip()
    for suffix, mult in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if s.endswith(suffix):
            try:
                return float(s[: -len(suffix)]) * mult
            except ValueError:
                break
    raise ConfigError(f"invalid duration {v!r}")


def load_config(path: str | Path | None) -> SchedulerConfiguration:
    if path is None:
        return SchedulerConfiguration()
    try:
        doc = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"reading {path}: {e}") from e
    if doc is not None and not isinstance(doc, dict):
        raise ConfigError(f"{path}: not a KubeSchedulerConfiguration object")
    return parse_config(doc)


def merge_plugin_set(default: list[PluginRef], custom: PluginSet | None) -> list[PluginRef]:
    """Upstream's merge of one extension point: drop disabled defaults, replace same-named
    defaults in place by the custom entry, append the other custom entries."""
    if custom is None:
        return list(default)
    disabled = {r.name for r in custom.disabled}
    custom_by_name = {r.name: r for r in custom.enabled}
    out: list[PluginRef] = []
    used: set[str] = set()
    if "*" not in disabled:
        for r in default:
            if r.name in disabled:
                continue
            if r.name in custom_by_name:
                out.append(custom_by_name[r.name])
                used.add(r.name)
            else:
                out.append(r)
    out.extend(r for r in custom.enabled if r.name not in used)
    return out
