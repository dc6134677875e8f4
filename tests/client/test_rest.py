"""APIClient verbs against a real `kyb server`: CRUD, errors, paging, patch types, delete options, watch."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from kybernetes.client.errors import APIError, is_already_exists, is_conflict, is_gone, is_not_found
from kybernetes.client.rest import APIClient, ResourceRef, WatchEvent, resource, resource_path

CONFIGMAPS = resource("v1", "configmaps")
PODS = resource("v1", "pods")
NODES = resource("v1", "nodes")
DEPLOYMENTS = resource("apps/v1", "deployments")


def cm(name: str, **data: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


@pytest.mark.parametrize(("res", "kw", "path"), [
    pytest.param(CONFIGMAPS, {"namespace": "a"}, "/api/v1/namespaces/a/configmaps", id="core-collection"),
    pytest.param(CONFIGMAPS, {}, "/api/v1/configmaps", id="all-namespaces"),
    pytest.param(DEPLOYMENTS, {"namespace": "a", "name": "d", "subresource": "scale"},
                 "/apis/apps/v1/namespaces/a/deployments/d/scale", id="group-subresource"),
    pytest.param(NODES, {"namespace": "ignored", "name": "n1"}, "/api/v1/nodes/n1", id="cluster-scoped"),
    pytest.param(ResourceRef("example.com", "v1", "widgets", True), {"namespace": "x", "name": "w"},
                 "/apis/example.com/v1/namespaces/x/widgets/w", id="ad-hoc"),
])
def test_resource_path(res: ResourceRef, kw: dict[str, str], path: str) -> None:
    assert resource_path(res, **kw) == path


def test_resource_lookup_needs_scope_for_unknown() -> None:
    assert resource("apps/v1", "deployments").namespaced
    with pytest.raises(ValueError):
        resource("example.com/v1", "widgets")
    assert resource("example.com/v1", "widgets", namespaced=False) == ResourceRef("example.com", "v1", "widgets", False)


async def test_crud_and_error_predicates(client: APIClient, ns: str) -> None:
    created = await client.create(CONFIGMAPS, cm("a", x="1"), namespace=ns)
    assert created["metadata"]["namespace"] == ns and created["data"] == {"x": "1"}
    assert created["metadata"]["managedFields"][0]["manager"] == "kyb-client-tests"
    with pytest.raises(APIError) as exc:
        await client.create(CONFIGMAPS, cm("a"), namespace=ns)
    assert is_already_exists(exc.value) and exc.value.code == 409 and not is_conflict(exc.value)
    got = await client.get(CONFIGMAPS, "a", namespace=ns)
    updated = await client.update(CONFIGMAPS, dict(got, data={"x": "2"}))
    assert updated["data"] == {"x": "2"}
    with pytest.raises(APIError) as exc:
        await client.update(CONFIGMAPS, dict(got, data={"x": "3"}))  # stale resourceVersion
    assert is_conflict(exc.value) and exc.value.reason == "Conflict"
    await client.delete(CONFIGMAPS, "a", namespace=ns)
    with pytest.raises(APIError) as exc:
        await client.get(CONFIGMAPS, "a", namespace=ns)
    err = exc.value
    assert is_not_found(err) and err.message == 'configmaps "a" not found' and err.details["name"] == "a"
    assert not is_not_found(ValueError()) and not is_gone(err)


async def test_list_selectors_and_pages(client: APIClient, ns: str) -> None:
    for i in range(7):
        body = cm(f"c{i}")
        body["metadata"] = {"name": f"c{i}", "labels": {"parity": "odd" if i % 2 else "even"}}
        await client.create(CONFIGMAPS, body, namespace=ns)
    odd = await client.list(CONFIGMAPS, namespace=ns, label_selector="parity=odd")
    assert [i["metadata"]["name"] for i in odd["items"]] == ["c1", "c3", "c5"]
    named = await client.list(CONFIGMAPS, namespace=ns, field_selector="metadata.name=c4")
    assert [i["metadata"]["name"] for i in named["items"]] == ["c4"]
    pages = [p async for p in client.list_pages(CONFIGMAPS, namespace=ns, page_size=3)]
    assert [len(p["items"]) for p in pages] == [3, 3, 1]
    items, rv = await client.list_all(CONFIGMAPS, namespace=ns, page_size=2)
    assert [i["metadata"]["name"] for i in items] == [f"c{i}" for i in range(7)] and int(rv) > 0


async def test_patch_types(client: APIClient, ns: str) -> None:
    await client.create(CONFIGMAPS, cm("p", a="1"), namespace=ns)
    out = await client.patch(CONFIGMAPS, "p", {"data": {"b": "2"}}, namespace=ns)
    assert out["data"] == {"a": "1", "b": "2"}
    out = await client.patch(CONFIGMAPS, "p", {"metadata": {"labels": {"s": "y"}}}, namespace=ns,
                             patch_type="strategic")
    assert out["metadata"]["labels"] == {"s": "y"}
    out = await client.patch(CONFIGMAPS, "p", [{"op": "remove", "path": "/data/a"}], namespace=ns, patch_type="json")
    assert out["data"] == {"b": "2"}
    applied = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p"}, "data": {"b": "3"}}
    # (the server does not detect apply conflicts yet; force is sent and accepted)
    out = await client.patch(CONFIGMAPS, "p", applied, namespace=ns, patch_type="apply", field_manager="other",
                             force=True)
    assert out["data"]["b"] == "3"
    assert "other" in [m["manager"] for m in out["metadata"]["managedFields"] if m["operation"] == "Apply"]
    with pytest.raises(ValueError):
        await client.patch(CONFIGMAPS, "p", {}, namespace=ns, force=True)


async def test_delete_preconditions_and_dry_run(client: APIClient, ns: str) -> None:
    obj = await client.create(CONFIGMAPS, cm("d"), namespace=ns)
    with pytest.raises(APIError) as exc:
        await client.delete(CONFIGMAPS, "d", namespace=ns, preconditions={"uid": "not-the-uid"})
    assert is_conflict(exc.value)
    await client.delete(CONFIGMAPS, "d", namespace=ns, dry_run=True)
    await client.get(CONFIGMAPS, "d", namespace=ns)
    await client.delete(CONFIGMAPS, "d", namespace=ns, grace_period_seconds=0, propagation_policy="Background",
                        preconditions={"uid": obj["metadata"]["uid"],
                                       "resourceVersion": obj["metadata"]["resourceVersion"]})
    with pytest.raises(APIError) as exc:
        await client.get(CONFIGMAPS, "d", namespace=ns)
    assert is_not_found(exc.value)


async def test_status_and_subresources(client: APIClient, ns: str) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    created = await client.create(PODS, pod, namespace=ns)
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"},
               "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"}}
    await client.create_subresource(PODS, "p", "binding", binding, namespace=ns)
    bound = await client.get(PODS, "p", namespace=ns)
    assert bound["spec"]["nodeName"] == "node-1"
    bound["status"] = {"phase": "Running"}
    bound["spec"]["nodeName"] = "ignored-by-status"
    written = await client.update_status(PODS, bound)
    assert written["status"]["phase"] == "Running" and written["spec"]["nodeName"] == "node-1"
    status = await client.get_subresource(PODS, "p", "status", namespace=ns)
    assert status["status"]["phase"] == "Running" and status["metadata"]["uid"] == created["metadata"]["uid"]


async def test_watch_from_resource_version(client: APIClient, ns: str) -> None:
    start = (await client.list(CONFIGMAPS, namespace=ns))["metadata"]["resourceVersion"]
    await client.create(CONFIGMAPS, cm("w1"), namespace=ns)
    await client.patch(CONFIGMAPS, "w1", {"data": {"k": "v"}}, namespace=ns)
    await client.delete(CONFIGMAPS, "w1", namespace=ns)
    seen: list[tuple[str, str]] = []
    async for ev in client.watch(CONFIGMAPS, namespace=ns, resource_version=start, timeout_seconds=1):
        assert isinstance(ev, WatchEvent)
        seen.append((ev.type, ev.object["metadata"]["name"]))
    assert seen == [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")]


async def test_watch_streams_live_events_and_big_objects(client: APIClient, ns: str) -> None:
    big = "x" * 300_000  # longer than aiohttp's line buffer: lines must be reassembled across chunks
    got: list[tuple[str, int]] = []

    async def consume() -> None:
        async with contextlib.aclosing(client.watch(CONFIGMAPS, namespace=ns, timeout_seconds=5)) as events:
            async for etype, obj in events:
                got.append((etype, len((obj.get("data") or {}).get("big", ""))))
                if len(got) == 2:
                    return

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.2)
    await client.create(CONFIGMAPS, cm("big", big=big), namespace=ns)
    await client.create(CONFIGMAPS, cm("small"), namespace=ns)
    await asyncio.wait_for(task, 5)
    assert got == [("ADDED", 300_000), ("ADDED", 0)]


async def test_watch_error_event_raises(client: APIClient, ns: str) -> None:
    with pytest.raises(APIError) as exc:
        async for _ in client.watch(CONFIGMAPS, namespace=ns, resource_version="not-a-number"):
            pass
    assert exc.value.code == 400
