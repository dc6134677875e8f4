"""CEL's ``authorizer`` asks the server's real authorizer, through real kubectl against
`kyb server` (Node,RBAC): a ValidatingAdmissionPolicy lets only users who may list Secrets in
the namespace create ConfigMaps there. The cluster admin passes; a ServiceAccount token user
who may create ConfigMaps but not list Secrets is refused with the policy's message; bound to
``edit`` (which reads Secrets) the same user passes."""

from __future__ import annotations

import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kybernetes.testing.cluster import KybServer

pytestmark = pytest.mark.e2e

NS = "cel-authz"
POLICY = textwrap.dedent(f"""\
    apiVersion: admissionregistration.k8s.io/v1
    kind: ValidatingAdmissionPolicy
    metadata: {{name: secret-readers-only}}
    spec:
      matchConstraints:
        namespaceSelector: {{matchLabels: {{cel-authz-test: "{NS}"}}}}
        resourceRules:
        - {{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}}
      matchConditions:
      - name: not-the-root-ca
        expression: object.metadata.name != 'kube-root-ca.crt'
      validations:
      - expression: authorizer.group('').resource('secrets').namespace(request.namespace).check('list').allowed()
        messageExpression: "'user ' + request.userInfo.username + ' may not list secrets in ' + request.namespace"
        reason: Forbidden
    ---
    apiVersion: admissionregistration.k8s.io/v1
    kind: ValidatingAdmissionPolicyBinding
    metadata: {{name: secret-readers-only-binding}}
    spec:
      policyName: secret-readers-only
      validationActions: [Deny]
    """)
ROBOT = f"system:serviceaccount:{NS}:robot"
REFUSAL = (
    'error: failed to create configmap: configmaps "{name}" is forbidden: ValidatingAdmissionPolicy '
    "'secret-readers-only' with binding 'secret-readers-only-binding' denied request: "
    f"user {ROBOT} may not list secrets in {NS}"
)


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    server = KybServer(Path(tmp_path_factory.mktemp("kyb-cel-authz")))  # Node,RBAC: the default
    server.start()
    try:
        yield server
    finally:
        server.stop()


def robot_args(kyb: KybServer) -> list[str]:
    """kubectl flags that act as the `robot` ServiceAccount through a token from the TokenRequest API."""
    kyb.kubectl("create", "serviceaccount", "robot", "-n", NS)
    token = kyb.kubectl("create", "token", "robot", "-n", NS).stdout.strip()
    return [
        "--token",
        token,
        "--kubeconfig",
        "/dev/null",
        "--server",
        kyb.url,
        "--certificate-authority",
        str(kyb.data_dir / "tls" / "ca.crt"),
    ]


def as_robot(kyb: KybServer, args: list[str], *command: str) -> subprocess.CompletedProcess[str]:
    return kyb.kubectl(*command, *args, check=False, env={"KUBECONFIG": ""})


def test_policy_checks_the_requesting_users_permissions(kyb: KybServer) -> None:
    kyb.kubectl("create", "namespace", NS)
    kyb.kubectl("label", "namespace", NS, f"cel-authz-test={NS}")
    robot = robot_args(kyb)
    # robot may write ConfigMaps (so RBAC lets the request reach admission) but not read Secrets
    kyb.kubectl("create", "role", "cm-writer", "--verb=create,get,list", "--resource=configmaps", "-n", NS)
    kyb.kubectl(
        "create", "rolebinding", "robot-cm", "--role=cm-writer", f"--serviceaccount={NS}:robot", "-n", NS
    )
    no = as_robot(kyb, robot, "auth", "can-i", "list", "secrets", "-n", NS)
    assert no.stdout.strip() == "no"
    kyb.kubectl("apply", "-f", "-", input=POLICY)
    try:
        # the policy is served from the watch cache: wait until it refuses robot
        deadline = time.monotonic() + 10
        attempt = 0
        while True:
            name = f"robot-{attempt}"
            refused = as_robot(kyb, robot, "create", "configmap", name, "-n", NS)
            if refused.returncode != 0 or time.monotonic() > deadline:
                break
            attempt += 1
            time.sleep(0.2)
        assert refused.stderr.strip() == REFUSAL.format(name=name)
        assert refused.stdout == ""

        # the cluster admin (system:masters) may list Secrets: the same policy lets it create
        admin = kyb.kubectl("create", "configmap", "by-admin", "-n", NS, "--from-literal=a=b", check=False)
        assert (admin.returncode, admin.stdout.strip(), admin.stderr) == (0, "configmap/by-admin created", "")

        # bound to `edit`, robot may list Secrets, and the policy's check now answers allowed
        kyb.kubectl(
            "create",
            "rolebinding",
            "robot-edit",
            "--clusterrole=edit",
            f"--serviceaccount={NS}:robot",
            "-n",
            NS,
        )
        deadline = time.monotonic() + 10
        while True:
            allowed = as_robot(kyb, robot, "create", "configmap", "by-robot", "-n", NS)
            if allowed.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert (allowed.returncode, allowed.stdout.strip(), allowed.stderr) == (
            0,
            "configmap/by-robot created",
            "",
        )
    finally:
        kyb.kubectl("delete", "validatingadmissionpolicybinding", "secret-readers-only-binding", check=False)
        kyb.kubectl("delete", "validatingadmissionpolicy", "secret-readers-only", check=False)
