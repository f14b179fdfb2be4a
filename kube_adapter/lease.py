"""One acting replica at a time, through a coordination.k8s.io Lease.

A small loop of our own, not the official client's ``leaderelection`` (whose thread
dies on anything but an ApiException without calling its lost-lease hook). With L the
lease duration, D the renew deadline and R the retry period (0 < R < D < L):

- Every R seconds a replica reads the Lease. Its holder renews it: writes a new
  renewTime under the resourceVersion it read. Another replica takes it when it is
  free (no holder), or when the version it read has not changed for L seconds of its
  own clock since it first saw that version; it writes itself as holder under that
  resourceVersion, so of two such replicas only one succeeds (the other gets 409).
- A replica acts only until D seconds after it *sent* its last successful write
  (:meth:`Elector.acting`). Nothing else extends that deadline.

Why never two at once: a taker must first see the holder's last write, which happens
after the holder sent it, and then wait L; the holder stopped at send + D < send + L.
The margin L - D covers the step in progress when the deadline passes and any
difference in the rate of the two monotonic clocks. Any failure to renew (an API
outage, a conflict, an exception, the thread gone) means only that no new deadline
comes: acting stops by itself, within D of the last renewal, before anyone can take
over. ``acting()`` turns false at once when the thread is gone or another holder is
seen. A clean shutdown (:meth:`Elector.release`) clears the holder after acting has
stopped, so a standby takes over at its next read instead of after L.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from kube_adapter.errors import map_kubernetes_errors
from pool_engine.errors import KubernetesConflict, KubernetesError

if TYPE_CHECKING:
    from kubernetes.client import V1Lease

    from kube_adapter.client import ApiClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeaseTimings:
    """How long a Lease lasts and how it is kept (seconds)."""

    duration: float = 15.0
    """L: another replica takes a Lease not renewed for this long."""
    renew_deadline: float = 10.0
    """D: the holder stops acting this long after its last successful renewal."""
    retry_period: float = 2.0
    """R: how often every replica reads (and the holder renews) the Lease."""

    def problem(self) -> str | None:
        """Why these timings cannot work, or None."""
        if not 0 < self.retry_period < self.renew_deadline < self.duration:
            return (
                f"need 0 < retry period ({self.retry_period:g}) < renew deadline"
                f" ({self.renew_deadline:g}) < lease duration ({self.duration:g})"
            )
        if self.duration != int(self.duration):
            return f"the lease duration ({self.duration:g}) must be whole seconds"
        return None


@dataclass(frozen=True)
class LeaseRecord:
    """A Lease as read or written."""

    holder: str
    """holderIdentity; "" when free."""
    duration: float
    """leaseDurationSeconds, as its holder announced it."""
    transitions: int
    version: str
    """metadata.resourceVersion."""
    acquired: datetime | None = None


class LeaseStore(Protocol):
    """One Lease object (:class:`ApiLeases`; a fake in tests)."""

    def read(self) -> LeaseRecord | None:
        """The Lease, or None when there is none."""
        ...

    def create(self, holder: str, duration: int) -> LeaseRecord:
        """Create it held by ``holder``; KubernetesConflict when it exists."""
        ...

    def write(self, previous: LeaseRecord, holder: str, duration: int) -> LeaseRecord:
        """Replace ``previous`` (by its version) with ``holder`` renewing it now;
        KubernetesConflict when it changed meanwhile."""
        ...


def identity() -> str:
    """This replica's name in the Lease: the pod's name, else host and process."""
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"


class Elector:
    """Campaigns for one Lease in a thread; :meth:`acting` says whether we may act."""

    def __init__(
        self,
        store: LeaseStore,
        me: str,
        timings: LeaseTimings,
        on_error: Callable[[BaseException], None] = lambda error: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.me = me
        self.timings = timings
        self.on_error = on_error
        self.clock = clock
        self.last_round = clock()
        self._deadline = -math.inf
        self._seen: tuple[str, float] | None = None
        """The version last read or written, and when this replica first saw it."""
        self._expiry: float | None = None
        """When another replica's Lease runs out unless renewed: the next round then."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease", daemon=True)

    # --- what the rest of the process asks ------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def acting(self) -> bool:
        """True while we hold the Lease and may act: until the renew deadline, and only
        while the thread that renews it runs."""
        return self._thread.is_alive() and self.holding()

    def holding(self) -> bool:
        """The renew deadline of our last successful write is still ahead."""
        return self.clock() < self._deadline

    def deadline(self) -> float:
        """When acting ends unless renewed (on ``clock``); -inf when not holding."""
        return self._deadline

    def alive(self) -> bool:
        """The thread runs and has started a round lately (for /healthz)."""
        stale = max(30.0, 3 * self.timings.duration)
        return self._thread.is_alive() and self.clock() - self.last_round < stale

    def release(self, timeout: float = 5.0) -> None:
        """Stop campaigning and, if we hold the Lease, clear its holder. Call it only
        once nothing acts any more."""
        self._deadline = -math.inf
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        try:
            record = self.store.read()
            if record is not None and record.holder == self.me:
                self.store.write(record, "", 1)
                log.info("released the lease")
        except Exception as error:  # another replica takes over after L instead
            self.on_error(error)

    # --- the loop ---------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self.last_round = self.clock()
            try:
                self.round()
            except KubernetesConflict:  # another replica wrote first: read again next round
                log.debug("lease changed under us")
            except Exception as error:  # counted; the loop never ends but by release()
                if self.acting():
                    log.warning("could not renew the lease (acting for %.1fs more): %s",
                                self._deadline - self.clock(), error)  # fmt: skip
                self.on_error(error)
            self._stop.wait(self._pause())

    def _pause(self) -> float:
        """Until the next round: R, or less when another holder's Lease runs out sooner."""
        retry = self.timings.retry_period
        if self._expiry is None:
            return retry
        return min(retry, max(0.01, self._expiry - self.clock() + 0.01))

    def round(self) -> None:
        """One read, then a renewal or a take-over when due. Raises what the store
        raises; a conflict means someone else wrote first."""
        self._expiry = None  # a failed read waits a whole retry period
        record = self.store.read()
        seen = self.clock()
        if record is None:
            sent = self.clock()
            self._won(self.store.create(self.me, int(self.timings.duration)), sent, None)
            return
        if self._seen is None or self._seen[0] != record.version:
            self._seen = (record.version, seen)
        held_by_other = record.holder not in ("", self.me)
        self._expiry = self._seen[1] + record.duration if held_by_other else None
        if held_by_other and seen < self._seen[1] + record.duration:
            if self._deadline > -math.inf:
                log.error("lease taken by %s: stopping at once", record.holder)
                self._deadline = -math.inf
            return
        sent = self.clock()
        self._won(self.store.write(record, self.me, int(self.timings.duration)), sent, record)

    def _won(self, record: LeaseRecord, sent: float, before: LeaseRecord | None) -> None:
        if not self.holding():
            taken = (
                f" from {before.holder}" if before and before.holder not in ("", self.me) else ""
            )
            log.info("holding the lease%s (acting until %.1fs after each renewal)",
                     taken, self.timings.renew_deadline)  # fmt: skip
        self._deadline = sent + self.timings.renew_deadline
        self._seen = (record.version, self.clock())


