"""Both programs when their standard output cannot be written (a full disk, a closed
stdout): one line on stderr naming the problem and exit 1, never a traceback
(docs/contracts/cli.md). Session 11 (an adversarial review): `simulate -o json >
/dev/full` ended in a traceback (`OSError: [Errno 28] No space left on device`), and with
stdout closed (`>&-`) in `AttributeError: 'NoneType' object has no attribute 'write'`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.cli import TUNER

EXPORTER = [sys.executable, "-c", "from exporter.cli import main; main()"]
AUDIT = "simulate --nodes 2 --speed max --duration 600 --listen none --audit"
SAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "churn-sample.csv"

COMMANDS = [
    pytest.param([*TUNER, "simulate", str(SAMPLE), "-o", "json"], id="simulate-json"),
    pytest.param([*TUNER, "simulate", str(SAMPLE)], id="simulate-table"),
    pytest.param([*TUNER, "recommend", "--trace", str(SAMPLE), "-o", "csv"], id="recommend-csv"),
    pytest.param([*TUNER, "backtest", "--trace", str(SAMPLE), "-o", "json"], id="backtest-json"),
    pytest.param([*EXPORTER, *AUDIT.split()], id="exporter-audit"),
]


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr, done.stderr
    assert lines and lines[-1].startswith("error: cannot write the output: "), done.stderr
    assert not any(line.startswith("error: ") for line in lines[:-1]), done.stderr
    return lines[-1]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_full_disk_on_stdout_is_one_line_and_exit_1(command: list[str]) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True,
                              timeout=120)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "No space left on device" in _one_line(done)
    assert "Exception ignored" not in done.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_a_closed_stdout_is_one_line_and_exit_1(command: list[str]) -> None:
    # the shell's `>&-`: no file descriptor 1 at all
    done = subprocess.run(["sh", "-c", '"$@" >&-', "sh", *command], stderr=subprocess.PIPE,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 1, done.stderr
    _one_line(done)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_reader_that_went_away_ends_the_run_quietly(command: list[str]) -> None:
    """`eni-tuner ... | head -1`: when the reader has gone, exit 1 without a word, as rich
    does for its tables (session 11, a review: JSON and CSV printed "error: cannot write
    the output: Broken pipe", tables nothing)."""
    read, write = os.pipe()
    os.close(read)  # the reader went away before the first byte
    try:
        done = subprocess.run(command, stdout=write, stderr=subprocess.PIPE, text=True,
                              timeout=120)  # fmt: skip
    finally:
        os.close(write)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "error:" not in done.stderr, done.stderr
