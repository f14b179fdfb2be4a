"""`eni-tuner apply`: recommendations written as NEC annotations, with guardrails.

Planning is pure (:func:`plan`): what each node's NEC should say, within the
guardrails of :mod:`tuner.changes` (minimum history, borrowed recommendations only on
request, node selector, opt-out annotation, step limit, max-attach, a cap on nodes
changed per run), refusing what the engine would refuse. Writing
(:func:`write`) sends one merge patch per NEC with both keys of the pair and a
record of the previous values, guarded by the NEC's resourceVersion: a concurrent
edit gets 409 and the node is planned again from what is there now, never lost. Any
other API error fails that node alone (outcome ``failed: <why>``, one log line) and
the run goes on with the others; :func:`raise_for_failures` then ends it with exit 4.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from kube_adapter.events import EventType, NecEvent
from kube_adapter.nec import Necs, current_targets, targets_annotations
from pool_engine.config import Mode, Targets
from pool_engine.errors import KubernetesError
from tuner.analysis import Recommendation
from tuner.changes import (
    OPT_OUT,
    PREVIOUS,
    PREVIOUS_KEY,
    Change,
    Guardrails,
    Result,
    bounded,
    excluded_by,
    skipped,
)
from tuner.nec_writes import Writer, write_all
from tuner.recommendation import RecommendationStatus

if TYPE_CHECKING:
    from kube_adapter.client import ApiClient, CustomObjectsApi

__all__ = ["OPT_OUT", "PREVIOUS", "Change", "Guardrails", "Result", "plan", "write"]

log = logging.getLogger(__name__)


Replan = Callable[[str, Mapping[str, str]], Change]
"""node, its NEC's annotations as read now -> what to write (re-planned after a 409)."""


@dataclass(frozen=True)
class Writing:
    """How a run writes: what it re-plans from, and how it signs its writes."""

    replan: Replan
    mode: Mode
    dry_run: bool
    reason: str = "WarmTargetsTuned"
    """The Event's reason."""
    by: str = "eni-tuner"
    """Who wrote, in the record of previous values and in the Event."""
    verb: str = "set"
    """What the Event says was done to the pair."""
    record: bool = True
    """Keep the replaced pair in its pool's record (``eni-pool.io/previous-warm-targets``,
    direct-eni ``eni-pool.io/previous-direct-eni-warm-targets``; ``switch`` does
    not: the pair it replaces is the schedule's, not a tuning decision to roll back)."""
    message: Callable[[Change], str] | None = None
    """The Event's message; None: ``<by> <verb> min/max warm <before> -> <after>``."""


def plan(
    recs: Sequence[Recommendation],
    necs: Mapping[str, Mapping[str, str]],
    guard: Guardrails,
    mode: Mode,
) -> list[Change]:
    """What each node's NEC should say; pure. ``necs`` maps node -> NEC annotations."""
    planned: list[tuple[float, Change]] = []
    for rec in recs:
        change = _plan_one(rec, necs.get(rec.node), guard, mode)
        planned.append((benefit(rec), change))
    wanted = sorted((p for p in planned if p[1].result is Result.CHANGED), key=lambda p: -p[0])
    over = {id(c) for _, c in wanted[guard.max_changes :]}
    return [skipped(c, "change cap reached") if id(c) in over else c for _, c in planned]


def _plan_one(
    rec: Recommendation, annotations: Mapping[str, str] | None, guard: Guardrails, mode: Mode
) -> Change:
    if annotations is None:
        return Change(rec.node, None, None, Result.SKIPPED, "no NEC object")
    current = current_targets(annotations, mode)
    excluded = excluded_by(rec.node, annotations, guard)
    if excluded is not None:
        return Change(rec.node, current, None, Result.SKIPPED, excluded)
    held = held_back(rec, guard)
    if held is not None:
        return Change(rec.node, current, None, Result.SKIPPED, held)
    if rec.recommended.schedule is not None:  # not the pair of its hour 0
        kept = "its targets in force are a schedule, kept (apply --schedule stores it)"
        return Change(rec.node, current, None, Result.SKIPPED, kept)
    target = Targets(rec.recommended.min_warm, rec.recommended.max_warm)
    return bounded(rec.node, current, target, annotations, guard, mode)


def held_back(rec: Recommendation, guard: Guardrails) -> str | None:
    """Why the guardrails keep a recommendation off its node (too little history, or
    borrowed without --apply-borrowed), or None."""
    too_short = rec.history_hours < guard.min_history_hours
    if too_short:
        return f"{rec.history_hours:.1f} h of history (need {guard.min_history_hours:g} h)"
    if rec.status is RecommendationStatus.INSUFFICIENT_HISTORY:  # the analysis' own floor
        return f"{rec.history_hours:.1f} h of history: too little for a pair of its own"
    if rec.status is RecommendationStatus.BORROWED and not guard.apply_borrowed:
        return "borrowed from similar nodes (--apply-borrowed writes it)"
    return None


