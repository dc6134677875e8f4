"""The `kyb` command line."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from kybernetes import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kyb")
def cli() -> None:
    """kybernetes: Kubernetes, written in Python."""


@cli.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("/var/lib/kybernetes"),
              show_default=True, help="Where the cluster keeps its state, certificates and kubeconfig.")
@click.option("--port", type=int, default=6443, show_default=True, help="HTTPS port of the API server.")
@click.option("--bind-address", default="0.0.0.0", show_default=True)
@click.option("--advertise-address", default="", help="Address the `kubernetes` Service points at (default: this host's).")
@click.option("--datastore", default="", help="sqlite:///PATH (default: DATA_DIR/db/state.db) or memory://")
@click.option("--datastore-endpoint", default="",
              help="etcd endpoints, http(s)://HOST:PORT[,...], instead of SQLite (docs/etcd.md).")
@click.option("--etcd-cafile", default="", help="CA certificate for https etcd endpoints.")
@click.option("--etcd-certfile", default="", help="Client certificate for etcd.")
@click.option("--etcd-keyfile", default="", help="Client key for etcd.")
@click.option("--etcd-prefix", default="", help="Keep the cluster's keys under this etcd key prefix.")
@click.option("--cluster-init", is_flag=True, help="Run an embedded etcd member (under DATA_DIR/db/etcd) and use it.")
@click.option("--etcd-client-port", type=int, default=2379, show_default=True, help="Client port of the embedded etcd.")
@click.option("--etcd-peer-port", type=int, default=2380, show_default=True, help="Peer port of the embedded etcd.")
@click.option("--server", "join_server", default="",
              help="Join the control plane of the server at this URL (with --token; docs/ha.md).")
@click.option("--token", default="", envvar="KYB_TOKEN",
              help="Server token: to join (--server), or to set the first server's (default: DATA_DIR/token).")
@click.option("--disable", multiple=True, help="Components not to run (e.g. kubelet,scheduler).")
@click.option("--cluster-cidr", default="10.42.0.0/16", show_default=True,
              help="Pod addresses; each node gets a /24 of it.")
@click.option("--network-backend", type=click.Choice(["host-gw", "vxlan"]), default="host-gw", show_default=True,
              help="How the local node reaches other nodes' pods (passed to its agent; docs/node.md).")
@click.option("--authorization-mode", default="Node,RBAC", show_default=True,
              help="Comma-separated authorizers: Node, RBAC, AlwaysAllow, AlwaysDeny (docs/security.md).")
@click.option("--log-level", default="info", show_default=True)
def server(data_dir: Path, port: int, bind_address: str, advertise_address: str, datastore: str,
           datastore_endpoint: str, etcd_cafile: str, etcd_certfile: str, etcd_keyfile: str, etcd_prefix: str,
           cluster_init: bool, etcd_client_port: int, etcd_peer_port: int,
           join_server: str, token: str,
           disable: tuple[str, ...], cluster_cidr: str, network_backend: str, authorization_mode: str,
           log_level: str) -> None:
    """Run the control plane (a single-node cluster as components land)."""
    from kybernetes.cli.serve import ServeOptions, run_server
    from kybernetes.storage.etcd.settings import EtcdSettings, is_etcd_endpoint

    if datastore_endpoint and not is_etcd_endpoint(datastore_endpoint):
        datastore, datastore_endpoint = datastore_endpoint, ""  # k3s spells sqlite:// here too
    etcd = EtcdSettings(endpoints=datastore_endpoint, cafile=etcd_cafile, certfile=etcd_certfile,
                        keyfile=etcd_keyfile, prefix=etcd_prefix, cluster_init=cluster_init,
                        client_port=etcd_client_port, peer_port=etcd_peer_port)

    disabled = {d.strip() for item in disable for d in item.split(",") if d.strip()}
    if network_backend != "host-gw":  # the local node's agent reads it (kubelet/component.py)
        os.environ["KYB_NETWORK_BACKEND"] = network_backend
    run_server(ServeOptions(data_dir=data_dir.resolve(), port=port, bind_address=bind_address,
                            advertise_address=advertise_address, datastore=datastore,
                            disabled=disabled, log_level=log_level, cluster_cidr=cluster_cidr,
                            authorization_mode=authorization_mode, server=join_server, token=token, etcd=etcd))


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("/var/lib/kybernetes"))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def kubectl(data_dir: Path, args: tuple[str, ...]) -> None:
    """Run the kubectl on PATH with this cluster's kubeconfig."""
    binary = shutil.which("kubectl")
    if binary is None:
        raise click.ClickException("no kubectl on PATH (scripts/setup.sh installs one)")
    env = dict(os.environ)
    kubeconfig = data_dir / "kubeconfig"
    if kubeconfig.exists() and "KUBECONFIG" not in env:
        env["KUBECONFIG"] = str(kubeconfig)
    os.execve(binary, [binary, *args], env)


