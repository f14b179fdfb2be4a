"""Command-line options in groups, each group built into one typed settings object.

:func:`option_group` declares a group's options on a command and hands the command
one value, made by the group's builder: a function whose parameters are the options'
names, the group's one validation (raising :class:`click.BadParameter`). The replay
group is declared once here and shared by ``simulate``, ``recommend``, ``apply`` and
``backtest``; the history source group is in :mod:`tuner.history_options`.
"""

from __future__ import annotations

import enum
import functools
import inspect
import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import click
from click.core import ParameterSource

from pool_engine.config import DEFAULT_DIRECT_ENI_TARGETS, DEFAULT_ROUTE_ENI_TARGETS, Mode
from pool_engine.tracecheck import decimal, is_integer
from tuner.objective import Objective
from tuner.output import OutputFormat, output_help
from tuner.settings import ObjectiveSettings, ReplaySettings, TargetAgent

F = TypeVar("F", bound=Callable[..., Any])
E = TypeVar("E", bound=enum.StrEnum)
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


class EnumChoice(click.Choice, Generic[E]):  # type: ignore[type-arg]
    """A choice among an enum's values (shown as such in --help), converted to the member."""

    def __init__(self, members: Iterable[E]) -> None:
        self.members = {member.value: member for member in members}
        super().__init__(list(self.members))

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> E:
        return self.members[str(super().convert(value, param, ctx))]


def option_group(dest: str, build: Callable[..., object], *options: Decorator) -> Callable[[F], F]:
    """Declare ``options`` on a command, which gets ``dest=build(**their values)``."""
    names = list(inspect.signature(build).parameters)

    def decorate(command: F) -> F:
        @functools.wraps(command, updated=())
        def wrapper(**values: Any) -> Any:
            values[dest] = build(**{name: values.pop(name) for name in names})
            return command(**values)

        inner: list[click.Parameter] = list(getattr(command, "__click_params__", []))
        setattr(wrapper, "__click_params__", list(inner))  # noqa: B010
        for option in reversed(options):
            option(wrapper)
        ours = getattr(wrapper, "__click_params__")[len(inner) :]  # noqa: B009
        if sorted(p.name or "" for p in ours) != sorted(names):
            raise TypeError(f"{build.__name__}() does not take exactly the options declared")
        return cast(F, wrapper)

    return decorate


def output_option(formats: Mapping[OutputFormat, object], csv_rows: str | None = None) -> Decorator:
    """``-o/--output`` among the formats a command has renderers for, with the same
    help for a format in every command (``csv_rows``: what a CSV row is, if not a node)."""
    return click.option(
        "-o",
        "--output",
        type=EnumChoice(formats),
        default=OutputFormat.TABLE.value,
        show_default=True,
        help=output_help(formats, csv_rows),
    )


def _rate(ctx: click.Context, param: click.Parameter, value: str) -> float:
    text = value.strip()
    number = decimal(text[:-1] if text.endswith("%") else text)
    if number is None:
        raise click.BadParameter(f"{value!r} is not a rate (e.g. 0.01 or 1%)")
    rate = number / 100.0 if text.endswith("%") else number
    if not 0.0 <= rate < 1.0:
        raise click.BadParameter(f"{value!r} is not a rate from 0 up to (not including) 100%")
    return rate


class Finite(click.FloatRange):
    """A number within a range that is also finite: ``nan`` passes every comparison of
    click's FloatRange, and a range open at the top lets ``inf`` through."""

    name = "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and decimal(value) is None:  # float() reads 1_0, "١"
            self.fail(f"{value!r} is not a number", param, ctx)
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


