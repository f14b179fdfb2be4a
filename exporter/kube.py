"""Kubernetes side of cluster mode: Nodes, Pods and NEC objects as compact records.

One :class:`kube_adapter.watcher.Watcher` per resource lists and watches; objects are
cut down to the few fields the engine needs (:class:`NodeInfo`, :class:`PodInfo`,
:class:`NecInfo`) as soon as they arrive, and put on one queue of :class:`Change` that
the engine loop drains. :class:`NecWriter` makes the outbox's calls
(:mod:`exporter.outbox`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kube_adapter.events import NecEvent, post_event
from kube_adapter.nec import RECORD_KEYS, Necs, schedule_annotations, tke_annotations
from kube_adapter.watcher import Resource, Watcher
from pool_engine.config import Mode, instance_family

if TYPE_CHECKING:
    from kube_adapter.client import ApiClient

ENI_IP = "tke.cloud.tencent.com/eni-ip"
"""Extended resource: bound shared-ENI IPs on a node; a pod requests one."""
DIRECT_ENI = "tke.cloud.tencent.com/direct-eni"
"""Extended resource: bound exclusive ENIs on a node; a pod requests one."""
RESOURCE_OF = {Mode.ROUTE_ENI: ENI_IP, Mode.DIRECT_ENI: DIRECT_ENI}
INSTANCE_TYPE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
"""Where a node names its instance type (e.g. ``SA3.2XLARGE16``), in order of preference."""


@dataclass(frozen=True)
class NodeInfo:
    name: str
    cores: int
    bound: dict[Mode, int]
    """Slots the node advertises as allocatable extended resources (TKE's bound count)."""
    family: str = ""
    """Instance family from the instance-type label (``SA3``), ``""`` when unlabelled."""


@dataclass(frozen=True)
class PodInfo:
    uid: str
    name: str
    namespace: str
    node: str
    mode: Mode
    active: bool
    """Scheduled and neither finished nor failed: it holds (or waits for) a slot."""
    ip: str = ""
    """status.podIP: the slot it holds, for rebuilding a pool after a restart."""
    created: float = 0.0
    """metadata.creationTimestamp, Unix seconds (the API server's clock)."""
    lacking: bool = False
    """Unschedulable for want of its mode's slot resource: PodScheduled is False with
    reason Unschedulable and a message naming ``Insufficient <resource>``."""
    scheduled_at: float | None = None
    """When PodScheduled turned True (its lastTransitionTime; the API server sets it
    when the scheduler binds the pod), else None."""


@dataclass(frozen=True)
class NecInfo:
    name: str
    uid: str
    annotations: dict[str, str]
    """Only the tke.cloud.tencent.com/ annotations."""
    record: dict[str, str] = field(default_factory=dict)
    """The exporter's own record of the node (kube_adapter.nec.RECORD_KEYS), as stored."""
    schedules: dict[str, str] = field(default_factory=dict)
    """The time-of-day schedule annotations (kube_adapter.nec.SCHEDULE_KEY), as stored."""


Info = NodeInfo | PodInfo | NecInfo


@dataclass(frozen=True)
class Change:
    kind: Resource
    deleted: bool
    key: str
    """A node's or NEC's name, a pod's uid."""
    info: Info | None


def node_info(obj: dict[str, Any]) -> NodeInfo:
    """Cores from capacity (else allocatable), bound slots from allocatable, the
    instance family from the instance-type label (else the beta one)."""
    status = obj.get("status") or {}
    allocatable = status.get("allocatable") or {}
    capacity = status.get("capacity") or {}
    cpu = str(capacity.get("cpu") or allocatable.get("cpu") or "1")
    cores = int(cpu[:-1]) // 1000 if cpu.endswith("m") else int(float(cpu))
    bound = {mode: _quantity(allocatable.get(resource)) for mode, resource in RESOURCE_OF.items()}
    labels = obj["metadata"].get("labels") or {}
    kind = next((str(labels[key]) for key in INSTANCE_TYPE_LABELS if labels.get(key)), "")
    return NodeInfo(obj["metadata"]["name"], max(1, cores), bound, instance_family(kind))


def pod_info(obj: dict[str, Any]) -> PodInfo | None:
    """None for pods that need no slot (host network); direct-eni when a container
    requests the direct-eni resource, else route-eni."""
    spec = obj.get("spec") or {}
    if spec.get("hostNetwork"):
        return None
    meta = obj["metadata"]
    mode = Mode.ROUTE_ENI
    for container in spec.get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        if DIRECT_ENI in requests:
            mode = Mode.DIRECT_ENI
    status = obj.get("status") or {}
    phase = status.get("phase", "Pending")
    node = spec.get("nodeName") or ""
    active = bool(node) and phase not in ("Succeeded", "Failed")
    ip = status.get("podIP") or ""
    conditions: list[dict[str, Any]] = status.get("conditions") or []
    scheduled = next((c for c in conditions if c.get("type") == "PodScheduled"), {})
    lacking = (
        scheduled.get("status") == "False"
        and scheduled.get("reason") == "Unschedulable"
        and f"Insufficient {RESOURCE_OF[mode]}" in str(scheduled.get("message") or "")
    )
    at = (
        _timestamp(scheduled.get("lastTransitionTime"))
        if scheduled.get("status") == "True"
        else None
    )
    created = _timestamp(meta.get("creationTimestamp")) or 0.0
    return PodInfo(meta["uid"], meta["name"], meta.get("namespace", ""), node, mode, active, ip,
                   created, lacking, at)  # fmt: skip


def nec_info(obj: dict[str, Any]) -> NecInfo:
    meta = obj["metadata"]
    annotations = meta.get("annotations") or {}
    record = {k: annotations[k] for k in RECORD_KEYS if k in annotations}
    return NecInfo(meta["name"], meta.get("uid", ""), tke_annotations(annotations), record,
                   schedule_annotations(annotations))  # fmt: skip


def _timestamp(text: object) -> float | None:
    """Unix seconds of an RFC 3339 timestamp (``2025-03-02T03:00:07Z``); None if absent."""
    if not isinstance(text, str) or not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _quantity(text: object) -> int:
    try:
        return int(str(text)) if text is not None else 0
    except ValueError:
        return 0


CONVERT: dict[Resource, Callable[[dict[str, Any]], Info | None]] = {
    Resource.NODE: node_info,
    Resource.NEC: nec_info,
    Resource.POD: pod_info,
}


def start_watchers(
    api: ApiClient,
    changes: queue.Queue[Change],
    stop: threading.Event,
    on_error: Callable[[BaseException], None],
) -> list[Watcher[Info | None]]:
    """One running watcher per resource, all feeding ``changes``."""
    watchers = []
    for resource, convert in CONVERT.items():

        def emit(deleted: bool, key: str, info: Info | None, kind: Resource = resource) -> None:
            changes.put(Change(kind, deleted, key, info))

        watchers.append(Watcher(api, resource, convert, emit, stop, on_error))
    for watcher in watchers:
        watcher.start()
    return watchers


class NecWriter:
    """The outbox's two calls, through kube_adapter."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api
        self.necs = Necs(api)

    def post(self, event: NecEvent, timeout: float) -> bool:
        return post_event(self.api, event, timeout)

    def annotate(self, nec: str, annotations: Mapping[str, str], timeout: float) -> bool:
        return self.necs.annotate(nec, annotations, timeout=timeout)
