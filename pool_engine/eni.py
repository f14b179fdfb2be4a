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
    foreign: int = 0
    """IPs the cloud is changing on this ENI for someone else (last inventory)."""
    attached: bool = True
    """False while the ENI itself is still being attached (or once its detach is sent)."""
    detaching: bool = False
    """Planned for detach: takes no more binds."""

    @property
    def allocated(self) -> int:
        return sum(1 for pod in self.ips.values() if pod is not None)

    def idle_ips(self) -> list[str]:
        return sorted(ip for ip, pod in self.ips.items() if pod is None)

    def used(self) -> int:
        """IP quota in use: bound, pending, releasing and changing for someone else."""
        return len(self.ips) + self.pending + len(self.releasing) + self.foreign

    def empty(self) -> bool:
        """Nothing bound, in flight or changing on it."""
        return not (self.ips or self.pending or self.releasing or self.foreign)

    def ready_to_detach(self) -> bool:
        """Planned for detach, still attached, and nothing left on it."""
        return self.detaching and self.attached and self.empty()
