"""A node's slots grouped by ENI, the binds in flight on them, and free IPs per subnet.

:class:`Slots` is the provider-facing half of a :class:`pool_engine.pool.NodePool`:
it knows which ENI holds which IP and what the cloud is doing to them (binds,
releases, detaches, new ENIs under a placeholder id until attached), but not which
pods wait or why a slot is wanted — the pool decides that and hands slots to pods
through :meth:`Slots.hold` and takes them back with :meth:`Slots.free`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from pool_engine.eni import Eni
from pool_engine.inventory import Settlement, Slot
from pool_engine.packing import choose_pod_slot
from pool_engine.plan import BindOp, Plan


class Slots:
    """Slots by ENI, binds in flight and subnets' free IPs."""

    def __init__(self) -> None:
        self._enis: dict[str, Eni] = {}
        self._subnets: dict[str, int] = {}
        """Subnet -> free IPs, as last seen from the provider."""
        self._ops: dict[int, BindOp] = {}
        self._aliases: dict[str, str] = {}
        """Placeholder id of a new ENI -> its real id, once attached."""
        self._op_ids = itertools.count(1)
        self.unseen_enis = 0
        """ENIs at the cloud this pool does not know that count against the node's ENI
        limit: attaching or detaching for someone else (last inventory), or made by an
        attach of ours that timed out (until the next inventory)."""

    @property
    def enis(self) -> Mapping[str, Eni]:
        return MappingProxyType(self._enis)

    @property
    def subnets(self) -> Mapping[str, int]:
        return MappingProxyType(self._subnets)

    @property
    def bound(self) -> int:
        return sum(len(e.ips) for e in self._enis.values())

    @property
    def in_flight(self) -> int:
        return sum(op.count for op in self._ops.values())

    def op(self, op_id: int) -> BindOp | None:
        return self._ops.get(op_id)

    def resolve(self, eni_id: str) -> str:
        return self._aliases.get(eni_id, eni_id)

    def awaits_attach(self, op: BindOp) -> bool:
        return not op.new_eni and not self._enis[self.resolve(op.eni_id)].attached

    def ready_detaches(self) -> list[str]:
        return [eni.eni_id for eni in self._enis.values() if eni.ready_to_detach()]

    def idle_slot(self) -> Slot | None:
        """(ENI, IP) a starting pod takes, least-ENI packed; None when none is idle."""
        return choose_pod_slot(self._enis.values())

    def hold(self, eni_id: str, ip: str, pod: str) -> None:
        """Hand a bound slot to ``pod``."""
        self._enis[eni_id].ips[ip] = pod

    def free(self, eni_id: str, ip: str) -> bool:
        """Take a slot back from its pod: idle again (True), or dropped when the cloud
        lost it meanwhile (False)."""
        eni = self._enis[eni_id]
        if ip in eni.lost:
            eni.lost.discard(ip)
            del eni.ips[ip]
            return False
        eni.ips[ip] = None
        return True

    # --- operations ------------------------------------------------------------------------

    def begin(self, plan: Plan) -> list[BindOp]:
        """Slots of the plan's releases leave, its detaches are marked, binds go in flight."""
        for release in plan.releases:
            eni = self._enis[release.eni_id]
            if eni.ips.get(release.ip, "held") is not None:
                raise ValueError(f"{release.ip} is not idle: a held slot is never released")
            del eni.ips[release.ip]
            eni.releasing.add(release.ip)
        for eni_id in plan.detach:
            self._enis[eni_id].detaching = True
        started: list[BindOp] = []
        for request in plan.binds:
            op_id = next(self._op_ids)
            eni_id = request.eni_id or f"pending-eni-{op_id}"
            if request.new_eni:
                self._enis[eni_id] = Eni(eni_id, request.subnet, attached=False)
            self._enis[eni_id].pending += request.count
            if request.subnet in self._subnets:
                self._subnets[request.subnet] -= request.count
            op = BindOp(op_id, eni_id, request.new_eni, request.subnet, request.count)
            self._ops[op_id] = op
            started.append(op)
        return started

    def bind_done(self, op_id: int, eni_id: str, ips: Iterable[str]) -> list[str]:
        """The op's ``ips`` are bound (idle) on ``eni_id``, the ENI's real id. Returns
        those that are new: one the pool knows already keeps its holder."""
        op = self._ops.pop(op_id)
        known = self.resolve(op.eni_id)
        eni = self._enis[known]
        eni.pending -= op.count
        eni.attached = True
        if known != eni_id:  # a new ENI's placeholder takes the real id
            del self._enis[known]
            self._aliases[known] = eni_id
            eni.eni_id = eni_id
            self._enis[eni_id] = self._merge(eni)
        bound = self._enis[eni_id].ips
        new = [ip for ip in ips if ip not in bound]
        bound.update(dict.fromkeys(new))
        # The cloud hands out a released IP again: a doubted release of it happened.
        self._enis[eni_id].releasing.difference_update(new)
        self._forget_alias(op.eni_id)
        return new

    def bind_failed(self, op_id: int, doubtful: bool = False) -> None:
        """The op bound nothing as far as we know; ``doubtful`` (it timed out) keeps what
        it may have done at the cloud out of reach until the next inventory: its IPs'
        quota on the ENI, or for an attach a whole ENI against the node's limit."""
        op = self._ops.pop(op_id)
        known = self.resolve(op.eni_id)
        eni = self._enis[known]
        eni.pending -= op.count
        if doubtful and op.new_eni:
            self.unseen_enis += 1
        elif doubtful:
            eni.doubtful += op.count
        if op.subnet in self._subnets:
            self._subnets[op.subnet] += op.count
        if not eni.attached and eni.used() == 0:
            del self._enis[known]
        self._forget_alias(op.eni_id)

    def release_done(self, eni_id: str, ip: str) -> None:
        eni = self._enis.get(eni_id)
        if eni is None:  # released for an engine before a restart: nothing of ours
            return
        eni.releasing.discard(ip)
        if eni.subnet in self._subnets:
            self._subnets[eni.subnet] += 1

    def release_failed(self, eni_id: str, ip: str) -> None:
        eni = self._enis.get(eni_id)
        if eni is None or ip not in eni.releasing:
            return
        eni.releasing.discard(ip)
        eni.ips.setdefault(ip, None)
        eni.detaching = False

    def detach_sent(self, eni_id: str) -> None:
        self._enis[eni_id].attached = False

    def detach_done(self, eni_id: str) -> None:
        self._enis.pop(eni_id, None)

    def detach_failed(self, eni_id: str) -> None:
        if eni_id in self._enis:
            self._enis[eni_id].detaching = False
            self._enis[eni_id].attached = True

    def settle(self, settlement: Settlement) -> list[Slot]:
        """Apply an inventory comparison (:func:`pool_engine.inventory.compare`);
        returns the slots that became idle (adopted, found or restored)."""
        fresh: list[Slot] = []
        for record in settlement.adopted:
            self._enis[record.eni_id] = Eni(record.eni_id, record.subnet, dict.fromkeys(record.ips))
            fresh.extend((record.eni_id, ip) for ip in sorted(record.ips))
        for eni_id, ip in settlement.found:
            self._enis[eni_id].ips[ip] = None
        fresh.extend(settlement.found)
        for eni_id, ip in settlement.restored:
            self._enis[eni_id].releasing.discard(ip)
            self._enis[eni_id].ips[ip] = None
        fresh.extend(settlement.restored)
        for eni_id, ip in settlement.gone:
            self._enis[eni_id].releasing.discard(ip)
        for eni_id, ip in settlement.dropped:
            del self._enis[eni_id].ips[ip]
        for eni_id, ip in settlement.lost:
            self._enis[eni_id].lost.add(ip)
        for eni_id, ip in settlement.doubted:
            del self._enis[eni_id].ips[ip]
            self._enis[eni_id].releasing.add(ip)
        for eni_id in settlement.reattached:
            self._enis[eni_id].attached = True
            self._enis[eni_id].detaching = False
        self.unseen_enis = settlement.unseen_enis
        for eni_id, changing in settlement.foreign.items():
            self._enis[eni_id].changing = changing
            self._enis[eni_id].doubtful = 0
        for eni_id in settlement.vanished:
            eni = self._enis[eni_id]
            eni.changing, eni.doubtful = frozenset(), 0
            if not (eni.ips or eni.pending):
                del self._enis[eni_id]
        return fresh

    def see_subnets(self, free: Mapping[str, int]) -> None:
        """Free IPs per subnet as the cloud reports them, less what binds in flight
        reserved (a failed bind gives its reservation back)."""
        self._subnets.update(free)
        for op in self._ops.values():
            if op.subnet in self._subnets:
                self._subnets[op.subnet] -= op.count

    # --- helpers ---------------------------------------------------------------------------

    def _forget_alias(self, placeholder: str) -> None:
        if placeholder in self._aliases and all(
            o.eni_id != placeholder for o in self._ops.values()
        ):
            del self._aliases[placeholder]

    def _merge(self, eni: Eni) -> Eni:
        """A bind on an ENI we already track (re-attach of a known id) joins it."""
        known = self._enis.get(eni.eni_id)
        if known is None:
            return eni
        for ip, pod in eni.ips.items():
            known.ips.setdefault(ip, pod)
        known.pending += eni.pending
        return known
