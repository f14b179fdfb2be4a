"""The PromQL inside the dashboards and rules, as tests evaluate it.

Grafana substitutes template variables before a query reaches Prometheus; the tests
do the same with concrete values, then ask the real Prometheus.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((REPO / "dashboards").glob("*.json"))
RULES = REPO / "dashboards" / "rules" / "eni-pool.rules.yaml"

CLUSTER_ONLY = (
    "eni_pool_config_rejections_total",
    "eni_pool_out_of_band_seconds_total",
    "eni_pool_shadow_",
    "eni_pool_pods_without_slot_total",
    "eni_pool_schedule_active_block",
    "eni_pool_scheduled_",
)
"""Series (or prefixes) that only `eni-exporter run` publishes: refusals of NEC
annotations, time outside the band, in tke-observe the shadow engine's figures and
the pods TKE left without a slot, and the blocks of NEC schedules. `eni-exporter
simulate` has none of them (tests/integration/test_schedule_dashboard.py evaluates
the schedule dashboard on an exporter that has)."""


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
    for path in DASHBOARDS:
        model = load(path)
        for panel in model["panels"]:
            for target in panel.get("targets", []):
                yield PanelQuery(path.name, panel["title"], target["refId"], target["expr"])


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


def recording_rules() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [r["record"] for g in groups for r in g["rules"] if "record" in r]


def recording_exprs() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [r["expr"] for g in groups for r in g["rules"] if "record" in r]


def alerting_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [r for g in groups for r in g["rules"] if "alert" in r]
