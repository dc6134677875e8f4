"""CRD validation rules (x-kubernetes-validations, CEL) through real kubectl against `kyb server`.

A CRD with rules on the root, on spec (message, messageExpression + fieldPath, reason), an
immutable field (a transition rule) and keyed list items is applied; valid objects are
accepted, invalid ones rejected with exactly the text kubectl prints for upstream's errors,
and a CRD whose rule does not compile is refused at create.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Iterator

import pytest

from kybernetes.testing.cluster import KybServer

pytestmark = pytest.mark.e2e

CRD = textwrap.dedent("""\
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: gadgets.cel.example.com
    spec:
      group: cel.example.com
      scope: Namespaced
      names: {plural: gadgets, singular: gadget, kind: Gadget}
      versions:
      - name: v1
        served: true
        storage: true
        subresources: {status: {}}
        schema:
          openAPIV3Schema:
            type: object
            x-kubernetes-validations:
            - rule: "self.metadata.name.startsWith('g-')"
              message: "name must start with g-"
            properties:
              spec:
                type: object
                x-kubernetes-validations:
                - rule: "self.replicas <= self.maxReplicas"
                  message: "replicas must not exceed maxReplicas"
                - rule: "self.maxReplicas <= 10"
                  messageExpression: "'maxReplicas %d is over 10'.format([self.maxReplicas])"
                  fieldPath: .maxReplicas
                - rule: "!has(self.mode) || self.mode != 'Off'"
                  reason: FieldValueForbidden
                  fieldPath: .mode
                  message: "mode Off is not allowed"
                properties:
                  replicas: {type: integer, default: 1}
                  maxReplicas: {type: integer}
                  mode: {type: string}
                  owner:
                    type: string
                    x-kubernetes-validations:
                    - rule: "self == oldSelf"
                      message: "owner is immutable"
                  ports:
                    type: array
                    x-kubernetes-list-type: map
                    x-kubernetes-list-map-keys: [name]
                    items:
                      type: object
                      required: [name]
                      properties:
                        name: {type: string}
                        port: {type: integer}
                      x-kubernetes-validations:
                      - rule: "self.port > 0 && self.port < 65536"
                        message: "port out of range"
              status:
                type: object
                properties:
                  phase:
                    type: string
                    x-kubernetes-validations:
                    - rule: "self in ['Pending', 'Running']"
    """)


def gadget(name: str, spec: str) -> str:
    return f"apiVersion: cel.example.com/v1\nkind: Gadget\nmetadata: {{name: {name}}}\nspec: {spec}\n"


@pytest.fixture(scope="module")
def crd(kyb: KybServer) -> Iterator[KybServer]:
    kyb.kubectl("apply", "-f", "-", input=CRD)
    kyb.kubectl("wait", "--for=condition=established", "crd/gadgets.cel.example.com", "--timeout=20s")
    yield kyb


def refused(kyb: KybServer, *args: str, input: str | None = None) -> str:
    proc = kyb.kubectl(*args, input=input, check=False)
    assert proc.returncode != 0, proc.stdout
    return proc.stderr.strip()


def test_valid_object_is_accepted_with_defaults(crd: KybServer) -> None:
    out = crd.kubectl(
        "apply",
        "-f",
        "-",
        input=gadget("g-ok", "{maxReplicas: 3, owner: me, ports: [{name: http, port: 80}]}"),
    ).stdout
    assert out.strip() == "gadget.cel.example.com/g-ok created"
    got = crd.kubectl("get", "gadget", "g-ok", "-o", "jsonpath={.spec.replicas}").stdout
    assert got == "1"


@pytest.mark.parametrize(
    ("name", "spec", "message"),
    [
        pytest.param(
            "g-many",
            "{replicas: 5, maxReplicas: 3}",
            'The Gadget "g-many" is invalid: spec: Invalid value: "object": replicas must not exceed maxReplicas',
            id="message",
        ),
        pytest.param(
            "g-big",
            "{replicas: 1, maxReplicas: 20}",
            'The Gadget "g-big" is invalid: spec.maxReplicas: Invalid value: "object": maxReplicas 20 is over 10',
            id="message-expression-field-path",
        ),
        pytest.param(
            "g-off",
            "{maxReplicas: 1, mode: 'Off'}",
            'The Gadget "g-off" is invalid: spec.mode: Forbidden: mode Off is not allowed',
            id="reason",
        ),
        pytest.param(
            "bad",
            "{maxReplicas: 1}",
            'The Gadget "bad" is invalid: <nil>: Invalid value: "object": name must start with g-',
            id="root",
        ),
        pytest.param(
            "g-port",
            "{maxReplicas: 1, ports: [{name: a, port: 1}, {name: b, port: 70000}]}",
            'The Gadget "g-port" is invalid: spec.ports[1]: Invalid value: "object": port out of range',
            id="list-item",
        ),
    ],
)
def test_invalid_objects_are_refused_with_upstream_text(
    crd: KybServer, name: str, spec: str, message: str
) -> None:
    assert refused(crd, "apply", "-f", "-", input=gadget(name, spec)) == message
    assert crd.kubectl("get", "gadget", name, check=False).returncode != 0


def test_schema_errors_stop_rules(crd: KybServer) -> None:
    text = refused(crd, "apply", "-f", "-", input=gadget("g-type", "{maxReplicas: 'x'}"))
    assert text == (
        'The Gadget "g-type" is invalid: \n'
        '* spec.maxReplicas: Invalid value: "string": spec.maxReplicas in body must be of type integer: '
        '"string"\n'
        '* <nil>: Invalid value: "null": some validation rules were not checked because the object was '
        "invalid; correct the existing errors to complete validation"
    )


def test_transition_rule_keeps_a_field_immutable(crd: KybServer) -> None:
    crd.kubectl("apply", "-f", "-", input=gadget("g-owned", "{maxReplicas: 2, owner: alice}"))
    text = refused(crd, "patch", "gadget", "g-owned", "--type=merge", "-p", '{"spec":{"owner":"bob"}}')
    assert text == 'The Gadget "g-owned" is invalid: spec.owner: Invalid value: "string": owner is immutable'
    # other changes are fine, and the rules see the new values
    crd.kubectl("patch", "gadget", "g-owned", "--type=merge", "-p", '{"spec":{"replicas":2}}')
    text = refused(crd, "patch", "gadget", "g-owned", "--type=merge", "-p", '{"spec":{"replicas":3}}')
    assert text == (
        'The Gadget "g-owned" is invalid: spec: Invalid value: "object": replicas must not exceed maxReplicas'
    )


def test_status_subresource_rules(crd: KybServer) -> None:
    crd.kubectl("apply", "-f", "-", input=gadget("g-status", "{maxReplicas: 2}"))
    crd.kubectl(
        "patch",
        "gadget",
        "g-status",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"phase":"Running"}}',
    )
    text = refused(
        crd,
        "patch",
        "gadget",
        "g-status",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"phase":"Lost"}}',
    )
    assert text == (
        'The Gadget "g-status" is invalid: status.phase: Invalid value: "string": failed rule: '
        "self in ['Pending', 'Running']"
    )


def test_crd_with_a_broken_rule_is_refused_at_create(kyb: KybServer) -> None:
    broken = (
        CRD.replace("gadgets.cel.example.com", "brokens.cel.example.com")
        .replace(
            "{plural: gadgets, singular: gadget, kind: Gadget}",
            "{plural: brokens, singular: broken, kind: Broken}",
        )
        .replace("self.replicas <= self.maxReplicas", "self.foo == 1")
    )
    text = refused(kyb, "apply", "-f", "-", input=broken)
    assert text == (
        'The CustomResourceDefinition "brokens.cel.example.com" is invalid: '
        "spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: "
        'apiextensions.ValidationRule{Rule:"self.foo == 1", Message:"replicas must not exceed maxReplicas", '
        'MessageExpression:"", Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:"", '
        "OptionalOldSelf:(*bool)(nil)}: compilation failed: ERROR: <input>:1:5: undefined field 'foo'\n"
        " | self.foo == 1\n"
        " | ....^"
    )
    assert kyb.kubectl("get", "crd", "brokens.cel.example.com", check=False).returncode != 0


RATCHET_CRD = textwrap.dedent("""\
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: ratchets.cel.example.com
    spec:
      group: cel.example.com
      scope: Namespaced
      names: {plural: ratchets, singular: ratchet, kind: Ratchet}
      versions:
      - name: v1
        served: true
        storage: true
        schema:
          openAPIV3Schema:
            type: object
            properties:
              spec:
                type: object
                RULES
                properties:
                  size: {type: integer}
                  note: {type: string}
    """)


def test_rules_added_later_ratchet_unchanged_values(kyb: KybServer) -> None:
    kyb.kubectl("apply", "-f", "-", input=RATCHET_CRD.replace("RULES", ""))
    kyb.kubectl("wait", "--for=condition=established", "crd/ratchets.cel.example.com", "--timeout=20s")
    kyb.kubectl(
        "apply",
        "-f",
        "-",
        input="apiVersion: cel.example.com/v1\nkind: Ratchet\nmetadata: {name: r}\nspec: {size: 20}\n",
    )
    rule = 'x-kubernetes-validations: [{rule: "self.size < 10", message: "size must be below 10"}]'
    kyb.kubectl("apply", "-f", "-", input=RATCHET_CRD.replace("RULES", rule))
    deadline = time.monotonic() + 20
    while True:  # the new rule is served once the CRD controller has seen the update
        proc = kyb.kubectl("patch", "ratchet", "r", "--type=merge", "-p", '{"spec":{"size":21}}', check=False)
        if proc.returncode != 0 or time.monotonic() > deadline:
            break
        kyb.kubectl("patch", "ratchet", "r", "--type=merge", "-p", '{"spec":{"size":20}}')
        time.sleep(0.2)
    assert (
        proc.stderr.strip()
        == 'The Ratchet "r" is invalid: spec: Invalid value: "object": size must be below 10'
    )
    # a change elsewhere in spec re-checks spec: the rule fails there, so it is refused too
    proc = kyb.kubectl("patch", "ratchet", "r", "--type=merge", "-p", '{"spec":{"note":"x"}}', check=False)
    assert proc.returncode != 0
    # a change outside spec leaves spec as it was: its old violation is only a warning (ratcheting)
    proc = kyb.kubectl("label", "ratchet", "r", "touched=yes")
    assert proc.stderr.strip() == 'Warning: spec: Invalid value: "object": size must be below 10'
    assert proc.stdout.strip() == "ratchet.cel.example.com/r labeled"
