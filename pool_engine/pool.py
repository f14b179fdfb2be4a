"""One node's warm pool: slots grouped by ENI, pods, waiters and operations in flight.

:class:`NodePool` is the state; :func:`pool_engine.decision.decide` is the decision,
a pure function of that state and ``now`` returning a
:class:`pool_engine.plan.Plan`. The reconciler (or a test) carries a plan out
through a cloud provider and reports back with :meth:`NodePool.begin`,
:meth:`NodePool.bind_done`, :meth:`NodePool.release_done` and friends.

The pool keeps the targets and limits and the release-round schedule; its
:class:`pool_engine.pods.Pods` keep who holds a slot and who waits, its
:class:`pool_engine.slots.Slots` the ENIs and what the cloud is doing to them. After
a restart, :meth:`NodePool.claim` and :meth:`NodePool.settle` rebuild it from the
cluster and the cloud's inventory. Both modes share the model: in route-eni a slot is
a secondary IP on an ENI with ``ips_per_eni`` room; in direct-eni every ENI holds
exactly one slot. Packing (:mod:`pool_engine.packing`) follows TKE's "least ENIs"
rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from pool_engine.config import Limits, Mode, Targets, Usage
from pool_engine.eni import Eni
from pool_engine.inventory import Settlement
from pool_engine.plan import BindOp, Plan
from pool_engine.pods import Handout, Pods
from pool_engine.policy import DEFAULT_RELEASE_INTERVAL, next_round_after
from pool_engine.slots import Slots
from pool_engine.switches import Follower
from pool_engine.warm_schedule import WarmSchedule


class NodePool:
    """All the state behind one node's pool decisions."""

    def __init__(
        self,
        node: str,
        mode: Mode,
        targets: Targets,
        limits: Limits,
        *,
        quick_release: bool = False,
        started: float = 0.0,
        release_interval: float = DEFAULT_RELEASE_INTERVAL,
    ) -> None:
        if mode is Mode.DIRECT_ENI and limits.ips_per_eni != 1:
            raise ValueError("direct-eni limits hold one slot per ENI")
        self._node = node
        self._mode = mode
        self._targets = targets
        self._limits = limits
        self._quick_release = quick_release
        self._started = started
        self._release_interval = release_interval
        self._slots = Slots()
        self._pods = Pods()
        self._next_round = next_round_after(started, started, release_interval)
        self._round_now = False
        """Set by a target change (R7): the next decision runs a release round at once."""
        self._follower: Follower | None = None
        """The schedule the targets follow, if any (docs/contracts/schedules.md)."""

    # --- what the pool is ------------------------------------------------------------------

    @property
    def node(self) -> str:
        return self._node

    @property
    def mode(self) -> Mode:
        return self._mode

    @property
    def targets(self) -> Targets:
        return self._targets

    @property
    def limits(self) -> Limits:
        return self._limits

    @property
    def quick_release(self) -> bool:
        return self._quick_release

    @property
    def enis(self) -> Mapping[str, Eni]:
        """ENIs by id (read-only)."""
        return self._slots.enis

    @property
    def holders(self) -> Mapping[str, tuple[str, str]]:
        """Pod -> (ENI, IP) it holds (read-only)."""
        return self._pods.holders

    @property
    def waiters(self) -> Mapping[str, float]:
        """Pod -> time it started waiting, oldest first (read-only)."""
        return self._pods.waiters

    @property
    def subnets(self) -> Mapping[str, int]:
        """Subnet -> free IPs, as last seen from the provider (read-only)."""
        return self._slots.subnets

    @property
    def unseen_enis(self) -> int:
        """ENIs at the cloud the pool does not know that count against its ENI limit."""
        return self._slots.unseen_enis

    @property
    def next_round(self) -> float:
        """When the next release round is due."""
        return self._next_round

    def round_due(self, now: float) -> bool:
        """A release round runs at ``now``: its tick has come, or targets changed (R7).

        A change's round does not consume a tick: at an instant that is both, the
        change's round runs first and the tick's round after it."""
        return self._round_now or now >= self._next_round

    @property
    def schedule(self) -> WarmSchedule | None:
        """The schedule the targets follow (None: the targets hold until changed)."""
        return None if self._follower is None else self._follower.schedule

    @property
    def next_switch(self) -> float:
        """When the schedule next changes the targets (inf: never)."""
        return math.inf if self._follower is None else self._follower.next_at()

    def switch_due(self, now: float) -> bool:
        return self._follower is not None and self._follower.due(now)

    def op(self, op_id: int) -> BindOp | None:
        """The bind in flight with ``op_id``; None when it is not ours."""
        return self._slots.op(op_id)

    def resolve(self, eni_id: str) -> str:
        """The real id of ``eni_id`` (a new ENI's placeholder once it is attached)."""
        return self._slots.resolve(eni_id)

    def awaits_attach(self, op: BindOp) -> bool:
        """``op`` binds IPs on an ENI that is still being attached."""
        return self._slots.awaits_attach(op)

    def ready_detaches(self) -> list[str]:
        """ENIs planned for detach with nothing left on them: send their detach now."""
        return self._slots.ready_detaches()

    # --- counts, in the spec's symbols ---------------------------------------------------

    @property
    def bound(self) -> int:
        """B: bound slots (held or idle)."""
        return self._slots.bound

    @property
    def in_flight(self) -> int:
        """K: slot binds requested and not yet done."""
        return self._slots.in_flight

    @property
    def holding(self) -> int:
        """P: pods holding a slot."""
        return len(self._pods.holders)

    @property
    def waiting(self) -> int:
        """W: pods waiting for a slot."""
        return len(self._pods.waiters)

    @property
    def idle(self) -> int:
        return self.bound - self.holding

    @property
    def capacity(self) -> int:
        return self._limits.capacity

    def usage(self) -> Usage:
        """What pods hold: slots, ENIs holding a pod's IP, the most held on one ENI."""
        held = [eni.allocated for eni in self.enis.values() if eni.allocated]
        return Usage(self.holding, len(held), max(held, default=0))

    # --- pods (R5, R6) -------------------------------------------------------------------

    def pod_started(self, pod: str, now: float) -> bool:
        """R5: the pod takes an idle slot (True, a warm hit) or waits (False)."""
        if self._pods.knows(pod):
            return self._pods.holds(pod)
        slot = self._slots.idle_slot()
        if slot is None:
            self._pods.wait(pod, now)
            return False
        self._hand(pod, *slot, now)
        return True

    def pod_stopped(self, pod: str, now: float) -> tuple[str, float] | None:
        """R6: the slot goes back to the pool, or at once to the oldest waiter.

        Returns (waiter, seconds waited) when a waiter got the slot.
        """
        held = self._pods.stopped(pod)
        if held is None:
            return None
        eni_id, ip = held
        if not self._slots.free(eni_id, ip):
            return None  # the cloud lost it meanwhile: never handed out again
        return self._serve_waiter(eni_id, ip, now)

    # --- carrying out a plan ---------------------------------------------------------------

    def begin(self, plan: Plan, now: float) -> list[BindOp]:
        """Record a plan as started: slots leave the pool, binds go in flight."""
        started = self._slots.begin(plan)
        if plan.round_ran and self._round_now:  # a change's round (R7): the grid stays
            self._round_now = False
        elif plan.round_ran:
            self._next_round = next_round_after(now, self._started, self._release_interval)
        return started

    def bind_done(
        self, op_id: int, eni_id: str, ips: list[str], now: float
    ) -> list[tuple[str, float]]:
        """R4: the op's slots are bound; waiters, oldest first, take them.

        ``eni_id`` is the ENI's real id (for a new ENI, the one the cloud gave it).
        Fewer ``ips`` than asked counts the rest as failed. Returns (pod, seconds
        waited) for every waiter served.
        """
        served = []
        for ip in self._slots.bind_done(op_id, eni_id, ips):
            got = self._serve_waiter(eni_id, ip, now)
            if got:
                served.append(got)
        return served

    def bind_failed(self, op_id: int, doubtful: bool = False) -> None:
        """The op bound nothing; R1 asks again at the next decision. ``doubtful`` (it
        timed out): what it may have bound counts against the limits until the next
        inventory (:meth:`pool_engine.slots.Slots.bind_failed`)."""
        self._slots.bind_failed(op_id, doubtful)

    def release_done(self, eni_id: str, ip: str) -> None:
        self._slots.release_done(eni_id, ip)

    def release_failed(self, eni_id: str, ip: str) -> None:
        """The slot is still bound: it comes back as idle (and its ENI stays)."""
        self._slots.release_failed(eni_id, ip)

    def detach_sent(self, eni_id: str) -> None:
        """The ENI's detach went to the provider; :meth:`detach_done` removes it."""
        self._slots.detach_sent(eni_id)

    def detach_done(self, eni_id: str) -> None:
        self._slots.detach_done(eni_id)

    def detach_failed(self, eni_id: str) -> None:
        """The ENI is still attached; the next decision plans its detach again."""
        self._slots.detach_failed(eni_id)

    def claim(self, holders: Mapping[str, str]) -> None:
        """What the cluster says pods hold (IP -> pod), for a pool rebuilt after a
        restart: each claim is honoured when an inventory shows its IP bound."""
        self._pods.claim(holders)

    def settle(
        self, settlement: Settlement, subnets: Mapping[str, int], now: float
    ) -> list[tuple[str, float]]:
        """Agree with the cloud's inventory (:func:`pool_engine.inventory.compare`).
        Slots that became idle go to the pods claiming them, then to waiters, oldest
        first. Returns (pod, seconds waited) for every waiter served."""
        served = []
        for eni_id, ip in self._slots.settle(settlement):
            pod = self._pods.claimant(ip)
            if pod is not None:
                self._slots.hold(eni_id, ip, pod)
                self._pods.found(pod, eni_id, ip)
                continue
            got = self._serve_waiter(eni_id, ip, now)
            if got:
                served.append(got)
        self._slots.see_subnets(subnets)
        return served

    def take_handouts(self) -> list[Handout]:
        """Slots handed to pods since the last call."""
        return self._pods.take_handouts()

    def see_subnets(self, free: Mapping[str, int]) -> None:
        """Free IPs per subnet as the provider reports them now."""
        self._slots.see_subnets(free)

    # --- configuration (R7) ------------------------------------------------------------------

    def set_targets(self, targets: Targets) -> None:
        """New targets run at once: the next decision grows, runs a round, clamps."""
        if targets != self._targets:
            self._targets = targets
            self._round_now = True

    def follow(self, schedule: WarmSchedule | None, offset: float, now: float) -> None:
        """Follow ``schedule`` from ``now``: the pair of the hour of ``now`` at once (R7
        when it differs), then a change at each hour boundary where the pair does
        (:meth:`switch`). ``offset``: seconds past 00:00 UTC of time 0 (0 for epoch
        seconds). None stops following; the targets in force stay."""
        if schedule is None:
            self._follower = None
            return
        self._follower = Follower(schedule, offset, now)
        self.set_targets(self._follower.targets())

    def switch(self, now: float) -> bool:
        """The schedule's change due at ``now`` (:meth:`switch_due`): the hour's pair
        takes over, as R7 at the next decision. True when the targets changed."""
        assert self._follower is not None, "switch() needs a schedule to follow"
        before = self._targets
        self.set_targets(self._follower.advance(now))
        return self._targets != before

    def set_limits(self, limits: Limits) -> None:
        """New limits; lowering C below B clamps at the next decision (R3)."""
        self._limits = limits

    def restore(self, targets: Targets, waiters: Mapping[str, float], now: float) -> None:
        """After an engine restart, what it learns from the cluster rather than the
        provider: the targets in force and the pods still waiting (with when they
        started to). Rounds keep the grid of the pool's start; nothing runs at once."""
        self._targets = targets
        self._next_round = next_round_after(now, self._started, self._release_interval)
        self._pods.restore(waiters)

    # --- helpers ---------------------------------------------------------------------------

    def _hand(self, pod: str, eni_id: str, ip: str, now: float) -> None:
        self._slots.hold(eni_id, ip, pod)
        self._pods.hand(pod, eni_id, ip, now)

    def _serve_waiter(self, eni_id: str, ip: str, now: float) -> tuple[str, float] | None:
        waiter = self._pods.next_waiter()
        if waiter is None:
            return None
        pod, since = waiter
        self._hand(pod, eni_id, ip, now)
        return pod, now - since
