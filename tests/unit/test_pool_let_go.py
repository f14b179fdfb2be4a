"""`recommend` without --mode reads its pools one after the other (a trace's, or, since
5457bce, Prometheus' route-eni then direct-eni series): a pool's history must be let
go before the next one is read, with and without --schedule. Found by an adversarial
review of 5457bce: `recommend` built its reports in a list comprehension whose loop
variable still held the route-eni history while the direct-eni pool was read (6014baf
had let it go in `recommend --schedule` and in the trace reader only)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pool_engine.config import Mode
from tuner import pipeline
from tuner.history import History
from tuner.settings import ObjectiveSettings, ReplaySettings
from tuner.sources import TraceHistory

BOTH = (
    "time,node,event,mode\n"
    "0,calm,start,route-eni\n"
    "10,calm,start,route-eni\n"
    "20,calm,stop,route-eni\n"
    "0,eni,start,direct-eni\n"
    "15,eni,start,direct-eni\n"
    "30,eni,stop,direct-eni\n"
)


class PoolByPool:
    """A history source that is no trace (as Prometheus is: each pool read on its own),
    noting on each read which histories it handed out are still alive."""

    def __init__(self, path: Path) -> None:
        self.trace = TraceHistory(path)
        self.handed: list[weakref.ref[History]] = []
        self.alive_at_read: list[list[bool]] = []

    def load(self, mode: Mode) -> History:
        gc.collect()
        self.alive_at_read.append([ref() is not None for ref in self.handed])
        history = self.trace.load(mode)
        self.handed.append(weakref.ref(history))
        return history


@pytest.mark.parametrize("schedule", [False, True], ids=["all-day", "schedule"])
def test_the_route_eni_history_is_let_go_before_the_direct_eni_pool_is_read(
    tmp_path: Path, schedule: bool
) -> None:
    path = tmp_path / "both.csv"
    path.write_text(BOTH)
    source = PoolByPool(path)
    replay, objective = ReplaySettings(), ObjectiveSettings()  # no --mode: every pool
    if schedule:
        reports = pipeline.recommend_schedules(source, replay, objective, 0.0, ZoneInfo("UTC"),
                                               lambda _: None)  # type: ignore[arg-type]  # fmt: skip
        modes = [r.recommend.mode for r in reports]
    else:
        plain = pipeline.recommend(source, replay, objective, 0.0, lambda _: None)  # type: ignore[arg-type]
        modes = [r.mode for r in plain]
    assert modes == [Mode.ROUTE_ENI, Mode.DIRECT_ENI]
    assert source.alive_at_read == [[], [False]]
