"""Keeping the default policy in place at server start (upstream's rbac/bootstrap-roles hook).

Pure decisions — ``reconcile_role`` and ``reconcile_binding`` say what an existing object should
become (None: leave it) — and ``ensure_default_policy``, which writes through the stores as the
server itself (admission sees no user, so no escalation check applies).

Rules of reconciliation, as upstream's defaults: missing objects are created; an object
annotated ``rbac.authorization.kubernetes.io/autoupdate: "false"`` is never touched; otherwise
permissions only grow: missing rules and subjects are added, labels and annotations of the
default are merged in, and an aggregated role's aggregationRule is set (its rules belong to the
aggregation controller).
"""

from __future__ import annotations

import contextlib
import copy
import logging
from typing import Any

from kybernetes.apiserver.authz import policy
from kybernetes.apiserver.authz.rules import covers
from kybernetes.machinery import errors

log = logging.getLogger(__name__)
Obj = dict[str, Any]


def _merge_meta(current: Obj, desired: Obj) -> bool:
    meta = current.setdefault("metadata", {})
    changed = False
    for key in ("labels", "annotations"):
        want = (desired.get("metadata") or {}).get(key) or {}
        have = meta.get(key) or {}
        if any(have.get(k) != v for k, v in want.items()):
            meta[key] = {**have, **want}
            changed = True
    return changed


def _autoupdate_off(current: Obj) -> bool:
    return ((current.get("metadata") or {}).get("annotations") or {}).get(policy.AUTOUPDATE) == "false"


def reconcile_role(current: Obj, desired: Obj) -> Obj | None:
    if _autoupdate_off(current):
        return None
    out = copy.deepcopy(current)
    changed = _merge_meta(out, desired)
    if "aggregationRule" in desired:
        if out.get("aggregationRule") != desired["aggregationRule"]:
            out["aggregationRule"] = desired["aggregationRule"]
            changed = True
    else:
        have = [r for r in out.get("rules") or [] if isinstance(r, dict)]
        ok, _ = covers(have, desired.get("rules") or [])
        if not ok:
            out["rules"] = have + [r for r in desired.get("rules") or [] if not covers(have, [r])[0]]
            changed = True
    return out if changed else None


def reconcile_binding(current: Obj, desired: Obj) -> Obj | None:
    """None when fine; the updated binding when subjects or labels are missing. A changed roleRef
    cannot be updated (it is immutable): the caller deletes and recreates (``"recreate"`` key)."""
    if _autoupdate_off(current):
        return None
    if current.get("roleRef") != desired.get("roleRef"):
        return {**copy.deepcopy(desired), "recreate": True}
    out = copy.deepcopy(current)
    changed = _merge_meta(out, desired)
    subjects = [s for s in out.get("subjects") or [] if isinstance(s, dict)]
    for s in desired.get("subjects") or []:
        if s not in subjects:
            subjects.append(s)
            changed = True
    out["subjects"] = subjects
    return out if changed else None


async def ensure_default_policy(server: Any) -> None:
    """Create or reconcile every default role and binding (errors are logged, never fatal)."""
    from kybernetes.apiserver.registry.store import DeleteOptions, WriteOptions

    opts = WriteOptions(field_manager="kyb-apiserver")
    plan = [("clusterroles", o, reconcile_role) for o in policy.CLUSTER_ROLES]
    plan += [("clusterrolebindings", o, reconcile_binding) for o in policy.CLUSTER_ROLE_BINDINGS]
    plan += [("roles", o, reconcile_role) for o in policy.ROLES]
    plan += [("rolebindings", o, reconcile_binding) for o in policy.ROLE_BINDINGS]
    for plural, desired, decide in plan:
        store = server.stores[("rbac.authorization.k8s.io", plural)]
        meta = desired["metadata"]
        ns, name = meta.get("namespace", ""), meta["name"]
        entry = server.cache.get(f"/registry/{plural}/{ns}/{name}" if ns else f"/registry/{plural}/{name}")
        try:
            if entry is None:
                await store.create(copy.deepcopy(desired), namespace=ns, opts=opts)
                continue
            updated = decide(entry.obj, desired)
            if updated is None:
                continue
            if updated.pop("recreate", False):
                with contextlib.suppress(errors.StatusError):
                    await store.delete(ns, name, DeleteOptions())
                await store.create(updated, namespace=ns, opts=opts)
            else:
                await store.update(ns, name, updated, opts=opts)
        except errors.StatusError as e:
            log.warning("default RBAC policy: %s %s: %s", plural, name, e.message)
