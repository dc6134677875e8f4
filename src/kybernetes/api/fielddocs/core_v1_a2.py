"""Descriptions of core/v1 types F to N and their fields, for OpenAPI and `kubectl explain`.

The first part of the A to N half lives in core_v1_a.py; O to Z in core_v1_b.py.
"""

from __future__ import annotations

P = "io.k8s.api.core.v1."

# Node conditions, namespace conditions and the like share these texts.
_CONDITION_STATUS = "`True`, `False` or `Unknown`."
_LIST_METADATA = "Standard list metadata."

# The inline (pod) and PersistentVolume variants of the iSCSI source differ only in `secretRef`.
_ISCSI: dict[str, str] = {
    "targetPortal": "The iSCSI target portal, an IP address or `IP:port`; port 3260 when omitted.",
    "iqn": "iSCSI Qualified Name of the target.",
    "lun": "Logical unit number of the target to use.",
    "iscsiInterface": "iSCSI interface (transport) the initiator uses; `default` (TCP) when unset.",
    "fsType": "Filesystem to mount as, e.g. `ext4` or `xfs`; `ext4` when unset.",
    "readOnly": "Mount the volume read-only. Default false.",
    "portals": "Further target portals (IP or `IP:port`) for multipath access.",
    "chapAuthDiscovery": "Use CHAP authentication for iSCSI discovery.",
    "chapAuthSession": "Use CHAP authentication for the iSCSI session.",
    "secretRef": "Secret with the CHAP credentials.",
    "initiatorName": "Custom initiator name; when set, a new interface `<target portal>:<volume name>` is "
    "created for the connection.",
}

