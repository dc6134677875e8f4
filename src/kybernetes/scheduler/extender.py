"""HTTP extenders: outside services that filter, prioritize, preempt for and bind pods, as
upstream's scheduler extenders (KubeSchedulerConfiguration ``extenders``).

Wire format (k8s.io/kube-scheduler/extender/v1): every call is ``POST <urlPrefix>/<verb>`` with a
JSON body; the Go types carry no json tags, so field names are the Go names (``Pod``, ``Nodes``,
``NodeNames``, ``FailedNodes``, ...). Answers are read with Go's case-insensitive field matching.

- filter: ExtenderArgs ``{Pod, Nodes: NodeList | null, NodeNames: [..] | null}`` (names only when
  ``nodeCacheCapable``) -> ExtenderFilterResult ``{Nodes, NodeNames, FailedNodes,
  FailedAndUnresolvableNodes, Error}``. Runs after the Filter plugins, on the nodes they passed.
- prioritize: ExtenderArgs -> HostPriorityList ``[{Host, Score}]``; scores are 0..10
  (MaxExtenderPriority) and count ``score * weight * (MaxNodeScore / MaxExtenderPriority)``.
  Errors are ignored (the other scores decide).
- bind: ExtenderBindingArgs ``{PodName, PodNamespace, PodUID, Node}`` -> ExtenderBindingResult
  ``{Error}``; the first interested binder binds instead of the Bind plugins.
- preempt: ExtenderPreemptionArgs ``{Pod, NodeNameToVictims | NodeNameToMetaVictims}`` ->
  ExtenderPreemptionResult ``{NodeNameToMetaVictims}`` (victims by UID).

An extender with ``managedResources`` only sees pods whose containers request or limit one of them.
An ``ignorable`` extender that errs (down, non-200, Error set) is skipped; any other extender's
error fails the scheduling attempt. Ignorable extenders run after the others.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import aiohttp

from kybernetes.scheduler.config import ExtenderConfig
from kybernetes.scheduler.framework.interface import MAX_NODE_SCORE
from kybernetes.scheduler.framework.status import Code, Status
from kybernetes.scheduler.framework.types import NodeInfo, pod_uid

if TYPE_CHECKING:
    from kybernetes.scheduler.framework.snapshot import Snapshot
    from kybernetes.scheduler.preemption.victims import Candidate

log = logging.getLogger("kyb.scheduler.extender")
Obj = dict[str, Any]
MIN_EXTENDER_PRIORITY = 0
MAX_EXTENDER_PRIORITY = 10
DEFAULT_TIMEOUT = 5.0


class ExtenderError(Exception):
    pass


def field_of(obj: Any, name: str) -> Any:
    """``obj[name]`` matched as Go's encoding/json does: exact, else case-insensitively."""
    if not isinstance(obj, Mapping):
        return None
    if name in obj:
        return obj[name]
    low = name.lower()
    for k, v in obj.items():
        if isinstance(k, str) and k.lower() == low:
            return v
    return None


def extender_args(pod: Obj, nodes: Sequence[NodeInfo], node_cache_capable: bool) -> Obj:
    if node_cache_capable:
        return {"Pod": pod, "Nodes": None, "NodeNames": [n.name for n in nodes]}
    return {"Pod": pod, "Nodes": {"metadata": {}, "items": [n.node for n in nodes]}, "NodeNames": None}


def binding_args(pod: Obj, node: str) -> Obj:
    meta = pod.get("metadata") or {}
    return {"PodName": meta.get("name") or "", "PodNamespace": meta.get("namespace") or "",
            "PodUID": meta.get("uid") or "", "Node": node}


def managed_resource_requested(pod: Mapping[str, Any], managed: set[str]) -> bool:
    spec = pod.get("spec") or {}
    for c in [*(spec.get("containers") or ()), *(spec.get("initContainers") or ())]:
        res = c.get("resources") or {}
        if any(r in managed for r in (res.get("requests") or {})) or any(r in managed for r in (res.get("limits") or {})):
            return True
    return False


