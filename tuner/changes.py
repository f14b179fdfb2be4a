"""What the tuner writes to a node's NEC, and the guardrails every write passes.

A run plans one :class:`Change` per node (pure: annotations in, change out) and the
writer (:mod:`tuner.apply`) carries out those that are ``changed``. Both ``apply``
(recommendations) and ``apply --rollback`` (the recorded previous values) plan
through :func:`excluded_by` and :func:`bounded`, so the same guardrails hold for both:
opt-out, node selector, step limit, the node's max-attach, and never a pair the
engine would refuse.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import assert_never

from kube_adapter.nec import capacity, targets_annotations
from pool_engine.config import Mode, Refusal, Targets, parse_targets

OPT_OUT = "eni-pool.io/tuner-opt-out"
"""Set to "true" on a NEC to keep the tuner away from it."""
PREVIOUS = "eni-pool.io/previous-warm-targets"
"""JSON record of the values the tuner replaced, in which mode, when and by what."""
PREVIOUS_KEY = {
    Mode.ROUTE_ENI: PREVIOUS,
    Mode.DIRECT_ENI: "eni-pool.io/previous-direct-eni-warm-targets",
}
"""Each pool's record (one key each: a write of one pool keeps the other's). Before
session 11 both pools wrote :data:`PREVIOUS`; a direct-eni record there is read still."""


def record_of(annotations: Mapping[str, str], keys: Mapping[Mode, str],
              mode: Mode) -> tuple[str, str | None]:  # fmt: skip
    """(key, text) of ``mode``'s record among ``keys``: its own key, else (direct-eni)
    one an earlier version wrote under route-eni's key with ``"mode": "direct-eni"``."""
    key = keys[mode]
    if key in annotations or mode is Mode.ROUTE_ENI:
        return key, annotations.get(key)
    shared = keys[Mode.ROUTE_ENI]
    text = annotations.get(shared)
    try:
        earlier = text is not None and json.loads(text)["mode"] == mode.value
    except (ValueError, TypeError, KeyError, IndexError, RecursionError):
        earlier = False
    return (shared, text) if earlier else (key, None)


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
    apply_borrowed: bool = False
    """Write ``borrowed`` recommendations too (nodes with little history of their own)."""


@dataclass(frozen=True)
class Change:
    node: str
    before: Targets | None
    after: Targets | None
    result: Result
    detail: str = ""
    """Why, for ``skipped`` and ``failed``."""
    retries: int = 0
    mode: Mode | None = None
    """The pool, as the run's record names it (``apply`` sets it)."""

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


def skipped(change: Change, why: str) -> Change:
    return replace(change, result=Result.SKIPPED, detail=why)


def excluded_by(node: str, annotations: Mapping[str, str], guard: Guardrails) -> str | None:
    """Why the guardrails keep the tuner off this node whatever it would write, or None."""
    if annotations.get(OPT_OUT, "").lower() == "true":
        return f"opted out ({OPT_OUT})"
    if guard.selected is not None and node not in guard.selected:
        return "not selected"
    return None


def bounded(
    node: str,
    current: Targets,
    target: Targets,
    annotations: Mapping[str, str],
    guard: Guardrails,
    mode: Mode,
    *,
    explicit: bool = False,
) -> Change:
    """``target`` within the step limit and the node's max-attach, refusing what the
    engine would refuse; ``unchanged`` when that is what is there. A refused pair on
    the NEC is never "what is there" (TKE's agent keeps its last valid pair, which we
    cannot see), nor, with ``explicit``, a missing one (the agent's own flags)."""
    if guard.max_step is not None:
        target = _step(current, target, guard.max_step)
    cap = capacity(annotations, mode)
    if cap is not None:  # never above the node's max-attach
        target = Targets(min(target.min_warm, cap), min(target.max_warm, cap))
    checked = parse_targets(targets_annotations(target, mode), mode)
    if isinstance(checked, Refusal) or checked is None:  # never write what the engine refuses
        why = checked.message if isinstance(checked, Refusal) else "nothing to write"
        return Change(node, current, target, Result.SKIPPED, why)
    written = parse_targets(annotations, mode)
    in_force = isinstance(written, Targets) or (written is None and not explicit)
    if checked == current and in_force:
        return Change(node, current, checked, Result.UNCHANGED)
    return Change(node, current, checked, Result.CHANGED)


def _step(current: Targets, target: Targets, step: int) -> Targets:
    low = min(max(target.min_warm, current.min_warm - step), current.min_warm + step)
    high = min(max(target.max_warm, current.max_warm - step), current.max_warm + step)
    return Targets(low, max(low, high))


def has_record(annotations: Mapping[str, str], keys: Mapping[Mode, str], mode: Mode) -> bool:
    """Whether a NEC holds ``mode``'s record among ``keys`` (what a rollback restores)."""
    return record_of(annotations, keys, mode)[1] is not None
