"""`eni-tuner apply --schedule`: each node's time-of-day schedule stored on its NEC.

TKE's agent reads one pair per NEC, so a schedule is kept beside it, in the annotation
of its mode (``eni-pool.io/warm-schedule`` for route-eni,
``eni-pool.io/direct-eni-warm-schedule`` for direct-eni; docs/contracts/annotations.md)
and ``eni-tuner switch`` (:mod:`tuner.switcher`) puts the block in force into the pair.

What a node gets is a :class:`WarmSchedule` either way. A recommendation with a schedule
stores it; one without (no daily structure: the schedule collapsed to the all-day pair)
stores none: its schedule annotation is removed and the all-day pair is written in the
same patch, so no stale schedule stays behind for the switch to follow. What a NEC
holds is read the same way: its valid schedule, else the constant schedule of its pair.

The guardrails are ``apply``'s (opt-out, selector, minimum history, borrowed only on
request, a cap on nodes changed per run, most useful first), every block capped at the
node's max-attach and checked as the engine checks a pair. Each write is one merge patch
under the NEC's resourceVersion (re-planned after a conflict), records what it replaced
in ``eni-pool.io/previous-warm-schedule`` and posts an Event; ``--rollback`` puts the
recorded schedule back the same way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kube_adapter.events import EventType, NecEvent
from kube_adapter.nec import (
    SCHEDULE_KEY,
    Necs,
    capacity,
    current_targets,
    parse_schedule,
    targets_annotations,
)
from pool_engine.config import Mode, Refusal, Targets, parse_targets
from pool_engine.warm_schedule import ScheduleProblem, WarmSchedule
from tuner.apply import benefit, held_back
from tuner.changes import Guardrails, Result, excluded_by, record_of
from tuner.nec_writes import Writer, write_all
from tuner.recommendation import Recommendation

if TYPE_CHECKING:
    from kube_adapter.client import ApiClient

log = logging.getLogger(__name__)

PREVIOUS_SCHEDULE = "eni-pool.io/previous-warm-schedule"
"""JSON record of the schedule a write replaced (its blocks; one 0-24 block: the pair)."""
PREVIOUS_SCHEDULE_KEY = {
    Mode.ROUTE_ENI: PREVIOUS_SCHEDULE,
    Mode.DIRECT_ENI: "eni-pool.io/previous-direct-eni-warm-schedule",
}
"""Each pool's record (as :data:`tuner.changes.PREVIOUS_KEY`)."""


@dataclass(frozen=True)
class ScheduleChange:
    """What a run did to one node's schedule."""

    node: str
    before: WarmSchedule | None
    """What the NEC held: its schedule, else its pair all day; None without a NEC."""
    after: WarmSchedule | None
    """What it holds after; None when nothing was planned."""
    result: Result
    detail: str = ""
    """Why, for ``skipped`` and ``failed``."""
    retries: int = 0
    mode: Mode | None = None
    """The pool, as the run's record names it."""

    @property
    def outcome(self) -> str:
        return f"{self.result}: {self.detail}" if self.detail else str(self.result)

    def failed(self) -> bool:
        return self.result is Result.FAILED

    def as_dict(self) -> dict[str, Any]:
        """The record of ``-o json``/``yaml``: blocks before and after."""
        return {
            "node": self.node,
            "mode": None if self.mode is None else self.mode.value,
            "outcome": self.outcome,
            "before": None if self.before is None else self.before.to_json(),
            "after": None if self.after is None else self.after.to_json(),
            "retries": self.retries,
        }


Replan = Callable[[str, Mapping[str, str]], ScheduleChange]


def held(annotations: Mapping[str, str], mode: Mode) -> WarmSchedule:
    """The schedule a NEC holds: its valid schedule, else its pair (or the default) all day."""
    stored = parse_schedule(annotations, mode)
    if isinstance(stored, WarmSchedule):
        return stored
    return WarmSchedule.constant(current_targets(annotations, mode))


def fitted(
    node: str, before: WarmSchedule, wanted: WarmSchedule, annotations: Mapping[str, str],
    mode: Mode,
) -> ScheduleChange:  # fmt: skip
    """``wanted`` with every hour capped at the node's max-attach, refused where the
    engine would refuse its pair; ``unchanged`` when the NEC holds it already (and its
    schedule annotation, if any, is valid)."""
    cap = capacity(annotations, mode)
    if cap is not None:
        wanted = WarmSchedule(tuple(Targets(min(t.min_warm, cap), min(t.max_warm, cap))
                                    for t in wanted.hourly))  # fmt: skip
    checked = parse_schedule({SCHEDULE_KEY[mode]: wanted.dumps()}, mode)
    if isinstance(checked, Refusal):
        return ScheduleChange(node, before, wanted, Result.SKIPPED, checked.message)
    stored = parse_schedule(annotations, mode)
    if wanted.is_constant() and stored is None:  # written as a pair: that pair must be valid
        valid = not isinstance(parse_targets(annotations, mode), Refusal)
    else:
        valid = not isinstance(stored, Refusal)
    if wanted == before and valid:
        return ScheduleChange(node, before, wanted, Result.UNCHANGED)
    return ScheduleChange(node, before, wanted, Result.CHANGED)


