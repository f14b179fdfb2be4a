"""The PromQL inside the dashboards and rules, as tests evaluate it.

Grafana substitutes template variables before a query reaches Prometheus; the tests
do the same with concrete values, then ask the real Prometheus.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((REPO / "dashboards").glob("*.json"))
RULES = REPO / "dashboards" / "rules" / "eni-pool.rules.yaml"

CLUSTER_ONLY = (
    "eni_pool_config_rejections",
    "eni_pool_out_of_band_seconds",
    "eni_pool_shadow_",
    "eni_pool_pods_without_slot",
    "eni_pool_target_changes",
    "eni_pool_schedule_active_block",
    "eni_pool_scheduled_",
)
"""Series (or parts of their names, which the recorded series keep) that only
`eni-exporter run` publishes: refusals of NEC annotations, time outside the band,
changes of warm targets from NEC updates, the blocks of NEC schedules, and in
tke-observe the shadow engine's figures and the pods TKE left without a slot.
`eni-exporter simulate` has none (tests/integration/test_schedule_dashboard.py
evaluates the schedule dashboard on an exporter that has)."""

NODELESS = frozenset(
    {
        *(f"eni_pool_{h}_{part}" for h in ("slot_wait_seconds", "cloud_api_duration_seconds",
          "reconcile_duration_seconds") for part in ("bucket", "count", "sum")),
        "eni_pool_cloud_api_errors_total",
        "eni_pool_engine_errors_total",
        "eni_pool_build_info",
        "eni_pool_acting",
        "eni_pool_pods_without_slot_total",
        "eni_pool_subnet_free_ips",
        "up",
    }
)  # fmt: skip
"""Series with no node label at the source (the exporter's own, the cloud API's, slot
waits by mode, subnets, pods with no node yet); tests/unit/test_dashboards.py checks
this against the exporter."""


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: str
    ref: str
    expr: str

    @property
    def where(self) -> str:
        return f"{self.dashboard} / {self.panel} / {self.ref}"


def load(path: Path) -> dict[str, Any]:
    model: dict[str, Any] = json.loads(path.read_text())
    return model


def panel_queries() -> Iterator[PanelQuery]:
    """Every panel's queries and every annotation query (panel "annotation: <name>")."""
    for path in DASHBOARDS:
        model = load(path)
        for panel in model["panels"]:
            for target in panel.get("targets", []):
                yield PanelQuery(path.name, panel["title"], target["refId"], target["expr"])
        for note in model.get("annotations", {}).get("list", []):
            if "expr" in note:
                yield PanelQuery(path.name, f"annotation: {note['name']}", "-", note["expr"])


SELECTOR = re.compile(r"(?<![\w:])([\w:]*eni_pool_[\w:]*|up)\b(\{[^}]*\})?")
"""A series name (exported or recorded) and its label matchers, if any."""


def selectors(expr: str) -> list[tuple[str, str]]:
    """(series name, matchers or "") of every series an expression reads."""
    return SELECTOR.findall(expr)


def recorded_sources(record: str) -> set[str]:
    """The exported series a recording rule reads, through other records."""
    exprs = dict(zip(recording_rules(), recording_exprs(), strict=True))
    found: set[str] = set()
    for name, _ in selectors(exprs[record]):
        found |= recorded_sources(name) if name in exprs else {name}
    return found


def _normal(expr: str) -> str:
    """Without label matchers, range windows' lengths and blanks."""
    return re.sub(r"\s+", "", re.sub(r"\[[^\]]*\]", "[]", re.sub(r"\{[^}]*\}", "", expr)))


def recomputed(expr: str) -> list[str]:
    """The recording rules whose work the expression does again: it takes a rate of a
    series whose rate is recorded, or contains a recorded expression (label matchers
    and windows aside). Empty when it reads the recorded series instead."""
    rules = dict(zip(recording_rules(), recording_exprs(), strict=True))
    found = []
    for record, recorded in rules.items():
        rated = set(re.findall(r"\brate\(([\w:]+)\[", recorded))
        taken = {m for m, _ in re.findall(r"\b(?:i?rate)\(([\w:]+)(\{[^}]*\})?\[", expr)}
        if rated & taken or _normal(recorded) in _normal(expr):
            found.append(record)
    return found


def variables(path: Path) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in load(path)["templating"]["list"]}


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """Replace $name and ${name} as Grafana would; fail on any left over."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError(f"no value for ${name} in {expr!r}")
        return values[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, expr)


@cache
def recording_rules() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [r["record"] for g in groups for r in g["rules"] if "record" in r]


@cache
def recording_exprs() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [r["expr"] for g in groups for r in g["rules"] if "record" in r]


def alerting_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [r for g in groups for r in g["rules"] if "alert" in r]
