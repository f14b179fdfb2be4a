"""The warm-pool rules of docs/contracts/pool.md as pure functions of counts.

This is the one copy of the policy. The live engine (:mod:`pool_engine.pool`) calls
these functions as they are; the simulator's event loop (:mod:`pool_engine.kernel`)
calls numba-compiled copies of the same functions, made there, so importing the rules
does not load numba (a command line's ``--help`` does not pay for the compiler).

Symbols follow the spec: ``bound`` B, ``in_flight`` K, ``holding`` P (pods holding
a slot), ``waiting`` W (pods waiting for one), ``min_warm`` m, ``max_warm`` M,
``capacity`` C (max bindable slots).
"""

from __future__ import annotations

import math

#: Stand-in for "no max-attach limit" (fits int64 with room for arithmetic).
UNLIMITED = 1 << 60

#: Seconds between release rounds (the seed's "about every 2 minutes").
DEFAULT_RELEASE_INTERVAL = 120.0


def binds_to_request(
    bound: int, in_flight: int, holding: int, waiting: int, min_warm: int, capacity: int
) -> int:
    """R1 grow: binds to request now so that B + K reaches min(C, P + W + m)."""
    wanted = min(capacity, holding + waiting + min_warm)
    return max(0, wanted - bound - in_flight)


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


def releases_to_clamp(bound: int, holding: int, capacity: int) -> int:
    """R3 clamp: idle slots to release at once when B exceeds the max-attach C."""
    if bound <= capacity:
        return 0
    return min(bound - capacity, bound - holding)


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


def is_round_tick(now: float, started: float, interval: float) -> bool:
    """True when ``now`` is a release-round tick ``started + k * interval``, k >= 1."""
    k = round((now - started) / interval)
    return k >= 1 and started + k * interval == now
