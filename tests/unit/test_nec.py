"""kube_adapter.nec: NEC annotations <-> pool_engine.config targets and limits."""

from __future__ import annotations

import pytest

from kube_adapter import nec
from pool_engine.config import Defaults, Mode, Targets, parse_targets

P = "tke.cloud.tencent.com/"


def test_where_necs_live() -> None:
    assert (nec.GROUP, nec.VERSION, nec.KIND, nec.PLURAL) == (
        "networking.tke.cloud.tencent.com", "v1", "NodeENIConfig", "nodeeniconfigs"
    )  # fmt: skip
    assert nec.API_VERSION == "networking.tke.cloud.tencent.com/v1"


@pytest.mark.parametrize("mode", list(Mode))
def test_targets_round_trip_through_annotations(mode: Mode) -> None:
    for targets in (Targets(0, 0), Targets(2, 7), Targets(30, 30)):
        written = nec.targets_annotations(targets, mode)
        assert len(written) == 2 and all(k.startswith(P) for k in written)
        assert parse_targets(written, mode) == targets
        assert nec.current_targets(written, mode) == targets


def test_the_keys_of_each_mode() -> None:
    assert nec.targets_annotations(Targets(1, 3), Mode.ROUTE_ENI) == {
        P + "route-eni-ip-min-warm-target": "1", P + "route-eni-ip-max-warm-target": "3"
    }  # fmt: skip
    assert nec.targets_annotations(Targets(0, 2), Mode.DIRECT_ENI) == {
        P + "direct-eni-min-warm-target": "0", P + "direct-eni-max-warm-target": "2"
    }  # fmt: skip


@pytest.mark.parametrize(
    "annotations",
    [
        {},
        {P + "route-eni-ip-min-warm-target": "1"},  # half a pair
        {P + "route-eni-ip-min-warm-target": "x", P + "route-eni-ip-max-warm-target": "3"},
        {P + "route-eni-ip-min-warm-target": "4", P + "route-eni-ip-max-warm-target": "3"},
    ],
)
def test_without_a_valid_pair_the_engine_defaults_are_in_force(annotations: dict[str, str]) -> None:
    assert nec.current_targets(annotations, Mode.ROUTE_ENI) == Defaults().targets(Mode.ROUTE_ENI)


def test_capacity_needs_every_limit_key_of_the_mode() -> None:
    route = {P + "route-eni-max-attach": "3", P + "max-ip-per-route-eni": "9"}
    assert nec.capacity(route, Mode.ROUTE_ENI) == 27
    assert nec.capacity({P + "route-eni-max-attach": "3"}, Mode.ROUTE_ENI) is None
    assert nec.capacity({P + "direct-eni-max-attach": "4"}, Mode.DIRECT_ENI) == 4
    assert nec.capacity({**route, P + "route-eni-max-attach": "-1"}, Mode.ROUTE_ENI) is None
    assert nec.capacity(route, Mode.DIRECT_ENI) is None


def test_tke_annotations_drop_everything_else() -> None:
    assert nec.tke_annotations(None) == {}
    assert nec.tke_annotations({P + "a": "1", "eni-pool.io/tuner-opt-out": "true"}) == {
        P + "a": "1"
    }
