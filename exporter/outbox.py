"""What the engine loop writes to Kubernetes, sent from one thread of its own.

The engine loop never waits on the API server: a refusal's Event and a node's record
(docs/contracts/annotations.md, "What the exporter keeps") go into the outbox and the
loop moves on. The outbox's thread sends them with a request timeout, and only while
``may_act()`` holds (the Lease is ours, or no Lease is needed), checked before every
call. A failed Event is counted and dropped (Events are best-effort); a failed record
is counted and tried again later, with the latest record of the node.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from exporter.incidents import Incidents, Where
from kube_adapter.events import NecEvent

log = logging.getLogger(__name__)

MAX_EVENTS = 1000
"""Events waiting beyond this are dropped, oldest first (and counted)."""
RETRY_SECONDS = (1.0, 30.0)
"""A failed record is tried again after 1 s, doubling up to 30 s."""


class Api(Protocol):
    """The two calls the outbox makes (kube_adapter behind it, fakes in tests)."""

    def post(self, event: NecEvent, timeout: float) -> bool:
        """Post an Event; False when it could not be posted (already logged)."""
        ...

    def annotate(self, nec: str, annotations: Mapping[str, str], timeout: float) -> bool:
        """Set annotations on a NEC under a resourceVersion precondition; False when gone."""
        ...


class Outbox(threading.Thread):
    def __init__(
        self,
        api: Api,
        may_act: Callable[[], bool],
        incidents: Incidents,
        timeout: float = 5.0,
        retry: tuple[float, float] = RETRY_SECONDS,
    ) -> None:
        super().__init__(name="outbox", daemon=True)
        self.api = api
        self.may_act = may_act
        self.incidents = incidents
        self.timeout = timeout
        self.retry = retry
        """The pause after a record's first failure, and the longest pause."""
        self._events: collections.deque[NecEvent] = collections.deque()
        self._records: dict[str, Mapping[str, str]] = {}
        self._retry: dict[str, tuple[float, float]] = {}
        """NEC -> (not before, last pause) for records that failed."""
        self._wake = threading.Condition()
        self._closing = False

    # --- the engine loop's side ---------------------------------------------------------

    def post(self, event: NecEvent) -> None:
        with self._wake:
            if len(self._events) >= MAX_EVENTS:
                dropped = self._events.popleft()
                log.warning("too many Events waiting: dropped one for NEC %s", dropped.nec)
                self.incidents.count(Where.EVENT)
            self._events.append(event)
            self._wake.notify()

    def remember(self, nec: str, annotations: Mapping[str, str]) -> None:
        """Write ``annotations`` on the NEC; a later call for the same NEC replaces it."""
        with self._wake:
            self._records[nec] = dict(annotations)
            self._wake.notify()

    def close(self, flush_seconds: float = 0.0) -> None:
        """Stop the thread, after up to ``flush_seconds`` spent sending what waits."""
        deadline = time.monotonic() + flush_seconds
        with self._wake:
            while (self._events or self._records) and self.is_alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._wake.wait(min(left, 0.05))
            self._closing = True
            self._wake.notify_all()

    def pending(self) -> int:
        with self._wake:
            return len(self._events) + len(self._records)

    # --- the thread -----------------------------------------------------------------------

    def run(self) -> None:
        while True:
            with self._wake:
                work = self._next()
                while work is None and not self._closing:
                    self._wake.wait(self._pause())
                    work = self._next()
                if self._closing or work is None:
                    return
            try:
                work()
            except Exception as error:  # never let one write end the thread
                self.incidents.survived(Where.PERSIST, error, "writing to Kubernetes")
            with self._wake:
                self._wake.notify_all()  # close() may be waiting for an empty outbox

    def _next(self) -> Callable[[], None] | None:
        """The next thing to send, taken off the outbox (the lock is held)."""
        if self._events:
            event = self._events.popleft()
            return lambda: self._send_event(event)
        now = time.monotonic()
        for nec in self._records:
            if self._retry.get(nec, (0.0, 0.0))[0] <= now:
                annotations = self._records.pop(nec)
                return lambda: self._send_record(nec, annotations)
        return None

    def _pause(self) -> float:
        """How long to sleep when nothing is due: until the next retry, at most 1 s."""
        due = [t for nec, (t, _) in self._retry.items() if nec in self._records]
        return max(0.01, min([1.0, *(t - time.monotonic() for t in due)]))

    def _send_event(self, event: NecEvent) -> None:
        if not self.may_act():
            log.info("not acting: Event for NEC %s not posted", event.nec)
            return
        if not self.api.post(event, self.timeout):
            self.incidents.count(Where.EVENT)

    def _send_record(self, nec: str, annotations: Mapping[str, str]) -> None:
        if not self.may_act():
            return  # the next acting replica writes its own
        try:
            self.api.annotate(nec, annotations, self.timeout)
        except Exception as error:
            self.incidents.survived(Where.PERSIST, error, f"recording node {nec} on its NEC")
            with self._wake:
                first, longest = self.retry
                pause = min(longest, 2 * self._retry.get(nec, (0.0, first / 2))[1])
                self._retry[nec] = (time.monotonic() + pause, pause)
                self._records.setdefault(nec, annotations)  # unless a newer one came meanwhile
            return
        with self._wake:
            self._retry.pop(nec, None)
