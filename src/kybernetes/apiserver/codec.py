"""Request bodies in, response bodies out: JSON, YAML and protobuf decoding; Accept negotiation.

Responses are always JSON (kubectl accepts JSON for every protobuf-preferring request, see
kubectl-wire.md §1.4); what varies is whether a list or object is rendered as a
``meta.k8s.io/v1`` Table.
"""

from __future__ import annotations

from typing import Any

import orjson
import yaml

from kybernetes.machinery import errors, fieldcheck

MAX_BODY_BYTES = 3 * 1024 * 1024  # upstream's default request size limit

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH_YAML = "application/apply-patch+yaml"
APPLY_PATCH_CBOR = "application/apply-patch+cbor"

PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH_YAML)


def media_type(header: str | None) -> str:
    if not header:
        return ""
    return header.split(";", 1)[0].strip().lower()


class _UniqueKeyLoader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """Safe loading that notes keys given twice in one mapping (the last value wins), worded as
    upstream's strict YAML decoder (go-yaml): ``line 4: key "replicas" already set in map``."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node)
            if key in seen:
                shown = fieldcheck.go_quote(key) if isinstance(key, str) else str(key)
                line = key_node.start_mark.line + 1
                self.duplicate_keys.append((line, f"line {line}: key {shown} already set in map"))
            seen.add(key)
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


def decode_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise errors.bad_request(f"error decoding request body: {e}") from None


def decode_yaml(body: bytes) -> Any:
    return decode_yaml_checked(body)[0]


def decode_yaml_checked(body: bytes) -> tuple[Any, list[str]]:
    """The one YAML document in `body`, and upstream's strict error for its duplicate keys
    (``yaml: unmarshal errors:`` then one indented line per key; none when the list is empty)."""
    loader = _UniqueKeyLoader(body)
    loader.duplicate_keys = []
    try:
        docs = []
        while loader.check_data():
            docs.append(loader.get_data())
    except yaml.YAMLError as e:
        raise errors.bad_request(f"error converting YAML to JSON: {str(e).splitlines()[0]}") from None
    finally:
        loader.dispose()
    if len(docs) != 1:
        raise errors.bad_request("error converting YAML to JSON: expected exactly one YAML document")
    dups = [text for _, text in sorted(loader.duplicate_keys)]  # in document order, as go-yaml
    strict = ["yaml: unmarshal errors:\n  " + "\n  ".join(dups)] if dups else []
    return _yaml_to_json_compatible(docs[0]), strict


def _yaml_to_json_compatible(v: Any) -> Any:
    # YAML timestamps and other non-JSON scalars become strings as upstream's yaml→json does.
    if isinstance(v, dict):
        return {str(k): _yaml_to_json_compatible(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_yaml_to_json_compatible(x) for x in v]
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


def decode_object_body(body: bytes, content_type: str, *, protobuf_decoder: Any = None,
                       strict_errors: list[str] | None = None) -> dict[str, Any]:
    """Decode a create/update body into an object dict; YAML duplicate-key errors are appended
    to `strict_errors` when given."""
    mt = media_type(content_type) or JSON
    if mt == JSON:
        obj = decode_json(body)
    elif mt in (YAML, "application/x-yaml", "text/yaml"):
        obj, yaml_strict = decode_yaml_checked(body)
        if strict_errors is not None:
            strict_errors.extend(yaml_strict)
    elif mt == PROTOBUF:
        if protobuf_decoder is None:
            raise errors.unsupported_media_type(mt)
        try:
            obj = protobuf_decoder(body)
        except ValueError as e:
            raise errors.bad_request(f"error decoding request body: {e}") from None
    else:
        raise errors.unsupported_media_type(mt)
    if not isinstance(obj, dict):
        raise errors.bad_request("error decoding request body: the body must be a JSON object")
    return obj


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


# --- Accept negotiation ------------------------------------------------------------------------


def _accept_entries(accept: str) -> list[tuple[str, dict[str, str]]]:
    out = []
    for part in accept.split(","):
        part = part.strip()
        if not part:
            continue
        fields = [f.strip() for f in part.split(";")]
        params = {}
        for f in fields[1:]:
            if "=" in f:
                k, v = f.split("=", 1)
                params[k.strip().lower()] = v.strip()
        out.append((fields[0].lower(), params))
    return out


def wants_table(accept: str | None) -> bool:
    """True when the Accept header's first acceptable entry asks for a meta.k8s.io Table."""
    if not accept:
        return False
    for mt, params in _accept_entries(accept):
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io":
            return mt in ("application/json", "*/*", "application/*")
        if mt in ("application/json", "*/*", "application/*", PROTOBUF, "application/yaml"):
            return False
    return False


def acceptable(accept: str | None) -> bool:
    """Whether we can answer (we always answer JSON; 406 only when JSON is excluded)."""
    if not accept:
        return True
    for mt, params in _accept_entries(accept):
        if "as" in params and params.get("as") not in ("Table",):
            # e.g. as=PartialObjectMetadata: not served yet; keep looking for a plain type
            continue
        if mt in ("application/json", "*/*", "application/*", PROTOBUF, "application/yaml",
                  "application/vnd.kubernetes.protobuf;stream=watch", "application/json;stream=watch"):
            return True
    return False