class Count(click.IntRange):
    """An integer in a range, written in ASCII digits: click's IntRange reads ``1_0``
    as 10 and other scripts' digits."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not is_integer(value):
            self.fail(f"{value!r} is not an integer", param, ctx)
        return super().convert(value, param, ctx)


MAX_COUNT = 2**31 - 1
"""The largest count (slots, targets, nodes) any option takes: beyond it is a typo."""
COUNT = Count(0, MAX_COUNT)
"""A number of slots or pods."""
SECONDS = Finite(min=0, min_open=True, max=86400.0)
"""A positive number of seconds, at most a day."""
HOURS = Finite(min=0, max=1e6)
"""A number of hours (a million hours is over a century)."""
COST = Finite(min=0, max=1e12)
"""A cost per unit, in any currency."""


def build_replay(
    min_warm: int | None,
    max_warm: int | None,
    targets_file: Path | None,
    quick_release: bool,
    max_slots: int | None,
    bind_latency: float | None,
    release_interval: float,
) -> ReplaySettings:
    if min_warm is not None and max_warm is not None and min_warm > max_warm:
        raise click.BadParameter(
            f"--min-warm {min_warm} > --max-warm {max_warm}", param_hint="--min-warm/--max-warm"
        )
    return ReplaySettings(
        min_warm=min_warm,
        max_warm=max_warm,
        max_slots=max_slots,
        targets_file=targets_file,
        quick_release=quick_release,
        bind_latency=bind_latency,
        release_interval=release_interval,
    )


replay_options = option_group(
    "replay",
    build_replay,
    click.option(
        "--min-warm",
        type=COUNT,
        help="Min warm target m of every node the targets file does not cover (<= --max-warm;"
        " alone, above the default max, it raises that too)"
        f"  [default: {DEFAULT_ROUTE_ENI_TARGETS.min_warm}; a direct-eni analysis: "
        f"{DEFAULT_DIRECT_ENI_TARGETS.min_warm}]",
    ),
    click.option(
        "--max-warm",
        type=COUNT,
        help="Max warm target M of every node the targets file does not cover (alone, below"
        " the default min, it lowers that too)"
        f"  [default: {DEFAULT_ROUTE_ENI_TARGETS.max_warm}; a direct-eni analysis: "
        f"{DEFAULT_DIRECT_ENI_TARGETS.max_warm}]",
    ),
    click.option(
        "--targets",
        "targets_file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="CSV node,min_warm,max_warm[,max_slots][,from_hour,to_hour] overriding the "
        "defaults per node; rows with hours are a schedule by UTC hour of day "
        "(recommend, apply, backtest: the targets in force).",
    ),
    click.option(
        "--quick-release",
        is_flag=True,
        help="Release every excess idle slot per round, as the cluster's "
        "--enable-quick-release (default: one per round).",
    ),
    click.option(
        "--max-slots",
        type=COUNT,
        help="Max bindable slots C (max-attach) of nodes whose targets do not say  "
        "[default: unlimited]",
    ),
    click.option(
        "--bind-latency",
        type=SECONDS,
        help="Seconds from a bind request to a usable slot  [default: 2; from Prometheus: "
        "the exporter's measured latency, else 2 (direct-eni: 20, an ENI attach); against "
        "eni-exporter simulate at --speed S, replayed at 1/S, as the release interval]",
    ),
    click.option(
        "--release-interval",
        type=SECONDS,
        default=120.0,
        show_default=True,
        help="Seconds between release rounds.",
    ),
)
"""The replay settings every command shares, with their one validation."""


def build_objective(
    max_cold_start_rate: float,
    idle_slot_hour_cost: float | None,
    cold_start_cost: float | None,
    target_agent: TargetAgent,
    mode: Mode | None,
    half_life_hours: float,
    min_pod_starts: int,
) -> ObjectiveSettings:
    if (idle_slot_hour_cost is None) != (cold_start_cost is None):
        raise click.BadParameter(
            "give both --idle-slot-hour-cost and --cold-start-cost",
            param_hint="--idle-slot-hour-cost",
        )
    ctx = click.get_current_context(silent=True)
    rate_given = ctx is not None and ctx.get_parameter_source("max_cold_start_rate") not in (
        ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP,
    )  # fmt: skip
    if idle_slot_hour_cost is not None and rate_given:  # the costs would win in silence
        raise click.BadParameter(
            "one objective: --max-cold-start-rate or --idle-slot-hour-cost with --cold-start-cost",
            param_hint="--max-cold-start-rate",
        )
    return ObjectiveSettings(
        objective=Objective(max_cold_start_rate, idle_slot_hour_cost, cold_start_cost),
        agent=target_agent,
        mode=Mode.ROUTE_ENI if mode is None else mode,
        every_pool=mode is None,
        half_life_hours=half_life_hours,
        min_pod_starts=min_pod_starts,
    )


objective_options = option_group(
    "objective",
    build_objective,
    click.option(
        "--max-cold-start-rate",
        default="1%",
        show_default=True,
        callback=_rate,
        help="Objective: cold starts per pod start (0.01 or 1%).",
    ),
    click.option(
        "--idle-slot-hour-cost",
        type=COST,
        help="With --cold-start-cost: minimise idle-hours x this + cold starts x that instead.",
    ),
    click.option(
        "--cold-start-cost",
        type=COST,
        help="With --idle-slot-hour-cost: the cost of one cold start, in the same currency.",
    ),
    click.option(
        "--target",
        "target_agent",
        type=EnumChoice(TargetAgent),
        default=TargetAgent.TKE.value,
        show_default=True,
        help="tke: min warm >= 1 (TKE's agent needs it); engine: 0 allowed.",
    ),
    click.option(
        "--mode",
        type=EnumChoice(Mode),
        help="Which pool: its rows or series, its defaults, its annotation pair  [default: "
        "route-eni; recommend and apply: every pool the history has churn of]",
    ),
    click.option(
        "--half-life",
        "half_life_hours",
        type=Finite(min=1, max=1e6),
        default=168.0,
        show_default=True,
        help="Hours after which a cold start in the history counts half.",
    ),
    click.option(
        "--min-pod-starts",
        type=COUNT,
        default=30,
        show_default=True,
        help="Pod starts below which a node's history counts only if it is long enough to "
        "prove a quiet node.",
    ),
)
"""What to recommend for: objective, agent, pool, weighting of the history."""
