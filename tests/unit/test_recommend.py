"""`eni-tuner recommend --trace`: recommendations that follow the history and the rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from support.traces import bursty, quiet, trace_text
from tuner.cli import cli

Write = Callable[[str, str], Path]


def run(trace: Path, *args: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(cli, ["recommend", "--trace", str(trace), *args, "-o", "json"])
    assert result.exit_code == 0, result.output + str(result.exception)
    document: list[dict[str, Any]] = json.loads(result.stdout)
    return document


def by_node(recs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["node"]: r for r in recs}


def test_quiet_nodes_shrink_and_bursty_nodes_grow(write: Write) -> None:
    trace = write("t.csv", trace_text(quiet("calm") + bursty("busy", 8)))
    recs = by_node(run(trace))
    assert (recs["calm"]["min_warm"], recs["calm"]["max_warm"]) == (1, 1)  # TKE: never 0
    assert (
        recs["calm"]["expected_after"]["idle_slots_avg"]
        < recs["calm"]["expected_before"]["idle_slots_avg"]
    )
    busy = recs["busy"]
    assert busy["max_warm"] >= 8  # 8 starts within one bind latency, hourly: keep 8 warm
    assert busy["expected_after"]["cold_start_rate"] <= 0.01
    assert busy["expected_before"]["cold_start_rate"] > 0.01  # 5/5 was not enough
    assert busy["kubectl"] == (
        f"kubectl annotate nec busy tke.cloud.tencent.com/route-eni-ip-min-warm-target={busy['min_warm']}"
        f" tke.cloud.tencent.com/route-eni-ip-max-warm-target={busy['max_warm']} --overwrite"
    )


def test_engine_target_allows_zero_and_direct_mode_keys(write: Write) -> None:
    rows = trace_text(quiet("calm")).splitlines()
    text = "\n".join([rows[0] + ",mode"] + [r + ",direct-eni" for r in rows[1:]])
    trace = write("t.csv", text)
    (rec,) = run(trace, "--target", "engine", "--mode", "direct-eni",
                 "--idle-slot-hour-cost", "10", "--cold-start-cost", "0.001")  # fmt: skip
    assert rec["min_warm"] == 0
    assert "tke.cloud.tencent.com/direct-eni-min-warm-target=0" in rec["kubectl"]


def test_never_above_max_attach(write: Write) -> None:
    trace = write("t.csv", trace_text(bursty("busy", 12)))
    (rec,) = run(trace, "--max-slots", "6")
    assert rec["min_warm"] <= 6 and rec["max_warm"] <= 6
    assert "capped by max-attach" in rec["reason"]


def test_not_enough_history_is_a_result_not_a_crash(write: Write) -> None:
    late = [(173_000.0, "new", "start"), (173_004.0, "new", "stop")]  # its last 20 minutes
    trace = write("t.csv", trace_text([*quiet("calm"), *late]))
    recs = by_node(run(trace))
    new = recs["new"]
    assert new["status"] == "insufficient_history"
    assert (new["min_warm"], new["max_warm"]) == (5, 5)  # keeps its targets
    assert new["kubectl"] is None
    assert "not enough history" in new["reason"]


def test_pods_at_the_first_instant_already_existed(write: Write) -> None:
    existing = [(0.0, "calm", "start")] * 30  # 30 pods running when the history begins
    trace = write("t.csv", trace_text(existing + quiet("calm")))
    (rec,) = run(trace)
    assert rec["pod_starts"] == 48 * 6  # the 30 are not arrivals
    assert rec["min_warm"] == 1  # and they did not need a warm pool of 30


def test_current_targets_from_a_file_and_csv_yaml_kubectl_outputs(write: Write) -> None:
    trace = write("t.csv", trace_text(quiet("calm") + bursty("busy", 8)))
    targets = write("now.csv", "node,min_warm,max_warm\ncalm,1,1\nbusy,2,3\n")
    recs = by_node(run(trace, "--targets", str(targets)))
    assert recs["calm"]["status"] == "unchanged" and recs["calm"]["kubectl"] is None
    assert recs["busy"]["current"] == {"min_warm": 2, "max_warm": 3}
    runner = CliRunner()
    csv_out = runner.invoke(cli, ["recommend", "--trace", str(trace), "-o", "csv"]).stdout
    assert csv_out.splitlines()[0].startswith("node,status,current_min_warm")
    yaml_out = runner.invoke(cli, ["recommend", "--trace", str(trace), "-o", "yaml"]).stdout
    assert "- node: busy" in yaml_out or "- node: calm" in yaml_out
    lines = runner.invoke(cli, ["recommend", "--trace", str(trace), "-o", "kubectl"]).stdout
    assert all(line.startswith("kubectl annotate nec ") for line in lines.splitlines())


def test_explicit_costs(write: Write) -> None:
    trace = write("t.csv", trace_text(bursty("busy", 8)))
    (cheap_idle,) = run(trace, "--idle-slot-hour-cost", "0.001", "--cold-start-cost", "10")
    (dear_idle,) = run(trace, "--idle-slot-hour-cost", "10", "--cold-start-cost", "0.001")
    assert cheap_idle["min_warm"] > dear_idle["min_warm"] == 1


def test_bad_objective_is_one_line_exit_2(write: Write) -> None:
    trace = write("t.csv", trace_text(quiet("calm")))
    result = CliRunner().invoke(
        cli, ["recommend", "--trace", str(trace), "--max-cold-start-rate", "lots"]
    )
    assert result.exit_code == 2 and "is not a rate" in result.output
    for rate in ("1_0%", "\u0661%", "0x1"):  # float() reads 1_0 as 10 and other scripts' digits
        result = CliRunner().invoke(
            cli, ["recommend", "--trace", str(trace), "--max-cold-start-rate", rate]
        )
        assert result.exit_code == 2 and "is not a rate" in result.output, rate
    result = CliRunner().invoke(cli, ["recommend", "--trace", str(trace), "--cold-start-cost", "1"])
    assert result.exit_code == 2


def test_two_objectives_are_refused_not_one_ignored(write: Write) -> None:
    """Found by an adversarial review (session 8): with explicit costs, a
    --max-cold-start-rate given beside them was dropped without a word."""
    trace = write("t.csv", trace_text(quiet("calm")))
    result = CliRunner().invoke(cli, ["recommend", "--trace", str(trace), "--max-cold-start-rate",
                                      "0.5%", "--idle-slot-hour-cost", "1", "--cold-start-cost", "1"])  # fmt: skip
    assert result.exit_code == 2
    assert "--max-cold-start-rate or --idle-slot-hour-cost with --cold-start-cost" in result.output


def test_little_history_borrows_from_similar_nodes(write: Write) -> None:
    rows = []
    for k in range(4):
        rows += quiet(f"calm-{k}") + bursty(f"busy-{k}", 8)
    # 2 bursts of 8 in the last two hours: too short a history of its own
    rows += [
        (3600.0 * (46 + h) + 50.0 + 0.1 * j, "sparse-busy", "start")
        for h in range(2)
        for j in range(8)
    ]
    recs = by_node(run(write("t.csv", trace_text(rows))))
    sparse = recs["sparse-busy"]
    assert sparse["status"] == "borrowed" and "similar churn profile" in sparse["reason"]
    busy = (recs["busy-0"]["min_warm"], recs["busy-0"]["max_warm"])
    assert (sparse["min_warm"], sparse["max_warm"]) == busy  # like the busy nodes, not the calm
