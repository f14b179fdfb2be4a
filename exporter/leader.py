"""One acting replica at a time: a coordination.k8s.io Lease, through the official
client's leader election. Observe mode does not need it."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

from kubernetes import client
from kubernetes.leaderelection import electionconfig, leaderelection
from kubernetes.leaderelection.resourcelock.leaselock import LeaseLock

log = logging.getLogger(__name__)


def identity() -> str:
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"


def elect(
    api: client.ApiClient, name: str, namespace: str, on_lost: Callable[[], None]
) -> threading.Event:
    """Start campaigning for the Lease; the returned event is set while we lead."""
    client.Configuration.set_default(api.configuration)  # LeaseLock uses the default client
    leading = threading.Event()
    me = identity()

    def started() -> None:
        log.info("leading: lease %s/%s held by %s", namespace, name, me)
        leading.set()
        threading.Event().wait()  # lead until the process ends or the lease is lost

    def stopped() -> None:
        leading.clear()
        log.error("lost lease %s/%s: stopping so that another replica can act", namespace, name)
        on_lost()

    config = electionconfig.Config(
        LeaseLock(name, namespace, me),
        lease_duration=15,
        renew_deadline=10,
        retry_period=2,
        onstarted_leading=started,
        onstopped_leading=stopped,
    )
    election = leaderelection.LeaderElection(config)
    threading.Thread(target=election.run, name="leader-election", daemon=True).start()
    return leading
