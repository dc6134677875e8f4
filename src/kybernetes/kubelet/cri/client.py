"""An asyncio CRI v1 client for the kubelet, over gRPC on the runtime's unix socket.

One method per CRI call, taking and returning the generated messages of ``api_pb2`` (imported by
callers as ``pb``). gRPC failures surface as ``errors.CRIError`` subclasses so callers never
import grpc. Every call has a deadline: ``request_timeout`` (the kubelet's runtime request
timeout, 2 minutes upstream) unless the call carries its own timeout, in which case the deadline
is that timeout plus ``request_timeout`` so the runtime, not gRPC, decides when the work is late
(node-runtime-notes pitfall 7: StopContainer waits the whole grace period for a process that
ignores SIGTERM).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import grpc

from kybernetes.kubelet.cri import api_pb2 as pb
from kybernetes.kubelet.cri import api_pb2_grpc as pb_grpc
from kybernetes.kubelet.cri.errors import CRIError, error_for

CRI_API_VERSION = "v1"
# ExecSync output may reach 16 MiB per stream; leave room for both plus framing.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
DEFAULT_REQUEST_TIMEOUT = 120.0
DEFAULT_PULL_TIMEOUT = 600.0


class CRIClient:
    """CRI RuntimeService and ImageService on one channel. Use ``connect()`` (or ``async with``)."""

    def __init__(self, socket_path: str, *, request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
                 pull_timeout: float = DEFAULT_PULL_TIMEOUT) -> None:
        self.socket_path = socket_path
        self.request_timeout = request_timeout
        self.pull_timeout = pull_timeout
        self._channel: Any = None
        self._runtime: Any = None
        self._images: Any = None
        # told of every call: (CRI method, seconds, failed) -> kubelet_runtime_operations_* metrics
        self.observer: Callable[[str, float, bool], None] | None = None

    async def connect(self) -> None:
        """Open the channel. Cheap and lazy: the socket is dialled by the first call."""
        if self._channel is not None:
            return
        self._channel = grpc.aio.insecure_channel(
            f"unix://{self.socket_path}",
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                # containerd restarts in well under a second; redial fast instead of gRPC's 1 s+.
                ("grpc.initial_reconnect_backoff_ms", 100),
                ("grpc.min_reconnect_backoff_ms", 100),
                ("grpc.max_reconnect_backoff_ms", 1000),
            ],
        )
        self._runtime = pb_grpc.RuntimeServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._images = pb_grpc.ImageServiceStub(self._channel)  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        if self._channel is not None:
            channel, self._channel = self._channel, None
            self._runtime = self._images = None
            await channel.close()

    async def __aenter__(self) -> CRIClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _call(self, service: str, method: str, request: Any, timeout: float | None = None) -> Any:
        if self._channel is None:
            await self.connect()
        stub = self._runtime if service == "runtime" else self._images
        deadline = self.request_timeout if timeout is None else timeout
        started, failed = time.perf_counter(), True
        try:
            result = await getattr(stub, method)(request, timeout=deadline)
            failed = False
            return result
        except grpc.aio.AioRpcError as e:
            raise error_for(e.code().name, e.details() or "", method) from None
        finally:
            if self.observer is not None:
                self.observer(method, time.perf_counter() - started, failed)

    # ---- runtime ----

    async def version(self) -> pb.VersionResponse:
        resp: pb.VersionResponse = await self._call(
            "runtime", "Version", pb.VersionRequest(version=CRI_API_VERSION))
        return resp

    async def status(self, verbose: bool = False) -> pb.StatusResponse:
        resp: pb.StatusResponse = await self._call("runtime", "Status", pb.StatusRequest(verbose=verbose))
        return resp

    async def update_runtime_config(self, pod_cidr: str) -> None:
        cfg = pb.RuntimeConfig(network_config=pb.NetworkConfig(pod_cidr=pod_cidr))
        await self._call("runtime", "UpdateRuntimeConfig", pb.UpdateRuntimeConfigRequest(runtime_config=cfg))

    # ---- sandboxes ----

    async def run_pod_sandbox(self, config: pb.PodSandboxConfig, runtime_handler: str = "") -> str:
        resp: pb.RunPodSandboxResponse = await self._call(
            "runtime", "RunPodSandbox", pb.RunPodSandboxRequest(config=config, runtime_handler=runtime_handler))
        return resp.pod_sandbox_id

    async def stop_pod_sandbox(self, pod_sandbox_id: str) -> None:
        await self._call("runtime", "StopPodSandbox", pb.StopPodSandboxRequest(pod_sandbox_id=pod_sandbox_id))

    async def remove_pod_sandbox(self, pod_sandbox_id: str) -> None:
        await self._call("runtime", "RemovePodSandbox", pb.RemovePodSandboxRequest(pod_sandbox_id=pod_sandbox_id))

    async def pod_sandbox_status(self, pod_sandbox_id: str, verbose: bool = False) -> pb.PodSandboxStatusResponse:
        resp: pb.PodSandboxStatusResponse = await self._call(
            "runtime", "PodSandboxStatus",
            pb.PodSandboxStatusRequest(pod_sandbox_id=pod_sandbox_id, verbose=verbose))
        return resp

    async def list_pod_sandbox(self, filter: pb.PodSandboxFilter | None = None) -> list[pb.PodSandbox]:
        req = pb.ListPodSandboxRequest(filter=filter) if filter is not None else pb.ListPodSandboxRequest()
        resp: pb.ListPodSandboxResponse = await self._call("runtime", "ListPodSandbox", req)
        return list(resp.items)

    # ---- containers ----

    async def create_container(self, pod_sandbox_id: str, config: pb.ContainerConfig,
                               sandbox_config: pb.PodSandboxConfig) -> str:
        resp: pb.CreateContainerResponse = await self._call(
            "runtime", "CreateContainer",
            pb.CreateContainerRequest(pod_sandbox_id=pod_sandbox_id, config=config, sandbox_config=sandbox_config))
        return resp.container_id

    async def start_container(self, container_id: str) -> None:
        await self._call("runtime", "StartContainer", pb.StartContainerRequest(container_id=container_id))

    async def stop_container(self, container_id: str, timeout: int) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; returns once the container has exited."""
        grace = max(0, int(timeout))
        await self._call("runtime", "StopContainer",
                         pb.StopContainerRequest(container_id=container_id, timeout=grace),
                         timeout=grace + self.request_timeout)

    async def remove_container(self, container_id: str) -> None:
        await self._call("runtime", "RemoveContainer", pb.RemoveContainerRequest(container_id=container_id))

    async def list_containers(self, filter: pb.ContainerFilter | None = None) -> list[pb.Container]:
        req = pb.ListContainersRequest(filter=filter) if filter is not None else pb.ListContainersRequest()
        resp: pb.ListContainersResponse = await self._call("runtime", "ListContainers", req)
        return list(resp.containers)

    async def container_status(self, container_id: str, verbose: bool = False) -> pb.ContainerStatusResponse:
        resp: pb.ContainerStatusResponse = await self._call(
            "runtime", "ContainerStatus", pb.ContainerStatusRequest(container_id=container_id, verbose=verbose))
        return resp

    async def update_container_resources(self, container_id: str, linux: pb.LinuxContainerResources) -> None:
        await self._call("runtime", "UpdateContainerResources",
                         pb.UpdateContainerResourcesRequest(container_id=container_id, linux=linux))

    async def reopen_container_log(self, container_id: str) -> None:
        await self._call("runtime", "ReopenContainerLog", pb.ReopenContainerLogRequest(container_id=container_id))

    # ---- exec, attach, port-forward ----

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: float) -> tuple[int, bytes, bytes]:
        """Run ``cmd`` in the container; ``timeout`` seconds (0 = no limit). Returns (exit code, stdout, stderr)."""
        secs = max(0, math.ceil(timeout))
        deadline = secs + self.request_timeout if secs else None
        resp: pb.ExecSyncResponse = await self._call(
            "runtime", "ExecSync", pb.ExecSyncRequest(container_id=container_id, cmd=cmd, timeout=secs),
            timeout=deadline)
        return resp.exit_code, resp.stdout, resp.stderr

    async def exec(self, req: pb.ExecRequest) -> str:
        """The single-use streaming URL for an interactive exec."""
        resp: pb.ExecResponse = await self._call("runtime", "Exec", req)
        return resp.url

    async def attach(self, req: pb.AttachRequest) -> str:
        resp: pb.AttachResponse = await self._call("runtime", "Attach", req)
        return resp.url

    async def port_forward(self, req: pb.PortForwardRequest) -> str:
        resp: pb.PortForwardResponse = await self._call("runtime", "PortForward", req)
        return resp.url

    # ---- stats ----

    async def container_stats(self, container_id: str) -> pb.ContainerStats:
        resp: pb.ContainerStatsResponse = await self._call(
            "runtime", "ContainerStats", pb.ContainerStatsRequest(container_id=container_id))
        return resp.stats

    async def list_container_stats(self, filter: pb.ContainerStatsFilter | None = None) -> list[pb.ContainerStats]:
        req = pb.ListContainerStatsRequest(filter=filter) if filter is not None else pb.ListContainerStatsRequest()
        resp: pb.ListContainerStatsResponse = await self._call("runtime", "ListContainerStats", req)
        return list(resp.stats)

    async def pod_sandbox_stats(self, pod_sandbox_id: str) -> pb.PodSandboxStats:
        resp: pb.PodSandboxStatsResponse = await self._call(
            "runtime", "PodSandboxStats", pb.PodSandboxStatsRequest(pod_sandbox_id=pod_sandbox_id))
        return resp.stats

    async def list_pod_sandbox_stats(self, filter: pb.PodSandboxStatsFilter | None = None) -> list[pb.PodSandboxStats]:
        req = pb.ListPodSandboxStatsRequest(filter=filter) if filter is not None else pb.ListPodSandboxStatsRequest()
        resp: pb.ListPodSandboxStatsResponse = await self._call("runtime", "ListPodSandboxStats", req)
        return list(resp.stats)

    # ---- images ----

    async def list_images(self, filter: pb.ImageFilter | None = None) -> list[pb.Image]:
        req = pb.ListImagesRequest(filter=filter) if filter is not None else pb.ListImagesRequest()
        resp: pb.ListImagesResponse = await self._call("image", "ListImages", req)
        return list(resp.images)

    async def image_status(self, image: str) -> pb.Image | None:
        """The image if the node has it, else None."""
        resp: pb.ImageStatusResponse = await self._call(
            "image", "ImageStatus", pb.ImageStatusRequest(image=pb.ImageSpec(image=image)))
        return resp.image if resp.HasField("image") else None

    async def pull_image(self, image: str, auth: pb.AuthConfig | None = None,
                         sandbox_config: pb.PodSandboxConfig | None = None) -> str:
        """Pulls ``image``; returns the image ref (its id) for container status."""
        req = pb.PullImageRequest(image=pb.ImageSpec(image=image))
        if auth is not None:
            req.auth.CopyFrom(auth)
        if sandbox_config is not None:
            req.sandbox_config.CopyFrom(sandbox_config)
        resp: pb.PullImageResponse = await self._call("image", "PullImage", req, timeout=self.pull_timeout)
        return resp.image_ref

    async def remove_image(self, image: str) -> None:
        await self._call("image", "RemoveImage", pb.RemoveImageRequest(image=pb.ImageSpec(image=image)))

    async def image_fs_info(self) -> list[pb.FilesystemUsage]:
        resp: pb.ImageFsInfoResponse = await self._call("image", "ImageFsInfo", pb.ImageFsInfoRequest())
        return list(resp.image_filesystems)


__all__ = ["CRIClient", "CRIError", "pb"]
