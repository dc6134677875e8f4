"""What files a configMap, secret, downwardAPI or projected volume shows, as pure functions.

Each function turns a volume source plus the API objects it names into a payload
(relative path → FileProjection) for the atomic writer; fetching the objects and writing the
files is the manager's business. Semantics follow the upstream kubelet:

* ``defaultMode`` is 0644 unless the source sets it; an item's ``mode`` overrides it.
* Without ``items`` every key becomes a file named after the key (configMap: ``data`` and
  ``binaryData``; secret: base64-decoded ``data``).
* A missing object or key fails the volume unless the source is ``optional``; messages are the
  kubelet's (``configmap "x" not found``, ``configmap references non-existent config key: k``).
* Downward API files: ``metadata.labels``/``annotations`` as sorted ``key="value"`` lines with the
  value quoted like Go's %q; resources from ``resourceFieldRef`` divided by ``divisor`` and rounded
  up, with unset limits taken from the node's allocatable.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Mapping
from typing import Any

from kybernetes.kubelet.volumes.atomic_writer import FileProjection
from kybernetes.machinery.quantity import parse_quantity

DEFAULT_MODE = 0o644
# With fsUser/fsGroup set, a token starts private and the group read bit is added by ownership.
TOKEN_MODE_WITH_FS_GROUP = 0o600

Payload = dict[str, FileProjection]


class VolumeSetupError(Exception):
    """A volume cannot be set up (yet); the message is what the kubelet reports in events.

    ``volume`` names the pod volume when known; ``failures`` maps every failed volume of a
    pod to its message when the manager set up several.
    """

    def __init__(self, message: str, *, volume: str | None = None,
                 failures: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.volume = volume
        self.failures = failures or {}


def _mode(value: Any, default: int) -> int:
    return int(value) if value is not None else default


def _key_files(
    keys: Mapping[str, bytes], items: list[dict[str, Any]] | None, default_mode: int,
    *, optional: bool, missing_key: str,
) -> Payload:
    if not items:
        return {key: FileProjection(data, default_mode) for key, data in keys.items()}
    out: Payload = {}
    for item in items:
        key = item.get("key", "")
        if key not in keys:
            if optional:
                continue
            raise VolumeSetupError(f"{missing_key}: {key}")
        out[item.get("path") or key] = FileProjection(keys[key], _mode(item.get("mode"), default_mode))
    return out


def configmap_keys(configmap: Mapping[str, Any]) -> dict[str, bytes]:
    """Every key of a ConfigMap as bytes; ``data`` wins over ``binaryData`` (the API forbids both)."""
    out: dict[str, bytes] = {}
    for key, value in (configmap.get("binaryData") or {}).items():
        out[key] = _b64(value, f"configmap binaryData key {key}")
    for key, value in (configmap.get("data") or {}).items():
        out[key] = str(value).encode()
    return out


def secret_keys(secret: Mapping[str, Any]) -> dict[str, bytes]:
    return {key: _b64(value, f"secret key {key}") for key, value in (secret.get("data") or {}).items()}


def _b64(value: Any, what: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError) as e:
        raise VolumeSetupError(f"{what} is not valid base64: {e}") from e


def configmap_payload(
    volume_source: Mapping[str, Any], configmap: Mapping[str, Any] | None, default_mode: int | None = None,
) -> Payload:
    """Files of a ``configMap`` volume (or configMap projection with the projected defaultMode)."""
    optional = bool(volume_source.get("optional"))
    mode = _mode(volume_source.get("defaultMode") if default_mode is None else default_mode, DEFAULT_MODE)
    if configmap is None:
        if not optional:
            raise VolumeSetupError(f'configmap "{volume_source.get("name", "")}" not found')
        configmap = {}
    return _key_files(configmap_keys(configmap), volume_source.get("items"), mode, optional=optional,
                      missing_key="configmap references non-existent config key")


def secret_payload(
    volume_source: Mapping[str, Any], secret: Mapping[str, Any] | None, default_mode: int | None = None,
    *, name_field: str = "secretName",
) -> Payload:
    """Files of a ``secret`` volume; a secret projection names its object in ``name``."""
    optional = bool(volume_source.get("optional"))
    mode = _mode(volume_source.get("defaultMode") if default_mode is None else default_mode, DEFAULT_MODE)
    if secret is None:
        if not optional:
            raise VolumeSetupError(f'secret "{volume_source.get(name_field, "")}" not found')
        secret = {}
    return _key_files(secret_keys(secret), volume_source.get("items"), mode, optional=optional,
                      missing_key="references non-existent secret key")


# --- downward API -------------------------------------------------------------------------------

def go_quote(s: str) -> str:
    """``s`` as Go's %q writes it: double quotes, Go escapes, non-printable runes as \\x/\\u/\\U."""
    named = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
             '"': '\\"', "\\": "\\\\"}
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch in named:
            out.append(named[ch])
        elif ch.isprintable():
            out.append(ch)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def format_map(m: Mapping[str, str]) -> str:
    """Labels or annotations as the downward API writes them: sorted ``key="value"`` lines."""
    return "\n".join(f"{key}={go_quote(str(m[key]))}" for key in sorted(m))


def _split_subscript(field_path: str) -> tuple[str, str | None]:
    """``metadata.labels['app']`` → (``metadata.labels``, ``app``)."""
    if field_path.endswith("']"):
        base, sep, key = field_path[:-2].partition("['")
        if sep and base:
            return base, key
    return field_path, None


