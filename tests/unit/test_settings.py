"""The settings groups, as the command line builds them: one validation per group."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from kube_adapter.logs import LogFormat
from pool_engine.config import Mode, Targets
from pool_engine.errors import InputError
from pool_engine.replay import NodeTargets, SimulationSettings
from tuner.cli import cli
from tuner.history_options import build_source, required
from tuner.objective import AnalysisSettings, Objective
from tuner.options import (
    EnumChoice,
    build_objective,
    build_replay,
    objective_options,
    option_group,
    replay_options,
)
from tuner.output import OutputFormat
from tuner.prometheus import PrometheusSource
from tuner.queries import MetricsSource
from tuner.settings import ApplySettings, ObjectiveSettings, ReplaySettings, TargetAgent
from tuner.sources import PrometheusHistory, TraceHistory


def captured(*groups: Any) -> tuple[click.Command, dict[str, Any]]:
    """A command with ``groups`` that keeps what it was given."""
    seen: dict[str, Any] = {}

    def command(**values: Any) -> None:
        seen.update(values)

    for group in reversed(groups):
        command = group(command)
    return click.command()(command), seen


def test_the_replay_group_gives_the_command_one_typed_value() -> None:
    command, seen = captured(replay_options)
    result = CliRunner().invoke(command, ["--min-warm", "2", "--max-warm", "7", "--max-slots",
                                          "9", "--quick-release", "--bind-latency", "0.5"])  # fmt: skip
    assert result.exit_code == 0, result.output
    expected = ReplaySettings(min_warm=2, max_warm=7, max_slots=9, quick_release=True,
                              bind_latency=0.5)  # fmt: skip
    assert seen == {"replay": expected}
    replay = seen["replay"]
    assert replay.simulation() == SimulationSettings(
        NodeTargets(Targets(2, 7), 9), True, 0.5, 120.0
    )
    assert replay.default_targets() == NodeTargets(Targets(2, 7))
    assert replay.overrides() == {}


def test_defaults_are_the_spec_defaults() -> None:
    command, seen = captured(replay_options, objective_options)
    assert CliRunner().invoke(command, []).exit_code == 0
    assert seen["replay"] == ReplaySettings()
    assert seen["replay"].simulation() == SimulationSettings()
    assert seen["objective"] == ObjectiveSettings()
    assert seen["objective"].analysis(seen["replay"]) == AnalysisSettings()


@pytest.mark.parametrize(
    "args",
    [
        ["--min-warm", "6", "--max-warm", "5"],
        ["--min-warm", "-1"],
        ["--max-slots", "-3"],
        ["--bind-latency", "0"],
        ["--release-interval", "-120"],
    ],
)
@pytest.mark.parametrize("command", ["simulate", "recommend", "backtest"])
def test_one_validation_of_the_replay_options_everywhere(
    command: str, args: list[str], tmp_path: Path
) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("time,node,event\n0,a,start\n")
    where = [str(trace)] if command == "simulate" else ["--trace", str(trace)]
    result = CliRunner().invoke(cli, [command, *where, *args])
    assert result.exit_code == 2, result.output
    assert "Invalid value for" in result.output


def test_a_lone_bound_moves_the_other_default_with_it() -> None:
    """Before (adversarial review, session 12): a lone --max-warm 2 under the default
    min 5 was dropped without a word (the replay ran 5/5); a lone --min-warm above the
    default max already raised it."""
    assert ReplaySettings(max_warm=2).default_targets() == NodeTargets(Targets(2, 2))
    assert ReplaySettings(min_warm=6).default_targets() == NodeTargets(Targets(6, 6))
    assert ReplaySettings(max_warm=8).default_targets() == NodeTargets(Targets(5, 8))
    assert ReplaySettings(min_warm=1).default_targets() == NodeTargets(Targets(1, 5))


def test_min_warm_above_max_warm_names_both() -> None:
    with pytest.raises(click.BadParameter) as caught:
        build_replay(6, 5, None, False, None, 2.0, 120.0)
    assert caught.value.param_hint == "--min-warm/--max-warm"
    assert caught.value.message == "--min-warm 6 > --max-warm 5"


def test_the_objective_group() -> None:
    built = build_objective(0.02, None, None, TargetAgent.ENGINE, Mode.DIRECT_ENI, 24.0, 5)
    replay = ReplaySettings(max_slots=7, quick_release=True, bind_latency=3.0)
    settings = built.analysis(replay, min_history_hours=2.0)
    assert settings == AnalysisSettings(
        objective=Objective(0.02), min_warm_floor=0, quick_release=True, bind_latency=3.0,
        default_max_slots=7, half_life_hours=24.0, min_history_hours=2.0, min_arrivals=5,
    )  # fmt: skip
    assert built.mode is Mode.DIRECT_ENI
    assert TargetAgent.TKE.min_warm_floor() == 1
    assert built.objective.describe() == "cold starts <= 2.00%"
    costs = build_objective(0.01, 1.0, 2.0, TargetAgent.TKE, Mode.ROUTE_ENI, 168.0, 30)
    assert costs.objective.explicit_costs and costs.objective.describe() == "explicit costs"
    with pytest.raises(click.BadParameter, match="give both"):
        build_objective(0.01, 1.0, None, TargetAgent.TKE, Mode.ROUTE_ENI, 168.0, 30)


def test_rates_on_the_command_line() -> None:
    command, seen = captured(objective_options)
    for text, rate in (("1%", 0.01), ("0.5%", 0.005), ("0.02", 0.02), (" 0 ", 0.0)):
        assert CliRunner().invoke(command, ["--max-cold-start-rate", text]).exit_code == 0
        assert seen["objective"].objective.max_cold_start_rate == pytest.approx(rate)
    for bad in ("lots", "100%", "-1%", "1.5"):
        assert CliRunner().invoke(command, ["--max-cold-start-rate", bad]).exit_code == 2
    # session 12: "'100%' is not between 0 and 100%" read as a contradiction
    said = CliRunner().invoke(command, ["--max-cold-start-rate", "100%"]).output
    assert "'100%' is not a rate from 0 up to (not including) 100%" in " ".join(said.split())
    assert (
        CliRunner().invoke(command, ["--target", "engine", "--mode", "direct-eni"]).exit_code == 0
    )
    assert seen["objective"].agent is TargetAgent.ENGINE
    assert seen["objective"].mode is Mode.DIRECT_ENI


def build(**overrides: Any) -> object:
    options: dict[str, Any] = {
        "trace_file": None, "prometheus_url": None, "source": MetricsSource.EXPORTER,
        "start": "-7d", "end": "now", "step": 30, "bearer_token_file": None,
        "basic_auth": None, "ca_bundle": None, "headers": (), "timeout": 120.0, "retries": 3,
    }  # fmt: skip
    return build_source(**{**options, **overrides})


def test_exactly_one_history_source() -> None:
    assert build(trace_file=Path("t.csv")) == TraceHistory(Path("t.csv"))
    assert build() is None  # the command says whether it needs one
    with pytest.raises(click.UsageError, match="give one history source"):
        required(build())
    with pytest.raises(click.UsageError, match="give one history source"):
        build(trace_file=Path("t.csv"), prometheus_url="http://prom")


def test_the_prometheus_connection() -> None:
    built = build(prometheus_url="http://prom", source=MetricsSource.KUBE_STATE_METRICS,
                  basic_auth="me:se:cret", headers=("X-Org: 7", "Tenant:a"), timeout=5.0,
                  retries=0, ca_bundle=Path("ca.pem"))  # fmt: skip
    assert isinstance(built, PrometheusHistory)
    assert built.metrics is MetricsSource.KUBE_STATE_METRICS
    assert built.server == PrometheusSource("http://prom", None, ("me", "se:cret"),
                                            Path("ca.pem"), {"X-Org": "7", "Tenant": "a"},
                                            5.0, 0)  # fmt: skip
    with pytest.raises(click.BadParameter, match="USER:PASSWORD"):
        build(prometheus_url="http://prom", basic_auth="me")
    with pytest.raises(click.BadParameter, match="is not 'Name: value'"):
        build(prometheus_url="http://prom", headers=("X-Org 7",))


@pytest.mark.parametrize(
    ("header", "problem"),
    [("X: a\r\nEvil: 1", "a value holds a line break"), (": v", "no name before ':'"),
     ("Bad Name: v", "'Bad Name' is not a header name"),
     ("X-Org: 5 \u20ac", "a value outside Latin-1 (what an HTTP header carries)")],
    ids=["line-break", "no-name", "space-in-name", "euro-sign"],
)  # fmt: skip
def test_a_header_requests_would_refuse_is_bad_input(header: str, problem: str) -> None:
    """Found by an adversarial review (session 6): refused only when sent, as history
    unavailable (exit 3: 'Invalid leading whitespace, reserved character(s), ...'), or
    by Prometheus (HTTP 400)."""
    with pytest.raises(click.BadParameter) as caught:
        build(prometheus_url="http://prom", headers=(header,))
    assert caught.value.message == f"{header!r} is not 'Name: value': {problem}"


@pytest.mark.parametrize(
    ("data", "problem"),
    [(b"\xff\xfet\x00o\x00k\x00", "not UTF-8 text"), (b"line1\nline2\n", "more than one line"),
     ("tok\u20acn\n".encode(), "outside Latin-1 (what an HTTP header carries)")],
    ids=["utf-16", "two-lines", "euro-sign"],
)  # fmt: skip
def test_a_token_file_that_is_no_token_is_bad_input(
    tmp_path: Path, data: bytes, problem: str
) -> None:
    """Before: exit 3, 'cannot read history: ...: 'utf-8' codec can't decode byte 0xff'
    (or requests' refusal of the line break): the file is the user's, not the server's."""
    token = tmp_path / "token"
    token.write_bytes(data)
    source = PrometheusSource("http://prom", bearer_token_file=token)
    with pytest.raises(InputError) as caught:
        source.connect()
    assert str(caught.value) == f"{token}: {problem}"
    assert caught.value.exit_code == 2


def test_a_password_outside_latin_1_is_bad_input() -> None:
    """Found by an adversarial review (session 7), with the header value and the token
    outside Latin-1: requests refused it when sending (UnicodeEncodeError), read as
    history unavailable (exit 3, 'cannot read history: ...: 'latin-1' codec ...')."""
    with pytest.raises(click.BadParameter, match="outside Latin-1"):
        build(prometheus_url="http://prom", basic_auth="me:pa\u20acss")


def test_apply_guardrails() -> None:
    settings = ApplySettings(max_step=2, min_history_hours=6.0, max_changes=3)
    guard = settings.guardrails(frozenset({"a"}))
    assert (guard.max_step, guard.min_history_hours, guard.max_changes) == (2, 6.0, 3)
    assert guard.selected == frozenset({"a"})
    assert ApplySettings().log_format is LogFormat.TEXT


def test_enum_choice_shows_values_and_returns_members() -> None:
    choice = EnumChoice([OutputFormat.TABLE, OutputFormat.JSON])
    assert choice.choices == ("table", "json")
    assert choice.convert("json", None, None) is OutputFormat.JSON
    with pytest.raises(click.BadParameter):
        choice.convert("csv", None, None)


def test_a_builder_must_take_exactly_the_group_options() -> None:
    def build_one(level: int) -> int:
        return level

    group = option_group("level", build_one, click.option("--depth", type=int))
    with pytest.raises(TypeError, match="build_one"):
        group(lambda **values: None)


def test_a_token_file_that_never_ends_is_bad_input() -> None:
    """Found by an adversarial review (session 8): `--bearer-token-file /dev/zero` was read
    whole, until memory ran out (a MemoryError traceback, exit 1)."""
    source = PrometheusSource("http://prom", bearer_token_file=Path("/dev/zero"))
    with pytest.raises(InputError) as caught:
        source.connect()
    assert str(caught.value) == "/dev/zero: above 1 MiB, more than a server takes in headers"
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("name", "problem"),
    [("absent.pem", "No such file or directory"),
     ("zeros.pem", "not PEM CA certificates (NO_CERTIFICATE_OR_CRL_FOUND)")],
)  # fmt: skip
def test_a_ca_bundle_that_holds_no_certificate_is_bad_input(
    tmp_path: Path, name: str, problem: str
) -> None:
    """Found by an adversarial review (session 8): a file that holds no certificate was
    'cannot read history: ...: cannot connect' (exit 3, the server blamed), a path that
    does not exist a traceback from requests (exit 1)."""
    (tmp_path / "zeros.pem").write_bytes(bytes(4096))
    source = PrometheusSource("https://prom", ca_bundle=tmp_path / name)
    with pytest.raises(InputError) as caught:
        source.connect()
    assert str(caught.value) == f"{tmp_path / name}: {problem}"
    assert caught.value.exit_code == 2
