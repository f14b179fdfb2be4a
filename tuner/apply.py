"""`eni-tuner apply`: recommendations written as NEC annotations, with guardrails.

Planning is pure (:func:`plan`): what each node's NEC should say, within the
guardrails (minimum history, node selector, opt-out annotation, step limit, a cap
on nodes changed per run), refusing what the engine would refuse. Writing
(:func:`write`) sends one merge patch per NEC with both keys of the pair and a
record of the previous values, guarded by the NEC's resourceVersion: a concurrent
edit gets 409 and the node is planned again from what is there now, never lost.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, cast

from kubernetes import client

from pool_engine.config import (
    IPS_PER_ENI_KEY,
    MAX_ATTACH_KEY,
    MAX_WARM_KEY,
    MIN_WARM_KEY,
    Defaults,
    Limits,
    Mode,
    Refusal,
    Targets,
    parse_limits,
    parse_targets,
)
from tuner.analysis import Recommendation

log = logging.getLogger(__name__)

NEC_GROUP = "networking.tke.cloud.tencent.com"
NEC_VERSION = "v1"
NEC_PLURAL = "nodeeniconfigs"
OPT_OUT = "eni-pool.io/tuner-opt-out"
"""Set to "true" on a NEC to keep the tuner away from it."""
PREVIOUS = "eni-pool.io/previous-warm-targets"
"""JSON record of the values the tuner replaced, and when."""
MAX_RETRIES = 5


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
    outcome: str
    """``changed``, ``would-change`` (dry run), ``unchanged`` or ``skipped: <why>``."""
    retries: int = 0


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
    wanted = sorted((p for p in planned if p[1].outcome == "changed"), key=lambda p: -p[0])
    over = {id(c) for _, c in wanted[guard.max_changes :]}
    return [
        replace(c, outcome="skipped: change cap reached") if id(c) in over else c
        for _, c in planned
    ]


def _plan_one(
    rec: Recommendation, annotations: Mapping[str, str] | None, guard: Guardrails, mode: Mode
) -> Change:
    if annotations is None:
        return Change(rec.node, None, None, "skipped: no NEC object")
    current = current_targets(annotations, mode)
    if annotations.get(OPT_OUT, "").lower() == "true":
        return Change(rec.node, current, None, f"skipped: opted out ({OPT_OUT})")
    if guard.selected is not None and rec.node not in guard.selected:
        return Change(rec.node, current, None, "skipped: not selected")
    if rec.status == "insufficient_history" or rec.history_hours < guard.min_history_hours:
        return Change(
            rec.node,
            current,
            None,
            f"skipped: {rec.history_hours:.1f} h of history (need {guard.min_history_hours:g} h)",
        )
    target = Targets(rec.recommended.min_warm, rec.recommended.max_warm)
    if guard.max_step is not None:
        target = _step(current, target, guard.max_step)
    cap = capacity(annotations, mode)
    if cap is not None:  # never above the node's max-attach
        target = Targets(min(target.min_warm, cap), min(target.max_warm, cap))
    checked = parse_targets(annotations_for(target, mode), mode)
    if isinstance(checked, Refusal) or checked is None:  # never write what the engine refuses
        why = checked.message if isinstance(checked, Refusal) else "nothing to write"
        return Change(rec.node, current, target, f"skipped: {why}")
    if checked == current:
        return Change(rec.node, current, checked, "unchanged")
    return Change(rec.node, current, checked, "changed")


def current_targets(annotations: Mapping[str, str], mode: Mode) -> Targets:
    """The targets in force: the NEC's valid pair, else the engine's defaults."""
    parsed = parse_targets(annotations, mode)
    return parsed if isinstance(parsed, Targets) else Defaults().targets(mode)


def capacity(annotations: Mapping[str, str], mode: Mode) -> int | None:
    """Max bindable slots when the NEC's limit annotations say (all keys needed)."""
    keys = [MAX_ATTACH_KEY[mode]] + ([IPS_PER_ENI_KEY] if mode is Mode.ROUTE_ENI else [])
    if not all(k in annotations for k in keys):
        return None
    limits = parse_limits(annotations, mode, Limits(0, 1), 0)
    return limits.capacity if isinstance(limits, Limits) else None


