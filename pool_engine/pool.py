"""One node's warm pool: slots grouped by ENI, pods, waiters and operations in flight.

:class:`NodePool` is the state; :func:`decide` is the decision, a pure function of
that state and ``now`` returning a :class:`Plan`. The reconciler (or a test) carries
a plan out through a cloud provider and reports back with :meth:`NodePool.begin`,
:meth:`NodePool.bind_done`, :meth:`NodePool.release_done` and friends.

Both modes share the model: in route-eni a slot is a secondary IP on an ENI with
``ips_per_eni`` room; in direct-eni every ENI holds exactly one slot. Packing
follows TKE's "least ENIs" rule: a pod takes an IP on the ENI with the most
allocated IPs, releases take idle IPs from the ENI with the fewest, a new ENI is
attached only when the bound ENIs have no room (or their subnet is dry) and goes
to the subnet with the most free IPs, and an ENI left without IPs is detached.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from pool_engine.config import Limits, Mode, Targets, Usage
from pool_engine.packing import choose_bind_targets, choose_pod_slot, choose_releases
from pool_engine.policy import (
    DEFAULT_RELEASE_INTERVAL,
    binds_to_request,
    next_round_after,
    releases_in_round,
    releases_to_clamp,
)


@dataclass
class Eni:
    """An ENI attached to the node (or being attached)."""

    eni_id: str
    subnet: str
    ips: dict[str, str | None] = field(default_factory=dict)
    """Bound IPs (slots) -> the pod holding it, None when idle."""
    pending: int = 0
    """IP binds in flight on this ENI."""
    releasing: set[str] = field(default_factory=set)
    """IPs being released: no longer bound, not yet gone."""
    attached: bool = True
    """False while the ENI itself is still being attached."""
    detaching: bool = False
    """Planned for detach: takes no more binds."""

    @property
    def allocated(self) -> int:
        return sum(1 for pod in self.ips.values() if pod is not None)

    def idle_ips(self) -> list[str]:
        return sorted(ip for ip, pod in self.ips.items() if pod is None)

    def used(self) -> int:
        """IP quota in use: bound, pending and releasing."""
        return len(self.ips) + self.pending + len(self.releasing)


@dataclass(frozen=True)
class BindRequest:
    """Bind ``count`` slots on ``eni_id``, or on a new ENI in ``subnet`` when it is None."""

    eni_id: str | None
    subnet: str
    count: int

    @property
    def new_eni(self) -> bool:
        return self.eni_id is None


@dataclass(frozen=True)
class Release:
    """Release one idle slot; ``reason`` is ``above_max`` (R2) or ``clamp`` (R3)."""

    eni_id: str
    ip: str
    reason: str


@dataclass(frozen=True)
class Plan:
    """What to do now: binds (R1), releases (R2/R3), ENIs to detach, whether a round ran."""

    binds: tuple[BindRequest, ...] = ()
    releases: tuple[Release, ...] = ()
    detach: tuple[str, ...] = ()
    round_ran: bool = False

    @property
    def empty(self) -> bool:
        return not (self.binds or self.releases or self.detach or self.round_ran)


@dataclass(frozen=True)
class BindOp:
    """A bind in flight: the handle the provider's answer comes back with."""

    op_id: int
    eni_id: str
    """The ENI, or the placeholder id of a new ENI until it is attached."""
    new_eni: bool
    subnet: str
    count: int


@dataclass(frozen=True)
class Latencies:
    """How long cloud operations take (seconds): an IP bind on an attached ENI is
    quick, a new ENI is attached first (SPEC section 1: ~1–3 s vs ~10–30 s)."""

    ip_bind: float = 2.0
    eni_attach: float = 15.0

    def of(self, op: BindOp, mode: Mode) -> float:
        """Request-to-usable time of ``op``."""
        if mode is Mode.DIRECT_ENI:
            return self.eni_attach
        return self.eni_attach + self.ip_bind if op.new_eni else self.ip_bind


