"""Integers on the command line are ASCII digits too, as the numbers of the float flags
and of targets files are: click's IntRange reads `--min-warm 1_0` as 10 and other
scripts' digits as theirs, and `--listen` read '²' as a digit and raised on it (a
traceback, exit 1). Found by an adversarial review (session 9)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from exporter.cli import cli as exporter_cli
from pool_engine.tracecheck import is_integer
from tuner.cli import cli as tuner_cli

TRACE = "time,node,event\n0,a,start\n100,a,stop\n"


@pytest.mark.parametrize("text", ["1_0", "\u0661", "\uff13", "3.0", "0x10", "1e3", "", "+"])
def test_what_is_no_integer(text: str) -> None:
    assert not is_integer(text)


@pytest.mark.parametrize("text", ["3", "+3", "-3", " 3 ", "007"])
def test_what_is_an_integer(text: str) -> None:
    assert is_integer(text)


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--min-warm", "1_0"), ("--max-warm", "\u0661"), ("--max-slots", "2_0"),
     ("--min-pod-starts", "\uff13\uff10")],
)  # fmt: skip
def test_tuner_counts_are_ascii(tmp_path: Path, flag: str, value: str) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text(TRACE)
    result = CliRunner().invoke(tuner_cli, ["recommend", "--trace", str(trace), flag, value])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{flag}': {value!r} is not an integer" in result.output


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--nodes", "1_0"], "Invalid value for '--nodes': '1_0' is not an integer"),
        (["--seed", "\u0663"], "Invalid value for '--seed': '\u0663' is not an integer"),
        (["--listen", "127.0.0.1:\u00b2"], "'127.0.0.1:\u00b2' is not HOST:PORT"),
        (["--listen", "127.0.0.1:\u0669\u0668\u0660\u0668"], "is not HOST:PORT"),
        (["--listen", "127.0.0.1:" + "1" * 5000], "is not HOST:PORT"),
    ],
    ids=["underscore", "arabic-indic", "superscript-port", "arabic-indic-port", "long-port"],
)
def test_exporter_integers_are_ascii(args: list[str], line: str) -> None:
    result = CliRunner().invoke(
        exporter_cli, ["simulate", "--speed", "max", "--duration", "10", *args]
    )
    assert result.exit_code == 2, repr(result.exception)
    assert line in result.output
