"""The schedule type: blocks <-> 24 hours, validation, hour of day of a replay time."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pool_engine.config import Targets
from pool_engine.warm_schedule import (
    Block,
    ScheduleProblem,
    WarmSchedule,
    hour_of_day,
    next_hour_start,
)

LOW, HIGH = Targets(1, 2), Targets(8, 12)


def test_wrapping_block_covers_past_midnight() -> None:
    s = WarmSchedule.from_blocks([Block(22, 6, HIGH), Block(6, 22, LOW)])
    assert [s.at_hour(h) for h in (21, 22, 23, 0, 5, 6)] == [LOW, HIGH, HIGH, HIGH, HIGH, LOW]
    assert s.blocks() == (Block(6, 22, LOW), Block(22, 6, HIGH))
    assert s.boundaries() == [6, 22]
    assert s.describe() == "6-22 1/2, 22-6 8/12"


def test_all_day_block_is_constant() -> None:
    s = WarmSchedule.from_blocks([Block(0, 24, LOW)])
    assert s.is_constant() and s.blocks() == (Block(0, 24, LOW),) and s.boundaries() == []


@pytest.mark.parametrize(
    ("blocks", "index", "words"),
    [
        ([Block(3, 3, LOW)], 0, "empty block"),
        ([Block(0, 12, LOW), Block(11, 24, HIGH)], 1, "hour 11 is covered twice"),
        ([Block(0, 12, LOW)], None, "hours not covered: 12-24"),
        ([Block(0, 24, Targets(3, 2))], 0, "min_warm 3 > max_warm 2"),
        ([Block(24, 2, LOW)], 0, "from_hour 24"),
        ([Block(0, 25, LOW)], 0, "to_hour 25"),
    ],
)
def test_bad_blocks_name_the_block(blocks: list[Block], index: int | None, words: str) -> None:
    with pytest.raises(ScheduleProblem, match=words) as caught:
        WarmSchedule.from_blocks(blocks)
    assert caught.value.index == index


pairs = st.builds(Targets, st.integers(0, 3), st.integers(3, 6))


@given(st.lists(pairs, min_size=24, max_size=24))
def test_blocks_round_trip(hourly: list[Targets]) -> None:
    s = WarmSchedule(tuple(hourly))
    assert WarmSchedule.from_blocks(s.blocks()) == s
    assert WarmSchedule.loads(s.dumps()) == s
    merged = s.blocks()
    # fewest blocks: neighbours (cyclically) always differ
    if len(merged) > 1:
        assert all(
            a.targets != b.targets for a, b in zip(merged, merged[1:] + merged[:1], strict=True)
        )


@pytest.mark.parametrize(
    "text", ["", "{}", "[]", '[{"from_hour":0,"to_hour":24,"min_warm":true,"max_warm":1}]',
             '[{"from_hour":0,"to_hour":24,"min_warm":-1,"max_warm":1}]', "[1]"],
)  # fmt: skip
def test_annotation_text_refused(text: str) -> None:
    with pytest.raises(ScheduleProblem):
        WarmSchedule.loads(text)


def test_hour_of_day_and_boundaries() -> None:
    assert hour_of_day(0) == 0 and hour_of_day(3599.9) == 0 and hour_of_day(3600) == 1
    assert hour_of_day(86400 + 7200) == 2
    assert (
        hour_of_day(0, offset=23 * 3600 + 1800) == 23 and hour_of_day(1800, 23 * 3600 + 1800) == 0
    )
    assert next_hour_start(0) == 3600 and next_hour_start(3600) == 7200
    assert next_hour_start(0, offset=1800) == 1800
