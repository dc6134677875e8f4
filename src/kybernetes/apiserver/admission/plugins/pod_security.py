"""PodSecurity: a namespace's labels choose which Pod Security Standard its pods must meet.

Labels `pod-security.kubernetes.io/<mode>` (mode enforce, warn or audit) name a level
(privileged, baseline, restricted) and `pod-security.kubernetes.io/<mode>-version` a version
(`latest` or `v1.<minor>`, default latest). Without labels everything is privileged.

- Pods (create, updates that change more than metadata and images, the ephemeralcontainers
  subresource): enforce violations are refused with
  `violates PodSecurity "restricted:latest": <reason> (<detail>), ...`; warn violations add a
  warning `would violate PodSecurity "<level>": ...` (not repeated when enforce already failed
  at the same level).
- Workloads with a pod template: only the warn level is checked, and only as a warning.
- Namespaces: invalid labels are refused (422 as upstream); tightening the enforce level warns
  about existing pods that would violate it.
Audit annotations are not produced (there is no audit log yet).

Warnings are appended to ``attrs.options["warnings"]``; the API server turns them into
`Warning:` response headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kybernetes.apiserver.admission import CREATE, UPDATE, AdmissionContext, Attributes, Obj, Plugin
from kybernetes.apiserver.admission.plugins._common import (
    WORKLOAD_KINDS,
    containers,
    forbidden,
    pod_template_spec,
)
from kybernetes.apiserver.admission.plugins.pod_security_checks import (
    LEVELS,
    PRIVILEGED,
    evaluate,
    forbidden_detail,
)
from kybernetes.machinery import errors

LABEL_PREFIX = "pod-security.kubernetes.io/"
MODES = ("enforce", "audit", "warn")
_VERSION = re.compile(r"^v1\.(0|[1-9][0-9]*)$")


@dataclass(frozen=True, slots=True)
class LevelVersion:
    level: str = PRIVILEGED
    version: str = "latest"

    def __str__(self) -> str:
        return f"{self.level}:{self.version}"


def policy_from_labels(labels: dict[str, str]) -> tuple[dict[str, LevelVersion], list[errors.Cause]]:
    """The namespace's level per mode, and the label errors (as field causes)."""
    policy: dict[str, LevelVersion] = {}
    causes: list[errors.Cause] = []
    for mode in MODES:
        level_key = LABEL_PREFIX + mode
        version_key = level_key + "-version"
        level = labels.get(level_key, PRIVILEGED)
        version = labels.get(version_key, "latest")
        if level not in LEVELS:
            causes.append(errors.Cause("FieldValueInvalid",
                                       f'Invalid value: "{level}": must be one of privileged, baseline, restricted',
                                       f"metadata.labels[{level_key}]"))
            level = "restricted"  # upstream evaluates an invalid level as the strictest
        if version != "latest" and not _VERSION.match(version):
            causes.append(errors.Cause("FieldValueInvalid", f'Invalid value: "{version}": must be "latest" or "v1.x"',
                                       f"metadata.labels[{version_key}]"))
            version = "latest"
        policy[mode] = LevelVersion(level, version)
    return policy, causes


def add_warning(attrs: Attributes, text: str) -> None:
    warnings = attrs.options.setdefault("warnings", [])
    if text not in warnings:
        warnings.append(text)


def _without_images(spec: Obj) -> Obj:
    out = dict(spec)
    for kind in ("initContainers", "containers", "ephemeralContainers"):
        if isinstance(spec.get(kind), list):
            out[kind] = [{k: v for k, v in c.items() if k != "image"} if isinstance(c, dict) else c
                         for c in spec[kind]]
    return out


def _security_annotations(meta: Obj) -> dict[str, str]:
    return {k: v for k, v in (meta.get("annotations") or {}).items()
            if "apparmor.security" in k or "seccomp.security" in k}


def significant_pod_update(new: Obj, old: Obj) -> bool:
    """Upstream re-checks a pod update only when it changes more than metadata and images."""
    if _security_annotations(new.get("metadata") or {}) != _security_annotations(old.get("metadata") or {}):
        return True
    return _without_images(new.get("spec") or {}) != _without_images(old.get("spec") or {})


