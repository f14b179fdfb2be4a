"""Faults against the real API server: a value beyond int64, restarts that must change
nothing, and two replicas of `eni-exporter run --provider simulated` that must never
act at once, whether the leader dies, shuts down or loses the API server for 20 s.

"Acting" is read from each replica's /metrics: ``eni_pool_acting`` and per-node pool
series. Both are scraped one right after the other every 50 ms; the Lease leaves
L - D = 1 s between one replica's last action and the other's first, far more than
the few milliseconds between two scrapes.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from kubernetes import client

from kube_adapter.nec import FIRST_SEEN_DEFAULTS, LAST_VALID_TARGETS
from support.prom import free_port, wait_http

from .control_plane import ControlPlane
from .exporters import PREFIX, annotate, exporter, gauge, scrape, within
from .objects import NEC_GROUP, NEC_PLURAL, NEC_VERSION, create_nec, create_node, unique_name

pytestmark = pytest.mark.k8s
DURATION, DEADLINE, RETRY = 3.0, 2.0, 0.5
FAST = ("--lease-duration", "3", "--renew-deadline", "2", "--retry-period", "0.5")
BIG = "99999999999999999999"  # beyond int64


def pair(low: str, high: str) -> dict[str, str]:
    return {
        PREFIX + "route-eni-ip-min-warm-target": low,
        PREFIX + "route-eni-ip-max-warm-target": high,
    }


def events(api: client.ApiClient, nec: str) -> list[client.CoreV1Event]:
    core = client.CoreV1Api(api)
    return list(
        core.list_namespaced_event("default", field_selector=f"involvedObject.name={nec}").items
    )


def nec_annotations(api: client.ApiClient, name: str) -> dict[str, str]:
    got = client.CustomObjectsApi(api).get_cluster_custom_object(
        NEC_GROUP, NEC_VERSION, NEC_PLURAL, name
    )
    return dict(got["metadata"].get("annotations") or {})


# --- bounds -----------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["tke-observe", "simulated"])
def test_a_value_beyond_int64_is_refused_with_an_event_while_the_exporter_serves(
    control_plane: ControlPlane, nec_crd: object, tmp_path: Path, provider: str
) -> None:
    """Before: the value reached the engine's kernel, which raised; the engine loop
    died, and again at every start (a crash loop for the whole cluster)."""
    api = control_plane.api_client
    node = unique_name("node")
    create_node(api, node, eni_ip=3, cpu="4")
    create_nec(api, node, pair("1", BIG))
    args = [
        "--provider",
        provider,
        "--lease-name",
        unique_name("lease"),
        "--lease-namespace",
        "default",
        *FAST,
    ]
    # The targets in force: the default, then (acting) the last valid ones, kept on the NEC.
    run_refusing(control_plane, tmp_path, node, args, kept=5)
    run_refusing(control_plane, tmp_path, node, args, kept=5 if provider == "tke-observe" else 3)


def run_refusing(plane: ControlPlane, workdir: Path, node: str, args: list[str], kept: int) -> None:
    """One start of the exporter on a NEC holding a value beyond int64: refused once,
    with an Event; it keeps serving and applies the next valid change."""
    api = plane.api_client
    posted = len(events(api, node))
    refused = ("eni_pool_config_rejections_total", "out_of_range")
    with exporter(plane, workdir, *args) as base:
        within(5.0, lambda: scrape(base, node).get(refused) == 1, "refusal")
        assert gauge(base, node, "eni_pool_max_warm_target") == kept
        within(5.0, lambda: len(events(api, node)) == posted + 1, "Event")
        assert f"={BIG} is above" in (events(api, node)[-1].message or "")
        annotate(api, node, {"route-eni-ip-min-warm-target": "2",
                             "route-eni-ip-max-warm-target": "3"})  # fmt: skip
        within(5.0, lambda: gauge(base, node, "eni_pool_max_warm_target") == 3, "a valid change")
        annotate(api, node, {"route-eni-ip-min-warm-target": "1",
                             "route-eni-ip-max-warm-target": BIG})  # fmt: skip
        within(5.0, lambda: scrape(base, node).get(refused) == 2, "second refusal")
        assert gauge(base, node, "eni_pool_max_warm_target") == 3
        time.sleep(0.5)
        assert len(events(api, node)) == posted + 2  # one per change read, not two


# --- what outlives a restart -----------------------------------------------------------------


def test_defaults_of_first_sight_and_last_valid_targets_hold_after_a_restart(
    control_plane: ControlPlane, nec_crd: object, tmp_path: Path
) -> None:
    api = control_plane.api_client
    old, tuned, new = (unique_name(n) for n in ("old", "tuned", "new"))
    for name in (old, tuned):
        create_node(api, name, cpu="4")
    create_nec(api, old, {})
    create_nec(api, tuned, pair("1", "4"))
    lease = ("--lease-name", unique_name("lease"), "--lease-namespace", "default", *FAST)
    flags = ("--provider", "simulated", "--latency-scale", "0.05", *lease)
    with exporter(
        control_plane, tmp_path, *flags, "--ip-min-warm-target", "2", "--ip-max-warm-target", "3"
    ) as base:
        within(5.0, lambda: gauge(base, old, "eni_pool_min_warm_target") == 2, "old")
        within(5.0, lambda: LAST_VALID_TARGETS in nec_annotations(api, tuned), "records")
        within(5.0, lambda: LAST_VALID_TARGETS in nec_annotations(api, old), "records")
    kept = nec_annotations(api, tuned)
    assert json.loads(kept[LAST_VALID_TARGETS]) == {"route-eni": {"min_warm": 1, "max_warm": 4}}
    assert json.loads(kept[FIRST_SEEN_DEFAULTS])["route-eni"] == {"min_warm": 2, "max_warm": 3}

    annotate(api, tuned, {"route-eni-ip-min-warm-target": "5", "route-eni-ip-max-warm-target": "4"})
    create_node(api, new, cpu="4")
    create_nec(api, new, {})
    with exporter(
        control_plane, tmp_path, *flags, "--ip-min-warm-target", "6", "--ip-max-warm-target", "6"
    ) as base:
        assert (
            gauge(base, old, "eni_pool_min_warm_target"),
            gauge(base, old, "eni_pool_max_warm_target"),
        ) == (2, 3)
        assert (
            gauge(base, tuned, "eni_pool_min_warm_target"),
            gauge(base, tuned, "eni_pool_max_warm_target"),
        ) == (1, 4)
        assert scrape(base, tuned).get(("eni_pool_config_rejections_total", "min_above_max")) == 1
        within(5.0, lambda: gauge(base, new, "eni_pool_min_warm_target") == 6, "new node")
        within(5.0, lambda: LAST_VALID_TARGETS in nec_annotations(api, new), "new record")

    # tke-observe writes nothing (and ignores the records: TKE's agent keeps its own).
    before = {n: nec_annotations(api, n) for n in (old, tuned, new)}
    watched = unique_name("observed")
    create_node(api, watched, cpu="4")
    create_nec(api, watched, {})
    with exporter(control_plane, tmp_path, "--provider", "tke-observe", "--ip-min-warm-target", "7",
                  "--ip-max-warm-target", "7") as base:  # fmt: skip
        assert gauge(base, old, "eni_pool_min_warm_target") == 7
        within(5.0, lambda: gauge(base, watched, "eni_pool_min_warm_target") == 7, "observed")
        time.sleep(0.5)
    assert {n: nec_annotations(api, n) for n in (old, tuned, new)} == before
    assert nec_annotations(api, watched) == {}


# --- two replicas ------------------------------------------------------------------------


@dataclass
class Replica:
    name: str
    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def state(self) -> tuple[bool, int] | None:
        """(eni_pool_acting is 1, number of per-node samples), or None if unreachable."""
        try:
            with urllib.request.urlopen(self.base + "/metrics", timeout=1) as reply:
                text = reply.read().decode()
        except (OSError, http.client.HTTPException):  # refused, or cut off mid-reply by a kill
            return None
        acting = "\neni_pool_acting 1.0\n" in text
        return acting, sum(
            1 for line in text.splitlines() if 'node="' in line and not line.startswith("#")
        )

    def acts(self) -> bool:
        got = self.state()
        return got is not None and (got[0] or got[1] > 0)

    def healthz(self) -> int:
        try:
            with urllib.request.urlopen(self.base + "/healthz", timeout=2) as reply:
                return int(reply.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except OSError:
            return 0


@contextmanager
def replicas(plane: ControlPlane, workdir: Path, *args: str) -> Iterator[list[Replica]]:
    started: list[Replica] = []
    try:
        for name in ("replica-a", "replica-b"):
            port = free_port()
            log = workdir / f"{name}.log"
            with log.open("w") as out:  # the child keeps its own copy of the descriptor
                process = subprocess.Popen(
                    [sys.executable, "-c", "from exporter.cli import main; main()", "run",
                     "--kubeconfig", str(plane.kubeconfig), "--listen", f"127.0.0.1:{port}",
                     *args],
                    stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "POD_NAME": name},
                )  # fmt: skip
            started.append(Replica(name, process, f"http://127.0.0.1:{port}", log))
        for replica in started:
            wait_http(replica.base + "/healthz", timeout=60)
        yield started
    except BaseException:
        for replica in started:
            print(f"--- {replica.name}\n{replica.log.read_text()[-4000:]}")
        raise
    finally:
        for replica in started:
            if replica.process.poll() is None:
                replica.process.kill()
            replica.process.wait(timeout=20)


@dataclass
class Sampler:
    """Scrapes both replicas every 50 ms; keeps (time, who acts) per sample."""

    replicas: list[Replica]
    samples: list[tuple[float, list[str]]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            at = time.monotonic()
            self.samples.append((at, [r.name for r in self.replicas if r.acts()]))
            self.stop.wait(0.05)

    def finish(self) -> None:
        self.stop.set()
        self.thread.join()
        both = [(t, who) for t, who in self.samples if len(who) > 1]
        assert not both, f"two replicas acting at once: {both[:3]}"
        assert len(self.samples) > 10


def the_leader(group: list[Replica]) -> Replica:
    within(30.0, lambda: sum(r.acts() for r in group) == 1, "one acting replica")
    return next(r for r in group if r.acts())


def test_failover_when_the_leader_dies_and_when_it_shuts_down(
    control_plane: ControlPlane, nec_crd: object, tmp_path: Path
) -> None:
    api = control_plane.api_client
    node = unique_name("node")
    create_node(api, node, cpu="4")
    create_nec(api, node, pair("1", "2"))
    lease = unique_name("lease")
    args = (
        "--provider",
        "simulated",
        "--lease-name",
        lease,
        "--lease-namespace",
        "default",
        "--latency-scale",
        "0.05",
        *FAST,
    )
    with replicas(control_plane, tmp_path, *args) as group:
        leader = the_leader(group)
        standby = next(r for r in group if r is not leader)
        assert standby.healthz() == 200
        within(10.0, lambda: gauge(leader.base, node, "eni_pool_bound_slots") == 1, "binds")
        sampler = Sampler(group)
        time.sleep(0.5)
        killed = time.monotonic()
        leader.process.send_signal(signal.SIGKILL)
        took = within(DURATION + RETRY + 2.0, standby.acts, "take-over")
        print(
            f"failover after SIGKILL: {took:.2f}s (lease duration {DURATION:g}s, retry {RETRY:g}s)"
        )
        assert took <= DURATION + RETRY + 1.0
        assert time.monotonic() - killed >= DURATION - RETRY  # never before the Lease ran out
        within(10.0, lambda: gauge(standby.base, node, "eni_pool_bound_slots") == 1, "binds")
        sampler.finish()
        held = client.CoordinationV1Api(api).read_namespaced_lease(lease, "default").spec
        assert held.holder_identity == standby.name and held.lease_transitions >= 1

    # A clean shutdown releases the Lease: the other replica acts at its next round.
    with replicas(control_plane, tmp_path, *args) as group:
        leader = the_leader(group)
        standby = next(r for r in group if r is not leader)
        sampler = Sampler(group)
        leader.process.send_signal(signal.SIGTERM)
        took = within(RETRY + 2.0, standby.acts, "hand-over")
        print(f"hand-over after SIGTERM: {took:.2f}s")
        assert leader.process.wait(timeout=20) == 0
        time.sleep(0.5)
        sampler.finish()


def test_no_split_brain_when_the_api_server_is_gone_for_20_seconds(
    control_plane: ControlPlane, nec_crd: object, tmp_path: Path
) -> None:
    api = control_plane.api_client
    node = unique_name("node")
    create_node(api, node, cpu="4")
    create_nec(api, node, pair("1", "2"))
    args = (
        "--provider",
        "simulated",
        "--lease-name",
        unique_name("lease"),
        "--lease-namespace",
        "default",
        "--latency-scale",
        "0.05",
        *FAST,
    )
    with replicas(control_plane, tmp_path, *args) as group:
        leader = the_leader(group)
        sampler = Sampler(group)
        stopped = time.monotonic()
        control_plane.stop_apiserver()
        try:
            within(DEADLINE + 1.0, lambda: not any(r.acts() for r in group), "stop acting")
            quiet = time.monotonic() - stopped  # the last renewal came before ``stopped``
            print(
                f"stopped acting {quiet:.2f}s after the API server went away (renew deadline {DEADLINE:g}s)"
            )
            assert quiet <= DEADLINE + 0.5
            while time.monotonic() - stopped < 20.0:
                assert [r.healthz() for r in group] == [200, 200]  # no restarts by liveness
                assert not any(r.acts() for r in group)
                time.sleep(1.0)
        finally:
            control_plane.start_apiserver()
        returned = time.monotonic()
        back = the_leader(group)
        print(f"acting again {time.monotonic() - returned:.2f}s after the API server was ready:"
              f" {back.name} (was {leader.name})")  # fmt: skip
        sampler.finish()
        lease_errors = []
        for replica in group:
            with urllib.request.urlopen(replica.base + "/metrics", timeout=2) as reply:
                text = reply.read().decode()
            lease_errors += [
                line
                for line in text.splitlines()
                if line.startswith('eni_pool_engine_errors_total{where="lease"}')
            ]
        assert any(not line.endswith(" 0.0") for line in lease_errors), lease_errors
        assert all(r.process.poll() is None for r in group)  # nobody died
