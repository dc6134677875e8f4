"""Descriptions of meta/v1 types (object and list metadata, options, discovery, Status) and their
fields, for OpenAPI and `kubectl explain`."""

from __future__ import annotations

P = "io.k8s.apimachinery.pkg.apis.meta.v1."

_DRY_RUN = "When set to [All], the request is checked and answered but nothing is stored."
_FIELD_MANAGER = "The name recorded in managedFields as the owner of the fields this request sets."
_FIELD_VALIDATION = (
    "What to do with unknown or duplicate fields: Ignore, Warn (the default, as warnings) or Strict (reject)."
)
_SELF_LINK = "Deprecated and never set by this server."
_DISCOVERY_CIDRS = (
    "Addresses clients should use to reach the server, chosen by the client's network. May be empty."
)

DOCS: dict[str, tuple[str, dict[str, str]]] = {
    P + "ObjectMeta": (
        "Metadata every stored object has: its name, namespace, labels, annotations, owners and bookkeeping.",
        {
            "name": "The object's name, unique among objects of its kind in its namespace. Cannot be changed.",
            "generateName": "A prefix from which the server makes a unique name, by adding random characters, when name is empty.",
            "namespace": "The namespace the object lives in; empty for cluster-scoped objects. Default: the request's namespace.",
            "selfLink": _SELF_LINK,
            "uid": "A unique id the server gives the object at creation; it tells apart objects that reuse a name. Read-only.",
            "resourceVersion": "An opaque version the server changes on every write; send it back to update only if nobody else has. Read-only.",
            "generation": "A number the server increases whenever the desired state (usually spec) changes. Read-only.",
            "creationTimestamp": "When the object was created. Read-only.",
            "deletionTimestamp": "When deletion was requested; the object goes away once its finalizers are gone. Read-only.",
            "deletionGracePeriodSeconds": "Seconds the object was given to shut down gracefully when deletion was requested. Read-only.",
            "labels": "Key/value pairs used to organise and select objects, for example by Services and Deployments.",
            "annotations": "Key/value pairs for arbitrary non-identifying data that tools and people attach to the object.",
            "ownerReferences": "The objects this one depends on; when every owner is deleted, the garbage collector removes it too.",
            "finalizers": "Names of cleanups that must finish before the object is removed; each is taken off by whoever does it.",
            "managedFields": "Which manager set which fields, and how (Apply or Update). Kept by the server for server-side apply.",
        },
    ),
    P + "ListMeta": (
        "Metadata of a list response.",
        {
            "selfLink": _SELF_LINK,
            "resourceVersion": "The version of the data the list was read at; start a watch from here to see later changes.",
            "continue": "A token for the next page when the list was limited; empty on the last page.",
            "remainingItemCount": "An estimate of how many items follow this page, when the server can tell.",
        },
    ),
    P + "OwnerReference": (
        "A reference to an object that owns this one.",
        {
            "apiVersion": "The API version of the owner, such as apps/v1.",
            "kind": "The kind of the owner, such as ReplicaSet.",
            "name": "The name of the owner, in the same namespace as this object (or cluster-scoped).",
            "uid": "The uid of the owner; the reference only counts while an object with this uid exists.",
            "controller": "True when the owner is the controller that manages this object. At most one owner may say so.",
            "blockOwnerDeletion": "When true, a foreground deletion of the owner waits until this object is gone.",
        },
    ),
    P + "ManagedFieldsEntry": (
        "One manager's set of owned fields, as recorded for server-side apply.",
        {
            "manager": "The name of the manager (the fieldManager of its requests, or the client's name).",
            "operation": "How the fields were set: Apply (server-side apply) or Update (any other write).",
            "apiVersion": "The API version the field set is expressed in.",
            "time": "When the manager last changed one of these fields.",
            "fieldsType": "The encoding of the field set; always FieldsV1.",
            "fieldsV1": "The set of fields this manager owns.",
            "subresource": "The subresource the writes went through, such as status; empty for the main resource.",
        },
    ),
    P + "LabelSelector": (
        "A query over labels. All of its requirements must hold; an empty selector matches every object.",
        {
            "matchLabels": "Labels that must be present with exactly these values.",
            "matchExpressions": "More general requirements, such as a label being in or not in a set of values.",
        },
    ),
    P + "LabelSelectorRequirement": (
        "One requirement of a label selector: a key, an operator and values.",
        {
            "key": "The label key the requirement is about.",
            "operator": "How the label is compared: In, NotIn, Exists or DoesNotExist.",
            "values": "The values to compare with; required for In and NotIn, empty for Exists and DoesNotExist.",
        },
    ),
    P + "FieldSelectorRequirement": (
        "One requirement of a field selector: a field path, an operator and values.",
        {
            "key": "The field path the requirement is about, such as spec.nodeName.",
            "operator": "How the field is compared: In, NotIn, Exists or DoesNotExist.",
            "values": "The values to compare with; required for In and NotIn, empty for Exists and DoesNotExist.",
        },
    ),
    P + "Condition": (
        "One aspect of an object's current state, in the common condition shape.",
        {
            "type": "The condition's type, in CamelCase, such as Ready or Available.",
            "status": "Whether the condition holds: True, False or Unknown.",
            "observedGeneration": "The object's metadata.generation the condition was computed from.",
            "lastTransitionTime": "When the condition last changed from one status to another.",
            "reason": "A short CamelCase word saying why the condition last changed.",
            "message": "A human-readable explanation of the last change; may be empty.",
        },
    ),
    P + "Status": (
        "The outcome of a request that returns no object, most often an error.",
        {
            "metadata": "Standard list metadata; usually empty.",
            "status": "Success or Failure.",
            "message": "A human-readable description of the outcome.",
            "reason": "A machine-readable CamelCase reason, such as NotFound, AlreadyExists, Conflict or Invalid.",
            "details": "More about the object concerned and, for invalid requests, each failing field.",
            "code": "The HTTP status code of the response, such as 404 or 422.",
        },
    ),
    P + "StatusDetails": (
        "Details of a Status: which object it concerns and why the request failed.",
        {
            "name": "The name of the object concerned, when there is one.",
            "group": "The API group of the object concerned.",
            "kind": "The kind (or, for some errors, the resource) of the object concerned.",
            "uid": "The uid of the object concerned, when known.",
            "causes": "Individual problems, such as each invalid field of a rejected object.",
            "retryAfterSeconds": "How many seconds the client should wait before trying again, when that helps.",
        },
    ),
    P + "StatusCause": (
        "One problem behind a failed request, often tied to a field.",
        {
            "reason": "A machine-readable reason, such as FieldValueRequired or FieldValueInvalid.",
            "message": "A human-readable description of the problem.",
            "field": "The path of the field at fault, such as spec.containers[0].image, when there is one.",
        },
    ),
    P + "Preconditions": (
        "Conditions the object must meet for a delete to go ahead.",
        {
            "uid": "Delete only if the object still has this uid.",
            "resourceVersion": "Delete only if the object is still at this resourceVersion.",
        },
    ),
    P + "DeleteOptions": (
        "Options that may accompany a delete request.",
        {
            "gracePeriodSeconds": "Seconds the object gets to shut down before it is removed; 0 means now. Default: the object's own.",
            "preconditions": "Conditions (uid, resourceVersion) that must still hold, or the delete is refused with a Conflict.",
            "orphanDependents": "Deprecated: use propagationPolicy. When true, dependents are orphaned instead of deleted.",
            "propagationPolicy": "What happens to dependents: Orphan, Background (deleted afterwards) or Foreground (deleted first).",
            "dryRun": _DRY_RUN,
            "ignoreStoreReadErrorWithClusterBreakingPotential": "Deletes an object that can no longer be read from storage. Unsafe; needs special permission.",
        },
    ),
    P + "CreateOptions": (
        "Options of a create request.",
        {"dryRun": _DRY_RUN, "fieldManager": _FIELD_MANAGER, "fieldValidation": _FIELD_VALIDATION},
    ),
    P + "UpdateOptions": (
        "Options of an update (PUT) request.",
        {"dryRun": _DRY_RUN, "fieldManager": _FIELD_MANAGER, "fieldValidation": _FIELD_VALIDATION},
    ),
    P + "PatchOptions": (
        "Options of a patch request.",
        {
            "dryRun": _DRY_RUN,
            "force": "For server-side apply: take over fields other managers own instead of failing with a conflict.",
            "fieldManager": _FIELD_MANAGER + " Required for server-side apply.",
            "fieldValidation": _FIELD_VALIDATION,
        },
    ),
    P + "ApplyOptions": (
        "Options of a server-side apply request.",
        {
            "dryRun": _DRY_RUN,
            "force": "Take over fields other managers own instead of failing with a conflict.",
            "fieldManager": _FIELD_MANAGER + " Required.",
        },
    ),
    P + "GetOptions": (
        "Options of a get request.",
        {
            "resourceVersion": "Which version to read: unset for the latest, 0 for any cached version.",
        },
    ),
    P + "ListOptions": (
        "Options of a list or watch request.",
        {
            "labelSelector": "Return only objects whose labels match, such as app=web,tier!=db.",
            "fieldSelector": "Return only objects whose fields match, such as metadata.name=x or status.phase=Running.",
            "watch": "Stream changes (ADDED, MODIFIED, DELETED) instead of returning a list.",
            "allowWatchBookmarks": "Let a watch send BOOKMARK events that only carry a newer resourceVersion.",
            "resourceVersion": "Where to read or start watching from; see resourceVersionMatch. Unset means the latest.",
            "resourceVersionMatch": "How resourceVersion is taken for a list: NotOlderThan or Exact.",
            "timeoutSeconds": "End a list or watch after this many seconds.",
            "limit": "The most items to return at once; the rest are fetched with the continue token.",
            "continue": "The token from a previous page's metadata.continue, to fetch the next page.",
            "sendInitialEvents": "For a watch: start with an ADDED event for every existing object, then a bookmark.",
        },
    ),
    P + "TableOptions": (
        "Options of a request for objects as a table (the form kubectl get prints).",
        {
            "includeObject": "What each row carries besides its cells: None, Metadata (the default) or Object.",
        },
    ),
    P + "WatchEvent": (
        "One event of a watch stream.",
        {
            "type": "What happened: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.",
            "object": "The object after the change; for ERROR, a Status; for BOOKMARK, only its resourceVersion.",
        },
    ),
    P + "PartialObjectMetadata": (
        "An object with only its type and metadata, returned when a client asks for metadata alone.",
        {
            "metadata": "Standard object metadata: name, namespace, labels, annotations and so on.",
        },
    ),
    P + "List": (
        "A list of objects of any kinds.",
        {
            "items": "The objects, each a complete object with its own apiVersion and kind.",
            "metadata": "Standard list metadata: the list's resourceVersion and, for a paged list, the continue token.",
        },
    ),
    P + "TypeMeta": (
        "The apiVersion and kind that say what type a serialised object is.",
        {},
    ),
    P + "Patch": (
        "The body of a PATCH request; its form (JSON patch, merge patch, strategic merge or apply) is given by the Content-Type.",
        {},
    ),
    P + "RootPaths": (
        "The paths the server serves, as returned for GET /.",
        {
            "paths": "The served paths, such as /api, /apis/apps/v1 and /healthz.",
        },
    ),
    P + "APIVersions": (
        "The versions of the core API (served under /api).",
        {
            "versions": "The core API versions served, such as v1.",
            "serverAddressByClientCIDRs": _DISCOVERY_CIDRS,
        },
    ),
    P + "APIGroupList": (
        "The API groups the server serves, as returned by /apis.",
        {
            "groups": "The served groups with their versions.",
        },
    ),
    P + "APIGroup": (
        "An API group and the versions of it the server serves.",
        {
            "name": "The group's name, such as apps.",
            "versions": "The served versions of the group.",
            "preferredVersion": "The version clients should use when they have no preference.",
            "serverAddressByClientCIDRs": _DISCOVERY_CIDRS,
        },
    ),
    P + "GroupVersionForDiscovery": (
        "One served version of an API group.",
        {
            "groupVersion": "The group and version joined as group/version, such as apps/v1.",
            "version": "The version alone, such as v1.",
        },
    ),
    P + "ServerAddressByClientCIDR": (
        "Which server address clients in a network should use.",
        {
            "clientCIDR": "The client network, as a CIDR such as 10.0.0.0/8.",
            "serverAddress": "The address (host or IP, with an optional port) clients in that network should use.",
        },
    ),
    P + "APIResourceList": (
        "The resources served in one group-version, as returned by discovery.",
        {
            "groupVersion": "The group-version the resources belong to, such as apps/v1.",
            "resources": "The served resources and subresources.",
        },
    ),
    P + "APIResource": (
        "One resource (or subresource) served by a group-version.",
        {
            "name": "The plural resource name, such as deployments, or resource/subresource such as deployments/scale.",
            "singularName": "The singular name, such as deployment; kubectl accepts it too.",
            "namespaced": "Whether objects of this resource live in namespaces.",
            "group": "The group of the resource, when it differs from the group-version served (for subresources).",
            "version": "The version of the resource, when it differs from the group-version served (for subresources).",
            "kind": "The kind of the objects of this resource, such as Deployment.",
            "verbs": "The operations supported: get, list, watch, create, update, patch, delete, deletecollection.",
            "shortNames": "Short aliases kubectl accepts, such as deploy.",
            "categories": "Groups of resources this one belongs to, such as all, used by kubectl get all.",
            "storageVersionHash": "A hash of the version objects are stored in; it changes when the storage version does.",
        },
    ),
    P + "GroupKind": (
        "An API group and a kind, without a version.",
        {
            "group": "The API group; empty for the core group.",
            "kind": "The kind, such as Deployment.",
        },
    ),
    P + "GroupResource": (
        "An API group and a resource, without a version.",
        {
            "group": "The API group; empty for the core group.",
            "resource": "The plural resource name, such as deployments.",
        },
    ),
    P + "GroupVersion": (
        "An API group and a version.",
        {
            "group": "The API group; empty for the core group.",
            "version": "The version, such as v1.",
        },
    ),
    P + "GroupVersionKind": (
        "An API group, version and kind: what type an object is.",
        {
            "group": "The API group; empty for the core group.",
            "version": "The version, such as v1.",
            "kind": "The kind, such as Deployment.",
        },
    ),
    P + "GroupVersionResource": (
        "An API group, version and resource: where objects are served.",
        {
            "group": "The API group; empty for the core group.",
            "version": "The version, such as v1.",
            "resource": "The plural resource name, such as deployments.",
        },
    ),
}
