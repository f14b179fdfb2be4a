"""Run `eni-exporter run` against the test control plane and read what it publishes:
the helpers the exporter, HA and dashboard-query tests share."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kubernetes import client
from prometheus_client.parser import text_string_to_metric_families

from support.prom import free_port, wait_http

from .control_plane import ControlPlane
from .objects import NEC_GROUP, NEC_PLURAL, NEC_VERSION, unique_name

PREFIX = "tke.cloud.tencent.com/"
Metrics = dict[tuple[str, str], float]


@contextmanager
def exporter(plane: ControlPlane, workdir: Path, *args: str) -> Iterator[str]:
    if "--lease-name" not in args:  # a Lease of its own: no wait for another test's
        args = (*args, "--lease-name", unique_name("lease"), "--lease-namespace", "default")
    port = free_port()
    log_path = workdir / f"exporter-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", "from exporter.cli import main; main()", "run",
             "--kubeconfig", str(plane.kubeconfig), "--listen", f"127.0.0.1:{port}", *args],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_http(f"http://127.0.0.1:{port}/readyz", timeout=30)
            within(30.0, lambda: readyz(f"http://127.0.0.1:{port}") == "ready\n", "acting")
            yield f"http://127.0.0.1:{port}"
        except BaseException:
            print(log_path.read_text()[-5000:])
            raise
        finally:
            process.terminate()
            assert process.wait(timeout=20) == 0


def readyz(base: str) -> str:
    """The body of /readyz: ``ready`` once acting and synced (a standby says so)."""
    try:
        with urllib.request.urlopen(base + "/readyz", timeout=2) as reply:
            return str(reply.read().decode())
    except OSError:
        return ""


def scrape(base: str, node: str) -> Metrics:
    with urllib.request.urlopen(base + "/metrics") as reply:
        text = reply.read().decode()
    out: Metrics = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.labels.get("node") == node and s.labels.get("mode", "route-eni") == "route-eni":
                extra = s.labels.get("reason") or s.labels.get("result") or ""
                out[(s.name, extra)] = s.value
    return out


def within(seconds: float, check: Callable[[], bool], what: str) -> float:
    """Poll ``check`` until true; return how long it took, fail after ``seconds``."""
    began = time.monotonic()
    while not check():
        assert time.monotonic() - began < seconds, f"{what} not visible within {seconds}s"
        time.sleep(0.02)
    return time.monotonic() - began


def gauge(base: str, node: str, name: str) -> float | None:
    return scrape(base, node).get((name, ""))


def annotate(api: client.ApiClient, node: str, values: dict[str, str]) -> None:
    client.CustomObjectsApi(api).patch_cluster_custom_object(
        NEC_GROUP, NEC_VERSION, NEC_PLURAL, node,
        {"metadata": {"annotations": {PREFIX + k: v for k, v in values.items()}}},
    )  # fmt: skip
