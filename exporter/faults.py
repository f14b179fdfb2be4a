"""Faults the simulated VPC injects into its calls (``eni-exporter simulate
--error-rate --throttle-rate --timeout-rate --faults-until``).

Every call (inventory reads included) draws its fate independently of every other:
first it may be refused as throttled; if not, it may fail; if not, it may time out,
and a call that times out is carried out by the cloud or not, half and half. A fault
is drawn only before ``until`` (simulated seconds); after it every call goes through
(the VPC's own 50 QPS limit still refuses bursts, which is not an injected fault).
(docs/contracts/fault-audit.md)
"""

from __future__ import annotations

import enum
import math
import random
from dataclasses import dataclass

from pool_engine.errors import OutcomeUnknown, ProviderError, TransientError


class Fate(enum.Enum):
    """What becomes of one call."""

    OK = "ok"
    THROTTLED = "throttled"
    """Refused when submitted (RequestLimitExceeded)."""
    FAIL = "fail"
    """Not carried out; the engine hears InternalError."""
    TIMED_OUT_DONE = "timed_out_done"
    """Carried out, but the engine hears RequestTimeout."""
    TIMED_OUT_UNDONE = "timed_out_undone"
    """Not carried out, and the engine hears RequestTimeout."""

    @property
    def carried_out(self) -> bool:
        return self in (Fate.OK, Fate.TIMED_OUT_DONE)

    @property
    def answered(self) -> bool:
        """The engine hears what really happened (not a timeout)."""
        return self in (Fate.OK, Fate.FAIL, Fate.THROTTLED)

    def error(self, operation: str) -> ProviderError:
        """The error the engine sees; only for a fate that is not OK."""
        match self:
            case Fate.THROTTLED:
                return TransientError(operation, "RequestLimitExceeded")
            case Fate.FAIL:
                return TransientError(operation, "InternalError")
            case Fate.TIMED_OUT_DONE | Fate.TIMED_OUT_UNDONE:
                return OutcomeUnknown(operation, "RequestTimeout")
            case Fate.OK:
                raise ValueError("a call that went through has no error")


@dataclass(frozen=True)
class FaultRates:
    """Fractions of calls that are throttled, fail or time out, until ``until``."""

    error: float = 0.0
    throttle: float = 0.0
    timeout: float = 0.0
    until: float = math.inf


@dataclass
class FaultCounts:
    """Faults injected so far (the audit's ``faults``)."""

    errors: int = 0
    throttles: int = 0
    timeouts: int = 0


class Faults:
    """Draws each call's fate from its own random stream (so that injecting faults
    does not change the latencies of a run with the same seed)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed * 7919 + 17)
        self.counts = FaultCounts()

    def draw(self, rates: FaultRates, now: float) -> Fate:
        if now >= rates.until:
            return Fate.OK
        rng = self.rng
        if rates.throttle and rng.random() < rates.throttle:
            self.counts.throttles += 1
            return Fate.THROTTLED
        if rates.error and rng.random() < rates.error:
            self.counts.errors += 1
            return Fate.FAIL
        if rates.timeout and rng.random() < rates.timeout:
            self.counts.timeouts += 1
            return Fate.TIMED_OUT_DONE if rng.random() < 0.5 else Fate.TIMED_OUT_UNDONE
        return Fate.OK