def ssl_context_for(cfg: ExtenderConfig) -> ssl.SSLContext | None:
    """TLS as upstream's transport: with enableHTTPS and no CA, the server is not verified."""
    tls = cfg.tls_config
    if tls is None and not cfg.enable_https:
        return None
    has_ca = tls is not None and bool(tls.ca_file or tls.ca_data)
    ctx = ssl.create_default_context()
    if tls is not None and tls.ca_file:
        ctx.load_verify_locations(cafile=tls.ca_file)
    if tls is not None and tls.ca_data:
        ctx.load_verify_locations(cadata=tls.ca_data.decode())
    if (tls is not None and tls.insecure) or (cfg.enable_https and not has_ca):
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls is not None and tls.cert_file:
        ctx.load_cert_chain(tls.cert_file, tls.key_file or None)
    return ctx


class HTTPExtender:
    def __init__(self, cfg: ExtenderConfig) -> None:
        self.cfg = cfg
        self.name = cfg.url_prefix
        self.ignorable = cfg.ignorable
        self.weight = cfg.weight
        self.managed = {r.name for r in cfg.managed_resources}
        self.timeout = cfg.http_timeout or DEFAULT_TIMEOUT
        self._ssl = ssl_context_for(cfg)
        self._session: aiohttp.ClientSession | None = None

    def is_interested(self, pod: Mapping[str, Any]) -> bool:
        return not self.managed or managed_resource_requested(pod, self.managed)

    def is_binder(self) -> bool:
        return bool(self.cfg.bind_verb)

    def supports_preemption(self) -> bool:
        return bool(self.cfg.preempt_verb)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, verb: str, args: Any) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        url = self.cfg.url_prefix.rstrip("/") + "/" + verb
        try:
            async with self._session.post(url, json=args, ssl=self._ssl if self._ssl is not None else True) as resp:
                if resp.status != 200:
                    raise ExtenderError(f"failed {verb} with extender at URL {url}, code {resp.status}")
                return await resp.json(content_type=None)
        except ExtenderError:
            raise
        except (TimeoutError, aiohttp.ClientError, ValueError) as e:
            raise ExtenderError(f'Post "{url}": {str(e) or type(e).__name__}') from e

    async def filter(self, pod: Obj, nodes: Sequence[NodeInfo]
                     ) -> tuple[list[NodeInfo], dict[str, str], dict[str, str]]:
        """(nodes that pass, failed node -> message, failed-and-unresolvable node -> message)."""
        if not self.cfg.filter_verb:
            return list(nodes), {}, {}
        result = await self.send(self.cfg.filter_verb, extender_args(pod, nodes, self.cfg.node_cache_capable))
        err = field_of(result, "Error")
        if err:
            raise ExtenderError(str(err))
        by_name = {n.name: n for n in nodes}
        names: list[str] = []
        node_names = field_of(result, "NodeNames")
        node_list = field_of(result, "Nodes")
        if self.cfg.node_cache_capable and node_names is not None:
            names = [str(x) for x in node_names]
        elif isinstance(node_list, Mapping):
            names = [str(((n or {}).get("metadata") or {}).get("name") or "") for n in field_of(node_list, "items") or ()]
        out = []
        for name in names:
            if name not in by_name:
                raise ExtenderError(f'extender "{self.name}" claims a filtered node "{name}" which is not found '
                                    "in the input node list")
            out.append(by_name[name])
        failed = {str(k): str(v) for k, v in (field_of(result, "FailedNodes") or {}).items()}
        unresolvable = {str(k): str(v) for k, v in (field_of(result, "FailedAndUnresolvableNodes") or {}).items()}
        return out, failed, unresolvable

    async def prioritize(self, pod: Obj, nodes: Sequence[NodeInfo]) -> tuple[list[tuple[str, int]], int]:
        """([(host, score)], weight)."""
        if not self.cfg.prioritize_verb:
            return [(n.name, 0) for n in nodes], 0
        result = await self.send(self.cfg.prioritize_verb, extender_args(pod, nodes, self.cfg.node_cache_capable))
        out = [(str(field_of(hp, "Host") or ""), int(field_of(hp, "Score") or 0)) for hp in result or ()]
        return out, self.weight

    async def bind(self, pod: Obj, node: str) -> None:
        if not self.is_binder():
            raise ExtenderError("unexpected empty bindVerb in extender")
        result = await self.send(self.cfg.bind_verb, binding_args(pod, node))
        err = field_of(result, "Error")
        if err:
            raise ExtenderError(str(err))

    async def process_preemption(self, pod: Obj, candidates: Mapping[str, Candidate],
                                 snapshot: Snapshot) -> dict[str, Candidate]:
        """The candidates (node -> victims) the extender keeps, victims mapped back from UIDs."""
        from kybernetes.scheduler.preemption.victims import Candidate

        if self.cfg.node_cache_capable:
            meta = {n: {"Pods": [{"UID": pod_uid(p)} for p in c.victims], "NumPDBViolations": c.num_pdb_violations}
                    for n, c in candidates.items()}
            args: Obj = {"Pod": pod, "NodeNameToVictims": None, "NodeNameToMetaVictims": meta}
        else:
            full = {n: {"Pods": c.victims, "NumPDBViolations": c.num_pdb_violations} for n, c in candidates.items()}
            args = {"Pod": pod, "NodeNameToVictims": full, "NodeNameToMetaVictims": None}
        result = await self.send(self.cfg.preempt_verb, args)
        out: dict[str, Candidate] = {}
        for node, mv in (field_of(result, "NodeNameToMetaVictims") or {}).items():
            ni = snapshot.get(node)
            if ni is None:
                raise ExtenderError(f'nodeinfo not found for node name "{node}"')
            by_uid = {pod_uid(pi.pod): pi.pod for pi in ni.pods}
            victims = []
            for mp in field_of(mv, "Pods") or ():
                uid = str(field_of(mp, "UID") or "")
                if uid not in by_uid:
                    raise ExtenderError(f"extender: {self.name} claims to preempt pod (UID: {uid}) on node: {node}, "
                                        "but the pod is not found on that node")
                victims.append(by_uid[uid])
            out[node] = Candidate(node, victims, int(field_of(mv, "NumPDBViolations") or 0))
        return out


