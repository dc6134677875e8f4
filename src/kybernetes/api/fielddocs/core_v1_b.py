"""Descriptions of core/v1 types ObjectFieldSelector to PodTemplateSpec and their fields.

They feed OpenAPI and so `kubectl explain`; core_v1_b2.py holds the rest of O-Z.
"""

from __future__ import annotations

P = "io.k8s.api.core.v1."

_OBJECT_META = "Standard object metadata: name, namespace, labels, annotations and more."
_LIST_META = "List metadata: the resourceVersion of the list and a continue token for paging."
_CONDITION_STATUS = "Whether the condition holds: True, False or Unknown."
_TRANSITION = "When the condition last changed status."
_REASON = "Short machine-readable CamelCase reason for the last transition."
_MESSAGE = "Human-readable details about the last transition."

# The in-tree volume plugins a PersistentVolume can name; PersistentVolumeSource and
# PersistentVolumeSpec list them alike.
_PV_SOURCES = {
    "gcePersistentDisk": "A Google Compute Engine persistent disk. Deprecated: served by the pd.csi.storage.gke.io CSI driver.",
    "awsElasticBlockStore": "An AWS Elastic Block Store volume. Deprecated: served by the ebs.csi.aws.com CSI driver.",
    "hostPath": "A file or directory on one node's filesystem; for single-node testing, as the data never leaves that node.",
    "glusterfs": "A GlusterFS volume. Deprecated; the in-tree plugin is no longer supported.",
    "nfs": "A share exported by an NFS server.",
    "rbd": "A Ceph RADOS block device. Deprecated; the in-tree plugin is no longer supported.",
    "iscsi": "An iSCSI disk that is attached to the node and mounted.",
    "cinder": "An OpenStack Cinder volume. Deprecated: served by the cinder.csi.openstack.org CSI driver.",
    "cephfs": "A CephFS filesystem. Deprecated; the in-tree plugin is no longer supported.",
    "fc": "A Fibre Channel disk that is attached to the node and mounted.",
    "flocker": "A Flocker dataset. Deprecated; the in-tree plugin is no longer supported.",
    "flexVolume": "A volume handled by an exec-based FlexVolume driver on the node. Deprecated in favour of CSI.",
    "azureFile": "An Azure File share. Deprecated: served by the file.csi.azure.com CSI driver.",
    "vsphereVolume": "A vSphere VMDK disk. Deprecated: served by the csi.vsphere.vmware.com CSI driver.",
    "quobyte": "A Quobyte volume. Deprecated; the in-tree plugin is no longer supported.",
    "azureDisk": "An Azure data disk. Deprecated: served by the disk.csi.azure.com CSI driver.",
    "photonPersistentDisk": "A VMware Photon Controller disk. Deprecated; the in-tree plugin is no longer supported.",
    "portworxVolume": "A Portworx volume. Deprecated: with CSI migration it is served by the pxd.portworx.com driver.",
    "scaleIO": "A Dell EMC ScaleIO volume. Deprecated; the in-tree plugin is no longer supported.",
    "local": "A disk, partition or directory on one node; set nodeAffinity so pods land on that node.",
    "storageos": "A StorageOS volume. Deprecated; the in-tree plugin is no longer supported.",
    "csi": "A volume managed by an external Container Storage Interface (CSI) driver.",
}

_AFFINITY_REQUIRED = (
    "Terms a node must satisfy, all of them, for the pod to be scheduled there; not re-checked after "
    "the pod is running."
)
_AFFINITY_PREFERRED = (
    "Weighted terms the scheduler tries to satisfy; a node scores the weights of the terms it matches."
)

