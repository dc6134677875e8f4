"""Descriptions of core/v1 types A to E and their fields, for OpenAPI and `kubectl explain`.

The rest of the A to N half lives in core_v1_a2.py; O to Z in core_v1_b.py.
"""

from __future__ import annotations

P = "io.k8s.api.core.v1."

# Container, EphemeralContainer and EphemeralContainerCommon share their field set; the ephemeral
# variants differ only where the API server rejects a field for them.
_CONTAINER: dict[str, str] = {
    "name": "The container's name, a DNS label unique among all containers of the pod. Cannot be changed.",
    "image": "The container image to run, e.g. `nginx:1.27` or a registry path with a tag or digest.",
    "command": "Replaces the image's ENTRYPOINT; run directly, not through a shell. "
    "$(VAR) references to the container's environment are expanded ($$ escapes). Cannot be changed.",
    "args": "Arguments to the entrypoint, replacing the image's CMD. "
    "$(VAR) references are expanded as in `command`. Cannot be changed.",
    "workingDir": "Directory the process starts in; the image's (or runtime's) default when unset. Cannot be changed.",
    "ports": "Ports the container listens on. Mostly informational: a port not listed may still be reachable. "
    "Cannot be changed.",
    "envFrom": "Sources (ConfigMaps, Secrets) whose every key becomes an environment variable. "
    "On duplicate names, `env` wins, then the last source. Cannot be changed.",
    "env": "Environment variables set in the container, as values or taken from other sources. Cannot be changed.",
    "resources": "CPU, memory and other resources the container requests and is limited to.",
    "resizePolicy": "Per resource, whether changing it in place needs a container restart.",
    "restartPolicy": "Only for init containers: `Always` turns the init container into a sidecar that keeps "
    "running beside the app containers. Otherwise leave unset; the pod's policy applies.",
    "volumeMounts": "Pod volumes to mount into the container's filesystem. Cannot be changed.",
    "volumeDevices": "Pod block volumes to expose to the container as raw devices.",
    "livenessProbe": "Periodic check that the container is alive; the kubelet restarts it when the check fails. "
    "Cannot be changed.",
    "readinessProbe": "Periodic check that the container can serve; while it fails, the pod is removed from "
    "Service endpoints. Cannot be changed.",
    "startupProbe": "Check that the container has finished starting; liveness and readiness probes wait until it "
    "succeeds, and failure restarts the container. Cannot be changed.",
    "lifecycle": "Actions the kubelet runs right after the container starts and just before it stops. "
    "Cannot be changed.",
    "terminationMessagePath": "File inside the container whose content becomes the termination message "
    "(at most 4096 bytes). Default /dev/termination-log. Cannot be changed.",
    "terminationMessagePolicy": "Where the termination message comes from: `File` (default) or "
    "`FallbackToLogsOnError`, which uses the log tail when the file is empty and the container failed.",
    "imagePullPolicy": "When to pull the image: `Always`, `Never` or `IfNotPresent`. Defaults to `Always` for "
    "a `:latest` or missing tag, else `IfNotPresent`. Cannot be changed.",
    "securityContext": "Security settings for this container (user, capabilities, privilege, ...); "
    "they override the pod's where both are set.",
    "stdin": "Give the container a stdin stream that stays open; without it, reads from stdin get EOF. "
    "Default false.",
    "stdinOnce": "With `stdin`, close the stdin stream after the first attached client disconnects, "
    "so the process sees EOF. Default false.",
    "tty": "Allocate a terminal for the container; needs `stdin` to be true. Default false.",
}

_EPHEMERAL: dict[str, str] = {
    **_CONTAINER,
    "name": "The ephemeral container's name, a DNS label unique among all containers of the pod.",
    "ports": "Not allowed for ephemeral containers.",
    "resources": "Not allowed for ephemeral containers: they use what the pod already has.",
    "resizePolicy": "Not allowed for ephemeral containers.",
    "restartPolicy": "Not allowed for ephemeral containers; they are never restarted.",
    "livenessProbe": "Not allowed for ephemeral containers.",
    "readinessProbe": "Not allowed for ephemeral containers.",
    "startupProbe": "Not allowed for ephemeral containers.",
    "lifecycle": "Not allowed for ephemeral containers.",
    "volumeMounts": "Pod volumes to mount into the ephemeral container; `subPath` is not allowed. "
    "Cannot be changed.",
}