def pod_field_value(pod: Mapping[str, Any], field_path: str) -> str:
    meta = pod.get("metadata") or {}
    base, key = _split_subscript(field_path)
    if key is not None:
        if base == "metadata.labels":
            return str((meta.get("labels") or {}).get(key, ""))
        if base == "metadata.annotations":
            return str((meta.get("annotations") or {}).get(key, ""))
        raise VolumeSetupError(f"fieldPath {field_path!r} does not support subscript")
    simple = {"metadata.name": "name", "metadata.namespace": "namespace", "metadata.uid": "uid"}
    if field_path in simple:
        return str(meta.get(simple[field_path], ""))
    if field_path == "metadata.labels":
        return format_map(meta.get("labels") or {})
    if field_path == "metadata.annotations":
        return format_map(meta.get("annotations") or {})
    raise VolumeSetupError(f"unsupported fieldPath: {field_path}")


def _find_container(pod: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    spec = pod.get("spec") or {}
    for c in (*(spec.get("containers") or ()), *(spec.get("initContainers") or ())):
        if c.get("name") == name:
            return c  # type: ignore[no-any-return]
    raise VolumeSetupError(f"container {name} not found")


def container_resource_value(
    selector: Mapping[str, Any], container: Mapping[str, Any], node_allocatable: Mapping[str, Any],
) -> str:
    """A ``resourceFieldRef`` value: the quantity divided by ``divisor``, rounded up, as an integer."""
    resource = str(selector.get("resource", ""))
    kind, _, name = resource.partition(".")
    if kind not in ("limits", "requests") or not name or not (
            name in ("cpu", "memory", "ephemeral-storage") or name.startswith("hugepages-")):
        raise VolumeSetupError(f"unsupported container resource : {resource}")
    resources = container.get("resources") or {}
    values = dict(resources.get(kind) or {})
    if (kind == "limits" and name in ("cpu", "memory", "ephemeral-storage") and name not in values
            and name in node_allocatable):
        values[name] = node_allocatable[name]  # an unset limit means "all the node can give"
    divisor = parse_quantity(str(selector.get("divisor") or "1"))
    if divisor.is_zero():
        divisor = parse_quantity("1")
    value = parse_quantity(str(values.get(name, "0")))
    if name == "cpu":
        return str(math.ceil(value.milli_value() / divisor.milli_value()))
    return str(math.ceil(value.value_int() / divisor.value_int()))


def downward_api_payload(
    items: list[dict[str, Any]] | None, pod: Mapping[str, Any], node_allocatable: Mapping[str, Any],
    default_mode: int = DEFAULT_MODE,
) -> Payload:
    out: Payload = {}
    errors: list[str] = []
    for item in items or ():
        path = str(item.get("path", ""))
        mode = _mode(item.get("mode"), default_mode)
        try:
            if item.get("fieldRef"):
                data = pod_field_value(pod, str(item["fieldRef"].get("fieldPath", "")))
            elif item.get("resourceFieldRef"):
                ref = item["resourceFieldRef"]
                container = _find_container(pod, str(ref.get("containerName", "")))
                data = container_resource_value(ref, container, node_allocatable)
            else:
                data = ""
        except VolumeSetupError as e:
            errors.append(str(e))
            continue
        out[path] = FileProjection(data.encode(), mode)
    if errors:
        raise VolumeSetupError(aggregate(errors))
    return out


def aggregate(errors: list[str]) -> str:
    """Several errors in one message, as upstream's aggregate error prints them."""
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"


# --- projected ----------------------------------------------------------------------------------

def projected_payload(
    volume_source: Mapping[str, Any],
    pod: Mapping[str, Any],
    *,
    get_configmap: Callable[[str], Mapping[str, Any] | None],
    get_secret: Callable[[str], Mapping[str, Any] | None],
    node_allocatable: Mapping[str, Any],
    service_account_token: Callable[[Mapping[str, Any]], str] | None = None,
    fs_owner_set: bool = False,
) -> Payload:
    """Files of a ``projected`` volume; ``get_*`` return the already fetched object or None.

    ``service_account_token(projection)`` returns the token for a ``serviceAccountToken``
    source; without it such sources are skipped. ``clusterTrustBundle`` sources are ignored.
    ``fs_owner_set`` (the pod has fsGroup) makes tokens 0600 before ownership adds group read.
    """
    mode = _mode(volume_source.get("defaultMode"), DEFAULT_MODE)
    out: Payload = {}
    errors: list[str] = []
    for source in volume_source.get("sources") or ():
        try:
            if source.get("configMap") is not None:
                cm = source["configMap"]
                out.update(configmap_payload(cm, get_configmap(str(cm.get("name", ""))), mode))
            elif source.get("secret") is not None:
                sec = source["secret"]
                out.update(secret_payload(sec, get_secret(str(sec.get("name", ""))), mode, name_field="name"))
            elif source.get("downwardAPI") is not None:
                out.update(downward_api_payload(source["downwardAPI"].get("items"), pod, node_allocatable, mode))
            elif source.get("serviceAccountToken") is not None and service_account_token is not None:
                projection = source["serviceAccountToken"]
                token = service_account_token(projection)
                token_mode = TOKEN_MODE_WITH_FS_GROUP if fs_owner_set else mode
                out[str(projection.get("path", ""))] = FileProjection(token.encode(), token_mode)
        except VolumeSetupError as e:
            errors.append(str(e))
    if errors:
        raise VolumeSetupError(aggregate(errors))
    return out


def needs_memory_medium(volume: Mapping[str, Any]) -> bool:
    """Whether a volume holds secrets and so must live on tmpfs, never on disk."""
    if volume.get("secret") is not None:
        return True
    projected = volume.get("projected")
    if projected is None:
        return False
    return any(s.get("secret") is not None or s.get("serviceAccountToken") is not None
               for s in projected.get("sources") or ())
