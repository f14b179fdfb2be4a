"""A numeric trace whose first row comes after time 0 is the same history as the same
rows in RFC 3339 (found by an adversarial review, session 5): analysis charges no node
for the seconds before its history begins, not even the nodes whose pods were already
there at the trace's first instant (they were replayed, and charged idle, from 0)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from support import daily_traces
from tuner.cli import cli

ORIGIN = 49_920.0  # 13:52 UTC of day 0, on the 120 s grid of the release rounds


def traces(tmp_path: Path) -> tuple[Path, Path]:
    """The same rows twice: numeric seconds from 00:00 UTC, first row at ORIGIN, and
    RFC 3339 (time 0 = the earliest row, hours of day the same)."""
    rows = [(round(t) + ORIGIN, node, event)  # whole seconds: the same floats either way
            for t, node, event in daily_traces.mixed(4, 7, days=3)]  # fmt: skip
    rows += [(ORIGIN, node, "start") for node in ("node-000", "node-002")]  # already there
    rows.sort(key=lambda r: r[0])
    numeric, stamped = tmp_path / "numeric.csv", tmp_path / "stamped.csv"
    numeric.write_text("time,node,event\n" + "".join(f"{t!r},{n},{e}\n" for t, n, e in rows))
    stamped.write_text("time,node,event\n" + "".join(
        f"{datetime.fromtimestamp(t, UTC).isoformat()},{n},{e}\n" for t, n, e in rows))  # fmt: skip
    return numeric, stamped


def recommend(path: Path, *more: str) -> list[dict[str, object]]:
    done = CliRunner().invoke(cli, ["recommend", "--trace", str(path), *more, "-o", "json"])
    assert done.exit_code == 0, done.output
    nodes: list[dict[str, object]] = json.loads(done.stdout)
    return nodes


@pytest.mark.parametrize("more", [(), ("--schedule",)])
def test_a_late_numeric_origin_is_the_same_history_as_rfc3339(
    tmp_path: Path, more: tuple[str, ...]
) -> None:
    numeric, stamped = traces(tmp_path)
    got, expected = recommend(numeric, *more), recommend(stamped, *more)
    assert {n["node"]: n["history_hours"] for n in got} == {
        n["node"]: n["history_hours"] for n in expected
    }
    assert got == expected


def test_backtest_of_a_late_numeric_origin_counts_the_same_hours(tmp_path: Path) -> None:
    numeric, stamped = traces(tmp_path)
    runs = [CliRunner().invoke(cli, ["backtest", "--trace", str(p), "-o", "json"])
            for p in (numeric, stamped)]  # fmt: skip
    assert [r.exit_code for r in runs] == [0, 0], [r.output for r in runs]
    got, expected = (json.loads(r.stdout) for r in runs)
    assert got == expected
