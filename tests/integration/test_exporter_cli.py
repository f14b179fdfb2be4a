"""`eni-exporter simulate` end to end: endpoints, --record, --duration, the fault audit,
bad input."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pool_engine.trace import load_trace
from support.prom import free_port, wait_http

EXPORTER = [sys.executable, "-c", "from exporter.cli import main; main()"]


def test_simulate_serves_endpoints_records_a_replayable_trace_and_stops(tmp_path: Path) -> None:
    port = free_port()
    record = tmp_path / "churn.csv"
    process = subprocess.Popen(
        [*EXPORTER, "simulate", "--nodes", "4", "--listen", f"127.0.0.1:{port}",
         "--speed", "3600", "--duration", "21600", "--record", str(record), "--log-format", "json"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/readyz")
    with urllib.request.urlopen(base + "/healthz") as healthz:
        assert healthz.status == 200
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(base + "/nope")
    assert missing.value.code == 404
    missing.value.close()
    request = urllib.request.Request(
        base + "/metrics", headers={"Accept": "application/openmetrics-text"}
    )
    with urllib.request.urlopen(request) as reply:
        assert reply.headers["Content-Type"].startswith("application/openmetrics-text")
        body = reply.read()
        assert body.rstrip().endswith(b"# EOF")
    # the pace the tuner replays this cluster's engine at (session 11)
    assert b"\neni_pool_simulation_speed 3600.0\n" in body
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0
    assert all(line.startswith("{") for line in stderr.strip().splitlines())  # JSON logs
    trace = load_trace(record)
    assert sorted(trace.nodes) == [f"node-{k:04d}" for k in range(4)]  # in order of first pod
    assert trace.events > 100 and trace.end <= 21600


def test_bad_flags_are_one_line_and_exit_2() -> None:
    done = subprocess.run(
        [*EXPORTER, "simulate", "--listen", "nowhere"], capture_output=True, text=True
    )
    assert done.returncode == 2 and "is not HOST:PORT" in done.stderr
    done = subprocess.run(
        [*EXPORTER, "simulate", "--ip-min-warm-target", "6", "--ip-max-warm-target", "5"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2 and "--ip-min-warm-target 6 > --ip-max-warm-target 5" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr  # no usage block


@pytest.mark.parametrize(
    "flags",
    [
        ["--api-qps", "nan"],
        ["--api-qps", "inf"],
        ["--churn", "nan"],
        ["--latency-scale", "inf"],
        ["--duration", "1e308"],
        ["--nodes", "99999999999999999999"],
        ["--sync-interval", "2147483648"],  # its fault-free tail ran for 68 years
        ["--restart-every", "0.001"],
    ],
)
def test_non_finite_and_absurd_numbers_are_refused_in_one_line(flags: list[str]) -> None:
    """nan and inf used to pass click's float ranges (`--churn nan` then crashed inside
    numpy with a traceback; `--api-qps nan` ran with a rate limit that never refills)."""
    done = subprocess.run(
        [*EXPORTER, "simulate", *flags, "--listen", "none", "--speed", "max", "--duration", "5"]
        if "--duration" not in flags
        else [*EXPORTER, "simulate", *flags, "--listen", "none"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    assert flags[0] in done.stderr


def test_simulate_audit_prints_its_json_last_and_serves_nothing() -> None:
    done = subprocess.run(
        [*EXPORTER, "simulate", "--nodes", "3", "--seed", "2", "--speed", "max",
         "--duration", "7200", "--error-rate", "0.3", "--throttle-rate", "0.1",
         "--timeout-rate", "0.1", "--restart-every", "900", "--audit", "--listen", "none"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert list(report) == ["simulated_seconds", "cloud_calls", "faults", "restarts",
                            "violations", "max_seconds_below_min_warm_after_faults"]  # fmt: skip
    assert list(report["faults"]) == ["errors", "throttles", "timeouts"]
    assert list(report["violations"]) == ["double_assigned_ips", "unbound_ip_handouts",
        "held_slot_releases", "leaked_ips", "leaked_enis", "crashes"]  # fmt: skip
    assert all(count == 0 for count in report["violations"].values())
    assert report["simulated_seconds"] >= 7200 and report["restarts"] >= 7
    assert min(report["faults"].values()) > 0 and report["cloud_calls"] > 500
    assert "serving" not in done.stderr


def test_placement_shapes_the_recorded_churn_and_the_trace_says_each_rows_mode(
    tmp_path: Path,
) -> None:
    """--placement binpack piles pods onto the fullest nodes that fit, spread onto the
    emptiest; --record writes the mode column the tuner reads (it wrote none before)."""
    shares = {}
    for placement in ("spread", "binpack"):
        trace = tmp_path / f"{placement}.csv"
        done = subprocess.run(
            [*EXPORTER, "simulate", "--nodes", "10", "--speed", "max", "--duration", "21600",
             "--placement", placement, "--record", str(trace), "--listen", "none"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        lines = trace.read_text().splitlines()
        assert lines[0] == "time,node,event,pod,mode"
        rows = [line.split(",") for line in lines[1:]]
        direct = {r[1] for r in rows if r[4] == "direct-eni"}
        assert direct and direct <= {"node-0004", "node-0009"}  # every fifth node
        starts: dict[str, int] = {}
        for r in rows:
            if r[2] == "start" and r[4] == "route-eni":
                starts[r[1]] = starts.get(r[1], 0) + 1
        shares[placement] = max(starts.values()) / sum(starts.values())
    assert shares["binpack"] > shares["spread"] * 1.2, shares


def test_a_taken_address_is_one_line_naming_it_and_leaves_no_record(tmp_path: Path) -> None:
    record = tmp_path / "churn.csv"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*EXPORTER, "simulate", "--listen", f"127.0.0.1:{port}", "--record", str(record),
             "--duration", "60"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == (
        f"error: --listen: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    )
    assert not record.exists()


def test_an_unwritable_record_is_one_line_exit_2_and_frees_the_address(tmp_path: Path) -> None:
    port = free_port()
    done = subprocess.run(
        [*EXPORTER, "simulate", "--listen", f"127.0.0.1:{port}", "--duration", "60",
         "--record", str(tmp_path / "no-such-dir" / "churn.csv")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "No such file or directory" in done.stderr
    assert len(done.stderr.splitlines()) == 1
    with socket.socket() as again:  # the listener it had opened is closed
        again.bind(("127.0.0.1", port))


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("speed", ["max", "1000000"])
def test_a_record_that_fills_the_disk_is_one_line_exit_2(speed: str) -> None:
    """/dev/full opens, and every write fails (ENOSPC), as a disk filling up mid-run.
    Found by an adversarial review (session 6): an OSError traceback, exit 1."""
    done = subprocess.run(
        [*EXPORTER, "simulate", "--listen", "none", "--speed", speed, "--duration", "86400",
         "--record", "/dev/full", "--log-level", "error"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "error: /dev/full: cannot record: No space left on device\n"


@pytest.mark.parametrize("name", ["churn.parquet", "churn.pq"])
def test_a_record_named_as_parquet_is_refused_before_the_run(tmp_path: Path, name: str) -> None:
    """Found by an adversarial review (session 8): --record writes CSV whatever the name,
    and eni-tuner reads a .parquet/.pq name as Parquet, so the trace just recorded was
    'not a readable Parquet file'."""
    record = tmp_path / name
    done = subprocess.run(
        [*EXPORTER, "simulate", "--listen", "none", "--speed", "max", "--duration", "60",
         "--record", str(record)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (2, "")
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: Invalid value for '--record': {record}: --record writes CSV")
    assert not record.exists()


def test_a_speed_whose_duration_lasts_for_ever_stops_on_sigterm_without_a_traceback() -> None:
    """Found by an adversarial review (session 8): --duration 1 at --speed 1e-300 is 1e300
    wall seconds, beyond what a thread can wait: an OverflowError traceback from the
    thread that ends the run."""
    with subprocess.Popen(
        [*EXPORTER, "simulate", "--listen", "none", "--speed", "1e-300", "--duration", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as process:  # fmt: skip
        time.sleep(3)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert (process.returncode, out) == (0, "")
    assert "Traceback" not in err and "received SIGTERM" in err
