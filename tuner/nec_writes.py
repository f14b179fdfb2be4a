"""Guarded NEC writes, one mechanism for ``apply`` (pairs) and ``apply --schedule``
(schedules).

Each planned ``changed`` node is written as: read its NEC, plan it anew from what the
NEC says now (the guardrails see the latest annotations), patch under the NEC's
``resourceVersion``, and on a conflict (someone edited it meanwhile) read and plan
again, at most :data:`MAX_RETRIES` times. A written node gets an Event; a dry run asks
the API server to check the patch and writes nothing. A node the API refuses for any
other reason is ``failed`` and logged, and the other nodes are still written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from kube_adapter.events import NecEvent, post_event
from kube_adapter.nec import Necs
from pool_engine.errors import KubernetesConflict, KubernetesError
from tuner.changes import Result

if TYPE_CHECKING:
    from kube_adapter.client import ApiClient

log = logging.getLogger(__name__)

MAX_RETRIES = 5
"""Reads and plans of one node before a run gives up on a NEC that keeps changing."""


class Planned(Protocol):
    """What a run plans for one node: a frozen dataclass with these fields."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def node(self) -> str: ...

    @property
    def result(self) -> Result: ...


P = TypeVar("P", bound=Planned)


@dataclass(frozen=True)
class Writer(Generic[P]):
    """How one kind of plan is written."""

    replan: Callable[[str, Mapping[str, str]], P]
    """The node's plan from its NEC's annotations as they are now."""
    annotations: Callable[[P], Mapping[str, str | None]]
    """What the patch sets (None removes a key)."""
    event: Callable[[str, P], NecEvent]
    """The Event of a written plan, given the NEC's uid."""
    dry_run: bool


def write_all(api: ApiClient, necs: Necs, changes: Sequence[P], writer: Writer[P]) -> list[P]:
    """Write every ``changed`` plan (or dry-run it); the others pass through."""
    done = []
    for change in changes:
        if change.result is not Result.CHANGED:
            done.append(change)
            continue
        try:
            done.append(_write(api, necs, change, writer))
        except KubernetesError as error:
            log.error("NEC %s not written: %s", change.node, error)
            done.append(replace(change, result=Result.FAILED, detail=str(error)))
    return done


def _write(api: ApiClient, necs: Necs, change: P, writer: Writer[P]) -> P:
    for attempt in range(MAX_RETRIES):
        nec = necs.get(change.node)
        if nec is None:
            return replace(change, result=Result.SKIPPED, detail="NEC gone", retries=attempt)
        meta = nec["metadata"]
        fresh = writer.replan(change.node, meta.get("annotations") or {})
        if fresh.result is not Result.CHANGED:
            return replace(fresh, retries=attempt)
        body = {"metadata": {"resourceVersion": meta["resourceVersion"],
                             "annotations": writer.annotations(fresh)}}  # fmt: skip
        try:
            patched = necs.patch(change.node, body, dry_run=writer.dry_run)
        except KubernetesConflict:  # edited meanwhile: read it again and plan anew
            log.info("NEC %s changed under us, retrying (%d)", change.node, attempt + 1)
            continue
        if not patched:
            return replace(fresh, result=Result.SKIPPED, detail="NEC gone", retries=attempt)
        if writer.dry_run:
            return replace(fresh, result=Result.WOULD_CHANGE, retries=attempt)
        post_event(api, writer.event(meta.get("uid", ""), fresh))
        return replace(fresh, retries=attempt)
    log.error("NEC %s not written: still conflicting after %d tries", change.node, MAX_RETRIES)
    return replace(change, result=Result.FAILED, retries=MAX_RETRIES,
                   detail=f"still conflicting after {MAX_RETRIES} tries")  # fmt: skip