DOCS: dict[str, tuple[str, dict[str, str]]] = {
    P + "ObjectFieldSelector": (
        "Picks one field of the pod, by path, to expose through the downward API.",
        {
            "apiVersion": "Schema version in which fieldPath is written; v1 when left out.",
            "fieldPath": "Path of the field to read, such as metadata.name, metadata.labels['app'] or status.podIP.",
        },
    ),
    P + "ObjectReference": (
        "Points at another API object, or at a part of one, by kind, namespace, name and UID.",
        {
            "namespace": "Namespace of the referenced object; empty for cluster-scoped objects.",
            "name": "Name of the referenced object.",
            "uid": "UID of the referenced object, pinning one incarnation of the name.",
            "resourceVersion": "Resource version of the object the reference was made from, if it matters.",
            "fieldPath": "Path to a part of the object instead of the whole, such as spec.containers{web} for one container.",
        },
    ),
    P + "PersistentVolume": (
        "A piece of storage in the cluster, provisioned by an administrator or dynamically, that a claim can bind.",
        {
            "metadata": _OBJECT_META,
            "spec": "Description of the storage: capacity, access modes, backing source and reclaim policy.",
            "status": "Current phase of the volume. Read-only.",
        },
    ),
    P + "PersistentVolumeClaim": (
        "A user's request for storage; it binds to a matching PersistentVolume that pods then mount.",
        {
            "metadata": _OBJECT_META,
            "spec": "What the claim asks for: size, access modes, storage class and an optional data source.",
            "status": "Binding phase and what the bound volume provides. Read-only.",
        },
    ),
    P + "PersistentVolumeClaimCondition": (
        "One observed condition of a claim, such as a resize in progress.",
        {
            "type": "Condition type, such as Resizing, FileSystemResizePending, ModifyingVolume or ModifyVolumeError.",
            "status": _CONDITION_STATUS,
            "lastProbeTime": "When the condition was last checked.",
            "lastTransitionTime": _TRANSITION,
            "reason": _REASON,
            "message": _MESSAGE,
        },
    ),
    P + "PersistentVolumeClaimList": (
        "A list of PersistentVolumeClaims.",
        {"metadata": _LIST_META, "items": "The PersistentVolumeClaims in the list."},
    ),
    P + "PersistentVolumeClaimSpec": (
        "The storage a claim asks for.",
        {
            "accessModes": "Access modes the volume must offer: ReadWriteOnce, ReadOnlyMany, ReadWriteMany or ReadWriteOncePod.",
            "selector": "Label query over volumes; only matching volumes are considered for binding.",
            "resources": "Minimum resources the volume needs, normally requests.storage; raising it later expands the volume if the class allows.",
            "volumeName": "Name of the specific PersistentVolume to bind to.",
            "storageClassName": "StorageClass to provision from; unset means the default class, an empty string means a volume with no class.",
            "volumeMode": "Filesystem (default) for a formatted volume, or Block for a raw block device.",
            "dataSource": "Existing VolumeSnapshot or PersistentVolumeClaim in the namespace (or a populator object) to fill the new volume from.",
            "dataSourceRef": "Object to fill the volume from, of any kind a volume populator handles; the wider form of dataSource, and may name another namespace when gated.",
            "volumeAttributesClassName": "VolumeAttributesClass for the volume; unlike storageClassName it may change after creation. Beta, gated.",
        },
    ),
    P + "PersistentVolumeClaimStatus": (
        "Observed state of a claim. Read-only.",
        {
            "phase": "Binding phase: Pending, Bound or Lost.",
            "accessModes": "Access modes the bound volume actually has.",
            "capacity": "Resources of the bound volume, such as its storage size.",
            "conditions": "Current conditions, such as Resizing while the volume is being expanded.",
            "allocatedResources": "Resources allocated to the claim by expansion; can exceed capacity while a resize is still running.",
            "allocatedResourceStatuses": "Resize progress per resource (such as storage), e.g. ControllerResizeInProgress, NodeResizePending or a failed state.",
            "currentVolumeAttributesClassName": "VolumeAttributesClass currently applied to the volume; empty if none. Beta, gated.",
            "modifyVolumeStatus": "Progress of a change of VolumeAttributesClass; unset when no change is pending.",
        },
    ),
    P + "PersistentVolumeClaimTemplate": (
        "Template for the claim that an ephemeral volume creates for its pod.",
        {
            "metadata": "Labels and annotations copied onto the created claim; no other metadata is allowed.",
            "spec": "Spec copied unchanged into the created claim.",
        },
    ),
    P + "PersistentVolumeClaimVolumeSource": (
        "Mounts the volume bound to a PersistentVolumeClaim in the pod's namespace.",
        {
            "claimName": "Name of the PersistentVolumeClaim.",
            "readOnly": "Mount the volume read-only. Default false.",
        },
    ),
    P + "PersistentVolumeList": (
        "A list of PersistentVolumes.",
        {"metadata": _LIST_META, "items": "The PersistentVolumes in the list."},
    ),
    P + "PersistentVolumeSource": (
        "The backing storage of a PersistentVolume; exactly one field is set.",
        dict(_PV_SOURCES),
    ),
    P + "PersistentVolumeSpec": (
        "Description of a PersistentVolume: its size, how it can be used and where the data lives.",
        {
            "capacity": "Resources of the volume, such as storage: 10Gi.",
            **_PV_SOURCES,
            "accessModes": "How the volume can be mounted: ReadWriteOnce, ReadOnlyMany, ReadWriteMany or ReadWriteOncePod.",
            "claimRef": "Claim the volume is bound to; set by binding, or in advance to reserve the volume for that claim.",
            "persistentVolumeReclaimPolicy": "What happens when the claim is released: Retain (default for manual volumes), Delete (usual for provisioned ones) or the deprecated Recycle.",
            "storageClassName": "StorageClass the volume belongs to; empty means none, and then only claims asking for no class bind it.",
            "mountOptions": "Extra mount options such as ro or soft; not validated, so a bad one makes the mount fail.",
            "volumeMode": "Filesystem (default) for a formatted volume, or Block for a raw block device.",
            "nodeAffinity": "Nodes the volume can be used from; pods using it are scheduled onto them.",
            "volumeAttributesClassName": "VolumeAttributesClass holding mutable attributes (such as IOPS) of the volume. Beta, gated.",
        },
    ),
    P + "PersistentVolumeStatus": (
        "Observed state of a PersistentVolume. Read-only.",
        {
            "phase": "Lifecycle phase: Pending, Available, Bound, Released or Failed.",
            "message": "Human-readable detail about the volume's state.",
            "reason": "Short CamelCase reason for a failure, for tools and the CLI.",
            "lastPhaseTransitionTime": "When the volume last moved to a different phase.",
        },
    ),
    P + "PhotonPersistentDiskVolumeSource": (
        "A VMware Photon Controller persistent disk. Deprecated in-tree plugin.",
        {
            "pdID": "ID of the Photon Controller disk.",
            "fsType": "Filesystem type to mount, such as ext4 or xfs; ext4 if unset.",
        },
    ),
    P + "Pod": (
        "The smallest deployable unit: one or more containers that share network, storage and a node.",
        {
            "metadata": _OBJECT_META,
            "spec": "Desired state: containers, volumes, scheduling rules and security settings.",
            "status": "Observed state reported by the node and the control plane. Read-only.",
        },
    ),
    P + "PodAffinity": (
        "Rules that place a pod in the same topology domain (node, zone, ...) as other pods.",
        {
            "requiredDuringSchedulingIgnoredDuringExecution": _AFFINITY_REQUIRED,
            "preferredDuringSchedulingIgnoredDuringExecution": _AFFINITY_PREFERRED,
        },
    ),
    P + "PodAffinityTerm": (
        "A set of pods, found by label and namespace, and the topology key that says what 'near' means.",
        {
            "labelSelector": "Selects the pods the term is about; unset matches no pods.",
            "namespaces": "Namespaces to look for those pods in, added to namespaceSelector; with both empty, the pod's own namespace.",
            "topologyKey": "Node label key that defines a domain, such as kubernetes.io/hostname or topology.kubernetes.io/zone. Required.",
            "namespaceSelector": "Label query over namespaces whose pods count; {} means every namespace; unset means only the namespaces list counts.",
            "matchLabelKeys": "Label keys whose values on the incoming pod are added to labelSelector as key in (value). Beta.",
            "mismatchLabelKeys": "Label keys whose values on the incoming pod are added to labelSelector as key notin (value). Beta.",
        },
    ),
    P + "PodAntiAffinity": (
        "Rules that keep a pod out of the topology domains (node, zone, ...) of other pods.",
        {
            "requiredDuringSchedulingIgnoredDuringExecution": _AFFINITY_REQUIRED,
            "preferredDuringSchedulingIgnoredDuringExecution": _AFFINITY_PREFERRED,
        },
    ),
    P + "PodAttachOptions": (
        "Query options of the pods/attach subresource, which connects to a running container's streams.",
        {
            "stdin": "Send standard input to the container. Default false.",
            "stdout": "Stream the container's standard output. Default true.",
            "stderr": "Stream the container's standard error. Default true.",
            "tty": "Allocate a terminal on the node through the container runtime. Default false.",
            "container": "Container to attach to; may be omitted when the pod has only one.",
        },
    ),
    P + "PodCondition": (
        "One observed condition of a pod, such as Ready.",
        {
            "type": "Condition type: PodScheduled, Initialized, ContainersReady, Ready, PodReadyToStartContainers or a readiness gate.",
            "status": _CONDITION_STATUS,
            "lastProbeTime": "When the condition was last checked.",
            "lastTransitionTime": _TRANSITION,
            "reason": _REASON,
            "message": _MESSAGE,
        },
    ),
    P + "PodDNSConfig": (
        "Extra DNS resolver settings for a pod, merged into those that dnsPolicy produces.",
        {
            "nameservers": "IP addresses of DNS servers to add; duplicates are dropped.",
            "searches": "DNS search domains to add; duplicates are dropped.",
            "options": "Resolver options to add; one here replaces an option of the same name from dnsPolicy.",
        },
    ),
    P + "PodDNSConfigOption": (
        "One resolver option of the pod's resolv.conf.",
        {
            "name": "Option name, such as ndots or edns0.",
            "value": "Option value, such as 2 for ndots; leave empty for options without one.",
        },
    ),
    P + "PodExecOptions": (
        "Query options of the pods/exec subresource, which runs a command in a container.",
        {
            "stdin": "Send standard input to the command. Default false.",
            "stdout": "Stream the command's standard output.",
            "stderr": "Stream the command's standard error.",
            "tty": "Allocate a terminal for the command. Default false.",
            "container": "Container to run in; may be omitted when the pod has only one.",
            "command": "The program and its arguments, as an argv list; not run through a shell.",
        },
    ),
    P + "PodIP": (
        "One IP address assigned to a pod.",
        {"ip": "The address, IPv4 or IPv6."},
    ),
    P + "PodList": (
        "A list of Pods.",
        {"metadata": _LIST_META, "items": "The pods in the list."},
    ),
    P + "PodLogOptions": (
        "Query options of the pods/log subresource, which reads a container's logs.",
        {
            "container": "Container to read logs from; may be omitted when the pod has only one.",
            "follow": "Keep the stream open and send new lines as they are written. Default false.",
            "previous": "Read the logs of the previous, terminated instance of the container. Default false.",
            "sinceSeconds": "Only lines written in the last N seconds; not together with sinceTime.",
            "sinceTime": "Only lines written at or after this RFC 3339 time; not together with sinceSeconds.",
            "timestamps": "Prefix every line with its RFC 3339 timestamp. Default false.",
            "tailLines": "Only the last N lines; otherwise from the container's start or the since limit.",
            "limitBytes": "Stop after about this many bytes; the last line may be cut short.",
            "insecureSkipTLSVerifyBackend": "Do not verify the kubelet's serving certificate when fetching logs; the data could then come from an impostor.",
            "stream": "Which output to return: All (default, interleaved), Stdout or Stderr; only All with tailLines. Alpha, gated.",
        },
    ),
    P + "PodOS": (
        "The operating system a pod is meant to run on.",
        {
            "name": "linux or windows; validation and the allowed fields of the pod depend on it.",
        },
    ),
    P + "PodPortForwardOptions": (
        "Query options of the pods/portforward subresource.",
        {"ports": "Pod ports to forward; needed when forwarding over WebSockets."},
    ),
    P + "PodProxyOptions": (
        "Query options of the pods/proxy subresource.",
        {"path": "Path to append to the pod's address when proxying the request."},
    ),
    P + "PodReadinessGate": (
        "An extra pod condition that must be True before the pod counts as ready.",
        {"conditionType": "Type of the pod condition to wait for; something outside the kubelet sets it."},
    ),
    P + "PodResourceClaim": (
        "Names a dynamic resource claim (DRA) for the pod, either an existing claim or one made from a template.",
        {
            "name": "Name of the entry within the pod; containers list it in resources.claims.",
            "resourceClaimName": "Existing ResourceClaim in the pod's namespace; set exactly one of this and resourceClaimTemplateName.",
            "resourceClaimTemplateName": "ResourceClaimTemplate to create a claim from for this pod; the claim is deleted with the pod.",
        },
    ),
    P + "PodResourceClaimStatus": (
        "The ResourceClaim generated for one of the pod's template-based claims.",
        {
            "name": "Name of the matching entry in spec.resourceClaims.",
            "resourceClaimName": "Name of the generated ResourceClaim; unset when no claim was needed.",
        },
    ),
    P + "PodSchedulingGate": (
        "A gate that keeps a pod from being scheduled until it is removed.",
        {"name": "Name of the gate, unique among the pod's gates."},
    ),
    P + "PodSecurityContext": (
        "Security settings for the whole pod; a container's own securityContext wins where both set a field.",
        {
            "seLinuxOptions": "SELinux context for all containers; the runtime picks a random one if unset. Not for Windows.",
            "windowsOptions": "Windows settings for all containers (GMSA, user name, HostProcess). Not for Linux pods.",
            "runAsUser": "UID that container processes run as; the image's user if unset. Not for Windows.",
            "runAsGroup": "Primary GID of container processes; the runtime default if unset. Not for Windows.",
            "runAsNonRoot": "Require a non-root user: the kubelet refuses to start a container that would run as UID 0.",
            "supplementalGroups": "Extra GIDs given to the first process of every container. Not for Windows.",
            "supplementalGroupsPolicy": "Merge (default) also adds the user's groups from the image's /etc/group; Strict uses only the groups set here. Alpha.",
            "fsGroup": "GID that owns supported volumes and new files in them, also added to every container's groups. Not for Windows.",
            "sysctls": "Namespaced kernel parameters to set for the pod; ones the runtime does not allow can stop it from starting.",
            "fsGroupChangePolicy": "When volume ownership is changed to fsGroup: Always (default) or OnRootMismatch (only if the root differs).",
            "seccompProfile": "Seccomp profile for all containers. Not for Windows.",
            "appArmorProfile": "AppArmor profile for all containers. Not for Windows.",
            "seLinuxChangePolicy": "How the SELinux label reaches volumes: Recursive relabels every file; MountOption mounts with -o context where supported. Alpha.",
        },
    ),
    P + "PodSignature": (
        "Identifies a group of pods by their controller, for preferAvoidPods entries.",
        {"podController": "The controller owning the pods."},
    ),
    P + "PodSpec": (
        "Desired state of a pod: its containers, volumes and how and where it runs.",
        {
            "volumes": "Volumes the pod's containers can mount.",
            "initContainers": "Containers run one at a time to completion before the app containers; restartPolicy Always makes one a sidecar.",
            "containers": "The app containers; at least one, and they cannot be added or removed later.",
            "ephemeralContainers": "Debug containers added later through the ephemeralcontainers subresource; never restarted or removed.",
            "restartPolicy": "When containers are restarted: Always (default), OnFailure or Never.",
            "terminationGracePeriodSeconds": "Seconds between the stop signal and a forced kill; default 30, 0 kills at once. A delete can shorten it.",
            "activeDeadlineSeconds": "Seconds the pod may be active, counted from its start, before it is failed and its containers killed.",
            "dnsPolicy": "DNS setup: ClusterFirst (default), ClusterFirstWithHostNet, Default (the node's resolver) or None (dnsConfig only).",
            "nodeSelector": "Labels a node must carry, every one of them, for the pod to go there.",
            "serviceAccountName": "ServiceAccount the pod runs as; the one named default if unset.",
            "serviceAccount": "Deprecated alias of serviceAccountName.",
            "automountServiceAccountToken": "Whether an API token of the service account is mounted; overrides the ServiceAccount's own setting.",
            "nodeName": "Node the pod is bound to; the scheduler sets it, or set it yourself to skip scheduling.",
            "hostNetwork": "Use the node's network namespace, so ports open on the node itself. Default false.",
            "hostPID": "Share the node's process ID namespace. Default false.",
            "hostIPC": "Share the node's IPC namespace. Default false.",
            "shareProcessNamespace": "One process namespace for all containers, so they see and signal each other's processes. Default false.",
            "securityContext": "Pod-wide security settings; container-level settings take precedence.",
            "imagePullSecrets": "Secrets in the pod's namespace with registry credentials for pulling the images.",
            "hostname": "Hostname inside the pod; the pod's name if unset.",
            "subdomain": "With a headless Service of that name, the pod gets the DNS name <hostname>.<subdomain>.<namespace>.svc.<domain>.",
            "affinity": "Node affinity, pod affinity and pod anti-affinity rules for scheduling.",
            "schedulerName": "Scheduler that places the pod; default-scheduler if unset.",
            "tolerations": "Node taints the pod tolerates.",
            "hostAliases": "Extra host-to-IP entries written into the pod's /etc/hosts.",
            "priorityClassName": "PriorityClass that gives the pod its priority; system-node-critical and system-cluster-critical are built in.",
            "priority": "Priority value, filled in from priorityClassName at admission; higher is more important.",
            "dnsConfig": "Extra DNS settings, merged into those produced by dnsPolicy.",
            "readinessGates": "Extra pod conditions that must be True, besides container readiness, for the pod to be ready.",
            "runtimeClassName": "RuntimeClass that selects the container runtime handler; the default handler if unset.",
            "enableServiceLinks": "Inject environment variables describing the namespace's Services, in Docker-links style. Default true.",
            "preemptionPolicy": "Whether the pod may evict lower-priority pods to fit: PreemptLowerPriority (default) or Never.",
            "overhead": "Resources the sandbox itself uses, counted on top of container requests; set from the RuntimeClass at admission.",
            "topologySpreadConstraints": "Rules for spreading matching pods evenly over zones, nodes or other topology domains.",
            "setHostnameAsFQDN": "Make the hostname inside the pod its fully qualified domain name, not the short name. Default false.",
            "os": "Operating system the pod targets; turns on OS-specific validation.",
            "hostUsers": "Run in the node's user namespace (default true); false gives the pod a user namespace of its own.",
            "schedulingGates": "Gates that hold the pod back from scheduling; they can only be removed after creation.",
            "resourceClaims": "Dynamic resource claims (DRA) the pod uses; containers pick them by name. Immutable.",
            "resources": "Pod-level cpu and memory requests and limits, shared by all containers. Alpha (PodLevelResources).",
        },
    ),
    P + "PodStatus": (
        "Observed state of a pod. Read-only; the node and the control plane fill it in.",
        {
            "phase": "Lifecycle summary: Pending, Running, Succeeded, Failed or Unknown.",
            "conditions": "Current conditions, such as PodScheduled, Initialized, ContainersReady and Ready.",
            "message": "Human-readable detail on why the pod is in this state.",
            "reason": "Short CamelCase reason for the pod's state, such as Evicted.",
            "nominatedNodeName": "Node where preemption is making room for this pod; it may still end up elsewhere.",
            "hostIP": "Primary IP of the node the pod is on; empty until the pod starts.",
            "hostIPs": "IPs of the node, at most one per family; the first equals hostIP.",
            "podIP": "Primary IP of the pod; empty until one is allocated.",
            "podIPs": "IPs of the pod, at most one per family; the first equals podIP.",
            "startTime": "When the kubelet accepted the pod, before any image was pulled.",
            "initContainerStatuses": "State of each init container.",
            "containerStatuses": "State of each app container.",
            "qosClass": "Quality of service class derived from the resources: Guaranteed, Burstable or BestEffort.",
            "ephemeralContainerStatuses": "State of each ephemeral container.",
            "resize": "State of an in-place resource resize: Proposed, InProgress, Deferred or Infeasible; empty if none.",
            "resourceClaimStatuses": "Names of the ResourceClaims generated from the pod's claim templates.",
        },
    ),
    P + "PodStatusResult": (
        "A pod's status, wrapped with its metadata; a legacy envelope for status reports.",
        {"metadata": _OBJECT_META, "status": "The reported pod status."},
    ),
    P + "PodTemplate": (
        "A stored, reusable pod template.",
        {"metadata": _OBJECT_META, "template": "Metadata and spec of the pods made from this template."},
    ),
    P + "PodTemplateList": (
        "A list of PodTemplates.",
        {"metadata": _LIST_META, "items": "The PodTemplates in the list."},
    ),
    P + "PodTemplateSpec": (
        "The metadata and spec that controllers stamp onto each pod they create.",
        {
            "metadata": "Labels, annotations and other metadata for the created pods.",
            "spec": "Spec of the created pods.",
        },
    ),
}
