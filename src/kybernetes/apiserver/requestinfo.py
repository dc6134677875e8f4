"""Parse a request path into what it addresses, as upstream's RequestInfoFactory does.

    /api/v1/namespaces/default/pods/web/status
      -> api_prefix "api", group "", version "v1", namespace "default",
         resource "pods", name "web", subresource "status", verb from the method

Namespaces are special: ``/api/v1/namespaces/foo`` is the namespace object itself and
``/api/v1/namespaces/foo/status`` (or ``/finalize``) its subresource.
"""

from __future__ import annotations

from dataclasses import dataclass

NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass(frozen=True, slots=True)
class RequestInfo:
    is_resource_request: bool
    path: str
    verb: str  # get, list, watch, create, update, patch, delete, deletecollection (or the HTTP verb)
    api_prefix: str = ""
    group: str = ""
    version: str = ""
    namespace: str = ""
    resource: str = ""
    name: str = ""
    subresource: str = ""
    parts: tuple[str, ...] = ()


def parse_request(method: str, path: str, *, watch_param: bool) -> RequestInfo:
    """`watch_param` is the truthiness of the `watch` query parameter."""
    method = method.upper()
    segments = [s for s in path.strip("/").split("/") if s != ""] if path != "/" else []
    nonresource = RequestInfo(False, path, method.lower())
    if not segments or segments[0] not in ("api", "apis"):
        return nonresource
    prefix = segments[0]
    rest = segments[1:]
    if prefix == "api":
        group = ""
        if len(rest) < 1:
            return nonresource
        version, rest = rest[0], rest[1:]
    else:
        if len(rest) < 2:
            return nonresource
        group, version, rest = rest[0], rest[1], rest[2:]
    if not rest:
        return RequestInfo(False, path, method.lower(), api_prefix=prefix, group=group, version=version)

    # Legacy watch paths (/api/v1/watch/...) are deprecated upstream; still understood.
    watch_prefix = False
    if rest[0] == "watch":
        watch_prefix = True
        rest = rest[1:]

    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    parts = tuple(rest)
    resource = parts[0] if parts else ""
    name = parts[1] if len(parts) > 1 else ""
    subresource = parts[2] if len(parts) > 2 else ""
    if resource == "namespaces":
        # the namespace object itself; its name is the "namespace" we parsed
        namespace = ""
    if len(parts) > 3 and subresource not in ("proxy",):
        # deeper paths exist only under proxy subresources
        pass

    if method == "GET":
        if watch_prefix or watch_param:
            verb = "watch"
        elif name:
            verb = "get"
        else:
            verb = "list"
    elif method == "POST":
        verb = "create"
    elif method == "PUT":
        verb = "update"
    elif method == "PATCH":
        verb = "patch"
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = method.lower()
    return RequestInfo(
        True,
        path,
        verb,
        api_prefix=prefix,
        group=group,
        version=version,
        namespace=namespace,
        resource=resource,
        name=name,
        subresource=subresource,
        parts=parts,
    )
