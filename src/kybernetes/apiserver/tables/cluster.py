"""Printers for networking, policy, scheduling, storage, coordination and RBAC kinds:
ingresses and ingress classes, network policies, leases, priority classes, storage classes and
role bindings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kybernetes.apiserver.tables.format import (
    NONE,
    Obj,
    age,
    as_dict,
    as_int,
    as_list,
    dig,
    format_selector,
    meta,
    name,
)
from kybernetes.apiserver.tables.printer import AGE, NAME, Printer, col


def ingress_hosts(rules: Any) -> str:
    rules = as_list(rules)
    hosts: list[str] = []
    more = False
    for rule in rules:
        # Once three hosts are collected, any further rule (with a host or not) counts as "more",
        # and the count shown is rules beyond the third, as upstream prints it.
        if len(hosts) == 3:
            more = True
        host = as_dict(rule).get("host")
        if not more and host:
            hosts.append(str(host))
    if not hosts:
        return "*"
    text = ",".join(hosts)
    return f"{text} + {len(rules) - 3} more..." if more else text


def _ingress_address(obj: Obj) -> str:
    found: set[str] = set()
    for ing in as_list(dig(obj, "status", "loadBalancer", "ingress")):
        ing = as_dict(ing)
        if ing.get("ip"):
            found.add(str(ing["ip"]))
        elif ing.get("hostname"):
            found.add(str(ing["hostname"]))
    return ",".join(sorted(found))


def _ingress(obj: Obj, now: datetime) -> list[Any]:
    spec = as_dict(obj.get("spec"))
    class_name = spec.get("ingressClassName")
    return [
        name(obj),
        NONE if class_name is None else str(class_name),
        ingress_hosts(spec.get("rules")),
        _ingress_address(obj),
        "80, 443" if as_list(spec.get("tls")) else "80",
        age(obj, now),
    ]


INGRESS = Printer(
    (
        NAME,
        col("Class", "The ingress class that serves this ingress."),
        col("Hosts", "Host names the rules match."),
        col("Address", "Addresses of the load balancer serving the ingress."),
        col("Ports", "Ports the ingress listens on."),
        AGE,
    ),
    _ingress,
)


def _ingress_class_parameters(obj: Obj) -> str:
    params = dig(obj, "spec", "parameters")
    if not isinstance(params, dict):
        return NONE
    kind = str(params.get("kind", ""))
    if params.get("apiGroup") is not None:
        kind = f"{kind}.{params['apiGroup']}"
    return f"{kind}/{params.get('name', '')}"


INGRESSCLASS = Printer(
    (
        NAME,
        col("Controller", "The controller that implements the class."),
        col("Parameters", "The object holding the class's parameters."),
        AGE,
    ),
    lambda obj, now: [
        name(obj), str(dig(obj, "spec", "controller") or ""), _ingress_class_parameters(obj), age(obj, now),
    ],
)

NETWORKPOLICY = Printer(
    (NAME, col("Pod-Selector", "The pods the policy applies to."), AGE),
    lambda obj, now: [name(obj), format_selector(as_dict(dig(obj, "spec", "podSelector"))), age(obj, now)],
)

LEASE = Printer(
    (NAME, col("Holder", "Identity of the current holder."), AGE),
    lambda obj, now: [name(obj), str(dig(obj, "spec", "holderIdentity") or ""), age(obj, now)],
)

PRIORITYCLASS = Printer(
    (
        NAME,
        col("Value", "The priority value.", "integer"),
        col("Global-Default", "Whether pods without a class get this one.", "boolean"),
        AGE,
        col("PreemptionPolicy", "Whether pods of this class may preempt others."),
    ),
    lambda obj, now: [
        name(obj), as_int(obj.get("value")), bool(obj.get("globalDefault", False)), age(obj, now),
        str(obj.get("preemptionPolicy") or ""),
    ],
)

_DEFAULT_CLASS_ANNOTATIONS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)


def _storage_class(obj: Obj, now: datetime) -> list[Any]:
    annotations = as_dict(meta(obj).get("annotations"))
    shown = name(obj)
    if any(annotations.get(a) == "true" for a in _DEFAULT_CLASS_ANNOTATIONS):
        shown += " (default)"
    return [
        shown,
        str(obj.get("provisioner", "")),
        str(obj.get("reclaimPolicy") or "Delete"),
        str(obj.get("volumeBindingMode") or "Immediate"),
        bool(obj.get("allowVolumeExpansion", False)),
        age(obj, now),
    ]


STORAGECLASS = Printer(
    (
        NAME,
        col("Provisioner", "The volume plugin that provisions volumes."),
        col("ReclaimPolicy", "Reclaim policy of provisioned volumes."),
        col("VolumeBindingMode", "When volumes are bound and provisioned."),
        col("AllowVolumeExpansion", "Whether claims may be resized."),
        AGE,
    ),
    _storage_class,
)


def subjects(binding: Obj) -> tuple[str, str, str]:
    """(users, groups, service accounts) of a binding, each joined with ", "."""
    users: list[str] = []
    groups: list[str] = []
    accounts: list[str] = []
    for subject in as_list(binding.get("subjects")):
        subject = as_dict(subject)
        kind = subject.get("kind")
        if kind == "ServiceAccount":
            accounts.append(f"{subject.get('namespace', '')}/{subject.get('name', '')}")
        elif kind == "User":
            users.append(str(subject.get("name", "")))
        elif kind == "Group":
            groups.append(str(subject.get("name", "")))
    return ", ".join(users), ", ".join(groups), ", ".join(accounts)


def _binding(obj: Obj, now: datetime) -> list[Any]:
    ref = as_dict(obj.get("roleRef"))
    return [name(obj), f"{ref.get('kind', '')}/{ref.get('name', '')}", age(obj, now), *subjects(obj)]


def _binding_printer(what: str) -> Printer:
    return Printer(
        (
            NAME,
            col("Role", "The granted role, as kind/name."),
            AGE,
            col("Users", f"Users the {what} grants to.", priority=1),
            col("Groups", f"Groups the {what} grants to.", priority=1),
            col("ServiceAccounts", f"Service accounts the {what} grants to.", priority=1),
        ),
        _binding,
    )


ROLEBINDING = _binding_printer("role binding")
CLUSTERROLEBINDING = _binding_printer("cluster role binding")
