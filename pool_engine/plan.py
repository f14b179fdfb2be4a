"""What a pool decides (a :class:`Plan`) and the operations that carry it out.

A plan asks for binds (R1), releases (R2 round, R3 clamp) and ENI detaches; once
begun, each bind becomes a :class:`BindOp` in flight, the handle the cloud
provider's answer comes back with (docs/contracts/pool.md).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import assert_never

from pool_engine.config import Mode


class ReleaseReason(enum.StrEnum):
    """Why a slot is released (the ``reason`` label of the release counter)."""

    ABOVE_MAX = "above_max"
    """R2: more than P + W + M slots at a release round."""
    CLAMP = "clamp"
    """R3: more slots bound than the max-attach limit allows."""


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
    """Release one idle slot."""

    eni_id: str
    ip: str
    reason: ReleaseReason


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
    quick, a new ENI is attached first (docs/contracts/pool.md: ~1–3 s vs ~10–30 s)."""

    ip_bind: float = 2.0
    eni_attach: float = 15.0

    def of(self, op: BindOp, mode: Mode) -> float:
        """Request-to-usable time of ``op``."""
        match mode:
            case Mode.DIRECT_ENI:
                return self.eni_attach
            case Mode.ROUTE_ENI:
                return self.eni_attach + self.ip_bind if op.new_eni else self.ip_bind
            case _:
                assert_never(mode)
