"""Backtest figures: a PNG (matplotlib) or a self-contained HTML report."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from tuner.backtest import Backtest


def figure_png(result: Backtest) -> bytes:
    panels = 1 + len(result.worst)
    fig, axes = plt.subplots(panels, 2, figsize=(13, 2.8 * panels), squeeze=False,
                             sharex=True)  # fmt: skip
    series = [("all nodes", result.current, result.recommended)]
    series += [(node, cur, rec) for node, (cur, rec) in result.worst.items()]
    for row, (title, cur, rec) in zip(axes, series, strict=True):
        row[0].plot(result.hours, cur.idle, label="current", color="tab:gray")
        row[0].plot(result.hours, rec.idle, label="recommended", color="tab:blue")
        if title == "all nodes" and result.schedule is not None:
            row[0].plot(result.hours, result.schedule.idle, label="schedule", color="tab:green")
        row[0].set_ylabel("idle slots")
        row[0].set_title(f"{title}: idle slots (hourly average)", fontsize=10)
        row[1].bar(result.hours, cur.cold, width=1.0, label="current", color="tab:gray", alpha=0.6)
        row[1].bar(result.hours, rec.cold, width=0.6, label="recommended", color="tab:red")
        row[1].set_ylabel("cold starts")
        row[1].set_title(f"{title}: cold starts per hour", fontsize=10)
    axes[0][0].legend(loc="upper right", fontsize=8)
    axes[0][1].legend(loc="upper right", fontsize=8)
    for cell in axes[-1]:
        cell.set_xlabel("hours from the start of the history")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=90)
    plt.close(fig)
    return out.getvalue()


def write_png(result: Backtest, path: Path) -> None:
    path.write_bytes(figure_png(result))


def write_html(result: Backtest, path: Path) -> None:
    image = base64.b64encode(figure_png(result)).decode()
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{t['pod_starts']:,}</td>"
        f"<td>{t['cold_starts']:,}</td><td>{t['cold_start_rate']:.2%}</td>"
        f"<td>{t['idle_slot_hours']:,.1f}</td></tr>"
        for name, t in result.totals.items()
    )
    path.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>eni-tuner backtest</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 10px;"
        "text-align:right}</style></head><body><h1>Backtest: current vs recommended</h1>"
        "<table><tr><th>targets</th><th>pod starts</th><th>cold starts</th><th>rate</th>"
        f"<th>idle slot-hours</th></tr>{rows}</table>"
        f"<img alt='idle slots and cold starts over time' src='data:image/png;base64,{image}'>"
        "</body></html>\n",
        encoding="utf-8",
    )
