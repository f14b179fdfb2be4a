"""Where the churn history comes from, on the command line: ``--trace``, or
``--prometheus-url`` with its window, metrics and connection flags."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import click
from click.core import ParameterSource

from tuner.options import Count, EnumChoice, Finite, option_group
from tuner.queries import MetricsSource
from tuner.sources import HistorySource, PrometheusHistory, TraceHistory
from tuner.window import Window


def build_source(
    trace_file: Path | None,
    prometheus_url: str | None,
    source: MetricsSource,
    start: str,
    end: str,
    step: int,
    bearer_token_file: Path | None,
    basic_auth: str | None,
    ca_bundle: Path | None,
    headers: Sequence[str],
    timeout: float,
    retries: int,
) -> HistorySource | None:
    """A trace, or Prometheus over the window; never both. None when neither is given:
    the command says whether it needs one (:func:`required`)."""
    if trace_file is not None and prometheus_url is not None:
        raise click.UsageError("give one history source: --trace or --prometheus-url")
    if trace_file is not None:
        given = _given(PROMETHEUS_ONLY)
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            raise click.UsageError(f"{'/'.join(given)} {verb} to Prometheus; a trace is read whole")
        return TraceHistory(trace_file)
    if prometheus_url is None:
        return None
    _check_url(prometheus_url)
    try:
        window = Window.parse(start, end, step, datetime.now(UTC))
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--start/--end") from None
    first, last = window.bounds()
    seconds = last - first
    if 0 < seconds < step:
        raise click.BadParameter(f"--step {step} is longer than the window ({seconds:.0f} s)",
                                 param_hint="--step")  # fmt: skip
    if seconds / step > MAX_STEPS:  # a typo'd --start: years of queries, gigabytes
        raise click.BadParameter(
            f"the window holds {seconds / step:,.0f} steps of {step} s, more than "
            f"{MAX_STEPS:,}: a later --start or a larger --step",
            param_hint="--start/--end",
        )
    from tuner.prometheus import PrometheusSource  # the client loads only with a URL

    server = PrometheusSource(
        prometheus_url,
        bearer_token_file,
        _user_password(basic_auth),
        ca_bundle,
        _header_fields(headers),
        timeout,
        retries,
    )
    return PrometheusHistory(server, source, window)


MAX_STEPS = 2_000_000
"""Steps a window may hold: 694 days at the default 30 s step (800 range queries)."""


def _check_url(url: str) -> None:
    """An http(s) URL with a host and, if any, a port number; else a bad parameter
    (exit 2) that shows the URL without its password."""
    from urllib3.util import parse_url

    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        ok = ok and (parts.port is None or parts.port > 0)  # .port raises on a bad one
        ok = ok and bool(parse_url(url).host)  # as requests reads it: '%zz' is no host
    except ValueError:  # an unclosed [IPv6 bracket, a port that is no number
        ok = False
    if not ok or any(c.isspace() for c in url):
        from tuner.prometheus_errors import redacted  # the error path only

        raise click.BadParameter(
            f"{redacted(url)!r} is not an http(s) URL (e.g. http://prometheus:9090)",
            param_hint="--prometheus-url",
        )


PROMETHEUS_ONLY = {
    "start": "--start", "end": "--end", "step": "--step", "source": "--source",
    "bearer_token_file": "--bearer-token-file", "basic_auth": "--basic-auth",
    "ca_bundle": "--ca-bundle", "headers": "--header", "timeout": "--timeout",
    "retries": "--retries",
}  # fmt: skip
"""The history options that only mean something with ``--prometheus-url``."""


def _given(names: dict[str, str]) -> list[str]:
    """The flags of ``names`` given on the command line (or by environment), not
    defaulted; none when built from code, outside a command."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return []
    defaulted = (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None)
    return [flag for name, flag in names.items() if ctx.get_parameter_source(name) not in defaulted]


def _user_password(text: str | None) -> tuple[str, str] | None:
    if not text:
        return None
    user, sep, password = text.partition(":")
    if not sep:
        raise click.BadParameter("expected USER:PASSWORD", param_hint="--basic-auth")
    if not latin_1(text):  # requests would refuse it when sending (never echo it)
        raise click.BadParameter("USER:PASSWORD has a character outside Latin-1 (what an "
                                 "HTTP header carries)", param_hint="--basic-auth")  # fmt: skip
    return user, password


def latin_1(text: str) -> bool:
    """Whether an HTTP header can carry ``text`` (requests sends them as Latin-1)."""
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""An HTTP header name (RFC 9110 token)."""


def _header_fields(headers: Sequence[str]) -> dict[str, str]:
    """--header 'Name: value' as sent; what requests or the server would refuse is a
    usage error, not an unreachable Prometheus."""
    fields = {}
    for header in headers:
        name, sep, value = (part.strip() for part in header.partition(":"))
        problem = (
            "" if not sep
            else "no name before ':'" if not name
            else f"{name!r} is not a header name" if not _TOKEN.fullmatch(name)
            else "a value holds a line break" if "\r" in value or "\n" in value
            else "a value outside Latin-1 (what an HTTP header carries)" if not latin_1(value)
            else None
        )  # fmt: skip
        if problem is not None:
            said = f"{header!r} is not 'Name: value'" + (f": {problem}" if problem else "")
            raise click.BadParameter(said, param_hint="--header")
        fields[name] = value
    return fields


history_options = option_group(
    "source",
    build_source,
    click.option(
        "--trace",
        "trace_file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Churn history from a trace (CSV or Parquet, time,node,event).",
    ),
    click.option("--prometheus-url", help="Churn history from Prometheus instead."),
    click.option(
        "--source",
        type=EnumChoice(MetricsSource),
        default=MetricsSource.EXPORTER.value,
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
        type=Count(1, 86400),
        default=30,
        show_default=True,
        help="Resolution in seconds, at least the scrape interval (stops at step ends; "
        "starts placed by the exporter's burst counters, without them at step ends).",
    ),
    click.option(
        "--bearer-token-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="File holding a bearer token for Prometheus (read once per run).",
    ),
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
        type=Finite(min=1, max=3600),
        default=120.0,
        show_default=True,
        help="Seconds per Prometheus request: each read waits at most this long, and a whole "
        "answer must come within (--retries + 1) times it (a server that drips bytes times out).",
    ),
    click.option(
        "--retries",
        type=Count(0, 100),
        default=3,
        show_default=True,
        help="Retries of a failed Prometheus request (with backoff).",
    ),
)
"""The history source of ``recommend``, ``apply`` and ``backtest``."""


def required(source: HistorySource | None) -> HistorySource:
    """The history source of a command that cannot run without one."""
    if source is None:
        raise click.UsageError("give one history source: --trace or --prometheus-url")
    return source
