"""The simulated VPC's truth: states from submission to finish, timeouts, reuse."""

from __future__ import annotations

import pytest

from exporter.cloud import CloudSettings, SimulatedVpc
from exporter.faults import Fate, FaultRates, Faults
from exporter.podbook import PodBook
from pool_engine.config import Mode
from pool_engine.errors import NotFound, OutcomeUnknown, PermanentError, TransientError
from pool_engine.inventory import EniState
from pool_engine.plan import BindOp

R = Mode.ROUTE_ENI
FIXED = CloudSettings(ip_bind_seconds=(2.0, 2.0), eni_attach_seconds=(10.0, 10.0),
                      release_seconds=(1.0, 1.0), detach_seconds=(3.0, 3.0),
                      subnets=(("s", 3),))  # fmt: skip


def attach(vpc: SimulatedVpc, count: int = 2) -> str:
    vpc.bind("n", R, BindOp(1, "pending-eni-1", True, "s", count), "t:1", 0.0)
    (record,) = vpc.inventory("n", R, 0.0).enis
    assert record.state is EniState.ATTACHING and len(record.changing) == count
    (done,) = vpc.poll(12.0)
    assert done.error is None and done.token == "t:1" and len(done.ips) == count
    return done.eni_id


def test_ips_change_state_from_submission_to_finish_and_are_handed_out_again() -> None:
    vpc = SimulatedVpc(FIXED)
    eni_id = attach(vpc)
    assert vpc.bound("n", R) == 2 and vpc.subnets() == {"s": 1}
    ip = vpc.inventory("n", R, 12.0).enis[0].ips[0]
    vpc.release("n", R, eni_id, ip, "t:2", 20.0)
    record = vpc.inventory("n", R, 20.0).enis[0]
    assert ip in record.changing and ip not in record.ips and vpc.bound("n", R) == 1
    assert vpc.next_finish() == 21.0
    (done,) = vpc.poll(21.0)
    assert done.error is None and vpc.subnets() == {"s": 2}
    vpc.bind("n", R, BindOp(2, eni_id, False, "s", 1), "t:3", 22.0)
    (again,) = vpc.poll(24.0)
    assert again.ips == (ip,)  # last released, first handed out


def test_a_release_of_an_ip_that_is_not_there_is_not_found_and_detach_needs_empty() -> None:
    vpc = SimulatedVpc(FIXED)
    eni_id = attach(vpc)
    vpc.release("n", R, eni_id, "10.9.9.9", "t:2", 20.0)
    vpc.detach("n", R, eni_id, "t:3", 20.0)
    vpc.detach("n", R, "eni-gone", "t:4", 20.0)
    errors = {o.token: o.error for o in vpc.poll(30.0)}
    assert isinstance(errors["t:2"], NotFound) and isinstance(errors["t:4"], NotFound)
    assert (
        isinstance(errors["t:3"], PermanentError) and errors["t:3"].code == "UnsupportedOperation"
    )


def test_a_dry_subnet_leaves_the_new_eni_attached_and_empty() -> None:
    vpc = SimulatedVpc(FIXED)
    attach(vpc, count=3)
    vpc.bind("n", R, BindOp(2, "pending-eni-2", True, "s", 1), "t:2", 20.0)
    (done,) = vpc.poll(40.0)
    assert done.error is not None and done.error.code == "InsufficientSubnetIpAddress"
    states = sorted((r.state, len(r.ips)) for r in vpc.inventory("n", R, 40.0).enis)
    assert states == [(EniState.ATTACHED, 0), (EniState.ATTACHED, 3)]


@pytest.mark.parametrize(("fate", "bound"), [(Fate.TIMED_OUT_DONE, 2), (Fate.TIMED_OUT_UNDONE, 0)])
def test_a_timed_out_call_may_or_may_not_have_happened(fate: Fate, bound: int) -> None:
    vpc = SimulatedVpc(FIXED)
    vpc.faults.draw = lambda rates, now: fate  # type: ignore[method-assign]
    vpc.bind("n", R, BindOp(1, "pending-eni-1", True, "s", 2), "t:1", 0.0)
    done = [o for t in range(1, 30) for o in vpc.poll(float(t))]
    assert len(done) == 1 and isinstance(done[0].error, OutcomeUnknown)
    assert vpc.bound("n", R) == bound
    with pytest.raises(OutcomeUnknown):
        vpc.inventory("n", R, 30.0)


def test_fates_are_drawn_per_call_until_faults_end() -> None:
    faults = Faults(seed=1)
    rates = FaultRates(error=0.5, throttle=0.2, timeout=0.5, until=100.0)
    fates = [faults.draw(rates, 0.0) for _ in range(4000)]
    assert {f: fates.count(f) for f in Fate}[Fate.THROTTLED] == faults.counts.throttles
    assert 700 < faults.counts.throttles < 900 and 1400 < faults.counts.errors < 1800
    assert faults.counts.timeouts == fates.count(Fate.TIMED_OUT_DONE) + fates.count(
        Fate.TIMED_OUT_UNDONE
    )
    assert faults.draw(rates, 100.0) is Fate.OK
    assert isinstance(Fate.THROTTLED.error("bind"), TransientError)
    vpc = SimulatedVpc(CloudSettings(throttle_rate=1.0))
    with pytest.raises(TransientError, match="RequestLimitExceeded"):
        vpc.inventory("n", R, 0.0)
    assert vpc.calls == 1


def test_the_pod_book_tells_who_holds_what() -> None:
    book = PodBook()
    book.started("a", "n", 1.0)
    book.started("b", "n", 2.0)
    book.started("c", "m", 3.0)
    assert book.handed("a", "10.0.0.1") is None
    assert book.handed("b", "10.0.0.1") == "a"  # a double assignment
    assert book.holding("n") == 2 and book.waiters("n") == {}
    assert book.waiters("m") == {"c": 3.0}
    book.stopped("b")
    assert book.holder("10.0.0.1") is None and book.holders("n") == {"10.0.0.1": "a"}
    assert book.handed("gone", "10.0.0.2") is None and book.running() == 2
