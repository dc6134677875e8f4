"""The web dashboard end to end: a real `kyb server` with simulated nodes and the dashboard on a
free port, driven over HTTP as a browser would, with ServiceAccount tokens from real kubectl.

The admin token (cluster-admin binding) sees and changes things; the viewer token (the `view`
ClusterRole) sees Deployments but gets the API's 403 message when it tries to scale or to list
Secrets — the dashboard acts with the visitor's token only.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from kybernetes.testing.cluster import KybServer, free_port

pytestmark = [pytest.mark.e2e]
EVIL = "<script>alert(1)</script>"


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    env = {
        "KYB_SIM_NODES": "2",
        "KYB_DASHBOARD_LISTEN": f"127.0.0.1:{free_port()}",
        # simulated nodes serve stats; the metrics API scrapes them every second (`kubectl top`)
        "KYB_SIM_STATS_PORT": "0",
        "KYB_METRICS_RESOLUTION": "1",
    }
    server = KybServer(Path(tmp_path_factory.mktemp("kyb-dash")), env=env)
    server.start()
    try:
        server.kubectl("create", "serviceaccount", "dash-admin")
        server.kubectl(
            "create",
            "clusterrolebinding",
            "dash-admin",
            "--clusterrole=cluster-admin",
            "--serviceaccount=default:dash-admin",
        )
        server.kubectl("create", "serviceaccount", "dash-viewer")
        server.kubectl(
            "create",
            "clusterrolebinding",
            "dash-viewer",
            "--clusterrole=view",
            "--serviceaccount=default:dash-viewer",
        )
        server.kubectl("create", "deployment", "web", "--image=busybox:1.36", "--replicas=2")
        server.kubectl("annotate", "deployment", "web", f"note={EVIL}")
        server.kubectl("create", "configmap", "doomed", f"--from-literal=page={EVIL}")
        server.kubectl("create", "secret", "generic", "creds", "--from-literal=password=hunter2")
        yield server
    finally:
        server.stop()


def dashboard_url(kyb: KybServer) -> str:
    return "http://" + kyb.env["KYB_DASHBOARD_LISTEN"]


def token_for(kyb: KybServer, sa: str) -> str:
    return kyb.kubectl("create", "token", sa).stdout.strip()


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, page[:2000]
    return found.group(1)


class Browser:
    """A cookie-keeping HTTP client logged in to the dashboard."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def get(self, path: str, **params: str) -> tuple[int, str]:
        async with self.session.get(self.base + path, params=params) as r:
            return r.status, await r.text()

    async def post(self, path: str, **data: str) -> tuple[int, str]:
        async with self.session.post(self.base + path, data={"csrf": self.csrf, **data}) as r:
            return r.status, await r.text()

    async def login(self, token: str) -> str:
        deadline = time.monotonic() + 15
        while True:  # the component starts a moment after the API answers
            try:
                _, page = await self.get("/login")
                break
            except aiohttp.ClientConnectionError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
        self.csrf = csrf_of(page)
        status, page = await self.post("/login", token=token)
        assert status == 200, page
        return page


@pytest.fixture
async def admin(kyb: KybServer) -> AsyncIterator[Browser]:
    b = Browser(dashboard_url(kyb))
    await b.login(token_for(kyb, "dash-admin"))
    yield b
    await b.session.close()


@pytest.fixture
async def viewer(kyb: KybServer) -> AsyncIterator[Browser]:
    b = Browser(dashboard_url(kyb))
    await b.login(token_for(kyb, "dash-viewer"))
    yield b
    await b.session.close()


async def test_login_overview_and_deployment_ready_counts(kyb: KybServer, admin: Browser) -> None:
    wait_for(
        lambda: kyb.kubectl("get", "deploy", "web", "-o", "jsonpath={.status.readyReplicas}").stdout == "2",
        "web ready on the simulated nodes",
    )
    status, page = await admin.get("/")
    assert status == 200
    assert "system:serviceaccount:default:dash-admin" in page and "2 ready" in page  # 2 sim nodes
    status, page = await admin.get("/deployments", ns="default")
    assert status == 200
    assert '<a href="/deployments/web?ns=default">web</a>' in page and "<td>2/2</td>" in page


async def test_detail_page_escapes_and_lists_pods(admin: Browser) -> None:
    status, page = await admin.get("/deployments/web", ns="default")
    assert status == 200
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<h2>Pods</h2>" in page and "web-" in page and "<h2>YAML</h2>" in page
    status, page = await admin.get("/configmaps/doomed", ns="default")
    assert status == 200 and "<script>alert" not in page


async def test_secret_value_hidden_until_opened(admin: Browser) -> None:
    status, page = await admin.get("/secrets/creds", ns="default")
    assert status == 200
    assert "<details><summary>show value</summary><pre>hunter2</pre></details>" in page
    assert "aHVudGVyMg" not in page  # base64 of the value: not in the YAML view


async def test_scale_and_restart_through_the_dashboard(kyb: KybServer, admin: Browser) -> None:
    status, page = await admin.post("/deployments/web/scale?ns=default", replicas="3")
    assert status == 200 and "Scale requested." in page
    assert kyb.kubectl("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}").stdout == "3"
    status, page = await admin.post("/deployments/web/restart?ns=default")
    assert status == 200 and "Restart requested." in page
    template = json.loads(kyb.kubectl("get", "deploy", "web", "-o", "json").stdout)["spec"]["template"]
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]


