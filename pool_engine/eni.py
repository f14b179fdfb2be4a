"""An ENI as a node's pool keeps it: its slots, who holds them, and what is in flight.

In route-eni a slot is a secondary IP on the ENI (``ips_per_eni`` of them); in
direct-eni the ENI holds exactly one. Only :class:`pool_engine.slots.Slots`
changes an :class:`Eni`; packing and the decision read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
    """IPs being released: no longer bound, not yet gone. With no release of ours in
    flight for one (it timed out), the IP is doubtful until an inventory settles it."""
    lost: set[str] = field(default_factory=set)
    """Held IPs the cloud no longer has: dropped when their pod stops."""
    changing: frozenset[str] = frozenset()
    """IPs the cloud was changing on this ENI at the last inventory that were not ours:
    someone else's, a bind of ours that timed out, or one still in flight (which of them
    cannot be told, so none is credited to a bind in flight: it may never happen)."""
    doubtful: int = 0
    """IPs of binds of ours that timed out since the last inventory: they may be bound."""
    attached: bool = True
    """False while the ENI itself is still being attached (or once its detach is sent)."""
    detaching: bool = False
    """Planned for detach: takes no more binds."""

    @property
    def allocated(self) -> int:
        return sum(1 for pod in self.ips.values() if pod is not None)

    def idle_ips(self) -> list[str]:
        return sorted(ip for ip, pod in self.ips.items() if pod is None)

    @property
    def foreign(self) -> int:
        """IPs of the ENI's quota the cloud may hold for someone else (or for a bind of
        ours that timed out, or is in flight and already shows)."""
        if not self.changing:  # the common case, on every look at the quota
            return self.doubtful
        return self.doubtful + len(self.changing - self.ips.keys() - self.releasing)

    def used(self) -> int:
        """IP quota in use: bound, pending, releasing and changing for someone else."""
        return len(self.ips) + self.pending + len(self.releasing) + self.foreign

    def empty(self) -> bool:
        """Nothing bound, in flight or changing on it."""
        return not (self.ips or self.pending or self.releasing or self.foreign)

    def ready_to_detach(self) -> bool:
        """Planned for detach, still attached, and nothing left on it."""
        return self.detaching and self.attached and self.empty()
