"""Kubernetes Events on NEC objects: one body for both programs, posted best-effort.

The exporter reports a refused annotation (``WarmTargetRefused``, Warning), the tuner
a change it wrote (``WarmTargetsTuned``, Normal). NEC objects are cluster-scoped, so
their Events go to the ``default`` namespace, as kubectl expects for such objects.
An Event that cannot be posted is logged and dropped: it never stops the caller.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kube_adapter import nec
from kube_adapter.client import answered, request_timeout
from kube_adapter.errors import map_kubernetes_errors, one_line
from pool_engine.errors import KubernetesError

if TYPE_CHECKING:
    from kube_adapter.client import ApiClient

log = logging.getLogger(__name__)

NAMESPACE = "default"


class EventType(enum.StrEnum):
    """The two types of Event Kubernetes knows."""

    NORMAL = "Normal"
    WARNING = "Warning"


@dataclass(frozen=True)
class NecEvent:
    """Something worth telling about one NEC object."""

    nec: str
    """The NEC's name (its node's)."""
    uid: str
    """The NEC's metadata.uid, so the Event follows this object, not a namesake."""
    reason: str
    """CamelCase, e.g. WarmTargetRefused."""
    message: str
    type: EventType
    component: str
    """Who says it: eni-exporter or eni-tuner."""


def event_body(event: NecEvent, now: datetime) -> dict[str, Any]:
    """The core/v1 Event for ``event``, stamped ``now``."""
    stamp = now.isoformat()
    return {
        "metadata": {"generateName": f"{event.nec}.", "namespace": NAMESPACE},
        "involvedObject": {
            "apiVersion": nec.API_VERSION,
            "kind": nec.KIND,
            "name": event.nec,
            "uid": event.uid,
        },
        "reason": event.reason,
        "message": event.message,
        "type": event.type.value,
        "source": {"component": event.component},
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


def post_event(api: ApiClient, event: NecEvent, timeout: float | None = None) -> bool:
    """Post ``event`` (waiting at most ``timeout`` seconds for the API server, when
    given); on failure log a warning and return False."""
    from kubernetes import client

    body = event_body(event, datetime.now(UTC))
    try:
        with map_kubernetes_errors():
            answered(lambda: client.CoreV1Api(api).create_namespaced_event(
                NAMESPACE, client.CoreV1Event.model_validate(body),
                _request_timeout=request_timeout(timeout),
            ), timeout)  # fmt: skip
    except (KubernetesError, ValueError) as error:  # ValueError: an answer that is no Event
        log.warning("could not record an Event for NEC %s: %s", event.nec, one_line(str(error)))
        return False
    return True
