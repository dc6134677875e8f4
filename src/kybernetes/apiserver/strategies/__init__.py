"""Per-kind strategies; importing this package registers them all."""

from kybernetes.apiserver.strategies import (  # noqa: F401  (imported to register)
    admissionpolicy,
    admissionregistration,
    apps,
    autoscaling,
    batch,
    certificates,
    core,
    networking,
    other,
    pod,
    policy,
    rbac,
    service,
)
