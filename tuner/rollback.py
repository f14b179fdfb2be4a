"""`eni-tuner apply --rollback`: put back the pair each NEC held before the tuner's
last write, as recorded in ``eni-pool.io/previous-warm-targets``.

No history is read. Every guardrail of a normal run holds (opt-out, selector, step
limit, max-attach, a cap on nodes changed, never a pair the engine would refuse), the
write is the same guarded patch with an Event, and it records what it replaced, so a
second rollback undoes the first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace

from kube_adapter.nec import current_targets
from pool_engine.config import Mode, Targets
from tuner.apply import Writing
from tuner.changes import (
    PREVIOUS_KEY,
    Change,
    Guardrails,
    Result,
    bounded,
    excluded_by,
    record_of,
    skipped,
)


def plan(necs: Mapping[str, Mapping[str, str]], guard: Guardrails, mode: Mode) -> list[Change]:
    """One change per NEC, in node order; at most ``guard.max_changes`` of them change."""
    planned = [
        plan_one(node, annotations, guard, mode) for node, annotations in sorted(necs.items())
    ]
    room = guard.max_changes
    capped = []
    for change in planned:
        if change.result is Result.CHANGED:
            if room == 0:
                change = skipped(change, "change cap reached")
            else:
                room -= 1
        capped.append(change)
    return capped


def plan_one(node: str, annotations: Mapping[str, str], guard: Guardrails, mode: Mode) -> Change:
    current = current_targets(annotations, mode)
    excluded = excluded_by(node, annotations, guard)
    if excluded is not None:
        return Change(node, current, None, Result.SKIPPED, excluded)
    previous = recorded(annotations, mode)
    if isinstance(previous, str):
        return Change(node, current, None, Result.SKIPPED, previous)
    return bounded(node, current, previous, annotations, guard, mode)


def recorded(annotations: Mapping[str, str], mode: Mode) -> Targets | str:
    """The recorded previous pair of ``mode``, or why there is none to restore."""
    key, text = record_of(annotations, PREVIOUS_KEY, mode)
    if text is None:
        return f"nothing recorded to roll back to ({key})"
    try:
        record = json.loads(text)
        low, high = record["min_warm"], record["max_warm"]
    except (ValueError, TypeError, KeyError, RecursionError):  # nested past the stack too
        return f"unreadable {key}: {text[:60]!r}"
    if type(low) is not int or type(high) is not int:  # not bool, float or text
        return f"unreadable {key}: {text[:60]!r}"
    if record.get("mode", Mode.ROUTE_ENI.value) != mode.value:
        return f"the record is of {record.get('mode')} targets, not {mode.value}"
    return Targets(low, high)


def writing(mode: Mode, dry_run: bool, guard: Guardrails) -> Writing:
    """How a rollback writes: re-planned from the record as read after a conflict."""
    once = replace(guard, max_changes=1)

    def replan(node: str, annotations: Mapping[str, str]) -> Change:
        return plan_one(node, annotations, once, mode)

    return Writing(
        replan, mode, dry_run, reason="WarmTargetsRolledBack", by="eni-tuner", verb="rolled back"
    )
