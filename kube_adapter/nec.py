"""NodeENIConfig (NEC) objects: where they live in the API, what their annotations
mean as :mod:`pool_engine.config` values, and reading and patching them.

A NEC is cluster-scoped and named after its node; its ``tke.cloud.tencent.com/``
annotations carry the node's warm targets and limits (docs/contracts/annotations.md).
Parsing and validation stay in :mod:`pool_engine.config`; this module converts in
the other direction and reads the values in force. The exporter also keeps, under
``eni-pool.io/``, what must outlive its restarts (:class:`NodeRecord`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from kube_adapter.client import answered, request_timeout
from kube_adapter.errors import map_kubernetes_errors
from pool_engine.config import (
    IPS_PER_ENI_KEY,
    MAX_ATTACH_KEY,
    MAX_WARM_KEY,
    MIN_WARM_KEY,
    PREFIX,
    Defaults,
    Limits,
    Mode,
    Reason,
    Refusal,
    Targets,
    Usage,
    parse_limits,
    parse_targets,
)
from pool_engine.errors import InputError, KubernetesConflict, KubernetesError
from pool_engine.warm_schedule import ScheduleProblem, WarmSchedule

if TYPE_CHECKING:
    from kube_adapter.client import ApiClient, CustomObjectsApi

GROUP = "networking.tke.cloud.tencent.com"
VERSION = "v1"
KIND = "NodeENIConfig"
PLURAL = "nodeeniconfigs"
API_VERSION = f"{GROUP}/{VERSION}"

log = logging.getLogger(__name__)


# --- annotations <-> pool_engine.config values ------------------------------------------


def tke_annotations(annotations: Mapping[str, str] | None) -> dict[str, str]:
    """Only the ``tke.cloud.tencent.com/`` annotations: the ones the engine reads."""
    return {k: v for k, v in (annotations or {}).items() if k.startswith(PREFIX)}


def targets_annotations(targets: Targets, mode: Mode) -> dict[str, str]:
    """Both keys of the warm-target pair of ``mode``, as written to a NEC."""
    return {MIN_WARM_KEY[mode]: str(targets.min_warm), MAX_WARM_KEY[mode]: str(targets.max_warm)}


def current_targets(annotations: Mapping[str, str], mode: Mode) -> Targets:
    """The targets in force: the NEC's valid pair, else the engine's defaults."""
    parsed = parse_targets(annotations, mode)
    return parsed if isinstance(parsed, Targets) else Defaults().targets(mode)


def capacity(annotations: Mapping[str, str], mode: Mode) -> int | None:
    """Max bindable slots when the NEC's limit annotations say (all keys needed)."""
    keys = [MAX_ATTACH_KEY[mode]] + ([IPS_PER_ENI_KEY] if mode is Mode.ROUTE_ENI else [])
    if not all(k in annotations for k in keys):
        return None
    limits = parse_limits(annotations, mode, Limits(0, 1), Usage())
    return limits.capacity if isinstance(limits, Limits) else None


# --- time-of-day schedules (docs/contracts/annotations.md, "Time-of-day schedules") ----

SCHEDULE_KEY = {
    Mode.ROUTE_ENI: "eni-pool.io/warm-schedule",
    Mode.DIRECT_ENI: "eni-pool.io/direct-eni-warm-schedule",
}
"""Per mode: the node's warm targets by UTC hour of day, as ``WarmSchedule.dumps()``."""


def schedule_annotations(annotations: Mapping[str, str] | None) -> dict[str, str]:
    """Only the schedule annotations (:data:`SCHEDULE_KEY`) of a NEC."""
    keys = SCHEDULE_KEY.values()
    return {k: v for k, v in (annotations or {}).items() if k in keys}


