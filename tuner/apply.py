"""`eni-tuner apply`: recommendations written as NEC annotations, with guardrails.

Planning is pure (:func:`plan`): what each node's NEC should say, within the
guardrails (minimum history, node selector, opt-out annotation, step limit, a cap
on nodes changed per run), refusing what the engine would refuse. Writing
(:func:`write`) sends one merge patch per NEC with both keys of the pair and a
record of the previous values, guarded by the NEC's resourceVersion: a concurrent
edit gets 409 and the node is planned again from what is there now, never lost. Any
other API error fails that node alone (outcome ``failed: <why>``, one log line) and
the run goes on with the others; :func:`raise_for_failures` then ends it with exit 4.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, assert_never

from kube_adapter.events import EventType, NecEvent, post_event
from kube_adapter.nec import Necs, capacity, current_targets, targets_annotations
from pool_engine.config import Mode, Refusal, Targets, parse_targets
from pool_engine.errors import KubernetesConflict, KubernetesError
from tuner.analysis import Recommendation
from tuner.recommendation import RecommendationStatus

if TYPE_CHECKING:
    from kube_adapter.client import ApiClient, CustomObjectsApi

log = logging.getLogger(__name__)

OPT_OUT = "eni-pool.io/tuner-opt-out"
"""Set to "true" on a NEC to keep the tuner away from it."""
PREVIOUS = "eni-pool.io/previous-warm-targets"
"""JSON record of the values the tuner replaced, and when."""
MAX_RETRIES = 5


class Result(enum.StrEnum):
    """What a run did to one node (the record's ``outcome`` starts with it)."""

    CHANGED = "changed"
    WOULD_CHANGE = "would-change"
    """Dry run: the API server accepted the patch and wrote nothing."""
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    """A guardrail or the NEC itself kept the tuner away; the detail says which."""
    FAILED = "failed"
    """The API refused the write (not a conflict) or could not be reached."""


@dataclass(frozen=True)
class Guardrails:
    max_step: int | None = None
    """Move each target by at most this much per run."""
    min_history_hours: float = 24.0
    """Leave nodes with less history alone."""
    max_changes: int = 50
    """Change at most this many nodes per run (the most useful first)."""
    selected: frozenset[str] | None = None
    """Only these nodes (from --selector); None: all."""


@dataclass(frozen=True)
class Change:
    node: str
    before: Targets | None
    after: Targets | None
    result: Result
    detail: str = ""
    """Why, for ``skipped`` and ``failed``."""
    retries: int = 0

    @property
    def outcome(self) -> str:
        """As the record shows it: ``changed``, ``would-change``, ``unchanged``,
        ``skipped: <why>`` or ``failed: <why>``."""
        return f"{self.result}: {self.detail}" if self.detail else str(self.result)

    def failed(self) -> bool:
        return self.result is Result.FAILED

    def wrote(self) -> bool:
        """The NEC was (or, in a dry run, would have been) patched."""
        match self.result:
            case Result.CHANGED | Result.WOULD_CHANGE:
                return True
            case Result.UNCHANGED | Result.SKIPPED | Result.FAILED:
                return False
            case _:
                assert_never(self.result)


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
        planned.append((_benefit(rec), change))
    wanted = sorted((p for p in planned if p[1].result is Result.CHANGED), key=lambda p: -p[0])
    over = {id(c) for _, c in wanted[guard.max_changes :]}
    return [_skipped(c, "change cap reached") if id(c) in over else c for _, c in planned]


def _plan_one(
    rec: Recommendation, annotations: Mapping[str, str] | None, guard: Guardrails, mode: Mode
) -> Change:
    if annotations is None:
        return Change(rec.node, None, None, Result.SKIPPED, "no NEC object")
    current = current_targets(annotations, mode)
    if annotations.get(OPT_OUT, "").lower() == "true":
        return Change(rec.node, current, None, Result.SKIPPED, f"opted out ({OPT_OUT})")
    if guard.selected is not None and rec.node not in guard.selected:
        return Change(rec.node, current, None, Result.SKIPPED, "not selected")
    too_short = rec.history_hours < guard.min_history_hours
    if rec.status is RecommendationStatus.INSUFFICIENT_HISTORY or too_short:
        return Change(
            rec.node,
            current,
            None,
            Result.SKIPPED,
            f"{rec.history_hours:.1f} h of history (need {guard.min_history_hours:g} h)",
        )
    target = Targets(rec.recommended.min_warm, rec.recommended.max_warm)
    if guard.max_step is not None:
        target = _step(current, target, guard.max_step)
    cap = capacity(annotations, mode)
    if cap is not None:  # never above the node's max-attach
        target = Targets(min(target.min_warm, cap), min(target.max_warm, cap))
    checked = parse_targets(targets_annotations(target, mode), mode)
    if isinstance(checked, Refusal) or checked is None:  # never write what the engine refuses
        why = checked.message if isinstance(checked, Refusal) else "nothing to write"
        return Change(rec.node, current, target, Result.SKIPPED, why)
    if checked == current:
        return Change(rec.node, current, checked, Result.UNCHANGED)
    return Change(rec.node, current, checked, Result.CHANGED)


def _step(current: Targets, target: Targets, step: int) -> Targets:
    low = min(max(target.min_warm, current.min_warm - step), current.min_warm + step)
    high = min(max(target.max_warm, current.max_warm - step), current.max_warm + step)
    return Targets(low, max(low, high))


def _benefit(rec: Recommendation) -> float:
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
    """Patch every planned NEC (or dry-run it); return what happened to each node.
    A node the API refuses (other than a conflict, which is re-planned) is ``failed``
    and logged; the other nodes are still written.

    ``custom`` replaces the client's CustomObjectsApi (tests use it to edit meanwhile).
    """
    necs = Necs(api, custom)
    done = []
    for change in changes:
        if change.result is not Result.CHANGED:
            done.append(change)
            continue
        try:
            done.append(_patch(api, necs, change, recs[change.node], guard, mode, dry_run))
        except KubernetesError as error:
            log.error("NEC %s not written: %s", change.node, error)
            done.append(replace(change, result=Result.FAILED, detail=str(error)))
    return done


def raise_for_failures(done: Sequence[Change]) -> None:
    """After the record of a run is out: a KubernetesError (exit 4) naming the nodes
    whose write failed, if any did."""
    failed = [c.node for c in done if c.failed()]
    if failed:
        written = sum(1 for c in done if c.result is Result.CHANGED)
        raise KubernetesError(
            f"{len(failed)} NEC write(s) failed ({', '.join(failed)});"
            f" {written} other node(s) changed"
        )


def _patch(
    api: ApiClient,
    necs: Necs,
    change: Change,
    rec: Recommendation,
    guard: Guardrails,
    mode: Mode,
    dry_run: bool,
) -> Change:
    for attempt in range(MAX_RETRIES):
        nec = necs.get(change.node)
        if nec is None:
            return replace(_skipped(change, "NEC gone"), retries=attempt)
        meta = nec["metadata"]
        fresh = _plan_one(rec, meta.get("annotations") or {}, replace(guard, max_changes=1), mode)
        if fresh.result is not Result.CHANGED or fresh.after is None or fresh.before is None:
            return replace(fresh, retries=attempt)
        previous = {
            "min_warm": fresh.before.min_warm,
            "max_warm": fresh.before.max_warm,
            "changed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "by": "eni-tuner",
        }
        body = {
            "metadata": {
                "resourceVersion": meta["resourceVersion"],
                "annotations": {
                    **targets_annotations(fresh.after, mode),
                    PREVIOUS: json.dumps(previous),
                },
            }
        }
        try:
            patched = necs.patch(change.node, body, dry_run=dry_run)
        except KubernetesConflict:  # edited meanwhile: read it again and plan anew
            log.info("NEC %s changed under us, retrying (%d)", change.node, attempt + 1)
            continue
        if not patched:
            return replace(_skipped(fresh, "NEC gone"), retries=attempt)
        if dry_run:
            return replace(fresh, result=Result.WOULD_CHANGE, retries=attempt)
        post_event(api, _tuned(meta.get("uid", ""), fresh))
        return replace(fresh, retries=attempt)
    return _skipped(change, f"still conflicting after {MAX_RETRIES} tries")


def _skipped(change: Change, why: str) -> Change:
    return replace(change, result=Result.SKIPPED, detail=why)


def _tuned(uid: str, change: Change) -> NecEvent:
    assert change.before is not None and change.after is not None
    message = (
        f"eni-tuner set min/max warm {change.before.min_warm}/{change.before.max_warm}"
        f" -> {change.after.min_warm}/{change.after.max_warm}"
    )
    return NecEvent(change.node, uid, "WarmTargetsTuned", message, EventType.NORMAL, "eni-tuner")


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
