"""`-o kubectl` is for piping into sh, and a trace's node names are whatever the file
says: only a Kubernetes node name gets a command, as one quoted word (``job $(touch
PWNED2)`` ran ``touch`` before; ``--all`` annotated every NEC)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from pool_engine.warm_schedule import WarmSchedule
from support import daily_traces as dt
from tuner.cli import cli
from tuner.kubectl_lines import commented, node_name

HOSTILE = ("job;touch PWNED", "job $(touch PWNED2)")


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = dt.job_node(HOSTILE[0]) + dt.job_node(HOSTILE[1], seed=1)
    return dt.write(tmp_path_factory.mktemp("quoting") / "churn.csv", rows)


def piped(out: str, where: Path) -> list[list[str]]:
    """Run ``out`` in sh with a kubectl that prints its arguments, one call a line."""
    script = 'kubectl() { for a in "$@"; do printf "%s\\037" "$a"; done; echo; }\n' + out
    done = subprocess.run(["sh", "-c", script], cwd=where, check=True, capture_output=True,
                          text=True)  # fmt: skip
    return [line.rstrip("\x1f").split("\x1f") for line in done.stdout.splitlines() if line]


@pytest.mark.parametrize("extra", [[], ["--schedule"]])
def test_shell_words_in_a_name_never_run(trace: Path, tmp_path: Path, extra: list[str]) -> None:
    result = CliRunner().invoke(cli, ["recommend", "--trace", str(trace), *extra, "-o", "kubectl"])
    assert result.exit_code == 0, result.output
    calls = piped(result.stdout, tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing ran
    assert calls == []  # not node names: comments, no command
    assert result.stdout.count("not a Kubernetes node name") == len(HOSTILE)  # once a node


def test_the_table_lines_leave_them_out_too(trace: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["recommend", "--trace", str(trace)])
    assert result.exit_code == 0, result.output
    assert "apply with `eni-tuner apply`, or by hand" not in result.stdout
    assert "2 node(s) without a Kubernetes node name, no command" in result.stdout
    below = result.stdout[result.stdout.index("# 2 node(s)") :]
    assert piped(below, tmp_path) == []


@pytest.mark.parametrize(
    ("name", "ok"),
    [("node-a.example", True), ("10.0.0.1", True), ("a" * 253, True), ("a" * 254, False),
     ("Node-1", False), ("-a", False), ("a-", False), ("a..b", False), ("nоde", False),
     ("eni-pool.io/warm-schedule", False), ("a=b", False)],
)  # fmt: skip
def test_node_names_are_rfc_1123_subdomains(name: str, ok: bool) -> None:
    assert node_name(name) is ok


def test_a_line_break_in_a_name_stays_inside_its_comment() -> None:
    name = "a\nrm -rf ~\rb"
    line = f"# {commented(name)}: borrowed\n"
    assert line.count("\n") == 1 and "\r" not in line


@pytest.fixture(scope="module")
def flag_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = dt.job_node("--all") + dt.job_node("-lapp=x", seed=1) + dt.job_node("ok-node", seed=2)
    return dt.write(tmp_path_factory.mktemp("flags") / "churn.csv", rows)


@pytest.mark.parametrize("extra", [[], ["--schedule"]])
def test_a_name_kubectl_would_read_as_a_flag_gets_no_command(
    flag_trace: Path, tmp_path: Path, extra: list[str]
) -> None:
    """``kubectl annotate nec --all ...`` annotated every NEC of the cluster: a name that
    is not a Kubernetes node name is reported in a comment, never given a command."""
    result = CliRunner().invoke(cli, ["recommend", "--trace", str(flag_trace), *extra,
                                      "-o", "kubectl"])  # fmt: skip
    assert result.exit_code == 0, result.output
    calls = piped(result.stdout, tmp_path)
    assert calls and {c[2] for c in calls} == {"ok-node"}, calls
    assert '# "--all": not a Kubernetes node name' in result.stdout


def test_json_has_no_kubectl_line_for_such_a_name(flag_trace: Path) -> None:
    result = CliRunner().invoke(cli, ["recommend", "--trace", str(flag_trace), "-o", "json"])
    by_node = {d["node"]: d for d in json.loads(result.stdout)}
    assert by_node["--all"]["kubectl"] is None and by_node["-lapp=x"]["kubectl"] is None
    assert by_node["ok-node"]["kubectl"].startswith("kubectl annotate nec ok-node ")


def test_with_schedule_a_node_without_one_drops_a_stored_schedule(trace: Path) -> None:
    """As ``apply --schedule`` does: a node whose recommendation has no schedule gets its
    pair and loses any stored schedule (else the switch would put the old blocks back)."""
    rows = dt.job_node("sched") + dt.random_node("plain", 2)
    path = dt.write(trace.parent / "mixed.csv", rows)
    result = CliRunner().invoke(cli, ["recommend", "--trace", str(path), "--schedule",
                                      "-o", "kubectl"])  # fmt: skip
    plain = [line for line in result.stdout.splitlines()
             if line.startswith("kubectl annotate nec plain ")]  # fmt: skip
    assert len(plain) == 1 and " eni-pool.io/warm-schedule- " in plain[0], result.stdout
    sched = [line for line in result.stdout.splitlines() if "nec sched " in line]
    assert not any("warm-schedule- " in line for line in sched), sched


@pytest.fixture(scope="module")
def necs_trace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """job-a (a daily job: scheduled), office-b (unchanged at 1/1: no schedule),
    random-c (changed, no schedule), job-u (scheduled, pair unchanged at 10/10)."""
    rows = (dt.job_node("job-a") + dt.office_node("office-b", 2) + dt.random_node("random-c", 3)
            + dt.job_node("job-u", 4))  # fmt: skip
    where = tmp_path_factory.mktemp("necs")
    targets = where / "targets.csv"
    targets.write_text("node,min_warm,max_warm\noffice-b,1,1\njob-u,10,10\n")
    return dt.write(where / "churn.csv", rows), targets


def schedule_writes(out: str, tmp_path: Path) -> dict[str, dict[str, str]]:
    """Per node, the annotations the piped lines set ("-" for a removal)."""
    writes: dict[str, dict[str, str]] = {}
    for call in piped(out, tmp_path):
        node = writes.setdefault(call[2], {})
        for arg in call[3:]:
            if arg != "--overwrite":
                key, _, value = arg.partition("=") if "=" in arg else (arg[:-1], "", "-")
                node[key] = value
    return writes


def test_schedule_lines_write_what_apply_schedule_writes(
    necs_trace: tuple[Path, Path], tmp_path: Path
) -> None:
    """For NECs holding a stale schedule, `apply --schedule` writes: the schedule of a
    scheduled node (no pair: the switch sets it), the pair and no schedule elsewhere —
    unchanged pairs included; `-o kubectl` and `-o json`'s `kubectl` field the same."""
    trace, targets = necs_trace
    args = ["recommend", "--trace", str(trace), "--targets", str(targets), "--schedule"]
    out = CliRunner().invoke(cli, [*args, "-o", "kubectl"]).stdout
    docs = {d["node"]: d for d in json.loads(CliRunner().invoke(cli, [*args, "-o", "json"]).stdout)}
    writes = schedule_writes(out, tmp_path)
    key = "eni-pool.io/warm-schedule"
    for node, doc in docs.items():
        if doc["schedule_status"] == "scheduled":
            assert writes[node] == {key: WarmSchedule.from_json(doc["schedule"]).dumps()}
        else:
            assert writes[node][key] == "-", (node, writes.get(node))
            assert writes[node]["tke.cloud.tencent.com/route-eni-ip-min-warm-target"] == str(
                doc["min_warm"]
            )
        assert schedule_writes(doc["kubectl"], tmp_path)[node] == writes[node]
    assert {"job-u", "office-b"} <= set(writes)  # unchanged pairs too
    assert out.count("not a Kubernetes node name") == 0