def parse_schedule(annotations: Mapping[str, str], mode: Mode) -> WarmSchedule | Refusal | None:
    """The schedule of ``mode``: None when the key is absent, else the schedule, or a
    Refusal (``invalid_schedule``) naming the block at fault. Every block's pair obeys
    the rules of the pair annotations (integers, 0 <= min <= max, within range)."""
    key = SCHEDULE_KEY[mode]
    text = annotations.get(key)
    if text is None:
        return None
    try:
        schedule = WarmSchedule.loads(text)
    except ScheduleProblem as problem:
        where = f" block {problem.index + 1}:" if problem.index is not None else ""
        return Refusal(Reason.INVALID_SCHEDULE, f"{key}:{where} {problem.problem}")
    for block in schedule.blocks():
        checked = parse_targets(targets_annotations(block.targets, mode), mode)
        if isinstance(checked, Refusal):
            span = f"{block.from_hour}-{block.to_hour}"
            return Refusal(Reason.INVALID_SCHEDULE, f"{key}: block {span}: {checked.message}")
    return schedule


# --- what the exporter keeps on a NEC across its restarts ------------------------------

FIRST_SEEN_DEFAULTS = "eni-pool.io/first-seen-defaults"
"""JSON: the engine flags in force when the node was first seen."""
LAST_VALID_TARGETS = "eni-pool.io/last-valid-targets"
"""JSON: per mode, the targets last in force (the last valid pair, else the defaults)."""
RECORD_KEYS = (FIRST_SEEN_DEFAULTS, LAST_VALID_TARGETS)


@dataclass(frozen=True)
class NodeRecord:
    """What the acting exporter keeps about a node so that a restart changes nothing:
    defaults apply only to nodes first seen after they change, and a refused change
    keeps the previous targets (docs/contracts/annotations.md)."""

    defaults: Defaults
    targets: Mapping[Mode, Targets] = field(default_factory=dict)

    def with_targets(self, mode: Mode, targets: Targets) -> NodeRecord:
        return NodeRecord(self.defaults, {**self.targets, mode: targets})

    def annotations(self) -> dict[str, str]:
        """Both annotations, serialized the same way every time."""
        d = self.defaults
        defaults = {
            Mode.ROUTE_ENI.value: _pair(d.targets(Mode.ROUTE_ENI)),
            Mode.DIRECT_ENI.value: _pair(d.targets(Mode.DIRECT_ENI)),
            "quick_release": d.quick_release,
        }
        targets = {mode.value: _pair(t) for mode, t in sorted(self.targets.items())}
        return {FIRST_SEEN_DEFAULTS: _json(defaults), LAST_VALID_TARGETS: _json(targets)}


def read_record(annotations: Mapping[str, str]) -> NodeRecord | None:
    """The record a NEC holds, or None when it holds none or an unusable one (logged)."""
    if FIRST_SEEN_DEFAULTS not in annotations:
        return None
    try:
        raw = json.loads(annotations[FIRST_SEEN_DEFAULTS])
        route = _targets(raw[Mode.ROUTE_ENI.value], Mode.ROUTE_ENI)
        direct = _targets(raw[Mode.DIRECT_ENI.value], Mode.DIRECT_ENI)
        quick = raw["quick_release"]
        if not isinstance(quick, bool):
            raise ValueError("quick_release is not true or false")
        defaults = Defaults(route.min_warm, route.max_warm, direct.min_warm, direct.max_warm, quick)
        kept = json.loads(annotations.get(LAST_VALID_TARGETS) or "{}")
        targets = {Mode(mode): _targets(pair, Mode(mode)) for mode, pair in kept.items()}
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:
        log.warning("ignoring unusable %s / %s: %s", *RECORD_KEYS, error)
        return None
    return NodeRecord(defaults, targets)


def _targets(raw: object, mode: Mode) -> Targets:
    """A stored pair, checked as strictly as an annotation."""
    if not isinstance(raw, dict) or not all(type(raw.get(k)) is int for k in _PAIR_KEYS):
        raise ValueError(f"{raw!r} is not a min_warm/max_warm pair")
    checked = parse_targets(
        {MIN_WARM_KEY[mode]: str(raw["min_warm"]), MAX_WARM_KEY[mode]: str(raw["max_warm"])}, mode
    )
    if isinstance(checked, Refusal) or checked is None:
        raise ValueError(checked.message if checked else "no pair")
    return checked


