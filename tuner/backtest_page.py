"""The backtest as one self-contained HTML page: headline, figure, per-node table.

No external assets: the PNG is embedded as a data URL and the table sorts by a click
on its headers with a few lines of inline JavaScript, so the file works offline and
as a CI artifact. Every text from the history (node names, statuses, targets) is
escaped. The table has one row per node and a column pair per set of targets, so a
third set (e.g. a schedule) adds its columns without changes here.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from tuner.backtest_result import Backtest, NodeResult
from tuner.plots import figure_png

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
    ".headline{font-size:1.4em;font-weight:bold;margin:.2em 0}.sub{font-size:1.1em;margin:0 0 1em}"
    "table{border-collapse:collapse;margin-top:1em}td,th{padding:4px 10px;text-align:right;"
    "border-bottom:1px solid #ddd}td:first-child,th:first-child{text-align:left}"
    "th{cursor:pointer;user-select:none;background:#f4f4f4}th[aria-sort=ascending]::after{"
    "content:' \\25B2'}th[aria-sort=descending]::after{content:' \\25BC'}"
    "tr.colder td{background:#fff0f0}img{max-width:100%}"
)
SORT_SCRIPT = """
document.querySelectorAll('table.nodes th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0];
    var up = th.getAttribute('aria-sort') !== 'ascending';
    th.parentNode.querySelectorAll('th').forEach(function (o) { o.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', up ? 'ascending' : 'descending');
    var key = function (row) {
      var cell = row.cells[col];
      return cell.dataset.v === undefined ? cell.textContent : parseFloat(cell.dataset.v);
    };
    Array.from(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b);
      var order = typeof x === 'number' ? x - y : String(x).localeCompare(String(y));
      return up ? order : -order;
    }).forEach(function (row) { body.appendChild(row); });
  });
});
"""
"""Sorts ``table.nodes`` by the clicked column: numbers by their ``data-v``, the rest
as text; a second click reverses."""


def page(result: Backtest) -> str:
    """The whole report as an HTML document."""
    image = base64.b64encode(figure_png(result)).decode()
    heads = "".join(
        f"<p class='headline'>{_e(h.idle_text())}</p><p class='sub'>{_e(h.cold_text())}</p>"
        for h in result.headlines()
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<title>eni-tuner backtest</title>"
        f"<style>{STYLE}</style></head><body><h1>Backtest: current vs "
        f"{_e(' and '.join(result.names[1:]))} targets</h1>{heads}"
        f"<img alt='idle slots and cold starts per hour, all nodes and the nodes drawn' "
        f"src='data:image/png;base64,{image}'>"
        f"<h2>Per node ({len(result.nodes):,}; click a header to sort)</h2>"
        "<p>Idle slot-hours: idle slots integrated over the history. A shaded row: the "
        f"{_e(result.names[1])} targets add cold starts on that node.</p>"
        f"{node_table(result)}<script>{SORT_SCRIPT}</script></body></html>\n"
    )


def node_table(result: Backtest) -> str:
    """One row per node: targets, idle slot-hours and cold starts under every set, status."""
    names = result.names
    header = (
        ["node"]
        + [f"{name} targets" for name in names]
        + [f"idle slot-hours {name}" for name in names]
        + [f"cold starts {name}" for name in names]
        + ["status"]
    )
    head = "".join(f"<th scope='col'>{_e(h)}</th>" for h in header)
    body = "".join(_row(row) for row in result.nodes)
    return f"<table class='nodes'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _row(row: NodeResult) -> str:
    cells = [f"<td>{_e(row.node)}</td>"]
    cells += [f"<td>{_e(t)}</td>" for t in row.targets]
    cells += [
        f"<td data-v='{o.idle_slot_hours:.6g}'>{o.idle_slot_hours:,.1f}</td>" for o in row.outcomes
    ]
    cells += [f"<td data-v='{o.cold_starts}'>{o.cold_starts:,}</td>" for o in row.outcomes]
    cells.append(f"<td>{_e(row.status)}</td>")
    marked = " class='colder'" if row.cold_added() > 0 else ""
    return f"<tr{marked}>{''.join(cells)}</tr>"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def write_html(result: Backtest, path: Path) -> None:
    path.write_text(page(result), encoding="utf-8")
