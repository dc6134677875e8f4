"""Validation tables for the fields beyond the common ones: probes, lifecycle, env, resources,
volumes and mounts, scheduling fields, DNS, security contexts (pods and templates), Ingress,
NetworkPolicy and the rest of Service. Each case states upstream's field path and text."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kybernetes.api.resources import RESOURCES
from kybernetes.apiserver.strategy import Strategy, strategy_for

Obj = dict[str, Any]


def strat(group: str, kind: str) -> Strategy:
    return strategy_for(next(r for r in RESOURCES if r.group == group and r.kind == kind))


def validate(group: str, kind: str, obj: Obj) -> list[tuple[str, str]]:
    obj = copy.deepcopy(obj)
    obj.setdefault("metadata", {}).setdefault("uid", "u-1")
    s = strat(group, kind)
    s.prepare_for_create(obj)
    s.default(obj)
    return [(c.field, c.message) for c in s.validate(obj)]


def pod(container: Obj | None = None, **spec: Any) -> Obj:
    c = {"name": "app", "image": "busybox", **(container or {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": [c], **spec}}


C = "spec.containers[0]"
NUM_RANGE = "must be between 1 and 65535, inclusive"
GE0 = "must be greater than or equal to 0"


# --- pods: each case yields exactly these causes -------------------------------------------

POD_CASES = [
    # probes
    ("probe-no-handler", pod({"livenessProbe": {}}),
     [(f"{C}.livenessProbe", "Required value: must specify a handler type")]),
    ("probe-two-handlers", pod({"readinessProbe": {"exec": {"command": ["true"]}, "tcpSocket": {"port": 80}}}),
     [(f"{C}.readinessProbe.tcpSocket", "Forbidden: may not specify more than 1 handler type")]),
    ("probe-httpget-port-range", pod({"livenessProbe": {"httpGet": {"port": 70000}}}),
     [(f"{C}.livenessProbe.httpGet.port", f"Invalid value: 70000: {NUM_RANGE}")]),
    ("probe-httpget-port-name", pod({"livenessProbe": {"httpGet": {"port": "Web_1"}}}),
     [(f"{C}.livenessProbe.httpGet.port", 'Invalid value: "Web_1": must contain only alpha-numeric characters '
                                          "(a-z, 0-9), and hyphens (-)")]),
    ("probe-scheme", pod({"livenessProbe": {"httpGet": {"port": 80, "scheme": "FTP"}}}),
     [(f"{C}.livenessProbe.httpGet.scheme", 'Unsupported value: "FTP": supported values: "HTTP", "HTTPS"')]),
    ("probe-exec-empty", pod({"startupProbe": {"exec": {}}}),
     [(f"{C}.startupProbe.exec.command", "Required value")]),
    ("probe-negative-period", pod({"readinessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": -1}}),
     [(f"{C}.readinessProbe.periodSeconds", f"Invalid value: -1: {GE0}")]),
    ("liveness-success-threshold", pod({"livenessProbe": {"tcpSocket": {"port": 80}, "successThreshold": 2}}),
     [(f"{C}.livenessProbe.successThreshold", "Invalid value: 2: must be 1")]),
    ("startup-success-threshold", pod({"startupProbe": {"tcpSocket": {"port": 80}, "successThreshold": 3}}),
     [(f"{C}.startupProbe.successThreshold", "Invalid value: 3: must be 1")]),
    ("probe-tgps-zero", pod({"livenessProbe": {"tcpSocket": {"port": 80}, "terminationGracePeriodSeconds": 0}}),
     [(f"{C}.livenessProbe.terminationGracePeriodSeconds", "Invalid value: 0: must be greater than 0")]),
    ("readiness-tgps", pod({"readinessProbe": {"tcpSocket": {"port": 80}, "terminationGracePeriodSeconds": 5}}),
     [(f"{C}.readinessProbe.terminationGracePeriodSeconds", "Invalid value: 5: must not be set for readinessProbes")]),
    ("grpc-port", pod({"livenessProbe": {"grpc": {"port": 0}}}),
     [(f"{C}.livenessProbe.grpc.port", f"Invalid value: 0: {NUM_RANGE}")]),
    ("http-header-name", pod({"livenessProbe": {"httpGet": {"port": 80, "httpHeaders": [{"name": "X Y", "value": "1"}]}}}),
     [(f"{C}.livenessProbe.httpGet.httpHeaders", "Invalid value: \"X Y\": a valid HTTP header must consist of "
       "alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')")]),
    # lifecycle
    ("prestop-no-handler", pod({"lifecycle": {"preStop": {}}}),
     [(f"{C}.lifecycle.preStop", "Required value: must specify a handler type")]),
    ("prestop-sleep-too-long", pod({"lifecycle": {"preStop": {"sleep": {"seconds": 60}}}}),
     [(f"{C}.lifecycle.preStop.sleep",
       "Invalid value: 60: must be greater than 0 and less than terminationGracePeriodSeconds (30). "
       "Enable AllowPodLifecycleSleepActionZeroValue feature gate for zero sleep.")]),
    ("poststart-two", pod({"lifecycle": {"postStart": {"exec": {"command": ["a"]}, "httpGet": {"port": 80}}}}),
     [(f"{C}.lifecycle.postStart.httpGet", "Forbidden: may not specify more than 1 handler type")]),
    # init containers
    ("init-probe-forbidden", pod(initContainers=[{"name": "i", "image": "busybox",
                                                  "livenessProbe": {"exec": {"command": ["true"]}}}]),
     [("spec.initContainers[0].livenessProbe",
       "Forbidden: may not be set for init containers without restartPolicy=Always")]),
    ("sidecar-probe-allowed", pod(initContainers=[{"name": "i", "image": "busybox", "restartPolicy": "Always",
                                                   "livenessProbe": {"exec": {"command": ["true"]}}}]), []),
    ("container-restart-policy", pod({"restartPolicy": "Always"}),
     [(f"{C}.restartPolicy", "Forbidden: may not be set for non-init containers")]),
    # env
    ("env-name-equals", pod({"env": [{"name": "A=B", "value": "x"}]}),
     [(f"{C}.env[0].name", "Invalid value: \"A=B\": a valid environment variable name must consist only of "
       "printable ASCII characters other than '='")]),
    ("env-name-relaxed-ok", pod({"env": [{"name": "my.var-1 x", "value": "x"}]}), []),
    ("env-name-empty", pod({"env": [{"name": "", "value": "x"}]}), [(f"{C}.env[0].name", "Required value")]),
    ("env-valuefrom-none", pod({"env": [{"name": "A", "valueFrom": {}}]}),
     [(f"{C}.env[0].valueFrom", 'Invalid value: "": must specify one of: `fieldRef`, `resourceFieldRef`, '
       "`configMapKeyRef` or `secretKeyRef`")]),
    ("env-valuefrom-two", pod({"env": [{"name": "A", "valueFrom": {
        "configMapKeyRef": {"name": "c", "key": "k"}, "secretKeyRef": {"name": "s", "key": "k"}}}]}),
     [(f"{C}.env[0].valueFrom", 'Invalid value: "": may not have more than one field specified at a time')]),
    ("env-value-and-valuefrom", pod({"env": [{"name": "A", "value": "v",
                                              "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}),
     [(f"{C}.env[0].valueFrom", 'Invalid value: "": may not be specified when `value` is not empty')]),
    ("env-fieldref-unsupported", pod({"env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "status.phase"}}}]}),
     [(f"{C}.env[0].valueFrom.fieldRef.fieldPath", 'Unsupported value: "status.phase": supported values: '
       '"metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", '
       '"status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"')]),
    ("env-fieldref-unknown", pod({"env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "spec.bogus"}}}]}),
     [(f"{C}.env[0].valueFrom.fieldRef.fieldPath",
       'Invalid value: "spec.bogus": error converting fieldPath: field label not supported: spec.bogus')]),
    ("env-fieldref-label-ok", pod({"env": [{"name": "A", "valueFrom": {
        "fieldRef": {"fieldPath": "metadata.labels['app']"}}}]}), []),
    ("env-resourcefieldref", pod({"env": [{"name": "A", "valueFrom": {"resourceFieldRef": {"resource": "limits.gpu"}}}]}),
     [(f"{C}.env[0].valueFrom.resourceFieldRef.resource", 'Unsupported value: "limits.gpu": supported values: '
       '"limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu", "requests.ephemeral-storage", '
       '"requests.memory"')]),
    ("env-keyref-no-key", pod({"env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "c"}}}]}),
     [(f"{C}.env[0].valueFrom.configMapKeyRef.key", "Required value")]),
    ("envfrom-prefix", pod({"envFrom": [{"prefix": "A=", "configMapRef": {"name": "c"}}]}),
     [(f"{C}.envFrom[0].prefix", "Invalid value: \"A=\": a valid environment variable name must consist only of "
       "printable ASCII characters other than '='")]),
    ("envfrom-no-source", pod({"envFrom": [{"prefix": "P_"}]}),
     [(f"{C}.envFrom", 'Invalid value: "": must specify one of: `configMapRef` or `secretRef`')]),
    # resources
    ("requests-over-limits", pod({"resources": {"requests": {"cpu": "600m"}, "limits": {"cpu": "500m"}}}),
     [(f"{C}.resources.requests", 'Invalid value: "600m": must be less than or equal to cpu limit of 500m')]),
    ("memory-over-limits", pod({"resources": {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}}),
     [(f"{C}.resources.requests", 'Invalid value: "2Gi": must be less than or equal to memory limit of 1Gi')]),
    ("negative-limit", pod({"resources": {"limits": {"cpu": "-1"}}}),
     [(f"{C}.resources.limits[cpu]", f'Invalid value: "-1": {GE0}'),
      (f"{C}.resources.requests[cpu]", f'Invalid value: "-1": {GE0}')]),
    ("resource-typo", pod({"resources": {"limits": {"cpus": "1"}}}),
     [(f"{C}.resources.limits[cpus]", 'Invalid value: "cpus": must be a standard resource type or fully qualified'),
      (f"{C}.resources.limits[cpus]", 'Invalid value: "cpus": must be a standard resource for containers'),
      (f"{C}.resources.requests[cpus]", 'Invalid value: "cpus": must be a standard resource type or fully qualified'),
      (f"{C}.resources.requests[cpus]", 'Invalid value: "cpus": must be a standard resource for containers')]),
    ("extended-needs-limit", pod({"resources": {"requests": {"example.com/gpu": "1"}}}),
     [(f"{C}.resources.limits", "Required value: Limit must be set for non overcommitable resources")]),
    ("extended-must-equal", pod({"resources": {"requests": {"example.com/gpu": "1"}, "limits": {"example.com/gpu": "2"}}}),
     [(f"{C}.resources.requests", 'Invalid value: "1": must be equal to example.com/gpu limit of 2')]),
    ("extended-integer", pod({"resources": {"limits": {"example.com/gpu": "500m"}}}),
     [(f"{C}.resources.limits[example.com/gpu]", 'Invalid value: "500m": must be an integer'),
      (f"{C}.resources.requests[example.com/gpu]", 'Invalid value: "500m": must be an integer')]),
    ("resources-fine", pod({"resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                                          "limits": {"cpu": "1", "memory": "128Mi"}}}), []),
    # volumes and mounts
    ("volume-two-sources", pod(volumes=[{"name": "v", "emptyDir": {}, "hostPath": {"path": "/x"}}]),
     [("spec.volumes[0].emptyDir", "Forbidden: may not specify more than 1 volume type")]),
    ("volume-name-label", pod(volumes=[{"name": "My_Vol", "emptyDir": {}}]),
     [("spec.volumes[0].name", "Invalid value: \"My_Vol\": a lowercase RFC 1123 label must consist of lower case "
       "alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  "
       "or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")]),
    ("volume-duplicate", pod(volumes=[{"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {}}]),
     [("spec.volumes[1].name", 'Duplicate value: "v"')]),
    ("configmap-item-absolute", pod(volumes=[{"name": "v", "configMap": {"name": "c", "items": [
        {"key": "k", "path": "/etc/x"}]}}]),
     [("spec.volumes[0].configMap.items[0].path", 'Invalid value: "/etc/x": must be a relative path')]),
    ("secret-item-backstep", pod(volumes=[{"name": "v", "secret": {"secretName": "s", "items": [
        {"key": "k", "path": "a/../../b"}]}}]),
     [("spec.volumes[0].secret.items[0].path", "Invalid value: \"a/../../b\": must not contain '..'")]),
    ("secret-mode", pod(volumes=[{"name": "v", "secret": {"secretName": "s", "defaultMode": 0o1777}}]),
     [("spec.volumes[0].secret.defaultMode",
       "Invalid value: 1023: must be a number between 0 and 0777 (octal), both inclusive")]),
    ("secret-name-required", pod(volumes=[{"name": "v", "secret": {}}]),
     [("spec.volumes[0].secret.secretName", "Required value")]),
    ("item-key-required", pod(volumes=[{"name": "v", "configMap": {"name": "c", "items": [{"path": "p", "mode": -1}]}}]),
     [("spec.volumes[0].configMap.items[0].key", "Required value"),
      ("spec.volumes[0].configMap.items[0].mode",
       "Invalid value: -1: must be a number between 0 and 0777 (octal), both inclusive")]),
    ("pvc-claim-required", pod(volumes=[{"name": "v", "persistentVolumeClaim": {}}]),
     [("spec.volumes[0].persistentVolumeClaim.claimName", "Required value")]),
    ("hostpath-type", pod(volumes=[{"name": "v", "hostPath": {"path": "/x", "type": "Dir"}}]),
     [("spec.volumes[0].hostPath.type", 'Unsupported value: "Dir": supported values: "", "BlockDevice", '
       '"CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"')]),
    ("mount-unknown-volume", pod({"volumeMounts": [{"name": "nope", "mountPath": "/x"}]}),
     [(f"{C}.volumeMounts[0].name", 'Not found: "nope"')]),
    ("mount-path-required", pod({"volumeMounts": [{"name": "v"}]}, volumes=[{"name": "v", "emptyDir": {}}]),
     [(f"{C}.volumeMounts[0].mountPath", "Required value")]),
    ("subpath-absolute", pod({"volumeMounts": [{"name": "v", "mountPath": "/x", "subPath": "/abs"}]},
                             volumes=[{"name": "v", "emptyDir": {}}]),
     [(f"{C}.volumeMounts.subPath", 'Invalid value: "/abs": must be a relative path')]),
    ("subpath-backstep", pod({"volumeMounts": [{"name": "v", "mountPath": "/x", "subPath": "a/.."}]},
                             volumes=[{"name": "v", "emptyDir": {}}]),
     [(f"{C}.volumeMounts.subPath", "Invalid value: \"a/..\": must not contain '..'")]),
    ("downward-item-both", pod(volumes=[{"name": "v", "downwardAPI": {"items": [
        {"path": "p", "fieldRef": {"fieldPath": "metadata.name"},
         "resourceFieldRef": {"containerName": "app", "resource": "limits.cpu"}}]}}]),
     [("spec.volumes[0].downwardAPI.items[0]",
       'Invalid value: "resource": fieldRef and resourceFieldRef can not be specified simultaneously')]),
    # ports
    ("hostport-range", pod({"ports": [{"containerPort": 80, "hostPort": 70000}]}),
     [(f"{C}.ports[0].hostPort", f"Invalid value: 70000: {NUM_RANGE}")]),
    ("hostport-duplicate", pod({"ports": [{"containerPort": 80, "hostPort": 8080},
                                          {"containerPort": 81, "hostPort": 8080}]}),
     [(f"{C}.ports[1].hostPort", 'Duplicate value: "TCP//8080"')]),
    # affinity
    ("node-affinity-no-terms", pod(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": []}}}),
     [("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms",
       "Required value: must have at least one node selector term")]),
    ("node-affinity-in-no-values", pod(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In"}]}]}}}),
     [("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
       ".matchExpressions[0].values", "Required value: must be specified when `operator` is 'In' or 'NotIn'")]),
    ("node-affinity-exists-values", pod(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "Exists", "values": ["a"]}]}]}}}),
     [("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
       ".matchExpressions[0].values",
       "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'")]),
    ("node-affinity-gt-two", pod(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["1", "2"]}]}]}}}),
     [("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
       ".matchExpressions[0].values", "Required value: must be specified single value when `operator` is 'Lt' or 'Gt'")]),
    ("node-affinity-bad-op", pod(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "Near"}]}]}}}),
     [("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
       ".matchExpressions[0].operator", 'Invalid value: "Near": not a valid selector operator')]),
    ("preferred-weight", pod(affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 0, "preference": {"matchExpressions": [{"key": "zone", "operator": "Exists"}]}}]}}),
     [("spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
       "Invalid value: 0: must be in the range 1-100")]),
    ("match-fields-key", pod(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.uid", "operator": "In", "values": ["x"]}]}]}}}),
     [("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
       ".matchFields[0].key", 'Invalid value: "metadata.uid": not a valid field selector key')]),
    ("pod-affinity-topology-key", pod(affinity={"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "x"}}, "topologyKey": ""}]}}),
     [("spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey",
       "Required value: can not be empty"),
      ("spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey",
       'Invalid value: "": name part must be non-empty'),
      ("spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey",
       "Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
       "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
       "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")]),
    # tolerations
    ("toleration-exists-value", pod(tolerations=[{"key": "k", "operator": "Exists", "value": "v"}]),
     [("spec.tolerations[0].operator", 'Invalid value: core.Toleration{Key:"k", Operator:"Exists", Value:"v", '
       'Effect:"", TolerationSeconds:(*int64)(nil)}: value must be empty when `operator` is \'Exists\'')]),
    ("toleration-effect", pod(tolerations=[{"key": "k", "operator": "Exists", "effect": "NoRun"}]),
     [("spec.tolerations[0].effect",
       'Unsupported value: "NoRun": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"')]),
    ("toleration-seconds-needs-noexecute", pod(tolerations=[{"key": "k", "operator": "Exists",
                                                             "effect": "NoSchedule", "tolerationSeconds": 5}]),
     [("spec.tolerations[0].effect",
       "Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set")]),
    ("toleration-operator", pod(tolerations=[{"key": "k", "operator": "Equals"}]),
     [("spec.tolerations[0].operator", 'Unsupported value: "Equals": supported values: "Equal", "Exists"')]),
    ("toleration-empty-key", pod(tolerations=[{"operator": "Equal", "value": "v"}]),
     [("spec.tolerations[0].operator", 'Invalid value: "Equal": operator must be Exists when `key` is empty, '
       'which means "match all values and all keys"')]),
    # topology spread
    ("spread-skew", pod(topologySpreadConstraints=[{"maxSkew": 0, "topologyKey": "zone",
                                                    "whenUnsatisfiable": "DoNotSchedule"}]),
     [("spec.topologySpreadConstraints[0].maxSkew", "Invalid value: 0: must be greater than zero")]),
    ("spread-when", pod(topologySpreadConstraints=[{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "Maybe"}]),
     [("spec.topologySpreadConstraints[0].whenUnsatisfiable",
       'Unsupported value: "Maybe": supported values: "DoNotSchedule", "ScheduleAnyway"')]),
    ("spread-key", pod(topologySpreadConstraints=[{"maxSkew": 1, "whenUnsatisfiable": "ScheduleAnyway"}]),
     [("spec.topologySpreadConstraints[0].topologyKey", "Required value: can not be empty")]),
    ("spread-duplicate", pod(topologySpreadConstraints=[
        {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"},
        {"maxSkew": 2, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}]),
     [("spec.topologySpreadConstraints[0].{topologyKey, whenUnsatisfiable}",
       'Duplicate value: "{zone, DoNotSchedule}"')]),
    # enums and DNS
    ("restart-policy", pod(restartPolicy="Sometimes"),
     [("spec.restartPolicy", 'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"')]),
    ("dns-none-no-nameservers", pod(dnsPolicy="None", dnsConfig={"searches": ["a.b"]}),
     [("spec.dnsConfig.nameservers", "Required value: must provide at least one DNS nameserver when `dnsPolicy` is None")]),
    ("dns-too-many-nameservers", pod(dnsConfig={"nameservers": ["1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4"]}),
     [("spec.dnsConfig.nameservers", 'Invalid value: []string{"1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4"}: '
       "must not have more than 3 nameservers")]),
    ("dns-nameserver-ip", pod(dnsConfig={"nameservers": ["dns.local"]}),
     [("spec.dnsConfig.nameservers[0]",
       'Invalid value: "dns.local": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)')]),
    ("dns-too-many-searches", pod(dnsConfig={"searches": [f"s{i}.local" for i in range(33)]}),
     [("spec.dnsConfig.searches", "Invalid value: []string{" + ", ".join(f'"s{i}.local"' for i in range(33))
       + "}: must not have more than 32 search paths")]),
    ("dns-option-name", pod(dnsConfig={"options": [{"value": "2"}]}),
     [("spec.dnsConfig.options[0]", "Required value: must not be empty")]),
    # security contexts
    ("run-as-user-negative", pod(securityContext={"runAsUser": -1}),
     [("spec.securityContext.runAsUser", "Invalid value: -1: must be between 0 and 2147483647, inclusive")]),
    ("container-run-as-group", pod({"securityContext": {"runAsGroup": -5}}),
     [(f"{C}.securityContext.runAsGroup", "Invalid value: -5: must be between 0 and 2147483647, inclusive")]),
    ("sysctl-name", pod(securityContext={"sysctls": [{"name": "Net.Foo", "value": "1"}]}),
     [("spec.securityContext.sysctls[0].name", 'Invalid value: "Net.Foo": must have at most 253 characters and '
       "match regex ([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?")]),
    ("sysctl-duplicate", pod(securityContext={"sysctls": [{"name": "net.core.somaxconn", "value": "1"},
                                                          {"name": "net.core.somaxconn", "value": "2"}]}),
     [("spec.securityContext.sysctls[1].name", 'Duplicate value: "net.core.somaxconn"')]),
    ("seccomp-type", pod(securityContext={"seccompProfile": {"type": "Strict"}}),
     [("spec.securityContext.seccompProfile.type",
       'Unsupported value: "Strict": supported values: "Localhost", "RuntimeDefault", "Unconfined"')]),
    ("seccomp-localhost-needs-profile", pod({"securityContext": {"seccompProfile": {"type": "Localhost"}}}),
     [(f"{C}.securityContext.seccompProfile.localhostProfile",
       "Required value: must be set when seccomp type is Localhost")]),
    # a realistic pod that uses much of the above correctly
    ("valid-rich-pod", pod(
        {"ports": [{"containerPort": 80, "name": "http"}],
         "livenessProbe": {"httpGet": {"port": "http", "path": "/healthz"}, "periodSeconds": 5},
         "readinessProbe": {"tcpSocket": {"port": 80}},
         "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
         "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                 {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}}],
         "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
         "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "200m", "example.com/dongle": "1"}},
         "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg", "subPath": "app"}]},
        volumes=[{"name": "cfg", "configMap": {"name": "cfg", "items": [{"key": "a", "path": "app/a.conf", "mode": 0o600}]}}],
        affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}]}}},
        tolerations=[{"key": "dedicated", "operator": "Equal", "value": "x", "effect": "NoExecute",
                      "tolerationSeconds": 30}, {"operator": "Exists"}],
        topologySpreadConstraints=[{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway",
                                    "labelSelector": {"matchLabels": {"app": "x"}}}],
        dnsPolicy="None", dnsConfig={"nameservers": ["10.0.0.10"], "searches": ["svc.cluster.local."]},
        securityContext={"runAsUser": 1000, "fsGroup": 2000, "sysctls": [{"name": "net.ipv4.ip_forward", "value": "1"}]}),
     []),
]


@pytest.mark.parametrize(("obj", "expected"), [pytest.param(o, e, id=i) for i, o, e in POD_CASES])
def test_pod_validation(obj: Obj, expected: list[tuple[str, str]]) -> None:
    assert validate("", "Pod", obj) == expected


def test_probe_zero_values_default_like_upstream() -> None:
    """A Go int32 cannot tell 0 from unset: 0 gets the default, so successThreshold 0 is fine."""
    obj = pod({"livenessProbe": {"tcpSocket": {"port": 80}, "successThreshold": 0, "periodSeconds": 0}})
    assert validate("", "Pod", obj) == []
    s = strat("", "Pod")
    o = copy.deepcopy(obj)
    s.default(o)
    assert o["spec"]["containers"][0]["livenessProbe"]["periodSeconds"] == 10


def test_templates_get_the_same_rules() -> None:
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "default"},
           "spec": {"selector": {"matchLabels": {"app": "d"}},
                    "template": {"metadata": {"labels": {"app": "d"}},
                                 "spec": {"containers": [{"name": "a", "image": "busybox", "resources": {
                                     "requests": {"cpu": "1"}, "limits": {"cpu": "500m"}}}]}}}}
    assert ("spec.template.spec.containers[0].resources.requests",
            'Invalid value: "1": must be less than or equal to cpu limit of 500m') in validate("apps", "Deployment", dep)


# --- Ingress --------------------------------------------------------------------------------


def ingress(**spec: Any) -> Obj:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "default"},
            "spec": spec}


def rule(path: Obj | None = None, host: str | None = None) -> Obj:
    p = {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}
    p.update(path or {})
    r: Obj = {"http": {"paths": [p]}}
    if host is not None:
        r["host"] = host
    return r


P0 = "spec.rules[0].http.paths[0]"
WILDCARD_MSG = ("a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must "
                "consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character "
                "(e.g. '*.example.com', regex used for validation is "
                "'\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")

INGRESS_CASES = [
    ("empty", ingress(), [("spec", "Invalid value: []networking.IngressRule(nil): either `defaultBackend` or "
                                   "`rules` must be specified")]),
    ("valid", ingress(rules=[rule(host="*.example.com")], tls=[{"hosts": ["*.example.com"], "secretName": "tls"}]), []),
    ("wildcard-host-bad", ingress(rules=[rule(host="*")]), [("spec.rules[0].host", f'Invalid value: "*": {WILDCARD_MSG}')]),
    ("ip-host", ingress(rules=[rule(host="10.0.0.1")]),
     [("spec.rules[0].host", 'Invalid value: "10.0.0.1": must be a DNS name, not an IP address')]),
    ("relative-prefix", ingress(rules=[rule({"path": "api"})]),
     [(f"{P0}.path", 'Invalid value: "api": must be an absolute path')]),
    ("double-slash", ingress(rules=[rule({"path": "/a//b", "pathType": "Exact"})]),
     [(f"{P0}.path", "Invalid value: \"/a//b\": must not contain '//'")]),
    ("dot-suffix", ingress(rules=[rule({"path": "/a/.."})]),
     [(f"{P0}.path", "Invalid value: \"/a/..\": cannot end with '/..'")]),
    ("pathtype-missing", ingress(rules=[rule({"pathType": None})]),
     [(f"{P0}.pathType", "Required value: pathType must be specified")]),
    ("pathtype-enum", ingress(rules=[rule({"pathType": "Regex"})]),
     [(f"{P0}.pathType", 'Unsupported value: "Regex": supported values: "Exact", "ImplementationSpecific", "Prefix"')]),
    ("backend-none", ingress(rules=[rule({"backend": {}})]),
     [(f"{P0}.backend", 'Invalid value: "": resource or service backend is required')]),
    ("backend-both", ingress(rules=[rule({"backend": {"service": {"name": "s", "port": {"number": 1}},
                                                       "resource": {"kind": "K", "name": "n"}}})]),
     [(f"{P0}.backend", 'Invalid value: "": cannot set both resource and service backends')]),
    ("port-both", ingress(defaultBackend={"service": {"name": "s", "port": {"number": 80, "name": "http"}}}),
     [("spec.defaultBackend", 'Invalid value: "": cannot set both port name & port number')]),
    ("port-none", ingress(defaultBackend={"service": {"name": "s", "port": {}}}),
     [("spec.defaultBackend", "Required value: port name or number is required")]),
    ("port-number-range", ingress(defaultBackend={"service": {"name": "s", "port": {"number": 70000}}}),
     [("spec.defaultBackend.service.port.number", f"Invalid value: 70000: {NUM_RANGE}")]),
    ("service-name-1035", ingress(defaultBackend={"service": {"name": "1web", "port": {"number": 80}}}),
     [("spec.defaultBackend.service.name", "Invalid value: \"1web\": a DNS-1035 label must consist of lower case "
       "alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character "
       "(e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
       )]),
    ("resource-kind", ingress(defaultBackend={"resource": {"name": "b"}}),
     [("spec.defaultBackend.resource.kind", "Required value: kind is required")]),
    ("tls-host", ingress(defaultBackend={"service": {"name": "s", "port": {"number": 80}}},
                         tls=[{"hosts": ["Bad_Host"]}]),
     [("spec.tls[0].hosts[0]", "Invalid value: \"Bad_Host\": a lowercase RFC 1123 subdomain must consist of lower "
       "case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
       "'example.com', regex used for validation is "
       "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")]),
    ("paths-required", ingress(rules=[{"host": "a.com", "http": {"paths": []}}]),
     [("spec.rules[0].http.paths", "Required value")]),
]


@pytest.mark.parametrize(("obj", "expected"), [pytest.param(o, e, id=i) for i, o, e in INGRESS_CASES])
def test_ingress_validation(obj: Obj, expected: list[tuple[str, str]]) -> None:
    if obj["spec"].get("rules") and obj["spec"]["rules"][0]["http"]["paths"] and \
            obj["spec"]["rules"][0]["http"]["paths"][0].get("pathType", "") is None:
        del obj["spec"]["rules"][0]["http"]["paths"][0]["pathType"]
    assert validate("networking.k8s.io", "Ingress", obj) == expected


# --- NetworkPolicy --------------------------------------------------------------------------


def netpol(**spec: Any) -> Obj:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "n", "namespace": "default"}, "spec": {"podSelector": {}, **spec}}


CIDR_MSG = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
NETPOL_CASES = [
    ("valid", netpol(ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
                                        {"podSelector": {"matchLabels": {"a": "b"}}, "namespaceSelector": {}}],
                               "ports": [{"port": 80, "endPort": 90}, {"port": "http", "protocol": "UDP"}]}]), []),
    ("protocol", netpol(ingress=[{"ports": [{"protocol": "ICMP"}]}]),
     [("spec.ingress[0].ports[0].protocol", 'Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"')]),
    ("endport-below-port", netpol(egress=[{"ports": [{"port": 90, "endPort": 80}]}]),
     [("spec.egress[0].ports[0].endPort", "Invalid value: 90: must be greater than or equal to `port`")]),
    ("endport-named-port", netpol(ingress=[{"ports": [{"port": "http", "endPort": 90}]}]),
     [("spec.ingress[0].ports[0].endPort", "Invalid value: 90: may not be specified when `port` is non-numeric")]),
    ("endport-no-port", netpol(ingress=[{"ports": [{"endPort": 90}]}]),
     [("spec.ingress[0].ports[0].endPort", "Invalid value: 90: may not be specified when `port` is not specified")]),
    ("port-range", netpol(ingress=[{"ports": [{"port": 0}]}]),
     [("spec.ingress[0].ports[0].port", f"Invalid value: 0: {NUM_RANGE}")]),
    ("cidr-invalid", netpol(ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/33"}}]}]),
     [("spec.ingress[0].from[0].ipBlock.cidr", f'Invalid value: "10.0.0.0/33": {CIDR_MSG}')]),
    ("cidr-required", netpol(ingress=[{"from": [{"ipBlock": {}}]}]),
     [("spec.ingress[0].from[0].ipBlock.cidr", "Required value")]),
    ("except-outside", netpol(egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["192.168.0.0/24"]}}]}]),
     [("spec.egress[0].to[0].ipBlock.except[0]", 'Invalid value: "192.168.0.0/24": must be a strict subset of `cidr`')]),
    ("except-equal", netpol(egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.0.0/16"]}}]}]),
     [("spec.egress[0].to[0].ipBlock.except[0]", 'Invalid value: "10.0.0.0/16": must be a strict subset of `cidr`')]),
    ("peer-empty", netpol(ingress=[{"from": [{}]}]), [("spec.ingress[0].from[0]", "Required value: must specify a peer")]),
    ("peer-ipblock-and-selector", netpol(ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}]),
     [("spec.ingress[0].from[0]", "Forbidden: may not specify both ipBlock and another peer")]),
    ("policy-types", netpol(policyTypes=["Inbound"]),
     [("spec.policyTypes[0]", 'Unsupported value: "Inbound": supported values: "Ingress", "Egress"')]),
    ("selector-operator", netpol(podSelector={"matchExpressions": [{"key": "a", "operator": "Near"}]}),
     [("spec.podSelector.matchExpressions[0].operator", 'Invalid value: "Near": not a valid selector operator')]),
]


@pytest.mark.parametrize(("obj", "expected"), [pytest.param(o, e, id=i) for i, o, e in NETPOL_CASES])
def test_network_policy_validation(obj: Obj, expected: list[tuple[str, str]]) -> None:
    assert validate("networking.k8s.io", "NetworkPolicy", obj) == expected


# --- Service --------------------------------------------------------------------------------


def service(**spec: Any) -> Obj:
    s = {"selector": {"app": "x"}, "ports": [{"port": 80}], **spec}
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "default"}, "spec": s}


SERVICE_CASES = [
    ("affinity-timeout-range", service(sessionAffinity="ClientIP",
                                       sessionAffinityConfig={"clientIP": {"timeoutSeconds": 86401}}),
     [("spec.sessionAffinityConfig.clientIP.timeoutSeconds", "Invalid value: 86401: must be greater than 0 and less "
       "than 86400")]),
    ("affinity-timeout-zero", service(sessionAffinity="ClientIP", sessionAffinityConfig={"clientIP": {"timeoutSeconds": 0}}),
     [("spec.sessionAffinityConfig.clientIP.timeoutSeconds", "Invalid value: 0: must be greater than 0 and less "
       "than 86400")]),
    ("affinity-config-with-none", service(sessionAffinityConfig={"clientIP": {"timeoutSeconds": 10}}),
     [("spec.sessionAffinityConfig", "Forbidden: must not be set when session affinity is None")]),
    ("affinity-client-ip-defaulted", service(sessionAffinity="ClientIP"), []),
    ("etp-on-clusterip", service(externalTrafficPolicy="Local"),
     [("spec.externalTrafficPolicy", 'Invalid value: "Local": may only be set for externally-accessible services')]),
    ("etp-with-external-ips", service(externalTrafficPolicy="Local", externalIPs=["192.0.2.1"]), []),
    ("etp-enum", service(type="NodePort", externalTrafficPolicy="Nearest"),
     [("spec.externalTrafficPolicy", 'Unsupported value: "Nearest": supported values: "Cluster", "Local"')]),
    ("type-enum", service(type="Internal"),
     [("spec.type", 'Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", '
       '"LoadBalancer", "NodePort"')]),
    ("ports-need-names", service(ports=[{"port": 80}, {"port": 81}]),
     [("spec.ports[0].name", "Required value"), ("spec.ports[1].name", "Required value")]),
    ("port-protocol", service(ports=[{"port": 80, "protocol": "HTTP"}]),
     [("spec.ports[0].protocol", 'Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"')]),
    ("target-port-range", service(ports=[{"port": 80, "targetPort": 0x10000}]),
     [("spec.ports[0].targetPort", f"Invalid value: 65536: {NUM_RANGE}")]),
    ("duplicate-port", service(ports=[{"name": "a", "port": 80}, {"name": "b", "port": 80}]),
     [("spec.ports[1]", 'Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), '
       'Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}')]),
    ("app-protocol", service(ports=[{"port": 80, "appProtocol": "a/b/c"}]),
     [("spec.ports[0].appProtocol", "Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric "
       "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or "
       "'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with "
       "an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')")]),
]


@pytest.mark.parametrize(("obj", "expected"), [pytest.param(o, e, id=i) for i, o, e in SERVICE_CASES])
def test_service_validation(obj: Obj, expected: list[tuple[str, str]]) -> None:
    assert validate("", "Service", obj) == expected