def plan_one(
    rec: Recommendation, annotations: Mapping[str, str] | None, guard: Guardrails, mode: Mode
) -> ScheduleChange:
    if annotations is None:
        return ScheduleChange(rec.node, None, None, Result.SKIPPED, "no NEC object")
    before = held(annotations, mode)
    why = excluded_by(rec.node, annotations, guard) or held_back(rec, guard)
    if why is not None:
        return ScheduleChange(rec.node, before, None, Result.SKIPPED, why)
    pair = Targets(rec.recommended.min_warm, rec.recommended.max_warm)
    wanted = rec.schedule or WarmSchedule.constant(pair)
    return fitted(rec.node, before, wanted, annotations, mode)


def plan(
    recs: Sequence[Recommendation],
    necs: Mapping[str, Mapping[str, str]],
    guard: Guardrails,
    mode: Mode,
) -> list[ScheduleChange]:
    """One change per recommendation; at most ``guard.max_changes`` change, most useful first."""
    planned = [(benefit(rec), plan_one(rec, necs.get(rec.node), guard, mode)) for rec in recs]
    return _capped(planned, guard.max_changes)


def recorded(annotations: Mapping[str, str], mode: Mode) -> WarmSchedule | str:
    """The schedule recorded before the last write of ``mode``, or why there is none."""
    key, text = record_of(annotations, PREVIOUS_SCHEDULE_KEY, mode)
    if text is None:
        return f"nothing recorded to roll back to ({key})"
    try:
        record = json.loads(text)
        if record["mode"] != mode.value:
            return f"the record is of {record['mode']} targets, not {mode.value}"
        return WarmSchedule.from_json(record["schedule"])
    except (ValueError, TypeError, KeyError, RecursionError, ScheduleProblem):
        return f"unreadable {key}: {text[:60]!r}"


def plan_rollback_one(
    node: str, annotations: Mapping[str, str], guard: Guardrails, mode: Mode
) -> ScheduleChange:
    before = held(annotations, mode)
    excluded = excluded_by(node, annotations, guard)
    if excluded is not None:
        return ScheduleChange(node, before, None, Result.SKIPPED, excluded)
    previous = recorded(annotations, mode)
    if isinstance(previous, str):
        return ScheduleChange(node, before, None, Result.SKIPPED, previous)
    return fitted(node, before, previous, annotations, mode)


def plan_rollback(
    necs: Mapping[str, Mapping[str, str]], guard: Guardrails, mode: Mode
) -> list[ScheduleChange]:
    """One change per NEC, in node order; at most ``guard.max_changes`` change."""
    planned = [(0.0, plan_rollback_one(n, a, guard, mode)) for n, a in sorted(necs.items())]
    return _capped(planned, guard.max_changes)


def _capped(planned: list[tuple[float, ScheduleChange]], room: int) -> list[ScheduleChange]:
    wanted = sorted((p for p in planned if p[1].result is Result.CHANGED), key=lambda p: -p[0])
    over = {id(c) for _, c in wanted[room:]}
    return [
        replace(c, result=Result.SKIPPED, detail="change cap reached") if id(c) in over else c
        for _, c in planned
    ]


@dataclass(frozen=True)
class ScheduleWriting:
    replan: Replan
    mode: Mode
    dry_run: bool
    reason: str = "WarmScheduleStored"
    verb: str = "stored"


def writing(
    recs: Mapping[str, Recommendation] | None, guard: Guardrails, mode: Mode, dry_run: bool
) -> ScheduleWriting:
    """How a run writes: re-planned from the recommendation (None: from the record, a
    rollback) as the NEC reads after a conflict."""
    once = replace(guard, max_changes=1)
    if recs is None:
        return ScheduleWriting(lambda n, a: plan_rollback_one(n, a, once, mode), mode, dry_run,
                               "WarmScheduleRolledBack", "rolled back")  # fmt: skip
    return ScheduleWriting(lambda n, a: plan_one(recs[n], a, once, mode), mode, dry_run)


def write(
    api: ApiClient, changes: Sequence[ScheduleChange], how: ScheduleWriting
) -> list[ScheduleChange]:
    """Patch every ``changed`` node (or dry-run it), as :mod:`tuner.nec_writes` does; a
    node the API refuses is ``failed``."""
    writer = Writer(
        how.replan,
        lambda change: annotations_of(change, how.mode),
        lambda uid, change: _event(uid, change, how),
        how.dry_run,
    )
    return write_all(api, Necs(api), changes, writer)


def annotations_of(change: ScheduleChange, mode: Mode) -> dict[str, str | None]:
    """What the patch sets: the schedule, or (a constant one) no schedule and the pair;
    and the record of what it replaces."""
    assert change.before is not None and change.after is not None
    record = {
        "schedule": change.before.to_json(),
        "mode": mode.value,
        "changed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "by": "eni-tuner",
    }
    out: dict[str, str | None] = {PREVIOUS_SCHEDULE_KEY[mode]: json.dumps(record)}
    if change.after.is_constant():
        out[SCHEDULE_KEY[mode]] = None  # a merge patch's null removes the key
        out.update(targets_annotations(change.after.at_hour(0), mode))
    else:
        out[SCHEDULE_KEY[mode]] = change.after.dumps()
    return out


def describe(schedule: WarmSchedule | None) -> str:
    """``0-6 2/4, 6-24 5/5``: the blocks in a few characters (``-`` for none)."""
    return "-" if schedule is None else schedule.describe()


def _event(uid: str, change: ScheduleChange, how: ScheduleWriting) -> NecEvent:
    message = (f"eni-tuner {how.verb} the {how.mode} warm schedule"
               f" {describe(change.before)} -> {describe(change.after)}")  # fmt: skip
    return NecEvent(change.node, uid, how.reason, message, EventType.NORMAL, "eni-tuner")
