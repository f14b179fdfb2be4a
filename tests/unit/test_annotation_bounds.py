"""Bounds on NEC annotation values and engine flags, and limits below what pods hold
(docs/contracts/annotations.md): refused with a reason, never a crash."""

from __future__ import annotations

import pytest

from exporter.cloud import SimulatedVpc
from pool_engine.config import (
    IPS_PER_ENI_KEY,
    MAX_ATTACH_KEY,
    MAX_SLOTS,
    MAX_WARM_KEY,
    MIN_WARM_KEY,
    Defaults,
    Limits,
    Mode,
    Reason,
    Refusal,
    Targets,
    Usage,
    parse_limits,
    parse_targets,
)
from pool_engine.inventory import EniRecord, compare
from pool_engine.pool import NodePool
from pool_engine.reconciler import Reconciler
from pool_engine.registry import Registry

ROUTE = Mode.ROUTE_ENI
MIN, MAX = MIN_WARM_KEY[ROUTE], MAX_WARM_KEY[ROUTE]
ATTACH = MAX_ATTACH_KEY[ROUTE]


def refusal(got: object) -> Reason:
    assert isinstance(got, Refusal), got
    assert "\n" not in got.message and len(got.message) < 200
    return got.reason


@pytest.mark.parametrize(
    "value",
    [
        "99999999999999999999",  # beyond int64
        str(2**63),
        str(2**31),  # beyond int32
        str(2**31 - 1),
        str(MAX_SLOTS[ROUTE] + 1),  # above what any node can bind
        "9" * 5000,  # beyond Python's int() digit limit
    ],
)
def test_values_above_physical_limits_are_out_of_range(value: str) -> None:
    assert refusal(parse_targets({MIN: "1", MAX: value}, ROUTE)) is Reason.OUT_OF_RANGE
    limits = parse_limits({ATTACH: value}, ROUTE, Limits(3, 9), Usage())
    assert refusal(limits) is Reason.OUT_OF_RANGE


def test_the_ceilings_themselves_are_accepted() -> None:
    top = str(MAX_SLOTS[ROUTE])
    assert parse_targets({MIN: top, MAX: top}, ROUTE) == Targets(MAX_SLOTS[ROUTE], MAX_SLOTS[ROUTE])
    assert refusal(parse_limits({ATTACH: "65"}, ROUTE, Limits(3, 9), Usage())) is (
        Reason.OUT_OF_RANGE
    )
    assert parse_limits({ATTACH: "64", IPS_PER_ENI_KEY: "256"}, ROUTE, Limits(3, 9), Usage()) == (
        Limits(64, 256)
    )
    direct = MAX_ATTACH_KEY[Mode.DIRECT_ENI]
    assert parse_limits({direct: "257"}, Mode.DIRECT_ENI, Limits(9), Usage()) is not None
    assert refusal(parse_limits({direct: "257"}, Mode.DIRECT_ENI, Limits(9), Usage())) is (
        Reason.OUT_OF_RANGE
    )


@pytest.mark.parametrize("value", ["+5", " 5 ", "5 ", "1_0", "５", "5\n", "0x5", "5.0", "", "-"])
def test_only_plain_decimal_digits_are_integers(value: str) -> None:
    assert refusal(parse_targets({MIN: "1", MAX: value}, ROUTE)) is Reason.NOT_INTEGER
    assert refusal(parse_limits({ATTACH: value}, ROUTE, Limits(3, 9), Usage())) is (
        Reason.NOT_INTEGER
    )


@pytest.mark.parametrize("value", ["-1", "-99999999999999999999", "-" + "9" * 5000])
def test_negative_values_of_any_size_are_negative(value: str) -> None:
    assert refusal(parse_targets({MIN: value, MAX: "3"}, ROUTE)) is Reason.NEGATIVE


def test_leading_zeros_are_still_decimal() -> None:
    assert parse_targets({MIN: "007", MAX: "0010"}, ROUTE) == Targets(7, 10)
    assert parse_targets({MIN: "-0", MAX: "0"}, ROUTE) == Targets(0, 0)