async def test_viewer_sees_but_cannot_scale_or_read_secrets(kyb: KybServer, viewer: Browser) -> None:
    status, page = await viewer.get("/deployments", ns="default")
    assert status == 200 and "/deployments/web?ns=default" in page
    status, page = await viewer.post("/deployments/web/scale?ns=default", replicas="7")
    assert status == 403
    assert "Error from server (Forbidden)" in page and "system:serviceaccount:default:dash-viewer" in page
    assert kyb.kubectl("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}").stdout != "7"
    status, page = await viewer.get("/secrets", ns="default")
    assert status == 403 and "secrets is forbidden" in page


async def test_post_without_csrf_is_refused(kyb: KybServer, admin: Browser) -> None:
    admin.csrf = "0" * 64
    status, page = await admin.post("/deployments/web/scale?ns=default", replicas="0")
    assert status == 403 and "CSRF" in page
    assert kyb.kubectl("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}").stdout != "0"


async def test_nodes_cordon_and_delete(kyb: KybServer, admin: Browser) -> None:
    nodes = kyb.kubectl("get", "nodes", "-o", "jsonpath={.items[*].metadata.name}").stdout.split()
    page = ""
    for _ in range(40):  # usage appears from the second scrape on
        status, page = await admin.get("/nodes")
        assert status == 200 and all(n in page for n in nodes) and "Capacity and usage" in page
        if "&lt;unknown&gt;" not in page:
            break
        await asyncio.sleep(0.5)
    assert "&lt;unknown&gt;" not in page and re.search(r"<td>\d+m</td><td>\d+%</td><td>\d+Mi</td>", page), (
        page
    )
    status, page = await admin.post(f"/nodes/{nodes[0]}/cordon")
    assert status == 200 and "Node cordoned." in page
    assert kyb.kubectl("get", "node", nodes[0], "-o", "jsonpath={.spec.unschedulable}").stdout == "true"
    status, _ = await admin.post(f"/nodes/{nodes[0]}/uncordon")
    assert kyb.kubectl("get", "node", nodes[0], "-o", "jsonpath={.spec.unschedulable}").stdout == ""
    status, page = await admin.get("/configmaps/doomed/delete", ns="default")
    assert status == 200 and "Delete ConfigMap doomed" in page
    status, page = await admin.post("/configmaps/doomed/delete?ns=default")
    assert status == 200 and "Deletion requested." in page
    gone = kyb.kubectl("get", "configmap", "doomed", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr


async def test_pod_logs_page_renders(kyb: KybServer, admin: Browser) -> None:
    pod = kyb.kubectl("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}").stdout
    status, page = await admin.get(f"/pods/{pod}/logs", ns="default")
    # simulated pods have no log files: either text or the API's message, never a crash
    assert status == 200 and '<option value="busybox" selected>' in page
    assert 'id="logs"' in page or "Error from server" in page


# --- pod logs from a real container (the local node on containerd) -----------------------------
NODE_DATA = Path("/tmp/kyb-dash-node")
NODE_PORT = 18967


@pytest.fixture(scope="module")
def node_kyb() -> Iterator[KybServer]:
    from kybernetes.testing.node import start_node_server

    listen = f"127.0.0.1:{free_port()}"
    before = os.environ.get("KYB_DASHBOARD_LISTEN")
    os.environ["KYB_DASHBOARD_LISTEN"] = listen  # the node server takes its environment from ours
    try:
        servers = start_node_server(NODE_DATA, NODE_PORT, cluster_cidr="10.158.0.0/16", bridge="kybd1")
        server = next(servers)
    finally:
        if before is None:
            os.environ.pop("KYB_DASHBOARD_LISTEN", None)
        else:
            os.environ["KYB_DASHBOARD_LISTEN"] = before
    server.env["KYB_DASHBOARD_LISTEN"] = listen
    try:
        yield server
    finally:
        for _ in servers:
            pass


@pytest.mark.slow
async def test_pod_logs_from_a_real_container(node_kyb: KybServer) -> None:
    kyb = node_kyb
    kyb.kubectl("create", "serviceaccount", "dash-admin")
    kyb.kubectl(
        "create",
        "clusterrolebinding",
        "dash-admin",
        "--clusterrole=cluster-admin",
        "--serviceaccount=default:dash-admin",
    )
    kyb.kubectl(
        "run",
        "talker",
        "--image=busybox:1.36",
        "--restart=Never",
        "--",
        "sh",
        "-c",
        "echo 'first <b>line</b>'; echo second; sleep 3600",
    )
    wait_for(
        lambda: kyb.kubectl("get", "pod", "talker", "-o", "jsonpath={.status.phase}").stdout == "Running",
        "talker Running",
        timeout=90,
    )
    browser = Browser(dashboard_url(kyb))
    try:
        await browser.login(token_for(kyb, "dash-admin"))
        page = ""
        for _ in range(30):
            status, page = await browser.get("/pods/talker/logs", ns="default", follow="1")
            if "second" in page:
                break
            await asyncio.sleep(0.5)
        assert status == 200 and "first &lt;b&gt;line&lt;/b&gt;\nsecond" in page
        assert 'data-follow="/pods/talker/logs.txt?ns=default&amp;container=talker&amp;tail=200"' in page
        status, text = await browser.get("/pods/talker/logs.txt", ns="default", container="talker", tail="1")
        assert (status, text) == (200, "second\n")
    finally:
        await browser.session.close()