DOCS: dict[str, tuple[str, dict[str, str]]] = {
    P + "FCVolumeSource": (
        "A Fibre Channel disk mounted into a pod. Set either `targetWWNs` with `lun`, or `wwids`.",
        {
            "targetWWNs": "World wide names of the target ports.",
            "lun": "Logical unit number of the target.",
            "fsType": "Filesystem to mount as, e.g. `ext4` or `xfs`; `ext4` when unset.",
            "readOnly": "Mount the disk read-only. Default false.",
            "wwids": "World wide identifiers of the volume, as an alternative to `targetWWNs` with `lun`.",
        },
    ),
    P + "FlexPersistentVolumeSource": (
        "A volume handled by a FlexVolume driver (an executable on each node), used as a PersistentVolume. "
        "Deprecated in favour of CSI.",
        {
            "driver": "Name of the FlexVolume driver.",
            "fsType": "Filesystem to mount as, e.g. `ext4`; the default depends on the driver.",
            "secretRef": "Secret passed to the driver, for example with credentials.",
            "readOnly": "Mount the volume read-only. Default false.",
            "options": "Extra driver-specific options.",
        },
    ),
    P + "FlexVolumeSource": (
        "A volume handled by a FlexVolume driver (an executable on each node). Deprecated in favour of CSI.",
        {
            "driver": "Name of the FlexVolume driver.",
            "fsType": "Filesystem to mount as, e.g. `ext4`; the default depends on the driver.",
            "secretRef": "Secret, in the pod's namespace, passed to the driver, for example with credentials.",
            "readOnly": "Mount the volume read-only. Default false.",
            "options": "Extra driver-specific options.",
        },
    ),
    P + "FlockerVolumeSource": (
        "A Flocker dataset mounted into a pod (deprecated; needs a running Flocker control service). "
        "Set one of the two fields.",
        {
            "datasetName": "Name of the dataset, kept as Flocker metadata.",
            "datasetUUID": "UUID of the dataset, its unique identifier in Flocker.",
        },
    ),
    P + "GCEPersistentDiskVolumeSource": (
        "A Google Compute Engine persistent disk mounted into a pod (deprecated: redirected to the GCE PD "
        "CSI driver). The disk must be in the node's zone.",
        {
            "pdName": "Name of the persistent disk in GCE.",
            "fsType": "Filesystem to mount the disk as, e.g. `ext4` or `xfs`; `ext4` when unset.",
            "partition": "Partition number to mount, e.g. 1 for the first; 0 or unset mounts the whole disk.",
            "readOnly": "Mount the disk read-only. Default false.",
        },
    ),
    P + "GRPCAction": (
        "A probe that calls the standard gRPC health checking service of the container.",
        {
            "port": "Port of the gRPC service, 1 to 65535.",
            "service": "Service name sent in the health check request; when empty, the server reports its "
            "overall health.",
        },
    ),
    P + "GitRepoVolumeSource": (
        "A directory holding a clone of a git repository (deprecated: clone it in an init container into an "
        "emptyDir instead).",
        {
            "repository": "URL of the repository to clone.",
            "revision": "Commit to check out; the default branch's head when unset.",
            "directory": "Directory name for the clone, inside the volume; must not contain or start with "
            "`..`. `.` clones into the volume root; unset, into a subdirectory named after the repository.",
        },
    ),
    P + "GlusterfsPersistentVolumeSource": (
        "A GlusterFS volume used as a PersistentVolume (the in-tree plugin is no longer supported).",
        {
            "endpoints": "Name of the Endpoints object listing the Gluster servers.",
            "path": "Name of the Gluster volume.",
            "readOnly": "Mount the volume read-only. Default false.",
            "endpointsNamespace": "Namespace of that Endpoints object; the claim's namespace when unset.",
        },
    ),
    P + "GlusterfsVolumeSource": (
        "A GlusterFS volume mounted into a pod (the in-tree plugin is no longer supported).",
        {
            "endpoints": "Name of the Endpoints object, in the pod's namespace, listing the Gluster servers.",
            "path": "Name of the Gluster volume.",
            "readOnly": "Mount the volume read-only. Default false.",
        },
    ),
    P + "HTTPGetAction": (
        "An HTTP GET request sent by the kubelet; a status from 200 to 399 counts as success.",
        {
            "path": "Path to request; `/` by default.",
            "port": "Port to connect to, as a number (1 to 65535) or the name of a container port.",
            "host": "Host name or IP to connect to; the pod's IP when unset. To send a virtual host name, "
            "set a `Host` header instead.",
            "scheme": "`HTTP` (default) or `HTTPS`; HTTPS certificates are not verified.",
            "httpHeaders": "Extra headers to send with the request.",
        },
    ),
    P + "HTTPHeader": (
        "One HTTP header sent with a probe or hook request.",
        {
            "name": "Header name; compared case-insensitively.",
            "value": "Header value.",
        },
    ),
    P + "HostAlias": (
        "An extra entry for the pod's /etc/hosts file.",
        {
            "ip": "IP address the host names resolve to.",
            "hostnames": "Host names for that IP address.",
        },
    ),
    P + "HostIP": (
        "One IP address of the node a pod runs on.",
        {
            "ip": "The IP address.",
        },
    ),
    P + "HostPathVolumeSource": (
        "A file or directory of the node mounted into a pod. It gives access to the host and is not "
        "portable; use it only for system-level workloads.",
        {
            "path": "Path on the node; a symbolic link is followed to its target.",
            "type": "What must exist at `path`: empty (no check, the default), `DirectoryOrCreate`, "
            "`Directory`, `FileOrCreate`, `File`, `Socket`, `CharDevice` or `BlockDevice`.",
        },
    ),
    P + "ISCSIPersistentVolumeSource": (
        "An iSCSI disk used as a PersistentVolume; it can be mounted read-write by only one consumer at a time.",
        dict(_ISCSI),
    ),
    P + "ISCSIVolumeSource": (
        "An iSCSI disk mounted into a pod; it can be mounted read-write by only one consumer at a time.",
        {**_ISCSI, "secretRef": "Secret, in the pod's namespace, with the CHAP credentials."},
    ),
    P + "ImageVolumeSource": (
        "An OCI image or artifact mounted read-only (and not executable) into a pod (ImageVolume feature, "
        "alpha).",
        {
            "reference": "Image or artifact reference to mount, as for a container image.",
            "pullPolicy": "When to pull: `Always`, `Never` or `IfNotPresent`. Defaults to `Always` for a "
            "`:latest` or missing tag, else `IfNotPresent`.",
        },
    ),
    P + "KeyToPath": (
        "Maps a key of a ConfigMap or Secret to a file path in a volume.",
        {
            "key": "The key to project.",
            "path": "Relative file path to write the value to; must not be absolute or contain `..`.",
            "mode": "Permission bits of this file, 0 to 0777 (octal) / 511 (decimal); the volume's "
            "`defaultMode` when unset.",
        },
    ),
    P + "Lifecycle": (
        "Hooks the kubelet runs at points of a container's life. They block: the container counts as "
        "running only after postStart ends, and is signalled to stop only after preStop ends.",
        {
            "postStart": "Runs right after the container is created; if it fails, the container is killed and "
            "restarted per the restart policy.",
            "preStop": "Runs before the container is stopped because of an API request or a management event "
            "(failed probe, preemption, ...); not when it exits by itself. It counts against the grace period.",
        },
    ),
    P + "LifecycleHandler": (
        "One action of a lifecycle hook; set exactly one field.",
        {
            "exec": "Run a command inside the container.",
            "httpGet": "Send an HTTP GET request.",
            "tcpSocket": "Not supported for hooks (kept for compatibility): accepted, but the hook fails when "
            "it runs.",
            "sleep": "Wait for a number of seconds.",
        },
    ),
    P + "LimitRange": (
        "Per-namespace defaults and bounds for the resources of pods, containers and claims, applied when "
        "they are created.",
        {
            "metadata": "Standard object metadata.",
            "spec": "The limits to enforce.",
        },
    ),
    P + "LimitRangeItem": (
        "Resource bounds and defaults for one kind of object.",
        {
            "type": "What the item applies to: `Container`, `Pod` or `PersistentVolumeClaim`.",
            "max": "Largest amount allowed per resource.",
            "min": "Smallest amount allowed per resource.",
            "default": "Limit set on containers that give none, per resource.",
            "defaultRequest": "Request set on containers that give none, per resource.",
            "maxLimitRequestRatio": "Largest allowed ratio of limit to request, per resource.",
        },
    ),
    P + "LimitRangeList": (
        "A list of LimitRange objects.",
        {
            "metadata": _LIST_METADATA,
            "items": "The LimitRange objects.",
        },
    ),
    P + "LimitRangeSpec": (
        "The limits a LimitRange enforces.",
        {
            "limits": "The bounds and defaults, one item per kind of object.",
        },
    ),
    P + "LinuxContainerUser": (
        "The Linux user and groups a container's first process runs as.",
        {
            "uid": "The user ID.",
            "gid": "The primary group ID.",
            "supplementalGroups": "The supplementary group IDs.",
        },
    ),
    P + "List": (
        "A list of objects of any kinds.",
        {
            "metadata": _LIST_METADATA,
            "items": "The objects, each a complete object with its own kind and apiVersion.",
        },
    ),
    P + "LoadBalancerIngress": (
        "One entry point of a load balancer: an IP address or a host name.",
        {
            "ip": "IP address of the entry point (for IP-based load balancers).",
            "hostname": "Host name of the entry point (for DNS-based load balancers).",
            "ipMode": "How traffic for `ip` is delivered: `VIP` (packets keep the IP as destination; the "
            "default when `ip` is set) or `Proxy` (the load balancer forwards them to nodes or pods itself).",
            "ports": "Status of each Service port on this entry point.",
        },
    ),
    P + "LoadBalancerStatus": (
        "Status of a load balancer.",
        {
            "ingress": "Entry points of the load balancer that traffic for the Service should go to.",
        },
    ),
    P + "LocalObjectReference": (
        "Refers to an object by name in the same namespace.",
        {
            "name": "Name of the object.",
        },
    ),
    P + "LocalVolumeSource": (
        "A local disk, partition or directory of one node, used as a PersistentVolume; pods using it are "
        "bound to that node.",
        {
            "path": "Full path on the node of the directory, partition or block device.",
            "fsType": "Filesystem to mount as, only when `path` is a block device; detected automatically "
            "when unset.",
        },
    ),
    P + "ModifyVolumeStatus": (
        "Progress of a change of a claim's VolumeAttributesClass.",
        {
            "targetVolumeAttributesClassName": "Name of the VolumeAttributesClass being applied.",
            "status": "`Pending` (waiting, e.g. for the class to exist), `InProgress` or `Infeasible` "
            "(the driver rejected the change).",
        },
    ),
    P + "NFSVolumeSource": (
        "An NFS export mounted into a pod.",
        {
            "server": "Host name or IP address of the NFS server.",
            "path": "Path exported by the NFS server.",
            "readOnly": "Mount the export read-only. Default false.",
        },
    ),
    P + "Namespace": (
        "A scope for names: most objects live in exactly one namespace, and policies such as quotas "
        "apply per namespace.",
        {
            "metadata": "Standard object metadata.",
            "spec": "Desired behaviour of the namespace.",
            "status": "Observed state of the namespace (read-only).",
        },
    ),
    P + "NamespaceCondition": (
        "One observed condition of a namespace, mostly about its deletion.",
        {
            "type": "Condition type, e.g. `NamespaceDeletionContentFailure`, `NamespaceContentRemaining` or "
            "`NamespaceFinalizersRemaining`.",
            "status": _CONDITION_STATUS,
            "lastTransitionTime": "When the condition last changed status.",
            "reason": "Short machine-readable reason for the last change.",
            "message": "Human-readable details of the last change.",
        },
    ),
    P + "NamespaceList": (
        "A list of Namespace objects.",
        {
            "metadata": _LIST_METADATA,
            "items": "The Namespace objects.",
        },
    ),
    P + "NamespaceSpec": (
        "Desired behaviour of a namespace.",
        {
            "finalizers": "Values that must all be removed before the namespace is deleted for good, "
            "e.g. `kubernetes`; set through the finalize subresource.",
        },
    ),
    P + "NamespaceStatus": (
        "Observed state of a namespace.",
        {
            "phase": "`Active`, or `Terminating` once deletion has started.",
            "conditions": "The namespace's current conditions.",
        },
    ),
    P + "Node": (
        "A machine (worker) that runs pods, with a kubelet on it; its status reports capacity, health "
        "and addresses.",
        {
            "metadata": "Standard object metadata; the name is the node's host name.",
            "spec": "How the node is configured: pod CIDRs, taints, schedulability.",
            "status": "Observed state of the node, written by its kubelet (read-only).",
        },
    ),
    P + "NodeAddress": (
        "One address of a node.",
        {
            "type": "`Hostname`, `InternalIP`, `ExternalIP`, `InternalDNS` or `ExternalDNS`.",
            "address": "The address itself.",
        },
    ),
    P + "NodeAffinity": (
        "Rules on node labels that limit or rank the nodes a pod may be scheduled to.",
        {
            "requiredDuringSchedulingIgnoredDuringExecution": "Nodes the pod may be scheduled to; a node must "
            "match. A pod already running is not evicted when its node stops matching.",
            "preferredDuringSchedulingIgnoredDuringExecution": "Weighted preferences: the scheduler favours "
            "nodes whose matching terms add up to the highest weight, but may pick others.",
        },
    ),
    P + "NodeCondition": (
        "One observed condition of a node.",
        {
            "type": "`Ready`, `MemoryPressure`, `DiskPressure`, `PIDPressure` or `NetworkUnavailable`.",
            "status": _CONDITION_STATUS,
            "lastHeartbeatTime": "When the kubelet last reported this condition.",
            "lastTransitionTime": "When the condition last changed status.",
            "reason": "Short machine-readable reason for the last change, e.g. `KubeletReady`.",
            "message": "Human-readable details of the last change.",
        },
    ),
    P + "NodeConfigSource": (
        "Where a node's kubelet configuration came from (Dynamic Kubelet Config, a removed feature).",
        {
            "configMap": "A ConfigMap holding the configuration.",
        },
    ),
    P + "NodeConfigStatus": (
        "Which kubelet configuration a node uses (Dynamic Kubelet Config, a removed feature).",
        {
            "assigned": "The configuration the node was told to use.",
            "active": "The configuration the node is running with.",
            "lastKnownGood": "The configuration the node falls back to when the assigned one is bad.",
            "error": "Problem with the assigned configuration, if any.",
        },
    ),
    P + "NodeDaemonEndpoints": (
        "Ports of the daemons running on a node.",
        {
            "kubeletEndpoint": "Port on which the kubelet serves its API.",
        },
    ),
    P + "NodeFeatures": (
        "Optional features the node's kubelet and container runtime support.",
        {
            "supplementalGroupsPolicy": "Whether the node supports a pod's `supplementalGroupsPolicy` setting.",
        },
    ),
    P + "NodeList": (
        "A list of Node objects.",
        {
            "metadata": _LIST_METADATA,
            "items": "The Node objects.",
        },
    ),
    P + "NodeProxyOptions": (
        "Options of a request to a node's proxy subresource.",
        {
            "path": "Path on the node's kubelet to forward the request to.",
        },
    ),
    P + "NodeRuntimeHandler": (
        "A runtime handler (e.g. for a RuntimeClass) of the node's container runtime and what it supports.",
        {
            "name": "Handler name; empty for the runtime's default handler.",
            "features": "Optional features this handler supports.",
        },
    ),
    P + "NodeRuntimeHandlerFeatures": (
        "Optional features of a runtime handler.",
        {
            "recursiveReadOnlyMounts": "Whether the handler supports recursively read-only mounts.",
            "userNamespaces": "Whether the handler supports user namespaces (pods with `hostUsers: false`), "
            "including for volumes.",
        },
    ),
    P + "NodeSelector": (
        "A set of terms that nodes are matched against; a node matches when any term matches.",
        {
            "nodeSelectorTerms": "The terms, combined with OR. An empty term matches no node.",
        },
    ),
    P + "NodeSelectorRequirement": (
        "One test of a node label or field against a set of values.",
        {
            "key": "The label key (or field name) to test.",
            "operator": "`In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt` or `Lt`.",
            "values": "Values to compare with: at least one for `In`/`NotIn`, none for "
            "`Exists`/`DoesNotExist`, exactly one integer for `Gt`/`Lt`.",
        },
    ),
    P + "NodeSelectorTerm": (
        "One term of a node selector; a node matches when all its requirements hold.",
        {
            "matchExpressions": "Requirements on the node's labels.",
            "matchFields": "Requirements on the node's fields; only `metadata.name` is supported.",
        },
    ),
    P + "NodeSpec": (
        "How a node is configured.",
        {
            "podCIDR": "IP range assigned to the node for pod addresses; the first entry of `podCIDRs`.",
            "podCIDRs": "IP ranges assigned to the node for pod addresses: at most one IPv4 and one IPv6 "
            "range. Once set, cannot be changed.",
            "providerID": "The node's ID at its cloud provider, as `<provider>://<id>`.",
            "unschedulable": "When true, no new pods are scheduled to the node (`kubectl cordon`); pods "
            "already there keep running. Default false.",
            "taints": "Taints that repel pods which do not tolerate them.",
            "configSource": "Deprecated and ignored (Dynamic Kubelet Config was removed).",
            "externalID": "Deprecated and unused; kept for compatibility.",
        },
    ),
    P + "NodeStatus": (
        "Observed state of a node, written by its kubelet (read-only).",
        {
            "capacity": "Total resources of the node (cpu, memory, pods, ephemeral-storage, ...).",
            "allocatable": "Resources available to pods: capacity minus what is reserved for the system. "
            "The scheduler uses this.",
            "phase": "Deprecated and no longer set.",
            "conditions": "The node's current conditions, such as `Ready`.",
            "addresses": "Addresses at which the node can be reached.",
            "daemonEndpoints": "Ports of the daemons on the node, such as the kubelet.",
            "nodeInfo": "Versions and IDs that describe the node's system.",
            "images": "Container images present on the node.",
            "volumesInUse": "Volumes attached to and mounted on the node.",
            "volumesAttached": "Volumes attached to the node.",
            "config": "Status of Dynamic Kubelet Config (a removed feature).",
            "runtimeHandlers": "Handlers of the node's container runtime and the features each supports.",
            "features": "Optional features the node supports.",
        },
    ),
    P + "NodeSystemInfo": (
        "Versions and identifiers describing a node's system.",
        {
            "machineID": "The machine ID from /etc/machine-id.",
            "systemUUID": "The hardware UUID reported by the system firmware.",
            "bootID": "ID of the current boot; changes when the node reboots.",
            "kernelVersion": "Kernel version, as `uname -r` prints it.",
            "osImage": "Operating system image, e.g. `Debian GNU/Linux 12 (bookworm)`.",
            "containerRuntimeVersion": "Container runtime and version, e.g. `containerd://1.7.24`.",
            "kubeletVersion": "Version of the kubelet.",
            "kubeProxyVersion": "Deprecated: version of kube-proxy, not reliably reported.",
            "operatingSystem": "Operating system, e.g. `linux` or `windows`.",
            "architecture": "CPU architecture, e.g. `amd64` or `arm64`.",
        },
    ),
}
