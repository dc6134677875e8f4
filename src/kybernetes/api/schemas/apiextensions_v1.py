"""Schema of apiextensions.k8s.io/v1 (CustomResourceDefinition), written by hand.

kubectl does not embed the apiextensions protobuf descriptors, so unlike the generated modules
this one is declared from the official Python client's models (field names and types) with the
wire numbers of upstream's apiextensions v1 protobuf form.

JSONSchemaProps fields whose JSON may take two shapes (``items``: a schema or a list of
schemas; ``additionalProperties``/``additionalItems``: a schema or a boolean; ``dependencies``
values: a schema or a list of strings) are declared ``raw``: any JSON is accepted there and the
CRD strategy checks their shape. Their protobuf forms are wrapper messages, so protobuf
request bodies carrying them are not decoded faithfully (kubectl sends CRDs as JSON).
"""

from __future__ import annotations

from kybernetes.api.schema import F, M, Message

X = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1."
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
SCHEMA = X + "JSONSchemaProps"

MESSAGES: tuple[Message, ...] = (
    M(
        X + "CustomResourceDefinition",
        F("kind", 0, "string"),
        F("apiVersion", 0, "string"),
        F("metadata", 1, META + "ObjectMeta"),
        F("spec", 2, X + "CustomResourceDefinitionSpec", required=True, omit_empty=False),
        F("status", 3, X + "CustomResourceDefinitionStatus"),
    ),
    M(
        X + "CustomResourceDefinitionList",
        F("kind", 0, "string"),
        F("apiVersion", 0, "string"),
        F("metadata", 1, META + "ListMeta"),
        F("items", 2, X + "CustomResourceDefinition", repeated=True, required=True, omit_empty=False),
    ),
    M(
        X + "CustomResourceDefinitionSpec",
        F("group", 1, "string", required=True, omit_empty=False),
        F("names", 3, X + "CustomResourceDefinitionNames", required=True, omit_empty=False),
        F("scope", 4, "string", required=True, omit_empty=False),
        F("versions", 7, X + "CustomResourceDefinitionVersion", repeated=True, required=True,
          list_type="atomic", omit_empty=False),
        F("conversion", 9, X + "CustomResourceConversion"),
        F("preserveUnknownFields", 10, "boolean"),
    ),
    M(
        X + "CustomResourceDefinitionNames",
        F("plural", 1, "string", required=True, omit_empty=False),
        F("singular", 2, "string"),
        F("shortNames", 3, "string", repeated=True, list_type="atomic"),
        F("kind", 4, "string", required=True, omit_empty=False),
        F("listKind", 5, "string"),
        F("categories", 6, "string", repeated=True, list_type="atomic"),
    ),
    M(
        X + "CustomResourceDefinitionVersion",
        F("name", 1, "string", required=True, omit_empty=False),
        F("served", 2, "boolean", required=True, omit_empty=False),
        F("storage", 3, "boolean", required=True, omit_empty=False),
        F("schema", 4, X + "CustomResourceValidation"),
        F("subresources", 5, X + "CustomResourceSubresources"),
        F("additionalPrinterColumns", 6, X + "CustomResourceColumnDefinition", repeated=True, list_type="atomic"),
        F("deprecated", 7, "boolean"),
        F("deprecationWarning", 8, "string", omit_empty=False),
        F("selectableFields", 9, X + "SelectableField", repeated=True, list_type="atomic"),
    ),
    M(X + "SelectableField", F("jsonPath", 1, "string", required=True, omit_empty=False)),
    M(
        X + "CustomResourceColumnDefinition",
        F("name", 1, "string", required=True, omit_empty=False),
        F("type", 2, "string", required=True, omit_empty=False),
        F("format", 3, "string"),
        F("description", 4, "string"),
        F("priority", 5, "int32"),
        F("jsonPath", 6, "string", required=True, omit_empty=False),
    ),
    M(
        X + "CustomResourceConversion",
        F("strategy", 1, "string", required=True, omit_empty=False),
        F("webhook", 2, X + "WebhookConversion"),
    ),
    M(
        X + "WebhookConversion",
        F("clientConfig", 2, X + "WebhookClientConfig"),
        F("conversionReviewVersions", 3, "string", repeated=True, required=True, list_type="atomic",
          omit_empty=False),
    ),
    M(
        X + "WebhookClientConfig",
        F("service", 1, X + "ServiceReference"),
        F("caBundle", 2, "bytes"),
        F("url", 3, "string", omit_empty=False),
    ),
    M(
        X + "ServiceReference",
        F("namespace", 1, "string", required=True, omit_empty=False),
        F("name", 2, "string", required=True, omit_empty=False),
        F("path", 3, "string", omit_empty=False),
        F("port", 4, "int32", omit_empty=False),
    ),
    M(X + "CustomResourceValidation", F("openAPIV3Schema", 1, SCHEMA)),
    M(
        X + "CustomResourceSubresources",
        F("status", 1, X + "CustomResourceSubresourceStatus"),
        F("scale", 2, X + "CustomResourceSubresourceScale"),
    ),
    M(X + "CustomResourceSubresourceStatus"),
    M(
        X + "CustomResourceSubresourceScale",
        F("specReplicasPath", 1, "string", required=True, omit_empty=False),
        F("statusReplicasPath", 2, "string", required=True, omit_empty=False),
        F("labelSelectorPath", 3, "string", omit_empty=False),
    ),
    M(
        X + "CustomResourceDefinitionStatus",
        F("conditions", 1, X + "CustomResourceDefinitionCondition", repeated=True, list_type="map",
          list_map_keys=("type",)),
        F("acceptedNames", 2, X + "CustomResourceDefinitionNames"),
        F("storedVersions", 3, "string", repeated=True, list_type="atomic"),
    ),
    M(
        X + "CustomResourceDefinitionCondition",
        F("type", 1, "string", required=True, omit_empty=False),
        F("status", 2, "string", required=True, omit_empty=False),
        F("lastTransitionTime", 3, "time"),
        F("reason", 4, "string"),
        F("message", 5, "string"),
    ),
    M(
        SCHEMA,
        F("id", 1, "string"),
        F("$schema", 2, "string"),
        F("$ref", 3, "string", omit_empty=False),
        F("description", 4, "string"),
        F("type", 5, "string"),
        F("format", 6, "string"),
        F("title", 7, "string"),
        F("default", 8, "raw"),
        F("maximum", 9, "double", omit_empty=False),
        F("exclusiveMaximum", 10, "boolean"),
        F("minimum", 11, "double", omit_empty=False),
        F("exclusiveMinimum", 12, "boolean"),
        F("maxLength", 13, "int64", omit_empty=False),
        F("minLength", 14, "int64", omit_empty=False),
        F("pattern", 15, "string"),
        F("maxItems", 16, "int64", omit_empty=False),
        F("minItems", 17, "int64", omit_empty=False),
        F("uniqueItems", 18, "boolean"),
        F("multipleOf", 19, "double", omit_empty=False),
        F("enum", 20, "raw", repeated=True, list_type="atomic"),
        F("maxProperties", 21, "int64", omit_empty=False),
        F("minProperties", 22, "int64", omit_empty=False),
        F("required", 23, "string", repeated=True, list_type="atomic"),
        F("items", 24, "raw"),
        F("allOf", 25, SCHEMA, repeated=True, list_type="atomic"),
        F("oneOf", 26, SCHEMA, repeated=True, list_type="atomic"),
        F("anyOf", 27, SCHEMA, repeated=True, list_type="atomic"),
        F("not", 28, SCHEMA),
        F("properties", 29, SCHEMA, map=True),
        F("additionalProperties", 30, "raw"),
        F("patternProperties", 31, SCHEMA, map=True),
        F("dependencies", 32, "raw", map=True),
        F("additionalItems", 33, "raw"),
        F("definitions", 34, SCHEMA, map=True),
        F("externalDocs", 35, X + "ExternalDocumentation"),
        F("example", 36, "raw"),
        F("nullable", 37, "boolean"),
        F("x-kubernetes-preserve-unknown-fields", 38, "boolean", omit_empty=False),
        F("x-kubernetes-embedded-resource", 39, "boolean"),
        F("x-kubernetes-int-or-string", 40, "boolean"),
        F("x-kubernetes-list-map-keys", 41, "string", repeated=True, list_type="atomic"),
        F("x-kubernetes-list-type", 42, "string", omit_empty=False),
        F("x-kubernetes-map-type", 43, "string", omit_empty=False),
        F("x-kubernetes-validations", 44, X + "ValidationRule", repeated=True, merge_key="rule",
          patch_strategy="merge", list_type="map", list_map_keys=("rule",)),
    ),
    M(
        X + "ValidationRule",
        F("rule", 1, "string", required=True, omit_empty=False),
        F("message", 2, "string"),
        F("messageExpression", 3, "string"),
        F("reason", 4, "string", omit_empty=False),
        F("fieldPath", 5, "string"),
        F("optionalOldSelf", 6, "boolean", omit_empty=False),
    ),
    M(
        X + "ExternalDocumentation",
        F("description", 1, "string"),
        F("url", 2, "string"),
    ),
)

EMBEDDED: dict[str, tuple[tuple[int, str], ...]] = {}
WRAPPED_LISTS: set[tuple[str, str]] = set()
