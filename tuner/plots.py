"""The backtest as a figure a person reads in ten seconds (matplotlib, Agg, no window).

Top: the headline (idle slot-hours saved, in total and in percent; cold starts and
their rate before -> after). Then one row per panel, idle slots on the left, cold
starts on the right: the whole cluster, then the nodes that
:func:`tuner.backtest_result.choose_panels` picks, each titled with why it is drawn
and its targets (``current 5/5 -> recommended 2/4``). Axes are honest: every y axis
starts at 0, cold starts tick in whole numbers, and the node panels share one scale
per column so their heights compare. Each panel draws every series of the result,
however many (``current`` first).

matplotlib is imported inside the functions that draw: ``eni-tuner`` starts without it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tuner.backtest_result import Backtest, Series

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

STYLES: dict[str, dict[str, Any]] = {
    "current": {"color": "tab:gray", "linewidth": 1.8},
    "recommended": {"color": "tab:blue", "linewidth": 1.6},
    "schedule": {"color": "tab:green", "linewidth": 1.4, "linestyle": "--"},
}
"""How each set of targets is drawn; a set not named here takes the next of OTHERS."""
OTHERS = ("tab:purple", "tab:brown", "tab:olive")
IDLE_LABEL = "idle slots (hourly average)"
COLD_LABEL = "cold starts per hour"


def figure(result: Backtest) -> Figure:
    """The whole report as one matplotlib figure (not yet drawn or saved)."""
    from matplotlib.figure import Figure

    headlines = [line for h in result.headlines() for line in (h.idle_text(), h.cold_text())]
    rows = 1 + len(result.panels)
    top_height = 0.32 * len(headlines) + 0.3
    fig = Figure(figsize=(13, top_height + 2.9 * rows), layout="constrained")
    grid = fig.subfigures(1 + rows, 1, squeeze=False, height_ratios=[top_height] + [2.9] * rows)
    head, *cells = grid[:, 0]
    for j, line in enumerate(headlines):  # per tested set: idle in bold, then cold starts
        first = j % 2 == 0
        y = 1 - (j + 0.5) / len(headlines)
        head.text(0.01, y, line, va="center", fontsize=14 if first else 12,
                  weight="bold" if first else "normal")  # fmt: skip
    cluster = cells[0].subplots(1, 2)
    cells[0].suptitle(f"all {len(result.nodes):,} nodes", fontsize=12, x=0.01, ha="left")
    _draw(cluster, result, result.cluster, list(result.names), _top(result.cluster))
    nodes = [p.series for p in result.panels]
    tops = _top([s for group in nodes for s in group])
    for cell, panel in zip(cells[1:], result.panels, strict=True):
        axes = cell.subplots(1, 2)
        cell.suptitle(panel.title(), fontsize=11, x=0.01, ha="left")
        labels = [f"{s.name} {t}" for s, t in zip(panel.series, panel.row.targets, strict=True)]
        _draw(axes, result, panel.series, labels, tops)
    since = f" ({result.origin})" if result.origin else ""
    for cell in fig.axes[-2:]:
        cell.set_xlabel(f"hours from the start of the history{since}")
    return fig


def _draw(
    axes: Any,
    result: Backtest,
    series: tuple[Series, ...],
    labels: list[str],
    tops: tuple[float, float],
) -> None:
    """Idle (left) and cold starts (right), every series, y from 0 to the shared top."""
    from matplotlib.ticker import MaxNLocator

    idle_axes: Axes = axes[0]
    cold_axes: Axes = axes[1]
    for j, (one, label) in enumerate(zip(series, labels, strict=True)):
        style = STYLES.get(one.name) or {"color": OTHERS[j % len(OTHERS)], "linewidth": 1.4}
        idle_axes.stairs(one.idle, result.edges, label=label, baseline=None, **style)
        cold_axes.stairs(one.cold, result.edges, label=label, baseline=None, **style)
    for cell, top, unit in ((idle_axes, tops[0], IDLE_LABEL), (cold_axes, tops[1], COLD_LABEL)):
        cell.set_ylim(0, top)
        cell.set_xlim(0, result.hours)
        cell.set_ylabel(unit)
        cell.grid(axis="y", alpha=0.3)
    cold_axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    handles, names = idle_axes.get_legend_handles_labels()
    idle_axes.figure.legend(handles, names, loc="outside right upper", fontsize=9)


def _top(series: list[Series] | tuple[Series, ...]) -> tuple[float, float]:
    """The top of the idle and the cold-start axes for these series: 8% above the
    highest value, at least 1 (so an all-zero series still shows a 0-based axis)."""
    idle = max((float(np.max(s.idle, initial=0.0)) for s in series), default=0.0)
    cold = max((float(np.max(s.cold, initial=0.0)) for s in series), default=0.0)
    return max(idle * 1.08, 1.0), max(cold * 1.08, 1.0)


def figure_png(result: Backtest) -> bytes:
    """The figure as PNG bytes, drawn by the Agg backend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = figure(result)
    FigureCanvasAgg(fig)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=90)
    return out.getvalue()


def write_png(result: Backtest, path: Path) -> None:
    path.write_bytes(figure_png(result))
