"""One acting replica at a time: a coordination.k8s.io Lease, through the official
client's leader election. The exporter's observe mode does not need it."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from kube_adapter.errors import map_kubernetes_errors
from pool_engine.errors import KubernetesError

if TYPE_CHECKING:
    from kube_adapter.client import ApiClient

log = logging.getLogger(__name__)

LEASE_SECONDS = 15
"""A lost leader's Lease is taken over after this long."""
RENEW_DEADLINE_SECONDS = 10
RETRY_SECONDS = 2


def identity() -> str:
    """This replica's name in the Lease: the pod's name, else host and process."""
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"


def elect(
    api: ApiClient, name: str, namespace: str, on_lost: Callable[[], None]
) -> threading.Event:
    """Start campaigning for the Lease; the returned event is set while we lead.

    ``on_lost`` is called once leadership is lost, so that the caller stops acting.
    """
    from kubernetes import client
    from kubernetes.leaderelection import electionconfig, leaderelection
    from kubernetes.leaderelection.resourcelock.leaselock import LeaseLock

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
        lease_duration=LEASE_SECONDS,
        renew_deadline=RENEW_DEADLINE_SECONDS,
        retry_period=RETRY_SECONDS,
        onstarted_leading=started,
        onstopped_leading=stopped,
    )
    election = leaderelection.LeaderElection(config)

    def campaign() -> None:
        """The library's loop, which dies on anything but an ApiException: a follower
        tries again, a leader that cannot renew stops leading."""
        while True:
            try:
                with map_kubernetes_errors():
                    election.run()
                return
            except KubernetesError as error:
                if leading.is_set():
                    log.error("lease %s/%s: %s", namespace, name, error)
                    stopped()
                    return
                log.warning("lease %s/%s: %s; trying again in %ds", namespace, name, error,
                            RETRY_SECONDS)  # fmt: skip
                time.sleep(RETRY_SECONDS)

    threading.Thread(target=campaign, name="leader-election", daemon=True).start()
    return leading
