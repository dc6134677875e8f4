"""ValidatingAdmissionPolicy through real kubectl against `kyb server`: a Deny policy limits
Deployment replicas (kubectl prints upstream's message), a Warn binding makes kubectl print
``Warning:``, params come from a ConfigMap, a namespaceSelector exempts a namespace, and a
policy whose expression does not compile is refused at `kubectl apply`.

Each test works in its own namespace and its policies select only that namespace, so tests
do not see each other's policies.
"""

from __future__ import annotations

import textwrap
import time

import pytest

from kybernetes.testing.cluster import KybServer

pytestmark = pytest.mark.e2e


def policy(name: str, namespace: str, validations: str, extra: str = "") -> str:
    return (
        textwrap.dedent(f"""\
        apiVersion: admissionregistration.k8s.io/v1
        kind: ValidatingAdmissionPolicy
        metadata: {{name: {name}}}
        spec:
          matchConstraints:
            namespaceSelector: {{matchLabels: {{vap-test: {namespace}}}}}
            resourceRules:
            - {{apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}}
        """)
        + textwrap.indent(extra, "  ")
        + "  validations:\n"
        + textwrap.indent(validations, "  ")
    )


def binding(name: str, policy_name: str, actions: str = "[Deny]", extra: str = "") -> str:
    return textwrap.dedent(f"""\
        apiVersion: admissionregistration.k8s.io/v1
        kind: ValidatingAdmissionPolicyBinding
        metadata: {{name: {name}}}
        spec:
          policyName: {policy_name}
          validationActions: {actions}
        """) + textwrap.indent(extra, "  ")


def make_namespace(kyb: KybServer, name: str, **labels: str) -> None:
    kyb.kubectl("create", "namespace", name)
    kyb.kubectl("label", "namespace", name, f"vap-test={name}", *(f"{k}={v}" for k, v in labels.items()))


def create_until_refused(kyb: KybServer, *args: str) -> str:
    """Run `kubectl create ...` until the policy (just applied) refuses it; the refusal's stderr."""
    deadline = time.monotonic() + 10
    while True:
        proc = kyb.kubectl("create", *args, check=False)
        if proc.returncode != 0 or time.monotonic() > deadline:
            return proc.stderr.strip()
        kyb.kubectl("delete", *args[:2], "-n", args[args.index("-n") + 1])
        time.sleep(0.2)


REPLICAS = "- expression: object.spec.replicas <= 5\n"


def test_deny_limits_deployment_replicas(kyb: KybServer) -> None:
    make_namespace(kyb, "vap-deny")
    kyb.kubectl("apply", "-f", "-", input=policy("max-replicas", "vap-deny", REPLICAS))
    kyb.kubectl("apply", "-f", "-", input=binding("max-replicas-binding", "max-replicas"))
    try:
        stderr = create_until_refused(
            kyb, "deployment", "big", "--image=busybox", "--replicas=6", "-n", "vap-deny"
        )
        assert stderr == (
            'error: failed to create deployment: deployments.apps "big" is forbidden: ValidatingAdmissionPolicy '
            "'max-replicas' with binding 'max-replicas-binding' denied request: failed expression: "
            "object.spec.replicas <= 5"
        )
        # kubectl apply reports the 422 as an invalid object with one field-less cause (as upstream's docs show)
        proc = kyb.kubectl(
            "apply",
            "-n",
            "vap-deny",
            "-f",
            "-",
            check=False,
            input=textwrap.dedent("""\
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: applied}
            spec:
              replicas: 6
              selector: {matchLabels: {app: applied}}
              template: {metadata: {labels: {app: applied}}, spec: {containers: [{name: c, image: busybox}]}}
            """),
        )
        assert proc.stderr.strip() == (
            "The deployments \"applied\" is invalid: : ValidatingAdmissionPolicy 'max-replicas' with binding "
            "'max-replicas-binding' denied request: failed expression: object.spec.replicas <= 5"
        )
        kyb.kubectl("create", "deployment", "small", "--image=busybox", "--replicas=5", "-n", "vap-deny")
        # a scale past the limit is refused too (UPDATE)
        proc = kyb.kubectl("scale", "deployment", "small", "--replicas=8", "-n", "vap-deny", check=False)
        assert proc.returncode != 0
        assert "denied request: failed expression: object.spec.replicas <= 5" in proc.stderr
        table = kyb.kubectl("get", "validatingadmissionpolicies", "max-replicas").stdout
        assert table.split("\n")[0].split() == ["NAME", "VALIDATIONS", "PARAMKIND", "AGE"]
        assert table.split("\n")[1].split()[:3] == ["max-replicas", "1", "<unset>"]
    finally:
        kyb.kubectl("delete", "validatingadmissionpolicybinding", "max-replicas-binding")
        kyb.kubectl("delete", "validatingadmissionpolicy", "max-replicas")


def test_warn_action_prints_a_warning(kyb: KybServer) -> None:
    make_namespace(kyb, "vap-warn")
    kyb.kubectl("apply", "-f", "-", input=policy("warn-replicas", "vap-warn", REPLICAS))
    kyb.kubectl("apply", "-f", "-", input=binding("warn-replicas-binding", "warn-replicas", "[Warn, Audit]"))
    try:
        warning = (
            "Warning: Validation failed for ValidatingAdmissionPolicy 'warn-replicas' with binding "
            "'warn-replicas-binding': failed expression: object.spec.replicas <= 5"
        )
        deadline = time.monotonic() + 10
        while True:
            proc = kyb.kubectl(
                "create", "deployment", "big", "--image=busybox", "--replicas=7", "-n", "vap-warn"
            )
            if warning in proc.stderr or time.monotonic() > deadline:
                break
            kyb.kubectl("delete", "deployment", "big", "-n", "vap-warn")
            time.sleep(0.2)
        assert proc.stderr.strip() == warning
        assert proc.stdout.strip() == "deployment.apps/big created"
    finally:
        kyb.kubectl("delete", "validatingadmissionpolicybinding", "warn-replicas-binding")
        kyb.kubectl("delete", "validatingadmissionpolicy", "warn-replicas")


