"""The pods/eviction subresource: a pod delete that respects its PodDisruptionBudget.

``POST /api/v1/namespaces/<ns>/pods/<name>/eviction`` with a policy/v1 Eviction. The rules, as
upstream's eviction REST:

1. A pod that does not count for availability (Succeeded, Failed, Pending, or already being
   deleted) is deleted without looking at budgets.
2. No budget selects the pod: delete. More than one: 500 (not supported, as upstream).
3. The budget must be current (status.observedGeneration >= generation) and allow a disruption
   (disruptionsAllowed > 0), else 429 TooManyRequests "Cannot evict pod as it would violate the
   pod's disruption budget." with a DisruptionBudget cause. An unready pod may go without using
   the budget when the budget is healthy anyway (unhealthyPodEvictionPolicy IfHealthyBudget, the
   default) or always (AlwaysAllow).
4. Otherwise the budget's status is written first, compare-and-swap: disruptionsAllowed - 1 and
   the pod in disruptedPods (so two concurrent evictions cannot both spend the last disruption;
   the disruption controller drops the entry once the pod is gone or after 2 minutes); then the
   pod is deleted (gracefully, with the Eviction's deleteOptions). The answer is 201 and a
   Success Status.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kybernetes.apiserver.registry.store import DeleteOptions, Store, WriteOptions
from kybernetes.machinery import errors, labels

Obj = dict[str, Any]

MAX_DISRUPTED_PODS = 2000
VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."


def _ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _budget_applies(pdb: Obj, pod: Obj) -> bool:
    sel = (pdb.get("spec") or {}).get("selector")
    if sel is None:
        return False
    try:
        selector = labels.selector_from_label_selector(sel)
    except errors.StatusError:
        return False
    return selector.matches((pod.get("metadata") or {}).get("labels") or {})


def _violation(cause: str) -> errors.StatusError:
    return errors.StatusError(429, "TooManyRequests", VIOLATION, {"causes": [{"reason": "DisruptionBudget",
                                                                              "message": cause}]})


def _delete_options(eviction: Obj, pod: Obj, *, user: Any, dry_run: bool) -> DeleteOptions:
    opts = eviction.get("deleteOptions") or {}
    pre = opts.get("preconditions") or {}
    grace = opts.get("gracePeriodSeconds")
    return DeleteOptions(grace_period_seconds=int(grace) if grace is not None else None,
                         propagation_policy=opts.get("propagationPolicy"),
                         precondition_uid=pre.get("uid") or (pod.get("metadata") or {}).get("uid"),
                         precondition_rv=pre.get("resourceVersion"),
                         dry_run=dry_run or bool(opts.get("dryRun")), user=user)


async def evict(eviction: Obj, namespace: str, name: str, *, pods: Store, pdbs: Store, user: Any = None,
                dry_run: bool = False) -> Obj:
    """Carry out an Eviction; the Success Status to answer with 201, or raises StatusError."""
    ev_name = (eviction.get("metadata") or {}).get("name")
    if ev_name and ev_name != name:
        raise errors.bad_request("name in URL does not match name in Eviction object")
    pod = (await pods.get(namespace, name)).obj
    options = _delete_options(eviction, pod, user=user, dry_run=dry_run)
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed", "Pending") or (pod.get("metadata") or {}).get("deletionTimestamp"):
        await pods.delete(namespace, name, options)
        return errors.success_status()

    budgets = [e.obj for e in (await pdbs.list(namespace)).items if _budget_applies(e.obj, pod)]
    if len(budgets) > 1:
        raise errors.StatusError(500, "InternalError",
                                 "This pod has more than one PodDisruptionBudget, which the eviction subresource "
                                 "does not support.")
    if budgets:
        pdb = budgets[0]
        unhealthy_ok = False
        if not _ready(pod):
            policy = (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy") or "IfHealthyBudget"
            st = pdb.get("status") or {}
            healthy_budget = int(st.get("currentHealthy") or 0) >= int(st.get("desiredHealthy") or 0) > 0
            unhealthy_ok = policy == "AlwaysAllow" or healthy_budget
        if not unhealthy_ok:
            pdb_name = str(pdb["metadata"]["name"])

            async def spend(current: Obj) -> Obj:
                meta = current.get("metadata") or {}
                st = current.setdefault("status", {})
                if int(st.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
                    raise _violation(f"The disruption budget {pdb_name} is still being processed by the server.")
                allowed = int(st.get("disruptionsAllowed") or 0)
                if allowed < 0:
                    raise errors.forbidden("pdb disruptions allowed is negative")
                disrupted = dict(st.get("disruptedPods") or {})
                if len(disrupted) > MAX_DISRUPTED_PODS:
                    raise errors.forbidden("DisruptedPods map too big - too many evictions not confirmed by PDB "
                                           "controller")
                if allowed == 0:
                    raise _violation(f"The disruption budget {pdb_name} needs {int(st.get('desiredHealthy') or 0)} "
                                     f"healthy pods and has {int(st.get('currentHealthy') or 0)} currently")
                st["disruptionsAllowed"] = allowed - 1
                disrupted[name] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                st["disruptedPods"] = disrupted
                return current

            await pdbs.guaranteed_update(namespace, pdb_name, spend, opts=WriteOptions(dry_run=options.dry_run, user=user),
                                         subresource="status")
    await pods.delete(namespace, name, options)
    return errors.success_status()