def build_extenders(cfgs: Sequence[ExtenderConfig]) -> list[HTTPExtender]:
    """In configuration order, the ignorable ones last (as upstream)."""
    exts = [HTTPExtender(c) for c in cfgs]
    return [e for e in exts if not e.ignorable] + [e for e in exts if e.ignorable]


async def filter_with_extenders(extenders: Sequence[HTTPExtender], pod: Obj, feasible: list[NodeInfo],
                                statuses: dict[str, Status]) -> list[NodeInfo]:
    """The feasible nodes every interested extender keeps; the failed ones get their Status.
    Raises ExtenderError for a failing extender that is not ignorable."""
    for ext in extenders:
        if not feasible:
            break
        if not ext.is_interested(pod):
            continue
        try:
            kept, failed, unresolvable = await ext.filter(pod, feasible)
        except ExtenderError as e:
            if ext.ignorable:
                log.info("skipping extender %s as it returned error and has ignorable flag set: %s", ext.name, e)
                continue
            raise
        for node, msg in unresolvable.items():
            prev = statuses.get(node)
            statuses[node] = Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, [*(prev.reasons if prev else []), msg])
        for node, msg in failed.items():
            if node in unresolvable:
                continue
            prev = statuses.get(node)
            if prev is None:
                statuses[node] = Status(Code.UNSCHEDULABLE, [msg])
            else:
                prev.reasons.append(msg)
        feasible = kept
    return feasible


async def prioritize_with_extenders(extenders: Sequence[HTTPExtender], pod: Obj,
                                    nodes: Sequence[NodeInfo]) -> dict[str, int]:
    """Node -> the extenders' added score (errors ignored: the others decide)."""
    interested = [e for e in extenders if e.is_interested(pod)]
    results = await asyncio.gather(*(e.prioritize(pod, nodes) for e in interested), return_exceptions=True)
    totals: dict[str, int] = {}
    for ext, r in zip(interested, results, strict=True):
        if isinstance(r, BaseException):
            log.debug("extender %s prioritize failed; no score from it: %s", ext.name, r)
            continue
        scores, weight = r
        for host, score in scores:
            totals[host] = totals.get(host, 0) + score * weight * (MAX_NODE_SCORE // MAX_EXTENDER_PRIORITY)
    return totals


async def bind_with_extenders(extenders: Sequence[HTTPExtender], pod: Obj, node: str) -> tuple[bool, Status | None]:
    """(bound by an extender?, its error). An ignorable binder that errs is skipped."""
    for ext in extenders:
        if not ext.is_binder() or not ext.is_interested(pod):
            continue
        try:
            await ext.bind(pod, node)
        except ExtenderError as e:
            if ext.ignorable:
                log.info("skipping extender %s in bind as it returned error and has ignorable flag set: %s",
                         ext.name, e)
                continue
            return True, Status(Code.ERROR, [str(e)], error=e)
        return True, None
    return False, None
