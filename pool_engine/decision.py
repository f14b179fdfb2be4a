"""The pool's decision: a pure function of a :class:`pool_engine.pool.NodePool` and
``now`` returning a :class:`pool_engine.plan.Plan` (docs/contracts/pool.md).

The rules are :mod:`pool_engine.policy`'s (R1 grow, R2 release round, R3 clamp) as
functions of counts; which slots, ENIs and subnets they touch is
:mod:`pool_engine.packing`'s.
"""

from __future__ import annotations

from pool_engine.packing import choose_bind_targets, choose_releases
from pool_engine.plan import BindRequest, Plan, Release, ReleaseReason
from pool_engine.policy import binds_to_request, releases_in_round, releases_to_clamp
from pool_engine.pool import NodePool


def decide(pool: NodePool, now: float, *, rounds: bool = True) -> Plan:
    """The pool's decision at ``now``: R3 clamp, R2 round when due, R1 grow, detaches.

    Pure: reads ``pool`` and ``now``, changes nothing. ``rounds=False`` holds a due
    release round back (a replay processing several rows at one instant runs the
    round after the last of them).
    """
    bound, in_flight = pool.bound, pool.in_flight
    holding, waiting = pool.holding, pool.waiting
    capacity = pool.capacity
    enis = pool.enis

    clamp = releases_to_clamp(bound, holding, capacity)
    round_ran = rounds and pool.round_due(now)
    above_max = 0
    if round_ran:
        above_max = releases_in_round(
            bound - clamp, in_flight, holding, waiting, pool.targets.max_warm, pool.quick_release
        )
    picked = choose_releases(enis.values(), clamp + above_max)
    releases = tuple(
        Release(eni_id, ip, ReleaseReason.CLAMP if n < clamp else ReleaseReason.ABOVE_MAX)
        for n, (eni_id, ip) in enumerate(picked)
    )

    need = binds_to_request(
        bound - len(releases), in_flight, holding, waiting, pool.targets.min_warm, capacity
    )
    binds = tuple(
        choose_bind_targets(enis.values(), pool.limits, pool.subnets, need, pool.unseen_enis)
    )
    return Plan(binds, releases, _detaches(pool, releases, binds), round_ran)


def _detaches(
    pool: NodePool, releases: tuple[Release, ...], binds: tuple[BindRequest, ...]
) -> tuple[str, ...]:
    """An ENI left with no bound IPs, nothing in flight or changing at the cloud and no
    bind planned is detached."""
    return tuple(
        sorted(
            e.eni_id
            for e in pool.enis.values()
            if e.attached
            and not e.detaching
            and e.pending == 0
            and not e.releasing
            and e.foreign == 0
            and len(e.ips) == sum(1 for r in releases if r.eni_id == e.eni_id)
            and all(b.eni_id != e.eni_id for b in binds)
        )
    )
