"""eni-exporter's flags become one typed, frozen settings object per command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from exporter import cli, modes
from exporter.audit import AuditReport, Violations
from exporter.cloud import CloudSettings
from exporter.faults import FaultCounts
from exporter.settings import (
    Address,
    ClusterModeSettings,
    LeaseSettings,
    Provider,
    ServerSettings,
    SimulationModeSettings,
)
from exporter.simcluster import ClusterSettings
from kube_adapter.client import ClientSettings
from kube_adapter.lease import LeaseTimings
from kube_adapter.logs import LogFormat, LogLevel
from pool_engine.config import Defaults


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The settings each command hands to exporter.modes, instead of running."""
    seen: list[object] = []
    monkeypatch.setattr(modes, "run_cluster", seen.append)
    monkeypatch.setattr(modes, "run_simulation", seen.append)
    return seen


def invoke(*args: str) -> None:
    result = CliRunner().invoke(cli.cli, list(args))
    assert result.exit_code == 0, result.output


def test_run_flags(ran: list[object], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POD_NAMESPACE", "eni-pool")
    invoke("run", "--kubeconfig", "/k/config", "--context", "prod", "--provider", "simulated",
           "--listen", ":9000", "--api-qps", "10", "--latency-scale", "0.5",
           "--ip-min-warm-target", "2", "--ip-max-warm-target", "3", "--enable-quick-release",
           "--log-format", "json", "--log-level", "debug")  # fmt: skip
    assert ran == [
        ClusterModeSettings(
            server=ServerSettings(Address("0.0.0.0", 9000), LogFormat.JSON, LogLevel.DEBUG),
            client=ClientSettings(Path("/k/config"), "prod"),
            provider=Provider.SIMULATED,
            lease=LeaseSettings("eni-exporter", "eni-pool"),
            cloud=CloudSettings(api_qps=10).scaled(0.5),
            defaults=Defaults(ip_min_warm=2, ip_max_warm=3, quick_release=True),
        )
    ]


@pytest.mark.parametrize(
    ("value", "address"),
    [("[::1]:9808", Address("::1", 9808)), ("[::]:80", Address("::", 80)),
     (":9808", Address("0.0.0.0", 9808))],
)  # fmt: skip
def test_an_ipv6_listen_address_is_written_in_brackets(
    ran: list[object], value: str, address: Address
) -> None:
    """Before: '[::1]:9808' kept its brackets, and listening failed ('Name or service not
    known', exit 2): no way to serve on an IPv6-only pod network."""
    invoke("run", "--listen", value)
    settings = ran[0]
    assert isinstance(settings, ClusterModeSettings)
    assert settings.server.listen == address


def test_run_lease_flags(ran: list[object]) -> None:
    invoke("run", "--lease-duration", "3", "--renew-deadline", "2", "--retry-period", "0.5",
           "--no-leader-elect", "--lease-name", "x", "--lease-namespace", "ns")  # fmt: skip
    settings = ran[0]
    assert isinstance(settings, ClusterModeSettings)
    assert settings.lease == LeaseSettings("x", "ns", LeaseTimings(3, 2, 0.5), elect=False)


def test_run_defaults(ran: list[object], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POD_NAMESPACE", raising=False)
    invoke("run")
    (settings,) = ran
    assert isinstance(settings, ClusterModeSettings)
    assert settings.client == ClientSettings(None, None)
    assert settings.provider is Provider.TKE_OBSERVE
    assert settings.server == ServerSettings(
        Address("0.0.0.0", 9808), LogFormat.TEXT, LogLevel.INFO
    )
    assert settings.lease == LeaseSettings("eni-exporter", "kube-system")
    assert settings.defaults == Defaults(
        ip_min_warm=5, ip_max_warm=5, eni_min_warm=1, eni_max_warm=1
    )


def test_simulate_flags(ran: list[object]) -> None:
    invoke("simulate", "--nodes", "4", "--seed", "7", "--speed", "3600", "--duration", "60",
           "--record", "week.csv", "--error-rate", "0.1", "--throttle-rate", "0.2",
           "--eni-min-warm-target", "0", "--eni-max-warm-target", "2")  # fmt: skip
    cloud = CloudSettings(error_rate=0.1, throttle_rate=0.2, faults_until=60.0, seed=7)
    defaults = Defaults(eni_min_warm=0, eni_max_warm=2)
    assert ran == [
        SimulationModeSettings(
            server=ServerSettings(Address("127.0.0.1", 9808)),
            cluster=ClusterSettings(nodes=4, seed=7, churn=1.0, defaults=defaults, cloud=cloud),
            speed=3600.0,
            duration=60.0,
            record=Path("week.csv"),
        )
    ]


def test_simulate_fault_audit_flags(ran: list[object]) -> None:
    invoke("simulate", "--seed", "3", "--speed", "max", "--duration", "172800",
           "--error-rate", "0.2", "--throttle-rate", "0.1", "--timeout-rate", "0.05",
           "--faults-until", "86400", "--restart-every", "1800", "--sync-interval", "30",
           "--audit", "--listen", "none")  # fmt: skip
    (settings,) = ran
    assert isinstance(settings, SimulationModeSettings)
    assert settings.speed is None and settings.duration == 172800.0 and settings.audit
    assert settings.server.listen is None
    cluster = settings.cluster
    assert (cluster.restart_every, cluster.sync_interval) == (1800.0, 30.0)
    assert cluster.cloud == CloudSettings(error_rate=0.2, throttle_rate=0.1, timeout_rate=0.05,
                                          faults_until=86400.0, seed=3)  # fmt: skip


def test_faults_stop_at_the_duration_at_the_latest(ran: list[object]) -> None:
    invoke("simulate", "--duration", "100", "--faults-until", "500")
    invoke("simulate")
    long, endless = ran
    assert isinstance(long, SimulationModeSettings) and isinstance(endless, SimulationModeSettings)
    assert long.cluster.cloud.faults_until == 100.0
    assert endless.cluster.cloud.faults_until == float("inf") and not endless.audit


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "--speed", "max"], "--speed max needs --duration"),
        (["simulate", "--speed", "fast"], "'fast' is not a positive number or 'max'"),
        (["simulate", "--speed", "inf"], "'inf' is not a positive number or 'max'"),
        (["simulate", "--speed", "1_0"], "'1_0' is not a positive number or 'max'"),
        (["simulate", "--record", "-"], "'-': --record writes a file"),
        (["simulate", "--duration", "nan"], "'nan' is not a finite number"),
        (["simulate", "--duration", "1_0"], "'1_0' is not a number"),  # float() reads 10
        (["simulate", "--duration", "1e308"], "1e+308 is not a number of seconds"),
        (["simulate", "--restart-every", "0"], "0.0 is not in the range 1.0<=x"),
        (["simulate", "--timeout-rate", "nan"], "'nan' is not a finite number"),
        (["simulate", "--error-rate", "0_5"], "'0_5' is not a number"),
        (["simulate", "--seed", "-1"], "-1 is not in the range"),
        (["simulate", "--listen", "9808"], "'9808' is not HOST:PORT"),
        (["run", "--listen", "none"], "'none' is not HOST:PORT"),
        (["simulate", "--listen", "h:70000"], "'h:70000' is not HOST:PORT"),
        (["simulate", "--error-rate", "1.5"], "1.5 is not a fraction between 0 and 1"),
        (["run", "--provider", "aws"], "'aws' is not one of 'tke-observe', 'simulated'"),
        (
            ["run", "--eni-min-warm-target", "3"],
            "--eni-min-warm-target 3 > --eni-max-warm-target 1",
        ),
        (
            ["run", "--ip-max-warm-target", "99999999999999999999"],
            "--ip-*-warm-target must be <= 16384",
        ),
        (["run", "--renew-deadline", "15"], "need 0 < retry period (2) < renew deadline (15)"),
        (["run", "--retry-period", "10"], "need 0 < retry period (10) < renew deadline (10)"),
        # adversarial review, session 6: the API server refuses them (422) on every try,
        # and the exporter retried for ever, never acting, never saying why at start
        (["run", "--lease-name", "Bad_Name"], "'Bad_Name' is not a Kubernetes object name"),
        (["run", "--lease-name", "x" * 254], "is not a Kubernetes object name"),
        (["run", "--lease-namespace", "UPPER"], "'UPPER' is not a Kubernetes namespace"),
        (["run", "--lease-namespace", "a.b"], "'a.b' is not a Kubernetes namespace"),
        (["run", "--listen", "[::1:9808"], "is not HOST:PORT"),
    ],
)
def test_bad_flags_are_refused_before_anything_runs(
    ran: list[object], args: list[str], message: str
) -> None:
    result = CliRunner().invoke(cli.cli, args)
    assert result.exit_code == 2 and message in result.output and ran == []


def test_an_audit_with_a_violation_exits_1_after_its_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    report = AuditReport(172800.0, 10, FaultCounts(1, 2, 3), 4, Violations(leaked_ips=1), 12.5)
    monkeypatch.setattr(modes, "run_simulation", lambda settings: report)
    monkeypatch.setattr(sys, "argv", ["eni-exporter", "simulate", "--speed", "max",
                                      "--duration", "10", "--audit"])  # fmt: skip
    with pytest.raises(SystemExit) as exit:
        cli.main()
    assert exit.value.code == 1
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["violations"]["leaked_ips"] == 1
    assert printed["faults"] == {"errors": 1, "throttles": 2, "timeouts": 3}