def annotations_for(targets: Targets, mode: Mode) -> dict[str, str]:
    return {MIN_WARM_KEY[mode]: str(targets.min_warm), MAX_WARM_KEY[mode]: str(targets.max_warm)}


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
    api: client.ApiClient,
    changes: Sequence[Change],
    recs: Mapping[str, Recommendation],
    guard: Guardrails,
    mode: Mode,
    dry_run: bool,
    custom: client.CustomObjectsApi | None = None,
) -> list[Change]:
    """Patch every planned NEC (or dry-run it); return what happened to each node."""
    custom = custom or client.CustomObjectsApi(api)
    done = []
    for change in changes:
        if change.outcome != "changed":
            done.append(change)
            continue
        done.append(_patch(api, custom, change, recs[change.node], guard, mode, dry_run))
    return done


def _patch(
    api: client.ApiClient,
    custom: client.CustomObjectsApi,
    change: Change,
    rec: Recommendation,
    guard: Guardrails,
    mode: Mode,
    dry_run: bool,
) -> Change:
    for attempt in range(MAX_RETRIES):
        try:
            nec = cast(
                dict[str, Any],
                custom.get_cluster_custom_object(NEC_GROUP, NEC_VERSION, NEC_PLURAL, change.node),
            )
        except client.ApiException as error:
            if error.status == 404:
                return replace(change, outcome="skipped: NEC gone", retries=attempt)
            raise
        meta = nec["metadata"]
        fresh = _plan_one(rec, meta.get("annotations") or {}, replace(guard, max_changes=1), mode)
        if fresh.outcome != "changed" or fresh.after is None or fresh.before is None:
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
                    **annotations_for(fresh.after, mode),
                    PREVIOUS: json.dumps(previous),
                },
            }
        }
        try:
            custom.patch_cluster_custom_object(
                NEC_GROUP,
                NEC_VERSION,
                NEC_PLURAL,
                change.node,
                body,
                dry_run="All" if dry_run else None,
            )
        except client.ApiException as error:
            if error.status == 409:  # edited meanwhile: read it again and plan anew
                log.info("NEC %s changed under us, retrying (%d)", change.node, attempt + 1)
                continue
            if error.status == 404:
                return replace(fresh, outcome="skipped: NEC gone", retries=attempt)
            raise
        if dry_run:
            return replace(fresh, outcome="would-change", retries=attempt)
        _event(api, meta, fresh)
        return replace(fresh, retries=attempt)
    return replace(change, outcome=f"skipped: still conflicting after {MAX_RETRIES} tries")


def _event(api: client.ApiClient, meta: Mapping[str, Any], change: Change) -> None:
    assert change.before is not None and change.after is not None
    stamp = datetime.now(UTC).isoformat()
    body = {
        "metadata": {"generateName": f"{change.node}.", "namespace": "default"},
        "involvedObject": {
            "apiVersion": f"{NEC_GROUP}/{NEC_VERSION}",
            "kind": "NodeENIConfig",
            "name": change.node,
            "uid": meta.get("uid", ""),
        },
        "reason": "WarmTargetsTuned",
        "message": (
            f"eni-tuner set min/max warm {change.before.min_warm}/"
            f"{change.before.max_warm} -> {change.after.min_warm}/"
            f"{change.after.max_warm}"
        ),
        "type": "Normal",
        "source": {"component": "eni-tuner"},
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }
    try:
        client.CoreV1Api(api).create_namespaced_event(
            "default", client.CoreV1Event.model_validate(body)
        )
    except client.ApiException as error:
        log.warning("could not record an Event for NEC %s: %s", change.node, error.reason)


def list_necs(api: client.ApiClient) -> dict[str, dict[str, str]]:
    """node -> NEC annotations, for every NEC."""
    reply = cast(
        dict[str, Any],
        client.CustomObjectsApi(api).list_cluster_custom_object(NEC_GROUP, NEC_VERSION, NEC_PLURAL),
    )
    return {
        item["metadata"]["name"]: dict(item["metadata"].get("annotations") or {})
        for item in reply.get("items", [])
    }


def selected_nodes(api: client.ApiClient, selector: str) -> frozenset[str]:
    """Nodes whose NEC objects match a label selector (NECs are named after nodes).

    The selector reads NEC labels, not Node labels, so the tuner needs no access to
    Nodes: label the NEC objects of a pool, e.g. `kubectl label nec <node> pool=batch`.
    """
    reply = cast(
        dict[str, Any],
        client.CustomObjectsApi(api).list_cluster_custom_object(
            NEC_GROUP, NEC_VERSION, NEC_PLURAL, label_selector=selector
        ),
    )
    return frozenset(item["metadata"]["name"] for item in reply.get("items", []))
