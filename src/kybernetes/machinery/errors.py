"""API errors as upstream writes them: a `Status` object with reason, code, details and message.

Clients parse these and sometimes compare message strings (kubectl prints
``Error from server (<reason>): <message>``), so the texts follow upstream's
k8s.io/apimachinery/pkg/api/errors word for word.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Cause:
    type: str  # "FieldValueInvalid", "FieldValueRequired", "FieldValueNotSupported", ...
    message: str
    field: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"reason": self.type, "message": self.message}
        if self.field:
            d["field"] = self.field
        return d


@dataclass(slots=True)
class StatusError(Exception):
    code: int
    reason: str
    message: str
    details: dict[str, Any] | None = None
    causes: list[Cause] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:  # Go omits an empty reason; kubectl then prints "Error from server: ..."
            body["reason"] = self.reason
        details = dict(self.details or {})
        if self.causes:
            details["causes"] = [c.to_dict() for c in self.causes]
        if details:
            body["details"] = details
        body["code"] = self.code
        return body


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def _details(name: str, group: str, kind: str) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    d["kind"] = kind
    return d


def not_found(resource: str, name: str, group: str = "") -> StatusError:
    gr = _qualified(resource, group)
    msg = f'{gr} "{name}" not found' if name else f"{gr} not found"
    return StatusError(404, "NotFound", msg, _details(name, group, resource))


def already_exists(resource: str, name: str, group: str = "") -> StatusError:
    return StatusError(409, "AlreadyExists", f'{_qualified(resource, group)} "{name}" already exists',
                       _details(name, group, resource))


def conflict(resource: str, name: str, group: str = "", reason: str = "") -> StatusError:
    gr = _qualified(resource, group)
    text = reason or "the object has been modified; please apply your changes to the latest version and try again"
    return StatusError(409, "Conflict", f'Operation cannot be fulfilled on {gr} "{name}": {text}',
                       _details(name, group, resource))


def invalid(kind: str, name: str, causes: list[Cause], group: str = "") -> StatusError:
    gk = f"{kind}.{group}" if group else kind
    if len(causes) == 1:
        summary = _cause_text(causes[0])
    else:
        summary = "[" + ", ".join(_cause_text(c) for c in causes) + "]"
    return StatusError(422, "Invalid", f'{gk} "{name}" is invalid: {summary}',
                       _details(name, group, kind), causes=list(causes))


def _cause_text(c: Cause) -> str:
    return f"{c.field}: {c.message}" if c.field else c.message


def bad_request(message: str) -> StatusError:
    return StatusError(400, "BadRequest", message)


def method_not_allowed(message: str = "the server does not allow this method on the requested resource") -> StatusError:
    return StatusError(405, "MethodNotAllowed", message)


def not_acceptable(message: str = "the server was unable to respond with a content type that the client supports") -> StatusError:
    return StatusError(406, "NotAcceptable", message)


def unsupported_media_type(content_type: str) -> StatusError:
    accepted = "application/json, application/yaml, application/vnd.kubernetes.protobuf"
    del content_type  # upstream names only what it accepts
    msg = f"the body of the request was in an unknown format - accepted media types include: {accepted}"
    return StatusError(415, "UnsupportedMediaType", msg)


def request_entity_too_large(message: str = "the request body is too large") -> StatusError:
    return StatusError(413, "RequestEntityTooLarge", message)


def gone(message: str) -> StatusError:
    return StatusError(410, "Expired", message)


def unauthorized(message: str = "Unauthorized") -> StatusError:
    return StatusError(401, "Unauthorized", message)


def forbidden(message: str) -> StatusError:
    return StatusError(403, "Forbidden", message)


def server_not_found() -> StatusError:
    """Unknown URL (upstream's generic 404 for paths no handler serves)."""
    return StatusError(404, "NotFound", "the server could not find the requested resource", {})


def internal(message: str) -> StatusError:
    return StatusError(500, "InternalError", f"Internal error occurred: {message}",
                       {"causes": [{"message": message}]})


def timeout(message: str) -> StatusError:
    return StatusError(504, "Timeout", message)


def too_many_requests(message: str, retry_after: int = 1) -> StatusError:
    return StatusError(429, "TooManyRequests", message, {"retryAfterSeconds": retry_after},
                       headers={"Retry-After": str(retry_after)})


def success_status(details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
    if details is not None:
        body["details"] = details
    return body
