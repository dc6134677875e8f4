"""API errors as clients see them: the server's decoded Status, and predicates on it.

Controllers branch on a handful of outcomes (not found, conflict, already exists, gone), so those
are predicates over any exception rather than a class hierarchy to catch.
"""

from __future__ import annotations

from typing import Any

# What a Status says when the body was not one (a proxy's HTML page, an empty 503).
_REASONS = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
    406: "NotAcceptable", 409: "Conflict", 410: "Gone", 413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests", 500: "InternalError",
    503: "ServiceUnavailable", 504: "Timeout",
}


class APIError(Exception):
    """A request the API server refused; `status` is its Status object."""

    def __init__(self, status: dict[str, Any]) -> None:
        self.status = status
        super().__init__(f"{self.code} {self.reason}: {self.message}")

    @property
    def code(self) -> int:
        return int(self.status.get("code") or 0)

    @property
    def reason(self) -> str:
        return str(self.status.get("reason") or "")

    @property
    def message(self) -> str:
        return str(self.status.get("message") or "")

    @property
    def details(self) -> dict[str, Any]:
        d = self.status.get("details")
        return d if isinstance(d, dict) else {}


def status_from_response(code: int, body: Any, text: str = "") -> dict[str, Any]:
    """The Status a failed response carries, or one made up from its code when it carries none."""
    if isinstance(body, dict) and body.get("kind") == "Status":
        out = dict(body)
        out.setdefault("code", code)
        return out
    message = text.strip() or f"the server responded with the status code {code}"
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": _REASONS.get(code, "Unknown"), "code": code}


def _code(err: BaseException | None) -> int:
    return err.code if isinstance(err, APIError) else 0


def _reason(err: BaseException | None) -> str:
    return err.reason if isinstance(err, APIError) else ""


def is_not_found(err: BaseException | None) -> bool:
    return _reason(err) == "NotFound" or (_code(err) == 404 and not _reason(err))


def is_conflict(err: BaseException | None) -> bool:
    return _reason(err) == "Conflict" or (_code(err) == 409 and _reason(err) != "AlreadyExists")


def is_already_exists(err: BaseException | None) -> bool:
    return _reason(err) == "AlreadyExists"


def is_gone(err: BaseException | None) -> bool:
    """410: a watch or continue token from a resourceVersion the server no longer has."""
    return _code(err) == 410 or _reason(err) in ("Gone", "Expired")


def is_invalid(err: BaseException | None) -> bool:
    return _reason(err) == "Invalid" or _code(err) == 422


def is_forbidden(err: BaseException | None) -> bool:
    return _code(err) == 403


def is_too_many_requests(err: BaseException | None) -> bool:
    return _code(err) == 429
