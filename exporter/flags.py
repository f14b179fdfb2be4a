"""The click side of ``eni-exporter``'s flags: callbacks that check and convert values
(listen addresses, names, speeds, rates, seconds) and the decorators of the flag groups
both commands share (engine, Lease, faults, latency, logs, listen). The typed settings
they fill are :mod:`exporter.settings`."""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from exporter.settings import MAX_SECONDS, MAX_SYNC_INTERVAL, MIN_RESTART_EVERY, Address
from kube_adapter.lease import LeaseTimings
from kube_adapter.logs import LogFormat, LogLevel
from kube_adapter.names import namespace_name, object_name
from pool_engine.config import Defaults
from pool_engine.filekind import PARQUET_SUFFIXES
from pool_engine.tracecheck import decimal, is_integer

E = TypeVar("E", bound=enum.StrEnum)
F = TypeVar("F", bound=Callable[..., Any])


def parse_listen(ctx: click.Context, param: click.Parameter, value: str) -> Address:
    """HOST:PORT; an IPv6 host in brackets (``[::]:9808``); no host: every IPv4 address."""
    host, sep, port = value.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    digits = port.isascii() and port.isdigit() and len(port.lstrip("0")) <= 5  # int(): "²"
    if not sep or not digits or not 0 <= int(port) < 65536 or "[" in host or "]" in host:
        raise click.BadParameter(f"{value!r} is not HOST:PORT (e.g. 127.0.0.1:9808)")
    return Address(host or "0.0.0.0", int(port))


def parse_object_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """--lease-name: a name the API server takes (it answers 422 to any other)."""
    if not object_name(value):
        raise click.BadParameter(f"{value!r} is not a Kubernetes object name (lower case "
                                 "letters, digits, '-' and '.', at most 253)")  # fmt: skip
    return value


