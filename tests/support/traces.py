"""Small churn traces for tuner tests: quiet nodes, hourly bursts, as trace text."""

from __future__ import annotations


def trace_text(rows: list[tuple[float, str, str]]) -> str:
    rows = sorted(rows, key=lambda r: r[0])
    return "time,node,event\n" + "\n".join(f"{t:.3f},{n},{e}" for t, n, e in rows)


def quiet(node: str, hours: int = 48) -> list[tuple[float, str, str]]:
    """One pod every 10 minutes, living 30 minutes: never two starts within a bind."""
    rows = []
    for j in range(hours * 6):
        t = 600.0 * j + 17.0
        rows += [(t, node, "start"), (t + 1800.0, node, "stop")]
    return rows


def bursty(node: str, size: int, hours: int = 48) -> list[tuple[float, str, str]]:
    """Every hour ``size`` pods start within a second, and stop ten minutes later."""
    rows = []
    for h in range(hours):
        for j in range(size):
            t = 3600.0 * h + 100.0 + 0.1 * j
            rows += [(t, node, "start"), (t + 600.0, node, "stop")]
    return rows