def benefit(rec: Recommendation) -> float:
    """Order of changes under the cap: fixing cold starts first, then idle saved."""
    if rec.before is None or rec.after is None:
        return 0.0
    cold_fixed = max(0, rec.before.cold_starts - rec.after.cold_starts)
    return cold_fixed * 1e6 + abs(rec.before.idle_slot_seconds - rec.after.idle_slot_seconds)


def write(
    api: ApiClient,
    changes: Sequence[Change],
    recs: Mapping[str, Recommendation],
    guard: Guardrails,
    mode: Mode,
    dry_run: bool,
    custom: CustomObjectsApi | None = None,
) -> list[Change]:
    """Patch every planned NEC (or dry-run it); return what happened to each node."""
    once = replace(guard, max_changes=1)

    def replan(node: str, annotations: Mapping[str, str]) -> Change:
        return _plan_one(recs[node], annotations, once, mode)

    return write_changes(api, changes, Writing(replan, mode, dry_run), custom)


def write_changes(
    api: ApiClient,
    changes: Sequence[Change],
    writing: Writing,
    custom: CustomObjectsApi | None = None,
) -> list[Change]:
    """Patch every ``changed`` node's NEC (or dry-run it), as :mod:`tuner.nec_writes`
    does: re-planned on a conflict, a node the API refuses ``failed`` and logged, the
    other nodes still written.

    ``custom`` replaces the client's CustomObjectsApi (tests use it to edit meanwhile).
    """
    writer = Writer(
        writing.replan,
        lambda change: _annotations(change, writing),
        lambda uid, change: _event(uid, change, writing),
        writing.dry_run,
    )
    return write_all(api, Necs(api, custom), changes, writer)


def raise_for_failures(done: Sequence[Change]) -> None:
    """After the record of a run is out: a KubernetesError (exit 4) naming the nodes
    whose write failed, if any did."""
    failed = list(dict.fromkeys(_named(c) for c in done if c.failed()))  # switch: per mode
    if failed:
        written = sum(c.result is Result.CHANGED for c in done)  # pools: a node's other too
        raise KubernetesError(
            f"{len(failed)} NEC write(s) failed ({', '.join(failed)});"
            f" {written} other pool(s) changed"
        )


def _named(change: Change) -> str:
    """The node, and its pool where the run's record names one."""
    return change.node if change.mode is None else f"{change.node} ({change.mode})"


def _annotations(change: Change, writing: Writing) -> dict[str, str | None]:
    """Both keys of the pair, and (unless ``switch``) the record of the replaced pair."""
    assert change.before is not None and change.after is not None
    annotations: dict[str, str | None] = {**targets_annotations(change.after, writing.mode)}
    if writing.record:
        previous = {
            "min_warm": change.before.min_warm,
            "max_warm": change.before.max_warm,
            "mode": str(writing.mode),
            "changed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "by": writing.by,
        }
        annotations[PREVIOUS_KEY[writing.mode]] = json.dumps(previous)
    return annotations


def _event(uid: str, change: Change, writing: Writing) -> NecEvent:
    assert change.before is not None and change.after is not None
    if writing.message is not None:
        return NecEvent(change.node, uid, writing.reason, writing.message(change),
                        EventType.NORMAL, "eni-tuner")  # fmt: skip
    message = (
        f"{writing.by} {writing.verb} min/max warm"
        f" {change.before.min_warm}/{change.before.max_warm}"
        f" -> {change.after.min_warm}/{change.after.max_warm}"
    )
    return NecEvent(change.node, uid, writing.reason, message, EventType.NORMAL, "eni-tuner")


def list_necs(api: ApiClient) -> dict[str, dict[str, str]]:
    """node -> NEC annotations, for every NEC."""
    return {
        item["metadata"]["name"]: dict(item["metadata"].get("annotations") or {})
        for item in Necs(api).list()
    }


def selected_nodes(api: ApiClient, selector: str) -> frozenset[str]:
    """Nodes whose NEC objects match a label selector (NECs are named after nodes).

    The selector reads NEC labels, not Node labels, so the tuner needs no access to
    Nodes: label the NEC objects of a pool, e.g. `kubectl label nec <node> pool=batch`.
    """
    return frozenset(item["metadata"]["name"] for item in Necs(api).list(selector))