def test_flags_above_the_ceiling_are_refused() -> None:
    refused = Defaults(ip_min_warm=1, ip_max_warm=99999999999999999999).check()
    assert refused is not None and refused.reason is Reason.OUT_OF_RANGE
    refused = Defaults(eni_min_warm=1, eni_max_warm=MAX_SLOTS[Mode.DIRECT_ENI] + 1).check()
    assert refused is not None and refused.reason is Reason.OUT_OF_RANGE


def held_pool() -> NodePool:
    """Two ENIs: eni-a holds 3 pods' IPs of 4 bound, eni-b 1 of 2."""
    pool = NodePool("n", ROUTE, Targets(0, 0), Limits(3, 9))
    pool.claim({"10.0.0.1": "p1", "10.0.0.2": "p2", "10.0.0.3": "p3", "10.0.1.1": "p4"})
    records = (
        EniRecord("eni-a", "s", ("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4")),
        EniRecord("eni-b", "s", ("10.0.1.1", "10.0.1.2")),
    )
    pool.settle(compare(pool.enis.values(), records), {"s": 100}, 0.0)
    return pool


def test_usage_counts_enis_and_ips_held_by_pods() -> None:
    assert held_pool().usage() == Usage(slots=4, enis=2, most_on_one_eni=3)
    assert NodePool("e", ROUTE, Targets(0, 0), Limits(3, 9)).usage() == Usage()


@pytest.mark.parametrize(
    ("annotations", "refused"),
    [
        ({ATTACH: "1"}, "tke.cloud.tencent.com/route-eni-max-attach=1 is below the 2 ENIs in use"),
        ({IPS_PER_ENI_KEY: "2"},
         "tke.cloud.tencent.com/max-ip-per-route-eni=2 is below the 3 IPs in use on one ENI"),
        ({ATTACH: "2", IPS_PER_ENI_KEY: "3"}, None),  # 2 ENIs x 3 IPs holds what pods hold
    ],
)  # fmt: skip
def test_limits_below_the_enis_or_ips_per_eni_in_use_are_refused(
    annotations: dict[str, str], refused: str | None
) -> None:
    """1 ENI x 9 IPs (C = 9) would hold the 4 slots in use, yet 2 ENIs hold them."""
    pool = held_pool()
    reconciler = Reconciler(Registry(), SimulatedVpc())
    before = pool.limits
    got = reconciler.configure(pool, annotations, 0.0)
    if refused is None:
        assert got == [] and pool.limits == Limits(2, 3)
        return
    assert [r.message for r in got] == [refused]
    assert got[0].reason is Reason.BELOW_IN_USE and pool.limits == before


def test_a_value_beyond_int64_is_refused_by_the_engine_not_raised() -> None:
    """Before: configure() handed 99999999999999999999 to the numba kernel, which raised."""
    registry = Registry()
    reconciler = Reconciler(registry, SimulatedVpc())
    pool = registry.ensure("n", ROUTE, Limits(3, 9), 0.0)
    got = reconciler.configure(pool, {MIN: "1", MAX: "99999999999999999999"}, 0.0)
    assert [r.reason for r in got] == [Reason.OUT_OF_RANGE]
    assert pool.targets == Targets(5, 5)
    assert reconciler.counters(pool).rejections == {"out_of_range": 1}
    reconciler.step(1.0)


def test_a_pool_can_be_created_with_the_defaults_of_its_first_sight() -> None:
    registry = Registry(Defaults(ip_min_warm=9, ip_max_warm=9))
    kept = Defaults(ip_min_warm=2, ip_max_warm=3, quick_release=True)
    pool = registry.ensure("n", ROUTE, Limits(3, 9), 0.0, defaults=kept)
    assert pool.targets == Targets(2, 3) and pool.quick_release
    assert registry.ensure("m", ROUTE, Limits(3, 9), 0.0).targets == Targets(9, 9)