def test_params_from_a_configmap(kyb: KybServer) -> None:
    make_namespace(kyb, "vap-params")
    kyb.kubectl("create", "configmap", "replica-limit", "--from-literal=max=2", "-n", "vap-params")
    validations = textwrap.dedent("""\
        - expression: object.spec.replicas <= int(params.data.max)
          messageExpression: "'replicas must be at most ' + params.data.max"
          reason: Forbidden
        """)
    kyb.kubectl(
        "apply",
        "-f",
        "-",
        input=policy(
            "param-replicas", "vap-params", validations, "paramKind: {apiVersion: v1, kind: ConfigMap}\n"
        ),
    )
    kyb.kubectl(
        "apply",
        "-f",
        "-",
        input=binding(
            "param-replicas-binding",
            "param-replicas",
            extra="paramRef: {name: replica-limit, parameterNotFoundAction: Deny}\n",
        ),
    )
    try:
        stderr = create_until_refused(
            kyb, "deployment", "three", "--image=busybox", "--replicas=3", "-n", "vap-params"
        )
        assert stderr == (
            'error: failed to create deployment: deployments.apps "three" is forbidden: ValidatingAdmissionPolicy '
            "'param-replicas' with binding 'param-replicas-binding' denied request: replicas must be at most 2"
        )
        kyb.kubectl("create", "deployment", "two", "--image=busybox", "--replicas=2", "-n", "vap-params")
        bindings = kyb.kubectl("get", "validatingadmissionpolicybindings", "param-replicas-binding").stdout
        assert bindings.split("\n")[1].split()[:3] == [
            "param-replicas-binding",
            "param-replicas",
            "*/replica-limit",
        ]
    finally:
        kyb.kubectl("delete", "validatingadmissionpolicybinding", "param-replicas-binding")
        kyb.kubectl("delete", "validatingadmissionpolicy", "param-replicas")


def test_namespace_selector_exempts_a_namespace(kyb: KybServer) -> None:
    make_namespace(kyb, "vap-strict")
    make_namespace(kyb, "vap-exempt", replicas="unlimited")
    pol = textwrap.dedent("""\
        apiVersion: admissionregistration.k8s.io/v1
        kind: ValidatingAdmissionPolicy
        metadata: {name: ns-replicas}
        spec:
          matchConstraints:
            namespaceSelector: {matchExpressions: [{key: vap-test, operator: In, values: [vap-strict, vap-exempt]}]}
            resourceRules:
            - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
          validations:
          - expression: object.spec.replicas <= 5
        """)
    kyb.kubectl("apply", "-f", "-", input=pol)
    kyb.kubectl(
        "apply",
        "-f",
        "-",
        input=binding(
            "ns-replicas-binding",
            "ns-replicas",
            extra=textwrap.dedent("""\
        matchResources:
          namespaceSelector:
            matchExpressions: [{key: replicas, operator: NotIn, values: [unlimited]}]
        """),
        ),
    )
    try:
        stderr = create_until_refused(
            kyb, "deployment", "big", "--image=busybox", "--replicas=9", "-n", "vap-strict"
        )
        assert (
            "ValidatingAdmissionPolicy 'ns-replicas' with binding 'ns-replicas-binding' denied request"
            in stderr
        )
        kyb.kubectl("create", "deployment", "big", "--image=busybox", "--replicas=9", "-n", "vap-exempt")
    finally:
        kyb.kubectl("delete", "validatingadmissionpolicybinding", "ns-replicas-binding")
        kyb.kubectl("delete", "validatingadmissionpolicy", "ns-replicas")


def test_broken_expression_is_refused_at_apply(kyb: KybServer) -> None:
    proc = kyb.kubectl(
        "apply",
        "-f",
        "-",
        check=False,
        input=policy(
            "broken",
            "vap-none",
            "- expression: objekt.spec.replicas <= 5\n- expression: object.spec.paused\n",
        ),
    )
    assert proc.returncode != 0
    assert proc.stderr.strip() == (
        'The ValidatingAdmissionPolicy "broken" is invalid: \n'
        '* spec.validations[0].expression: Invalid value: "objekt.spec.replicas <= 5": compilation failed: '
        "ERROR: <input>:1:1: undeclared reference to 'objekt' (in container '')\n"
        " | objekt.spec.replicas <= 5\n"
        " | ^\n"
        '* spec.validations[1].expression: Invalid value: "object.spec.paused": must evaluate to bool but got dyn'
    )
    proc = kyb.kubectl("apply", "-f", "-", check=False, input=binding("both", "broken", "[Deny, Warn]"))
    assert proc.returncode != 0
    assert proc.stderr.strip() == (
        'The ValidatingAdmissionPolicyBinding "both" is invalid: spec.validationActions: Invalid value: '
        '[]admissionregistration.ValidationAction{"Deny", "Warn"}: must not contain both Deny and Warn (repeating the same validation failure '
        "information in the API response and headers serves no purpose)"
    )
