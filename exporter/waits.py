"""Real pod waits on TKE, read from the pods the exporter watches (tke-observe).

TKE's agent advertises each node's bound slots as the extended resources
``tke.cloud.tencent.com/eni-ip`` / ``.../direct-eni``, so a pod that no node has a
free slot for is not scheduled: its PodScheduled condition turns False with reason
``Unschedulable`` and a message naming ``Insufficient <resource>``. Such a pod is a
*cold start*; its wait runs from its creation to PodScheduled True (both stamped by
the API server), and it is counted on the node it lands on. A pod that lands without
ever lacking the resource is a *warm hit* and waits 0.

Each pod is counted once, when this exporter sees it land: pods already on a node at
the first list were counted by whoever watched them land, and are not counted again;
a pod still Pending at the first list is counted when it lands (a cold start if it
lacked the resource at the first list or later), but not again as a pod without a
slot. A pod that lands while no replica acts is not counted by anyone.
"""

from __future__ import annotations

from collections import Counter

from exporter.kube import PodInfo
from pool_engine.config import Mode


class PodWaits:
    """Cold starts per pool, pods without a slot per mode, and the waits to publish."""

    def __init__(self) -> None:
        self.cold_starts: Counter[tuple[str, Mode]] = Counter()
        """Pods that lacked their slot resource before landing, by (node, mode)."""
        self.without_slot: Counter[Mode] = Counter({mode: 0 for mode in Mode})
        """Pods seen lacking their slot resource, each once, by mode."""
        self._lacked: set[str] = set()
        """Pods not landed yet that have lacked the resource, by uid."""
        self._waits: list[tuple[Mode, float]] = []

    def pending(self, pod: PodInfo, counting: bool) -> None:
        """A pod not on a node yet. One lacking its resource is remembered, and
        counted as a pod without a slot unless ``counting`` is off (the first list:
        an earlier exporter counted it)."""
        if pod.lacking and pod.uid not in self._lacked:
            self._lacked.add(pod.uid)
            if counting:
                self.without_slot[pod.mode] += 1

    def landed(self, pod: PodInfo) -> bool:
        """The pod started on its node: count it; True for a cold start."""
        cold = pod.uid in self._lacked or pod.lacking
        self._lacked.discard(pod.uid)
        wait = 0.0
        if cold:
            self.cold_starts[(pod.node, pod.mode)] += 1
            scheduled = pod.scheduled_at if pod.scheduled_at is not None else pod.created
            wait = max(0.0, scheduled - pod.created)
        self._waits.append((pod.mode, wait))
        return cold

    def gone(self, uid: str) -> None:
        """The pod was deleted before it landed."""
        self._lacked.discard(uid)

    def forget_node(self, node: str) -> None:
        """The node is gone, and its pools' counts with it."""
        for key in [k for k in self.cold_starts if k[0] == node]:
            del self.cold_starts[key]

    def drain(self) -> list[tuple[Mode, float]]:
        """Waits of the pods landed since the last drain (warm hits as 0)."""
        waits, self._waits = self._waits, []
        return waits