def parse_namespace(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """--lease-namespace (also from $POD_NAMESPACE): a name the API server takes."""
    if not namespace_name(value):
        raise click.BadParameter(f"{value!r} is not a Kubernetes namespace (lower case "
                                 "letters, digits and '-', at most 63)")  # fmt: skip
    return value


def parse_listen_or_none(ctx: click.Context, param: click.Parameter, value: str) -> Address | None:
    """HOST:PORT, or ``none`` to serve nothing."""
    return None if value == "none" else parse_listen(ctx, param, value)


def parse_speed(ctx: click.Context, param: click.Parameter, value: str) -> float | None:
    """Simulated seconds per second, or ``max`` (None): no wall-clock pacing."""
    if value == "max":
        return None
    speed = decimal(value)
    if speed is None or not (math.isfinite(speed) and speed > 0):
        raise click.BadParameter(f"{value!r} is not a positive number or 'max'")
    return speed


class Finite(click.FloatRange):
    """A finite number in a range: click's FloatRange lets ``nan`` through every
    comparison, and ``inf`` through a range open at the top."""

    name = "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and decimal(value) is None:  # float() reads 1_0, "١"
            self.fail(f"{value!r} is not a number", param, ctx)
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number

    def _describe_range(self) -> str:
        """No bound, no range in the help (click printed ``x<=None``)."""
        if self.min is None and self.max is None:
            return ""
        return super()._describe_range()


class Count(click.IntRange):
    """An integer in a range, written in ASCII digits: click's IntRange reads ``1_0``
    as 10 and other scripts' digits."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not is_integer(value):
            self.fail(f"{value!r} is not an integer", param, ctx)
        return super().convert(value, param, ctx)


def positive(most: float) -> Finite:
    """A finite number in (0, most]."""
    return Finite(min=0, min_open=True, max=most)


def parse_rate(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise click.BadParameter(f"{value} is not a fraction between 0 and 1")
    return value


def enum_choice(kind: type[E]) -> click.Choice[str]:
    """The values of a StrEnum, for click; pair with ``callback=to_enum(kind)``."""
    return click.Choice([member.value for member in kind])


def to_enum(kind: type[E]) -> Callable[[click.Context, click.Parameter, str], E]:
    def convert(ctx: click.Context, param: click.Parameter, value: str) -> E:
        return kind(value)

    return convert


def parse_record(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """--record: a CSV trace, written as the run goes; a Parquet name would make
    eni-tuner read it as Parquet."""
    if value is not None and value.suffix in PARQUET_SUFFIXES:
        raise click.BadParameter(f"{value}: --record writes CSV; name it .csv")
    if value is not None and str(value) == "-":  # it wrote a file named '-'
        raise click.BadParameter("'-': --record writes a file (stdout carries --audit's "
                                 "report); name it .csv")  # fmt: skip
    return value


def parse_seconds(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """Simulated seconds: positive, finite, at most 2**31."""
    if value is None:
        return None
    if not (math.isfinite(value) and 0 < value <= MAX_SECONDS):
        raise click.BadParameter(f"{value} is not a number of seconds in (0, 2**31]")
    return value


def faults_end(faults_until: float | None, duration: float | None) -> float:
    """When injected faults stop: --faults-until, never after --duration (the audit's
    fault-free tail follows it); without either, never."""
    return min(
        math.inf if faults_until is None else faults_until,
        math.inf if duration is None else duration,
    )


def engine_defaults(
    *, ip_min: int, ip_max: int, eni_min: int, eni_max: int, quick_release: bool
) -> Defaults:
    """The engine flags as :class:`Defaults`, refused like annotations would be."""
    defaults = Defaults(
        ip_min_warm=ip_min,
        ip_max_warm=ip_max,
        eni_min_warm=eni_min,
        eni_max_warm=eni_max,
        quick_release=quick_release,
    )
    refused = defaults.check()
    if refused is not None:
        raise click.BadParameter(refused.message)
    return defaults


def lease_timings(duration: float, renew_deadline: float, retry_period: float) -> LeaseTimings:
    """The Lease flags as :class:`LeaseTimings`, refused when they cannot work."""
    timings = LeaseTimings(duration, renew_deadline, retry_period)
    problem = timings.problem()
    if problem is not None:
        raise click.BadParameter(
            problem, param_hint="--lease-duration/--renew-deadline/--retry-period"
        )
    return timings


# --- option groups shared by both commands ----------------------------------------------


def engine_flags(body: Callable[..., Any]) -> Callable[..., Any]:
    """The seed's ipamd flags: defaults for nodes first seen after they change; the
    command receives them as one ``defaults`` (:class:`Defaults`, refused as an
    annotation would be)."""

    @functools.wraps(body)
    def command(*args: Any, ip_min_warm_target: int, ip_max_warm_target: int,
                eni_min_warm_target: int, eni_max_warm_target: int,
                enable_quick_release: bool, **kwargs: Any) -> Any:  # fmt: skip
        defaults = engine_defaults(ip_min=ip_min_warm_target, ip_max=ip_max_warm_target,
                                   eni_min=eni_min_warm_target, eni_max=eni_max_warm_target,
                                   quick_release=enable_quick_release)  # fmt: skip
        return body(*args, defaults=defaults, **kwargs)

    f: Callable[..., Any] = command
    for name, default, text in (
        ("--eni-max-warm-target", 1, "Default max warm ENIs (direct-eni)."),
        ("--eni-min-warm-target", 1, "Default min warm ENIs (direct-eni)."),
        ("--ip-max-warm-target", 5, "Default max warm IPs (route-eni)."),
        ("--ip-min-warm-target", 5, "Default min warm IPs (route-eni)."),
    ):
        f = click.option(name, type=Count(0), default=default, show_default=True,
                         help=text)(f)  # fmt: skip
    quick = "Release every excess idle slot per round (default: one per round)."
    return click.option("--enable-quick-release", is_flag=True, help=quick)(f)


def lease_flags(f: F) -> F:
    """How the Lease is kept (simulated provider); docs/operations.md explains them."""
    for name, default, text in (
        ("--retry-period", 2.0, "Seconds between two reads (and renewals) of the Lease."),
        ("--renew-deadline", 10.0,
         "Stop acting this many seconds after the last successful renewal."),
        ("--lease-duration", 15, "Seconds without renewal after which another replica "
         "takes the Lease; above --renew-deadline."),
    ):  # fmt: skip
        kind = Count(1, 3600) if name == "--lease-duration" else positive(3600.0)
        f = click.option(name, type=kind, default=default, show_default=True, help=text)(f)
    return f


def fault_flags(f: F) -> F:
    """``simulate``'s fault harness (docs/contracts/fault-audit.md)."""
    for name, text in (
        ("--timeout-rate", "Fraction (0 to 1) of cloud calls that time out; the cloud carries "
         "out half of them."),
        ("--throttle-rate", "Fraction (0 to 1) of cloud calls refused as throttled."),
        ("--error-rate", "Fraction (0 to 1) of cloud calls that fail."),
    ):  # fmt: skip
        f = click.option(name, type=Finite(), default=0.0, show_default=True, callback=parse_rate,
                         help=text)(f)  # fmt: skip
    for name, text in (
        ("--faults-until", "No injected fault from this simulated second on  [default: "
         "the whole run]"),
    ):  # fmt: skip
        f = click.option(name, type=Finite(), callback=parse_seconds, help=text)(f)
    f = click.option("--restart-every", type=Finite(min=MIN_RESTART_EVERY, max=MAX_SECONDS),
                     help="Throw the engine away and rebuild it from the cloud and the "
                     "cluster every this many simulated seconds (>= 1).")(f)  # fmt: skip
    f = click.option("--sync-interval", type=positive(MAX_SYNC_INTERVAL), default=60.0,
                     show_default=True,
                     help="Seconds between the engine's inventory syncs of a pool.")(f)  # fmt: skip
    audit = "Judge the run against the VPC's truth; print its JSON last on stdout, exit 1 on " \
        "any violation."  # fmt: skip
    return click.option("--audit", is_flag=True, help=audit)(f)


def latency_flag(f: F) -> F:
    return click.option(
        "--latency-scale",
        type=Finite(min=0, max=1000.0),
        default=1.0,
        show_default=True,
        help="Multiply the simulated VPC's latencies (IP bind 1–3 s, ENI attach 10–30 s).",
    )(f)


def log_flags(f: F) -> F:
    f = click.option("--log-format", type=enum_choice(LogFormat), default=LogFormat.TEXT.value,
                     show_default=True, callback=to_enum(LogFormat),
                     help="Log lines on stderr: text, or one JSON object each.")(f)  # fmt: skip
    return click.option("--log-level", type=enum_choice(LogLevel), default=LogLevel.INFO.value,
                        show_default=True, callback=to_enum(LogLevel),
                        help="Least severe level logged.")(f)  # fmt: skip


def listen_flag(default: str, *, none: bool = False) -> Callable[[F], F]:
    """--listen HOST:PORT; with ``none``, also ``none`` (serve nothing)."""
    return click.option(
        "--listen",
        default=default,
        show_default=True,
        callback=parse_listen_or_none if none else parse_listen,
        help="HOST:PORT for /metrics, /healthz and /readyz"
        + ("; none: serve nothing." if none else "."),
    )
