"""Strategies of custom resources and of the CustomResourceDefinition kind itself.

Custom resources: every write is pruned and defaulted by the storage version's structural
schema (so server-side apply and patches cannot smuggle in undeclared fields), validated against
it, and with a status subresource the main resource ignores status while /status ignores the
rest. ``metadata.generation`` follows every change but metadata (and status, when status is a
subresource).

CustomResourceDefinitions: upstream's defaults (singular, listKind, conversion None), the
cleanup finalizer, storedVersions, and the validation a CRD must pass to be served.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from kybernetes.api.resources import Resource
from kybernetes.apiserver.crd import celrules, celvalidate, conversion
from kybernetes.apiserver.crd.model import CLEANUP_FINALIZER, CustomVersion, storage_version
from kybernetes.apiserver.strategies.base import KindStrategy, get
from kybernetes.apiserver.strategy import Obj, Strategy, register
from kybernetes.machinery import validation as v
from kybernetes.machinery.errors import Cause


class CustomResourceStrategy(Strategy):
    tracks_generation: ClassVar[bool] = True

    def __init__(self, resource: Resource) -> None:
        super().__init__(resource)
        assert isinstance(resource.custom, CustomVersion)
        self.version: CustomVersion = resource.custom

    def default(self, obj: Obj) -> None:
        pruned, _ = self.version.prune_and_default(obj)
        if pruned is not obj:
            obj.clear()
            obj.update(pruned)

    def prepare_for_create(self, obj: Obj) -> None:
        if self.has_status:
            obj.pop("status", None)

    def validate(self, obj: Obj) -> list[Cause]:
        causes = self.version.validate(obj)
        return causes + celvalidate.rule_causes(self.version, obj, None, causes)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = self.version.validate(new)
        self._ratcheted: tuple[int, list[str]] = (id(new), [])
        return causes + celvalidate.rule_causes(self.version, new, old, causes, self._ratcheted[1])

    def warnings_on_update(self, new: Obj, old: Obj) -> list[str]:
        # rule failures on unchanged values (ratcheting) are warnings; the store asks right after
        # validate_update for the same object, with no await in between
        ratcheted = getattr(self, "_ratcheted", None)
        own = ratcheted[1] if ratcheted is not None and ratcheted[0] == id(new) else []
        return super().warnings_on_update(new, old) + own

    def validate_status_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = self.version.validate(new)
        return causes + celvalidate.rule_causes(self.version, new, old, causes)

    def spec_of(self, obj: Obj) -> Any:
        skip = ("metadata", "status") if self.has_status else ("metadata",)
        return {k: val for k, val in obj.items() if k not in skip}


class CustomResourceWithStatusStrategy(CustomResourceStrategy):
    has_status: ClassVar[bool] = True


def custom_resource_strategy(resource: Resource) -> Strategy:
    cv = resource.custom
    assert isinstance(cv, CustomVersion)
    return CustomResourceWithStatusStrategy(resource) if cv.status else CustomResourceStrategy(resource)


# --- the CRD kind ----------------------------------------------------------------------------------

_LOWER_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


def default_crd(crd: Obj) -> None:
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return
    names = spec.get("names")
    if isinstance(names, dict) and isinstance(names.get("kind"), str):
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", names["kind"] + "List")
    conv = spec.get("conversion")
    if not isinstance(conv, dict):
        spec["conversion"] = {"strategy": "None"}
    conversion.default_conversion(spec)


def _validate_names(names: Any, path: str) -> list[Cause]:
    out: list[Cause] = []
    if not isinstance(names, dict):
        return [v.required(path, "")]
    for key in ("plural", "singular"):
        value = names.get(key)
        if not value:
            if key == "plural":
                out.append(v.required(f"{path}.{key}", ""))
            continue
        if not isinstance(value, str) or not _LOWER_DNS_LABEL.match(value):
            out.append(v.invalid(f"{path}.{key}", value, "a lowercase RFC 1123 label must consist of lower case "
                                 "alphanumeric characters or '-', and must start and end with an alphanumeric "
                                 "character (e.g. 'my-name',  or '123-abc', regex used for validation is "
                                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"))
    for key in ("kind", "listKind"):
        value = names.get(key)
        if not value:
            if key == "kind":
                out.append(v.required(f"{path}.{key}", ""))
            continue
        if not isinstance(value, str) or not _KIND.match(value):
            out.append(v.invalid(f"{path}.{key}", value, "may have mixed case, but should otherwise match: "
                                 "[a-z]([-a-z0-9]*[a-z0-9])?"))
    for i, short in enumerate(names.get("shortNames") or []):
        if not isinstance(short, str) or not _LOWER_DNS_LABEL.match(short):
            out.append(v.invalid(f"{path}.shortNames[{i}]", short, "a lowercase RFC 1123 label"))
    return out


def validate_crd(crd: Obj) -> list[Cause]:
    """Upstream's CRD validation, the rules that decide whether a definition can be served."""
    out: list[Cause] = []
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return [v.required("spec", "")]
    group = spec.get("group")
    names = spec.get("names") or {}
    name = get(crd, "metadata", "name") or ""
    if not group:
        out.append(v.required("spec.group", ""))
    elif not isinstance(group, str) or "." not in group:
        out.append(v.invalid("spec.group", group, "should be a domain with at least one dot"))
    elif v.is_dns1123_subdomain(group):
        out.append(v.invalid("spec.group", group, v.is_dns1123_subdomain(group)[0]))
    if isinstance(names, dict) and names.get("plural") and group and name != f"{names['plural']}.{group}":
        out.append(v.invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    scope = spec.get("scope")
    if scope not in ("Cluster", "Namespaced"):
        out.append(v.required("spec.scope", "") if not scope else
                   v.not_supported("spec.scope", scope, ["Cluster", "Namespaced"]))
    out += _validate_names(names, "spec.names")
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions:
        out.append(v.invalid("spec.versions", versions or [], "must have exactly one version marked as storage version"))
        return out
    seen: set[str] = set()
    storage = 0
    for i, ver in enumerate(versions):
        path = f"spec.versions[{i}]"
        if not isinstance(ver, dict):
            out.append(v.invalid(path, ver, "must be an object"))
            continue
        vname = ver.get("name")
        if not vname:
            out.append(v.required(f"{path}.name", ""))
        elif not isinstance(vname, str) or not _LOWER_DNS_LABEL.match(vname):
            out.append(v.invalid(f"{path}.name", vname, "a DNS-1035 label must consist of lower case alphanumeric "
                                 "characters or '-', start with an alphabetic character, and end with an "
                                 "alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation "
                                 "is '[a-z]([-a-z0-9]*[a-z0-9])?')"))
        elif vname in seen:
            out.append(v.invalid("spec.versions", versions and [x.get("name") for x in versions if isinstance(x, dict)],
                                 "must contain unique version names"))
        else:
            seen.add(vname)
        if ver.get("storage"):
            storage += 1
        schema = get(ver, "schema", "openAPIV3Schema")
        if not isinstance(schema, dict):
            out.append(v.required(f"{path}.schema.openAPIV3Schema", "schemas are required"))
        else:
            out += _validate_schema_root(schema, f"{path}.schema.openAPIV3Schema")
        scale = get(ver, "subresources", "scale")
        if isinstance(scale, dict):
            sp = scale.get("specReplicasPath")
            if not isinstance(sp, str) or not sp.startswith(".spec."):
                out.append(v.invalid(f"{path}.subresources.scale.specReplicasPath", sp,
                                     "should be a json path under .spec"))
            st = scale.get("statusReplicasPath")
            if not isinstance(st, str) or not st.startswith(".status."):
                out.append(v.invalid(f"{path}.subresources.scale.statusReplicasPath", st,
                                     "should be a json path under .status"))
        for j, column in enumerate(ver.get("additionalPrinterColumns") or []):
            cpath = f"{path}.additionalPrinterColumns[{j}]"
            if not isinstance(column, dict):
                continue
            if not column.get("name"):
                out.append(v.required(f"{cpath}.name", ""))
            if column.get("type") not in ("integer", "number", "string", "boolean", "date"):
                out.append(v.not_supported(f"{cpath}.type", column.get("type"),
                                           ["integer", "number", "string", "boolean", "date"]))
            if not column.get("jsonPath"):
                out.append(v.required(f"{cpath}.jsonPath", ""))
    if storage != 1:
        out.append(v.invalid("spec.versions", [x.get("name") for x in versions if isinstance(x, dict)],
                             "must have exactly one version marked as storage version"))
    out += conversion.validate_conversion(spec)
    return out


def _validate_schema_root(schema: Obj, path: str) -> list[Cause]:
    """The structural rules that matter most: the root and every property have a type."""
    out: list[Cause] = []
    if schema.get("type") != "object":
        out.append(v.invalid(f"{path}.type", schema.get("type", ""), "must be object at the root"))
    _structural(schema, path, out, root=True)
    return out


def _structural(schema: Any, path: str, out: list[Cause], *, root: bool = False) -> None:
    if not isinstance(schema, dict):
        return
    if not root and not schema.get("type") and not schema.get("x-kubernetes-int-or-string") \
            and not schema.get("x-kubernetes-preserve-unknown-fields"):
        out.append(v.required(f"{path}.type", "must not be empty for specified object fields"))
    for k, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, dict):
            _structural(sub, f"{path}.properties[{k}]", out)
    items = schema.get("items")
    if isinstance(items, dict):
        _structural(items, f"{path}.items", out)
    elif schema.get("type") == "array" and items is None:
        out.append(v.required(f"{path}.items", "must be specified"))
    ap = schema.get("additionalProperties")
    if isinstance(ap, dict):
        _structural(ap, f"{path}.additionalProperties", out)


