"""Descriptions of storage/v1 types and their fields, for OpenAPI and `kubectl explain`."""

from __future__ import annotations

P = "io.k8s.api.storage.v1."

_META = "Standard object metadata: name, labels, annotations and so on."

DOCS: dict[str, tuple[str, dict[str, str]]] = {
    P + "StorageClass": (
        "A StorageClass describes a kind of storage; claims that name it get volumes from its provisioner.",
        {
            "metadata": _META,
            "provisioner": "The volume plugin or CSI driver that creates volumes of this class, such as ebs.csi.aws.com. Immutable.",
            "parameters": "Settings passed to the provisioner, such as a disk type. Immutable.",
            "reclaimPolicy": "What happens to volumes created for this class when their claim is deleted: Delete or Retain. Default Delete. Immutable.",
            "mountOptions": "Mount options given to volumes of this class, such as ro or soft. Not checked; a wrong one fails the mount.",
            "allowVolumeExpansion": "Whether claims of this class may be resized by raising their storage request.",
            "volumeBindingMode": "When volumes are provisioned and bound: Immediate or WaitForFirstConsumer (once a pod uses the claim). Default Immediate. Immutable.",
            "allowedTopologies": "Where volumes may be provisioned, as topology terms. Empty means anywhere.",
        },
    ),
    P + "CSIDriver": (
        "A CSIDriver tells Kubernetes how to work with a CSI volume driver installed in the cluster.",
        {
            "metadata": _META + " The name is the driver's name.",
            "spec": "How the driver is attached, mounted and given pod information.",
        },
    ),
    P + "CSIDriverSpec": (
        "How Kubernetes works with a CSI driver.",
        {
            "attachRequired": "Whether volumes need an attach step (and a VolumeAttachment) before mounting. Default true. Immutable.",
            "podInfoOnMount": "Whether the driver gets the pod's name, namespace, uid and service account when mounting. Default false.",
            "volumeLifecycleModes": "The kinds of volume the driver supports: Persistent, Ephemeral (inline in pods) or both. Default Persistent.",
            "storageCapacity": "Whether the scheduler should check CSIStorageCapacity objects the driver publishes. Default false.",
            "fsGroupPolicy": "Whether the pod's fsGroup changes volume ownership: ReadWriteOnceWithFSType, File or None. Default ReadWriteOnceWithFSType.",
            "tokenRequests": "Service account tokens to pass to the driver when mounting, one per audience.",
            "requiresRepublish": "Whether the driver's publish call is repeated periodically, for example to refresh tokens. Default false.",
            "seLinuxMount": "Whether the driver can mount volumes with an SELinux context option. Default false.",
        },
    ),
    P + "TokenRequest": (
        "A service account token a CSI driver wants when it mounts a volume.",
        {
            "audience": "The audience of the token.",
            "expirationSeconds": "How long the token is valid, in seconds. Default: the same as for TokenRequests.",
        },
    ),
    P + "CSINode": (
        "A CSINode lists the CSI drivers installed on a node; the node agent creates it, named after the node.",
        {
            "metadata": _META + " The name is the node's name.",
            "spec": "The drivers installed on the node.",
        },
    ),
    P + "CSINodeSpec": (
        "The CSI drivers on a node.",
        {
            "drivers": "One entry per CSI driver installed on the node.",
        },
    ),
    P + "CSINodeDriver": (
        "One CSI driver on a node.",
        {
            "name": "The driver's name, as in its CSIDriver object.",
            "nodeID": "The id the driver gives this node.",
            "topologyKeys": "Node label keys the driver uses for topology, such as topology.kubernetes.io/zone.",
            "allocatable": "How many volumes of this driver the node can take.",
        },
    ),
    P + "VolumeNodeResources": (
        "Volume limits of a CSI driver on one node.",
        {
            "count": "The most volumes of this driver the node can have at once. Unset means no limit.",
        },
    ),
    P + "CSIStorageCapacity": (
        "A CSIStorageCapacity reports how much storage of a class is free in part of the cluster, for the scheduler.",
        {
            "metadata": "Standard object metadata: name, namespace, labels, annotations and so on.",
            "nodeTopology": "The nodes the capacity is reachable from. Unset means none. Immutable.",
            "storageClassName": "The StorageClass the capacity is for. Immutable.",
            "capacity": "The free capacity. Unset means unknown.",
            "maximumVolumeSize": "The largest volume that could be created now; unset means capacity is the limit.",
        },
    ),
    P + "VolumeAttachment": (
        "A VolumeAttachment asks for a volume to be attached to a node, and reports whether it is.",
        {
            "metadata": _META,
            "spec": "Which volume to attach, by which attacher, to which node. Immutable.",
            "status": "Whether the volume is attached, and any errors. Written by the attacher.",
        },
    ),
    P + "VolumeAttachmentSpec": (
        "What should be attached, and where.",
        {
            "attacher": "The name of the volume driver that attaches, as its CSIDriver name.",
            "source": "The volume to attach.",
            "nodeName": "The node to attach the volume to.",
        },
    ),
    P + "VolumeAttachmentSource": (
        "The volume of a VolumeAttachment. Exactly one field is set.",
        {
            "persistentVolumeName": "The name of the PersistentVolume to attach.",
            "inlineVolumeSpec": "A volume defined inline in a pod, migrated to CSI, in PersistentVolume form.",
        },
    ),
    P + "VolumeAttachmentStatus": (
        "The state of an attach or detach.",
        {
            "attached": "Whether the volume is attached to the node.",
            "attachmentMetadata": "Information the attacher returned, passed on to the mount step.",
            "attachError": "The last error while attaching, if any.",
            "detachError": "The last error while detaching, if any.",
        },
    ),
    P + "VolumeError": (
        "An error during an attach or detach.",
        {
            "time": "When the error happened.",
            "message": "What went wrong. May be shown to users.",
        },
    ),
}