@dataclass
class NodePool:
    """All the state behind one node's pool decisions."""

    node: str
    mode: Mode
    targets: Targets
    limits: Limits
    quick_release: bool = False
    started: float = 0.0
    release_interval: float = DEFAULT_RELEASE_INTERVAL
    enis: dict[str, Eni] = field(default_factory=dict)
    holders: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Pod -> (ENI, IP) it holds."""
    waiters: dict[str, float] = field(default_factory=dict)
    """Pod -> time it started waiting; insertion order is arrival order."""
    subnets: dict[str, int] = field(default_factory=dict)
    """Subnet -> free IPs, as last seen from the provider."""
    ops: dict[int, BindOp] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    """Placeholder id of a new ENI -> its real id, once attached."""
    next_round: float = 0.0
    round_now: bool = False
    """Set by a target change (R7): the next decision runs a release round at once."""
    _op_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    def __post_init__(self) -> None:
        if self.mode is Mode.DIRECT_ENI and self.limits.ips_per_eni != 1:
            raise ValueError("direct-eni limits hold one slot per ENI")
        if not self.next_round:
            self.next_round = next_round_after(self.started, self.started, self.release_interval)

    # --- counts, in the spec's symbols ---------------------------------------------------

    @property
    def bound(self) -> int:
        """B: bound slots (held or idle)."""
        return sum(len(e.ips) for e in self.enis.values())

    @property
    def in_flight(self) -> int:
        """K: slot binds requested and not yet done."""
        return sum(op.count for op in self.ops.values())

    @property
    def holding(self) -> int:
        """P: pods holding a slot."""
        return len(self.holders)

    @property
    def waiting(self) -> int:
        """W: pods waiting for a slot."""
        return len(self.waiters)

    @property
    def idle(self) -> int:
        return self.bound - self.holding

    @property
    def capacity(self) -> int:
        return self.limits.capacity

    def usage(self) -> Usage:
        """What pods hold: slots, ENIs holding a pod's IP, the most held on one ENI."""
        held = [eni.allocated for eni in self.enis.values() if eni.allocated]
        return Usage(self.holding, len(held), max(held, default=0))

    # --- pods (R5, R6) -------------------------------------------------------------------

    def pod_started(self, pod: str, now: float) -> bool:
        """R5: the pod takes an idle slot (True, a warm hit) or waits (False)."""
        if pod in self.holders or pod in self.waiters:
            return pod in self.holders
        slot = choose_pod_slot(self.enis.values())
        if slot is None:
            self.waiters[pod] = now
            return False
        self._hand(pod, *slot)
        return True

    def pod_stopped(self, pod: str, now: float) -> tuple[str, float] | None:
        """R6: the slot goes back to the pool, or at once to the oldest waiter.

        Returns (waiter, seconds waited) when a waiter got the slot.
        """
        if self.waiters.pop(pod, None) is not None or pod not in self.holders:
            return None
        eni_id, ip = self.holders.pop(pod)
        self.enis[eni_id].ips[ip] = None
        return self._serve_waiter(eni_id, ip, now)

    # --- carrying out a plan ---------------------------------------------------------------

    def begin(self, plan: Plan, now: float) -> list[BindOp]:
        """Record a plan as started: slots leave the pool, binds go in flight."""
        for release in plan.releases:
            eni = self.enis[release.eni_id]
            if eni.ips.get(release.ip, "held") is not None:
                raise ValueError(f"{release.ip} is not idle: a held slot is never released")
            del eni.ips[release.ip]
            eni.releasing.add(release.ip)
        for eni_id in plan.detach:
            self.enis[eni_id].detaching = True
        started: list[BindOp] = []
        for request in plan.binds:
            op_id = next(self._op_ids)
            eni_id = request.eni_id or f"pending-eni-{op_id}"
            if request.new_eni:
                self.enis[eni_id] = Eni(eni_id, request.subnet, attached=False)
            self.enis[eni_id].pending += request.count
            if request.subnet in self.subnets:
                self.subnets[request.subnet] -= request.count
            op = BindOp(op_id, eni_id, request.new_eni, request.subnet, request.count)
            self.ops[op_id] = op
            started.append(op)
        if plan.round_ran:
            self.round_now = False
            self.next_round = next_round_after(now, self.started, self.release_interval)
        return started

    def bind_done(
        self, op_id: int, eni_id: str, ips: list[str], now: float
    ) -> list[tuple[str, float]]:
        """R4: the op's slots are bound; waiters, oldest first, take them.

        ``eni_id`` is the ENI's real id (for a new ENI, the one the cloud gave it).
        Fewer ``ips`` than asked counts the rest as failed. Returns (pod, seconds
        waited) for every waiter served.
        """
        op = self.ops.pop(op_id)
        known = self.aliases.get(op.eni_id, op.eni_id)
        eni = self.enis[known]
        eni.pending -= op.count
        eni.attached = True
        if known != eni_id:  # a new ENI's placeholder takes the real id
            del self.enis[known]
            self.aliases[known] = eni_id
            eni.eni_id = eni_id
            self.enis[eni_id] = self._merge(eni)
        served = []
        for ip in ips:
            self.enis[eni_id].ips[ip] = None
            got = self._serve_waiter(eni_id, ip, now)
            if got:
                served.append(got)
        self._forget_alias(op.eni_id)
        return served

    def bind_failed(self, op_id: int) -> None:
        """The op bound nothing; R1 asks again at the next decision."""
        op = self.ops.pop(op_id)
        known = self.aliases.get(op.eni_id, op.eni_id)
        eni = self.enis[known]
        eni.pending -= op.count
        if op.subnet in self.subnets:
            self.subnets[op.subnet] += op.count
        if not eni.attached and eni.used() == 0:
            del self.enis[known]
        self._forget_alias(op.eni_id)

    def release_done(self, eni_id: str, ip: str) -> None:
        eni = self.enis.get(eni_id)
        if eni is None:  # released for an engine before a restart: nothing of ours
            return
        eni.releasing.discard(ip)
        if eni.subnet in self.subnets:
            self.subnets[eni.subnet] += 1

    def release_failed(self, eni_id: str, ip: str) -> None:
        """The slot is still bound: it comes back as idle (and its ENI stays)."""
        eni = self.enis.setdefault(eni_id, Eni(eni_id, ""))
        eni.releasing.discard(ip)
        if eni.ips.get(ip) is None:
            eni.ips[ip] = None
        eni.detaching = False

    def detach_done(self, eni_id: str) -> None:
        self.enis.pop(eni_id, None)

    def detach_failed(self, eni_id: str) -> None:
        """The ENI is still attached; the next decision plans its detach again."""
        if eni_id in self.enis:
            self.enis[eni_id].detaching = False
            self.enis[eni_id].attached = True

    def adopt(
        self, eni_id: str, subnet: str, ips: dict[str, str | None], now: float
    ) -> list[tuple[str, float]]:
        """Take slots found bound at the provider (a rebuild, or a bind whose request
        was lost in a crash) into the pool, so nothing bound is ever leaked. ``ips``
        maps each IP to the pod known to hold it, or None. Idle ones serve waiters."""
        eni = self.enis.setdefault(eni_id, Eni(eni_id, subnet))
        served = []
        for ip, pod in ips.items():
            if eni.ips.get(ip) is not None:
                continue
            eni.ips[ip] = None
            if pod is not None and pod not in self.holders:
                self.waiters.pop(pod, None)
                self._hand(pod, eni_id, ip)
            else:
                got = self._serve_waiter(eni_id, ip, now)
                if got:
                    served.append(got)
        return served

    # --- configuration (R7) ------------------------------------------------------------------

    def set_targets(self, targets: Targets) -> None:
        """New targets run at once: the next decision grows, runs a round, clamps."""
        if targets != self.targets:
            self.targets = targets
            self.round_now = True

    def set_limits(self, limits: Limits) -> None:
        """New limits; lowering C below B clamps at the next decision (R3)."""
        self.limits = limits

    # --- helpers ---------------------------------------------------------------------------

    def _hand(self, pod: str, eni_id: str, ip: str) -> None:
        self.enis[eni_id].ips[ip] = pod
        self.holders[pod] = (eni_id, ip)

    def _serve_waiter(self, eni_id: str, ip: str, now: float) -> tuple[str, float] | None:
        if not self.waiters:
            return None
        pod = next(iter(self.waiters))
        since = self.waiters.pop(pod)
        self._hand(pod, eni_id, ip)
        return pod, now - since

    def _forget_alias(self, placeholder: str) -> None:
        if placeholder in self.aliases and all(o.eni_id != placeholder for o in self.ops.values()):
            del self.aliases[placeholder]

    def _merge(self, eni: Eni) -> Eni:
        """A bind on an ENI we already track (re-attach of a known id) joins it."""
        known = self.enis.get(eni.eni_id)
        if known is None:
            return eni
        known.ips.update(eni.ips)
        known.pending += eni.pending
        return known


