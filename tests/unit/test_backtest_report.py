"""The backtest's figure and HTML page: honest axes (inspected on the matplotlib objects
before saving), a PNG from the Agg backend, a per-node table that sorts offline and
escapes node names, and any number of named series (a third one, e.g. a schedule,
drawn and tabled like the others)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from pool_engine.config import Targets
from pool_engine.replay import NodeTargets, SimulationSettings
from support.traces import bursty, quiet, trace_text
from tuner import backtest, backtest_page, plots
from tuner.backtest_result import Backtest, Outcome, Series
from tuner.history import load_history

Write = Callable[[str, str], Path]
ODD = "b<&'\"x>"
"""A node name with every character HTML gives a meaning to."""


@pytest.fixture
def result(write: Write) -> Backtest:
    trace = trace_text(quiet("calm") + bursty("busy", 8) + bursty(ODD, 3))
    history = load_history(write("t.csv", trace))
    tested = {"calm": NodeTargets(Targets(1, 2)), "busy": NodeTargets(Targets(2, 3)),
              ODD: NodeTargets(Targets(0, 1))}  # fmt: skip
    return backtest.run(history, SimulationSettings(), {}, tested, NodeTargets(Targets(5, 5)))


def with_schedule(result: Backtest) -> Backtest:
    """``result`` with a third set of targets, as a schedule's backtest would add."""

    def third(series: tuple[Series, ...]) -> tuple[Series, ...]:
        return (*series, Series("schedule", series[1].idle * 0.5, series[1].cold + 1))

    rows = tuple(
        dataclasses.replace(r, targets=(*r.targets, "0-8h 1/2, 8-24h 5/5"),
                            outcomes=(*r.outcomes, Outcome(1, 1, 1.0)))
        for r in result.nodes
    )  # fmt: skip
    panels = tuple(
        dataclasses.replace(p, row=next(r for r in rows if r.node == p.row.node),
                            series=third(p.series))
        for p in result.panels
    )  # fmt: skip
    return dataclasses.replace(
        result,
        cluster=third(result.cluster),
        outcomes=(*result.outcomes, Outcome(1, 1, 1.0)),
        nodes=rows,
        panels=panels,
    )


def test_every_y_axis_starts_at_zero_and_cold_starts_tick_whole(result: Backtest) -> None:
    fig = plots.figure(result)
    axes = fig.axes
    assert len(axes) == 2 * (1 + len(result.panels)) and len(result.panels) == 3
    for ax in axes:
        assert ax.get_ylim()[0] == 0
        assert ax.get_xlim() == (0, result.hours)
    fig.canvas.draw()  # ticks as drawn
    cold_axes = [ax for ax in axes if ax.get_ylabel() == plots.COLD_LABEL]
    assert len(cold_axes) == 1 + len(result.panels)
    for ax in cold_axes:
        ticks = [t for t in ax.get_yticks() if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks)
    idle_axes = [ax for ax in axes if ax.get_ylabel() == plots.IDLE_LABEL]
    # node panels compare: one scale per column; the cluster has its own
    assert len({ax.get_ylim() for ax in idle_axes[1:]}) == 1
    assert len({ax.get_ylim() for ax in cold_axes[1:]}) == 1
    top = max(float(np.max(s.idle)) for p in result.panels for s in p.series)
    assert idle_axes[1].get_ylim()[1] >= top


def test_the_figure_says_the_headline_and_each_panels_targets(result: Backtest) -> None:
    fig = plots.figure(result)
    texts = [t.get_text() for sub in fig.subfigs for t in sub.texts]
    titles = [sub._suptitle.get_text() for sub in fig.subfigs if sub._suptitle is not None]
    (head,) = result.headlines()
    assert texts[:2] == [head.idle_text(), head.cold_text()]
    assert titles[0] == "all 3 nodes"
    assert titles[1:] == [p.title() for p in result.panels]
    assert any("current 5/5 -> recommended 1/2" in t for t in titles)
    legends = [t.get_text() for sub in fig.subfigs for leg in sub.legends for t in leg.texts]
    assert "current 5/5" in legends and "recommended 0/1" in legends


def test_the_png_is_drawn_by_agg(result: Backtest) -> None:
    png = plots.figure_png(result)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width == 13 * 90
    assert abs(height - plots.figure(result).get_figheight() * 90) <= 1


