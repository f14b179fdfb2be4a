"""`eni-tuner recommend --schedule` as a user sees it: every output format, --timezone
(the table only), and the CSV read back by `eni-tuner simulate --targets`."""

from __future__ import annotations

import csv
import json
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from pool_engine.replay import NodeTargets, Run, SimulationSettings, replay
from pool_engine.trace import load_trace
from pool_engine.warm_schedule import WarmSchedule
from support import daily_traces as dt
from support.cli import run_tuner
from tuner.cli import cli

FORECAST = {"pod_starts", "cold_starts", "cold_start_rate", "idle_slot_seconds", "idle_slots_avg"}


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = dt.job_node("job") + dt.random_node("random", 2)
    return dt.write(tmp_path_factory.mktemp("cli") / "churn.csv", rows)


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, ["recommend", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def documents(trace: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = json.loads(run("--trace", str(trace), "--schedule", "-o", "json"))
    return out


def test_json_adds_a_schedule_of_24_hours_and_the_forecast(
    documents: list[dict[str, Any]],
) -> None:
    by_node = {d["node"]: d for d in documents}
    job, flat = by_node["job"], by_node["random"]
    schedule = WarmSchedule.from_json(job["schedule"])  # covers 24 hours once, or raises
    assert job["schedule_status"] == "scheduled" and not schedule.is_constant()
    assert schedule.at_hour(2).min_warm > schedule.at_hour(12).min_warm
    assert (job["min_warm"], job["max_warm"]) != (1, 1)  # the all-day fallback stays
    assert [b["from_hour"] for b in job["schedule_blocks"]] == [
        b.from_hour for b in schedule.blocks()
    ]
    forecast = job["forecast"]
    assert isinstance(forecast, dict) and set(forecast) == {"schedule", "all_day", "current"}
    assert all(set(forecast[k]) == FORECAST for k in forecast)
    assert forecast["schedule"]["idle_slot_seconds"] < forecast["all_day"]["idle_slot_seconds"]
    assert flat["schedule"] == [{"from_hour": 0, "to_hour": 24, "min_warm": flat["min_warm"],
                                 "max_warm": flat["max_warm"]}]  # fmt: skip
    assert flat["schedule_status"] == "all_day"


def test_yaml_is_the_same_document(trace: Path, documents: list[dict[str, Any]]) -> None:
    assert yaml.safe_load(run("--trace", str(trace), "--schedule", "-o", "yaml")) == documents


def test_without_schedule_the_document_is_unchanged(trace: Path) -> None:
    plain = json.loads(run("--trace", str(trace), "-o", "json"))
    assert all("schedule" not in d for d in plain)


def test_csv_is_a_targets_file_simulate_replays_as_the_schedule(
    trace: Path, documents: list[dict[str, Any]], tmp_path: Path
) -> None:
    targets = tmp_path / "schedule.csv"
    targets.write_text(run("--trace", str(trace), "--schedule", "-o", "csv"))
    rows = list(csv.DictReader(targets.read_text().splitlines()))
    assert list(rows[0])[:5] == ["node", "min_warm", "max_warm", "from_hour", "to_hour"]
    by_node = {d["node"]: d for d in documents}
    for node in ("job", "random"):
        blocks = [{k: int(r[k]) for k in ("from_hour", "to_hour", "min_warm", "max_warm")}
                  for r in rows if r["node"] == node]  # fmt: skip
        assert blocks == by_node[node]["schedule"]
    result = CliRunner().invoke(cli, ["simulate", str(trace), "--targets", str(targets),
                                      "-o", "json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    simulated = json.loads(result.stdout)
    loaded = load_trace(trace)
    k = loaded.nodes.index("job")
    schedule = WarmSchedule.from_json(by_node["job"]["schedule"])
    stats = replay(loaded, [Run(k, NodeTargets.scheduled(schedule))], SimulationSettings())
    assert simulated["nodes"]["job"]["cold_starts"] == int(stats.per_run.cold_starts[0])
    assert simulated["nodes"]["job"]["idle_slot_seconds"] == pytest.approx(
        float(stats.per_run.idle_slot_seconds[0])
    )
    assert simulated["nodes"]["job"]["min_warm"] == schedule.at_hour(0).min_warm


def test_table_shows_blocks_per_node_and_timezone_shifts_only_the_table(trace: Path) -> None:
    utc = run("--trace", str(trace), "--schedule")
    assert "hours UTC" in utc
    job = next(line for line in utc.splitlines() if line.startswith("job "))
    assert "01:00-03:00" in job and "scheduled" in job
    assert next(line for line in utc.splitlines() if line.startswith("random ")).count("all day")
    shifted = run("--trace", str(trace), "--schedule", "--timezone", "Asia/Kolkata")
    assert "hours in Asia/Kolkata (UTC+05:30)" in shifted
    job = next(line for line in shifted.splitlines() if line.startswith("job "))
    assert "06:30-08:30" in job
    documents = run("--trace", str(trace), "--schedule", "-o", "json", "--timezone", "Asia/Kolkata")
    assert documents == run("--trace", str(trace), "--schedule", "-o", "json")
    assert run("--trace", str(trace), "--schedule", "-o", "csv", "--timezone", "America/New_York") \
        == run("--trace", str(trace), "--schedule", "-o", "csv")  # fmt: skip


def test_wide_explains_each_block(trace: Path) -> None:
    wide = run("--trace", str(trace), "--schedule", "-o", "wide")
    assert "a burst of ~20 pods on 13 of 14 days" in wide
    assert "no daily structure" in wide


def test_kubectl_keeps_the_all_day_lines_and_notes_the_schedule(trace: Path) -> None:
    out = run("--trace", str(trace), "--schedule", "-o", "kubectl")
    assert "kubectl annotate nec job" in out
    assert "# job: schedule (UTC) 01:00-03:00" in out


def test_kubectl_stores_each_schedule_as_apply_schedule_does(
    trace: Path, documents: list[dict[str, Any]]
) -> None:
    """Piped into sh, the lines store what `apply --schedule` stores: the schedule in
    eni-pool.io/warm-schedule, for `eni-tuner switch` (it was a comment only)."""
    out = run("--trace", str(trace), "--schedule", "-o", "kubectl")
    stores = [shlex.split(line) for line in out.splitlines() if "warm-schedule=" in line]
    assert len(stores) == 1, out  # the job node; the random one has no schedule
    argv = stores[0]
    assert argv[:4] == ["kubectl", "annotate", "nec", "job"] and argv[-1] == "--overwrite"
    key, value = argv[4].split("=", 1)
    assert key == "eni-pool.io/warm-schedule"
    job = next(d for d in documents if d["node"] == "job")
    assert WarmSchedule.loads(value) == WarmSchedule.from_json(job["schedule"])


def test_an_unknown_timezone_is_one_line_exit_2(trace: Path) -> None:
    done = subprocess.run(
        ["eni-tuner", "recommend", "--trace", str(trace), "--schedule", "--timezone", "Mars/Base"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert "'Mars/Base' is not an IANA time zone" in done.stderr


@pytest.mark.parametrize("zone", ["A" * 300, "a/" * 300 + "x"], ids=["name-too-long", "too-deep"])
def test_a_timezone_no_file_could_hold_is_one_line_exit_2(trace: Path, zone: str) -> None:
    """Found by an adversarial review (session 8): an OSError (File name too long) or a
    RecursionError traceback from zoneinfo, exit 1."""
    done = run_tuner("recommend", "--trace", str(trace), "--schedule", "--timezone", zone)
    assert (done.returncode, done.stdout) == (2, "")
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: Invalid value for '--timezone': {zone!r} is not an IANA")


def test_backtest_schedule_adds_the_schedules_series_and_totals(
    trace: Path, documents: list[dict[str, Any]], tmp_path: Path
) -> None:
    result = CliRunner().invoke(cli, ["backtest", "--trace", str(trace), "--schedule", "-o", "json",
                                      "--png", str(tmp_path / "b.png")])  # fmt: skip
    assert result.exit_code == 0, result.output
    totals = json.loads(result.stdout)
    assert set(totals) == {"current", "recommended", "schedule"}
    forecast = [d["forecast"] for d in documents]
    # the backtest's replay is recommend's forecast: same history, same targets
    assert totals["schedule"]["cold_starts"] == sum(f["schedule"]["cold_starts"] for f in forecast)
    assert totals["schedule"]["idle_slot_hours"] == pytest.approx(
        sum(f["schedule"]["idle_slot_seconds"] for f in forecast) / 3600.0, rel=1e-6
    )
    assert totals["schedule"]["idle_slot_hours"] < totals["recommended"]["idle_slot_hours"]
    assert (tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"
    # -o wide: each node's row names its schedule by its blocks, as recommend found them
    wide = CliRunner().invoke(cli, ["backtest", "--trace", str(trace), "--schedule", "-o", "wide"])
    scheduled = [d for d in documents if d["schedule_status"] == "scheduled"]
    assert scheduled
    for doc in scheduled:
        blocks = ", ".join(f"{b['from_hour']}-{b['to_hour']} {b['min_warm']}/{b['max_warm']}"
                           for b in doc["schedule"])  # fmt: skip
        row = next(line for line in wide.stdout.splitlines() if line.startswith(doc["node"] + " "))
        assert blocks in row


def test_backtest_schedule_refuses_a_recommended_file(trace: Path, tmp_path: Path) -> None:
    given = tmp_path / "rec.csv"
    given.write_text("node,min_warm,max_warm\njob,1,1\n")
    result = CliRunner().invoke(cli, ["backtest", "--trace", str(trace), "--schedule",
                                      "--recommended", str(given)])  # fmt: skip
    assert result.exit_code == 2
    assert "a --recommended file carries its own schedules" in result.output


def test_a_timezone_without_a_schedule_is_refused(tmp_path: Path) -> None:
    """It was silently ignored (adversarial review, session 5): the zone only moves a
    schedule's hours in the table."""
    trace = tmp_path / "t.csv"
    trace.write_text("time,node,event\n0,a,start\n7200,a,stop\n")
    done = CliRunner().invoke(cli, ["recommend", "--trace", str(trace), "--timezone",
                                    "Europe/Berlin"])  # fmt: skip
    assert done.exit_code == 2
    assert "--timezone shows a schedule's hours: it needs --schedule" in done.output
    assert CliRunner().invoke(cli, ["recommend", "--trace", str(trace), "--timezone", "UTC",
                                    "--schedule", "-o", "json"]).exit_code == 0  # fmt: skip


def test_no_schedule_that_buys_next_to_no_idle_with_more_cold_starts(tmp_path: Path) -> None:
    """1,000 pods at 02:00 every day, more than any pair holds: a schedule saved 0.3 % of
    the idle for more cold starts and was 'scheduled' (adversarial review, session 5)."""
    rows = ["0,a,stop"]
    for day in range(3):
        rows += [f"{day * 86400 + 7200},a,start"] * 1000 + [f"{day * 86400 + 9000},a,stop"] * 1000
    rows.append(f"{3 * 86400},a,stop")
    trace = tmp_path / "burst.csv"
    trace.write_text("time,node,event\n" + "\n".join(rows) + "\n")
    done = CliRunner().invoke(cli, ["recommend", "--trace", str(trace), "--schedule", "-o",
                                    "json"])  # fmt: skip
    assert done.exit_code == 0, done.output
    (node,) = json.loads(done.stdout)
    forecast = node["forecast"]
    if node["schedule_status"] == "scheduled":  # then it must pay: less idle, no more cold
        saved = 1 - forecast["schedule"]["idle_slot_seconds"] / forecast["all_day"][
            "idle_slot_seconds"]  # fmt: skip
        more_cold = forecast["schedule"]["cold_starts"] > forecast["all_day"]["cold_starts"]
        assert saved >= 0.05 or not more_cold, node["schedule_reason"]
    else:
        assert node["schedule"] == [{"from_hour": 0, "to_hour": 24, "min_warm": node["min_warm"],
                                     "max_warm": node["max_warm"]}]  # fmt: skip


@pytest.mark.parametrize("name", ["y\rtouch x", "y\nz", 'q"uote,comma'])
def test_csv_quotes_any_line_break_so_simulate_reads_it_back(tmp_path: Path, name: str) -> None:
    """A bare CR in a node name was written unquoted by -o csv; simulate --targets then
    read two rows (adversarial review, session 5)."""
    trace = tmp_path / "t.csv"
    with trace.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["time", "node", "event"])
        writer.writerows([[0, name, "start"], [7200, name, "stop"], [7200, "plain", "start"]])
    done = CliRunner().invoke(cli, ["recommend", "--trace", str(trace), "-o", "csv"])
    assert done.exit_code == 0, done.output
    targets = tmp_path / "targets.csv"
    targets.write_text(done.stdout, newline="")
    with targets.open(newline="") as written:
        assert sorted(r["node"] for r in csv.DictReader(written)) == sorted([name, "plain"])
    replayed = CliRunner().invoke(cli, ["simulate", str(trace), "--targets", str(targets),
                                        "-o", "json"])  # fmt: skip
    assert replayed.exit_code == 0, replayed.output
    assert set(json.loads(replayed.stdout)["nodes"]) == {name, "plain"}
