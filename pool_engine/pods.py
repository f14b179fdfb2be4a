"""The pods of one node's pool: who holds which slot, who waits, and what was handed out.

:class:`Pods` is the pod-facing half of a :class:`pool_engine.pool.NodePool` (the
other half, :class:`pool_engine.slots.Slots`, keeps the ENIs). Besides P (holders)
and W (waiters, oldest first) it keeps two things that exist for restarts and the
fault audit: *claims*, what the cluster says a pod holds when a rebuilt pool has not
yet found that IP in the cloud's inventory, and *handouts*, every slot handed to a
pod, which the fault audit checks against the cloud's own truth
(docs/contracts/fault-audit.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Handout:
    """A slot handed to a pod at ``at``."""

    pod: str
    eni_id: str
    ip: str
    at: float


class Pods:
    """Holders, waiters, claims and handouts of one pool."""

    def __init__(self) -> None:
        self._holders: dict[str, tuple[str, str]] = {}
        """Pod -> (ENI, IP) it holds."""
        self._waiters: dict[str, float] = {}
        """Pod -> time it started waiting; insertion order is arrival order."""
        self._claims: dict[str, str] = {}
        """Pod -> IP it holds as the cluster says, not yet found in an inventory."""
        self._handouts: list[Handout] = []
        """Slots handed to pods since the last :meth:`take_handouts`."""

    @property
    def holders(self) -> Mapping[str, tuple[str, str]]:
        return MappingProxyType(self._holders)

    @property
    def waiters(self) -> Mapping[str, float]:
        return MappingProxyType(self._waiters)

    def knows(self, pod: str) -> bool:
        return pod in self._holders or pod in self._waiters or pod in self._claims

    def holds(self, pod: str) -> bool:
        """The pod holds a slot, or the cluster says it does (a claim)."""
        return pod in self._holders or pod in self._claims

    def wait(self, pod: str, since: float) -> None:
        self._waiters[pod] = since

    def hand(self, pod: str, eni_id: str, ip: str, now: float) -> None:
        """``pod`` takes the slot (a handout)."""
        self._holders[pod] = (eni_id, ip)
        self._handouts.append(Handout(pod, eni_id, ip, now))

    def next_waiter(self) -> tuple[str, float] | None:
        """Take the oldest waiter off the queue: (pod, time it started waiting)."""
        if not self._waiters:
            return None
        pod = next(iter(self._waiters))
        return pod, self._waiters.pop(pod)

    def stopped(self, pod: str) -> tuple[str, str] | None:
        """The pod is gone: the slot it held, if any (a waiter or claim just leaves)."""
        self._claims.pop(pod, None)
        self._waiters.pop(pod, None)
        return self._holders.pop(pod, None)

    # --- after a restart --------------------------------------------------------------

    def claim(self, holders: Mapping[str, str]) -> None:
        """IP -> pod holding it, as the cluster says."""
        for ip, pod in holders.items():
            if pod not in self._holders:
                self._claims[pod] = ip

    def claimant(self, ip: str) -> str | None:
        """The pod claiming ``ip``, if any."""
        for pod, claimed in self._claims.items():
            if claimed == ip:
                return pod
        return None

    def found(self, pod: str, eni_id: str, ip: str) -> None:
        """A claim met its IP in an inventory: the pod holds it (not a new handout)."""
        del self._claims[pod]
        self._holders[pod] = (eni_id, ip)

    def restore(self, waiters: Mapping[str, float]) -> None:
        """Pods the cluster says still wait, with when they started to."""
        for pod, since in sorted(waiters.items(), key=lambda item: item[1]):
            if not self.knows(pod):
                self._waiters[pod] = since

    def take_handouts(self) -> list[Handout]:
        handouts, self._handouts = self._handouts, []
        return handouts
