"""Descriptions of apiextensions/v1 types (CustomResourceDefinition and its schema language) and
their fields, for OpenAPI and `kubectl explain`."""

from __future__ import annotations

P = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1."

_SCHEMAS = "Schemas that each value must match "
_CONDITION = {
    "type": "The condition's type, such as Established, NamesAccepted, NonStructuralSchema or Terminating.",
    "status": "Whether the condition holds: True, False or Unknown.",
    "lastTransitionTime": "When the condition last changed from one status to another.",
    "reason": "A short CamelCase word saying why the condition last changed.",
    "message": "A human-readable explanation of the last change.",
}

DOCS: dict[str, tuple[str, dict[str, str]]] = {
    P + "CustomResourceDefinition": (
        "A CustomResourceDefinition adds a new resource type to the API; its name is <plural>.<group>.",
        {
            "metadata": "Standard object metadata; the name must be <spec.names.plural>.<spec.group>.",
            "spec": "The new resource's group, names, scope and versions with their schemas.",
            "status": "Whether the definition is established, the names accepted and the versions ever stored. Read-only.",
        },
    ),
    P + "CustomResourceDefinitionSpec": (
        "What a CustomResourceDefinition defines.",
        {
            "group": "The API group of the new resource, such as stable.example.com; it is served under /apis/<group>.",
            "names": "The resource's plural, singular, kind and other names.",
            "scope": "Whether objects live in namespaces (Namespaced) or not (Cluster).",
            "versions": "The versions served; exactly one is the storage version.",
            "conversion": "How objects are converted between versions. Default: None (only apiVersion changes).",
            "preserveUnknownFields": "Deprecated; must be false. Use x-kubernetes-preserve-unknown-fields in a schema instead.",
        },
    ),
    P + "CustomResourceDefinitionNames": (
        "The names a custom resource is known by.",
        {
            "plural": "The plural resource name used in URLs, such as crontabs; lower case.",
            "singular": "The singular name, such as crontab. Default: the kind in lower case.",
            "shortNames": "Short aliases for kubectl, such as ct.",
            "kind": "The kind of the objects, in CamelCase, such as CronTab.",
            "listKind": "The kind of lists of the objects. Default: the kind followed by List.",
            "categories": "Groups of resources this one belongs to, such as all, used by kubectl get <category>.",
        },
    ),
    P + "CustomResourceDefinitionVersion": (
        "One version of a custom resource.",
        {
            "name": "The version's name, such as v1 or v1beta2; it appears in URLs as /apis/<group>/<name>.",
            "served": "Whether this version is served by the REST API.",
            "storage": "Whether objects are stored in this version; exactly one version must be.",
            "schema": "The OpenAPI v3 schema that objects of this version are checked and pruned against.",
            "subresources": "The status and scale subresources this version has.",
            "additionalPrinterColumns": "Extra columns kubectl get prints. Default: only the age.",
            "deprecated": "Whether this version is deprecated; requests to it get a warning. Default false.",
            "deprecationWarning": "The warning sent to clients using a deprecated version. Default: a generic one.",
            "selectableFields": "Paths of fields that list and watch may filter on with field selectors; up to 8.",
        },
    ),
    P + "CustomResourceValidation": (
        "The schema of a custom resource version.",
        {
            "openAPIV3Schema": "The OpenAPI v3 schema objects are checked against; fields it does not allow are pruned.",
        },
    ),
    P + "CustomResourceSubresources": (
        "The subresources a custom resource version has.",
        {
            "status": "When present, the status stanza is only written through the /status subresource.",
            "scale": "When present, a /scale subresource maps replicas to the given fields, for kubectl scale and autoscalers.",
        },
    ),
    P + "CustomResourceSubresourceStatus": (
        "Turns on the status subresource: the main endpoint ignores status changes and /status ignores the rest. No fields.",
        {},
    ),
    P + "CustomResourceSubresourceScale": (
        "Where the scale subresource finds replicas and the pod selector in custom objects.",
        {
            "specReplicasPath": "The path of the desired replicas in the object, such as .spec.replicas.",
            "statusReplicasPath": "The path of the observed replicas in the object, such as .status.replicas.",
            "labelSelectorPath": "The path of a string label selector in the object, such as .status.selector; needed by autoscalers.",
        },
    ),
    P + "CustomResourceColumnDefinition": (
        "An extra column kubectl get prints for a custom resource.",
        {
            "name": "The column's heading.",
            "type": "The value's type: integer, number, string, boolean or date.",
            "format": "An optional format of the value, such as int32 or byte.",
            "description": "What the column shows.",
            "priority": "0 shows the column always; higher numbers only with -o wide.",
            "jsonPath": "A simple JSONPath, such as .spec.replicas, taken from each object for the column's value.",
        },
    ),
    P + "CustomResourceConversion": (
        "How custom objects are converted between versions.",
        {
            "strategy": "None (only apiVersion changes) or Webhook (a webhook converts). Default None.",
            "webhook": "The conversion webhook; required when strategy is Webhook.",
        },
    ),
    P + "WebhookConversion": (
        "A webhook that converts custom objects between versions.",
        {
            "clientConfig": "How to reach the webhook: a Service in the cluster or a URL.",
            "conversionReviewVersions": "ConversionReview versions the webhook understands, in order of preference, such as [v1].",
        },
    ),
    P + "WebhookClientConfig": (
        "How the server reaches a conversion webhook, over TLS. Set url or service.",
        {
            "service": "A Service in the cluster that serves the webhook.",
            "caBundle": "PEM-encoded CA certificates that sign the webhook's serving certificate. Default: the server's trusted roots.",
            "url": "The webhook's address, as https://host[:port]/path; no query or fragment.",
        },
    ),
    P + "ServiceReference": (
        "A Service that serves a conversion webhook.",
        {
            "namespace": "The Service's namespace.",
            "name": "The Service's name.",
            "path": "The URL path the request is sent to.",
            "port": "The Service port to call, 1 to 65535. Default 443.",
        },
    ),
    P + "SelectableField": (
        "A field of a custom resource that field selectors may filter on.",
        {
            "jsonPath": "A simple JSONPath, such as .spec.color, to a string, integer or boolean field.",
        },
    ),
    P + "CustomResourceDefinitionStatus": (
        "The observed state of a CustomResourceDefinition.",
        {
            "conditions": "The latest observations, such as Established and NamesAccepted.",
            "acceptedNames": "The names actually served; they differ from spec.names when some clash with other resources.",
            "storedVersions": "Every version objects have ever been stored in; a version can only be dropped once migrated off.",
        },
    ),
    P + "CustomResourceDefinitionCondition": (
        "One aspect of a CustomResourceDefinition's state at a point in time.",
        dict(_CONDITION),
    ),
    P + "ExternalDocumentation": (
        "A link to documentation outside the schema.",
        {
            "description": "What the linked documentation covers.",
            "url": "The address of the documentation.",
        },
    ),
    P + "ValidationRule": (
        "A CEL rule that values at a point of a custom resource schema must satisfy.",
        {
            "rule": "A CEL expression that must be true; self is the value here and oldSelf its previous value on updates.",
            "message": "The message returned when the rule fails. Default: one that quotes the rule.",
            "messageExpression": "A CEL expression giving the failure message as a string; used instead of message when it works.",
            "reason": "The reason reported when the rule fails: FieldValueInvalid, FieldValueForbidden, FieldValueRequired or FieldValueDuplicate. Default FieldValueInvalid.",
            "fieldPath": "The path, relative to this point of the schema, of the field to blame, such as .spec.replicas.",
            "optionalOldSelf": "When true, the rule also runs on creates and on values new to an update, with oldSelf as an optional.",
        },
    ),
    P + "JSONSchemaProps": (
        "An OpenAPI v3 schema, as used by CustomResourceDefinitions; with a few Kubernetes extensions (x-kubernetes-…).",
        {
            "id": "An identifier of the schema. Not allowed in CRDs.",
            "$schema": "The URI of the schema dialect. Not used by the server.",
            "$ref": "A reference to another schema. Not allowed in CustomResourceDefinitions.",
            "description": "What the value means; shown by kubectl explain.",
            "type": "The value's type: object, array, string, integer, number or boolean.",
            "format": "A format that strings or numbers must have, such as int32, date-time, uuid or byte.",
            "title": "A short title for the schema.",
            "default": "The value used when the field is missing; it must itself match the schema.",
            "maximum": "The largest allowed number.",
            "exclusiveMaximum": "When true, the value must be strictly below maximum.",
            "minimum": "The smallest allowed number.",
            "exclusiveMinimum": "When true, the value must be strictly above minimum.",
            "maxLength": "The longest allowed string, in characters.",
            "minLength": "The shortest allowed string, in characters.",
            "pattern": "A regular expression strings must match (ECMA 262 syntax).",
            "maxItems": "The most items an array may have.",
            "minItems": "The fewest items an array may have.",
            "uniqueItems": "When true, array items must all differ. Not allowed in CRDs; use x-kubernetes-list-type set.",
            "multipleOf": "Numbers must be a multiple of this.",
            "enum": "The only values allowed.",
            "maxProperties": "The most properties an object may have.",
            "minProperties": "The fewest properties an object may have.",
            "required": "Properties an object must have.",
            "items": "The schema every array item must match.",
            "allOf": _SCHEMAS + "(all of them).",
            "oneOf": _SCHEMAS + "(exactly one of them).",
            "anyOf": _SCHEMAS + "(at least one of them).",
            "not": "A schema the value must not match.",
            "properties": "The schemas of an object's known properties, by name.",
            "additionalProperties": "The schema of properties not listed in properties (as in a map), or false to forbid them.",
            "patternProperties": "Schemas for properties whose names match a regular expression. Not allowed in CRDs.",
            "dependencies": "Properties or schemas required when a given property is present. Not allowed in CRDs.",
            "additionalItems": "The schema of array items past the ones items lists. Not allowed in CRDs.",
            "definitions": "Named schemas for reuse by $ref. Not allowed in CRDs.",
            "externalDocs": "A link to more documentation.",
            "example": "An example value, for documentation.",
            "nullable": "When true, the value may be null; otherwise a null is pruned or rejected.",
            "x-kubernetes-preserve-unknown-fields": "When true, fields the schema does not list are kept instead of pruned.",
            "x-kubernetes-embedded-resource": "When true, the value is a whole Kubernetes object, with apiVersion, kind and metadata.",
            "x-kubernetes-int-or-string": "When true, the value may be an integer or a string.",
            "x-kubernetes-list-map-keys": "For lists of type map: the item fields that together identify an item.",
            "x-kubernetes-list-type": "How apply merges the list: atomic (whole), set (unique scalar items) or map (items by key).",
            "x-kubernetes-map-type": "How apply merges the object: granular (field by field, the default) or atomic (whole).",
            "x-kubernetes-validations": "CEL rules the value must satisfy.",
        },
    ),
}