_PAIR_KEYS = ("min_warm", "max_warm")


def _pair(targets: Targets) -> dict[str, int]:
    return {"min_warm": targets.min_warm, "max_warm": targets.max_warm}


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# --- the objects through the API --------------------------------------------------------


class Necs:
    """NEC objects through the API; errors arrive as :mod:`pool_engine.errors`."""

    def __init__(self, api: ApiClient, custom: CustomObjectsApi | None = None) -> None:
        from kubernetes import client

        self._custom = custom or client.CustomObjectsApi(api)

    def get(self, name: str, *, timeout: float | None = None) -> dict[str, Any] | None:
        """The object, or None when there is none."""
        try:
            with map_kubernetes_errors():
                found = answered(lambda: self._custom.get_cluster_custom_object(
                    GROUP, VERSION, PLURAL, name, _request_timeout=request_timeout(timeout)
                ), timeout)  # fmt: skip
        except KubernetesError as error:
            if error.status == 404:
                return None
            raise
        return cast(dict[str, Any], found)

    def patch(
        self,
        name: str,
        body: Mapping[str, Any],
        *,
        dry_run: bool = False,
        timeout: float | None = None,
    ) -> bool:
        """Merge-patch one object; False when it is gone. A stale resourceVersion in
        ``body`` raises :class:`~pool_engine.errors.KubernetesConflict`."""
        try:
            with map_kubernetes_errors():
                answered(lambda: self._custom.patch_cluster_custom_object(
                    GROUP, VERSION, PLURAL, name, dict(body),
                    dry_run="All" if dry_run else None, _request_timeout=request_timeout(timeout),
                ), timeout)  # fmt: skip
        except KubernetesError as error:
            if error.status == 404:
                return False
            raise
        return True

    def annotate(
        self, name: str, annotations: Mapping[str, str], *, attempts: int = 3, timeout: float
    ) -> bool:
        """Set ``annotations`` on one object unless it has them already: read it, then
        merge-patch under its resourceVersion, reading again after a conflict (up to
        ``attempts`` times; then the conflict is raised). False when the object is gone."""
        for attempt in range(attempts):
            found = self.get(name, timeout=timeout)
            if found is None:
                return False
            meta = found["metadata"]
            have = meta.get("annotations") or {}
            if all(have.get(k) == v for k, v in annotations.items()):
                return True
            body = {"metadata": {"resourceVersion": meta["resourceVersion"],
                                 "annotations": dict(annotations)}}  # fmt: skip
            try:
                return self.patch(name, body, timeout=timeout)
            except KubernetesConflict:
                if attempt == attempts - 1:
                    raise
        return False

    def list(self, selector: str | None = None) -> list[dict[str, Any]]:
        """Every object, or those whose labels match ``selector``; a selector the API
        server refuses to parse (400) is bad input (:class:`InputError`, exit 2)."""
        try:
            with map_kubernetes_errors():
                reply = answered(lambda: self._custom.list_cluster_custom_object(
                    GROUP, VERSION, PLURAL, label_selector=selector,
                    _request_timeout=request_timeout(None),
                ))  # fmt: skip
        except KubernetesError as error:
            if error.status != 400 or selector is None:
                raise
            why = str(error).split("Bad Request: ", 1)[-1]
            problem = f"{selector!r} is not a label selector: {why}"
            raise InputError("--selector", None, problem) from None
        items = reply.get("items") if isinstance(reply, dict) else None
        if not isinstance(items, list) or not all(_an_object(item) for item in items):
            raise KubernetesError(f"the Kubernetes API answered a list of {PLURAL} that is none")
        return items


def _an_object(item: object) -> bool:
    """An object with a name and text annotations, as every object the API lists has."""
    meta = item.get("metadata") if isinstance(item, dict) else None
    if not (isinstance(meta, dict) and isinstance(meta.get("name"), str)):
        return False
    notes = meta.get("annotations")
    return notes is None or (
        isinstance(notes, dict) and all(isinstance(v, str) for v in notes.values())
    )
