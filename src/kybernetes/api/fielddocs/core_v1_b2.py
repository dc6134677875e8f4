"""Descriptions of core/v1 types PortStatus to WindowsSecurityContextOptions and their fields.

They feed OpenAPI and so `kubectl explain`; core_v1_b.py holds the start of O-Z.
"""

from __future__ import annotations

P = "io.k8s.api.core.v1."

_OBJECT_META = "Standard object metadata: name, namespace, labels, annotations and more."
_LIST_META = "List metadata: the resourceVersion of the list and a continue token for paging."
_READ_ONLY = "Mount the volume read-only. Default false."
_FS_TYPE = "Filesystem type to mount, such as ext4, xfs or ntfs; ext4 if unset."

# Where a volume's data comes from; Volume embeds VolumeSource, so both list the same fields.
_VOLUME_SOURCES = {
    "hostPath": "A file or directory of the node, mounted into the pod; exposes the host, so mostly for system agents.",
    "emptyDir": "A fresh empty directory that lives as long as the pod, on node storage or in memory.",
    "gcePersistentDisk": "A Google Compute Engine persistent disk. Deprecated: served by the pd.csi.storage.gke.io CSI driver.",
    "awsElasticBlockStore": "An AWS Elastic Block Store volume. Deprecated: served by the ebs.csi.aws.com CSI driver.",
    "gitRepo": "A git repository cloned at pod start. Deprecated: clone it in an init container into an emptyDir.",
    "secret": "Files made from the keys of a Secret.",
    "nfs": "A share exported by an NFS server, kept across pod restarts.",
    "iscsi": "An iSCSI disk that is attached to the node and mounted.",
    "glusterfs": "A GlusterFS volume. Deprecated; the in-tree plugin is no longer supported.",
    "persistentVolumeClaim": "The volume bound to a PersistentVolumeClaim in the pod's namespace.",
    "rbd": "A Ceph RADOS block device. Deprecated; the in-tree plugin is no longer supported.",
    "flexVolume": "A volume handled by an exec-based FlexVolume driver on the node. Deprecated in favour of CSI.",
    "cinder": "An OpenStack Cinder volume. Deprecated: served by the cinder.csi.openstack.org CSI driver.",
    "cephfs": "A CephFS filesystem. Deprecated; the in-tree plugin is no longer supported.",
    "flocker": "A Flocker dataset. Deprecated; the in-tree plugin is no longer supported.",
    "downwardAPI": "Files holding fields of the pod and resource values of its containers.",
    "fc": "A Fibre Channel disk that is attached to the node and mounted.",
    "azureFile": "An Azure File share. Deprecated: served by the file.csi.azure.com CSI driver.",
    "configMap": "Files made from the keys of a ConfigMap.",
    "vsphereVolume": "A vSphere VMDK disk. Deprecated: served by the csi.vsphere.vmware.com CSI driver.",
    "quobyte": "A Quobyte volume. Deprecated; the in-tree plugin is no longer supported.",
    "azureDisk": "An Azure data disk. Deprecated: served by the disk.csi.azure.com CSI driver.",
    "photonPersistentDisk": "A VMware Photon Controller disk. Deprecated; the in-tree plugin is no longer supported.",
    "projected": "Secrets, ConfigMaps, downward API data, tokens and trust bundles combined in one directory.",
    "portworxVolume": "A Portworx volume. Deprecated: with CSI migration it is served by the pxd.portworx.com driver.",
    "scaleIO": "A Dell EMC ScaleIO volume. Deprecated; the in-tree plugin is no longer supported.",
    "storageos": "A StorageOS volume. Deprecated; the in-tree plugin is no longer supported.",
    "csi": "A pod-scoped (inline ephemeral) volume from a CSI driver that supports that mode.",
    "ephemeral": "A PersistentVolumeClaim made from a template for this pod and deleted with it; works with any provisioner.",
    "image": "Contents of an OCI image or artifact, mounted read-only. Alpha (ImageVolume).",
}

_PROBE_ACTIONS = {
    "exec": "Run a command in the container; exit status 0 means success.",
    "httpGet": "Send an HTTP GET request; a status from 200 to 399 means success.",
    "tcpSocket": "Open a TCP connection; success if it connects.",
    "grpc": "Call the gRPC health checking service; SERVING means success.",
}

