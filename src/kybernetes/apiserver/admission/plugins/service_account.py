"""ServiceAccount: every pod runs as a service account, and gets its API credentials mounted.

On pod create: an empty `serviceAccountName` becomes `default`; a named account must exist
(`error looking up service account ns/sa: serviceaccount "sa" not found`); the account's
imagePullSecrets are copied when the pod has none; and unless the pod (first) or the account
says `automountServiceAccountToken: false`, a projected volume `kube-api-access-<5 chars>`
(token, kube-root-ca.crt's ca.crt, the namespace) is added and mounted read-only at
/var/run/secrets/kubernetes.io/serviceaccount in every container that has nothing mounted
there. The kubelet issues the token itself.

Departure from upstream, on purpose: upstream waits for the `default` account, which the
ServiceAccount controller creates in every namespace. Until that controller exists here a
missing `default` account does not block pods: the name is set, the volume is mounted, and only
accounts named explicitly must exist. Mirror pods (static pods of a kubelet) may not reference
service accounts, secrets or token projections.
"""

from __future__ import annotations

import random

from kybernetes.apiserver.admission import CREATE, AdmissionContext, Attributes, Obj, Plugin
from kybernetes.apiserver.admission.plugins._common import forbidden, is_resource

DEFAULT_ACCOUNT = "default"
VOLUME_PREFIX = "kube-api-access-"
TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
TOKEN_EXPIRATION_SECONDS = 3607  # upstream's "warn only" bound token lifetime
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # upstream's generated-name alphabet


def token_volume_source() -> Obj:
    return {
        "defaultMode": 0o644,
        "sources": [
            {"serviceAccountToken": {"path": "token", "expirationSeconds": TOKEN_EXPIRATION_SECONDS}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace",
                                        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ],
    }


def should_automount(account: Obj | None, spec: Obj) -> bool:
    if spec.get("automountServiceAccountToken") is not None:
        return bool(spec["automountServiceAccountToken"])
    if account is not None and account.get("automountServiceAccountToken") is not None:
        return bool(account["automountServiceAccountToken"])
    return True


def mount_token(spec: Obj, suffix: str) -> None:
    """Add the token volume and its mounts to a pod spec (mutates `spec`)."""
    volume_name = ""
    for v in spec.get("volumes") or []:
        if isinstance(v, dict) and str(v.get("name", "")).startswith(VOLUME_PREFIX):
            volume_name = v["name"]
            break
    has_volume = bool(volume_name)
    volume_name = volume_name or VOLUME_PREFIX + suffix
    needs_volume = False
    for kind in ("initContainers", "containers"):
        for c in spec.get(kind) or []:
            if not isinstance(c, dict):
                continue
            mounts = c.get("volumeMounts") or []
            if any(isinstance(m, dict) and m.get("mountPath") == TOKEN_MOUNT_PATH for m in mounts):
                continue
            c["volumeMounts"] = [*mounts, {"name": volume_name, "readOnly": True, "mountPath": TOKEN_MOUNT_PATH}]
            needs_volume = True
    if needs_volume and not has_volume:
        spec["volumes"] = [*(spec.get("volumes") or []), {"name": volume_name, "projected": token_volume_source()}]


def mirror_pod_problem(pod: Obj) -> str | None:
    spec = pod.get("spec") or {}
    if spec.get("serviceAccountName"):
        return "a mirror pod may not reference service accounts"
    if _references_secrets(spec):
        return "a mirror pod may not reference secrets"
    for v in spec.get("volumes") or []:
        for src in ((v or {}).get("projected") or {}).get("sources") or []:
            if isinstance(src, dict) and src.get("serviceAccountToken"):
                return "a mirror pod may not use ServiceAccountToken volume projections"
    return None


def _references_secrets(spec: Obj) -> bool:
    if spec.get("imagePullSecrets"):
        return True
    for v in spec.get("volumes") or []:
        if not isinstance(v, dict):
            continue
        if v.get("secret"):
            return True
        for src in (v.get("projected") or {}).get("sources") or []:
            if isinstance(src, dict) and src.get("secret"):
                return True
    for kind in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(kind) or []:
            for env in (c or {}).get("env") or []:
                if ((env or {}).get("valueFrom") or {}).get("secretKeyRef"):
                    return True
            for src in (c or {}).get("envFrom") or []:
                if (src or {}).get("secretRef"):
                    return True
    return False


class ServiceAccount(Plugin):
    name = "ServiceAccount"
    mutating = True
    validating = True

    def __init__(self, *, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()

    @staticmethod
    def _applies(attrs: Attributes) -> bool:
        return (is_resource(attrs, "", "pods") and attrs.operation == CREATE and not attrs.subresource
                and attrs.obj is not None)

    @staticmethod
    def _is_mirror(pod: Obj) -> bool:
        return MIRROR_ANNOTATION in ((pod.get("metadata") or {}).get("annotations") or {})

    def _lookup(self, attrs: Attributes, ctx: AdmissionContext, name: str) -> Obj | None:
        account = ctx.get(f"/registry/serviceaccounts/{attrs.namespace}/{name}")
        if account is None and name != DEFAULT_ACCOUNT:
            raise forbidden(attrs, f"error looking up service account {attrs.namespace}/{name}: "
                                   f'serviceaccount "{name}" not found')
        return account

    async def admit(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        if not self._applies(attrs):
            return
        pod = attrs.obj
        assert pod is not None
        if self._is_mirror(pod):
            return
        spec = pod.setdefault("spec", {})
        if not spec.get("serviceAccountName"):
            spec["serviceAccountName"] = DEFAULT_ACCOUNT
        account = self._lookup(attrs, ctx, spec["serviceAccountName"])
        if should_automount(account, spec):
            mount_token(spec, "".join(self._rng.choices(_NAME_CHARS, k=5)))
        if not spec.get("imagePullSecrets") and account and account.get("imagePullSecrets"):
            spec["imagePullSecrets"] = [{"name": s.get("name", "")} for s in account["imagePullSecrets"]
                                        if isinstance(s, dict)]

    async def validate(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        if not self._applies(attrs):
            return
        pod = attrs.obj
        assert pod is not None
        if self._is_mirror(pod):
            if (problem := mirror_pod_problem(pod)) is not None:
                raise forbidden(attrs, problem)
            return
        name = (pod.get("spec") or {}).get("serviceAccountName") or DEFAULT_ACCOUNT
        self._lookup(attrs, ctx, name)
