"""The simulated cluster's own record of its pods: on which node each runs, since
when, and which IP the engine handed it (what ``pod.status.podIP`` would say).

It is the cluster's truth, kept apart from the engine's memory: a restarted engine
rebuilds from it (who holds which IP, who still waits), and the fault audit judges
handouts against it (an IP handed out while another running pod holds it).
"""

from __future__ import annotations

from collections import Counter


class PodBook:
    """Running pods by name: node, start time, IP once handed one."""

    def __init__(self) -> None:
        self._node: dict[str, str] = {}
        self._since: dict[str, float] = {}
        self._ip: dict[str, str] = {}
        self._holder: dict[str, str] = {}
        """IP -> the running pod holding it."""
        self._holding: Counter[str] = Counter()
        """Node -> running pods holding an IP."""

    def started(self, pod: str, node: str, now: float) -> None:
        self._node[pod] = node
        self._since[pod] = now

    def stopped(self, pod: str) -> None:
        node = self._node.pop(pod, None)
        self._since.pop(pod, None)
        ip = self._ip.pop(pod, None)
        if ip is not None and node is not None:
            self._holding[node] -= 1
            if self._holder.get(ip) == pod:
                del self._holder[ip]

    def handed(self, pod: str, ip: str) -> str | None:
        """The engine handed ``ip`` to ``pod``. Returns another running pod that holds
        ``ip`` already (a double assignment), if any."""
        node = self._node.get(pod)
        if node is None:
            return None
        other = self._holder.get(ip)
        other = None if other == pod else other
        before = self._ip.get(pod)
        if before is None:
            self._holding[node] += 1
        elif self._holder.get(before) == pod:
            del self._holder[before]
        self._ip[pod] = ip
        self._holder[ip] = pod
        return other

    # --- reading ------------------------------------------------------------------------

    def holder(self, ip: str) -> str | None:
        """The running pod holding ``ip``, if any."""
        return self._holder.get(ip)

    def holding(self, node: str) -> int:
        """P as the cluster sees it: running pods on ``node`` that hold an IP."""
        return self._holding[node]

    def holders(self, node: str) -> dict[str, str]:
        """IP -> pod for the running pods on ``node`` that hold one."""
        return {ip: pod for pod, ip in self._ip.items() if self._node[pod] == node}

    def waiters(self, node: str) -> dict[str, float]:
        """Running pods on ``node`` without an IP, with their start times, oldest first."""
        waiting = [
            (since, pod) for pod, since in self._since.items()
            if self._node[pod] == node and pod not in self._ip
        ]  # fmt: skip
        return {pod: since for since, pod in sorted(waiting)}

    def running(self) -> int:
        return len(self._node)
