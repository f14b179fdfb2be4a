"""Default limits from the node: the instance family from its instance-type label,
the cores from its capacity, for both modes; NEC annotations override them."""

from __future__ import annotations

import queue
import threading
from typing import Any

import pytest

from exporter.cluster import ClusterEngine
from exporter.incidents import Incidents
from exporter.kube import ENI_IP, Change, NecInfo, node_info
from exporter.metrics import Instruments
from kube_adapter.events import NecEvent
from kube_adapter.watcher import Resource
from pool_engine.config import Defaults, Limits, Mode, default_limits

DIRECT, ROUTE = Mode.DIRECT_ENI, Mode.ROUTE_ENI


def node(
    name: str, cpu: str, labels: dict[str, str], direct: int = 1, route: int = 0
) -> dict[str, Any]:
    resources = {"cpu": cpu, ENI_IP: str(route), "tke.cloud.tencent.com/direct-eni": str(direct)}
    return {"metadata": {"name": name, "labels": labels},
            "status": {"capacity": resources, "allocatable": resources}}  # fmt: skip


def typed(kind: str) -> dict[str, str]:
    return {"node.kubernetes.io/instance-type": kind}


@pytest.mark.parametrize(
    ("kind", "cores", "direct"),
    [
        ("S5.2XLARGE16", 8, 39),
        ("S5.MEDIUM4", 2, 9),
        ("S5.64XLARGE1024", 256, 23),
        ("SA2.LARGE8", 4, 19),
        ("SA2.8XLARGE64", 32, 39),
        ("IT5.4XLARGE64", 16, 39),
        ("IT5.32XLARGE512", 128, 23),
        ("SA3.2XLARGE16", 8, 15),
        ("SA3.MEDIUM4", 2, 9),
        ("SA3.SMALL2", 1, 4),
        ("M9.LARGE8", 4, 19),  # unknown family: S5's table
        ("", 8, 39),  # no label: S5's table
    ],
)
def test_direct_eni_limits_by_family_and_cores(kind: str, cores: int, direct: int) -> None:
    info = node_info(node("n1", str(cores), typed(kind) if kind else {}))
    assert info.cores == cores
    assert default_limits(info.cores, DIRECT, info.family) == Limits(direct)


@pytest.mark.parametrize(("cores", "route"), [(1, Limits(1, 5)), (4, Limits(3, 9)),
                                              (8, Limits(5, 19)), (16, Limits(7, 29))])  # fmt: skip
def test_route_eni_limits_by_cores_in_every_family(cores: int, route: Limits) -> None:
    for family in ("S5", "SA2", "IT5", "SA3", "M9", ""):
        assert default_limits(cores, ROUTE, family) == route


def test_the_family_comes_from_the_label_else_the_beta_label() -> None:
    from pool_engine.config import instance_family

    assert instance_family("SA3.2XLARGE16") == "SA3"
    assert instance_family("sa2.large8") == "SA2"
    assert node_info(node("n", "8", {"beta.kubernetes.io/instance-type": "SA3.2XLARGE16"})
                     ).family == "SA3"  # fmt: skip
    both = {"node.kubernetes.io/instance-type": "IT5.4XLARGE64",
            "beta.kubernetes.io/instance-type": "SA3.2XLARGE16"}  # fmt: skip
    assert node_info(node("n", "8", both)).family == "IT5"


class Synced:
    def __init__(self) -> None:
        self.synced = threading.Event()
        self.synced.set()


class Nowhere:
    def post(self, event: NecEvent) -> None: ...

    def remember(self, nec: str, annotations: object) -> None: ...


def engine(observe: bool, *changes: Change) -> ClusterEngine:
    feed: queue.Queue[Change] = queue.Queue()
    for change in changes:
        feed.put(change)
    out = ClusterEngine(feed, [Synced()], Defaults(), Nowhere(),
                        Incidents(Instruments("t").engine_errors), observe=observe)  # fmt: skip
    out.advance(1.0)
    return out


def node_change(obj: dict[str, Any]) -> Change:
    return Change(Resource.NODE, False, obj["metadata"]["name"], node_info(obj))


@pytest.mark.parametrize("observe", [True, False])
def test_an_8_core_sa3_node_gets_15_exclusive_enis(observe: bool) -> None:
    """Before: the family was never read: every node took the S5 table (39)."""
    got = engine(observe, node_change(node("sa3", "8", typed("SA3.2XLARGE16"))))
    assert got.registry.pools[("sa3", DIRECT)].capacity == 15
    assert got.registry.pools[("sa3", ROUTE)].capacity == 5 * 19


def test_nec_limits_override_the_familys() -> None:
    nec = NecInfo("sa3", "u", {"tke.cloud.tencent.com/direct-eni-max-attach": "12"})
    got = engine(True, Change(Resource.NEC, False, "sa3", nec),
                 node_change(node("sa3", "8", typed("SA3.2XLARGE16"))))  # fmt: skip
    assert got.registry.pools[("sa3", DIRECT)].capacity == 12
