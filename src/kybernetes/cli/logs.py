"""`kyb logs query`: read the cluster log store (docs/logging.md), also for pods that are gone.

The cluster is found as kubectl finds it (``--kubeconfig``, else ``$KUBECONFIG``, else the
server's ``DATA_DIR/kubeconfig`` when it exists, else ``~/.kube/config``); the store answers at
``/kyb/logs/v1/query`` on the API server. Output is one line per log line, prefixed with
``[namespace/pod/container]`` unless one container is asked for, or JSON lines with ``-o json``.
``--follow`` asks again every second from the cursor of the previous answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
import orjson

from kybernetes.util import goduration

QUERY_PATH = "/kyb/logs/v1/query"
FOLLOW_PERIOD = 1.0


def parse_duration(text: str) -> float:
    """``--since`` in seconds: Go's duration syntax (``90s``, ``1h30m``) without a sign, a time back."""
    if text.startswith(("-", "+")):
        raise ValueError(f'time: invalid duration "{text}"')
    return goduration.parse_go_duration(text)


def query_params(
    *,
    namespace: str,
    selector: str,
    pod: str,
    container: str,
    node: str,
    since: float | None,
    since_time: str,
    grep: str,
    limit: int,
    after: int | None,
) -> dict[str, str]:
    params = {
        "namespace": namespace,
        "labelSelector": selector,
        "pod": pod,
        "container": container,
        "node": node,
        "sinceTime": since_time,
        "grep": grep,
        "limit": str(limit),
    }
    if since is not None:
        params["sinceSeconds"] = str(max(1, int(since + 0.999)))
    if after is not None:
        params["after"] = str(after)
    return {k: v for k, v in params.items() if v}


def render(record: Mapping[str, Any], *, prefix: bool, timestamps: bool, as_json: bool) -> str:
    if as_json:
        return orjson.dumps(record).decode()
    out = ""
    if timestamps:
        from kybernetes.kubelet.logs import format_timestamp

        out += format_timestamp(int(record.get("ts", 0))) + " "
    if prefix:
        out += f"[{record.get('namespace')}/{record.get('pod')}/{record.get('container')}] "
    return out + str(record.get("log", ""))


def _kubeconfig(kubeconfig: str, data_dir: Path) -> str | None:
    if kubeconfig:
        return kubeconfig
    if os.environ.get("KUBECONFIG"):
        return None
    local = data_dir / "kubeconfig"
    return str(local) if local.exists() else None


@click.group()
def logs() -> None:
    """Cluster-level logs: every container's output, kept after its pod is gone."""


@logs.command()
@click.option(
    "--kubeconfig",
    default="",
    help="Kubeconfig file (default: $KUBECONFIG, DATA_DIR/kubeconfig, ~/.kube/config).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/var/lib/kybernetes"),
    show_default=True,
    help="Server data dir whose kubeconfig to use.",
)
@click.option("--context", default="", help="Kubeconfig context to use.")
@click.option("-n", "--namespace", default="", help="Namespace (default: the context's).")
@click.option("-A", "--all-namespaces", is_flag=True, help="Logs of every namespace.")
@click.option("-l", "--selector", default="", help="Pod label selector (as `kubectl get -l`).")
@click.option("--pod", default="", help="Only this pod.")
@click.option("-c", "--container", default="", help="Only this container.")
@click.option("--node", default="", help="Only pods that ran on this node.")
@click.option("--since", default="", help="Only lines newer than this duration (5s, 2m, 1h).")
@click.option("--since-time", default="", help="Only lines at or after this RFC 3339 time.")
@click.option("--grep", default="", help="Only lines matching this regular expression.")
@click.option(
    "--tail",
    type=click.IntRange(min=1, max=10_000),
    default=1000,
    show_default=True,
    help="The newest lines to show (then --follow goes on).",
)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines as they arrive.")
@click.option("--timestamps", is_flag=True, help="Prefix each line with its time.")
@click.option(
    "--prefix/--no-prefix",
    default=None,
    help="Prefix lines with [namespace/pod/container] (default: unless --pod and --container name one).",
)
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def query(
    kubeconfig: str,
    data_dir: Path,
    context: str,
    namespace: str,
    all_namespaces: bool,
    selector: str,
    pod: str,
    container: str,
    node: str,
    since: str,
    since_time: str,
    grep: str,
    tail: int,
    follow: bool,
    timestamps: bool,
    prefix: bool | None,
    output: str,
) -> None:
    """Query the cluster log store (logs of deleted pods too)."""
    from kybernetes.client.config import ConfigError, load_kubeconfig
    from kybernetes.client.errors import APIError

    try:
        since_s = parse_duration(since) if since else None
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--since") from None
    if since_s is not None and since_time:
        raise click.UsageError("at most one of --since and --since-time may be given")
    try:
        config = load_kubeconfig(_kubeconfig(kubeconfig, data_dir.resolve()), context=context)
    except (ConfigError, OSError) as e:
        raise click.ClickException(f"kubeconfig: {e}") from None
    ns = "" if all_namespaces else (namespace or config.namespace)
    show_prefix = prefix if prefix is not None else not (pod and container)

    def emit(records: list[dict[str, Any]]) -> None:
        for r in records:
            click.echo(render(r, prefix=show_prefix, timestamps=timestamps, as_json=output == "json"))
        sys.stdout.flush()

    async def run() -> None:
        from kybernetes.client.rest import APIClient

        async with APIClient(config, user_agent="kyb-logs/0.1") as client:
            common = {
                "namespace": ns,
                "selector": selector,
                "pod": pod,
                "container": container,
                "node": node,
                "grep": grep,
            }
            answer = await client.request(
                "GET",
                QUERY_PATH,
                params=query_params(**common, since=since_s, since_time=since_time, limit=tail, after=None),
            )
            emit(answer["items"])
            cursor = int(answer["cursor"])
            while follow:
                await asyncio.sleep(FOLLOW_PERIOD)
                answer = await client.request(
                    "GET",
                    QUERY_PATH,
                    params=query_params(**common, since=None, since_time="", limit=10_000, after=cursor),
                )
                emit(answer["items"])
                cursor = int(answer["cursor"])

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run())
    except APIError as e:
        raise click.ClickException(str(e)) from None
    except OSError as e:
        raise click.ClickException(f"cannot reach the API server: {e}") from None
