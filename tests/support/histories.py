"""Histories built in memory from (time, node, event) rows, for the unit tests."""

from __future__ import annotations

from pool_engine.trace import from_rows
from tuner.history import History, from_trace

Rows = list[tuple[float, str, str]]


def history_of(rows: Rows) -> History:
    """As ``load_history`` would read them from a trace file: start rows at the first
    instant are pods that already existed."""
    rows = sorted(rows, key=lambda r: r[0])
    trace = from_rows([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
    return from_trace(trace)
