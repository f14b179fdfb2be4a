"""exporter.cluster with time-of-day schedules: the acting engine follows a NEC's
schedule hour by hour (R7 at the boundary), refuses an invalid one once (what was in
force stays, an Event, the rejection counted), and publishes the block in force; in
tke-observe it applies nothing and publishes the block all the same."""

from __future__ import annotations

import queue

from prometheus_client import CollectorRegistry

from exporter.cluster import ClusterEngine
from exporter.incidents import Incidents
from exporter.kube import Change, NecInfo, NodeInfo
from exporter.metrics import Instruments, PoolCollector
from kube_adapter.nec import LAST_VALID_TARGETS, SCHEDULE_KEY
from kube_adapter.watcher import Resource
from pool_engine.config import Defaults, Mode, Targets
from pool_engine.warm_schedule import Block, WarmSchedule
from support.cluster_engine import Recorder, Synced

P = "tke.cloud.tencent.com/"
PAIR = {P + "route-eni-ip-min-warm-target": "5", P + "route-eni-ip-max-warm-target": "5"}
ROUTE = Mode.ROUTE_ENI
HOUR = 3600.0
NIGHT = WarmSchedule.from_blocks(
    [Block(22, 6, Targets(6, 9)), Block(6, 9, Targets(3, 4)), Block(9, 22, Targets(1, 2))]
)


class Engine:
    """Engine time 0 is 21:30 UTC, so hour boundaries fall at 1800 s + k hours."""

    def __init__(self, *, observe: bool = False) -> None:
        self.changes: queue.Queue[Change] = queue.Queue()
        self.outbox = Recorder()
        self.instruments = Instruments("test")
        self.engine = ClusterEngine(
            self.changes, [Synced()], Defaults(), self.outbox,
            Incidents(self.instruments.engine_errors), observe=observe,
            day_offset=21.5 * HOUR,
        )  # fmt: skip

    def at(self, now: float, *changes: Change) -> None:
        for change in changes:
            self.changes.put(change)
        self.engine.advance(now)

    def targets(self) -> Targets:
        return self.engine.registry.pools[("n1", ROUTE)].targets

    def rejections(self) -> dict[str, int]:
        pool = self.engine.registry.pools[("n1", ROUTE)]
        return {str(k): v for k, v in self.engine.reconciler.counters(pool).rejections.items()}

    def sample(self, name: str, now: float) -> float | None:
        registry = CollectorRegistry()
        registry.register(PoolCollector(lambda: self.engine.snapshot(now)))
        return registry.get_sample_value(name, {"node": "n1", "mode": "route-eni"})


def nec(schedule: str | None) -> Change:
    schedules = {} if schedule is None else {SCHEDULE_KEY[ROUTE]: schedule}
    return Change(Resource.NEC, False, "n1", NecInfo("n1", "uid-n1", dict(PAIR), {}, schedules))


def node() -> Change:
    return Change(Resource.NODE, False, "n1", NodeInfo("n1", 16, {}))


def test_the_engine_follows_the_schedule_hour_by_hour() -> None:
    engine = Engine()
    engine.at(1.0, nec(NIGHT.dumps()), node())  # 21:30: the day block, not the NEC's 5/5
    assert engine.targets() == Targets(1, 2)
    assert engine.sample("eni_pool_schedule_active_block", 1.0) == 9
    engine.at(1799.0)
    assert engine.targets() == Targets(1, 2)
    engine.at(1800.5)  # 22:00 (one loop step late): the night block
    assert engine.targets() == Targets(6, 9)
    assert engine.sample("eni_pool_schedule_active_block", 1800.5) == 22
    assert engine.sample("eni_pool_scheduled_min_warm_target", 1800.5) == 6
    assert engine.sample("eni_pool_scheduled_max_warm_target", 1800.5) == 9
    assert engine.sample("eni_pool_min_warm_target", 1800.5) == 6
    last = engine.outbox.records[-1][1][LAST_VALID_TARGETS]
    assert '"min_warm":6' in last  # a restart takes the night block's pair from the record
    engine.at(1800.0 + 8 * HOUR + 1)  # 06:00 the next day, past midnight
    assert engine.targets() == Targets(3, 4)
    assert not engine.outbox.events and not engine.rejections()

    engine.at(1800.0 + 9 * HOUR + 1, nec(None))  # the schedule removed: the NEC's pair
    assert engine.targets() == Targets(5, 5)
    assert engine.sample("eni_pool_schedule_active_block", 1800.0 + 9 * HOUR + 1) is None


def test_an_invalid_schedule_is_refused_once_and_what_was_in_force_stays() -> None:
    engine = Engine()
    engine.at(1.0, nec(NIGHT.dumps()), node())
    bad = '[{"from_hour":0,"to_hour":12,"min_warm":1,"max_warm":1}]'  # 12-24 uncovered
    engine.at(2.0, nec(bad))
    assert engine.targets() == Targets(1, 2)
    assert [e.reason for e in engine.outbox.events] == ["WarmTargetRefused"]
    assert "hours not covered: 12-24" in engine.outbox.events[0].message
    assert engine.rejections() == {"invalid_schedule": 1}
    engine.at(3.0)
    engine.at(4.0, nec(bad))  # the same NEC again: not a change, not refused again
    assert len(engine.outbox.events) == 1
    engine.at(1801.0)  # the schedule kept (the previous valid one) still switches
    assert engine.targets() == Targets(6, 9)


def test_an_invalid_schedule_on_a_new_node_leaves_the_pair() -> None:
    engine = Engine()
    engine.at(1.0, nec("not json"), node())
    assert engine.targets() == Targets(5, 5)
    assert engine.rejections() == {"invalid_schedule": 1}


def test_tke_observe_applies_nothing_and_publishes_the_block() -> None:
    engine = Engine(observe=True)
    engine.at(1.0, nec(NIGHT.dumps()), node())
    assert engine.targets() == Targets(5, 5)  # the switch CronJob writes TKE's pair
    engine.at(1801.0)
    assert engine.targets() == Targets(5, 5)
    assert engine.sample("eni_pool_schedule_active_block", 1801.0) == 22
    assert engine.sample("eni_pool_scheduled_min_warm_target", 1801.0) == 6
    engine.at(1802.0, nec("not json"))
    assert not engine.outbox.events  # the switch reports it on TKE
