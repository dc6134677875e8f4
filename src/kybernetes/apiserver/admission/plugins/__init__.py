"""The built-in admission plugins, in upstream's order.

Upstream 1.32's default list minus what does not apply here: PersistentVolumeClaimResize (claims
cannot be expanded), RuntimeClass and ClusterTrustBundleAttest (node.k8s.io and
ClusterTrustBundles are not served). NodeRestriction is added by ``authz.setup`` with the Node
authorizer. Plugins with a `bootstrap(ctx)` coroutine (Priority) need it called once
at server start-up; PodSecurity leaves warnings in ``attrs.options["warnings"]``. The webhook
plugins sit where upstream has them: after every built-in mutating plugin, before ResourceQuota,
with ValidatingAdmissionPolicy between the two webhook plugins.
"""

from __future__ import annotations

from kybernetes.apiserver.admission import Plugin
from kybernetes.apiserver.admission.plugins.certificates import (
    CertificateApproval,
    CertificateSigning,
    CertificateSubjectRestriction,
)
from kybernetes.apiserver.admission.plugins.default_ingress_class import DefaultIngressClass
from kybernetes.apiserver.admission.plugins.default_storage_class import DefaultStorageClass
from kybernetes.apiserver.admission.plugins.default_toleration_seconds import DefaultTolerationSeconds
from kybernetes.apiserver.admission.plugins.limit_ranger import LimitRanger
from kybernetes.apiserver.admission.plugins.namespace_lifecycle import NamespaceLifecycle
from kybernetes.apiserver.admission.plugins.node_taint import TaintNodesByCondition
from kybernetes.apiserver.admission.plugins.pod_security import PodSecurity
from kybernetes.apiserver.admission.plugins.policy import ValidatingAdmissionPolicy
from kybernetes.apiserver.admission.plugins.priority import Priority
from kybernetes.apiserver.admission.plugins.resource_quota import ResourceQuota
from kybernetes.apiserver.admission.plugins.service_account import ServiceAccount
from kybernetes.apiserver.admission.plugins.storage_protection import StorageObjectInUseProtection
from kybernetes.apiserver.admission.plugins.webhook import (
    MutatingAdmissionWebhook,
    ValidatingAdmissionWebhook,
)

__all__ = [
    "CertificateApproval",
    "CertificateSigning",
    "CertificateSubjectRestriction",
    "DefaultIngressClass",
    "DefaultStorageClass",
    "DefaultTolerationSeconds",
    "LimitRanger",
    "MutatingAdmissionWebhook",
    "NamespaceLifecycle",
    "PodSecurity",
    "Priority",
    "ResourceQuota",
    "ServiceAccount",
    "StorageObjectInUseProtection",
    "TaintNodesByCondition",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionWebhook",
    "builtin_plugins",
]


def builtin_plugins() -> list[Plugin]:
    return [
        NamespaceLifecycle(),
        LimitRanger(),
        ServiceAccount(),
        TaintNodesByCondition(),
        PodSecurity(),
        Priority(),
        DefaultTolerationSeconds(),
        DefaultStorageClass(),
        StorageObjectInUseProtection(),
        CertificateApproval(),
        CertificateSigning(),
        CertificateSubjectRestriction(),
        DefaultIngressClass(),
        MutatingAdmissionWebhook(),
        ValidatingAdmissionPolicy(),
        ValidatingAdmissionWebhook(),
        ResourceQuota(),
    ]
