"""``apply --schedule`` and ``switch`` as scripts: connect -> read NEC objects -> plan ->
write -> render, as :mod:`tuner.pipeline` does for the other commands (both from the
steps of :mod:`tuner.steps`).

Time-of-day schedules on NEC objects: docs/contracts/annotations.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from kube_adapter.client import ClientSettings, connect
from kube_adapter.nec import Necs
from pool_engine.config import Targets
from pool_engine.errors import KubernetesError
from tuner import apply as applying
from tuner import stored_schedules, switcher
from tuner.changes import Guardrails, Result
from tuner.settings import ApplySettings, ObjectiveSettings, ReplaySettings, SwitchSettings
from tuner.sources import HistorySource
from tuner.steps import (
    Stopwatch,
    pools,
    pools_to_roll_back,
    recorded_necs,
    render,
    scheduled_recommendations,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredScheduleReport:
    """What ``apply --schedule`` prints."""

    changes: list[stored_schedules.ScheduleChange]
    """One per node, with its outcome."""
    dry_run: bool
    """Whether nothing was written."""


@dataclass(frozen=True)
class SwitchReport:
    """What ``switch`` prints."""

    switches: list[switcher.Switch]
    """One per node and mode with a schedule annotation."""
    now: datetime
    """The instant whose blocks were put in force."""
    dry_run: bool
    """Whether nothing was written."""


def apply_schedules(
    source: HistorySource | None,
    replay: ReplaySettings,
    objective: ObjectiveSettings,
    settings: ApplySettings,
    renderer: Callable[[StoredScheduleReport], None],
) -> StoredScheduleReport:
    """``eni-tuner apply --schedule``: as :func:`apply`, storing schedules (or, with
    --rollback, the recorded ones) instead of pairs. Exit 4 at the end if any NEC
    could not be written."""
    api = connect(ClientSettings(settings.kubeconfig, settings.context))
    necs = applying.list_necs(api)
    selected = applying.selected_nodes(api, settings.selector) if settings.selector else None
    guard = settings.guardrails(selected)
    watch = Stopwatch()
    done: list[stored_schedules.ScheduleChange] = []
    room = guard.max_changes  # over every pool of the run, route-eni's first
    if settings.rollback:
        for mode in pools_to_roll_back(objective):
            scope = recorded_necs(necs, stored_schedules.PREVIOUS_SCHEDULE_KEY, mode, objective)
            planned = stored_schedules.plan_rollback(scope, replace(guard, max_changes=room), mode)
            room -= sum(c.result is Result.CHANGED for c in planned)
            how = stored_schedules.writing(None, guard, mode, settings.dry_run)
            done += [replace(c, mode=mode) for c in stored_schedules.write(api, planned, how)]
    else:
        assert source is not None  # the command line demands one without --rollback
        for pool, history in pools(source, objective):
            mode = pool.mode
            recs = scheduled_recommendations(source, replay, pool, history)
            del history
            planned = stored_schedules.plan(recs, necs, replace(guard, max_changes=room), mode)
            room -= sum(c.result is Result.CHANGED for c in planned)
            how = stored_schedules.writing({r.node: r for r in recs}, guard, mode,
                                           settings.dry_run)  # fmt: skip
            done += [replace(c, mode=mode) for c in stored_schedules.write(api, planned, how)]
    for change in done:
        if change.result in (Result.CHANGED, Result.WOULD_CHANGE):
            before = stored_schedules.describe(change.before)
            log.info(f"{change.outcome}: {change.node} ({change.mode}) {before} -> "
                     f"{stored_schedules.describe(change.after)}")  # fmt: skip
    log.debug(f"wrote {len(done):,} nodes in {watch.seconds():.2f}s")
    rendered = render(StoredScheduleReport(done, settings.dry_run), renderer)
    failed = [c.node for c in done if c.failed()]
    if failed:
        raise KubernetesError(f"{len(failed)} NEC write(s) failed ({', '.join(failed)})")
    return rendered


def switch(settings: SwitchSettings, renderer: Callable[[SwitchReport], None]) -> SwitchReport:
    """``eni-tuner switch``: every NEC with a schedule gets the pair of the block in
    force at ``now``. Exit 4 if a NEC could not be written, else exit 2 if a schedule
    annotation was invalid; the record is printed first."""
    now = settings.now or datetime.now(UTC)
    api = connect(ClientSettings(settings.kubeconfig, settings.context))
    items = Necs(api).list(settings.selector)
    necs = {i["metadata"]["name"]: dict(i["metadata"].get("annotations") or {}) for i in items}
    uids = {i["metadata"]["name"]: str(i["metadata"].get("uid", "")) for i in items}
    guard = Guardrails(selected=frozenset(necs) if settings.selector else None)
    watch = Stopwatch()
    done = switcher.run(api, necs, uids, guard, now, settings.dry_run)
    for s in done:
        if s.change.wrote():
            log.info(f"{s.change.result}: {s.change.node} ({s.mode}) {s.change.detail}: "
                     f"{_pair(s.change.before)} -> {_pair(s.change.after)}")  # fmt: skip
    log.info(f"switch at {now.isoformat()}: {sum(s.change.wrote() for s in done)} of "
             f"{len(done)} scheduled pools changed in {watch.seconds():.2f}s")  # fmt: skip
    rendered = render(SwitchReport(done, now, settings.dry_run), renderer)
    applying.raise_for_failures([s.change for s in done])
    switcher.raise_for_invalid(done)
    return rendered


def _pair(targets: Targets | None) -> str:
    return "-" if targets is None else f"{targets.min_warm}/{targets.max_warm}"