@register("apiextensions.k8s.io", "CustomResourceDefinition")
class CustomResourceDefinitionStrategy(KindStrategy):
    has_status: ClassVar[bool] = True
    tracks_generation: ClassVar[bool] = True

    def default(self, obj: Obj) -> None:
        default_crd(obj)

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        meta = obj.setdefault("metadata", {})
        finalizers = list(meta.get("finalizers") or [])
        if CLEANUP_FINALIZER not in finalizers:
            meta["finalizers"] = [*finalizers, CLEANUP_FINALIZER]

    def initial_status(self, obj: Obj) -> Any:
        stored = storage_version(obj)
        return {"conditions": [], "acceptedNames": {"plural": "", "kind": ""},
                "storedVersions": [stored] if stored else []}

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        stored = storage_version(new)
        status = new.get("status")
        if stored and isinstance(status, dict):
            versions = list(status.get("storedVersions") or [])
            if stored not in versions:
                status["storedVersions"] = [*versions, stored]

    def validate(self, obj: Obj) -> list[Cause]:
        out = validate_crd(obj)
        return out + celrules.crd_rule_causes(obj, out)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        out = validate_crd(new)
        out += celrules.crd_rule_causes(new, out)
        if get(new, "spec", "group") != get(old, "spec", "group"):
            out.append(v.invalid("spec.group", get(new, "spec", "group"), "field is immutable"))
        return out