_RBD_FIELDS = {
    "monitors": "Addresses of the Ceph monitors.",
    "image": "Name of the RADOS image.",
    "fsType": _FS_TYPE,
    "pool": "RADOS pool holding the image; rbd if unset.",
    "user": "RADOS user name; admin if unset.",
    "keyring": "Path of the keyring file for the user; /etc/ceph/keyring if unset.",
    "readOnly": _READ_ONLY,
}

_SCALEIO_FIELDS = {
    "gateway": "Address of the ScaleIO API gateway.",
    "system": "Name of the storage system as configured in ScaleIO.",
    "sslEnabled": "Talk to the gateway over TLS. Default false.",
    "protectionDomain": "ScaleIO protection domain of the storage.",
    "storagePool": "ScaleIO storage pool within the protection domain.",
    "storageMode": "ThinProvisioned (default) or ThickProvisioned.",
    "volumeName": "Name of an existing volume in the ScaleIO system.",
    "fsType": "Filesystem type to mount, such as ext4 or xfs; xfs if unset.",
    "readOnly": _READ_ONLY,
}

_STORAGEOS_FIELDS = {
    "volumeName": "Name of the StorageOS volume, unique within its StorageOS namespace.",
    "volumeNamespace": "StorageOS namespace of the volume; the pod's namespace if unset, or default if that does not exist there.",
    "fsType": _FS_TYPE,
    "readOnly": _READ_ONLY,
}

_SECURITY_SHARED = {
    "seLinuxOptions": "SELinux context for the container; the runtime picks a random one if unset. Not for Windows.",
    "windowsOptions": "Windows settings (GMSA, user name, HostProcess). Not for Linux pods.",
    "runAsUser": "UID the container process runs as; the image's user if unset. Not for Windows.",
    "runAsGroup": "Primary GID of the container process; the runtime default if unset. Not for Windows.",
    "runAsNonRoot": "Require a non-root user: the kubelet refuses to start the container if it would run as UID 0.",
    "seccompProfile": "Seccomp profile of the container; overrides the pod's. Not for Windows.",
    "appArmorProfile": "AppArmor profile of the container; overrides the pod's. Not for Windows.",
}

