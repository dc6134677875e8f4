"""postStart and preStop hooks: run one lifecycle handler and say what went wrong, if anything.

The agent calls ``run_handler`` right after StartContainer (postStart) and before StopContainer
(preStop, bounded by the grace period it passes as ``timeout``). The result is ``None`` on success
or the upstream-worded failure message, which the agent puts into a ``FailedPostStartHook`` /
``FailedPreStopHook`` event. Upstream facts this follows (kubelet 1.32):

1. exec runs through CRI ExecSync with no timeout of its own; a non-zero exit is a failure whose
   error reads ``command '<argv>' exited with <code>: <stderr>``.
2. httpGet targets the pod IP unless ``host`` is set; any HTTP response, whatever its status, is a
   success (only a failed exchange fails). User-Agent ``kube-lifecycle/1.32``, certificates not
   verified; an HTTPS hook answered in plain HTTP is retried once over HTTP.
3. sleep waits ``seconds``; it fails only when the grace period ends first.
4. A failed postStart kills the container; the agent reports the start as failed with the reason
   ``PostStartHookError`` and this message (see ``post_start_error``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from kybernetes.kubelet.prober.handlers import (
    ExecSync,
    HttpRequest,
    build_http_request,
    go_quote,
    http_get,
)

POST_START_HOOK_ERROR = "PostStartHookError"      # the start failure's reason (waiting reason)
EVENT_FAILED_POST_START = "FailedPostStartHook"   # event reasons
EVENT_FAILED_PRE_STOP = "FailedPreStopHook"


def format_pod(pod: dict[str, Any]) -> str:
    """How upstream names a pod in messages: ``name_namespace(uid)``."""
    meta = pod.get("metadata") or {}
    return f"{meta.get('name', '')}_{meta.get('namespace', '')}({meta.get('uid', '')})"


def post_start_error(container_name: str, message: str) -> str:
    """The StartContainer sync error text that a failed postStart leaves."""
    return f"failed to \"StartContainer\" for {go_quote(container_name)} with {POST_START_HOOK_ERROR}: {go_quote(message)}"


def _pod_ip(pod: dict[str, Any]) -> str:
    status = pod.get("status") or {}
    ips = [entry.get("ip", "") for entry in status.get("podIPs") or []]
    return str((ips[0] if ips and ips[0] else None) or status.get("podIP") or "")


async def _run_exec(command: list[str], container_id: str, exec_sync: ExecSync,
                    timeout: float | None) -> tuple[str, str] | None:
    """(error, output) when the command failed, None when it exited 0."""
    argv = [str(a) for a in command]
    try:
        # 0 asks the runtime for no deadline, as upstream passes; the grace period bounds us here.
        code, stdout, stderr = await asyncio.wait_for(exec_sync(container_id, argv, 0.0), timeout)
    except TimeoutError:
        return f"command {go_quote(' '.join(argv))} timed out", ""
    except Exception as exc:
        return str(exc) or type(exc).__name__, ""
    if code == 0:
        return None
    err = f"command '{' '.join(argv)}' exited with {code}: {stderr.decode(errors='replace')}"
    return err, (stdout + stderr).decode(errors="replace")


async def _run_http(action: dict[str, Any], container: dict[str, Any], pod_ip: str,
                    timeout: float | None) -> str | None:
    """The error of the HTTP exchange, or None when any response came back."""
    if not action.get("host") and not pod_ip:
        return "failed to find networking container"
    try:
        request = build_http_request(action, container=container, pod_ip=pod_ip, purpose="lifecycle")
    except ValueError as exc:
        return str(exc)
    resp = await http_get(request, timeout=timeout)
    if resp.status is None and resp.tls_failed and request.url.startswith("https://"):
        plain = HttpRequest(url="http://" + request.url[len("https://"):],
                            headers=tuple(h for h in request.headers if h[0].lower() != "authorization"),
                            skip_auto=request.skip_auto)
        retry = await http_get(plain, timeout=timeout)
        if retry.status is not None:
            return None
    return resp.error if resp.status is None else None


async def run_handler(handler: dict[str, Any], pod: dict[str, Any], container: dict[str, Any],
                      container_id: str, *, exec_sync: ExecSync, pod_ip: str | None = None,
                      timeout: float | None = None) -> str | None:
    """Run a postStart/preStop handler; None on success, else the failure message.

    ``pod_ip`` defaults to the pod's status; ``timeout`` (seconds, None = unbounded) is the time
    left in the grace period for preStop.
    """
    name = str(container.get("name", ""))
    where = f"for Container {go_quote(name)} in Pod {go_quote(format_pod(pod))}"
    if handler.get("exec") is not None:
        command = list((handler["exec"] or {}).get("command") or [])
        failed = await _run_exec(command, container_id, exec_sync, timeout)
        if failed is None:
            return None
        err, output = failed
        return (f"Exec lifecycle hook ([{' '.join(str(a) for a in command)}]) {where} failed - "
                f"error: {err}, message: {go_quote(output)}")
    if handler.get("httpGet") is not None:
        action = handler["httpGet"] or {}
        ip = _pod_ip(pod) if pod_ip is None else pod_ip
        error = await _run_http(action, container, ip, timeout)
        if error is None:
            return None
        return f"HTTP lifecycle hook ({action.get('path', '')}) {where} failed - error: {error}"
    if handler.get("sleep") is not None:
        seconds = int((handler["sleep"] or {}).get("seconds") or 0)
        try:
            await asyncio.wait_for(asyncio.sleep(seconds), timeout)
        except TimeoutError:
            return (f"Sleep lifecycle hook ({seconds}) {where} failed - "
                    "error: container terminated before sleep hook finished")
        return None
    return f"Cannot run handler: invalid handler: {handler}"
