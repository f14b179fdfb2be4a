"""kube_adapter.lease: never two replicas acting, whatever fails and whenever.

Replicas share one fake Lease object and one fake clock; every store call takes a
random latency and may fail before or after it is applied (the answer lost: the
write happened but the caller does not know). After every event no two replicas
may hold the Lease (hold = their renew deadline is ahead), and once faults stop,
one replica holds it again within a lease duration and two rounds.
"""

from __future__ import annotations

import contextlib
import math
import random
import threading
import time
from dataclasses import replace

import pytest

from kube_adapter.lease import Elector, LeaseRecord, LeaseTimings
from pool_engine.errors import KubernetesConflict, KubernetesError

TIMINGS = LeaseTimings(duration=15.0, renew_deadline=10.0, retry_period=2.0)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeLease:
    """One Lease object on a fake API server."""

    def __init__(self, clock: Clock, rng: random.Random) -> None:
        self.clock = clock
        self.rng = rng
        self.record: LeaseRecord | None = None
        self.versions = 0
        self.fail_rate = 0.0
        self.latency = 0.3
        self.down = False
        self.writes: list[tuple[float, str]] = []

    def _call(self) -> None:
        self.clock.now += self.rng.uniform(0, self.latency)
        if self.down or self.rng.random() < self.fail_rate:
            raise KubernetesError("injected: before the server")

    def _answer(self) -> None:
        self.clock.now += self.rng.uniform(0, self.latency)
        if self.down or self.rng.random() < self.fail_rate:
            raise KubernetesError("injected: answer lost")

    def _store(self, holder: str, duration: int, transitions: int) -> LeaseRecord:
        self.versions += 1
        self.record = LeaseRecord(holder, float(duration), transitions, str(self.versions))
        self.writes.append((self.clock.now, holder))
        return self.record

    def read(self) -> LeaseRecord | None:
        self._call()
        got = self.record
        self._answer()
        return got

    def create(self, holder: str, duration: int) -> LeaseRecord:
        self._call()
        if self.record is not None:
            raise KubernetesConflict("exists", status=409)
        made = self._store(holder, duration, 0)
        self._answer()
        return made

    def write(self, previous: LeaseRecord, holder: str, duration: int) -> LeaseRecord:
        self._call()
        if self.record is None or self.record.version != previous.version:
            raise KubernetesConflict("stale", status=409)
        moved = holder not in ("", previous.holder)
        made = self._store(holder, duration, previous.transitions + moved)
        self._answer()
        return made


def electors(n: int, lease: FakeLease, clock: Clock) -> list[Elector]:
    return [Elector(lease, f"replica-{k}", TIMINGS, clock=clock) for k in range(n)]


def holders(replicas: list[Elector]) -> list[str]:
    return [r.me for r in replicas if r.holding()]


def run_rounds(
    replicas: list[Elector], lease: FakeLease, clock: Clock, rng: random.Random, until: float
) -> float | None:
    """Each replica runs a round every R (plus jitter, as threads drift); checks the
    invariant after every round. Returns when someone first held the Lease."""
    due = {r.me: clock.now + rng.uniform(0, TIMINGS.retry_period) for r in replicas}
    first = None
    while clock.now < until:
        me = min(due, key=due.__getitem__)
        clock.now = max(clock.now, due[me])
        replica = next(r for r in replicas if r.me == me)
        with contextlib.suppress(KubernetesError):
            replica.round()
        held = holders(replicas)
        assert len(held) <= 1, f"two acting at {clock.now:.2f}: {held}"
        if held and first is None:
            first = clock.now
        due[me] = clock.now + TIMINGS.retry_period * rng.uniform(1.0, 1.1)
    return first


@pytest.mark.parametrize("seed", range(40))
def test_never_two_holders_under_random_faults_and_latency(seed: int) -> None:
    rng = random.Random(seed)
    clock = Clock()
    lease = FakeLease(clock, rng)
    replicas = electors(3, lease, clock)
    lease.fail_rate = rng.choice([0.05, 0.2, 0.5])
    lease.latency = rng.choice([0.05, 0.5, 2.0])
    run_rounds(replicas, lease, clock, rng, until=400.0)
    lease.fail_rate, lease.latency = 0.0, 0.05  # faults over: someone leads again soon
    began = clock.now
    first = run_rounds(replicas, lease, clock, rng, until=began + 60.0)
    assert first is not None and first - began <= TIMINGS.duration + 2 * 1.1 * TIMINGS.retry_period


def test_an_outage_stops_the_holder_before_anyone_can_take_over() -> None:
    """The API server gone for 20 s: the holder stops at its last renewal + D; a
    standby takes over only after L from when it last saw the holder's renewal."""
    rng = random.Random(1)
    clock = Clock()
    lease = FakeLease(clock, rng)
    lease.latency = 0.0
    leader, standby = electors(2, lease, clock)
    leader.round()
    standby.round()
    assert holders([leader, standby]) == ["replica-0"]
    renewed = clock.now
    lease.down = True
    stopped = None
    while clock.now < renewed + 20.0:
        clock.now += 0.1
        for replica in (leader, standby):
            with contextlib.suppress(KubernetesError):
                replica.round()
        if stopped is None and not leader.holding():
            stopped = clock.now
    assert stopped is not None and stopped - renewed <= TIMINGS.renew_deadline + 0.1 + 1e-9
    lease.down = False
    standby.round()  # sees a Lease it last saw change long ago
    assert holders([leader, standby]) == ["replica-1"]
    assert lease.record is not None and lease.record.transitions == 1


