"""A small hand-written schema registry for the discovery/OpenAPI tests.

Just enough of Pod and Deployment (with the meta types they use) to exercise references,
maps, lists with merge keys, named scalars and cross-group embedding (apps/v1 -> core/v1),
independent of the full built-in declarations.
"""

from __future__ import annotations

from kybernetes.api.schema import F, M, SchemaRegistry

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
CORE = "io.k8s.api.core.v1."
APPS = "io.k8s.api.apps.v1."


def small_registry() -> SchemaRegistry:
    reg = SchemaRegistry()
    reg.add(
        M(META + "ObjectMeta",
          F("name", 1, "string", description="The object's name, unique in its namespace."),
          F("generateName", 2, "string"),
          F("namespace", 3, "string"),
          F("uid", 5, "string"),
          F("resourceVersion", 6, "string"),
          F("generation", 7, "int64"),
          F("creationTimestamp", 8, "time"),
          F("labels", 11, "string", map=True),
          F("annotations", 12, "string", map=True),
          F("ownerReferences", 13, META + "OwnerReference", repeated=True, merge_key="uid",
            patch_strategy="merge", list_type="map", list_map_keys=("uid",)),
          F("managedFields", 17, META + "ManagedFieldsEntry", repeated=True)),
        M(META + "OwnerReference",
          F("apiVersion", 5, "string", required=True), F("kind", 1, "string", required=True),
          F("name", 3, "string", required=True), F("uid", 4, "string", required=True),
          F("controller", 6, "boolean")),
        M(META + "ManagedFieldsEntry",
          F("manager", 1, "string"), F("operation", 2, "string"), F("time", 4, "time"),
          F("fieldsType", 6, "string"), F("fieldsV1", 7, "fields-v1")),
        M(META + "ListMeta", F("resourceVersion", 2, "string"), F("continue", 3, "string")),
        M(META + "LabelSelector", F("matchLabels", 1, "string", map=True)),
        M(META + "DeleteOptions", F("gracePeriodSeconds", 1, "int64"), F("propagationPolicy", 6, "string")),
        M(META + "Status", F("status", 2, "string"), F("message", 3, "string"), F("reason", 4, "string"),
          F("code", 6, "int32")),
        M(CORE + "Pod",
          F("apiVersion", 100, "string"), F("kind", 101, "string"),
          F("metadata", 1, META + "ObjectMeta"), F("spec", 2, CORE + "PodSpec"),
          F("status", 3, CORE + "PodStatus")),
        M(CORE + "PodSpec",
          F("containers", 2, CORE + "Container", repeated=True, required=True, merge_key="name",
            patch_strategy="merge", description="The containers of the pod."),
          F("restartPolicy", 3, "string"),
          F("nodeName", 10, "string"),
          F("terminationGracePeriodSeconds", 4, "int64"),
          F("nodeSelector", 7, "string", map=True)),
        M(CORE + "PodStatus", F("phase", 1, "string"), F("podIP", 6, "string"), F("startTime", 7, "time")),
        M(CORE + "Container",
          F("name", 1, "string", required=True, description="The container's name, unique in the pod."),
          F("image", 2, "string"),
          F("command", 3, "string", repeated=True),
          F("ports", 6, CORE + "ContainerPort", repeated=True, merge_key="containerPort",
            patch_strategy="merge", list_type="map", list_map_keys=("containerPort", "protocol")),
          F("env", 7, CORE + "EnvVar", repeated=True, merge_key="name", patch_strategy="merge"),
          F("resources", 8, CORE + "ResourceRequirements"),
          F("livenessProbe", 10, CORE + "Probe")),
        M(CORE + "ContainerPort",
          F("name", 1, "string"), F("hostPort", 2, "int32"),
          F("containerPort", 3, "int32", required=True, description="The port number the container listens on."),
          F("protocol", 4, "string")),
        M(CORE + "EnvVar", F("name", 1, "string", required=True), F("value", 2, "string")),
        M(CORE + "ResourceRequirements",
          F("limits", 1, "quantity", map=True), F("requests", 2, "quantity", map=True)),
        M(CORE + "Probe", F("httpGet", 1, CORE + "HTTPGetAction"), F("periodSeconds", 4, "int32")),
        M(CORE + "HTTPGetAction", F("path", 1, "string"), F("port", 2, "int-or-string", required=True)),
        M(CORE + "PodTemplateSpec", F("metadata", 1, META + "ObjectMeta"), F("spec", 2, CORE + "PodSpec")),
        M(APPS + "Deployment",
          F("apiVersion", 100, "string"), F("kind", 101, "string"),
          F("metadata", 1, META + "ObjectMeta"), F("spec", 2, APPS + "DeploymentSpec"),
          F("status", 3, APPS + "DeploymentStatus")),
        M(APPS + "DeploymentSpec",
          F("replicas", 1, "int32"),
          F("selector", 2, META + "LabelSelector", required=True),
          F("template", 3, CORE + "PodTemplateSpec", required=True,
            description="The pods the deployment creates are made from this template.")),
        M(APPS + "DeploymentStatus", F("replicas", 2, "int32"), F("readyReplicas", 7, "int32")),
    )
    return reg
