"""Calling a CustomResourceDefinition's conversion webhook over HTTPS.

The thin executor around ``crd.conversion``: it picks the objects that are not yet in the desired
version, posts one ``ConversionReview`` for all of them (a list is converted in one request),
and hands the answer to the pure checks. Where the webhook lives and how it is trusted is
decided exactly as for admission webhooks (``admission.plugins.webhook.client.resolve`` and its
TLS contexts: ``url`` with ``caBundle``, or a Service reference called at its cluster IP with the
certificate checked for ``<name>.<namespace>.svc``).

Failures are ``conversion.ConversionError`` with client-go's texts for the transport
(``Post "<url>?timeout=30s": dial tcp ...: connect: connection refused``).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp

from kybernetes.apiserver.admission.plugins.webhook import client as hook_client
from kybernetes.apiserver.crd import conversion
from kybernetes.machinery import errors

Obj = dict[str, Any]
ServiceLookup = Callable[[str, str], Obj | None]


async def convert(
    webhook: Obj,
    objects: list[Obj],
    desired_api_version: str,
    *,
    get_service: ServiceLookup,
    timeout_seconds: float = conversion.TIMEOUT_SECONDS,
) -> list[Obj]:
    """`objects` in `desired_api_version`, in the same order; those already in it are not sent.
    Raises conversion.ConversionError."""
    todo = [o for o in objects if conversion.needs_webhook(o, desired_api_version)]
    if not todo:
        return list(objects)
    version = conversion.review_version(webhook)
    if version is None:
        first = todo[0]
        raise conversion.ConversionError(
            f"conversion for {conversion.gvk_text(first.get('apiVersion'), first.get('kind'))} failed: "
            "no supported conversion review versions"
        )
    try:
        target = hook_client.resolve(webhook.get("clientConfig") or {}, get_service)
    except ValueError as e:
        raise conversion.call_failed(todo[0], str(e)) from None
    uid = str(uuid.uuid4())
    review = conversion.build_review(version, uid=uid, desired_api_version=desired_api_version, objects=todo)
    answer = await post(target, review, timeout_seconds=timeout_seconds, first=todo[0])
    try:
        converted = conversion.converted_objects(answer, version=version, uid=uid)
    except ValueError as e:
        raise conversion.call_failed(todo[0], str(e)) from None
    return conversion.merge_converted(objects, converted, desired_api_version=desired_api_version)


def uses_webhook(custom: Any) -> bool:
    """Whether a resource's ``custom`` slot (crd.model.CustomVersion) converts by webhook."""
    return getattr(custom, "webhook", None) is not None


async def to_served(custom: Any, objects: list[Obj], get_service: ServiceLookup) -> list[Obj]:
    """Stored objects (in whatever version each was written) as the version `custom` serves:
    converted in one review, then pruned and defaulted by that version's schema as upstream's
    decoder does; objects already in the version only get read-time defaults."""
    try:
        converted = await convert(custom.webhook, objects, custom.group_version, get_service=get_service)
    except conversion.ConversionError as e:
        raise errors.StatusError(500, "", str(e)) from None
    out: list[Obj] = []
    for before, after in zip(objects, converted, strict=True):
        if after is before:
            out.append(custom.from_storage(after))
        else:
            pruned, _ = custom.prune_and_default(after)
            out.append(pruned)
    return out


async def to_stored(custom: Any, obj: Obj, get_service: ServiceLookup) -> Obj:
    """A request's object (in the version `custom` serves) in the storage version."""
    obj["apiVersion"] = custom.group_version
    obj["kind"] = custom.kind
    try:
        converted = await convert(
            custom.webhook, [obj], f"{custom.group}/{custom.storage_version}", get_service=get_service
        )
    except conversion.ConversionError as e:
        raise errors.StatusError(500, "", str(e)) from None
    return converted[0]


async def post(target: hook_client.Target, review: Obj, *, timeout_seconds: float, first: Obj) -> Any:
    """POST the review; the decoded JSON answer, or a ConversionError naming the transport failure."""
    url = f"{target.url}?timeout={int(timeout_seconds)}s"
    where = f"Post {json.dumps(url)}"
    try:
        ctx = hook_client.ssl_context(target.ca_bundle)
    except (ValueError, ssl.SSLError) as e:
        raise conversion.call_failed(first, str(e)) from None
    headers = {"Content-Type": "application/json", "Accept": "application/json, */*"}
    kwargs: dict[str, Any] = {}
    if target.server_hostname:
        kwargs["server_hostname"] = target.server_hostname
    try:
        async with asyncio.timeout(timeout_seconds):
            connector = aiohttp.TCPConnector(ssl=ctx, force_close=True)
            async with (
                aiohttp.ClientSession(connector=connector) as session,
                session.post(url, data=json.dumps(review).encode(), headers=headers, **kwargs) as resp,
            ):
                raw = await resp.read()
                status = resp.status
    except TimeoutError:
        raise conversion.call_failed(first, f"{where}: context deadline exceeded") from None
    except aiohttp.ClientConnectorError as e:
        raise conversion.call_failed(first, f"{where}: {hook_client._dial_error(target.url, e)}") from None
    except (aiohttp.ClientError, OSError) as e:
        raise conversion.call_failed(first, f"{where}: {e}") from None
    if not 200 <= status < 300:
        raise conversion.call_failed(first, hook_client._status_text(status, raw))
    try:
        return json.loads(raw)
    except ValueError as e:
        raise conversion.call_failed(first, f"couldn't get version/kind; json parse error: {e}") from None
