"""`kyb dev cluster`: several real nodes on this machine, each in its own network namespace."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import click


@click.group()
def dev() -> None:
    """Development helpers (a multi-node cluster on one machine)."""


@dev.command("cluster")
@click.option("--nodes", type=click.IntRange(min=1, max=200), default=3, show_default=True)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("/tmp/kyb-dev"),
              show_default=True, help="Server and node state; removed on exit unless --keep-data.")
@click.option("--port", type=int, default=6443, show_default=True, help="API server port (all addresses).")
@click.option("--prefix", default="kyb-dev", show_default=True, help="Network namespace and node names.")
@click.option("--host-bridge", default="kybdevnet", show_default=True, help="The nodes' L2 network on the host.")
@click.option("--subnet", default="10.98.0.0/24", show_default=True, help="Node addresses (host .1, node i .10+i).")
@click.option("--cluster-cidr", default="10.42.0.0/16", show_default=True, help="Pod addresses.")
@click.option("--dns-port", type=int, default=5353, show_default=True, help="Cluster DNS port on the host's bridge address.")
@click.option("--network-backend", type=click.Choice(["host-gw", "vxlan"]), default="host-gw", show_default=True,
              help="How nodes reach each other's pods (vxlan: also across --node-subnets).")
@click.option("--node-subnets", default="",
              help="Comma-separated subnets the nodes take in turn, routed by the host (default: all on --subnet).")
@click.option("--keep-data", is_flag=True, help="Keep the data dir (logs) after tearing down.")
def cluster(nodes: int, data_dir: Path, port: int, prefix: str, host_bridge: str, subnet: str, cluster_cidr: str,
            dns_port: int, network_backend: str, node_subnets: str, keep_data: bool) -> None:
    """Run a cluster of NODES nodes here until Ctrl-C or SIGTERM, then remove all of it."""
    from kybernetes.devcluster import DevClusterConfig, DevClusterError, dev_cluster

    cfg = DevClusterConfig(data_dir=data_dir.resolve(), nodes=nodes, port=port, prefix=prefix,
                           host_bridge=host_bridge, subnet=subnet, cluster_cidr=cluster_cidr, dns_port=dns_port,
                           network_backend=network_backend,
                           node_subnets=tuple(s.strip() for s in node_subnets.split(",") if s.strip()))
    stop = threading.Event()

    def on_signal(_sig: int, _frame: object) -> None:
        stop.set()

    def say(msg: str) -> None:
        click.echo(f"kyb dev: {msg}")

    signal.signal(signal.SIGTERM, signal.default_int_handler)  # during start-up: unwind and clean up
    try:
        with dev_cluster(cfg, keep_data=keep_data, log=say) as c:
            say(f"kubeconfig: {c.kubeconfig}")
            say(f"export KUBECONFIG={c.kubeconfig}")
            say("running; Ctrl-C tears everything down")
            # installed only now: a signal during start-up interrupts it, and the context manager cleans up
            signal.signal(signal.SIGINT, on_signal)
            signal.signal(signal.SIGTERM, on_signal)
            while not stop.wait(1.0):
                pass
            say("tearing down")
    except DevClusterError as e:
        raise click.ClickException(str(e)) from e
    except KeyboardInterrupt:
        sys.exit(130)
    say("removed")
