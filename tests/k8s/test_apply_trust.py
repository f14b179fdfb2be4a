"""`eni-tuner apply` writes only what it can stand behind, on the real API server:
borrowed pairs only on request, nothing from an empty history source (exit 3), and
`--rollback` puts back what it replaced, with the same guardrails and Events."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from kubernetes import client

from support.prom import prometheus
from tuner.cli import cli, main

from .control_plane import ControlPlane
from .objects import NEC_GROUP, NEC_PLURAL, NEC_VERSION, create_nec, create_node, unique_name

pytestmark = pytest.mark.k8s
MIN = "tke.cloud.tencent.com/route-eni-ip-min-warm-target"
MAX = "tke.cloud.tencent.com/route-eni-ip-max-warm-target"
OPT_OUT = "eni-pool.io/tuner-opt-out"
PREVIOUS = "eni-pool.io/previous-warm-targets"


def churn(node: str, every: float, hours: int = 30) -> list[str]:
    """A pod every ``every`` seconds, living 30 minutes."""
    rows, t = [], 17.0
    while t < hours * 3600.0:
        rows += [f"{t:.1f},{node},start", f"{t + 1800.0:.1f},{node},stop"]
        t += every
    return rows


@pytest.fixture
def cluster(
    control_plane: ControlPlane, nec_crd: object, tmp_path: Path
) -> Iterator[tuple[list[str], str, Path, str]]:
    """Four quiet nodes (a pod every 10 minutes for 30 h) and one whose history is two
    bursts in the last two hours, NECs at 5/5, and the trace of it all."""
    api = control_plane.api_client
    quiet = [unique_name("tq") for _ in range(4)]
    sparse = unique_name("ts")
    rows: list[str] = []
    run_label = unique_name("run")
    for name in [*quiet, sparse]:
        create_node(api, name, eni_ip=5, cpu="4")
        create_nec(api, name, {MIN: "5", MAX: "5"})
        client.CustomObjectsApi(api).patch_cluster_custom_object(
            NEC_GROUP, NEC_VERSION, NEC_PLURAL, name, {"metadata": {"labels": {"run": run_label}}}
        )
    for name in quiet:
        rows += churn(name, 600.0)
    # two bursts of 8 in the last two hours: too short a history of its own to trust
    rows += [f"{3600.0 * (28 + h) + 50.0 + 0.1 * j:.1f},{sparse},start"
             for h in range(2) for j in range(8)]  # fmt: skip
    rows.sort(key=lambda r: float(r.split(",")[0]))
    trace = tmp_path / "history.csv"
    trace.write_text("time,node,event\n" + "\n".join(rows) + "\n")
    yield quiet, sparse, trace, f"run={run_label}"


def nec(api: client.ApiClient, name: str) -> dict[str, Any]:
    got: dict[str, Any] = client.CustomObjectsApi(api).get_cluster_custom_object(
        NEC_GROUP, NEC_VERSION, NEC_PLURAL, name
    )
    return got


def pair(api: client.ApiClient, name: str) -> tuple[str, str]:
    notes = nec(api, name)["metadata"]["annotations"]
    return notes[MIN], notes[MAX]


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def events(api: client.ApiClient, name: str, reason: str) -> list[client.CoreV1Event]:
    found = client.CoreV1Api(api).list_event_for_all_namespaces(
        field_selector=f"involvedObject.name={name}"
    )
    return [e for e in found.items if e.reason == reason]


def test_borrowed_pairs_are_written_only_on_request(
    control_plane: ControlPlane, cluster: tuple[list[str], str, Path, str]
) -> None:
    api = control_plane.api_client
    quiet, sparse, trace, _ = cluster
    kube = ("--kubeconfig", str(control_plane.kubeconfig))
    shown = json.loads(run("recommend", "--trace", str(trace), "-o", "json").stdout)
    borrowed = {r["node"]: r for r in shown if r["status"] == "borrowed"}
    assert sparse in borrowed, "the trace should make the sparse node borrow from its peers"
    assert borrowed[sparse]["kubectl"] is None  # not offered for applying either

    # The CronJob's guard: 2 h of history is not 24, whatever the other flags say.
    done = run("apply", "--trace", str(trace), *kube, "--apply-borrowed", "--dry-run", "-o", "json")
    assert done.exit_code == 0, done.output
    outcome = {c["node"]: c["outcome"] for c in json.loads(done.stdout)}
    assert re.fullmatch(r"skipped: 2\.\d h of history \(need 24 h\)", outcome[sparse]), outcome
    assert pair(api, sparse) == ("5", "5")

    done = run("apply", "--trace", str(trace), *kube, "--min-history", "1", "-o", "json")
    assert done.exit_code == 0, done.output
    outcome = {c["node"]: c["outcome"] for c in json.loads(done.stdout)}
    assert outcome[sparse].startswith("skipped: borrowed")
    assert pair(api, sparse) == ("5", "5")
    assert {outcome[n] for n in quiet} == {"changed"}

    done = run("apply", "--trace", str(trace), *kube, "--min-history", "1", "--apply-borrowed",
               "-o", "json")  # fmt: skip
    assert done.exit_code == 0, done.output
    assert {c["node"]: c["outcome"] for c in json.loads(done.stdout)}[sparse] == "changed"
    assert pair(api, sparse) != ("5", "5")


def test_an_empty_history_source_writes_nothing_and_exits_3(
    control_plane: ControlPlane,
    cluster: tuple[list[str], str, Path, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Prometheus that answers, with no pod churn at all (a new install, a wrong URL
    to another Prometheus): before, apply printed an empty record and exited 0."""
    api = control_plane.api_client
    quiet, sparse, _, _ = cluster
    before = {n: nec(api, n)["metadata"]["resourceVersion"] for n in [*quiet, sparse]}
    with prometheus(tmp_path) as url:
        monkeypatch.setattr("sys.argv", ["eni-tuner", "apply", "--prometheus-url", url,
                            "--start", "-2h", "--kubeconfig", str(control_plane.kubeconfig)])  # fmt: skip
        with pytest.raises(SystemExit) as ended:
            main()
    assert ended.value.code == 3
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    after = {n: nec(api, n)["metadata"]["resourceVersion"] for n in [*quiet, sparse]}
    assert after == before


