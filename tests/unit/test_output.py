"""What `eni-tuner` prints for people: compact kubectl-style tables that fit the
terminal, names never cut, `-o wide` with everything, colour only on a terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from support.traces import bursty, quiet, trace_text
from tuner.cli import cli
from tuner.output import OutputFormat

Write = Callable[[str, str], Path]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
LONG = "ip-10-0-12-34.ap-guangzhou.compute.internal-with-a-very-long-suffix"


def rows(names: list[str]) -> list[tuple[float, str, str]]:
    """Calm and bursty nodes with two days of history, and one with two hours (borrowed)."""
    out = []
    for k, name in enumerate(names):
        out += quiet(name) if k % 2 else bursty(name, 8)
    out += [(3600.0 * (46 + h) + 50.0 + 0.1 * j, "sparse", "start")
            for h in range(2) for j in range(8)]  # fmt: skip
    return out


@pytest.fixture
def trace(write: Write) -> Path:
    return write("t.csv", trace_text(rows([f"node-{k}" for k in range(6)])))


def recommend(trace: Path, *args: str, columns: int = 80) -> list[str]:
    result = CliRunner().invoke(
        cli, ["recommend", "--trace", str(trace), *args], env={"COLUMNS": str(columns)}
    )
    assert result.exit_code == 0, result.output
    lines: list[str] = result.stdout.splitlines()
    return lines


@pytest.mark.parametrize("columns", [80, 100, 120])
def test_the_default_table_fits_the_terminal(trace: Path, columns: int) -> None:
    lines = recommend(trace, columns=columns)
    assert max(len(line) for line in lines) <= columns
    assert lines[1].split() == ["NODE", "MIN/MAX", "WARM", "IDLE", "SLOTS", "COLD", "STARTS",
                                "STATUS"]  # fmt: skip
    assert "REASON" not in lines[1]
    assert not any("…" in line or "\x1b" in line for line in lines)


@pytest.mark.parametrize("columns", [80, 100, 120])
def test_long_node_names_are_never_cut(write: Write, columns: int) -> None:
    names = [f"{LONG}-{k}" for k in range(4)]
    lines = recommend(write("t.csv", trace_text(rows(names))), "-o", "wide", columns=columns)
    for name in names:  # whole, on one line, at the start of its row
        assert any(line.startswith(name + " ") for line in lines)
    assert not any("…" in line for line in lines)


def test_a_row_holds_the_pair_the_kubectl_lines_set(trace: Path) -> None:
    lines = recommend(trace)
    cells = {line.split()[0]: line.split() for line in lines[2:] if line.startswith("node-")}
    commands = "\n".join(lines).replace("\\\n", "").split("kubectl annotate nec ")[1:]
    assert commands
    for command in commands:
        node, low, high = command.split()[:3]
        pair = f"{low.rsplit('=', 1)[1]}/{high.rsplit('=', 1)[1]}"
        assert cells[node][1:4] == [cells[node][1], "->", pair]
    assert all(len(line) <= 80 for line in lines)  # the commands are broken over lines


def test_a_borrowed_row_shows_its_pair_not_a_dash(trace: Path) -> None:
    (row,) = [line.split() for line in recommend(trace) if line.startswith("sparse ")]
    assert row[-1] == "borrowed"
    assert re.fullmatch(r"\d+/\d+", row[3]) and row[2] == "->"
    assert "--apply-borrowed" in recommend(trace)[-1]


def test_wide_has_every_column_and_the_reason(trace: Path) -> None:
    lines = recommend(trace, "-o", "wide")
    for header in ("HISTORY", "POD STARTS", "CONFIDENCE", "REASON"):
        assert header in lines[1]
    (sparse,) = [line for line in lines if line.startswith("sparse ")]
    assert "similar churn profile" in sparse


def test_piped_output_has_no_colour_and_no_padding_to_a_fixed_width(trace: Path) -> None:
    lines = recommend(trace, "-o", "wide")
    assert all(line == line.rstrip() for line in lines)
    assert not any("\x1b" in line for line in lines)


def run_on_a_terminal(args: list[str], columns: int, **env: str) -> str:
    """``args`` under a pseudo-terminal of ``columns`` columns; what it showed."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    environ |= {"COLUMNS": str(columns), "TERM": "xterm-256color", **env}
    process = subprocess.Popen(
        [sys.executable, "-c", "from tuner.cli import main; main()", *args],
        stdout=follower, stderr=subprocess.DEVNULL, env=environ, close_fds=True,
    )  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=120) == 0
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_colour_on_a_terminal_only_and_never_under_no_color(trace: Path) -> None:
    shown = run_on_a_terminal(["recommend", "--trace", str(trace)], 80)
    assert "\x1b[" in shown
    plain = ANSI.sub("", shown).splitlines()
    assert max(len(line) for line in plain) <= 80
    assert any(line.startswith("sparse ") for line in plain)
    no_color = run_on_a_terminal(["recommend", "--trace", str(trace)], 80, NO_COLOR="1")
    assert "\x1b[" not in no_color  # no styles at all: no colour, no bold (no-color.org)


@pytest.mark.parametrize("command", ["recommend", "apply", "simulate", "backtest"])
def test_every_command_offers_the_same_output_formats_with_the_same_help(command: str) -> None:
    option = next(p for p in cli.commands[command].params if p.name == "output")
    formats = [f.value for f in OutputFormat if f is not OutputFormat.KUBECTL]
    assert [c for c in option.type.choices if c != "kubectl"] == formats  # type: ignore[attr-defined]
    assert option.help is not None
    for fmt in formats:
        if command == "backtest" and fmt == "csv":  # its rows are sets of targets, not nodes
            assert "csv: one row per set of targets" in option.help
            continue
        assert OutputFormat(fmt).help() in option.help


def test_simulate_wide_and_csv(trace: Path) -> None:
    table = CliRunner().invoke(cli, ["simulate", str(trace)], env={"COLUMNS": "80"})
    assert max(len(line) for line in table.stdout.splitlines()) <= 80
    wide = CliRunner().invoke(cli, ["simulate", str(trace), "-o", "wide"])
    assert "RELEASES" in wide.stdout.splitlines()[1]
    csv = CliRunner().invoke(cli, ["simulate", str(trace), "-o", "csv"]).stdout.splitlines()
    assert csv[0].startswith("node,min_warm,max_warm,pod_starts,")
    assert len(csv) == 1 + 7
