"""Which slot, which ENI, which subnet: TKE's "least ENIs" packing.

- a pod takes an idle IP on the ENI with the most allocated (pod-held) IPs;
- a release takes idle IPs from the ENI with the fewest allocated IPs;
- binds go to ENIs with quota left (most allocated first; one still attaching
  counts, its IP binds follow the attach) whose subnet still has free IPs; only
  then is a new ENI attached, in the subnet with the most
  free IPs, up to the max-attach limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pool_engine.config import Limits
from pool_engine.eni import Eni
from pool_engine.plan import BindRequest


def choose_pod_slot(enis: Iterable[Eni]) -> tuple[str, str] | None:
    """(ENI, IP) for a starting pod, or None when no slot is idle."""
    best: tuple[tuple[int, int, str], str, str] | None = None
    for eni in enis:
        idle = eni.idle_ips()
        if not idle:
            continue
        key = (-eni.allocated, -len(eni.ips), eni.eni_id)
        if best is None or key < best[0]:
            best = (key, eni.eni_id, idle[0])
    return None if best is None else (best[1], best[2])


def choose_releases(enis: Iterable[Eni], count: int) -> list[tuple[str, str]]:
    """Up to ``count`` idle (ENI, IP) pairs, emptiest ENIs first."""
    if count <= 0:
        return []
    order = sorted(enis, key=lambda e: (e.allocated, len(e.ips), e.eni_id))
    picked: list[tuple[str, str]] = []
    for eni in order:
        for ip in reversed(eni.idle_ips()):
            if len(picked) == count:
                return picked
            picked.append((eni.eni_id, ip))
    return picked


def choose_bind_targets(
    enis: Iterable[Eni], limits: Limits, subnets: Mapping[str, int], count: int,
    unseen_enis: int = 0,
) -> list[BindRequest]:  # fmt: skip
    """Split ``count`` binds over attached ENIs with room, then new ENIs.

    ``subnets`` maps subnet -> free IPs; a subnet missing from it is taken as
    unconstrained. ``unseen_enis`` more ENIs count against the node's limit (the cloud
    is attaching them for someone else, or an attach of ours timed out). Returns fewer
    binds than asked when ENIs or subnets run out.
    """
    if count <= 0:
        return []
    enis = list(enis)
    free = dict(subnets)
    requests: list[BindRequest] = []
    for eni in sorted(enis, key=lambda e: (-e.allocated, -len(e.ips), e.eni_id)):
        if count == 0:
            break
        if eni.detaching:
            continue
        room = min(limits.ips_per_eni - eni.used(), free.get(eni.subnet, count))
        take = min(room, count)
        if take > 0:
            requests.append(BindRequest(eni.eni_id, eni.subnet, take))
            count -= take
            if eni.subnet in free:
                free[eni.subnet] -= take
    enis_left = limits.max_enis - len(enis) - unseen_enis
    while count > 0 and enis_left > 0:
        if not free:
            subnet = ""
        else:
            subnet = max(sorted(free), key=lambda s: free[s])
            if free[subnet] <= 0:
                break
        take = min(limits.ips_per_eni, count, free.get(subnet, count))
        requests.append(BindRequest(None, subnet, take))
        count -= take
        enis_left -= 1
        if subnet in free:
            free[subnet] -= take
    return requests
