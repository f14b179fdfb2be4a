"""What `switch` and `apply --schedule` print: kubectl-style tables and a CSV per row."""

from __future__ import annotations

import csv
import io

import pytest

from pool_engine.config import Mode, Targets
from tuner.changes import Change, Result
from tuner.schedule_report import SWITCH_CSV, print_switches, switches_to_csv
from tuner.switcher import Switch

SWITCHES = [
    Switch(Mode.ROUTE_ENI, Change("node-a", Targets(2, 3), Targets(20, 25), Result.CHANGED, "block 02:00-06:00")),
    Switch(Mode.DIRECT_ENI, Change("node-b", None, None, Result.SKIPPED, "opted out", retries=1)),
]  # fmt: skip


def test_switch_csv_has_one_row_per_node_and_mode() -> None:
    rows = list(csv.reader(io.StringIO(switches_to_csv(SWITCHES))))
    assert tuple(rows[0]) == SWITCH_CSV
    assert rows[1][:2] == ["node-a", "route-eni"] and rows[1][3:7] == ["2", "3", "20", "25"]
    assert rows[2][:2] == ["node-b", "direct-eni"] and rows[2][3:8] == ["", "", "", "", "1"]


@pytest.mark.parametrize("wide", [False, True])
def test_switch_table_is_plain_columns(wide: bool, capsys: pytest.CaptureFixture[str]) -> None:
    print_switches(SWITCHES, "2025-01-06T02:30:00+00:00", dry_run=False, wide=wide)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Schedule switches at 2025-01-06T02:30:00+00:00"
    assert out[1].split() == ["NODE", "MODE", "BEFORE", "AFTER", "OUTCOME"] + (
        ["RETRIES"] if wide else []
    )
    assert "node-a" in out[2] and "2/3" in out[2] and "20/25" in out[2]
    assert not any(c in "".join(out) for c in "│┃━─")  # no box drawing
