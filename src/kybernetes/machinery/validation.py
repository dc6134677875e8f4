"""Field-level validation with upstream's wording: names, labels, annotations, object metadata.

Clients show validation failures verbatim (``The Pod "x" is invalid: spec.containers[0].image:
Required value``) and some tools match on the text, so every message here follows upstream's
k8s.io/apimachinery validation helpers and field.Error rendering:

- a cause's message is ``<Type text>[: <value>][: <detail>]``; Required, Forbidden and TooLong
  never show the value; strings are Go-quoted, numbers and booleans bare;
- name checks return *lists of messages* (a value may break several rules); callers turn each
  message into one ``FieldValueInvalid`` cause at their own field path.

Everything is a pure function of plain JSON values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kybernetes.machinery.errors import Cause

Obj = dict[str, Any]
# (name, is_prefix) -> messages; `is_prefix` is true when checking metadata.generateName.
NameValidator = Callable[[str, bool], list[str]]

FIELD_IMMUTABLE = "field is immutable"
IS_NEGATIVE = "must be greater than or equal to 0"
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024

# --- rendering values as upstream's field.Error does ------------------------------------------


def go_quote(s: str) -> str:
    """Go's %q: double quotes, C-style escapes, printable Unicode kept."""
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def render_value(value: Any) -> str:
    """A bad value as upstream prints it (Go's %v for scalars, %q for strings, %#v otherwise).

    Go-syntax struct dumps cannot be reproduced for arbitrary objects; string maps and string
    lists (the common cases: labels, selectors, finalizers) are rendered exactly, anything else
    as compact JSON.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        inner = ", ".join(f"{go_quote(k)}:{go_quote(value[k])}" for k in sorted(value))
        return "map[string]string{" + inner + "}"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[]string{" + ", ".join(go_quote(v) for v in value) + "}"
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def render_label_selector(sel: Mapping[str, Any] | None) -> str:
    """A LabelSelector as Go's %#v prints upstream's struct (used in selector errors)."""
    sel = sel or {}
    ml = sel.get("matchLabels")
    labels = render_value(ml) if ml else "map[string]string(nil)"
    exprs = sel.get("matchExpressions") or []
    if exprs:
        parts = []
        for e in exprs:
            vals = e.get("values")
            vs = render_value(list(vals)) if vals else "[]string(nil)"
            parts.append(f'v1.LabelSelectorRequirement{{Key:{go_quote(e.get("key", ""))}, '
                         f'Operator:{go_quote(e.get("operator", ""))}, Values:{vs}}}')
        ex = "[]v1.LabelSelectorRequirement{" + ", ".join(parts) + "}"
    else:
        ex = "[]v1.LabelSelectorRequirement(nil)"
    return f"v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:{ex}}}"


# --- cause constructors (upstream's field.Required, field.Invalid, ...) -----------------------


def required(path: str, detail: str = "") -> Cause:
    return Cause("FieldValueRequired", "Required value" + (f": {detail}" if detail else ""), path)


def invalid(path: str, value: Any, detail: str = "", *, rendered: str | None = None) -> Cause:
    shown = rendered if rendered is not None else render_value(value)
    return Cause("FieldValueInvalid", f"Invalid value: {shown}" + (f": {detail}" if detail else ""), path)


def not_supported(path: str, value: Any, supported: Iterable[str]) -> Cause:
    values = list(supported)
    msg = f"Unsupported value: {render_value(value)}"
    if values:
        msg += ": supported values: " + ", ".join(go_quote(v) for v in values)
    return Cause("FieldValueNotSupported", msg, path)


def duplicate(path: str, value: Any) -> Cause:
    return Cause("FieldValueDuplicate", f"Duplicate value: {render_value(value)}", path)


def not_found(path: str, value: Any) -> Cause:
    return Cause("FieldValueNotFound", f"Not found: {render_value(value)}", path)


def forbidden(path: str, detail: str) -> Cause:
    return Cause("FieldValueForbidden", "Forbidden" + (f": {detail}" if detail else ""), path)


def too_long(path: str, max_bytes: int) -> Cause:
    return Cause("FieldValueTooLong", f"Too long: must have at most {max_bytes} bytes", path)


def child(path: str, *names: str) -> str:
    for n in names:
        path = f"{path}.{n}" if path else n
    return path


def index(path: str, i: int) -> str:
    return f"{path}[{i}]"


def key(path: str, k: str) -> str:
    return f"{path}[{k}]"


# --- message builders (upstream's util/validation helpers) ------------------------------------


def empty_error() -> str:
    return "must be non-empty"


def max_len_error(n: int) -> str:
    return f"must be no more than {n} characters"


def inclusive_range_error(lo: int, hi: int) -> str:
    return f"must be between {lo} and {hi}, inclusive"


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    s = msg + " (e.g. "
    for i, ex in enumerate(examples):
        if i:
            s += " or "
        s += f"'{ex}', "
    return s + f"regex used for validation is '{fmt}')"


_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                      "and must start and end with an alphanumeric character")
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + r"(\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                          "'-' or '.', and must start and end with an alphanumeric character")
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_LABEL_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
                      "an alphabetic character, and end with an alphanumeric character")
_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
              "alphanumeric character")
_LABEL_VALUE_FMT = "(" + _QNAME_FMT + ")?"
_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
                    "'.', and must start and end with an alphanumeric character")
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
_CONFIG_KEY_MSG = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"

_dns1123_label_re = re.compile(_DNS1123_LABEL_FMT)
_dns1123_subdomain_re = re.compile(_DNS1123_SUBDOMAIN_FMT)
_dns1035_label_re = re.compile(_DNS1035_LABEL_FMT)
_qname_re = re.compile(_QNAME_FMT)
_label_value_re = re.compile(_LABEL_VALUE_FMT)
_config_key_re = re.compile(_CONFIG_KEY_FMT)
_port_name_charset_re = re.compile("[-a-z0-9]+")
_port_name_letter_re = re.compile(".*[a-z].*", re.S)

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
DNS1035_LABEL_MAX = 63
QUALIFIED_NAME_MAX = 63
LABEL_VALUE_MAX = 63


def is_dns1123_label(value: str) -> list[str]:
    errs = []
    if len(value) > DNS1123_LABEL_MAX:
        errs.append(max_len_error(DNS1123_LABEL_MAX))
    if not _dns1123_label_re.fullmatch(value):
        if _dns1123_subdomain_re.fullmatch(value):  # a good subdomain, so only its dots are wrong
            errs.append("must not contain dots")
        else:
            errs.append(regex_error(_DNS1123_LABEL_MSG, _DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    errs = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX))
    if not _dns1123_subdomain_re.fullmatch(value):
        errs.append(regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


_WILDCARD_DNS1123_SUBDOMAIN_FMT = "\\*\\." + _DNS1123_SUBDOMAIN_FMT
_WILDCARD_DNS1123_SUBDOMAIN_MSG = (
    "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of "
    "lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character")
_wildcard_dns1123_subdomain_re = re.compile(_WILDCARD_DNS1123_SUBDOMAIN_FMT)


def is_wildcard_dns1123_subdomain(value: str) -> list[str]:
    """Hosts like ``*.example.com`` (Ingress rules and TLS hosts)."""
    errs = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX))
    if not _wildcard_dns1123_subdomain_re.fullmatch(value):
        errs.append(regex_error(_WILDCARD_DNS1123_SUBDOMAIN_MSG, _WILDCARD_DNS1123_SUBDOMAIN_FMT, "*.example.com"))
    return errs


def is_dns1035_label(value: str) -> list[str]:
    errs = []
    if len(value) > DNS1035_LABEL_MAX:
        errs.append(max_len_error(DNS1035_LABEL_MAX))
    if not _dns1035_label_re.fullmatch(value):
        errs.append(regex_error(_DNS1035_LABEL_MSG, _DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


def is_qualified_name(value: str) -> list[str]:
    """Label keys, annotation keys, finalizers: ``[prefix/]name``."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part " + empty_error())
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return ["a qualified name " + regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part " + empty_error())
    elif len(name) > QUALIFIED_NAME_MAX:
        errs.append("name part " + max_len_error(QUALIFIED_NAME_MAX))
    if not _qname_re.fullmatch(name):
        errs.append("name part " + regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def is_valid_label_value(value: str) -> list[str]:
    errs = []
    if len(value) > LABEL_VALUE_MAX:
        errs.append(max_len_error(LABEL_VALUE_MAX))
    if not _label_value_re.fullmatch(value):
        errs.append(regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def is_config_map_key(value: str) -> list[str]:
    """Keys of ConfigMap/Secret data."""
    errs = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX))
    if not _config_key_re.fullmatch(value):
        errs.append(regex_error(_CONFIG_KEY_MSG, _CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name"))
    if value == ".":
        errs.append("must not be '.'")
    elif value == "..":
        errs.append("must not be '..'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def is_valid_port_num(port: Any) -> list[str]:
    if isinstance(port, int) and not isinstance(port, bool) and 1 <= port <= 65535:
        return []
    return [inclusive_range_error(1, 65535)]


def is_valid_port_name(port: str) -> list[str]:
    errs = []
    if len(port) > 15:
        errs.append(max_len_error(15))
    if not _port_name_charset_re.fullmatch(port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _port_name_letter_re.fullmatch(port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_valid_path_segment_name(name: str) -> list[str]:
    for bad in (".", ".."):
        if name == bad:
            return [f"may not be '{bad}'"]
    return is_valid_path_segment_prefix(name)


def is_valid_path_segment_prefix(name: str) -> list[str]:
    return [f"may not contain '{bad}'" for bad in ("/", "%") if bad in name]


# --- name functions for metadata.name / generateName ------------------------------------------


def _mask_trailing_dash(name: str) -> str:
    # A generateName may end in '-': the generated suffix makes the final name valid.
    if len(name) > 1 and name.endswith("-"):
        return name[:-2] + "a"
    return name


def name_is_dns_subdomain(name: str, prefix: bool) -> list[str]:
    return is_dns1123_subdomain(_mask_trailing_dash(name) if prefix else name)


def name_is_dns_label(name: str, prefix: bool) -> list[str]:
    return is_dns1123_label(_mask_trailing_dash(name) if prefix else name)


def name_is_dns1035_label(name: str, prefix: bool) -> list[str]:
    return is_dns1035_label(_mask_trailing_dash(name) if prefix else name)


def name_is_path_segment(name: str, prefix: bool) -> list[str]:
    return is_valid_path_segment_prefix(name) if prefix else is_valid_path_segment_name(name)


# --- composite checks -----------------------------------------------------------------------


def validate_dns1123_label(value: str, path: str) -> list[Cause]:
    return [invalid(path, value, m) for m in is_dns1123_label(value)]


def validate_dns1123_subdomain(value: str, path: str) -> list[Cause]:
    return [invalid(path, value, m) for m in is_dns1123_subdomain(value)]


def validate_nonnegative(value: Any, path: str) -> list[Cause]:
    if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
        return [invalid(path, value, IS_NEGATIVE)]
    return []


def validate_immutable(new: Any, old: Any, path: str, *, rendered: str | None = None) -> list[Cause]:
    if new != old:
        return [invalid(path, new, FIELD_IMMUTABLE, rendered=rendered)]
    return []


def validate_labels(labels: Mapping[str, Any] | None, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for k in sorted(labels or {}):
        v = (labels or {})[k]
        causes.extend(invalid(path, k, m) for m in is_qualified_name(k))
        if isinstance(v, str):
            causes.extend(invalid(path, v, m) for m in is_valid_label_value(v))
    return causes


def validate_annotations(annotations: Mapping[str, Any] | None, path: str) -> list[Cause]:
    causes: list[Cause] = []
    total = 0
    for k in sorted(annotations or {}):
        v = (annotations or {})[k]
        causes.extend(invalid(path, k, m) for m in is_qualified_name(k.lower()))
        total += len(k.encode()) + len(str(v).encode())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        causes.append(too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT))
    return causes


_STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})


def validate_finalizers(finalizers: list[Any] | None, path: str) -> list[Cause]:
    causes: list[Cause] = []
    fins = [f for f in finalizers or [] if isinstance(f, str)]
    for f in fins:
        causes.extend(invalid(path, f, m) for m in is_qualified_name(f))
    if "orphan" in fins and "foregroundDeletion" in fins:
        causes.append(invalid(path, fins, "finalizer orphan and foregroundDeletion cannot be both set"))
    # Built-in kinds also reject unqualified names that are not the well-known ones.
    for i, f in enumerate(fins):
        if "/" not in f and f not in _STANDARD_FINALIZERS:
            causes.append(invalid(index(path, i), f,
                                  "name is neither a standard finalizer name nor is it fully qualified"))
    return causes


def validate_owner_references(refs: list[Any] | None, path: str) -> list[Cause]:
    causes: list[Cause] = []
    controllers: list[str] = []
    for ref in refs or []:
        if not isinstance(ref, dict):
            continue
        api_version = ref.get("apiVersion", "") or ""
        version = api_version.split("/")[-1] if api_version else ""
        if not version:
            causes.append(invalid(child(path, "apiVersion"), api_version, "version must not be empty"))
        if not ref.get("kind"):
            causes.append(invalid(child(path, "kind"), ref.get("kind", ""), "kind must not be empty"))
        if not ref.get("name"):
            causes.append(invalid(child(path, "name"), ref.get("name", ""), "name must not be empty"))
        if not ref.get("uid"):
            causes.append(invalid(child(path, "uid"), ref.get("uid", ""), "uid must not be empty"))
        if ref.get("controller") is True:
            controllers.append(f"{ref.get('kind', '')}/{ref.get('name', '')}")
    if len(controllers) > 1:
        causes.append(invalid(path, refs, "Only one reference can have Controller set to true. Found \"true\" in "
                              "references for " + " and ".join(controllers)))
    return causes


def validate_object_meta(meta: Mapping[str, Any] | None, *, namespaced: bool, name_validator: NameValidator,
                         field_path: str = "metadata") -> list[Cause]:
    """Upstream's ValidateObjectMeta: name/generateName, namespace by scope, labels,
    annotations, owner references and finalizers."""
    meta = meta or {}
    causes: list[Cause] = []
    gen_name = meta.get("generateName") or ""
    if gen_name:
        causes.extend(invalid(child(field_path, "generateName"), gen_name, m) for m in name_validator(gen_name, True))
    name = meta.get("name") or ""
    if not name:
        causes.append(required(child(field_path, "name"), "name or generateName is required"))
    else:
        causes.extend(invalid(child(field_path, "name"), name, m) for m in name_validator(name, False))
    ns = meta.get("namespace") or ""
    if namespaced:
        if not ns:
            causes.append(required(child(field_path, "namespace")))
        else:
            causes.extend(invalid(child(field_path, "namespace"), ns, m) for m in name_is_dns_label(ns, False))
    elif ns:
        causes.append(forbidden(child(field_path, "namespace"), "not allowed on this type"))
    causes.extend(validate_nonnegative(meta.get("generation", 0), child(field_path, "generation")))
    causes.extend(validate_labels(meta.get("labels"), child(field_path, "labels")))
    causes.extend(validate_annotations(meta.get("annotations"), child(field_path, "annotations")))
    causes.extend(validate_owner_references(meta.get("ownerReferences"), child(field_path, "ownerReferences")))
    causes.extend(validate_finalizers(meta.get("finalizers"), child(field_path, "finalizers")))
    return causes


def validate_object_meta_update(new: Mapping[str, Any] | None, old: Mapping[str, Any] | None, *,
                                field_path: str = "metadata", require_resource_version: bool = True) -> list[Cause]:
    """Upstream's ValidateObjectMetaUpdate. The store fills metadata.resourceVersion from the
    stored object for unconditional updates before calling this (or passes
    ``require_resource_version=False``)."""
    new = new or {}
    old = old or {}
    causes: list[Cause] = []
    if old.get("deletionTimestamp"):
        added = [f for f in new.get("finalizers") or [] if f not in (old.get("finalizers") or [])]
        if added:
            causes.append(forbidden(child(field_path, "finalizers"),
                                    "no new finalizers can be added if the object is being deleted, found new "
                                    "finalizers " + render_value(sorted(set(added)))))
    if require_resource_version and not new.get("resourceVersion"):
        causes.append(invalid(child(field_path, "resourceVersion"), new.get("resourceVersion", ""),
                              "must be specified for an update"))
    if (new.get("generation") or 0) < (old.get("generation") or 0):
        causes.append(invalid(child(field_path, "generation"), new.get("generation") or 0, "must not be decremented"))
    for f in ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
        causes.extend(validate_immutable(new.get(f), old.get(f), child(field_path, f)))
    causes.extend(validate_labels(new.get("labels"), child(field_path, "labels")))
    causes.extend(validate_annotations(new.get("annotations"), child(field_path, "annotations")))
    causes.extend(validate_owner_references(new.get("ownerReferences"), child(field_path, "ownerReferences")))
    fins = [f for f in new.get("finalizers") or [] if isinstance(f, str)]
    for i, f in enumerate(fins):
        if "/" not in f and f not in _STANDARD_FINALIZERS:
            causes.append(invalid(index(child(field_path, "finalizers"), i), f,
                                  "name is neither a standard finalizer name nor is it fully qualified"))
    return causes


# --- label selectors ------------------------------------------------------------------------

_SELECTOR_OPS = ("In", "NotIn", "Exists", "DoesNotExist")


def validate_label_selector(sel: Mapping[str, Any] | None, path: str) -> list[Cause]:
    if not sel:
        return []
    causes = validate_labels(sel.get("matchLabels"), child(path, "matchLabels"))
    for i, req in enumerate(sel.get("matchExpressions") or []):
        p = index(child(path, "matchExpressions"), i)
        op = req.get("operator", "")
        values = req.get("values") or []
        if op in ("In", "NotIn"):
            if not values:
                causes.append(required(child(p, "values"), "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                causes.append(forbidden(child(p, "values"),
                                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        else:
            causes.append(invalid(child(p, "operator"), op, "not a valid selector operator"))
        k = req.get("key", "")
        causes.extend(invalid(child(p, "key"), k, m) for m in is_qualified_name(k))
    return causes


def selector_is_empty(sel: Mapping[str, Any] | None) -> bool:
    return not sel or (not sel.get("matchLabels") and not sel.get("matchExpressions"))


def selector_matches(sel: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    """Whether a LabelSelector (matchLabels + matchExpressions) selects `labels`.
    An empty selector matches everything."""
    labels = labels or {}
    if not sel:
        return True
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for req in sel.get("matchExpressions") or []:
        k, op, values = req.get("key", ""), req.get("operator"), req.get("values") or []
        if op == "In" and labels.get(k) not in values:
            return False
        if op == "NotIn" and k in labels and labels[k] in values:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
        if op not in _SELECTOR_OPS:
            return False
    return True
