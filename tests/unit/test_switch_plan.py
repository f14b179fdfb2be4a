"""tuner.switcher and kube_adapter.nec.parse_schedule, pure: the pair of the hour for any
schedule and instant, idempotent, capped at max-attach, invalid schedules refused with
the block named."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from kube_adapter.nec import SCHEDULE_KEY, parse_schedule, targets_annotations
from pool_engine.config import Mode, Reason, Refusal, Targets
from pool_engine.warm_schedule import HOURS, WarmSchedule
from tuner.changes import Guardrails, Result
from tuner.switcher import plan_one

ROUTE = Mode.ROUTE_ENI
pairs = st.tuples(st.integers(0, 40), st.integers(0, 40)).map(lambda p: Targets(min(p), max(p)))
schedules = st.lists(pairs, min_size=HOURS, max_size=HOURS).map(
    lambda hours: WarmSchedule(tuple(hours))
)
instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@given(schedules, instants, pairs)
def test_the_pair_of_the_hour_once(schedule: WarmSchedule, now: datetime, held: Targets) -> None:
    notes = {**targets_annotations(held, ROUTE), SCHEDULE_KEY[ROUTE]: schedule.dumps()}
    change = plan_one("n1", notes, Guardrails(), ROUTE, now)
    assert change.after == schedule.at_hour(now.hour)
    assert change.result is (Result.UNCHANGED if held == change.after else Result.CHANGED)
    start, end = (int(h[:2]) for h in change.detail.removeprefix("block ").split("-"))
    assert now.hour in [(start + k) % 24 for k in range((end - start) % 24 or 24)]
    assert change.after is not None
    again = {**notes, **targets_annotations(change.after, ROUTE)}
    assert plan_one("n1", again, Guardrails(), ROUTE, now).result is Result.UNCHANGED


@given(schedules, instants)
def test_never_above_max_attach(schedule: WarmSchedule, now: datetime) -> None:
    notes = {SCHEDULE_KEY[ROUTE]: schedule.dumps(), "tke.cloud.tencent.com/route-eni-max-attach": "1",
             "tke.cloud.tencent.com/max-ip-per-route-eni": "6"}  # fmt: skip
    change = plan_one("n1", notes, Guardrails(), ROUTE, now)
    assert change.after is not None and change.after.max_warm <= 6


def test_opt_out_selector_and_no_schedule_are_skipped() -> None:
    now = datetime(2025, 1, 6, 3, tzinfo=UTC)
    night = WarmSchedule.constant(Targets(2, 3)).dumps()
    out = plan_one("n1", {SCHEDULE_KEY[ROUTE]: night, "eni-pool.io/tuner-opt-out": "True"},
                   Guardrails(), ROUTE, now)  # fmt: skip
    assert out.outcome.startswith("skipped: opted out")
    other = plan_one("n1", {SCHEDULE_KEY[ROUTE]: night}, Guardrails(selected=frozenset()),
                     ROUTE, now)  # fmt: skip
    assert other.outcome == "skipped: not selected"
    assert plan_one("n1", {}, Guardrails(), ROUTE, now).outcome.startswith("skipped: no ")


def test_invalid_schedules_name_the_block() -> None:
    key = SCHEDULE_KEY[Mode.DIRECT_ENI]
    cases = {
        "[]": "non-empty JSON list",
        "{": "not JSON",
        '[{"from_hour":0,"to_hour":24,"min_warm":3,"max_warm":"4"}]': "block 1: max_warm must",
        '[{"from_hour":0,"to_hour":24,"min_warm":1,"max_warm":300}]': "block 0-24:",
        '[{"from_hour":0,"to_hour":12,"min_warm":1,"max_warm":2},'
        '{"from_hour":6,"to_hour":24,"min_warm":1,"max_warm":2}]': "block 2: hour 6 is covered",
    }
    for text, problem in cases.items():
        refused = parse_schedule({key: text}, Mode.DIRECT_ENI)
        assert isinstance(refused, Refusal), text
        assert refused.reason is Reason.INVALID_SCHEDULE
        assert refused.message.startswith(key) and problem in refused.message, refused.message
    assert parse_schedule({}, Mode.DIRECT_ENI) is None
    assert parse_schedule({SCHEDULE_KEY[ROUTE]: "{"}, Mode.DIRECT_ENI) is None  # the other mode's
