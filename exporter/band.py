"""Time a pool's bound slots spend outside their band, beyond what the rules allow.

The band of a pool is [min(C, P + m), P + M] (docs/contracts/pool.md): below it the
pool grows at once (R1), above it release rounds bring it back (R2). Binds take
seconds and releases wait for rounds, so a pool leaves its band legitimately; what
counts (``eni_pool_out_of_band_seconds_total{side}``) is only the time beyond that:

- ``below``: after 60 s below the band (binds take 1–30 s);
- ``above``: after the release rounds the excess needs plus one (one round with
  quick release, one per excess slot without; rounds every 120 s). When the excess
  grows while above, the allowance is measured again from then, if that is later.

The bound count is TKE's in tke-observe and the engine's with the simulated provider,
so the same series tells whether TKE's agent, or ours, keeps the rules. Time is a
parameter: the caller passes the state it saw and when.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import assert_never

from pool_engine.config import Mode
from pool_engine.policy import DEFAULT_RELEASE_INTERVAL
from pool_engine.pool import NodePool

BELOW_GRACE_SECONDS = 60.0
"""How long a pool may stay below its band before the time counts."""
Key = tuple[str, Mode]


class Side(enum.StrEnum):
    """Which side of the band (the ``side`` label)."""

    BELOW = "below"
    ABOVE = "above"


@dataclass
class _Track:
    side: Side | None = None
    excess: int = 0
    """Slots beyond the band's edge when last seen."""
    deadline: float = 0.0
    """From when time on this side counts."""
    seen_at: float = 0.0
    below: float = 0.0
    above: float = 0.0


class Band:
    """Counts each pool's time outside its band; one :meth:`see` per pool and step."""

    def __init__(self, release_interval: float = DEFAULT_RELEASE_INTERVAL) -> None:
        self.release_interval = release_interval
        self._tracks: dict[Key, _Track] = {}

    def see(self, pool: NodePool, bound: int, in_use: int, now: float) -> bool:
        """The pool has ``bound`` slots and ``in_use`` held from ``now`` on (until the
        next call). Returns True while its time outside the band counts."""
        track = self._tracks.get((pool.node, pool.mode))
        if track is None:
            track = self._tracks[(pool.node, pool.mode)] = _Track(seen_at=now)
        self._count(track, now)
        low = min(pool.capacity, in_use + pool.targets.min_warm)
        high = in_use + pool.targets.max_warm
        side, excess = (
            (Side.BELOW, low - bound) if bound < low
            else (Side.ABOVE, bound - high) if bound > high
            else (None, 0)
        )  # fmt: skip
        if side is not track.side:
            track.deadline = now + self._allowance(side, excess, pool.quick_release)
        elif side is Side.ABOVE and excess > track.excess:
            later = now + self._allowance(side, excess, pool.quick_release)
            track.deadline = max(track.deadline, later)
        track.side, track.excess, track.seen_at = side, excess, now
        return side is not None and now >= track.deadline

    def seconds(self, node: str, mode: Mode) -> tuple[float, float] | None:
        """(below, above) seconds counted so far, up to the last :meth:`see`."""
        track = self._tracks.get((node, mode))
        return None if track is None else (track.below, track.above)

    def forget(self, node: str) -> None:
        for key in [k for k in self._tracks if k[0] == node]:
            del self._tracks[key]

    def _count(self, track: _Track, now: float) -> None:
        """Add the time since the last sight that lies past the deadline."""
        counted = max(0.0, now - max(track.seen_at, track.deadline))
        match track.side:
            case Side.BELOW:
                track.below += counted
            case Side.ABOVE:
                track.above += counted
            case None:
                pass
            case _:
                assert_never(track.side)

    def _allowance(self, side: Side | None, excess: int, quick_release: bool) -> float:
        """How long the rules may take to bring the pool back from ``side``."""
        match side:
            case Side.BELOW:
                return BELOW_GRACE_SECONDS
            case Side.ABOVE:
                rounds = 1 if quick_release else max(1, excess)
                return (rounds + 1) * self.release_interval
            case None:
                return 0.0
            case _:
                assert_never(side)
