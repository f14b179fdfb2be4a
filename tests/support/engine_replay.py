"""A slow, obvious replay of a trace through the live engine (NodePool + decide).

The compiled kernel must agree with it exactly; the property tests also use it
to check invariants after every step. It schedules events only — every decision
comes from :func:`pool_engine.decision.decide`.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from pool_engine.config import Limits, Mode, Targets
from pool_engine.decision import decide
from pool_engine.plan import Plan
from pool_engine.policy import UNLIMITED
from pool_engine.pool import NodePool
from pool_engine.switches import hour_index
from pool_engine.warm_schedule import WarmSchedule

Check = Callable[[NodePool, str, Plan | None], None]


@dataclass
class ReplayResult:
    pod_starts: int = 0
    warm_hits: int = 0
    cold_starts: int = 0
    waits: list[float] = field(default_factory=list)
    idle_slot_seconds: float = 0.0
    bound_slot_seconds: float = 0.0
    bind_ops: int = 0
    release_ops: int = 0
    peak_bound: int = 0
    ignored_events: int = 0


def replay_node(
    rows: list[tuple[float, str]],
    end: float,
    *,
    min_warm: int,
    max_warm: int,
    max_slots: int | None = None,
    quick: bool = False,
    latency: float = 2.0,
    interval: float = 120.0,
    check: Check | None = None,
    schedule: WarmSchedule | None = None,
    offset: float = 0.0,
) -> ReplayResult:
    """Replay one node's (time, event) rows, sorted by time with ties in file order.

    With ``schedule`` the targets follow it (``min_warm``/``max_warm`` unused), time 0
    lying ``offset`` s past 00:00 UTC: the pool starts with the pair of the hour of
    time 0 and switches after an instant's rows, before its periodic round."""
    capacity = UNLIMITED if max_slots is None else max_slots
    targets = Targets(min_warm, max_warm)
    if schedule is not None:
        targets = schedule.at_hour(hour_index(0.0, offset))
    pool = NodePool(
        "n",
        Mode.ROUTE_ENI,
        targets,
        Limits(1, capacity),
        quick_release=quick,
        release_interval=interval,
    )
    pool.follow(schedule, offset, 0.0)
    assert not pool.round_due(0.0)
    out = ReplayResult()
    ips = itertools.count()
    completions: list[tuple[float, int, int]] = []  # (time, seq, op_id)
    seq = itertools.count()
    pods = itertools.count()

    def act(now: float, rounds: bool, why: str) -> None:
        plan = decide(pool, now, rounds=rounds)
        out.release_ops += len(plan.releases)
        for op in pool.begin(plan, now):
            out.bind_ops += op.count
            heapq.heappush(completions, (now + latency, next(seq), op.op_id))
        for r in plan.releases:
            pool.release_done(r.eni_id, r.ip)
        for eni_id in plan.detach:
            pool.detach_done(eni_id)
        if check:
            check(pool, why, plan)

    def record(served: list[tuple[str, float]] | tuple[str, float] | None) -> None:
        if isinstance(served, tuple):
            served = [served]
        out.waits.extend(w for _, w in served or [])

    # The pool starts at time 0 with min(C, m) slots already bound.
    for op in pool.begin(decide(pool, 0.0, rounds=False), 0.0):
        pool.bind_done(op.op_id, "eni", [f"ip{next(ips)}" for _ in range(op.count)], 0.0)
    out.peak_bound = pool.bound
    t_prev = 0.0
    i = 0
    tick = interval
    while True:
        candidates = [end + 1.0]
        if i < len(rows):
            candidates.append(rows[i][0])
        if completions:
            candidates.append(completions[0][0])
        candidates.append(tick)
        candidates.append(pool.next_switch)
        t = min(candidates)
        if t > end:
            break
        out.idle_slot_seconds += pool.idle * (t - t_prev)
        out.bound_slot_seconds += pool.bound * (t - t_prev)
        t_prev = t
        while completions and completions[0][0] <= t:
            _, _, op_id = heapq.heappop(completions)
            op = pool.op(op_id)
            assert op is not None
            record(pool.bind_done(op_id, "eni", [f"ip{next(ips)}" for _ in range(op.count)], t))
            out.peak_bound = max(out.peak_bound, pool.bound)
            act(t, False, "bind")
        while i < len(rows) and rows[i][0] == t:
            if rows[i][1] == "start":
                out.pod_starts += 1
                if pool.pod_started(f"p{next(pods)}", t):
                    out.warm_hits += 1
                    out.waits.append(0.0)
            elif pool.holders:
                record(pool.pod_stopped(next(reversed(pool.holders)), t))
            elif pool.waiters:
                pool.pod_stopped(next(reversed(pool.waiters)), t)
            else:
                out.ignored_events += 1
            i += 1
            act(t, False, "row")
        if pool.switch_due(t):
            assert pool.switch(t)
            act(t, True, "change")
        if t == tick:
            act(t, True, "round")
            tick = pool.next_round
        out.peak_bound = max(out.peak_bound, pool.bound)
    out.idle_slot_seconds += pool.idle * (end - t_prev)
    out.bound_slot_seconds += pool.bound * (end - t_prev)
    out.cold_starts = out.pod_starts - out.warm_hits
    return out
