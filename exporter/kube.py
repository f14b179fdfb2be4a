"""Kubernetes side of cluster mode: list+watch Nodes, Pods and NEC objects.

Each resource has a :class:`Watcher` thread: list, then watch from the list's
resourceVersion; on 410 Gone it lists again and reports the difference (objects
gone while it was not looking come out as deletions); other errors back off
exponentially with jitter. Objects are cut down to the few fields the engine needs
(:class:`NodeInfo`, :class:`PodInfo`, :class:`NecInfo`) as soon as they arrive, and
put on one queue that the engine loop drains. Nothing here polls.
"""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes import client, watch

from pool_engine.config import PREFIX, Mode

log = logging.getLogger(__name__)

NEC_GROUP = "networking.tke.cloud.tencent.com"
NEC_VERSION = "v1"
NEC_PLURAL = "nodeeniconfigs"
NEC_KIND = "NodeENIConfig"
ENI_IP = "tke.cloud.tencent.com/eni-ip"
DIRECT_ENI = "tke.cloud.tencent.com/direct-eni"
RESOURCE_OF = {Mode.ROUTE_ENI: ENI_IP, Mode.DIRECT_ENI: DIRECT_ENI}


@dataclass(frozen=True)
class NodeInfo:
    name: str
    cores: int
    bound: dict[Mode, int]
    """Slots the node advertises as allocatable extended resources (TKE's bound count)."""


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


@dataclass(frozen=True)
class NecInfo:
    name: str
    uid: str
    annotations: dict[str, str]
    """Only the tke.cloud.tencent.com/ annotations."""


@dataclass(frozen=True)
class Change:
    kind: str  # "node", "pod" or "nec"
    deleted: bool
    key: str
    info: NodeInfo | PodInfo | NecInfo | None


def node_info(obj: dict[str, Any]) -> NodeInfo:
    status = obj.get("status") or {}
    allocatable = status.get("allocatable") or {}
    capacity = status.get("capacity") or {}
    cpu = str(capacity.get("cpu") or allocatable.get("cpu") or "1")
    cores = int(cpu[:-1]) // 1000 if cpu.endswith("m") else int(float(cpu))
    bound = {mode: _quantity(allocatable.get(resource)) for mode, resource in RESOURCE_OF.items()}
    return NodeInfo(obj["metadata"]["name"], max(1, cores), bound)


def pod_info(obj: dict[str, Any]) -> PodInfo | None:
    """None for pods that need no slot (host network)."""
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
    return PodInfo(meta["uid"], meta["name"], meta.get("namespace", ""), node, mode, active, ip)


def nec_info(obj: dict[str, Any]) -> NecInfo:
    meta = obj["metadata"]
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k.startswith(PREFIX)}
    return NecInfo(meta["name"], meta.get("uid", ""), annotations)


def _quantity(text: object) -> int:
    try:
        return int(str(text)) if text is not None else 0
    except ValueError:
        return 0


class Watcher(threading.Thread):
    """List+watch one resource into the change queue, forever."""

    def __init__(
        self,
        kind: str,
        lister: Callable[..., Any],
        convert: Callable[[dict[str, Any]], Any],
        changes: queue.Queue[Change],
        stop: threading.Event,
        key: Callable[[dict[str, Any]], str],
    ) -> None:
        super().__init__(name=f"watch-{kind}", daemon=True)
        self.kind = kind
        self.lister = lister
        self.convert = convert
        self.changes = changes
        self.stop_event = stop
        self.key = key
        self.known: dict[str, Any] = {}
        self.synced = threading.Event()
        self._rng = random.Random()

    def run(self) -> None:
        failures = 0
        version: str | None = None
        while not self.stop_event.is_set():
            try:
                if version is None:
                    version = self._relist()
                version = self._watch(version)
                failures = 0
            except client.ApiException as error:
                if error.status == 410:
                    log.info("%s watch expired (410 Gone): listing again", self.kind)
                    version = None
                    continue
                failures += 1
                self._pause(failures, f"{error.status} {error.reason}")
            except Exception as error:  # network trouble, API server restarts
                failures += 1
                self._pause(failures, str(error))
                version = None if failures > 3 else version

    def _relist(self) -> str:
        reply = self.lister(_preload_content=False)
        body = json.loads(reply.data)
        seen: dict[str, Any] = {}
        for obj in body.get("items") or []:
            seen[self.key(obj)] = self.convert(obj)
        for gone in set(self.known) - set(seen):
            self.changes.put(Change(self.kind, True, gone, self.known[gone]))
        for key, info in seen.items():
            if self.known.get(key) != info:
                self.changes.put(Change(self.kind, False, key, info))
        self.known = seen
        self.synced.set()
        return str(body["metadata"]["resourceVersion"])

    def _watch(self, version: str) -> str:
        stream = watch.Watch()  # type: ignore[no-untyped-call]
        events = stream.stream(  # type: ignore[no-untyped-call]
            self.lister,
            resource_version=version,
            timeout_seconds=300,
            allow_watch_bookmarks=True,
            deserialize=False,
        )
        for event in events:
            if self.stop_event.is_set():
                stream.stop()  # type: ignore[no-untyped-call]
                break
            obj = event["object"]
            version = obj["metadata"]["resourceVersion"]
            if event["type"] == "BOOKMARK":
                continue
            key = self.key(obj)
            if event["type"] == "DELETED":
                self.known.pop(key, None)
                self.changes.put(Change(self.kind, True, key, None))
                continue
            info = self.convert(obj)
            if self.known.get(key) != info:
                self.known[key] = info
                self.changes.put(Change(self.kind, False, key, info))
        return version

    def _pause(self, failures: int, why: str) -> None:
        delay = self._rng.uniform(0, min(30.0, 0.5 * 2**failures))
        log.warning("%s watch failed (%s); retrying in %.1fs", self.kind, why, delay)
        self.stop_event.wait(delay)


def _uid(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["uid"])


def start_watchers(
    api: client.ApiClient, changes: queue.Queue[Change], stop: threading.Event
) -> list[Watcher]:
    core = client.CoreV1Api(api)
    custom = client.CustomObjectsApi(api)

    def list_nec(**kwargs: Any) -> Any:
        return custom.list_cluster_custom_object(NEC_GROUP, NEC_VERSION, NEC_PLURAL, **kwargs)

    watchers = [
        Watcher("node", core.list_node, node_info, changes, stop, lambda o: o["metadata"]["name"]),
        Watcher("nec", list_nec, nec_info, changes, stop, lambda o: o["metadata"]["name"]),
        Watcher(
            "pod",
            core.list_pod_for_all_namespaces,
            pod_info,
            changes,
            stop,
            lambda o: o["metadata"]["uid"],
        ),
    ]
    for watcher in watchers:
        watcher.start()
    return watchers