def existing_pod_warnings(namespace: str, level: LevelVersion, pods: list[Obj]) -> list[str]:
    """The warnings upstream gives when a namespace's enforce level changes under running pods."""
    if level.level == PRIVILEGED:
        return []
    first_pod: dict[str, str] = {}
    counts: dict[str, int] = {}
    order: list[str] = []
    for pod in pods:
        found = evaluate(level.level, pod.get("metadata") or {}, pod.get("spec") or {})
        if not found:
            continue
        text = ", ".join(reason for reason, _ in found)
        name = (pod.get("metadata") or {}).get("name", "")
        if text not in counts:
            order.append(text)
            first_pod[text] = name
            counts[text] = 0
        elif name < first_pod[text]:
            first_pod[text] = name
        counts[text] += 1
    if not order:
        return []
    decorated = []
    for text in order:
        n = counts[text]
        if n == 1:
            decorated.append(f"{first_pod[text]}: {text}")
        elif n == 2:
            decorated.append(f"{first_pod[text]} (and 1 other pod): {text}")
        else:
            decorated.append(f"{first_pod[text]} (and {n - 1} other pods): {text}")
    header = f'existing pods in namespace "{namespace}" violate the new PodSecurity enforce level "{level}"'
    return [header, *sorted(decorated)]


class PodSecurity(Plugin):
    name = "PodSecurity"
    validating = True

    async def validate(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        if attrs.obj is None or attrs.operation not in (CREATE, UPDATE):
            return
        if attrs.group == "" and attrs.resource.plural == "namespaces":
            if not attrs.subresource:
                self._namespace(attrs, ctx)
            return
        if attrs.group == "" and attrs.resource.plural == "pods":
            await self._pod(attrs, ctx)
            return
        if (attrs.group, attrs.kind) in WORKLOAD_KINDS and not attrs.subresource:
            self._workload(attrs, ctx)

    def _policy(self, ctx: AdmissionContext, namespace: str) -> dict[str, LevelVersion]:
        ns = ctx.get(f"/registry/namespaces/{namespace}") or {}
        policy, _ = policy_from_labels((ns.get("metadata") or {}).get("labels") or {})
        return policy

    def _namespace(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        assert attrs.obj is not None
        policy, causes = policy_from_labels((attrs.obj.get("metadata") or {}).get("labels") or {})
        if causes:
            raise errors.invalid("Namespace", attrs.name or (attrs.obj.get("metadata") or {}).get("name", ""), causes)
        if attrs.operation != UPDATE or attrs.old is None:
            return
        old_policy, _ = policy_from_labels((attrs.old.get("metadata") or {}).get("labels") or {})
        if policy["enforce"] == old_policy["enforce"]:
            return
        pods = ctx.list(f"/registry/pods/{attrs.name}/")
        for text in existing_pod_warnings(attrs.name, policy["enforce"], pods):
            add_warning(attrs, text)

    async def _pod(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        assert attrs.obj is not None
        if attrs.subresource not in ("", "ephemeralcontainers"):
            return
        if (attrs.operation == UPDATE and attrs.old is not None and not attrs.subresource
                and not significant_pod_update(attrs.obj, attrs.old)):
            return
        policy = self._policy(ctx, attrs.namespace)
        meta = attrs.obj.get("metadata") or {}
        spec = attrs.obj.get("spec") or {}
        enforce = policy["enforce"]
        refused = evaluate(enforce.level, meta, spec) if enforce.level != PRIVILEGED else []
        warn = policy["warn"]
        if warn.level != PRIVILEGED and not (refused and warn == enforce):
            found = evaluate(warn.level, meta, spec)
            if found:
                add_warning(attrs, f'would violate PodSecurity "{warn}": {forbidden_detail(found)}')
        if refused:
            raise forbidden(attrs, f'violates PodSecurity "{enforce}": {forbidden_detail(refused)}')

    def _workload(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        assert attrs.obj is not None
        warn = self._policy(ctx, attrs.namespace)["warn"]
        if warn.level == PRIVILEGED:
            return
        template = pod_template_spec(attrs.obj, attrs.kind)
        if template is None:
            return
        spec = template.get("spec") or {}
        if not any(True for _ in containers(spec)):
            return
        found = evaluate(warn.level, template.get("metadata") or {}, spec)
        if found:
            add_warning(attrs, f'would violate PodSecurity "{warn}": {forbidden_detail(found)}')
