"""List+watch one kind of object, forever, in a thread.

A :class:`Watcher` lists, then watches from the list's resourceVersion; on 410 Gone
it lists again and reports the difference (objects gone while it was not looking come
out as deletions); other errors back off exponentially with jitter. Each object is
converted by the caller's function as soon as it arrives, and only real changes of
the converted value are emitted; an object the function cannot convert is logged and
left out. Every failure is also reported to ``on_error``; nothing ends the thread but
``stop``. Nothing here polls.
"""

from __future__ import annotations

import enum
import json
import logging
import random
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, assert_never, cast

from kube_adapter import nec
from kube_adapter.client import answered, request_timeout
from kube_adapter.errors import map_kubernetes_errors
from pool_engine.errors import KubernetesError

if TYPE_CHECKING:
    from kube_adapter.client import ApiClient

log = logging.getLogger(__name__)

T = TypeVar("T")
WATCH_SECONDS = 300
"""The server ends each watch after this long; the watcher resumes it."""
MAX_PAUSE_SECONDS = 30.0
_UNREADABLE = object()


class Resource(enum.StrEnum):
    """What a watcher can watch."""

    NODE = "node"
    POD = "pod"
    NEC = "nec"

    def key(self, obj: dict[str, Any]) -> str:
        """Pods by uid (a name comes back with a new pod), the rest by name."""
        meta = obj["metadata"]
        return str(meta["uid"] if self is Resource.POD else meta["name"])


def lister(api: ApiClient, resource: Resource) -> Callable[..., Any]:
    """The list call of ``resource`` over all namespaces (also used to watch)."""
    from kubernetes import client

    match resource:
        case Resource.NODE:
            return client.CoreV1Api(api).list_node
        case Resource.POD:
            return client.CoreV1Api(api).list_pod_for_all_namespaces
        case Resource.NEC:
            custom = client.CustomObjectsApi(api)

            def list_necs(**kwargs: Any) -> Any:
                return custom.list_cluster_custom_object(
                    nec.GROUP, nec.VERSION, nec.PLURAL, **kwargs
                )

            return list_necs
        case _:
            assert_never(resource)


class Watcher(threading.Thread, Generic[T]):
    """List+watch ``resource``; ``emit(deleted, key, converted)`` for every change."""

    def __init__(
        self,
        api: ApiClient,
        resource: Resource,
        convert: Callable[[dict[str, Any]], T],
        emit: Callable[[bool, str, T | None], None],
        stop: threading.Event,
        on_error: Callable[[BaseException], None] = lambda error: None,
    ) -> None:
        super().__init__(name=f"watch-{resource}", daemon=True)
        self.resource = resource
        self.list_call = lister(api, resource)
        self.convert = convert
        self.emit = emit
        self.stop_event = stop
        self.on_error = on_error
        self.known: dict[str, T] = {}
        self.synced = threading.Event()
        """Set once the first list went out: every object there was has been emitted."""
        self._rng = random.Random()

    def run(self) -> None:
        failures = 0
        version: str | None = None
        while not self.stop_event.is_set():
            try:
                with map_kubernetes_errors():
                    if version is None:
                        version = self._relist()
                    version = self._watch(version)
                failures = 0
            except KubernetesError as error:
                if error.status == 410:
                    log.info("%s watch expired (410 Gone): listing again", self.resource)
                    version = None
                    continue
                failures += 1
                self.on_error(error)
                self._pause(failures, str(error))
                if error.status is None and failures > 3:  # unreachable: start afresh
                    version = None
            except Exception as error:  # a broken stream, an API server restart
                failures += 1
                self.on_error(error)
                self._pause(failures, str(error))
                version = None if failures > 3 else version

    def _relist(self) -> str:
        timeout = request_timeout(None)
        data = answered(  # the body read whole within the deadline too
            lambda: self.list_call(_preload_content=False, _request_timeout=timeout).data
        )
        body = json.loads(data)
        seen: dict[str, T] = {}
        for obj in body.get("items") or []:
            key = self.resource.key(obj)
            converted = self._convert(key, obj)
            if converted is not _UNREADABLE:
                seen[key] = cast(T, converted)
            elif key in self.known:
                seen[key] = self.known[key]  # keep the last readable version
        for gone in set(self.known) - set(seen):
            self.emit(True, gone, self.known[gone])
        for key, info in seen.items():
            if self.known.get(key) != info:
                self.emit(False, key, info)
        self.known = seen
        self.synced.set()
        return str(body["metadata"]["resourceVersion"])

    def _watch(self, version: str) -> str:
        from kubernetes import watch

        stream = watch.Watch()
        events = stream.stream(
            self.list_call,
            resource_version=version,
            timeout_seconds=WATCH_SECONDS,
            # the server ends the watch then; silence well past it is a dead connection
            _request_timeout=request_timeout(None) + WATCH_SECONDS,
            allow_watch_bookmarks=True,
            deserialize=False,
        )
        for event in events:
            if self.stop_event.is_set():
                stream.stop()
                break
            obj = event["object"]
            version = obj["metadata"]["resourceVersion"]
            if event["type"] == "BOOKMARK":
                continue
            key = self.resource.key(obj)
            if event["type"] == "DELETED":
                self.known.pop(key, None)
                self.emit(True, key, None)
                continue
            converted = self._convert(key, obj)
            if converted is _UNREADABLE:
                continue
            info = cast(T, converted)
            if self.known.get(key) != info:
                self.known[key] = info
                self.emit(False, key, info)
        return version

    def _convert(self, key: str, obj: dict[str, Any]) -> object:
        """The caller's conversion of ``obj``, or _UNREADABLE (logged and reported)."""
        try:
            return self.convert(obj)
        except Exception as error:
            log.warning("%s %s left out: cannot read it: %r", self.resource, key, error)
            self.on_error(error)
            return _UNREADABLE

    def _pause(self, failures: int, why: str) -> None:
        delay = self._rng.uniform(0, min(MAX_PAUSE_SECONDS, 0.5 * 2**failures))
        log.warning("%s watch failed (%s); retrying in %.1fs", self.resource, why, delay)
        self.stop_event.wait(delay)
