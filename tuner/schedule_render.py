"""``recommend --schedule`` output: documents, a targets file, a table, kubectl lines.

- JSON/YAML: each node's document of ``recommend`` plus the fields of
  :meth:`tuner.schedule_advice.ScheduleAdvice.to_json` (``schedule``: blocks by UTC hour).
- CSV: one row per block, ``node,min_warm,max_warm,from_hour,to_hour`` first: the
  targets file of docs/contracts/schedules.md, which ``--targets`` reads back (the
  further columns are ignored there).
- Table: one line per node, its blocks compact; ``--timezone`` shifts the hours the
  table shows (labelled), never the documents or the CSV.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pool_engine.config import Mode
from pool_engine.warm_schedule import WarmSchedule
from tuner import kubectl_lines, report
from tuner.columns import Cell, Column, Columns, CsvRows, print_lines, stdout_console
from tuner.recommendation import Expected, Recommendation
from tuner.schedule_advice import ScheduleAdvice, ScheduleStatus

CSV_FIELDS = ("node", "min_warm", "max_warm", "from_hour", "to_hour", "status",
              "schedule_status", "all_day_min_warm", "all_day_max_warm", "why",
              "mode")  # fmt: skip


@dataclass(frozen=True)
class HourDisplay:
    """How the table shows a UTC hour of day: shifted into a time zone."""

    zone: str
    """IANA name (``UTC`` unless ``--timezone`` says otherwise)."""
    minutes: int
    """The zone's offset from UTC, in minutes, at the end of the history."""

    @classmethod
    def of(cls, zone: ZoneInfo, at: datetime) -> HourDisplay:
        """``zone``'s offset at ``at`` (a schedule is by UTC hour; a zone with summer
        time shows it as it stands at the end of the history)."""
        offset = at.astimezone(zone).utcoffset() or timedelta(0)
        return cls(str(zone.key), int(offset.total_seconds() // 60))

    def clock(self, utc_hour: int) -> str:
        """``HH:MM`` in the zone of UTC hour ``utc_hour`` (24 for the end of a day)."""
        minutes = (utc_hour * 60 + self.minutes) % (24 * 60)
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    def label(self) -> str:
        if self.minutes == 0 and self.zone in ("UTC", "Etc/UTC"):
            return "hours UTC"
        sign = "+" if self.minutes >= 0 else "-"
        size = abs(self.minutes)
        return f"hours in {self.zone} (UTC{sign}{size // 60:02d}:{size % 60:02d})"


UTC_DISPLAY = HourDisplay("UTC", 0)


def documents(recs: Sequence[Recommendation], advice: Sequence[ScheduleAdvice],
              mode: Mode) -> list[dict[str, Any]]:  # fmt: skip
    """``recommend``'s documents, each with its node's schedule fields."""
    docs = report.as_dicts(recs, mode)
    for doc, rec, one in zip(docs, recs, advice, strict=True):
        doc.update(one.to_json())
        all_day = rec.all_day()
        if rec.recommended.schedule is not None and all_day is not None:
            # the node's all-day fallback (docs/contracts/schedules.md), not its hour 0
            doc["min_warm"], doc["max_warm"] = all_day.min_warm, all_day.max_warm
        # the node's line of `-o kubectl`: what `apply --schedule` writes
        doc["kubectl"] = kubectl_lines.schedule_line(
            rec, one.schedule if one.scheduled() else None, mode
        )
    return docs


def to_csv(recs: Sequence[Recommendation], advice: Sequence[ScheduleAdvice], mode: Mode,
           header: bool = True) -> str:  # fmt: skip
    """One row per block: a targets file ``--targets`` reads back; ``header`` False:
    the rows alone (of a further pool)."""
    out = io.StringIO()
    writer = CsvRows(out)
    if header:
        writer.writerow(CSV_FIELDS)
    for rec, one in zip(recs, advice, strict=True):
        notes = {(n.from_hour, n.to_hour): n.why for n in one.notes}
        all_day = rec.all_day()
        for block in one.schedule.blocks():
            t = block.targets
            why = notes.get((block.from_hour, block.to_hour), one.reason)
            writer.writerow([rec.node, t.min_warm, t.max_warm, block.from_hour, block.to_hour,
                             rec.status.value, one.status.value,
                             "" if all_day is None else all_day.min_warm,
                             "" if all_day is None else all_day.max_warm, why,
                             mode.value])  # fmt: skip
    return out.getvalue()


def blocks_text(schedule: WarmSchedule, display: HourDisplay = UTC_DISPLAY) -> str:
    """``01:00-03:00 10/10, 03:00-01:00 1/1``; one pair all day: ``all day 5/5``."""
    if schedule.is_constant():
        t = schedule.at_hour(0)
        return f"all day {t.min_warm}/{t.max_warm}"
    return ", ".join(
        f"{display.clock(b.from_hour)}-{display.clock(b.to_hour)} "
        f"{b.targets.min_warm}/{b.targets.max_warm}"
        for b in schedule.blocks()
    )


def _versus(all_day: Expected | None, scheduled: Expected | None, value: str) -> str:
    """All-day figure -> schedule figure (``-`` when not replayed)."""
    if all_day is None or scheduled is None:
        return "-"
    pick = {"idle": lambda e: f"{e.idle_slots:.1f}", "cold": lambda e: f"{e.cold_rate:.2%}"}
    return f"{pick[value](all_day)} -> {pick[value](scheduled)}"


def _status(one: ScheduleAdvice) -> Cell:
    return Cell(one.status.value, "green" if one.status is ScheduleStatus.SCHEDULED else "")


def print_table(recs: Sequence[Recommendation], advice: Sequence[ScheduleAdvice],
                objective: str, display: HourDisplay, wide: bool = False) -> None:  # fmt: skip
    """``recommend --schedule -o table`` (``wide``: with each block's reason): one line
    per node, its all-day pair and its blocks; idle and cold starts of the all-day
    pair -> the schedule, over the history (forecast only)."""
    columns = [Column("node"), Column("all-day"), Column("schedule"),
               Column("idle slots"), Column("cold starts"), Column("schedule status")]  # fmt: skip
    if wide:
        columns.append(Column("reason"))
    table = Columns(columns)
    for rec, one in zip(recs, advice, strict=True):
        all_day = rec.all_day()
        cells: list[str | Cell] = [
            rec.node,
            "-" if all_day is None else f"{all_day.min_warm}/{all_day.max_warm}",
            blocks_text(one.schedule, display),
            _versus(one.all_day, one.expected, "idle"),
            _versus(one.all_day, one.expected, "cold"),
            _status(one),
        ]
        if wide:
            cells.append(one.reason)
        table.add(*cells)
    console = stdout_console()
    title = (f"Warm-pool schedules ({objective}; {display.label()}; forecast only: "
             "all-day pair -> schedule over the history)")  # fmt: skip
    print_lines(console, [title, *table.lines()])
    if wide:
        lines = []
        for one in advice:
            lines += [f"  {one.node} {display.clock(n.from_hour)}-{display.clock(n.to_hour)}: "
                      f"{n.why}" for n in one.notes]  # fmt: skip
            if one.weekly:
                lines.append(f"  {one.node}: {one.weekly}")
        if lines:
            print_lines(console, ["", "Blocks:", *lines])


def to_kubectl(recs: Sequence[Recommendation], advice: Sequence[ScheduleAdvice],
               mode: Mode) -> str:  # fmt: skip
    """What ``apply --schedule`` writes, as commands
    (:func:`tuner.kubectl_lines.to_kubectl_schedules`)."""
    return kubectl_lines.to_kubectl_schedules(recs, mode, _scheduled(advice))


def _scheduled(advice: Sequence[ScheduleAdvice]) -> dict[str, tuple[WarmSchedule, str]]:
    return {one.node: (one.schedule, blocks_text(one.schedule))
            for one in advice if one.scheduled()}  # fmt: skip
