"""Real kubectl explain prints our own descriptions of kinds and of fields at any depth.

tests/e2e/test_kubectl_objects.py checks that explain finds fields; this checks what it says
about them. kubectl wraps long text, so comparisons ignore line breaks and indentation.
"""

from __future__ import annotations

import pytest

from kybernetes.api.fielddocs import field_description, message_description
from kybernetes.testing.cluster import KybServer

pytestmark = pytest.mark.e2e

APPS = "io.k8s.api.apps.v1."
BATCH = "io.k8s.api.batch.v1."
CORE = "io.k8s.api.core.v1."


def _flat(text: str) -> str:
    return " ".join(text.split())


def _explain(kyb: KybServer, path: str, *flags: str) -> str:
    return _flat(kyb.kubectl("explain", path, *flags).stdout)


@pytest.mark.parametrize(
    ("path", "message", "field", "header"),
    [
        pytest.param(
            "deployment.spec.strategy.rollingUpdate.maxSurge",
            APPS + "RollingUpdateDeployment",
            "maxSurge",
            "FIELD: maxSurge <IntOrString>",
            id="deployment-maxSurge",
        ),
        pytest.param(
            "pod.spec.containers.resources.limits",
            CORE + "ResourceRequirements",
            "limits",
            "FIELD: limits <map[string]Quantity>",
            id="pod-container-limits",
        ),
        pytest.param(
            "job.spec.backoffLimit",
            BATCH + "JobSpec",
            "backoffLimit",
            "FIELD: backoffLimit <integer>",
            id="job-backoffLimit",
        ),
        pytest.param(
            "cronjob.spec.concurrencyPolicy",
            BATCH + "CronJobSpec",
            "concurrencyPolicy",
            "FIELD: concurrencyPolicy <string>",
            id="cronjob-concurrencyPolicy",
        ),
        pytest.param(
            "deployment.metadata.ownerReferences.blockOwnerDeletion",
            "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference",
            "blockOwnerDeletion",
            "FIELD: blockOwnerDeletion <boolean>",
            id="meta-through-another-group",
        ),
    ],
)
def test_explain_prints_the_field_description(
    kyb: KybServer, path: str, message: str, field: str, header: str
) -> None:
    description = field_description(message, field)
    assert description, f"{message}.{field} has no description"
    out = _explain(kyb, path)
    assert header in out
    assert _flat(description) in out


def test_explain_prints_the_kind_description_and_field_summaries(kyb: KybServer) -> None:
    out = _explain(kyb, "deployment.spec")
    assert "KIND: Deployment" in out
    # Each field's summary line starts with (a prefix of) its description.
    assert _flat(field_description(APPS + "DeploymentSpec", "progressDeadlineSeconds"))[:40] in out
    out = _explain(kyb, "job")
    assert _flat(message_description(BATCH + "Job")) in out


def test_explain_recursive_names_nested_fields(kyb: KybServer) -> None:
    out = _explain(kyb, "statefulset.spec.persistentVolumeClaimRetentionPolicy", "--recursive")
    assert "whenDeleted <string>" in out and "whenScaled <string>" in out
