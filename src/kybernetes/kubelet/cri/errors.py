"""Errors from CRI calls, so the kubelet can react to them without importing grpc.

The runtime reports failures as gRPC status codes; the kubelet cares about a few of them (a sandbox
or container that is already gone, a call the runtime does not serve, a runtime that is down or
slow) and treats the rest alike.
"""

from __future__ import annotations


class CRIError(Exception):
    """A CRI call failed. ``code`` is the gRPC status name (e.g. ``"INTERNAL"``)."""

    def __init__(self, code: str, message: str, method: str = "") -> None:
        self.code = code
        self.message = message
        self.method = method
        where = f"{method}: " if method else ""
        super().__init__(f"{where}{code}: {message}")


class NotFound(CRIError):
    """The sandbox, container or image does not exist (gRPC NOT_FOUND)."""


class Unimplemented(CRIError):
    """The runtime does not serve this call (gRPC UNIMPLEMENTED)."""


class Unavailable(CRIError):
    """The runtime cannot be reached, e.g. containerd is restarting (gRPC UNAVAILABLE)."""


class DeadlineExceeded(CRIError):
    """The call took longer than its deadline (gRPC DEADLINE_EXCEEDED)."""


_BY_CODE: dict[str, type[CRIError]] = {
    "NOT_FOUND": NotFound,
    "UNIMPLEMENTED": Unimplemented,
    "UNAVAILABLE": Unavailable,
    "DEADLINE_EXCEEDED": DeadlineExceeded,
}


def error_for(code: str, message: str, method: str = "") -> CRIError:
    """The exception class that matches a gRPC status code name."""
    return _BY_CODE.get(code, CRIError)(code, message, method)
