"""The NEC annotation contract: exact keys, refusals, defaults for new nodes, limits."""

from __future__ import annotations

import pytest

from pool_engine.config import (
    Defaults,
    Limits,
    Mode,
    Reason,
    Refusal,
    Targets,
    Usage,
    default_limits,
    parse_limits,
    parse_targets,
)
from pool_engine.registry import Registry

ROUTE_MIN = "tke.cloud.tencent.com/route-eni-ip-min-warm-target"
ROUTE_MAX = "tke.cloud.tencent.com/route-eni-ip-max-warm-target"
DIRECT_MIN = "tke.cloud.tencent.com/direct-eni-min-warm-target"
DIRECT_MAX = "tke.cloud.tencent.com/direct-eni-max-warm-target"
ROUTE_ATTACH = "tke.cloud.tencent.com/route-eni-max-attach"
IPS_PER_ENI = "tke.cloud.tencent.com/max-ip-per-route-eni"
DIRECT_ATTACH = "tke.cloud.tencent.com/direct-eni-max-attach"


@pytest.mark.parametrize(
    ("annotations", "mode", "want"),
    [
        ({ROUTE_MIN: "1", ROUTE_MAX: "3"}, Mode.ROUTE_ENI, Targets(1, 3)),
        ({ROUTE_MIN: "0", ROUTE_MAX: "0"}, Mode.ROUTE_ENI, Targets(0, 0)),
        ({DIRECT_MIN: "2", DIRECT_MAX: "2"}, Mode.DIRECT_ENI, Targets(2, 2)),
        ({DIRECT_MIN: "2", DIRECT_MAX: "2"}, Mode.ROUTE_ENI, None),  # other mode's keys
        ({}, Mode.ROUTE_ENI, None),
    ],
)
def test_targets_accepted(annotations: dict[str, str], mode: Mode, want: Targets | None) -> None:
    assert parse_targets(annotations, mode) == want


@pytest.mark.parametrize(
    ("annotations", "reason"),
    [
        ({ROUTE_MIN: "1"}, Reason.MISSING_PAIR_KEY),  # one key of the pair missing
        ({ROUTE_MAX: "3"}, Reason.MISSING_PAIR_KEY),
        ({ROUTE_MIN: "1", ROUTE_MAX: "three"}, Reason.NOT_INTEGER),
        ({ROUTE_MIN: "1.5", ROUTE_MAX: "3"}, Reason.NOT_INTEGER),
        ({ROUTE_MIN: "", ROUTE_MAX: "3"}, Reason.NOT_INTEGER),
        ({ROUTE_MIN: "-1", ROUTE_MAX: "3"}, Reason.NEGATIVE),
        ({ROUTE_MIN: "4", ROUTE_MAX: "3"}, Reason.MIN_ABOVE_MAX),
    ],
)
def test_targets_refused(annotations: dict[str, str], reason: Reason) -> None:
    refused = parse_targets(annotations, Mode.ROUTE_ENI)
    assert isinstance(refused, Refusal)
    assert refused.reason is reason
    assert refused.message  # one line saying why
    assert "\n" not in refused.message


@pytest.mark.parametrize(
    ("annotations", "mode", "in_use", "want"),
    [
        ({ROUTE_ATTACH: "1"}, Mode.ROUTE_ENI, 5, Limits(1, 9)),
        ({ROUTE_ATTACH: "2", IPS_PER_ENI: "5"}, Mode.ROUTE_ENI, 10, Limits(2, 5)),
        ({IPS_PER_ENI: "19"}, Mode.ROUTE_ENI, 0, Limits(3, 19)),
        ({DIRECT_ATTACH: "5"}, Mode.DIRECT_ENI, 5, Limits(5)),
        ({}, Mode.ROUTE_ENI, 0, None),
    ],
)
def test_limits_accepted(
    annotations: dict[str, str], mode: Mode, in_use: int, want: Limits | None
) -> None:
    current = Limits(3, 9) if mode is Mode.ROUTE_ENI else Limits(9)
    assert parse_limits(annotations, mode, current, Usage(in_use)) == want