def decide(pool: NodePool, now: float, *, rounds: bool = True) -> Plan:
    """The pool's decision at ``now``: R3 clamp, R2 round when due, R1 grow, detaches.

    Pure: reads ``pool`` and ``now``, changes nothing. ``rounds=False`` holds a due
    release round back (a replay processing several rows at one instant runs the
    round after the last of them).
    """
    bound, in_flight = pool.bound, pool.in_flight
    holding, waiting = pool.holding, pool.waiting
    capacity = pool.capacity

    clamp = releases_to_clamp(bound, holding, capacity)
    round_ran = rounds and (pool.round_now or now >= pool.next_round)
    above_max = 0
    if round_ran:
        above_max = releases_in_round(
            bound - clamp, in_flight, holding, waiting, pool.targets.max_warm, pool.quick_release
        )
    picked = choose_releases(pool.enis.values(), clamp + above_max)
    releases = tuple(
        Release(eni_id, ip, "clamp" if n < clamp else "above_max")
        for n, (eni_id, ip) in enumerate(picked)
    )

    need = binds_to_request(
        bound - len(releases), in_flight, holding, waiting, pool.targets.min_warm, capacity
    )
    binds = tuple(choose_bind_targets(pool.enis.values(), pool.limits, pool.subnets, need))

    # An ENI left with no bound IPs, nothing in flight and no bind planned is detached.
    detach = tuple(
        sorted(
            e.eni_id
            for e in pool.enis.values()
            if e.attached
            and not e.detaching
            and e.pending == 0
            and not e.releasing
            and len(e.ips) == sum(1 for r in releases if r.eni_id == e.eni_id)
            and all(b.eni_id != e.eni_id for b in binds)
        )
    )
    return Plan(binds, releases, detach, round_ran)