class ApiLeases:
    """A Lease through the API server; every call waits at most ``timeout`` seconds."""

    def __init__(self, api: ApiClient, name: str, namespace: str, timeout: float) -> None:
        from kubernetes import client

        self._api = client.CoordinationV1Api(api)
        self.name = name
        self.namespace = namespace
        self.timeout = timeout

    def read(self) -> LeaseRecord | None:
        try:
            with map_kubernetes_errors():
                lease = self._api.read_namespaced_lease(
                    self.name, self.namespace, _request_timeout=self.timeout
                )
        except KubernetesError as error:
            if error.status == 404:
                return None
            raise
        return _record(lease)

    def create(self, holder: str, duration: int) -> LeaseRecord:
        body = self._body(holder, duration, 0, datetime.now(UTC), None)
        with map_kubernetes_errors():
            created = self._api.create_namespaced_lease(
                self.namespace, body, _request_timeout=self.timeout
            )
        return _record(created)

    def write(self, previous: LeaseRecord, holder: str, duration: int) -> LeaseRecord:
        now = datetime.now(UTC)
        changed = holder != previous.holder
        transitions = previous.transitions + (1 if changed and holder else 0)
        acquired = now if changed and holder else previous.acquired
        body = self._body(holder, duration, transitions, acquired, previous.version, now)
        with map_kubernetes_errors():
            written = self._api.replace_namespaced_lease(
                self.name, self.namespace, body, _request_timeout=self.timeout
            )
        return _record(written)

    def _body(
        self,
        holder: str,
        duration: int,
        transitions: int,
        acquired: datetime | None,
        version: str | None,
        renewed: datetime | None = None,
    ) -> V1Lease:
        from kubernetes import client

        return client.V1Lease(
            metadata=client.V1ObjectMeta(
                name=self.name, namespace=self.namespace, resource_version=version
            ),
            spec=client.V1LeaseSpec(
                holder_identity=holder or None,
                lease_duration_seconds=duration,
                lease_transitions=transitions,
                acquire_time=acquired,
                renew_time=renewed or acquired,
            ),
        )


def _record(lease: object) -> LeaseRecord:
    spec = getattr(lease, "spec", None)
    meta = getattr(lease, "metadata", None)
    return LeaseRecord(
        holder=str(getattr(spec, "holder_identity", None) or ""),
        duration=float(getattr(spec, "lease_duration_seconds", None) or 0),
        transitions=int(getattr(spec, "lease_transitions", None) or 0),
        version=str(getattr(meta, "resource_version", "")),
        acquired=getattr(spec, "acquire_time", None),
    )