class Table(HTMLParser):
    """The page's table rows as cell texts, and whether it loads anything from outside."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.header: list[str] = []
        self.outside: list[str] = []
        self._cell: str | None = None
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("link", "iframe") or (tag in ("img", "script") and "src" in values and
                                          not str(values["src"]).startswith("data:")):  # fmt: skip
            self.outside.append(tag)
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            (self.rows[-1] if tag == "td" else self.header).append(self._cell)
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell += data


def parsed(page: str) -> Table:
    table = Table()
    table.feed(page)
    return table


def test_one_escaped_row_per_node(result: Backtest) -> None:
    page = backtest_page.page(result)
    table = parsed(page)
    assert [row[0] for row in table.rows] == [r.node for r in result.nodes]
    assert sorted(row[0] for row in table.rows) == sorted(["calm", "busy", ODD])
    assert ODD not in page and "b&lt;&amp;&#x27;&quot;x&gt;" in page
    assert table.header == [
        "node", "current targets", "recommended targets", "idle slot-hours current",
        "idle slot-hours recommended", "cold starts current", "cold starts recommended", "status",
    ]  # fmt: skip
    for row, node in zip(table.rows, result.nodes, strict=True):
        assert row[1:3] == list(node.targets)
        assert row[5:7] == [f"{o.cold_starts:,}" for o in node.outcomes]
        assert row[7] == node.status
    assert table.outside == []
    assert "data:image/png;base64," in page and "<script>" in page
    (head,) = result.headlines()
    assert head.idle_text() in page


SHIM = """
const script = require('fs').readFileSync(0, 'utf8');
const rows = JSON.parse(process.argv[1]).map(function (cells) {
  return {cells: cells.map(function (c) {
    return c === null ? null : {textContent: c[0], dataset: c[1] === null ? {} : {v: c[1]}};
  })};
});
const body = {rows: rows.slice(), appendChild: function (r) {
  this.rows.splice(this.rows.indexOf(r), 1); this.rows.push(r); }};
const heads = [];
const row = {querySelectorAll: function () { return heads; }};
const table = {tBodies: [body]};
for (let i = 0; i < rows[0].cells.length; i++) {
  const attrs = {};
  heads.push({parentNode: row, closest: function () { return table; },
    getAttribute: function (k) { return k in attrs ? attrs[k] : null; },
    setAttribute: function (k, v) { attrs[k] = v; }, removeAttribute: function (k) { delete attrs[k]; },
    addEventListener: function (_, f) { this.click = f; }});
}
global.document = {querySelectorAll: function () { return heads; }};
eval(script);
const out = [];
for (const col of JSON.parse(process.argv[2])) {
  heads[col].click();
  out.push(body.rows.map(function (r) { return r.cells[0].textContent; }));
}
console.log(JSON.stringify(out));
"""
"""Just enough DOM for the page's sort script: header cells that take a click, a
tbody whose rows move on appendChild, cells with textContent and data-v."""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the page's script")
def test_clicking_a_header_sorts_the_rows(result: Backtest) -> None:
    script = backtest_page.SORT_SCRIPT
    assert script in backtest_page.page(result)
    cells = [[[r.node, None], *[[f"{o.idle_slot_hours:,.1f}", repr(o.idle_slot_hours)]
                                for o in r.outcomes]] for r in result.nodes]  # fmt: skip
    clicks = [0, 0, 1, 2]  # node up, node down, idle current up, idle recommended up
    done = subprocess.run(["node", "-e", SHIM, json.dumps(cells), json.dumps(clicks)],
                          input=script, capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    by_name, by_name_down, by_current, by_tested = json.loads(done.stdout)
    names = [r.node for r in result.nodes]
    assert by_name == sorted(names, key=str.lower) or by_name == sorted(names)
    assert by_name_down == list(reversed(by_name))
    ordered = sorted(result.nodes, key=lambda r: r.outcomes[0].idle_slot_hours)
    assert by_current == [r.node for r in ordered]
    ordered = sorted(result.nodes, key=lambda r: r.outcomes[1].idle_slot_hours)
    assert by_tested == [r.node for r in ordered]


def test_a_third_series_is_drawn_and_tabled(result: Backtest) -> None:
    three = with_schedule(result)
    fig = plots.figure(three)
    for ax in fig.axes:
        assert [line.get_label() for line in ax.patches][-1].startswith("schedule")
        assert len(ax.patches) == 3 and ax.get_ylim()[0] == 0
    assert len(three.headlines()) == 2
    table = parsed(backtest_page.page(three))
    assert "schedule targets" in table.header and "cold starts schedule" in table.header
    assert all("0-8h 1/2, 8-24h 5/5" in row for row in table.rows)
    assert len(table.rows) == len(result.nodes)
