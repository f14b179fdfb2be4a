"""`eni-tuner switch`: put in force the pair of the schedule block in force now.

TKE's agent reads one pair of warm targets per NEC. A node whose NEC carries a
time-of-day schedule (``eni-pool.io/warm-schedule``, per mode: see
docs/contracts/annotations.md) gets, at each run, the pair of the block in force at
``now`` written as its pair annotations, both keys in one patch under the NEC's
resourceVersion (the writer of :mod:`tuner.apply`). Nothing is analysed: the
schedule was vetted when ``apply --schedule`` stored it, so ``--min-history`` and
``--max-changes`` do not apply. What does apply: opt-out, the node selector, the
node's max-attach (a block's pair is capped at it, as ``apply`` caps) and never a pair
the engine would refuse. A run inside a block whose pair is already in force changes
nothing; an invalid schedule skips its node (one Warning Event, one log line) and the
run goes on with the others, then ends with exit 2 naming the nodes.

Run it every few minutes (deploy/: a CronJob every 5 minutes): the period bounds how
late a block's pair arrives; any lead time is already in the block hours.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from kube_adapter.events import EventType, NecEvent, post_event
from kube_adapter.nec import SCHEDULE_KEY, current_targets, parse_schedule
from pool_engine.config import Mode, Refusal
from pool_engine.errors import InputError
from pool_engine.warm_schedule import Block, WarmSchedule, hour_of_day
from tuner.apply import Writing, write_changes
from tuner.changes import Change, Guardrails, Result, bounded, excluded_by

if TYPE_CHECKING:
    from kube_adapter.client import ApiClient

log = logging.getLogger(__name__)

INVALID = "invalid schedule"
"""How a skipped node's detail starts when its schedule annotation is not one."""


@dataclass(frozen=True)
class Switch:
    """What a run did to one node's pool of one mode."""

    mode: Mode
    change: Change
    """The pair before and after, and the outcome; the detail names the block."""


def block_in_force(schedule: WarmSchedule, now: datetime) -> Block:
    """The block (of the fewest blocks) covering ``now``'s UTC hour of day."""
    hour = hour_of_day(now.timestamp())
    return next(b for b in schedule.blocks() if hour in b.hours())


def block_name(block: Block) -> str:
    """``block 02:00-06:00``, as the Event and the record say it."""
    return f"block {block.from_hour:02d}:00-{block.to_hour:02d}:00"


def plan_one(
    node: str, annotations: Mapping[str, str], guard: Guardrails, mode: Mode, now: datetime
) -> Change:
    """The pair ``mode``'s schedule puts in force at ``now``; ``skipped`` without a
    schedule, with an invalid one, or when the guardrails keep us off the node."""
    current = current_targets(annotations, mode)
    excluded = excluded_by(node, annotations, guard)
    if excluded is not None:
        return Change(node, current, None, Result.SKIPPED, excluded)
    schedule = parse_schedule(annotations, mode)
    if schedule is None:
        return Change(node, current, None, Result.SKIPPED, f"no {SCHEDULE_KEY[mode]}")
    if isinstance(schedule, Refusal):
        return Change(node, current, None, Result.SKIPPED, f"{INVALID}: {schedule.message}")
    block = block_in_force(schedule, now)
    change = bounded(node, current, block.targets, annotations, guard, mode, explicit=True)
    if change.result is Result.SKIPPED:
        return change
    return replace(change, detail=block_name(block))


def plan(
    necs: Mapping[str, Mapping[str, str]], guard: Guardrails, mode: Mode, now: datetime
) -> list[Change]:
    """One change per NEC that has ``mode``'s schedule key, in node order."""
    return [
        plan_one(node, annotations, guard, mode, now)
        for node, annotations in sorted(necs.items())
        if SCHEDULE_KEY[mode] in annotations
    ]


def writing(mode: Mode, dry_run: bool, guard: Guardrails, now: datetime) -> Writing:
    """How a switch writes: re-planned at the same ``now`` after a conflict; no record
    of the replaced pair; the Event names the block."""

    def replan(node: str, annotations: Mapping[str, str]) -> Change:
        return plan_one(node, annotations, guard, mode, now)

    def message(change: Change) -> str:
        assert change.after is not None
        return (
            f"switched to {change.detail}: min {change.after.min_warm}"
            f" max {change.after.max_warm} ({mode})"
        )

    return Writing(
        replan, mode, dry_run, reason="WarmScheduleSwitched", by="eni-tuner switch",
        record=False, message=message,
    )  # fmt: skip


def run(
    api: ApiClient,
    necs: Mapping[str, Mapping[str, str]],
    uids: Mapping[str, str],
    guard: Guardrails,
    now: datetime,
    dry_run: bool,
) -> list[Switch]:
    """Plan and write every mode; an invalid schedule (as listed, or as read again
    before the write) is logged and reported once per run as a Warning Event on its NEC
    (unless a dry run)."""
    done: list[Switch] = []
    for mode in Mode:
        written = write_changes(api, plan(necs, guard, mode, now),
                                writing(mode, dry_run, guard, now))  # fmt: skip
        for change in written:
            if change.detail.startswith(INVALID):
                log.warning("NEC %s: %s", change.node, change.detail)
                if not dry_run:
                    why = f"{change.detail}; the pair in force stays"
                    event = NecEvent(change.node, uids.get(change.node, ""), "WarmScheduleRefused",
                                     why, EventType.WARNING, "eni-tuner")  # fmt: skip
                    post_event(api, event)
        done += [Switch(mode, change) for change in written]
    return done


class InvalidSchedules(InputError):
    """Schedule annotations that are not schedules (exit 2), named by node and mode."""

    def __init__(self, bad: Sequence[tuple[str, Mode]]) -> None:
        nodes = len({node for node, _ in bad})
        named = ", ".join(f"{node} ({mode})" for node, mode in bad)
        problem = f"invalid on {nodes} NEC{'s' if nodes > 1 else ''}, left as they were: {named}"
        super().__init__("warm-schedule annotation", None, problem)


def raise_for_invalid(done: Sequence[Switch]) -> None:
    """After the record is out: :class:`InvalidSchedules` naming the nodes whose
    schedule annotation is invalid, if any."""
    bad = sorted((s.change.node, s.mode) for s in done if s.change.detail.startswith(INVALID))
    if bad:
        raise InvalidSchedules(bad)