@pytest.mark.parametrize(
    ("annotations", "mode", "in_use", "reason"),
    [
        ({ROUTE_ATTACH: "1"}, Mode.ROUTE_ENI, 10, Reason.BELOW_IN_USE),  # 1 x 9 < 10 in use
        ({IPS_PER_ENI: "2"}, Mode.ROUTE_ENI, 7, Reason.BELOW_IN_USE),
        ({DIRECT_ATTACH: "3"}, Mode.DIRECT_ENI, 4, Reason.BELOW_IN_USE),
        ({ROUTE_ATTACH: "x"}, Mode.ROUTE_ENI, 0, Reason.NOT_INTEGER),
        ({DIRECT_ATTACH: "-2"}, Mode.DIRECT_ENI, 0, Reason.NEGATIVE),
    ],
)
def test_limits_refused(
    annotations: dict[str, str], mode: Mode, in_use: int, reason: Reason
) -> None:
    current = Limits(3, 9) if mode is Mode.ROUTE_ENI else Limits(9)
    refused = parse_limits(annotations, mode, current, Usage(in_use))
    assert isinstance(refused, Refusal) and refused.reason is reason


def test_defaults_apply_only_to_nodes_first_seen_after_the_change() -> None:
    registry = Registry()
    old = registry.ensure("old", Mode.ROUTE_ENI, Limits(3, 9), now=0.0)
    assert old.targets == Targets(5, 5)
    assert registry.set_defaults(Defaults(ip_min_warm=2, ip_max_warm=8, quick_release=True)) is None
    new = registry.ensure("new", Mode.ROUTE_ENI, Limits(3, 9), now=10.0)
    assert new.targets == Targets(2, 8) and new.quick_release
    assert registry.ensure("old", Mode.ROUTE_ENI, Limits(3, 9), now=20.0).targets == Targets(5, 5)
    assert not old.quick_release
    direct = registry.ensure("new", Mode.DIRECT_ENI, Limits(9), now=10.0)
    assert direct.targets == Targets(1, 1)  # --eni-*-warm-target defaults
    assert new.next_round == 130.0  # rounds tick from the pool's own start


def test_invalid_defaults_are_refused_and_the_old_ones_stay() -> None:
    registry = Registry()
    refused = registry.set_defaults(Defaults(ip_min_warm=6, ip_max_warm=5))
    assert isinstance(refused, Refusal) and refused.reason is Reason.MIN_ABOVE_MAX
    assert registry.defaults == Defaults()


@pytest.mark.parametrize(
    ("cores", "route", "s5", "sa3"),
    [
        (1, Limits(1, 5), 4, 4),
        (2, Limits(3, 9), 9, 9),
        (4, Limits(3, 9), 19, 15),
        (6, Limits(3, 9), 19, 15),
        (8, Limits(5, 19), 39, 15),
        (10, Limits(5, 19), 39, 15),
        (12, Limits(7, 29), 39, 15),
        (64, Limits(7, 29), 39, 15),
        (128, Limits(7, 29), 23, 15),
    ],
)
def test_default_limits_by_cpu_cores(cores: int, route: Limits, s5: int, sa3: int) -> None:
    assert default_limits(cores, Mode.ROUTE_ENI) == route
    assert default_limits(cores, Mode.DIRECT_ENI, "S5").capacity == s5
    assert default_limits(cores, Mode.DIRECT_ENI, "SA2").capacity == s5
    assert default_limits(cores, Mode.DIRECT_ENI, "IT5").capacity == s5
    assert default_limits(cores, Mode.DIRECT_ENI, "SA3").capacity == sa3


def test_an_unknown_instance_family_takes_s5s_table() -> None:
    """As documented (docs/contracts/annotations.md); a NEC annotation overrides it."""
    for cores in (1, 2, 4, 8, 128):
        assert default_limits(cores, Mode.DIRECT_ENI, "M9") == default_limits(
            cores, Mode.DIRECT_ENI, "S5"
        )
