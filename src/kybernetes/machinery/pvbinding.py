"""Which PersistentVolume may serve which claim: the matching rules the PV controller and the
scheduler's VolumeBinding plugin share.

Both decide the same question — "can this volume be bound to this claim?" — from different
sides: the controller binds claims whose class binds immediately; the scheduler picks volumes
for claims that wait for their first consumer, and also knows the node. The rules follow
upstream's volume helpers:

1. a volume already pointing at the claim (``claimRef`` with its namespace/name, and its uid or
   none) is the match, whatever else — unless its node affinity excludes the candidate node;
2. otherwise a volume qualifies when it is Available, not being deleted, in the claim's class,
   at least as large as the request, of the same volumeMode, carries every requested access
   mode, matches the claim's label selector and (scheduler) the node's labels;
3. among those the smallest wins; on the controller side volumes with fewer access modes are
   preferred first (upstream walks its access-mode index from the narrowest set);
4. without a node, a claim whose class waits for the first consumer is matched only by rule 1:
   the scheduler binds the rest.

Annotation keys and the built-in local-path provisioner's names live here too, because the
controller, the scheduler and the node agent all read them and none may import another.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kybernetes.machinery.labels import selector_from_label_selector
from kybernetes.machinery.quantity import parse_quantity

Obj = dict[str, Any]

ANN_BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
ANN_BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
ANN_PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
ANN_SELECTED_NODE = "volume.kubernetes.io/selected-node"
ANN_STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
ANN_BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
ANN_BETA_STORAGE_CLASS = "volume.beta.kubernetes.io/storage-class"
NO_PROVISIONER = "kubernetes.io/no-provisioner"
WAIT_FOR_FIRST_CONSUMER = "WaitForFirstConsumer"

# The built-in provisioner (kybernetes' own, so not under the kubernetes.io/ prefix that upstream
# reserves for in-tree plugins: the PV controller treats it as an external provisioner).
LOCAL_PATH_PROVISIONER = "kybernetes.io/local-path"
LOCAL_PATH_CLASS = "local-path"
# Set by each node agent on its Node: the directory under which it keeps local-path volumes.
ANN_LOCAL_PATH_ROOT = "kybernetes.io/local-path-root"
DEFAULT_LOCAL_PATH_ROOT = "/var/lib/kybernetes/storage"


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    m: Mapping[str, Any] = obj.get("metadata") or {}
    return m


def annotations_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    a: Mapping[str, str] = _meta(obj).get("annotations") or {}
    return a


def claim_class(claim: Mapping[str, Any]) -> str:
    """The claim's class: the beta annotation wins over spec.storageClassName, as upstream."""
    ann = annotations_of(claim)
    if ANN_BETA_STORAGE_CLASS in ann:
        return str(ann[ANN_BETA_STORAGE_CLASS])
    return str((claim.get("spec") or {}).get("storageClassName") or "")


def claim_has_class(claim: Mapping[str, Any]) -> bool:
    """False only when the claim says nothing about a class (nil, not ""): the default may apply."""
    return (
        ANN_BETA_STORAGE_CLASS in annotations_of(claim)
        or (claim.get("spec") or {}).get("storageClassName") is not None
    )


def volume_class(pv: Mapping[str, Any]) -> str:
    ann = annotations_of(pv)
    if ANN_BETA_STORAGE_CLASS in ann:
        return str(ann[ANN_BETA_STORAGE_CLASS])
    return str((pv.get("spec") or {}).get("storageClassName") or "")


def storage_bytes(value: Any) -> int:
    """A storage quantity in bytes (rounded up); 0 for a missing or malformed one."""
    if value is None or value == "":
        return 0
    try:
        return math.ceil(parse_quantity(str(value)).value)
    except (ValueError, TypeError):
        return 0


