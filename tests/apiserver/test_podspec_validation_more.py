"""Pod validation added for upstream 1.32 parity (volume devices, mount propagation, recursive
read-only mounts, hugepages, AppArmor and seccomp fields and annotations, spec.os, gates,
overhead, fields of disabled feature gates) and the pod/template warnings. Each case states
upstream's field path and text."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kybernetes.api.resources import RESOURCES
from kybernetes.apiserver import warning
from kybernetes.apiserver.strategies.pod_warnings import pod_spec_warnings, workload_template_warnings
from kybernetes.apiserver.strategy import Strategy, strategy_for

Obj = dict[str, Any]
C = "spec.containers[0]"
PVC = {"name": "data", "persistentVolumeClaim": {"claimName": "c"}}
EMPTY = {"name": "scratch", "emptyDir": {}}
NOT_WINDOWS = "Forbidden: cannot be set for a windows pod"
QUALIFIED = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


def strat(group: str, kind: str) -> Strategy:
    return strategy_for(next(r for r in RESOURCES if r.group == group and r.kind == kind))


def created(obj: Obj, group: str = "", kind: str = "Pod") -> tuple[Strategy, Obj]:
    obj = copy.deepcopy(obj)
    obj.setdefault("metadata", {}).setdefault("uid", "u-1")
    s = strat(group, kind)
    s.prepare_for_create(obj)
    s.default(obj)
    return s, obj


def validate(obj: Obj) -> list[tuple[str, str]]:
    s, obj = created(obj)
    return [(c.field, c.message) for c in s.validate(obj)]


def pod(container: Obj | None = None, annotations: Obj | None = None, **spec: Any) -> Obj:
    c = {"name": "app", "image": "busybox", **(container or {})}
    meta: Obj = {"name": "p", "namespace": "default"}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {"containers": [c], **spec}}


def mount(**m: Any) -> Obj:
    return {"name": "scratch", "mountPath": "/s", **m}


CASES = [
    # --- volume devices ---------------------------------------------------------------------
    ("device-ok", pod({"volumeDevices": [{"name": "data", "devicePath": "/dev/xvda"}]}, volumes=[PVC]), []),
    (
        "device-not-pvc",
        pod({"volumeDevices": [{"name": "scratch", "devicePath": "/dev/x"}]}, volumes=[EMPTY]),
        [
            (
                f"{C}.volumeDevices[0].name",
                'Invalid value: "scratch": can only use volume source type of '
                "PersistentVolumeClaim or Ephemeral for block mode",
            )
        ],
    ),
    (
        "device-unknown-volume",
        pod({"volumeDevices": [{"name": "nope", "devicePath": "/dev/x"}]}),
        [(f"{C}.volumeDevices[0].name", 'Not found: "nope"')],
    ),
    (
        "device-path-required",
        pod({"volumeDevices": [{"name": "data"}]}, volumes=[PVC]),
        [(f"{C}.volumeDevices[0].devicePath", "Required value")],
    ),
    (
        "device-backsteps",
        pod({"volumeDevices": [{"name": "data", "devicePath": "/dev/../x"}]}, volumes=[PVC]),
        [
            (
                f"{C}.volumeDevices[0].devicePath",
                "Invalid value: \"/dev/../x\": can not contain backsteps ('..')",
            )
        ],
    ),
    (
        "device-duplicate-path",
        pod(
            {
                "volumeDevices": [
                    {"name": "data", "devicePath": "/dev/x"},
                    {"name": "d2", "devicePath": "/dev/x"},
                ]
            },
            volumes=[PVC, {"name": "d2", "persistentVolumeClaim": {"claimName": "c2"}}],
        ),
        [(f"{C}.volumeDevices[1].devicePath", 'Invalid value: "/dev/x": must be unique')],
    ),
    (
        "device-also-mounted",
        pod(
            {
                "volumeDevices": [{"name": "data", "devicePath": "/dev/x"}],
                "volumeMounts": [{"name": "data", "mountPath": "/dev/x"}],
            },
            volumes=[PVC],
        ),
        [
            (f"{C}.volumeMounts[0].name", 'Invalid value: "data": must not already exist in volumeDevices'),
            (
                f"{C}.volumeMounts[0].mountPath",
                'Invalid value: "/dev/x": must not already exist as a path in volumeDevices',
            ),
            (f"{C}.volumeDevices[0].name", 'Invalid value: "data": must not already exist in volumeMounts'),
            (
                f"{C}.volumeDevices[0].devicePath",
                'Invalid value: "/dev/x": must not already exist as a path in volumeMounts',
            ),
        ],
    ),
    # --- mount propagation and recursive read-only ---------------------------------------------
    (
        "propagation-unknown",
        pod({"volumeMounts": [mount(mountPropagation="Sideways")]}, volumes=[EMPTY]),
        [
            (
                f"{C}.volumeMounts.mountPropagation",
                'Unsupported value: "Sideways": supported values: "Bidirectional", "HostToContainer", "None"',
            )
        ],
    ),
    (
        "propagation-bidirectional-unprivileged",
        pod({"volumeMounts": [mount(mountPropagation="Bidirectional")]}, volumes=[EMPTY]),
        [
            (
                f"{C}.volumeMounts.mountPropagation",
                "Forbidden: Bidirectional mount propagation is available only to privileged containers",
            )
        ],
    ),
    (
        "propagation-bidirectional-privileged",
        pod(
            {
                "volumeMounts": [mount(mountPropagation="Bidirectional")],
                "securityContext": {"privileged": True},
            },
            volumes=[EMPTY],
        ),
        [],
    ),
    (
        "rro-enabled-ok",
        pod({"volumeMounts": [mount(readOnly=True, recursiveReadOnly="Enabled")]}, volumes=[EMPTY]),
        [],
    ),
    (
        "rro-needs-readonly",
        pod({"volumeMounts": [mount(recursiveReadOnly="IfPossible")]}, volumes=[EMPTY]),
        [(f"{C}.volumeMounts.recursiveReadOnly", "Forbidden: may only be specified when readOnly is true")],
    ),
    (
        "rro-needs-no-propagation",
        pod(
            {
                "volumeMounts": [
                    mount(readOnly=True, recursiveReadOnly="Enabled", mountPropagation="HostToContainer")
                ]
            },
            volumes=[EMPTY],
        ),
        [
            (
                f"{C}.volumeMounts.recursiveReadOnly",
                "Forbidden: may only be specified when mountPropagation is None or not specified",
            )
        ],
    ),
    (
        "rro-unknown",
        pod({"volumeMounts": [mount(recursiveReadOnly="Always")]}, volumes=[EMPTY]),
        [
            (
                f"{C}.volumeMounts.recursiveReadOnly",
                'Unsupported value: "Always": supported values: "Disabled", "Enabled", "IfPossible"',
            )
        ],
    ),
    # --- hugepages and overhead ----------------------------------------------------------------
    (
        "hugepages-alone",
        pod({"resources": {"limits": {"hugepages-2Mi": "4Mi"}}}),
        [(f"{C}.resources", "Forbidden: HugePages require cpu or memory")],
    ),
    ("hugepages-with-memory", pod({"resources": {"limits": {"hugepages-2Mi": "4Mi", "memory": "1Gi"}}}), []),
    (
        "hugepages-request-differs",
        pod(
            {
                "resources": {
                    "limits": {"hugepages-2Mi": "4Mi", "cpu": "1"},
                    "requests": {"hugepages-2Mi": "2Mi"},
                }
            }
        ),
        [(f"{C}.resources.requests", 'Invalid value: "2Mi": must be equal to hugepages-2Mi limit of 4Mi')],
    ),
    (
        "overhead-negative",
        pod(overhead={"cpu": "-1"}),
        [("spec.overhead.limits[cpu]", 'Invalid value: "-1": must be greater than or equal to 0')],
    ),
    (
        "overhead-unknown-resource",
        pod(overhead={"pods": "1"}),
        [("spec.overhead.limits[pods]", 'Invalid value: "pods": must be a standard resource for containers')],
    ),
    # --- AppArmor --------------------------------------------------------------------------------
    (
        "apparmor-localhost-needs-profile",
        pod({"securityContext": {"appArmorProfile": {"type": "Localhost"}}}),
        [
            (
                f"{C}.securityContext.appArmorProfile.localhostProfile",
                "Required value: must be set when AppArmor type is Localhost",
            )
        ],
    ),
    (
        "apparmor-profile-only-localhost",
        pod(securityContext={"appArmorProfile": {"type": "RuntimeDefault", "localhostProfile": "x"}}),
        [
            (
                "spec.securityContext.appArmorProfile.localhostProfile",
                'Invalid value: "x": can only be set when AppArmor type is Localhost',
            )
        ],
    ),
    (
        "apparmor-type-unknown",
        pod(securityContext={"appArmorProfile": {"type": "Strict"}}),
        [
            (
                "spec.securityContext.appArmorProfile.type",
                'Unsupported value: "Strict": supported values: "Localhost", "RuntimeDefault", "Unconfined"',
            )
        ],
    ),
    (
        "apparmor-padded",
        pod({"securityContext": {"appArmorProfile": {"type": "Localhost", "localhostProfile": " p"}}}),
        [
            (
                f"{C}.securityContext.appArmorProfile.localhostProfile",
                'Invalid value: " p": must not be padded with whitespace',
            )
        ],
    ),
    (
        "apparmor-annotation-unknown-container",
        pod(annotations={"container.apparmor.security.beta.kubernetes.io/other": "runtime/default"}),
        [
            (
                "metadata.annotations[container.apparmor.security.beta.kubernetes.io/other]",
                'Invalid value: "other": container not found',
            )
        ],
    ),
    (
        "apparmor-annotation-bad-name",
        pod(annotations={"container.apparmor.security.beta.kubernetes.io/app": "strict"}),
        [
            (
                "metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]",
                'Invalid value: "strict": invalid AppArmor profile name: "strict"',
            )
        ],
    ),
    (
        "apparmor-annotation-disagrees",
        pod(
            {"securityContext": {"appArmorProfile": {"type": "Unconfined"}}},
            annotations={"container.apparmor.security.beta.kubernetes.io/app": "runtime/default"},
        ),
        [
            (
                f"{C}.securityContext.appArmorProfile.type",
                "Forbidden: apparmor type in annotation and field must match",
            )
        ],
    ),
    (
        "apparmor-annotation-copied-to-field",
        pod(annotations={"container.apparmor.security.beta.kubernetes.io/app": "localhost/prof"}),
        [],
    ),
    # --- seccomp -------------------------------------------------------------------------------
    (
        "seccomp-type-required",
        pod({"securityContext": {"seccompProfile": {}}}),
        [
            (
                f"{C}.securityContext.seccompProfile.type",
                "Required value: type is required when seccompProfile is set",
            )
        ],
    ),
    (
        "seccomp-annotation-invalid",
        pod(annotations={"seccomp.security.alpha.kubernetes.io/pod": "strict"}),
        [
            (
                "metadata.annotations.seccomp.security.alpha.kubernetes.io/pod",
                'Invalid value: "strict": must be a valid seccomp profile',
            )
        ],
    ),
    (
        "seccomp-annotation-disagrees",
        pod(
            annotations={"seccomp.security.alpha.kubernetes.io/pod": "unconfined"},
            securityContext={"seccompProfile": {"type": "RuntimeDefault"}},
        ),
        [
            (
                "spec.securityContext.seccompProfile.type",
                "Forbidden: seccomp type in annotation and field must match",
            )
        ],
    ),
    (
        "seccomp-container-localhost-differs",
        pod(
            {"securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "a.json"}}},
            annotations={"container.seccomp.security.alpha.kubernetes.io/app": "localhost/b.json"},
        ),
        [
            (
                f"{C}.securityContext.seccompProfile.localhostProfile",
                "Forbidden: seccomp profile in annotation and field must match",
            )
        ],
    ),
    # --- spec.os -------------------------------------------------------------------------------
    (
        "os-unknown",
        pod(os={"name": "plan9"}),
        [("spec.os", 'Unsupported value: "plan9": supported values: "linux", "windows"')],
    ),
    (
        "os-windows-linux-fields",
        pod(
            {"securityContext": {"privileged": False, "runAsUser": 1}},
            os={"name": "windows"},
            hostPID=True,
            securityContext={"fsGroup": 2},
        ),
        [
            ("spec.hostPID", NOT_WINDOWS),
            ("spec.securityContext.fsGroup", NOT_WINDOWS),
            (f"{C}.securityContext.privileged", NOT_WINDOWS),
            (f"{C}.securityContext.runAsUser", NOT_WINDOWS),
        ],
    ),
    (
        "os-linux-windows-options",
        pod({"securityContext": {"windowsOptions": {"runAsUserName": "u"}}}, os={"name": "linux"}),
        [(f"{C}.securityContext.windowsOptions", "Forbidden: windows options cannot be set for a linux pod")],
    ),
    # --- gates and the rest ----------------------------------------------------------------------
    (
        "readiness-gate-not-qualified",
        pod(readinessGates=[{"conditionType": "bad type"}]),
        [("spec.readinessGates[0].conditionType", f'Invalid value: "bad type": {QUALIFIED}')],
    ),
    (
        "scheduling-gate-duplicate",
        pod(schedulingGates=[{"name": "example.com/a"}, {"name": "example.com/a"}]),
        [("spec.schedulingGates[1]", 'Duplicate value: "example.com/a"')],
    ),
    (
        "scheduling-gates-and-node-name",
        pod(schedulingGates=[{"name": "g"}], nodeName="n1"),
        [("spec.nodeName", "Forbidden: cannot be set until all schedulingGates have been cleared")],
    ),
    (
        "ephemeral-on-create",
        pod(ephemeralContainers=[{"name": "dbg", "image": "busybox"}]),
        [("spec.ephemeralContainers", "Forbidden: cannot be set on create")],
    ),
    (
        "host-network-port-mismatch",
        pod({"ports": [{"containerPort": 80, "hostPort": 81}]}, hostNetwork=True),
        [
            (
                f"{C}.ports[0].hostPort",
                "Invalid value: 81: must match `containerPort` when `hostNetwork` is true",
            )
        ],
    ),
]


@pytest.mark.parametrize(("obj", "expected"), [pytest.param(o, e, id=i) for i, o, e in CASES])
def test_pod_validation(obj: Obj, expected: list[tuple[str, str]]) -> None:
    assert validate(obj) == expected


def test_gated_off_fields_are_dropped_as_upstream_1_32() -> None:
    _, obj = created(
        pod(
            {"resizePolicy": [{"resourceName": "cpu", "restartPolicy": "NotRequired"}]},
            resources={"limits": {"cpu": "1"}},
            hostUsers=False,
            securityContext={"supplementalGroupsPolicy": "Strict"},
        )
    )
    spec = obj["spec"]
    assert "resources" not in spec and "hostUsers" not in spec
    assert "resizePolicy" not in spec["containers"][0]
    assert "supplementalGroupsPolicy" not in spec["securityContext"]


def test_apparmor_annotation_becomes_the_field_with_a_warning() -> None:
    key = "container.apparmor.security.beta.kubernetes.io/app"
    recorded: list[str] = []
    with warning.recording(recorded):
        _, obj = created(pod(annotations={key: "localhost/prof"}))
    assert obj["spec"]["containers"][0]["securityContext"]["appArmorProfile"] == {
        "type": "Localhost",
        "localhostProfile": "prof",
    }
    assert recorded == [f'metadata.annotations[{key}]: deprecated since v1.30; use the "appArmorProfile" field instead']


def test_scheduling_gates_may_only_be_removed() -> None:
    s, old = created(pod(schedulingGates=[{"name": "a"}]))
    new = copy.deepcopy(old)
    new["spec"]["schedulingGates"] = [{"name": "a"}, {"name": "b"}]
    assert [(c.field, c.message) for c in s.validate_update(new, old)] == [
        (
            "spec.schedulingGates[1].name",
            "Forbidden: only deletion is allowed, but found new scheduling gate 'b'",
        )
    ]
    new["spec"]["schedulingGates"] = []
    assert s.validate_update(new, old) == []


def test_apparmor_annotations_are_immutable_on_pods() -> None:
    s, old = created(pod())
    new = copy.deepcopy(old)
    new["metadata"]["annotations"] = {"container.apparmor.security.beta.kubernetes.io/app": "runtime/default"}
    assert [(c.field, c.message) for c in s.validate_update(new, old)] == [
        (
            "metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]",
            "Forbidden: may not add AppArmor annotations",
        )
    ]


def test_templates_check_security_annotations_too() -> None:
    s, obj = created(
        {
            "apiVersion": "v1",
            "kind": "PodTemplate",
            "metadata": {"name": "t", "namespace": "d"},
            "template": {
                "metadata": {
                    "annotations": {"container.apparmor.security.beta.kubernetes.io/nope": "runtime/default"}
                },
                "spec": {"containers": [{"name": "app", "image": "i"}]},
            },
        },
        kind="PodTemplate",
    )
    assert [(c.field, c.message) for c in s.validate(obj)] == [
        (
            "template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/nope]",
            'Invalid value: "nope": container not found',
        )
    ]


# --- warnings -----------------------------------------------------------------------------------


def spec_with(container: Obj | None = None, **spec: Any) -> Obj:
    return {"containers": [{"name": "app", "image": "i", **(container or {})}], **spec}


WARNING_CASES = [
    ("clean", spec_with({"ports": [{"containerPort": 80, "protocol": "TCP"}]}), {}, []),
    (
        "duplicate-port",
        spec_with(
            {"ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 80, "protocol": "TCP"}]}
        ),
        {},
        [f"{C}.ports[1]: duplicate port definition with {C}.ports[0]"],
    ),
    (
        "overlapping-port",
        spec_with(
            {
                "ports": [
                    {"containerPort": 80, "protocol": "TCP"},
                    {"containerPort": 80, "protocol": "TCP", "hostPort": 8080},
                ]
            }
        ),
        {},
        [f"{C}.ports[1]: overlapping port definition with {C}.ports[0]"],
    ),
    (
        "host-ip-without-port",
        spec_with({"ports": [{"containerPort": 80, "protocol": "TCP", "hostIP": "1.2.3.4"}]}),
        {},
        [
            f"{C}.ports[0]: hostIP set without hostPort: {{Name: HostPort:0 ContainerPort:80 Protocol:TCP HostIP:1.2.3.4}}"
        ],
    ),
    (
        "negative-grace",
        spec_with(terminationGracePeriodSeconds=-1),
        {},
        [
            "spec.terminationGracePeriodSeconds: must be >= 0; negative values are invalid and will be treated as 1"
        ],
    ),
    (
        "deprecated-node-label",
        spec_with(nodeSelector={"beta.kubernetes.io/os": "linux"}),
        {},
        ['spec.nodeSelector[beta.kubernetes.io/os]: deprecated since v1.14; use "kubernetes.io/os" instead'],
    ),
    (
        "deprecated-affinity-label",
        spec_with(
            affinity={
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {"key": "failure-domain.beta.kubernetes.io/zone", "operator": "Exists"}
                                ]
                            }
                        ]
                    }
                }
            }
        ),
        {},
        [
            "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
            ".matchExpressions[0].key: failure-domain.beta.kubernetes.io/zone is deprecated since v1.17; "
            'use "topology.kubernetes.io/zone" instead'
        ],
    ),
    (
        "null-spread-selector",
        spec_with(
            topologySpreadConstraints=[
                {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}
            ]
        ),
        {},
        ["spec.topologySpreadConstraints[0].labelSelector: a null labelSelector results in matching no pod"],
    ),
    (
        "git-repo-volume",
        spec_with(volumes=[{"name": "g", "gitRepo": {"repository": "r"}}]),
        {},
        ["spec.volumes[0].gitRepo: deprecated in v1.11"],
    ),
    (
        "storageos-volume",
        spec_with(volumes=[{"name": "s", "storageos": {}}]),
        {},
        ["spec.volumes[0].storageOS: deprecated in v1.22, non-functional in v1.25+"],
    ),
    (
        "critical-pod-annotation",
        spec_with(),
        {"scheduler.alpha.kubernetes.io/critical-pod": ""},
        [
            "metadata.annotations[scheduler.alpha.kubernetes.io/critical-pod]: non-functional in v1.16+; "
            'use the "priorityClassName" field instead'
        ],
    ),
    (
        "seccomp-annotation-without-field",
        spec_with(),
        {"seccomp.security.alpha.kubernetes.io/pod": "runtime/default"},
        [
            "metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: non-functional in v1.27+; "
            'use the "seccompProfile" field instead'
        ],
    ),
    (
        "fractional-memory",
        spec_with({"resources": {"limits": {"memory": "1.5"}}}),
        {},
        [f'{C}.resources.limits[memory]: fractional byte value "1500m" is invalid, must be an integer'],
    ),
    (
        "env-hidden",
        spec_with({"env": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]}),
        {},
        [f'{C}.env[1]: hides previous definition of "A", which may be dropped when using apply'],
    ),
    (
        "env-extends-itself",
        spec_with({"env": [{"name": "A", "value": "1"}, {"name": "A", "value": "$(A):2"}]}),
        {},
        [],
    ),
    (
        "duplicate-pull-secret",
        spec_with(imagePullSecrets=[{"name": "r"}, {"name": "r"}, {}]),
        {},
        [
            'spec.imagePullSecrets[1].name: duplicate name "r"',
            'spec.imagePullSecrets[2].name: invalid empty name ""',
        ],
    ),
    (
        "duplicate-host-alias",
        spec_with(hostAliases=[{"ip": "1.1.1.1"}, {"ip": "1.1.1.1"}]),
        {},
        ['spec.hostAliases[1].ip: duplicate ip "1.1.1.1"'],
    ),
    (
        "null-anti-affinity-selector",
        spec_with(
            affinity={
                "podAntiAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "zone"}]
                }
            }
        ),
        {},
        [
            "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector: "
            "a null labelSelector results in matching no pod"
        ],
    ),
]


@pytest.mark.parametrize(
    ("spec", "annotations", "expected"), [pytest.param(s, a, e, id=i) for i, s, a, e in WARNING_CASES]
)
def test_pod_spec_warnings(spec: Obj, annotations: Obj, expected: list[str]) -> None:
    assert pod_spec_warnings(spec, {"annotations": annotations}, "", template=False) == expected


def test_template_warnings_carry_the_template_path() -> None:
    cron = {
        "spec": {"jobTemplate": {"spec": {"template": {"spec": spec_with(terminationGracePeriodSeconds=-5)}}}}
    }
    assert workload_template_warnings("batch", "CronJob", cron) == [
        "spec.jobTemplate.spec.template.spec.terminationGracePeriodSeconds: must be >= 0; negative values are "
        "invalid and will be treated as 1"
    ]
    annotated = {
        "spec": {
            "template": {
                "metadata": {
                    "annotations": {"container.apparmor.security.beta.kubernetes.io/app": "runtime/default"}
                },
                "spec": spec_with(),
            }
        }
    }
    assert workload_template_warnings("apps", "Deployment", annotated) == [
        "spec.template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]: "
        'deprecated since v1.30; use the "appArmorProfile" field instead'
    ]
    assert workload_template_warnings("", "ConfigMap", {"data": {}}) == []


def test_pod_name_that_is_no_dns_label_warns() -> None:
    s, obj = created(pod())
    obj["metadata"]["name"] = "a.b"
    assert s.warnings_on_create(obj) == [
        "metadata.name: this is used in the Pod's hostname, which can result in surprising behavior; "
        "a DNS label is recommended: [must not contain dots]"
    ]


def test_workload_update_warns_only_when_the_spec_changes() -> None:
    s = strat("apps", "Deployment")
    old: Obj = {
        "metadata": {"name": "d"},
        "spec": {"template": {"spec": spec_with(terminationGracePeriodSeconds=-1)}},
    }
    new = copy.deepcopy(old)
    new["metadata"]["labels"] = {"a": "b"}
    assert s.warnings_on_update(new, old) == []
    new["spec"]["replicas"] = 3
    assert len(s.warnings_on_update(new, old)) == 1