DOCS: dict[str, tuple[str, dict[str, str]]] = {
    P + "AWSElasticBlockStoreVolumeSource": (
        "An AWS EBS disk mounted into a pod (deprecated: the in-tree plugin is redirected to the EBS CSI driver). "
        "The disk must be in the node's zone.",
        {
            "volumeID": "The EBS volume's ID, e.g. `vol-0abc...`.",
            "fsType": "Filesystem to mount the disk as, e.g. `ext4` or `xfs`; `ext4` when unset.",
            "partition": "Partition number to mount, e.g. 1 for the first; 0 or unset mounts the whole disk.",
            "readOnly": "Mount the disk read-only. Default false.",
        },
    ),
    P + "Affinity": (
        "Scheduling rules that draw a pod to, or keep it from, certain nodes and other pods.",
        {
            "nodeAffinity": "Rules on node labels: which nodes the pod must, or would rather, run on.",
            "podAffinity": "Rules that place the pod in the same topology domain (node, zone, ...) as matching pods.",
            "podAntiAffinity": "Rules that keep the pod out of topology domains that hold matching pods.",
        },
    ),
    P + "AppArmorProfile": (
        "Which AppArmor profile confines a container or pod.",
        {
            "type": "Kind of profile: `RuntimeDefault` (the runtime's default profile), `Localhost` "
            "(a profile loaded on the node) or `Unconfined`.",
            "localhostProfile": "Name of the profile loaded on the node; required when and only when "
            "`type` is `Localhost`.",
        },
    ),
    P + "AttachedVolume": (
        "A volume attached to a node, as reported in node status.",
        {
            "name": "The attached volume's unique name.",
            "devicePath": "Path on the node where the volume's device is expected to appear.",
        },
    ),
    P + "AvoidPods": (
        "Pods the scheduler should try not to place on a node (read from a node annotation; legacy).",
        {
            "preferAvoidPods": "Entries naming the pod controllers whose pods should avoid this node.",
        },
    ),
    P + "AzureDiskVolumeSource": (
        "An Azure data disk mounted into a pod (deprecated: the in-tree plugin is redirected to the Azure Disk "
        "CSI driver).",
        {
            "diskName": "The data disk's name in blob storage.",
            "diskURI": "The data disk's URI in blob storage.",
            "cachingMode": "Host caching mode: `None`, `ReadOnly` or `ReadWrite` (default).",
            "fsType": "Filesystem to mount the disk as, e.g. `ext4` or `xfs`; `ext4` when unset.",
            "readOnly": "Mount the disk read-only. Default false.",
            "kind": "Disk kind: `Shared` (default; several blob disks per storage account), `Dedicated` "
            "(one blob disk per account) or `Managed` (an Azure managed disk).",
        },
    ),
    P + "AzureFilePersistentVolumeSource": (
        "An Azure File share used as a PersistentVolume (deprecated: redirected to the Azure File CSI driver).",
        {
            "secretName": "Name of the Secret holding the storage account name and key.",
            "shareName": "Name of the Azure file share.",
            "readOnly": "Mount the share read-only. Default false.",
            "secretNamespace": "Namespace of that Secret; the pod's namespace when unset.",
        },
    ),
    P + "AzureFileVolumeSource": (
        "An Azure File share mounted into a pod (deprecated: redirected to the Azure File CSI driver).",
        {
            "secretName": "Name of the Secret, in the pod's namespace, holding the storage account name and key.",
            "shareName": "Name of the Azure file share.",
            "readOnly": "Mount the share read-only. Default false.",
        },
    ),
    P + "Binding": (
        "Binds one object to another; the scheduler uses it to assign a pod to a node "
        "(POST to pods/<name>/binding).",
        {
            "metadata": "Standard object metadata; name and namespace are those of the pod being bound.",
            "target": "The object to bind to, usually the node the pod should run on.",
        },
    ),
    P + "CSIPersistentVolumeSource": (
        "Storage managed by an external CSI driver, used as a PersistentVolume.",
        {
            "driver": "Name of the CSI driver that serves this volume, e.g. `ebs.csi.aws.com`.",
            "volumeHandle": "The driver's own ID for the volume, passed in every CSI call. Required.",
            "readOnly": "Publish the volume read-only. Default false.",
            "fsType": "Filesystem to mount as, e.g. `ext4`; passed to the driver.",
            "volumeAttributes": "Extra driver-specific attributes of the volume, passed through to the driver.",
            "controllerPublishSecretRef": "Secret with credentials for the driver's ControllerPublish and "
            "ControllerUnpublish calls.",
            "nodeStageSecretRef": "Secret with credentials for the driver's NodeStage and NodeUnstage calls.",
            "nodePublishSecretRef": "Secret with credentials for the driver's NodePublish and NodeUnpublish calls.",
            "controllerExpandSecretRef": "Secret with credentials for the driver's ControllerExpandVolume call.",
            "nodeExpandSecretRef": "Secret with credentials for the driver's NodeExpandVolume call.",
        },
    ),
    P + "CSIVolumeSource": (
        "An ephemeral, pod-lifetime volume provided inline by a CSI driver that supports it.",
        {
            "driver": "Name of the CSI driver that provides the volume.",
            "readOnly": "Mount the volume read-only. Default false.",
            "fsType": "Filesystem to mount as, e.g. `ext4`; when unset the driver chooses.",
            "volumeAttributes": "Driver-specific settings for the volume, passed through to the driver.",
            "nodePublishSecretRef": "Secret, in the pod's namespace, with credentials for NodePublish and "
            "NodeUnpublish calls.",
        },
    ),
    P + "Capabilities": (
        "Linux capabilities to add to or drop from a container's default set.",
        {
            "add": "Capabilities to add, e.g. `NET_ADMIN` (names without the `CAP_` prefix).",
            "drop": "Capabilities to remove, e.g. `ALL` or `NET_RAW`.",
        },
    ),
    P + "CephFSPersistentVolumeSource": (
        "A CephFS filesystem used as a PersistentVolume (deprecated in-tree plugin).",
        {
            "monitors": "Addresses of the Ceph monitors.",
            "path": "Path within the CephFS tree to mount; `/` when unset.",
            "user": "Ceph (RADOS) user name; `admin` when unset.",
            "secretFile": "Path on the node to the key file for `user`; `/etc/ceph/user.secret` when unset.",
            "secretRef": "Secret holding the user's key; overrides `secretFile`.",
            "readOnly": "Mount the filesystem read-only. Default false.",
        },
    ),
    P + "CephFSVolumeSource": (
        "A CephFS filesystem mounted into a pod (deprecated in-tree plugin).",
        {
            "monitors": "Addresses of the Ceph monitors.",
            "path": "Path within the CephFS tree to mount; `/` when unset.",
            "user": "Ceph (RADOS) user name; `admin` when unset.",
            "secretFile": "Path on the node to the key file for `user`; `/etc/ceph/user.secret` when unset.",
            "secretRef": "Secret, in the pod's namespace, holding the user's key; overrides `secretFile`.",
            "readOnly": "Mount the filesystem read-only. Default false.",
        },
    ),
    P + "CinderPersistentVolumeSource": (
        "An OpenStack Cinder volume used as a PersistentVolume (deprecated: redirected to the Cinder CSI driver).",
        {
            "volumeID": "The Cinder volume's ID.",
            "fsType": "Filesystem to mount as, e.g. `ext4` or `xfs`; `ext4` when unset.",
            "readOnly": "Mount the volume read-only. Default false.",
            "secretRef": "Secret with the OpenStack connection settings.",
        },
    ),
    P + "CinderVolumeSource": (
        "An OpenStack Cinder volume mounted into a pod (deprecated: redirected to the Cinder CSI driver).",
        {
            "volumeID": "The Cinder volume's ID.",
            "fsType": "Filesystem to mount as, e.g. `ext4` or `xfs`; `ext4` when unset.",
            "readOnly": "Mount the volume read-only. Default false.",
            "secretRef": "Secret, in the pod's namespace, with the OpenStack connection settings.",
        },
    ),
    P + "ClientIPConfig": (
        "Settings of client-IP session affinity for a Service.",
        {
            "timeoutSeconds": "How long a client stays pinned to one endpoint, in seconds: 1 to 86400. "
            "Default 10800 (3 hours).",
        },
    ),
    P + "ClusterTrustBundleProjection": (
        "Writes certificates from ClusterTrustBundle objects into a file of a projected volume.",
        {
            "name": "Pick one ClusterTrustBundle by name. Cannot be combined with `signerName`.",
            "signerName": "Pick every ClusterTrustBundle of this signer (narrowed by `labelSelector`); "
            "their certificates are joined.",
            "labelSelector": "With `signerName`, only bundles whose labels match; an empty selector matches all, "
            "an unset one none.",
            "optional": "Write an empty file instead of failing when no bundle is found. Default false.",
            "path": "File path, relative to the volume root, to write the PEM certificates to.",
        },
    ),
    P + "ComponentCondition": (
        "Health of one control plane component (deprecated with ComponentStatus).",
        {
            "type": "Condition type; the only one is `Healthy`.",
            "status": "`True`, `False` or `Unknown`.",
            "message": "Details of the condition, e.g. the component's health response.",
            "error": "Error seen while checking the component, if any.",
        },
    ),
    P + "ComponentStatus": (
        "Health of a control plane component such as the scheduler or etcd (deprecated since v1.19).",
        {
            "metadata": "Standard object metadata; the name is the component's.",
            "conditions": "Conditions describing the component's health.",
        },
    ),
    P + "ComponentStatusList": (
        "A list of ComponentStatus objects.",
        {
            "metadata": "Standard list metadata.",
            "items": "The ComponentStatus objects.",
        },
    ),
    P + "ConfigMap": (
        "Non-secret configuration data as keys with string or binary values, for pods to consume as "
        "files, environment variables or arguments.",
        {
            "metadata": "Standard object metadata.",
            "immutable": "When true, `data` and `binaryData` can no longer change (only deletion and "
            "re-creation); the setting itself cannot be undone.",
            "data": "String values (UTF-8) by key. Keys may contain letters, digits, `-`, `_` and `.`.",
            "binaryData": "Binary values by key, base64 in JSON. Keys follow the `data` rules and must not "
            "appear in `data` too.",
        },
    ),
    P + "ConfigMapEnvSource": (
        "Names a ConfigMap whose keys all become environment variables.",
        {
            "name": "Name of the ConfigMap in the pod's namespace.",
            "optional": "Start the container even if the ConfigMap does not exist. Default false.",
        },
    ),
    P + "ConfigMapKeySelector": (
        "Picks one key of a ConfigMap.",
        {
            "name": "Name of the ConfigMap in the pod's namespace.",
            "key": "The key whose value is taken.",
            "optional": "Tolerate a missing ConfigMap or key (the variable is then not set). Default false.",
        },
    ),
    P + "ConfigMapList": (
        "A list of ConfigMap objects.",
        {
            "metadata": "Standard list metadata.",
            "items": "The ConfigMap objects.",
        },
    ),
    P + "ConfigMapNodeConfigSource": (
        "A ConfigMap holding kubelet configuration for a node (Dynamic Kubelet Config, a removed feature).",
        {
            "namespace": "Namespace of the ConfigMap.",
            "name": "Name of the ConfigMap.",
            "uid": "UID of the ConfigMap; not allowed in Node.spec, reported in Node.status.",
            "resourceVersion": "Resource version of the ConfigMap; not allowed in Node.spec, reported in "
            "Node.status.",
            "kubeletConfigKey": "Key in the ConfigMap whose value is the KubeletConfiguration.",
        },
    ),
    P + "ConfigMapProjection": (
        "Projects keys of a ConfigMap as files into a projected volume.",
        {
            "name": "Name of the ConfigMap in the pod's namespace.",
            "items": "Which keys to project and to which paths; when unset, every key becomes a file named "
            "after it. A listed key that is missing is an error unless `optional`.",
            "optional": "Tolerate a missing ConfigMap or key. Default false.",
        },
    ),
    P + "ConfigMapVolumeSource": (
        "A volume filled with files from the keys of a ConfigMap.",
        {
            "name": "Name of the ConfigMap in the pod's namespace.",
            "items": "Which keys to project and to which paths; when unset, every key becomes a file named "
            "after it. A listed key that is missing is an error unless `optional`.",
            "defaultMode": "Permission bits of the created files, 0 to 0777 (octal) / 511 (decimal); "
            "default 0644. `items[].mode` overrides it per file.",
            "optional": "Tolerate a missing ConfigMap or key. Default false.",
        },
    ),
    P + "Container": (
        "One application container of a pod: its image, command, environment, resources, probes and "
        "security settings.",
        dict(_CONTAINER),
    ),
    P + "ContainerImage": (
        "An image present on a node, as reported in node status.",
        {
            "names": "Names the image is known by, e.g. tags and digests.",
            "sizeBytes": "Size of the image in bytes.",
        },
    ),
    P + "ContainerPort": (
        "A network port of a container.",
        {
            "name": "Optional port name (IANA service name style, unique in the pod) that Services and probes "
            "can refer to.",
            "hostPort": "Port on the node forwarded to this port (1 to 65535); most pods need none. "
            "Equals `containerPort` under host networking.",
            "containerPort": "Port number on the pod's IP address, 1 to 65535.",
            "protocol": "`TCP` (default), `UDP` or `SCTP`.",
            "hostIP": "Node address on which `hostPort` is bound; all addresses when unset.",
        },
    ),
    P + "ContainerResizePolicy": (
        "How a container reacts when one of its resources is changed in place.",
        {
            "resourceName": "The resource this policy applies to: `cpu` or `memory`.",
            "restartPolicy": "`NotRequired` (default: apply without a restart) or `RestartContainer`.",
        },
    ),
    P + "ContainerState": (
        "The state of a container: exactly one of waiting, running or terminated is set "
        "(waiting when none is).",
        {
            "waiting": "Set while the container is not yet running (e.g. pulling its image or backing off).",
            "running": "Set while the container is running.",
            "terminated": "Set once the container has exited.",
        },
    ),
    P + "ContainerStateRunning": (
        "Details of a running container.",
        {
            "startedAt": "When the container was last (re)started.",
        },
    ),
    P + "ContainerStateTerminated": (
        "Details of a container that has exited.",
        {
            "exitCode": "The process's exit status; 0 means success.",
            "signal": "The signal that ended the process, if any.",
            "reason": "Short machine-readable reason, e.g. `Completed`, `Error` or `OOMKilled`.",
            "message": "Human-readable details, e.g. the termination message.",
            "startedAt": "When this run of the container started.",
            "finishedAt": "When this run of the container ended.",
            "containerID": "ID of the exited container, as `<runtime>://<id>`.",
        },
    ),
    P + "ContainerStateWaiting": (
        "Details of a container that is not running yet.",
        {
            "reason": "Short machine-readable reason, e.g. `ContainerCreating`, `ImagePullBackOff` or "
            "`CrashLoopBackOff`.",
            "message": "Human-readable details of why the container is waiting.",
        },
    ),
    P + "ContainerStatus": (
        "Observed state of one container of a pod, written by the kubelet (read-only).",
        {
            "name": "Name of the container, as in the pod spec.",
            "state": "The container's current state.",
            "lastState": "The state of the previous run, typically how it terminated before a restart; "
            "empty when there was none.",
            "ready": "Whether the container passes its readiness probe (or has none and is running).",
            "restartCount": "How many times the container has been restarted.",
            "image": "The image the container runs, as given by the runtime (may differ from the spec's).",
            "imageID": "ID (usually the digest) of the image the container runs.",
            "containerID": "ID of the container in the runtime, as `<runtime>://<id>`.",
            "started": "Whether the container has finished its postStart hook and passed its startup probe. "
            "Resets to false when the container restarts.",
            "allocatedResources": "Resources the node has allocated to the container (in-place resize).",
            "resources": "Resource requests and limits actually applied to the running container.",
            "volumeMounts": "Status of the container's volume mounts.",
            "user": "Identity (uid, gids) the container's first process actually runs with, when the runtime "
            "reports it.",
            "allocatedResourcesStatus": "Health of the devices and other resources allocated to the container.",
        },
    ),
    P + "ContainerUser": (
        "The identity a container's first process runs with, per operating system.",
        {
            "linux": "User and group IDs on Linux.",
        },
    ),
    P + "DaemonEndpoint": (
        "A port on which a node daemon (the kubelet) listens.",
        {
            "Port": "The port number.",
        },
    ),
    P + "DownwardAPIProjection": (
        "Writes pod fields and container resources as files into a projected volume.",
        {
            "items": "The files to create, each from a pod field or a container resource.",
        },
    ),
    P + "DownwardAPIVolumeFile": (
        "One file of a downward API volume and where its content comes from.",
        {
            "path": "Relative file path in the volume; must not be absolute or contain `..`.",
            "fieldRef": "A pod field to write: metadata.name, metadata.namespace, metadata.uid, "
            "metadata.labels or metadata.annotations.",
            "resourceFieldRef": "A container's resource limit or request (cpu, memory, ephemeral-storage) to write.",
            "mode": "Permission bits of this file, 0 to 0777 (octal) / 511 (decimal); the volume's "
            "`defaultMode` when unset.",
        },
    ),
    P + "DownwardAPIVolumeSource": (
        "A volume of files holding information about the pod itself.",
        {
            "items": "The files to create, each from a pod field or a container resource.",
            "defaultMode": "Permission bits of the created files, 0 to 0777 (octal) / 511 (decimal); default 0644.",
        },
    ),
    P + "EmptyDirVolumeSource": (
        "An initially empty directory that lives as long as the pod.",
        {
            "medium": "Storage behind the directory: empty for the node's default disk, or `Memory` for tmpfs.",
            "sizeLimit": "Most storage the volume may use (counted against memory for `Memory`); exceeding it "
            "gets the pod evicted. No limit when unset.",
        },
    ),
    P + "EndpointAddress": (
        "One address of an Endpoints subset.",
        {
            "ip": "The endpoint's IP address; loopback, link-local and multicast addresses are not allowed.",
            "hostname": "Hostname of the endpoint, used for DNS records of headless Services.",
            "nodeName": "Node that hosts the endpoint, to tell local endpoints from remote ones.",
            "targetRef": "The object (usually a pod) that provides this endpoint.",
        },
    ),
    P + "EndpointPort": (
        "One port of an Endpoints subset.",
        {
            "name": "Port name, matching the Service port's name; may be empty only when there is one port.",
            "port": "The port number.",
            "protocol": "`TCP` (default), `UDP` or `SCTP`.",
            "appProtocol": "Application protocol of the port, e.g. `http`, `kubernetes.io/h2c` or a "
            "domain-prefixed name.",
        },
    ),
    P + "EndpointSubset": (
        "A set of addresses that all serve the same ports; the endpoints are every address with every port.",
        {
            "addresses": "Addresses that are ready to receive traffic.",
            "notReadyAddresses": "Addresses that exist but are not ready (e.g. still starting or failing "
            "readiness).",
            "ports": "Port numbers available on every address of the subset.",
        },
    ),
    P + "Endpoints": (
        "The network endpoints (addresses and ports) that implement a Service; its endpoints controller keeps "
        "it in sync. EndpointSlices are the newer form.",
        {
            "metadata": "Standard object metadata; the name matches the Service's.",
            "subsets": "Groups of addresses with the ports they all serve.",
        },
    ),
    P + "EndpointsList": (
        "A list of Endpoints objects.",
        {
            "metadata": "Standard list metadata.",
            "items": "The Endpoints objects.",
        },
    ),
    P + "EnvFromSource": (
        "A ConfigMap or Secret whose keys all become environment variables of a container.",
        {
            "prefix": "Text put in front of every variable name taken from this source; must itself be a "
            "valid variable name.",
            "configMapRef": "The ConfigMap to read; set this or `secretRef`.",
            "secretRef": "The Secret to read; set this or `configMapRef`.",
        },
    ),
    P + "EnvVar": (
        "One environment variable of a container.",
        {
            "name": "The variable's name.",
            "value": "The variable's value; $(VAR) references to earlier variables are expanded ($$ escapes). "
            "Empty by default.",
            "valueFrom": "Take the value from a pod field, a resource, a ConfigMap or a Secret instead; "
            "not allowed with a non-empty `value`.",
        },
    ),
    P + "EnvVarSource": (
        "Where an environment variable's value comes from; set exactly one field.",
        {
            "fieldRef": "A pod field: metadata.name, metadata.namespace, metadata.uid, metadata.labels['k'], "
            "metadata.annotations['k'], spec.nodeName, spec.serviceAccountName, status.hostIP(s) or "
            "status.podIP(s).",
            "resourceFieldRef": "A container's resource limit or request: limits.cpu, limits.memory, "
            "limits.ephemeral-storage, requests.cpu, requests.memory or requests.ephemeral-storage.",
            "configMapKeyRef": "A key of a ConfigMap in the pod's namespace.",
            "secretKeyRef": "A key of a Secret in the pod's namespace.",
        },
    ),
    P + "EphemeralContainer": (
        "A temporary container added to a running pod, typically for debugging (`kubectl debug`). It is added "
        "through the pod's ephemeralcontainers subresource, is never restarted and cannot be removed.",
        {
            **_EPHEMERAL,
            "targetContainerName": "Name of a pod container whose namespaces (process, IPC, ...) this "
            "container joins; the pod's shared namespaces when unset. The runtime must support it.",
        },
    ),
    P + "EphemeralContainerCommon": (
        "The container fields an EphemeralContainer shares with Container; several are not allowed there.",
        dict(_EPHEMERAL),
    ),
    P + "EphemeralVolumeSource": (
        "A volume backed by a PersistentVolumeClaim that is created for the pod and deleted with it.",
        {
            "volumeClaimTemplate": "Template of the claim to create, named `<pod name>-<volume name>` and owned "
            "by the pod. Cannot be changed.",
        },
    ),
    P + "Event": (
        "A report of something that happened to an object, e.g. a pod being scheduled or an image pull "
        "failing. Events expire after a while (an hour by default).",
        {
            "metadata": "Standard object metadata.",
            "involvedObject": "The object this event is about.",
            "reason": "Short, machine-readable reason in CamelCase, e.g. `Scheduled` or `BackOff`.",
            "message": "Human-readable description of what happened.",
            "source": "The component (and host) that reported the event; `reportingComponent` replaces it.",
            "firstTimestamp": "When this event was first recorded.",
            "lastTimestamp": "When this event was most recently recorded.",
            "count": "How many times this event has occurred.",
            "type": "`Normal` or `Warning`.",
            "eventTime": "When the event was first observed, in microseconds.",
            "series": "For an event that keeps recurring: how often and when it was last seen.",
            "action": "What was done, or failed, about the object, e.g. `Binding`.",
            "related": "A second object involved, if any (e.g. the node for a scheduling event).",
            "reportingComponent": "Name of the controller that emitted the event, e.g. `kubelet`.",
            "reportingInstance": "ID of the controller instance that emitted the event, e.g. the node name "
            "for a kubelet.",
        },
    ),
    P + "EventList": (
        "A list of Event objects.",
        {
            "metadata": "Standard list metadata.",
            "items": "The Event objects.",
        },
    ),
    P + "EventSeries": (
        "Occurrences of an event that keeps repeating.",
        {
            "count": "How many times the event has occurred in this series.",
            "lastObservedTime": "When the event was last seen.",
        },
    ),
    P + "EventSource": (
        "The component that reported an event.",
        {
            "component": "The reporting component, e.g. `kubelet` or `default-scheduler`.",
            "host": "The node the component ran on.",
        },
    ),
    P + "ExecAction": (
        "Runs a command inside the container; exit status 0 counts as success.",
        {
            "command": "The command and its arguments. It runs without a shell, in the container's root "
            "directory; invoke a shell explicitly for pipes and the like.",
        },
    ),
}
