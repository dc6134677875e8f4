"""`kyb agent`: run a node (kubelet on containerd) for a cluster, and `kyb node-reset` to remove one."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

import click


@click.command()
@click.option("--kubeconfig", default=None, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Credentials for the API server (else join with --server and --token).")
@click.option("--server", default="", help="API server URL to join (with --token).")
@click.option("--token", default="", envvar="KYB_TOKEN", help="Bootstrap token from `kyb token create`.")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Cluster CA certificate, to trust the API server when joining.")
@click.option("--ca-cert-hash", default="", help="sha256:<hex> pin of the cluster CA's public key (instead of --ca-file).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("/var/lib/kybernetes/node"),
              show_default=True, help="The node's state: containerd, pod logs and volumes.")
@click.option("--node-name", default="", help="Node name (default: the host name).")
@click.option("--node-ip", default="", help="The node's address (default: the host's primary address).")
@click.option("--kubelet-port", type=int, default=10250, show_default=True)
@click.option("--zone", default="", help="topology.kubernetes.io/zone label.")
@click.option("--region", default="", help="topology.kubernetes.io/region label.")
@click.option("--label", "labels", multiple=True, help="Extra node label KEY=VALUE (repeatable).")
@click.option("--registries", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="registries.yaml: mirrors, credentials and TLS per registry (see docs/node.md).")
@click.option("--ca-cert", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Cluster CA certificate (verifies the API server's client certificate on :10250).")
@click.option("--ca-key", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Cluster CA key, to issue this node's serving certificate (a server-local node).")
@click.option("--cluster-cidr", default="10.42.0.0/16", show_default=True,
              help="Pod addresses of the whole cluster (never masqueraded between pods).")
@click.option("--bridge", default="kyb0", show_default=True, help="Name of the node's pod bridge.")
@click.option("--cgroup-parent", default="",
              help="Cgroup tree of the node's pods (default: kubepods, or kubepods-BRIDGE for another bridge); "
                   "nodes sharing a machine need their own.")
@click.option("--pod-routes/--no-pod-routes", default=True, show_default=True,
              help="Make other nodes' pod CIDRs reachable (the --network-backend way).")
@click.option("--network-backend", type=click.Choice(["host-gw", "vxlan"]), default="host-gw", show_default=True,
              envvar="KYB_NETWORK_BACKEND",
              help="host-gw: routes via node addresses (one L2 network); vxlan: an overlay (nodes on any subnets).")
@click.option("--pod-manifest-path", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory of static pod manifests (default: DATA_DIR/manifests).")
@click.option("--eviction-hard-memory", default="100Mi", show_default=True, envvar="KYB_EVICTION_HARD_MEMORY",
              help="Evict pods when memory.available drops below this quantity or percentage of memory.")
@click.option("--eviction-hard", default="", envvar="KYB_EVICTION_HARD",
              help="Hard eviction thresholds, SIGNAL<VALUE,... (memory.available, nodefs.available, "
                   "nodefs.inodesFree, imagefs.available, imagefs.inodesFree; quantity or percentage). Given, "
                   "it replaces the disk defaults nodefs.available<10%,nodefs.inodesFree<5%,imagefs.available<15%; "
                   "its memory.available replaces --eviction-hard-memory.")
@click.option("--image-gc-high-threshold", type=int, default=85, show_default=True,
              envvar="KYB_IMAGE_GC_HIGH_THRESHOLD",
              help="Image filesystem usage (percent) at which image GC always runs; 100 turns image GC off.")
@click.option("--image-gc-low-threshold", type=int, default=80, show_default=True,
              envvar="KYB_IMAGE_GC_LOW_THRESHOLD", help="Image filesystem usage (percent) image GC frees down to.")
@click.option("--image-minimum-gc-age", default="2m", show_default=True, envvar="KYB_IMAGE_MINIMUM_GC_AGE",
              help="How long an unused image is kept after it was first seen (a duration: 90s, 2m).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="KubeletConfiguration file; its evictionHard is re-read when the file changes "
                   "(default: DATA_DIR/config.yaml, if present).")
@click.option("--container-log-max-size", default="10Mi", show_default=True, envvar="KYB_CONTAINER_LOG_MAX_SIZE",
              help="Rotate a container's log file once it reaches this size (a quantity; negative: never).")
@click.option("--container-log-max-files", type=int, default=5, show_default=True,
              envvar="KYB_CONTAINER_LOG_MAX_FILES", help="Log files kept per container, the live one included (>1).")
@click.option("--container-log-monitor-interval", type=float, default=10.0, show_default=True, hidden=True,
              envvar="KYB_CONTAINER_LOG_MONITOR_INTERVAL", help="Seconds between log size checks.")
@click.option("--log-level", default="info", show_default=True)
def agent(kubeconfig: Path | None, server: str, token: str, ca_file: Path | None, ca_cert_hash: str, data_dir: Path, node_name: str, node_ip: str, kubelet_port: int, zone: str, region: str,
          labels: tuple[str, ...], registries: Path | None, ca_cert: Path | None, ca_key: Path | None,
          cluster_cidr: str, bridge: str, cgroup_parent: str, pod_routes: bool, network_backend: str,
          pod_manifest_path: Path | None,
          eviction_hard_memory: str, config_file: Path | None, container_log_max_size: str,
          container_log_max_files: int, container_log_monitor_interval: float, log_level: str,
          eviction_hard: str = "", image_gc_high_threshold: int = 85, image_gc_low_threshold: int = 80,
          image_minimum_gc_age: str = "2m") -> None:
    """Run a node: register it, run containerd, and keep the pods bound to it running."""
    from kybernetes.client.config import load_kubeconfig
    from kybernetes.client.rest import APIClient
    from kybernetes.kubelet.agent import AgentSettings, Kubelet, NodeCannotRun

    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    extra = dict(item.split("=", 1) for item in labels if "=" in item)
    from kybernetes.kubelet.logrotation import RotationConfigError, make_policy

    try:
        make_policy(container_log_max_size, container_log_max_files, monitor_interval=container_log_monitor_interval)
    except RotationConfigError as e:
        raise click.BadParameter(str(e)) from None
    from kybernetes.kubelet import diskeviction
    from kybernetes.kubelet.imagegc import ImageGCPolicy

    try:
        hard = diskeviction.parse_eviction_hard(eviction_hard)
        diskeviction.validate_thresholds(hard)
        gc_policy = ImageGCPolicy(high_threshold_percent=image_gc_high_threshold,
                                  low_threshold_percent=image_gc_low_threshold,
                                  min_age=diskeviction.parse_go_duration(image_minimum_gc_age))
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    if gc_policy.validate():
        raise click.BadParameter("; ".join(gc_policy.validate()))
    eviction_hard_memory = hard.get(diskeviction.MEMORY_AVAILABLE, eviction_hard_memory)
    data_dir = data_dir.resolve()
    if kubeconfig is None:
        # joining: the bootstrap token buys this node its own certificate (kubelet/bootstrap.py)
        from kybernetes.kubelet.bootstrap import BootstrapError, ensure_kubelet_kubeconfig
        from kybernetes.kubelet.machine import read_machine

        node_name = node_name or read_machine(data_dir, hostname="", address=node_ip).hostname
        try:
            kubeconfig = asyncio.run(ensure_kubelet_kubeconfig(data_dir, server=server, token=token,
                                                               node_name=node_name, ca_file=ca_file,
                                                               ca_cert_hash=ca_cert_hash))
        except BootstrapError as e:
            print(f"kyb agent: {e}", file=sys.stderr, flush=True)
            sys.exit(2)
        ca_cert = ca_cert or data_dir / "ca.crt"
    settings = AgentSettings(data_dir=data_dir, node_name=node_name, node_address=node_ip,
                             kubelet_port=kubelet_port, zone=zone, region=region, labels=extra,
                             registries=registries, ca_cert=ca_cert, ca_key=ca_key, cluster_cidr=cluster_cidr,
                             bridge=bridge, network_name=f"kyb-{bridge}", cgroup_parent=cgroup_parent,
                             pod_routes=pod_routes, network_backend=network_backend,
                             pod_manifest_path=pod_manifest_path.resolve() if pod_manifest_path else None,
                             eviction_hard_memory=eviction_hard_memory,
                             config_file=config_file.resolve() if config_file else None,
                             container_log_max_size=container_log_max_size,
                             container_log_max_files=container_log_max_files,
                             container_log_monitor_interval=container_log_monitor_interval,
                             eviction_hard=eviction_hard, image_gc_high_threshold=image_gc_high_threshold,
                             image_gc_low_threshold=image_gc_low_threshold,
                             image_minimum_gc_age=gc_policy.min_age)

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        assert kubeconfig is not None
        async with APIClient(load_kubeconfig(kubeconfig), user_agent="kyb-kubelet/0.1") as client:
            from kybernetes.client.failover import follow_api_servers

            api_servers = asyncio.create_task(follow_api_servers(client))  # fail over between HA servers
            kubelet = Kubelet(client, settings)
            starting = asyncio.create_task(kubelet.start())
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            code = 0
            if starting.done() and starting.exception() is not None:
                error = starting.exception()
                print(f"kyb agent: {error}", file=sys.stderr, flush=True)
                code = 3 if isinstance(error, NodeCannotRun) else 1
            elif not stop.is_set():
                await stop.wait()
            starting.cancel()
            stopping.cancel()
            await asyncio.gather(starting, stopping, return_exceptions=True)
            await kubelet.stop()
            api_servers.cancel()
        return code

    sys.exit(asyncio.run(main()))


@click.command("node-reset")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("/var/lib/kybernetes/node"),
              show_default=True)
@click.option("--bridge", default="kyb0", show_default=True)
@click.option("--cgroup-parent", default="", help="The node's pod cgroup tree (as given to `kyb agent`).")
@click.option("--cluster-cidr", default="", help="Also remove the pod routes this node made inside this range.")
def node_reset(data_dir: Path, bridge: str, cgroup_parent: str, cluster_cidr: str) -> None:
    """Stop every pod of a node and remove what it made (mounts, bridge, cgroups, processes)."""
    from kybernetes.kubelet.teardown import teardown_node

    for line in teardown_node(data_dir.resolve(), bridge=bridge, cgroup_parent=cgroup_parent,
                              cluster_cidr=cluster_cidr):
        click.echo(line)
