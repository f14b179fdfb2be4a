"""The warm-pool rules of docs/contracts/pool.md as pure functions of counts.

This is the one copy of the policy. The live engine (:mod:`pool_engine.pool`) and
the compiled simulator (:mod:`pool_engine.simulator`) both call these functions;
they are compiled with numba so the simulator's event loop can inline them, and
stay ordinary callables for Python code.

Symbols follow the spec: ``bound`` B, ``in_flight`` K, ``holding`` P (pods holding
a slot), ``waiting`` W (pods waiting for one), ``min_warm`` m, ``max_warm`` M,
``capacity`` C (max bindable slots).
"""

from __future__ import annotations

import math

from numba import njit

#: Stand-in for "no max-attach limit" (fits int64 with room for arithmetic).
UNLIMITED = 1 << 60

#: Seconds between release rounds (the seed's "about every 2 minutes").
DEFAULT_RELEASE_INTERVAL = 120.0


@njit(cache=True)
def binds_to_request(
    bound: int, in_flight: int, holding: int, waiting: int, min_warm: int, capacity: int
) -> int:
    """R1 grow: binds to request now so that B + K reaches min(C, P + W + m)."""
    wanted = min(capacity, holding + waiting + min_warm)
    return max(0, wanted - bound - in_flight)


@njit(cache=True)
def releases_in_round(
    bound: int, in_flight: int, holding: int, waiting: int, max_warm: int, quick: bool
) -> int:
    """R2 release round: slots to release at a round tick.

    excess = (B + K) - (P + W + M); with excess > 0 and idle slots, quick release
    frees min(excess, idle) slots, slow release exactly one.
    """
    idle = bound - holding
    excess = bound + in_flight - (holding + waiting + max_warm)
    if excess <= 0 or idle <= 0:
        return 0
    if quick:
        return min(excess, idle)
    return 1


@njit(cache=True)
def releases_to_clamp(bound: int, holding: int, capacity: int) -> int:
    """R3 clamp: idle slots to release at once when B exceeds the max-attach C."""
    if bound <= capacity:
        return 0
    return min(bound - capacity, bound - holding)


@njit(cache=True)
def next_round_after(now: float, started: float, interval: float) -> float:
    """The first release-round tick strictly after ``now``.

    Rounds tick at ``started + k * interval`` for k >= 1.
    """
    k = math.floor((now - started) / interval) + 1.0
    if k < 1.0:
        k = 1.0
    tick = started + k * interval
    if tick <= now:
        tick = started + (k + 1.0) * interval
    return tick


@njit(cache=True)
def is_round_tick(now: float, started: float, interval: float) -> bool:
    """True when ``now`` is a release-round tick ``started + k * interval``, k >= 1."""
    k = round((now - started) / interval)
    return k >= 1 and started + k * interval == now
