"""A trace from a pipe (`recommend --trace <(zcat t.csv.gz)`, `--trace /dev/stdin`) is
read once, however many pools it has: without --mode every pool of it is analysed, and
with --mode the hint names the other pool. Found by an adversarial review (session 9):
the second pool read the pipe again, found it drained and failed after the first
pool's analysis, exit 2, '/dev/fd/N:1: empty file'; --mode route-eni on a direct-eni
trace said the same instead of exit 3 and the hint."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from pool_engine.trace import load_traces
from tuner.cli import cli, main

pytestmark = pytest.mark.skipif(not Path("/dev/fd").is_dir(), reason="needs /dev/fd")

BOTH = (
    "time,node,event,mode\n"
    "0,calm,start,route-eni\n"
    "10,eni,start,direct-eni\n"
    "20,calm,start,\n"
    "30,eni,stop,direct-eni\n"
    "7200,calm,stop,route-eni\n"
)
DIRECT = "time,node,event,mode\n0,eni,start,direct-eni\n10,eni,start,direct-eni\n"


@contextmanager
def piped(text: str) -> Iterator[str]:
    """``text`` behind a pipe, as ``<(cat t.csv)`` hands it over."""
    read, written = os.pipe()
    try:
        os.write(written, text.encode())
        os.close(written)
        yield f"/dev/fd/{read}"
    finally:
        os.close(read)


def test_every_pool_of_a_piped_trace_is_analysed() -> None:
    with piped(BOTH) as path:
        result = CliRunner().invoke(cli, ["recommend", "--trace", path, "-o", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["node"], r["mode"]) for r in rows] == [("calm", "route-eni"), ("eni", "direct-eni")]


def test_the_other_pools_hint_does_not_read_the_pipe_again(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with piped(DIRECT) as path:
        monkeypatch.setattr(sys, "argv", ["eni-tuner", "recommend", "--trace", path,
                                          "--mode", "route-eni", "-o", "json"])  # fmt: skip
        with pytest.raises(SystemExit) as exited:
            main()
    assert exited.value.code == 3
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: cannot read history: {path}: no route-eni rows "
        "(its rows are direct-eni: --mode direct-eni)"
    )


def test_each_mode_of_a_pipe_in_turn() -> None:
    with piped(BOTH) as path:
        route, direct = load_traces(path, ["route-eni", "direct-eni"])
    assert (route.nodes, direct.nodes) == (["calm"], ["eni"])
    assert (route.end, direct.end) == (7200.0, 7200.0)
