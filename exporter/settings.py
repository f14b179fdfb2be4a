"""Typed settings of ``eni-exporter``, grouped by concern (the click callbacks that
turn flags into them are :mod:`exporter.flags`). Each command builds one frozen object
and hands it to :mod:`exporter.modes`; nothing reads flags back by name."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from exporter.cloud import CloudSettings
from exporter.simcluster import ClusterSettings
from kube_adapter.client import ClientSettings
from kube_adapter.lease import LeaseTimings
from kube_adapter.logs import LogFormat, LogLevel
from pool_engine.config import Defaults

#: Bounds on simulate's numbers: nodes, and seconds (2**31 s is 68 years).
MAX_NODES = 100_000
MAX_SECONDS = float(2**31)
MAX_SYNC_INTERVAL = 3600.0
"""An inventory sync at least every hour: the audit's fault-free tail lasts one interval."""
MIN_RESTART_EVERY = 1.0
"""Restarts at most once a simulated second (a restart rebuilds every pool)."""


class Provider(enum.StrEnum):
    """Who keeps the pools in cluster mode."""

    TKE_OBSERVE = "tke-observe"
    """TKE's own agent; the engine runs as a read-only shadow."""
    SIMULATED = "simulated"
    """The engine, through the simulated VPC."""


@dataclass(frozen=True)
class Address:
    """--listen: where /metrics, /healthz and /readyz are served."""

    host: str
    port: int


@dataclass(frozen=True)
class ServerSettings:
    """The HTTP endpoints and the logs, the same in both modes."""

    listen: Address | None
    """None: serve nothing (``simulate --listen none``)."""
    log_format: LogFormat = LogFormat.TEXT
    log_level: LogLevel = LogLevel.INFO


@dataclass(frozen=True)
class LeaseSettings:
    """The Lease that elects the one acting replica (docs/operations.md)."""

    name: str = "eni-exporter"
    namespace: str = "kube-system"
    timings: LeaseTimings = field(default_factory=LeaseTimings)
    """--lease-duration, --renew-deadline, --retry-period."""
    elect: bool = True
    """--leader-elect; False: act at once, without a Lease (one replica only)."""


@dataclass(frozen=True)
class ClusterModeSettings:
    """``eni-exporter run``."""

    server: ServerSettings
    client: ClientSettings
    """How to reach the API server (--kubeconfig, --context)."""
    provider: Provider
    lease: LeaseSettings
    cloud: CloudSettings
    """The simulated VPC behind the simulated provider (--api-qps, --latency-scale)."""
    defaults: Defaults
    """Engine flags: targets of nodes without NEC annotations."""


@dataclass(frozen=True)
class SimulationModeSettings:
    """``eni-exporter simulate``."""

    server: ServerSettings
    cluster: ClusterSettings
    """Nodes, workload seed and churn, engine flags, restarts and the simulated VPC
    (with its injected faults)."""
    speed: float | None
    """Simulated seconds per wall-clock second; None (``--speed max``): as fast as
    the CPU allows."""
    duration: float | None
    """Stop after this many simulated seconds; None: run until SIGTERM."""
    record: Path | None
    """Write the churn as a trace here."""
    audit: bool = False
    """Run the fault audit and print its JSON (docs/contracts/fault-audit.md)."""
