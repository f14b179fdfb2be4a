"""`eni-tuner apply` without `--mode` writes every pool the history has churn of (as
`recommend` analyses them), each with its own pair, record and rollback; `--mode` keeps
it to one pool; `--max-changes` counts over the pools of the run, route-eni's first.
Before (session 12) apply took route-eni alone unless told: the CronJob never tuned a
direct-eni pool."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tuner.cli import cli

from .control_plane import ControlPlane
from .objects import create_nec, create_node, unique_name
from .test_apply import MAX, MIN, apply_cli, nec, quiet_rows

pytestmark = pytest.mark.k8s
DIRECT_MIN = "tke.cloud.tencent.com/direct-eni-min-warm-target"
DIRECT_MAX = "tke.cloud.tencent.com/direct-eni-max-warm-target"
DIRECT_RECORD = "eni-pool.io/previous-direct-eni-warm-targets"


@pytest.fixture
def pools(
    control_plane: ControlPlane, nec_crd: object, tmp_path: Path
) -> Iterator[tuple[str, str, Path]]:
    """Node ``one`` with route-eni churn, node ``both`` with churn in both pools; every
    pair at 5/5; 30 h of history."""
    api = control_plane.api_client
    one, both = unique_name("po"), unique_name("pb")
    for name in (one, both):
        create_node(api, name, eni_ip=5, cpu="4")
        create_nec(api, name, {MIN: "5", MAX: "5", DIRECT_MIN: "5", DIRECT_MAX: "5"})
    rows = [f"{r},route-eni" for r in quiet_rows(one) + quiet_rows(both)]
    rows += [f"{r},direct-eni" for r in quiet_rows(both)]
    rows.sort(key=lambda r: float(r.split(",")[0]))
    trace = tmp_path / "history.csv"
    trace.write_text("time,node,event,mode\n" + "\n".join(rows) + "\n")
    yield one, both, trace


def rollback(plane: ControlPlane) -> list[dict[str, Any]]:
    result = CliRunner().invoke(
        cli, ["apply", "--rollback", "--kubeconfig", str(plane.kubeconfig), "-o", "json"]
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    document: list[dict[str, Any]] = json.loads(result.stdout)
    return document


def pairs(control_plane: ControlPlane, node: str) -> tuple[str, str, str, str]:
    got = nec(control_plane.api_client, node)["metadata"]["annotations"]
    return got[MIN], got[MAX], got[DIRECT_MIN], got[DIRECT_MAX]


def test_every_pool_is_applied_and_rolled_back(
    control_plane: ControlPlane, pools: tuple[str, str, Path]
) -> None:
    one, both, trace = pools
    done = apply_cli(control_plane, trace, "--min-history", "1")
    rows = {(c["node"], c["mode"]): c for c in done if c["node"] in (one, both)}
    assert set(rows) == {(one, "route-eni"), (both, "route-eni"), (both, "direct-eni")}
    assert all(c["outcome"] == "changed" for c in rows.values()), rows
    after = rows[(both, "direct-eni")]["after"]
    assert pairs(control_plane, one)[2:] == ("5", "5")  # no direct-eni churn: untouched
    assert pairs(control_plane, both)[2:] == (str(after["min_warm"]), str(after["max_warm"]))
    assert after != {"min_warm": 5, "max_warm": 5}
    assert DIRECT_RECORD in nec(control_plane.api_client, both)["metadata"]["annotations"]

    again = apply_cli(control_plane, trace, "--min-history", "1")
    assert {c["outcome"] for c in again if c["node"] in (one, both)} == {"unchanged"}

    back = rollback(control_plane)
    rows = {(c["node"], c["mode"]): c for c in back if c["node"] in (one, both)}
    # route-eni: a row per NEC, as ever; direct-eni: only where a NEC holds its record
    assert set(rows) == {(one, "route-eni"), (both, "route-eni"), (both, "direct-eni")}
    assert pairs(control_plane, one) == ("5", "5", "5", "5")
    assert pairs(control_plane, both) == ("5", "5", "5", "5")


def test_mode_keeps_apply_to_one_pool(
    control_plane: ControlPlane, pools: tuple[str, str, Path]
) -> None:
    _, both, trace = pools
    done = apply_cli(control_plane, trace, "--min-history", "1", "--mode", "direct-eni")
    assert {(c["node"], c["mode"]) for c in done if c["outcome"] == "changed"} == {
        (both, "direct-eni")
    }
    assert pairs(control_plane, both)[:2] == ("5", "5")


def test_the_change_cap_counts_over_every_pool(
    control_plane: ControlPlane, pools: tuple[str, str, Path]
) -> None:
    one, both, trace = pools
    done = apply_cli(control_plane, trace, "--min-history", "1", "--max-changes", "2",
                     "--selector", "")  # fmt: skip
    mine = {(c["node"], c["mode"]): c["outcome"] for c in done if c["node"] in (one, both)}
    assert list(mine.values()).count("changed") <= 2
    assert mine[(both, "direct-eni")] == "skipped: change cap reached"


def test_every_pool_gets_its_schedule_stored(
    control_plane: ControlPlane, pools: tuple[str, str, Path]
) -> None:
    one, both, trace = pools
    done = apply_cli(control_plane, trace, "--schedule", "--min-history", "1", "--dry-run")
    rows = {(c["node"], c["mode"]) for c in done if c["node"] in (one, both)}
    assert rows == {(one, "route-eni"), (both, "route-eni"), (both, "direct-eni")}


def test_the_schedule_log_names_each_pool(
    control_plane: ControlPlane, pools: tuple[str, str, Path]
) -> None:
    """Before (review, session 12): a node of both pools logged the same line twice."""
    _, both, trace = pools
    args = ["apply", "--trace", str(trace), "--kubeconfig", str(control_plane.kubeconfig),
            "--schedule", "--min-history", "1", "--dry-run", "-o", "json"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if f"{both} (" in line]
    assert {line.split(f"{both} (")[1].split(")")[0] for line in lines} == {
        "route-eni",
        "direct-eni",
    }, result.stderr