@cli.command()
@click.option("--nodes", type=click.IntRange(min=0), default=None,
              help="How many nodes (shared among the profile's node groups); default: the profile's counts.")
@click.option("--profile", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Simulation profile (YAML, see docs/sim.md).")
@click.option("--kubeconfig", default="", help="Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).")
@click.option("--context", default="", help="Kubeconfig context to use.")
@click.option("--stats-port", type=int, default=None,
              help="Serve /nodes/<name>/stats/summary on this port (0: any free port).")
@click.option("--stats-address", default="", help="Address of the stats endpoint (default: the profile's).")
@click.option("--max-inflight", type=click.IntRange(min=2), default=32, show_default=True,
              help="Concurrent API requests for all nodes together.")
@click.option("--qps", type=float, default=0.0, show_default=True, help="API requests per second (0: no limit).")
@click.option("--cleanup", is_flag=True, help="Delete the simulated Nodes and their Leases on exit.")
@click.option("--log-level", default="info", show_default=True)
def sim(nodes: int | None, profile: Path | None, kubeconfig: str, context: str, stats_port: int | None,
        stats_address: str, max_inflight: int, qps: float, cleanup: bool, log_level: str) -> None:
    """Run simulated (hollow) nodes: Nodes, Leases and pod status, without containers."""
    from kybernetes.sim.command import SimCommand, run_sim
    from kybernetes.sim.profile import ProfileError
    from kybernetes.sim.runner import SimOptions

    opts = SimOptions(max_inflight=max_inflight, qps=qps, stats_port=stats_port, stats_address=stats_address)
    try:
        run_sim(SimCommand(nodes=nodes, profile=profile, kubeconfig=kubeconfig, context=context, cleanup=cleanup,
                           log_level=log_level, options=opts))
    except ProfileError as e:
        raise click.ClickException(f"profile: {e}") from e


@cli.command()
@click.option("--kubeconfig", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Cluster to schedule for (default: $KUBECONFIG, else ~/.kube/config).")
@click.option("--config", "config", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1) YAML file.")
@click.option("--log-level", default="info", show_default=True)
@click.option("--metrics-port", type=int, default=0, help="Serve Prometheus /metrics on this port (0: off).")
def scheduler(kubeconfig: Path | None, config: Path | None, log_level: str, metrics_port: int) -> None:
    """Run a scheduler (profiles, plugins and leader election from --config)."""
    import asyncio
    import contextlib
    import logging

    from kybernetes.scheduler.app import run
    from kybernetes.scheduler.config import ConfigError, load_config

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        load_config(config)
    except ConfigError as e:
        raise click.ClickException(str(e)) from e
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(kubeconfig, config, metrics_port=metrics_port))


@cli.command("controller-manager")
@click.option("--kubeconfig", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).")
@click.option("--controllers", default="", help="Comma-separated loops to run (default: all).")
@click.option("--leader-elect/--no-leader-elect", default=True, show_default=True)
@click.option("--metrics-port", type=int, default=0, help="Serve Prometheus /metrics on this port (0: off).")
@click.option("--metrics-bind-address", default="127.0.0.1", show_default=True)
@click.option("--log-level", default="info", show_default=True)
def controller_manager(kubeconfig: Path | None, controllers: str, leader_elect: bool, metrics_port: int,
                       metrics_bind_address: str, log_level: str) -> None:
    """Run the control loops against a cluster (kyb server runs them in-process by default)."""
    import asyncio
    import logging

    from kybernetes.controllers import manager

    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    enabled = [c.strip() for c in controllers.split(",") if c.strip()] or None
    asyncio.run(manager.run(kubeconfig, enabled=enabled, leader_elect=leader_elect, metrics_port=metrics_port,
                            metrics_address=metrics_bind_address))


def _add_subcommands() -> None:
    from kybernetes.cli.agent import agent, node_reset
    from kybernetes.cli.dev import dev
    from kybernetes.cli.image import image
    from kybernetes.cli.token import token

    cli.add_command(token)

    for command in (agent, node_reset, image, dev):
        cli.add_command(command)
    from kybernetes.cli.logs import logs

    cli.add_command(logs)  # `kyb logs query` (docs/logging.md)


_add_subcommands()


def main() -> None:
    cli(prog_name="kyb")


if __name__ == "__main__":
    main()
    sys.exit(0)
