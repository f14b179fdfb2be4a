"""What the cloud says a node has, and how a pool settles its view against it.

The provider's inventory (:class:`Inventory`) is the truth about what is bound: per
ENI the IPs *settled* at the cloud and those still *changing* (being bound or
released, like Tencent's PrivateIpAddress states ATTACHING and DETACHING), and
whether the ENI itself is attaching or detaching. :func:`compare` is a pure
function of a pool's ENIs and an inventory returning a :class:`Settlement`: what
the pool takes in, drops, sets aside or gets back so that it agrees with the
cloud. :class:`pool_engine.slots.Slots` applies it.

What the engine has in flight is left out of the comparison: an ENI being attached
for us or whose detach we sent, and an IP whose release we sent; an ENI with IP binds
of ours in flight is compared but kept. Whatever else the pool has in transition (an
IP in ``releasing``, an ENI marked detached) is *doubtful*: a release or detach that
timed out. Whatever the cloud has in transition that the pool does not hold is
counted as foreign (an engine's before a restart, a call of ours that timed out, or a
bind of ours still in flight: which, the inventory cannot tell, and a bind in flight
may yet fail) and left alone until it settles. (docs/contracts/fault-audit.md)
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from pool_engine.eni import Eni

Slot = tuple[str, str]
"""(ENI id, IP)."""


class EniState(enum.StrEnum):
    """An ENI's state at the cloud."""

    ATTACHING = "attaching"
    ATTACHED = "attached"
    DETACHING = "detaching"


@dataclass(frozen=True)
class EniRecord:
    """An ENI as the provider sees it."""

    eni_id: str
    subnet: str
    ips: tuple[str, ...] = ()
    """IPs bound and settled: usable."""
    changing: tuple[str, ...] = ()
    """IPs being bound or released: neither usable nor gone yet."""
    state: EniState = EniState.ATTACHED


@dataclass(frozen=True)
class Inventory:
    """A node's ENIs in one mode, and the free IPs of every subnet."""

    enis: tuple[EniRecord, ...] = ()
    subnets: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Settlement:
    """What a pool changes to agree with an inventory."""

    adopted: tuple[EniRecord, ...] = ()
    """Attached ENIs the pool does not know: taken in with their settled IPs, idle
    (IPs still changing on them count as foreign until they settle)."""
    found: tuple[Slot, ...] = ()
    """Settled IPs the pool does not know on an ENI it knows: join as idle."""
    restored: tuple[Slot, ...] = ()
    """Doubtful IPs (a release that timed out) still bound: idle again."""
    gone: tuple[Slot, ...] = ()
    """Doubtful IPs the cloud no longer has: the release happened."""
    dropped: tuple[Slot, ...] = ()
    """Idle IPs the cloud no longer has: forgotten."""
    lost: tuple[Slot, ...] = ()
    """Held IPs the cloud no longer has: dropped when their pod stops, never handed out."""
    doubted: tuple[Slot, ...] = ()
    """Idle IPs the cloud is changing: set aside (doubtful) until they settle."""
    reattached: tuple[str, ...] = ()
    """ENIs whose detach timed out and did not happen: attached again."""
    vanished: tuple[str, ...] = ()
    """ENIs the cloud no longer has (or is detaching): removed once no pod holds an IP
    and no bind of ours is in flight on them."""
    foreign: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Known ENI -> IPs the cloud is changing on it that are not the pool's: someone
    else's, or a bind of the pool's in flight (not credited to it: it may fail while
    the IP is someone else's)."""
    in_progress: bool = False
    """Something of someone else's is still changing at the cloud: compare again soon."""
    unseen_enis: int = 0
    """ENIs of the node the pool does not know that the cloud is attaching or detaching (a
    predecessor's, before a restart, or the pool's own attach in flight, listed under a
    real id the pool does not know yet): they count against the node's ENI limit."""

    @property
    def changes(self) -> bool:
        return bool(
            self.adopted or self.found or self.restored or self.gone or self.dropped
            or self.lost or self.doubted or self.reattached or self.vanished
        )  # fmt: skip


def compare(
    enis: Iterable[Eni],
    inventory: Iterable[EniRecord],
    busy_enis: Collection[str] = (),
    busy_ips: Collection[Slot] = (),
) -> Settlement:
    """How a pool whose ENIs are ``enis`` settles against ``inventory`` (pure).

    ``busy_enis`` are ENIs whose detach the engine has in flight, ``busy_ips`` IPs
    whose release it has in flight: they are left as they are, and so are ENIs being
    attached for the engine."""
    cloud = {record.eni_id: record for record in inventory}
    found: list[Slot] = []
    restored: list[Slot] = []
    gone: list[Slot] = []
    dropped: list[Slot] = []
    lost: list[Slot] = []
    doubted: list[Slot] = []
    reattached: list[str] = []
    vanished: list[str] = []
    foreign: dict[str, frozenset[str]] = {}
    in_progress = False
    known = set()
    unseen = 0  # ENIs of the node's limit the pool cannot count itself
    for eni in enis:
        known.add(eni.eni_id)
        if not eni.attached and not eni.detaching:  # ours, attaching (a placeholder id)
            continue
        if eni.eni_id in busy_enis:
            continue
        record = cloud.get(eni.eni_id)
        if record is not None and record.state is not EniState.ATTACHED:
            in_progress = True
        if record is None or record.state is EniState.DETACHING:
            vanished.append(eni.eni_id)
            unseen += record is not None  # still on the node until the cloud is done
            settled: frozenset[str] = frozenset()
            changing: frozenset[str] = frozenset()
        else:
            if not eni.attached and eni.detaching and record.state is EniState.ATTACHED:
                reattached.append(eni.eni_id)
            settled, changing = frozenset(record.ips), frozenset(record.changing)
        in_progress = in_progress or bool(changing)
        for ip, pod in sorted(eni.ips.items()):
            if ip in settled:
                continue
            if pod is not None:
                if ip not in changing:
                    lost.append((eni.eni_id, ip))
            elif ip in changing:
                doubted.append((eni.eni_id, ip))
            else:
                dropped.append((eni.eni_id, ip))
        for ip in sorted(eni.releasing):
            if (eni.eni_id, ip) in busy_ips:
                continue
            if ip in eni.ips:  # bound again since: the release it doubted happened
                gone.append((eni.eni_id, ip))
            elif ip in settled:
                restored.append((eni.eni_id, ip))
            elif ip not in changing:
                gone.append((eni.eni_id, ip))
        mine = eni.ips.keys() | eni.releasing
        found.extend((eni.eni_id, ip) for ip in sorted(settled - mine))
        foreign[eni.eni_id] = changing - mine
    adopted = []
    attaching = 0
    for eni_id, record in sorted(cloud.items()):
        if eni_id in known:
            continue
        in_progress = in_progress or record.state is not EniState.ATTACHED or bool(record.changing)
        if record.state is EniState.ATTACHED:
            adopted.append(record)
            foreign[eni_id] = frozenset(record.changing)
        else:
            attaching += 1
    # Not matched against our own attaches in flight: one may fail while the cloud's
    # attaching ENI is a predecessor's (the mistake session 12 found for IPs, too).
    unseen += attaching
    return Settlement(
        tuple(adopted), tuple(found), tuple(restored), tuple(gone), tuple(dropped),
        tuple(lost), tuple(doubted), tuple(reattached), tuple(vanished), foreign, in_progress,
        unseen,
    )  # fmt: skip
