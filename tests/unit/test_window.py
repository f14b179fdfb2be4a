"""--start/--end/--step: relative durations, RFC 3339, and bad values refused as bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import click
import pytest
from click.testing import CliRunner

from tuner.cli import cli
from tuner.history_options import build_source
from tuner.queries import MetricsSource
from tuner.sources import PrometheusHistory
from tuner.window import Window, parse_window

NOW = datetime(2024, 5, 6, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "ago"),
    [
        ("now", timedelta(0)),
        ("-30s", timedelta(seconds=30)),
        ("-15m", timedelta(minutes=15)),
        ("-36h", timedelta(hours=36)),
        ("-7d", timedelta(days=7)),
        ("-2w", timedelta(weeks=2)),
        ("-1.5h", timedelta(minutes=90)),
        ("  -1d ", timedelta(days=1)),
    ],
)
def test_relative_times_count_back_from_now(text: str, ago: timedelta) -> None:
    assert parse_window(text, NOW) == NOW - ago


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T00:00:00Z", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T02:00:00+02:00", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01 00:00:00", datetime(2024, 5, 1, tzinfo=UTC)),  # no zone: UTC
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01t00:00:00z", datetime(2024, 5, 1, tzinfo=UTC)),  # RFC 3339 5.6, NOTE
        ("2016-12-31T23:59:60Z", datetime(2017, 1, 1, tzinfo=UTC)),  # a leap second
        ("2017-01-01T00:59:60.5+01:00", datetime(2017, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC)),
    ],
)
def test_rfc3339_times(text: str, expected: datetime) -> None:
    got = parse_window(text, NOW)
    assert got == expected and got.tzinfo is not None


def test_an_explicit_offset_is_kept() -> None:
    got = parse_window("2024-05-01T02:00:00+02:00", NOW)
    assert got.utcoffset() == timezone(timedelta(hours=2)).utcoffset(None)


@pytest.mark.parametrize(
    "text", ["yesterday", "-7x", "-d", "7d", "", "2024-13-01T00:00:00Z", "-1e300d", "-infd",
             "-nand", "2024-05-01T00:00:61Z", "9999-12-31T23:59:60Z",
             # ISO 8601 beyond its extended form (session 11, an adversarial review: read)
             "2025-W02-1T02:30Z", "20250106T023000Z", "2025-006T02:30Z"]
)  # fmt: skip
def test_bad_times_raise_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_window(text, NOW)


@pytest.mark.parametrize("text", ["-1_0d", "-\u0667d", "-\uff17d", "--7d", "-+7d"])
def test_a_relative_time_is_an_ascii_decimal(text: str) -> None:
    """float() read '-1_0d' as ten days ago, other scripts' digits as theirs, and '--7d'
    as a week from now (session 9)."""
    with pytest.raises(ValueError):
        parse_window(text, NOW)


def test_window_parses_both_ends() -> None:
    window = Window.parse("-1h", "now", 60, NOW)
    assert window == Window(NOW - timedelta(hours=1), NOW, 60)
    assert window.bounds() == (NOW.timestamp() - 3600, NOW.timestamp())
    with pytest.raises(ValueError):
        Window.parse("-1h", "later", 60, NOW)


def source(**overrides: object) -> object:
    options: dict[str, object] = {
        "trace_file": None, "prometheus_url": "http://prom:9090",
        "source": MetricsSource.EXPORTER, "start": "-7d", "end": "now", "step": 30,
        "bearer_token_file": None, "basic_auth": None, "ca_bundle": None, "headers": (),
        "timeout": 120.0, "retries": 3,
    }  # fmt: skip
    return build_source(**{**options, **overrides})  # type: ignore[arg-type]


def test_the_window_of_a_prometheus_source() -> None:
    built = source(start="2024-05-01T00:00:00Z", end="2024-05-02T00:00:00Z", step=60)
    assert isinstance(built, PrometheusHistory)
    assert built.window == Window(
        datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC), 60
    )
    recent = source()
    assert isinstance(recent, PrometheusHistory)
    span = recent.window.end - recent.window.start
    assert span == timedelta(days=7)
    assert abs(recent.window.end - datetime.now(UTC)) < timedelta(minutes=1)


def test_a_bad_time_is_a_bad_parameter_naming_both_flags() -> None:
    with pytest.raises(click.BadParameter) as caught:
        source(start="last tuesday")
    assert caught.value.param_hint == "--start/--end"
    assert "last tuesday" in caught.value.message


def test_a_bad_time_on_the_command_line_exits_2_with_one_message() -> None:
    result = CliRunner().invoke(
        cli, ["recommend", "--prometheus-url", "http://127.0.0.1:9", "--end", "soon"]
    )
    assert result.exit_code == 2
    assert "Invalid value for --start/--end: Invalid isoformat string: 'soon'" in result.output
    result = CliRunner().invoke(
        cli, ["recommend", "--prometheus-url", "http://127.0.0.1:9", "--step", "0"]
    )
    assert result.exit_code == 2 and "'--step'" in result.output