def test_rollback_restores_the_recorded_pairs_within_the_guardrails(
    control_plane: ControlPlane, cluster: tuple[list[str], str, Path, str]
) -> None:
    api = control_plane.api_client
    quiet, sparse, trace, mine = cluster
    kube = ("--kubeconfig", str(control_plane.kubeconfig), "--selector", mine)
    done = run("apply", "--trace", str(trace), *kube, "--min-history", "1", "-o", "json")
    assert done.exit_code == 0, done.output
    tuned = {n: pair(api, n) for n in quiet}
    assert all(p != ("5", "5") for p in tuned.values())
    keep = quiet[0]  # opted out after the tuning: a rollback leaves it alone too
    client.CustomObjectsApi(api).patch_cluster_custom_object(
        NEC_GROUP, NEC_VERSION, NEC_PLURAL, keep, {"metadata": {"annotations": {OPT_OUT: "true"}}}
    )

    assert run("apply", "--rollback", "--trace", str(trace), *kube).exit_code == 2  # no history
    dry = run("apply", "--rollback", *kube, "--dry-run", "-o", "json")
    assert dry.exit_code == 0, dry.output
    assert {n: pair(api, n) for n in quiet} == tuned  # a dry run writes nothing

    done = run("apply", "--rollback", *kube, "-o", "json")
    assert done.exit_code == 0, done.output
    outcome = {c["node"]: c for c in json.loads(done.stdout)}
    assert outcome[keep]["outcome"].startswith("skipped: opted out")
    assert outcome[sparse]["outcome"].startswith("skipped: nothing recorded")
    for name in quiet[1:]:
        assert outcome[name]["outcome"] == "changed"
        assert outcome[name]["after"] == {"min_warm": 5, "max_warm": 5}
        assert pair(api, name) == ("5", "5")
        record = json.loads(nec(api, name)["metadata"]["annotations"][PREVIOUS])
        assert (record["min_warm"], record["max_warm"]) == tuple(map(int, tuned[name]))
        assert events(api, name, "WarmTargetsRolledBack")
    assert pair(api, keep) == tuned[keep]

    again = run("apply", "--rollback", *kube, "--max-changes", "1", "-o", "json")  # undoes it
    changed = [c["node"] for c in json.loads(again.stdout) if c["outcome"] == "changed"]
    assert len(changed) == 1 and pair(api, changed[0]) == tuned[changed[0]]
