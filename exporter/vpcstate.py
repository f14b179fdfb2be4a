"""The simulated VPC's truth: which ENI each node has, which IPs are on it and in
what state, and the free IPs of every subnet.

Every change of an IP's state goes through :meth:`VpcState.set_ip`, which keeps the
per-node counts (settled and being bound), the IP -> ENI index and the subnets'
free IPs in step, and tells the watcher (the fault audit). Released IPs go back to
their subnet and are handed out again, last released first, as real clouds do.
"""

from __future__ import annotations

import enum
import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from pool_engine.config import Mode
from pool_engine.inventory import EniRecord, EniState

Key = tuple[str, Mode]


class IpState(enum.Enum):
    BOUND = "bound"
    """Settled: usable by a pod."""
    BINDING = "binding"
    RELEASING = "releasing"


@dataclass
class SimEni:
    subnet: str
    state: EniState = EniState.ATTACHED
    ips: dict[str, IpState] = field(default_factory=dict)


class Watcher(Protocol):
    """Who wants to see the VPC's truth change (the fault audit)."""

    def released(self, node: str, mode: Mode, ip: str, now: float) -> None:
        """The cloud carried out the release of ``ip``."""

    def changed(self, node: str, mode: Mode) -> None:
        """Something bound, being bound or attached to the node changed."""


class VpcState:
    """ENIs by node and mode, IPs by state, free IPs by subnet."""

    def __init__(self, subnets: tuple[tuple[str, int], ...]) -> None:
        self.free = dict(subnets)
        self.enis: dict[Key, dict[str, SimEni]] = {}
        self.watcher: Watcher | None = None
        self._home: dict[str, tuple[Key, str]] = {}
        """IP -> (node and mode, ENI) it is on, in any state."""
        self._counts: Counter[tuple[Key, IpState]] = Counter()
        self._reuse: dict[str, list[str]] = {subnet: [] for subnet in self.free}
        self._ids = itertools.count(1)

    # --- reading --------------------------------------------------------------------------

    def eni(self, key: Key, eni_id: str) -> SimEni | None:
        return self.enis.get(key, {}).get(eni_id)

    def count(self, key: Key, state: IpState) -> int:
        return self._counts[(key, state)]

    def eni_count(self, key: Key) -> int:
        return len(self.enis.get(key, ()))

    def settled_on(self, ip: str) -> Key | None:
        """The node and mode ``ip`` is bound to (settled), if any."""
        home = self._home.get(ip)
        if home is None:
            return None
        key, eni_id = home
        return key if self.enis[key][eni_id].ips[ip] is IpState.BOUND else None

    def records(self, key: Key) -> tuple[EniRecord, ...]:
        """The node's ENIs as the provider reports them."""
        records = []
        for eni_id, eni in sorted(self.enis.get(key, {}).items()):
            settled = sorted(ip for ip, state in eni.ips.items() if state is IpState.BOUND)
            changing = sorted(ip for ip, state in eni.ips.items() if state is not IpState.BOUND)
            records.append(EniRecord(eni_id, eni.subnet, tuple(settled), tuple(changing),
                                     eni.state))  # fmt: skip
        return tuple(records)

    def subnet_for(self, wanted: str) -> str:
        """``wanted`` if it exists, else the subnet with the most free IPs."""
        return wanted if wanted in self.free else max(self.free, key=self.free.__getitem__)

    # --- changing -------------------------------------------------------------------------

    def add_eni(self, key: Key, subnet: str) -> str:
        """A new ENI, attaching."""
        eni_id = f"eni-{next(self._ids):08x}"
        self.enis.setdefault(key, {})[eni_id] = SimEni(subnet, EniState.ATTACHING)
        self._changed(key)
        return eni_id

    def set_eni(self, key: Key, eni_id: str, state: EniState) -> None:
        self.enis[key][eni_id].state = state
        self._changed(key)

    def remove_eni(self, key: Key, eni_id: str) -> None:
        eni = self.enis[key][eni_id]
        for ip in list(eni.ips):
            self.set_ip(key, eni_id, ip, None)
        del self.enis[key][eni_id]
        self._changed(key)

    def allocate(self, key: Key, eni_id: str, count: int) -> tuple[str, ...]:
        """Up to ``count`` IPs of the ENI's subnet, being bound to it."""
        subnet = self.enis[key][eni_id].subnet
        ips = []
        for _ in range(min(count, self.free[subnet])):
            if self._reuse[subnet]:
                ip = self._reuse[subnet].pop()
            else:
                n = next(self._ids)
                ip = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
            self.free[subnet] -= 1
            self.set_ip(key, eni_id, ip, IpState.BINDING)
            ips.append(ip)
        return tuple(ips)

    def set_ip(self, key: Key, eni_id: str, ip: str, state: IpState | None) -> None:
        """The one place an IP's state changes (None: released, back to its subnet)."""
        eni = self.enis[key][eni_id]
        before = eni.ips.get(ip)
        if before is not None:
            self._counts[(key, before)] -= 1
        if state is None:
            del eni.ips[ip]
            del self._home[ip]
            self.free[eni.subnet] += 1
            self._reuse[eni.subnet].append(ip)
        else:
            eni.ips[ip] = state
            self._home[ip] = (key, eni_id)
            self._counts[(key, state)] += 1
        self._changed(key)

    def forget_node(self, node: str) -> None:
        """A deleted node's ENIs are deleted with its instance."""
        for key in [k for k in self.enis if k[0] == node]:
            for eni_id in list(self.enis[key]):
                self.remove_eni(key, eni_id)
            del self.enis[key]

    def _changed(self, key: Key) -> None:
        if self.watcher is not None:
            self.watcher.changed(*key)
