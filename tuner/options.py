"""What `recommend` and `apply` share: the history and objective options, turned into
an :class:`AnalysisRequest` that loads the history and runs the analysis; the
Kubernetes client; logging."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from kubernetes import config as kube_config
from kubernetes.client import ApiClient
from pythonjsonlogger.json import JsonFormatter

from pool_engine.config import DEFAULT_ROUTE_ENI_TARGETS, Mode
from pool_engine.overrides import load_overrides
from pool_engine.simulator import NodeTargets, SimulationSettings
from tuner import analysis, prometheus, queries
from tuner.analysis import AnalysisSettings, Objective, Recommendation
from tuner.history import History, load_history
from tuner.prometheus import PrometheusSource, parse_window

F = TypeVar("F", bound=Callable[..., Any])


def _rate(ctx: click.Context, param: click.Parameter, value: str) -> float:
    text = value.strip()
    try:
        rate = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a rate (e.g. 0.01 or 1%)") from None
    if not 0.0 <= rate < 1.0:
        raise click.BadParameter(f"{value!r} is not between 0 and 100%")
    return rate


def positive_seconds(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not value > 0:
        raise click.BadParameter(f"{value} must be > 0 seconds")
    return value


def analysis_options(f: F) -> F:
    """History source, current targets, objective and replay settings."""
    options = [
        click.option(
            "--trace",
            "trace_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Churn history from a trace (CSV or Parquet, time,node,event).",
        ),
        click.option("--prometheus-url", help="Churn history from Prometheus instead."),
        click.option(
            "--source",
            type=click.Choice(["exporter", "kube-state-metrics"]),
            default="exporter",
            show_default=True,
            help="Which metrics to read: eni-exporter's, or kube-state-metrics alone.",
        ),
        click.option(
            "--start",
            default="-7d",
            show_default=True,
            help="History window start: RFC 3339 or relative (-7d, -36h).",
        ),
        click.option("--end", default="now", show_default=True, help="History window end."),
        click.option(
            "--step",
            type=click.IntRange(1),
            default=30,
            show_default=True,
            help="Resolution in seconds (events are placed at step ends).",
        ),
        click.option("--bearer-token-file", type=click.Path(dir_okay=False, path_type=Path)),
        click.option("--basic-auth", help="USER:PASSWORD for Prometheus."),
        click.option(
            "--ca-bundle",
            type=click.Path(dir_okay=False, path_type=Path),
            help="CA certificates to verify Prometheus' TLS certificate.",
        ),
        click.option(
            "--header",
            "headers",
            multiple=True,
            help="Extra HTTP header 'Name: value' (repeatable).",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=1),
            default=120.0,
            show_default=True,
            help="Seconds per Prometheus request.",
        ),
        click.option("--retries", type=click.IntRange(0), default=3, show_default=True),
        click.option(
            "--targets",
            "targets_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Current targets for the replays: CSV node,min_warm,max_warm"
            "[,max_slots]  [default: 5/5]",
        ),
        click.option(
            "--max-cold-start-rate",
            default="1%",
            show_default=True,
            callback=_rate,
            help="Objective: cold starts per pod start (0.01 or 1%).",
        ),
        click.option(
            "--idle-slot-hour-cost",
            type=click.FloatRange(min=0),
            help="With --cold-start-cost: minimise idle-hours x this + cold starts x that instead.",
        ),
        click.option("--cold-start-cost", type=click.FloatRange(min=0)),
        click.option(
            "--target",
            "target_agent",
            type=click.Choice(["tke", "engine"]),
            default="tke",
            show_default=True,
            help="tke: min warm >= 1 (TKE's agent needs it); engine: 0 allowed.",
        ),
        click.option(
            "--mode",
            type=click.Choice([m.value for m in Mode]),
            default="route-eni",
            show_default=True,
            help="Which annotation pair to set.",
        ),
        click.option(
            "--quick-release", is_flag=True, help="The cluster runs --enable-quick-release."
        ),
        click.option(
            "--max-slots",
            type=click.IntRange(0),
            help="Max-attach C of nodes the targets file does not cover  [default: unlimited]",
        ),
        click.option(
            "--bind-latency", type=float, default=2.0, show_default=True, callback=positive_seconds
        ),
        click.option(
            "--release-interval",
            type=float,
            default=120.0,
            show_default=True,
            callback=positive_seconds,
        ),
        click.option(
            "--half-life",
            "half_life_hours",
            type=click.FloatRange(min=1),
            default=168.0,
            show_default=True,
            help="Hours after which a cold start in the history counts half.",
        ),
        click.option(
            "--min-pod-starts",
            type=click.IntRange(0),
            default=30,
            show_default=True,
            help="Pod starts below which a node has not enough history.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@dataclass(frozen=True)
class AnalysisRequest:
    trace_file: Path | None
    prometheus: PrometheusWindow | None
    targets_file: Path | None
    settings: AnalysisSettings
    mode: Mode

    @classmethod
    def from_options(cls, options: dict[str, Any], **extra: Any) -> AnalysisRequest:
        idle_cost, cold_cost = options["idle_slot_hour_cost"], options["cold_start_cost"]
        if (idle_cost is None) != (cold_cost is None):
            raise click.BadParameter(
                "give both --idle-slot-hour-cost and --cold-start-cost",
                param_hint="--idle-slot-hour-cost",
            )
        settings = AnalysisSettings(
            objective=Objective(options["max_cold_start_rate"], idle_cost, cold_cost),
            min_warm_floor=1 if options["target_agent"] == "tke" else 0,
            quick_release=options["quick_release"],
            bind_latency=options["bind_latency"],
            release_interval=options["release_interval"],
            default_max_slots=options["max_slots"],
            min_arrivals=options["min_pod_starts"],
            half_life_hours=options["half_life_hours"],
            **extra,
        )
        if (options["trace_file"] is None) == (options["prometheus_url"] is None):
            raise click.UsageError("give one history source: --trace or --prometheus-url")
        window = PrometheusWindow.from_options(options) if options["prometheus_url"] else None
        mode = Mode(options["mode"])
        return cls(options["trace_file"], window, options["targets_file"], settings, mode)

    def run(self, say: Callable[[str], None]) -> list[Recommendation]:
        current: dict[str, NodeTargets] = (
            load_overrides(self.targets_file) if self.targets_file else {}
        )
        return self.analyse(self.load(say), current, say)

    def load(self, say: Callable[[str], None]) -> History:
        began = time.perf_counter()
        if self.prometheus is not None:
            history = self.prometheus.load(self.mode)
        else:
            assert self.trace_file is not None
            history = load_history(self.trace_file)
        say(
            f"loaded {history.trace.events:,} events of {len(history.nodes):,} nodes "
            f"({history.hours:.1f} h) in {time.perf_counter() - began:.2f}s"
        )
        return history

    def analyse(
        self, history: History, current: Mapping[str, NodeTargets], say: Callable[[str], None]
    ) -> list[Recommendation]:
        began = time.perf_counter()
        recs = analysis.recommend(history, self.settings, current)
        say(
            f"analysed {len(recs):,} nodes in {time.perf_counter() - began:.2f}s: "
            f"{sum(r.changed for r in recs):,} to change"
        )
        return recs

    def replay_settings(self) -> SimulationSettings:
        s = self.settings
        return SimulationSettings(
            NodeTargets(DEFAULT_ROUTE_ENI_TARGETS, s.default_max_slots),
            s.quick_release,
            s.bind_latency,
            s.release_interval,
        )

    def describe_objective(self) -> str:
        objective = self.settings.objective
        if objective.explicit_costs:
            return "explicit costs"
        return f"cold starts <= {objective.max_cold_start_rate:.2%}"


@dataclass(frozen=True)
class PrometheusWindow:
    source: PrometheusSource
    kind: str
    start: datetime
    end: datetime
    step: int

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> PrometheusWindow:
        now = datetime.now(UTC)
        try:
            start = parse_window(options["start"], now)
            end = parse_window(options["end"], now)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--start/--end") from None
        auth = None
        if options["basic_auth"]:
            user, sep, password = options["basic_auth"].partition(":")
            if not sep:
                raise click.BadParameter("expected USER:PASSWORD", param_hint="--basic-auth")
            auth = (user, password)
        headers = {}
        for header in options["headers"]:
            name, sep, value = header.partition(":")
            if not sep:
                raise click.BadParameter(f"{header!r} is not 'Name: value'", param_hint="--header")
            headers[name.strip()] = value.strip()
        source = PrometheusSource(
            options["prometheus_url"],
            options["bearer_token_file"],
            auth,
            options["ca_bundle"],
            headers,
            options["timeout"],
            options["retries"],
        )
        return cls(source, options["source"], start, end, options["step"])

    def load(self, mode: Mode) -> History:
        if self.kind == "exporter":
            churn = queries.exporter(self.step, mode.value)
        else:
            churn = queries.kube_state_metrics(self.step)
        return prometheus.load(self.source, churn, self.start, self.end, self.step)


def kube_client(kubeconfig: Path | None) -> ApiClient:
    """--kubeconfig, else the in-cluster service account, else ~/.kube/config."""
    try:
        if kubeconfig is None:
            try:
                kube_config.load_incluster_config()
                return ApiClient()
            except kube_config.ConfigException:
                pass
        api: ApiClient = kube_config.new_client_from_config(str(kubeconfig) if kubeconfig else None)
        return api
    except (kube_config.ConfigException, OSError) as error:
        raise click.BadParameter(f"no usable Kubernetes configuration: {error}") from None


def setup_logs(fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter("{asctime}{levelname}{name}{message}", style="{"))
    logging.getLogger().handlers[:] = [handler]
    logging.getLogger().setLevel(logging.INFO)