DOCS: dict[str, tuple[str, dict[str, str]]] = {
    P + "PortStatus": (
        "Status of one port of a load balancer.",
        {
            "port": "The port number.",
            "protocol": "TCP, UDP or SCTP.",
            "error": "Why the port is broken, as a CamelCase or domain-prefixed reason; empty when it works.",
        },
    ),
    P + "PortworxVolumeSource": (
        "A Portworx volume. Deprecated in-tree plugin; CSI migration hands it to pxd.portworx.com.",
        {"volumeID": "ID of the Portworx volume.", "fsType": _FS_TYPE, "readOnly": _READ_ONLY},
    ),
    P + "Preconditions": (
        "Conditions that must still hold for an operation, such as a delete, to go ahead.",
        {"uid": "Act only if the object still has this UID."},
    ),
    P + "PreferAvoidPodsEntry": (
        "Entry of a node's preferAvoidPods annotation asking the scheduler to keep some controller's pods off it.",
        {
            "podSignature": "Which pods the node would rather not run.",
            "evictionTime": "When the entry was added.",
            "reason": "Short CamelCase reason for the entry.",
            "message": "Human-readable detail on the entry.",
        },
    ),
    P + "PreferredSchedulingTerm": (
        "A node selector term with a weight, for preferred node affinity.",
        {
            "weight": "Weight from 1 to 100 added to a node's score when it matches.",
            "preference": "The node selector term to match.",
        },
    ),
    P + "Probe": (
        "A periodic check of a container's health, run by the kubelet.",
        {
            **_PROBE_ACTIONS,
            "initialDelaySeconds": "Seconds after the container starts before the first probe. Default 0.",
            "timeoutSeconds": "Seconds before one probe attempt times out. Default 1, minimum 1.",
            "periodSeconds": "Seconds between probes. Default 10, minimum 1.",
            "successThreshold": "Successes in a row needed after a failure to pass again. Default 1; must be 1 for liveness and startup.",
            "failureThreshold": "Failures in a row after which the probe has failed. Default 3, minimum 1.",
            "terminationGracePeriodSeconds": "Grace period used when this probe's failure kills the container, instead of the pod's. Liveness and startup only.",
        },
    ),
    P + "ProbeHandler": (
        "The action a probe performs; exactly one field is set.",
        dict(_PROBE_ACTIONS),
    ),
    P + "ProjectedVolumeSource": (
        "Several sources of files projected into one directory.",
        {
            "sources": "The sources: secrets, configMaps, downward API, service account tokens and trust bundles.",
            "defaultMode": "Permission bits of the created files, 0 to 0777 (decimal 0 to 511 in JSON); 0644 if unset.",
        },
    ),
    P + "QuobyteVolumeSource": (
        "A Quobyte volume. Deprecated; the in-tree plugin is no longer supported.",
        {
            "registry": "Quobyte registry services as host:port pairs, comma-separated.",
            "volume": "Name of an existing Quobyte volume.",
            "readOnly": _READ_ONLY,
            "user": "User that volume access is mapped to; the service account user if unset.",
            "group": "Group that volume access is mapped to; none if unset.",
            "tenant": "Backend tenant owning the volume; used with dynamically provisioned volumes.",
        },
    ),
    P + "RBDPersistentVolumeSource": (
        "A Ceph RADOS block device for a PersistentVolume. Deprecated; the in-tree plugin is no longer supported.",
        {
            **_RBD_FIELDS,
            "secretRef": "Secret, in any namespace, with the user's key; takes precedence over keyring.",
        },
    ),
    P + "RBDVolumeSource": (
        "A Ceph RADOS block device. Deprecated; the in-tree plugin is no longer supported.",
        {
            **_RBD_FIELDS,
            "secretRef": "Secret in the pod's namespace with the user's key; takes precedence over keyring.",
        },
    ),
    P + "RangeAllocation": (
        "Internal record of which entries of a range (service IPs or node ports) are in use.",
        {
            "metadata": _OBJECT_META,
            "range": "The range covered: a CIDR for IPs, or a port range such as 30000-32767.",
            "data": "Bitmap of the allocated entries.",
        },
    ),
    P + "ReplicationController": (
        "Legacy controller that keeps a number of pod replicas running; ReplicaSets and Deployments replace it.",
        {
            "metadata": _OBJECT_META,
            "spec": "How many pods to run, which pods count and the template for new ones.",
            "status": "Observed replica counts. Read-only.",
        },
    ),
    P + "ReplicationControllerCondition": (
        "One observed condition of a replication controller.",
        {
            "type": "Condition type, such as ReplicaFailure.",
            "status": "Whether the condition holds: True, False or Unknown.",
            "lastTransitionTime": "When the condition last changed status.",
            "reason": "Short machine-readable CamelCase reason for the last transition.",
            "message": "Human-readable details about the last transition.",
        },
    ),
    P + "ReplicationControllerList": (
        "A list of ReplicationControllers.",
        {"metadata": _LIST_META, "items": "The ReplicationControllers in the list."},
    ),
    P + "ReplicationControllerSpec": (
        "Desired state of a replication controller.",
        {
            "replicas": "Number of pods wanted. Default 1.",
            "minReadySeconds": "Seconds a new pod must be ready, with no container crashing, to count as available. Default 0.",
            "selector": "Labels a pod must carry to be counted and managed; the template's labels if unset.",
            "template": "Pod template for creating missing replicas; its labels must match the selector.",
        },
    ),
    P + "ReplicationControllerStatus": (
        "Observed state of a replication controller. Read-only.",
        {
            "replicas": "Number of pods last seen.",
            "fullyLabeledReplicas": "Pods whose labels match the template's labels.",
            "readyReplicas": "Pods that are ready.",
            "availableReplicas": "Pods that have been ready for at least minReadySeconds.",
            "observedGeneration": "Generation of the spec the controller last acted on.",
            "conditions": "Latest observations, such as a ReplicaFailure.",
        },
    ),
    P + "ResourceClaim": (
        "A container's use of one of the pod's dynamic resource claims.",
        {
            "name": "Name of an entry in the pod's spec.resourceClaims whose resources the container gets.",
            "request": "One request within that claim; empty gives the container everything the claim allocated.",
        },
    ),
    P + "ResourceFieldSelector": (
        "Picks a resource request or limit of a container to expose through the downward API.",
        {
            "containerName": "Container to read from; required in volumes, the current container by default for env vars.",
            "resource": "Which value: limits.cpu, limits.memory, limits.ephemeral-storage, requests.cpu, requests.memory and so on.",
            "divisor": "Unit the value is divided by before output, such as 1m or 1Mi; 1 if unset.",
        },
    ),
    P + "ResourceHealth": (
        "Health of one device allocated to a pod.",
        {
            "resourceID": "ID of the device, unique on the node for the pod's lifetime (a device plugin ID, or driver/pool/device for DRA).",
            "health": "Healthy, Unhealthy or Unknown.",
        },
    ),
    P + "ResourceQuota": (
        "Limits on the total resource usage and object counts in a namespace.",
        {
            "metadata": _OBJECT_META,
            "spec": "The hard limits and which objects they apply to.",
            "status": "Enforced limits and current usage. Read-only.",
        },
    ),
    P + "ResourceQuotaList": (
        "A list of ResourceQuotas.",
        {"metadata": _LIST_META, "items": "The ResourceQuotas in the list."},
    ),
    P + "ResourceQuotaSpec": (
        "Desired limits of a resource quota.",
        {
            "hard": "Maximum total per resource name, such as requests.cpu, limits.memory, pods or count/deployments.apps.",
            "scopes": "Filters every tracked object must match, such as Terminating, NotTerminating, BestEffort, NotBestEffort or PriorityClass.",
            "scopeSelector": "Expression form of scopes that can also match values, such as given priority classes.",
        },
    ),
    P + "ResourceQuotaStatus": (
        "Enforced limits and observed usage of a resource quota. Read-only.",
        {
            "hard": "The hard limits being enforced.",
            "used": "Current total usage per resource name in the namespace.",
        },
    ),
    P + "ResourceRequirements": (
        "Compute resources a container requests and the limits it may not exceed.",
        {
            "limits": "Most of each resource the container may use; memory over the limit gets it killed, CPU is throttled.",
            "requests": "Amount of each resource reserved when scheduling; the limit if only a limit is set.",
            "claims": "Names of the pod's resource claims (spec.resourceClaims) the container uses. Gated (DynamicResourceAllocation).",
        },
    ),
    P + "ResourceStatus": (
        "Health of the devices behind one resource allocated to a pod.",
        {
            "name": "Resource name from the pod spec, or claim:<claim>/<request> for a DRA claim.",
            "resources": "Health of each device, one entry per resourceID.",
        },
    ),
    P + "SELinuxOptions": (
        "An SELinux context: user, role, type and level labels.",
        {
            "user": "SELinux user label.",
            "role": "SELinux role label.",
            "type": "SELinux type label.",
            "level": "SELinux level label, such as s0:c123,c456.",
        },
    ),
    P + "ScaleIOPersistentVolumeSource": (
        "A Dell EMC ScaleIO volume for a PersistentVolume. Deprecated; the in-tree plugin is no longer supported.",
        {**_SCALEIO_FIELDS, "secretRef": "Secret, in any namespace, with the ScaleIO user's credentials."},
    ),
    P + "ScaleIOVolumeSource": (
        "A Dell EMC ScaleIO volume. Deprecated; the in-tree plugin is no longer supported.",
        {
            **_SCALEIO_FIELDS,
            "secretRef": "Secret in the pod's namespace with the ScaleIO user's credentials.",
        },
    ),
    P + "ScopeSelector": (
        "Scope expressions of a resource quota.",
        {"matchExpressions": "Requirements on scopes; all of them must hold."},
    ),
    P + "ScopedResourceSelectorRequirement": (
        "One requirement on a quota scope, with an operator and values.",
        {
            "scopeName": "The scope, such as PriorityClass, BestEffort or Terminating.",
            "operator": "In, NotIn, Exists or DoesNotExist.",
            "values": "Values for In and NotIn, not empty; must be empty for Exists and DoesNotExist.",
        },
    ),
    P + "SeccompProfile": (
        "Which seccomp profile filters a container's system calls.",
        {
            "type": "Localhost (a profile file on the node), RuntimeDefault (the runtime's profile) or Unconfined (no filtering).",
            "localhostProfile": "Profile path relative to the kubelet's seccomp directory; required with Localhost, not allowed otherwise.",
        },
    ),
    P + "Secret": (
        "Holds a small amount of sensitive data, such as a password, a token or a key.",
        {
            "metadata": _OBJECT_META,
            "immutable": "If true, data can no longer change, only metadata; delete and recreate to change it. Default false.",
            "data": "Keys mapped to base64-encoded values; keys may hold letters, digits, '-', '_' and '.'.",
            "stringData": "Write-only: plain-text values merged into data on write, winning over it; never returned.",
            "type": "How the data is meant to be used, such as Opaque (default), kubernetes.io/tls or kubernetes.io/dockerconfigjson.",
        },
    ),
    P + "SecretEnvSource": (
        "Turns every key of a Secret into an environment variable.",
        {
            "name": "Name of the Secret in the pod's namespace.",
            "optional": "If true, a missing Secret is not an error.",
        },
    ),
    P + "SecretKeySelector": (
        "Picks one key of a Secret.",
        {
            "name": "Name of the Secret in the pod's namespace.",
            "key": "Key whose value to use.",
            "optional": "If true, a missing Secret or key is not an error.",
        },
    ),
    P + "SecretList": (
        "A list of Secrets.",
        {"metadata": _LIST_META, "items": "The Secrets in the list."},
    ),
    P + "SecretProjection": (
        "Files from a Secret's keys within a projected volume.",
        {
            "name": "Name of the Secret in the pod's namespace.",
            "items": "Keys to project and their file paths; unset projects every key as a file named after it.",
            "optional": "If true, a missing Secret or listed key is not an error.",
        },
    ),
    P + "SecretReference": (
        "Names a Secret, possibly in another namespace.",
        {
            "name": "Name of the Secret.",
            "namespace": "Namespace of the Secret.",
        },
    ),
    P + "SecretVolumeSource": (
        "A volume whose files are made from the keys of a Secret.",
        {
            "secretName": "Name of the Secret in the pod's namespace.",
            "items": "Keys to project and their file paths; unset projects every key as a file named after it.",
            "defaultMode": "Permission bits of the created files, 0 to 0777 (decimal 0 to 511 in JSON); 0644 if unset.",
            "optional": "If true, a missing Secret or listed key is not an error.",
        },
    ),
    P + "SecurityContext": (
        "Security settings of one container; they take precedence over the pod's securityContext.",
        {
            "capabilities": "Linux capabilities to add or drop; the runtime's default set otherwise. Not for Windows.",
            "privileged": "Run privileged, close to root on the host. Default false. Not for Windows.",
            **_SECURITY_SHARED,
            "readOnlyRootFilesystem": "Mount the container's root filesystem read-only. Default false. Not for Windows.",
            "allowPrivilegeEscalation": "Whether a process may gain more privileges than its parent (no_new_privs); always true when privileged or with CAP_SYS_ADMIN. Not for Windows.",
            "procMount": "Default (the runtime masks parts of /proc) or Unmasked. Gated (ProcMountType). Not for Windows.",
        },
    ),
    P + "SerializedReference": (
        "An object reference in an envelope, once used by the kubernetes.io/created-by annotation.",
        {"reference": "The referenced object."},
    ),
    P + "Service": (
        "A stable virtual IP and DNS name that load-balances to the pods its selector matches, or an external name.",
        {
            "metadata": _OBJECT_META,
            "spec": "How the service is exposed: type, ports, selector and traffic policies.",
            "status": "Observed state, such as load balancer ingress points. Read-only.",
        },
    ),
    P + "ServiceAccount": (
        "An identity for processes in pods, used to authenticate to the API server.",
        {
            "metadata": _OBJECT_META,
            "secrets": "Secrets that pods using the account may use; only enforced with the kubernetes.io/enforce-mountable-secrets annotation.",
            "imagePullSecrets": "Registry credential Secrets added to every pod that uses the account.",
            "automountServiceAccountToken": "Whether pods using the account get an API token mounted; a pod's own setting wins.",
        },
    ),
    P + "ServiceAccountList": (
        "A list of ServiceAccounts.",
        {"metadata": _LIST_META, "items": "The ServiceAccounts in the list."},
    ),
    P + "ServiceAccountTokenProjection": (
        "A service account token, written to a file of a projected volume and refreshed by the kubelet.",
        {
            "audience": "Audience the token is meant for; the API server's own identifier if unset.",
            "expirationSeconds": "Requested lifetime in seconds; default 3600, at least 600. Refreshed before it expires.",
            "path": "File path, relative to the volume, to write the token to.",
        },
    ),
    P + "ServiceList": (
        "A list of Services.",
        {"metadata": _LIST_META, "items": "The Services in the list."},
    ),
    P + "ServicePort": (
        "One port a service exposes and where it sends the traffic.",
        {
            "name": "Name of the port, unique within the service; required when there is more than one port.",
            "protocol": "TCP (default), UDP or SCTP.",
            "appProtocol": "Application protocol hint, such as http, kubernetes.io/h2c or a domain-prefixed name.",
            "port": "Port the service listens on.",
            "targetPort": "Port number or named container port on the pods to send traffic to; the same as port if unset.",
            "nodePort": "Port opened on every node for NodePort and LoadBalancer services; picked from the node port range (30000-32767 by default) if unset.",
        },
    ),
    P + "ServiceProxyOptions": (
        "Query options of the services/proxy subresource.",
        {"path": "Path to append to the service's address when proxying the request."},
    ),
    P + "ServiceSpec": (
        "Desired state of a service.",
        {
            "ports": "Ports the service exposes.",
            "selector": "Send traffic to pods with these labels; without it, endpoints are managed by hand. Ignored for ExternalName.",
            "clusterIP": "Virtual IP of the service; allocated if unset, None for a headless service. Only changes with a switch to or from ExternalName.",
            "clusterIPs": "Virtual IPs, at most one per family; the first equals clusterIP.",
            "type": "How the service is exposed: ClusterIP (default), NodePort, LoadBalancer or ExternalName.",
            "externalIPs": "Extra IPs, not managed by Kubernetes, on which nodes accept traffic for the service.",
            "sessionAffinity": "ClientIP keeps a client's connections on one pod; None (default) does not.",
            "loadBalancerIP": "IP to ask the load balancer for, if the provider supports it. Deprecated.",
            "loadBalancerSourceRanges": "Client CIDRs allowed through the load balancer, if the provider supports it.",
            "externalName": "DNS name an ExternalName service returns as a CNAME; a lowercase RFC 1123 hostname.",
            "externalTrafficPolicy": "For outside traffic: Cluster (default, any node forwards to any pod) or Local (node-local pods only; keeps the client IP).",
            "healthCheckNodePort": "Node port for load balancer health checks when externalTrafficPolicy is Local; allocated if unset.",
            "publishNotReadyAddresses": "List pods in endpoints and DNS even while not ready. Default false.",
            "sessionAffinityConfig": "Settings of session affinity, such as its timeout.",
            "ipFamilies": "IP families of the cluster IPs, IPv4 and/or IPv6, in order; chosen from ipFamilyPolicy if unset.",
            "ipFamilyPolicy": "SingleStack (default), PreferDualStack or RequireDualStack.",
            "allocateLoadBalancerNodePorts": "Whether a LoadBalancer service gets node ports. Default true.",
            "loadBalancerClass": "Load balancer implementation to use, as a domain-prefixed name; the cloud default if unset. Immutable.",
            "internalTrafficPolicy": "For traffic from inside the cluster: Cluster (default) or Local (pods on the same node only).",
            "trafficDistribution": "Routing hint; PreferClose favours topologically close endpoints, such as in the same zone.",
        },
    ),
    P + "ServiceStatus": (
        "Observed state of a service. Read-only.",
        {
            "loadBalancer": "Ingress points of the service's load balancer, if it has one.",
            "conditions": "Current conditions of the service.",
        },
    ),
    P + "SessionAffinityConfig": (
        "Settings of a service's session affinity.",
        {"clientIP": "Settings of ClientIP affinity, such as its timeout."},
    ),
    P + "SleepAction": (
        "A lifecycle hook that waits for a while.",
        {"seconds": "Seconds to sleep."},
    ),
    P + "StorageOSPersistentVolumeSource": (
        "A StorageOS volume for a PersistentVolume. Deprecated; the in-tree plugin is no longer supported.",
        {
            **_STORAGEOS_FIELDS,
            "secretRef": "Secret with StorageOS API credentials; built-in defaults are tried if unset.",
        },
    ),
    P + "StorageOSVolumeSource": (
        "A StorageOS volume. Deprecated; the in-tree plugin is no longer supported.",
        {
            **_STORAGEOS_FIELDS,
            "secretRef": "Secret in the pod's namespace with StorageOS API credentials; defaults are tried if unset.",
        },
    ),
    P + "Sysctl": (
        "One kernel parameter to set for a pod.",
        {"name": "Name of the parameter, such as net.ipv4.ip_local_port_range.", "value": "Value to set."},
    ),
    P + "TCPSocketAction": (
        "A check or hook action that opens a TCP connection.",
        {
            "port": "Port number or named container port to connect to.",
            "host": "Host to connect to; the pod's IP if unset.",
        },
    ),
    P + "Taint": (
        "A mark on a node that repels pods which do not tolerate it.",
        {
            "key": "Key of the taint.",
            "value": "Value of the taint.",
            "effect": "NoSchedule, PreferNoSchedule or NoExecute (also evicts running pods).",
            "timeAdded": "When a NoExecute taint was added; set by the system.",
        },
    ),
    P + "Toleration": (
        "Lets a pod go onto, or stay on, nodes with a matching taint.",
        {
            "key": "Taint key to match; empty with operator Exists matches every taint.",
            "operator": "Equal (default; the value must match) or Exists (any value).",
            "value": "Taint value to match with Equal; leave empty with Exists.",
            "effect": "Taint effect to match: NoSchedule, PreferNoSchedule or NoExecute; empty matches all.",
            "tolerationSeconds": "With NoExecute, how long the pod stays after the taint appears; unset means forever, 0 or less evicts at once.",
        },
    ),
    P + "TopologySelectorLabelRequirement": (
        "A node label key and the values it may have, for topology selection.",
        {"key": "Node label key to match.", "values": "Values the label must have one of."},
    ),
    P + "TopologySelectorTerm": (
        "A topology domain given by label requirements, such as a StorageClass's allowed topologies.",
        {"matchLabelExpressions": "Label requirements; all must hold."},
    ),
    P + "TopologySpreadConstraint": (
        "How evenly matching pods must be spread across topology domains.",
        {
            "maxSkew": "Greatest allowed gap between a domain's count of matching pods and the smallest count. At least 1.",
            "topologyKey": "Node label key defining the domains; nodes with the same value form one domain.",
            "whenUnsatisfiable": "DoNotSchedule (a hard rule) or ScheduleAnyway (only prefer domains that lower the skew).",
            "labelSelector": "Selects the pods counted in each domain.",
            "minDomains": "Least number of eligible domains; with fewer, the smallest count is taken as 0. DoNotSchedule only.",
            "nodeAffinityPolicy": "Honor (default) counts only nodes matching the pod's node affinity and selector; Ignore counts all.",
            "nodeTaintsPolicy": "Honor counts only nodes whose taints the pod tolerates; Ignore (default) counts all.",
            "matchLabelKeys": "Label keys whose values on the incoming pod are ANDed into labelSelector, such as pod-template-hash.",
        },
    ),
    P + "TypedLocalObjectReference": (
        "Points at an object of any kind in the same namespace.",
        {
            "apiGroup": "API group of the kind; empty for the core group.",
            "name": "Name of the object.",
        },
    ),
    P + "TypedObjectReference": (
        "Points at an object of any kind, optionally in another namespace.",
        {
            "apiGroup": "API group of the kind; empty for the core group.",
            "name": "Name of the object.",
            "namespace": "Namespace of the object; another namespace needs a ReferenceGrant there and a feature gate.",
        },
    ),
    P + "Volume": (
        "A named volume of a pod that its containers can mount; exactly one source is set.",
        {
            "name": "Name of the volume, a DNS label unique within the pod; mounts refer to it.",
            **_VOLUME_SOURCES,
        },
    ),
    P + "VolumeDevice": (
        "A raw block volume exposed to a container as a device.",
        {
            "name": "Name of a pod volume backed by a block-mode PersistentVolumeClaim.",
            "devicePath": "Path in the container where the device appears.",
        },
    ),
    P + "VolumeMount": (
        "Mounts one of the pod's volumes into a container.",
        {
            "name": "Name of the pod volume.",
            "readOnly": _READ_ONLY,
            "recursiveReadOnly": "With readOnly, whether submounts are read-only too: Disabled (default), IfPossible or Enabled (fail if unsupported).",
            "mountPath": "Path in the container to mount at; must not contain ':'.",
            "subPath": "Path within the volume to mount instead of its root.",
            "mountPropagation": "How mounts propagate: None (default), HostToContainer or Bidirectional (privileged containers only).",
            "subPathExpr": "Like subPath, but $(VAR) references are expanded from the container's environment; not with subPath.",
        },
    ),
    P + "VolumeMountStatus": (
        "How a volume is actually mounted in a container. Read-only.",
        {
            "name": "Name of the volume, matching a volume mount.",
            "mountPath": "Path in the container where it is mounted.",
            "readOnly": "Whether the mount is read-only.",
            "recursiveReadOnly": "Whether submounts are read-only too: Disabled or Enabled.",
        },
    ),
    P + "VolumeNodeAffinity": (
        "The nodes a PersistentVolume can be reached from.",
        {"required": "Node selector a node must match to use the volume."},
    ),
    P + "VolumeProjection": (
        "One source of a projected volume; exactly one field is set.",
        {
            "secret": "Files from the keys of a Secret.",
            "downwardAPI": "Files holding pod fields and container resource values.",
            "configMap": "Files from the keys of a ConfigMap.",
            "serviceAccountToken": "A service account token in a file, refreshed before it expires.",
            "clusterTrustBundle": "Certificates from ClusterTrustBundle objects in one file. Alpha.",
        },
    ),
    P + "VolumeResourceRequirements": (
        "Storage resources a claim asks for.",
        {
            "limits": "Most of each resource the volume may have.",
            "requests": "Least of each resource the volume needs, such as storage: 10Gi.",
        },
    ),
    P + "VolumeSource": (
        "Where a volume's data comes from; exactly one field is set.",
        dict(_VOLUME_SOURCES),
    ),
    P + "VsphereVirtualDiskVolumeSource": (
        "A vSphere VMDK disk. Deprecated: served by the csi.vsphere.vmware.com CSI driver.",
        {
            "volumePath": "Path identifying the vSphere disk.",
            "fsType": _FS_TYPE,
            "storagePolicyName": "Name of the vSphere storage policy (SPBM) for the disk.",
            "storagePolicyID": "ID of that storage policy.",
        },
    ),
    P + "WeightedPodAffinityTerm": (
        "A pod affinity term with a weight, for preferred pod (anti-)affinity.",
        {
            "weight": "Weight from 1 to 100 added to a node's score when the term matches.",
            "podAffinityTerm": "The pod affinity term to match.",
        },
    ),
    P + "WindowsSecurityContextOptions": (
        "Security settings that apply only to Windows containers.",
        {
            "gmsaCredentialSpecName": "Name of the GMSACredentialSpec object to use.",
            "gmsaCredentialSpec": "Contents of the GMSA credential spec, filled in by the GMSA admission webhook.",
            "runAsUserName": "Windows user to run the entrypoint as; the image's user if unset.",
            "hostProcess": "Run as a HostProcess container with host access; needs hostNetwork, and all containers must agree.",
        },
    ),
}
