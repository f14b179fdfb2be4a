"""`-o kubectl` is for piping into sh, and a trace's node names are whatever the file
says: each name reaches the shell as one quoted word, never as a command (``a;touch
PWNED`` ran ``touch`` before)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from support import daily_traces as dt
from tuner.cli import cli
from tuner.report import commented

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
def test_node_names_stay_one_word_in_sh(trace: Path, tmp_path: Path, extra: list[str]) -> None:
    result = CliRunner().invoke(cli, ["recommend", "--trace", str(trace), *extra, "-o", "kubectl"])
    assert result.exit_code == 0, result.output
    calls = piped(result.stdout, tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing ran but kubectl
    assert calls and all(c[:2] == ["annotate", "nec"] for c in calls), calls
    assert {c[2] for c in calls} == set(HOSTILE)


def test_the_table_lines_quote_names_too(trace: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["recommend", "--trace", str(trace)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.split("by hand", 1)[1].split("\n", 1)[1]
    calls = piped(lines, tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert {c[2] for c in calls} == set(HOSTILE)


def test_a_line_break_in_a_name_stays_inside_its_comment() -> None:
    name = "a\nrm -rf ~\rb"
    line = f"# {commented(name)}: borrowed\n"
    assert line.count("\n") == 1 and "\r" not in line