def test_a_fresh_holder_is_waited_for_a_full_lease_duration() -> None:
    clock = Clock()
    lease = FakeLease(clock, random.Random(0))
    lease.latency = 0.0
    leader, standby = electors(2, lease, clock)
    leader.round()
    clock.now = 5.0
    standby.round()  # first sight of this version: it starts counting now
    clock.now = 5.0 + TIMINGS.duration - 0.01
    standby.round()
    assert not standby.holding()
    clock.now = 5.0 + TIMINGS.duration + 0.01
    standby.round()
    assert standby.holding()


def test_seeing_another_holder_stops_acting_at_once() -> None:
    clock = Clock()
    lease = FakeLease(clock, random.Random(0))
    lease.latency = 0.0
    me = electors(1, lease, clock)[0]
    me.round()
    assert me.holding()
    assert lease.record is not None
    lease.record = replace(lease.record, holder="someone-else", version="99")
    me.round()
    assert not me.holding() and me.deadline() == -math.inf


def test_release_clears_the_holder_so_a_standby_takes_over_at_its_next_round() -> None:
    clock = Clock()
    lease = FakeLease(clock, random.Random(0))
    lease.latency = 0.0
    leader, standby = electors(2, lease, clock)
    leader.round()
    standby.round()
    leader.release()
    assert not leader.holding()
    assert lease.record is not None and lease.record.holder == ""
    clock.now += 0.5
    standby.round()
    assert standby.holding()


def test_a_dead_lease_thread_stops_acting_at_once() -> None:
    """Even with its renew deadline ahead, a replica whose Lease loop died must not act."""

    class Dying:
        def __init__(self) -> None:
            self.inner = FakeLease(Clock(), random.Random(0))
            self.inner.latency = 0.0
            self.calls = 0

        def read(self) -> LeaseRecord | None:
            self.calls += 1
            if self.calls > 2:
                raise SystemExit("the thread dies")  # not an Exception: nothing catches it
            return self.inner.read()

        def create(self, holder: str, duration: int) -> LeaseRecord:
            return self.inner.create(holder, duration)

        def write(self, previous: LeaseRecord, holder: str, duration: int) -> LeaseRecord:
            return self.inner.write(previous, holder, duration)

    store = Dying()
    fast = LeaseTimings(duration=60.0, renew_deadline=50.0, retry_period=0.05)
    elector = Elector(store, "me", fast)
    hook, threading.excepthook = threading.excepthook, lambda args: None
    try:
        elector.start()
        deadline = time.monotonic() + 5
        while not elector.acting() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert elector.acting()
        while elector.alive() and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        threading.excepthook = hook
    assert elector.holding()  # its deadline is still ahead...
    assert not elector.acting()  # ...yet it does not act
    assert not elector.alive()


def test_errors_in_the_thread_are_reported_and_it_goes_on() -> None:
    lease = FakeLease(Clock(), random.Random(0))
    lease.latency = 0.0
    lease.down = True
    seen: list[BaseException] = []
    elector = Elector(lease, "me", LeaseTimings(3.0, 2.0, 0.02), seen.append)
    elector.start()
    try:
        deadline = time.monotonic() + 5
        while len(seen) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(seen) >= 3 and elector.alive() and not elector.acting()
        lease.down = False
        while not elector.acting() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert elector.acting()
    finally:
        elector.release()
    assert not elector.acting() and lease.record is not None and lease.record.holder == ""


@pytest.mark.parametrize(
    ("timings", "ok"),
    [
        (LeaseTimings(15, 10, 2), True),
        (LeaseTimings(3, 2, 0.5), True),
        (LeaseTimings(10, 10, 2), False),  # the deadline must come before the duration
        (LeaseTimings(15, 20, 2), False),
        (LeaseTimings(15, 10, 10), False),
        (LeaseTimings(15, 10, 0), False),
        (LeaseTimings(15.5, 10, 2), False),  # leaseDurationSeconds is whole seconds
    ],
)
def test_timings_must_leave_a_margin(timings: LeaseTimings, ok: bool) -> None:
    assert (timings.problem() is None) is ok


def test_a_standby_waits_a_retry_period_between_failed_reads() -> None:
    """It wakes early only for a Lease it has just read; an API outage after that does
    not make it retry in a tight loop."""
    clock = Clock()
    lease = FakeLease(clock, random.Random(0))
    lease.latency = 0.0
    leader, standby = electors(2, lease, clock)
    leader.round()
    standby.round()
    clock.now = 14.0
    assert standby._pause() == pytest.approx(1.01)  # wakes when the Lease runs out
    lease.down = True
    clock.now = 20.0
    with contextlib.suppress(KubernetesError):
        standby.round()
    assert standby._pause() == TIMINGS.retry_period
