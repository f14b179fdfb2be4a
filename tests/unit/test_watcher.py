"""kube_adapter.watcher: an object its conversion cannot read is left out and
reported; the others still arrive."""

from __future__ import annotations

import json
import threading
from types import SimpleNamespace
from typing import Any

from kubernetes import client

from exporter.kube import node_info
from kube_adapter.watcher import Resource, Watcher


def node(name: str, cpu: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "resourceVersion": "1"},
            "status": {"capacity": {"cpu": cpu}}}  # fmt: skip


def test_an_unreadable_object_is_left_out_and_reported() -> None:
    emitted: list[tuple[bool, str]] = []
    errors: list[BaseException] = []
    watcher = Watcher(
        client.ApiClient(client.Configuration()), Resource.NODE, node_info,
        lambda deleted, key, info: emitted.append((deleted, key)), threading.Event(),
        errors.append,
    )  # fmt: skip
    items = [node("a", "4"), node("bad", "lots"), node("c", "8")]
    body = {"metadata": {"resourceVersion": "7"}, "items": items}
    watcher.list_call = lambda **kwargs: SimpleNamespace(data=json.dumps(body).encode())
    assert watcher._relist() == "7"
    assert emitted == [(False, "a"), (False, "c")]
    assert len(errors) == 1 and isinstance(errors[0], ValueError)
    assert watcher.synced.is_set()
