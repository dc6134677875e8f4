"""Disk-pressure eviction and local storage limits: thresholds, ranking, messages (table tests)."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.kubelet.diskeviction import (
    ContainerDiskUsage,
    Observation,
    PodDiskUsage,
    Threshold,
    disk_pressure_message,
    local_ephemeral_volumes,
    local_storage_violation,
    parse_eviction_hard,
    parse_go_duration,
    rank_for_disk_eviction,
    storage_limited,
    thresholds_met,
    under_pressure,
    validate_thresholds,
)

Mi = 1 << 20
Gi = 1 << 30


def pod(
    name: str,
    *,
    containers: list[dict[str, Any]] | None = None,
    volumes: list[dict[str, Any]] | None = None,
    priority: int | None = None,
    **meta: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": containers or [{"name": "app", "image": "busybox:1.36"}],
        "volumes": volumes or [],
    }
    if priority is not None:
        spec["priority"] = priority
    return {
        "metadata": {"name": name, "namespace": "default", "uid": name, **meta},
        "spec": spec,
        "status": {"phase": "Running"},
    }


def ctr(name: str = "app", *, request: str | None = None, limit: str | None = None) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    if request:
        resources["requests"] = {"ephemeral-storage": request}
    if limit:
        resources["limits"] = {"ephemeral-storage": limit}
    return {"name": name, "image": "busybox:1.36", "resources": resources}


def usage(
    p: dict[str, Any],
    *,
    rootfs: int = 0,
    logs: int = 0,
    volumes: dict[str, int] | None = None,
    container: str = "app",
) -> PodDiskUsage:
    return PodDiskUsage(p, {container: ContainerDiskUsage(rootfs=rootfs, logs=logs)}, volumes or {})


@pytest.mark.parametrize(
    ("value", "capacity", "text"),
    [
        pytest.param("10%", 100 * Gi, "10737418400", id="percent-through-float32-as-upstream"),
        pytest.param("15%", 10 * Gi, "1610612800", id="imagefs-default"),
        pytest.param("1Gi", 5, "1Gi", id="quantity-kept"),
        pytest.param("5%", 1_000_000, "50000", id="inodes"),
    ],
)
def test_threshold_quantity(value: str, capacity: int, text: str) -> None:
    assert str(Threshold("nodefs.available", value).quantity(capacity)) == text


@pytest.mark.parametrize(
    ("flag", "parsed"),
    [
        pytest.param(
            "nodefs.available<5%,imagefs.available<1Gi",
            {"nodefs.available": "5%", "imagefs.available": "1Gi"},
            id="pairs",
        ),
        pytest.param(
            " memory.available<200Mi , ", {"memory.available": "200Mi"}, id="spaces-and-trailing-comma"
        ),
        pytest.param("", {}, id="empty"),
    ],
)
def test_parse_eviction_hard(flag: str, parsed: dict[str, str]) -> None:
    assert parse_eviction_hard(flag) == parsed


@pytest.mark.parametrize(
    ("values", "error"),
    [
        pytest.param(
            {"nodefs.availabel": "10%"}, "unsupported eviction signal nodefs.availabel", id="unknown-signal"
        ),
        pytest.param({"nodefs.available": "110%"}, "must be >= 0% and <= 100%", id="percent-over-100"),
        pytest.param({"nodefs.available": "lots"}, "quantities must match", id="bad-quantity"),
    ],
)
def test_validate_thresholds_rejects(values: dict[str, str], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        validate_thresholds(values)


def test_malformed_flag_pair() -> None:
    with pytest.raises(ValueError, match="malformed pair"):
        parse_eviction_hard("nodefs.available=10%")


def test_zero_threshold_turns_the_signal_off() -> None:
    assert validate_thresholds({"nodefs.available": "0%", "imagefs.available": "15%"}) == [
        Threshold("imagefs.available", "15%")
    ]


@pytest.mark.parametrize(
    ("observations", "met"),
    [
        pytest.param({"nodefs.available": Observation(20 * Gi, 100 * Gi)}, [], id="plenty"),
        pytest.param(
            {"nodefs.available": Observation(9 * Gi, 100 * Gi)}, ["nodefs.available"], id="below-10-percent"
        ),
        pytest.param(
            {"nodefs.available": Observation(10 * Gi, 100 * Gi)},
            ["nodefs.available"],
            id="at-10-percent-float32-rounds-up",
        ),
        pytest.param(
            {"imagefs.available": Observation(14 * Gi, 100 * Gi), "nodefs.inodesFree": Observation(10, 1000)},
            ["nodefs.inodesFree", "imagefs.available"],
            id="several",
        ),
        pytest.param({}, [], id="no-observation"),
    ],
)
def test_thresholds_met(observations: dict[str, Observation], met: list[str]) -> None:
    thresholds = validate_thresholds(
        {"nodefs.available": "10%", "nodefs.inodesFree": "5%", "imagefs.available": "15%"}
    )
    assert [t.signal for t in thresholds_met(thresholds, observations)] == met


def test_pressure_holds_for_the_transition_period() -> None:
    assert not under_pressure(None, now=100, transition_period=300)
    assert under_pressure(0, now=299, transition_period=300)
    assert not under_pressure(0, now=300, transition_period=300)


RANK_CASES: list[Any] = [
    pytest.param(
        [
            usage(pod("within", containers=[ctr(request="1Gi")]), rootfs=100 * Mi),
            usage(pod("over", containers=[ctr(request="10Mi")]), rootfs=20 * Mi),
        ],
        ["over", "within"],
        id="over-request-first",
    ),
    pytest.param(
        [usage(pod("high", priority=100), rootfs=500 * Mi), usage(pod("low", priority=0), rootfs=1 * Mi)],
        ["low", "high"],
        id="then-lower-priority",
    ),
    pytest.param(
        [usage(pod("small"), logs=Mi), usage(pod("big"), volumes={"v": 300 * Mi})],
        ["big", "small"],
        id="then-bigger-usage-volumes-count",
    ),
    pytest.param(
        [
            usage(pod("static", annotations={"kubernetes.io/config.source": "file"}), rootfs=Gi),
            usage(pod("deleting", deletionTimestamp="2026-01-01T00:00:00Z"), rootfs=Gi),
            usage(pod("plain"), rootfs=Mi),
        ],
        ["plain"],
        id="static-and-deleting-never",
    ),
]


@pytest.mark.parametrize(("usages", "order"), RANK_CASES)
def test_rank_for_disk_eviction(usages: list[PodDiskUsage], order: list[str]) -> None:
    assert [u.pod["metadata"]["name"] for u in rank_for_disk_eviction(usages)] == order


def test_disk_pressure_message_is_upstreams() -> None:
    p = pod("hog", containers=[ctr(request="10Mi")])
    msg = disk_pressure_message(
        usage(p, rootfs=30 * Mi, logs=2 * Mi),
        Threshold("nodefs.available", "10%"),
        Observation(5 * Gi, 100 * Gi),
    )
    assert msg == (
        "The node was low on resource: ephemeral-storage. Threshold quantity: 10737418400, "
        "available: 5Gi. Container app was using 32Mi, request is 10Mi, has larger consumption of "
        "ephemeral-storage. "
    )


def test_disk_pressure_message_without_request() -> None:
    msg = disk_pressure_message(
        usage(pod("p"), rootfs=3 * Mi), Threshold("imagefs.available", "2Gi"), Observation(Gi, 100 * Gi)
    )
    assert msg.endswith(
        "available: 1Gi. Container app was using 3Mi, request is 0, has larger consumption of "
        "ephemeral-storage. "
    )


VIOLATION_CASES: list[Any] = [
    pytest.param(
        usage(
            pod("p", containers=[ctr(limit="10Mi")], volumes=[{"name": "scratch", "emptyDir": {}}]),
            volumes={"scratch": 20 * Mi},
        ),
        "Pod ephemeral local storage usage exceeds the total limit of containers 10Mi. ",
        id="emptydir-counts-against-the-pod-limit",
    ),
    pytest.param(
        usage(
            pod("p", containers=[ctr(limit="10Mi")], volumes=[{"name": "scratch", "emptyDir": {}}]),
            volumes={"scratch": 5 * Mi},
        ),
        None,
        id="within-limit",
    ),
    pytest.param(
        usage(
            pod("p", volumes=[{"name": "cache", "emptyDir": {"sizeLimit": "1Mi"}}]), volumes={"cache": 2 * Mi}
        ),
        'Usage of EmptyDir volume "cache" exceeds the limit "1Mi". ',
        id="emptydir-size-limit",
    ),
    pytest.param(
        PodDiskUsage(
            pod("p", containers=[ctr("a", limit="20Mi"), ctr("b", limit="100Mi")]),
            {"a": ContainerDiskUsage(rootfs=25 * Mi)},
        ),
        'Container a exceeded its local ephemeral storage limit "20Mi". ',
        id="container-limit",
    ),
    pytest.param(
        PodDiskUsage(
            pod("p", containers=[ctr("a", limit="10M"), ctr("b", limit="10M")]),
            {"a": ContainerDiskUsage(rootfs=9_000_000), "b": ContainerDiskUsage(logs=12_000_000)},
        ),
        "Pod ephemeral local storage usage exceeds the total limit of containers 20M. ",
        id="summed-limit-keeps-the-format",
    ),
    pytest.param(usage(pod("p"), rootfs=Gi), None, id="no-limits"),
]


@pytest.mark.parametrize(("u", "message"), VIOLATION_CASES)
def test_local_storage_violation(u: PodDiskUsage, message: str | None) -> None:
    assert local_storage_violation(u) == message


def test_storage_limited_and_local_volumes() -> None:
    p = pod(
        "p",
        volumes=[
            {"name": "a", "emptyDir": {}},
            {"name": "m", "emptyDir": {"medium": "Memory"}},
            {"name": "s", "secret": {"secretName": "x"}},
            {"name": "c", "configMap": {"name": "x"}},
        ],
    )
    assert local_ephemeral_volumes(p) == {"a": "emptyDir", "c": "configMap"}
    assert not storage_limited(p)
    assert storage_limited(pod("q", containers=[ctr(limit="1Gi")]))
    assert storage_limited(pod("r", volumes=[{"name": "a", "emptyDir": {"sizeLimit": "1Gi"}}]))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2m0s", 120.0),
        ("90s", 90.0),
        ("1h30m", 5400.0),
        ("0", 0.0),
        ("500ms", 0.5),
    ],
)
def test_parse_go_duration(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == seconds


def test_parse_go_duration_rejects() -> None:
    with pytest.raises(ValueError):
        parse_go_duration("2 minutes")