def requested_bytes(claim: Mapping[str, Any]) -> int:
    return storage_bytes(
        (((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage")
    )


def capacity_bytes(pv: Mapping[str, Any]) -> int:
    return storage_bytes(((pv.get("spec") or {}).get("capacity") or {}).get("storage"))


def access_modes_ok(claim: Mapping[str, Any], pv: Mapping[str, Any]) -> bool:
    """Every mode the claim asks for is one the volume offers."""
    offered = set((pv.get("spec") or {}).get("accessModes") or ())
    return all(m in offered for m in (claim.get("spec") or {}).get("accessModes") or ())


def volume_mode_mismatch(claim: Mapping[str, Any], pv: Mapping[str, Any]) -> bool:
    want = (claim.get("spec") or {}).get("volumeMode") or "Filesystem"
    have = (pv.get("spec") or {}).get("volumeMode") or "Filesystem"
    return bool(want != have)


def is_bound_to_claim(pv: Mapping[str, Any], claim: Mapping[str, Any]) -> bool:
    """The volume's claimRef names this claim (and its uid, when the ref carries one)."""
    ref = (pv.get("spec") or {}).get("claimRef")
    if not ref:
        return False
    meta = _meta(claim)
    if ref.get("name") != meta.get("name") or (ref.get("namespace") or "") != (meta.get("namespace") or ""):
        return False
    return not ref.get("uid") or ref.get("uid") == meta.get("uid")


def selector_matches(claim: Mapping[str, Any], pv: Mapping[str, Any]) -> bool:
    selector = (claim.get("spec") or {}).get("selector")
    if selector is None:
        return True
    try:
        return selector_from_label_selector(selector).matches(_meta(pv).get("labels") or {})
    except Exception:  # an invalid selector selects nothing
        return False


def check_volume_satisfies_claim(pv: Mapping[str, Any], claim: Mapping[str, Any]) -> str | None:
    """Why a volume the claim names (spec.volumeName) cannot serve it; None when it can.
    Texts as upstream's PV controller puts them into its VolumeMismatch event."""
    if _meta(pv).get("deletionTimestamp"):
        return f'the volume is marked for deletion "{_meta(pv).get("name", "")}"'
    if capacity_bytes(pv) < requested_bytes(claim):
        return "requested PV is too small"
    if volume_class(pv) != claim_class(claim):
        return "storageClassName does not match"
    if volume_mode_mismatch(claim, pv):
        return "incompatible volumeMode"
    if not access_modes_ok(claim, pv):
        return "incompatible accessMode"
    return None


NodeFits = Callable[[Mapping[str, Any]], bool]


def find_matching_volume(
    claim: Mapping[str, Any],
    volumes: Iterable[Mapping[str, Any]],
    *,
    node_fits: NodeFits | None = None,
    delay_binding: bool = False,
    excluded: frozenset[str] | set[str] = frozenset(),
) -> Mapping[str, Any] | None:
    """The volume to bind `claim` to among `volumes`, or None (rules 1, 2 and 4 of the module doc).

    `node_fits` is given on the scheduler's side: it says whether a volume's node affinity admits
    the candidate node. Without it, `delay_binding` claims only take volumes pre-bound to them.
    """
    requested = requested_bytes(claim)
    wanted_class = claim_class(claim)
    best: Mapping[str, Any] | None = None
    best_size = 0
    for pv in volumes:
        name = str(_meta(pv).get("name") or "")
        if name in excluded:
            continue
        spec = pv.get("spec") or {}
        if spec.get("claimRef") and not is_bound_to_claim(pv, claim):
            continue
        size = capacity_bytes(pv)
        if size < requested or volume_mode_mismatch(claim, pv) or _meta(pv).get("deletionTimestamp"):
            continue
        fits_node = node_fits is None or node_fits(pv)
        if is_bound_to_claim(pv, claim):
            return pv if fits_node else None
        if node_fits is None and delay_binding:
            continue
        if (pv.get("status") or {}).get("phase") != "Available" or not selector_matches(claim, pv):
            continue
        if volume_class(pv) != wanted_class or not fits_node:
            continue
        if node_fits is not None and not access_modes_ok(claim, pv):
            continue
        if best is None or size < best_size:
            best, best_size = pv, size
    return best


def find_best_match_for_claim(
    claim: Mapping[str, Any], volumes: Iterable[Mapping[str, Any]], *, delay_binding: bool
) -> Mapping[str, Any] | None:
    """The PV controller's choice (rule 3): volumes offering every requested access mode, those
    with the fewest modes first, then `find_matching_volume` within each group."""
    groups: dict[int, list[Mapping[str, Any]]] = {}
    for pv in volumes:
        if access_modes_ok(claim, pv):
            groups.setdefault(len((pv.get("spec") or {}).get("accessModes") or ()), []).append(pv)
    for count in sorted(groups):
        found = find_matching_volume(claim, groups[count], delay_binding=delay_binding)
        if found is not None:
            return found
    return None


def is_delay_binding(claim: Mapping[str, Any], classes: Mapping[str, Mapping[str, Any]]) -> bool:
    """The claim's class binds on first consumer. No class, or one that does not exist: no."""
    name = claim_class(claim)
    sc = classes.get(name) if name else None
    return bool(sc is not None and sc.get("volumeBindingMode") == WAIT_FOR_FIRST_CONSUMER)


def claim_ref(claim: Mapping[str, Any]) -> Obj:
    """The ObjectReference a bound volume keeps to its claim."""
    meta = _meta(claim)
    return {
        "kind": "PersistentVolumeClaim",
        "namespace": meta.get("namespace", ""),
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
        "apiVersion": "v1",
        "resourceVersion": meta.get("resourceVersion", ""),
    }
