"""bench/reference_replay.py, the plain-Python replay the simulate benchmark compares
against, gives the document `eni-tuner simulate -o json` gives: the comparison is of
the same work, figure for figure."""

from __future__ import annotations

import importlib.util
import io
import json
import math
import sys
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from pool_engine.tracefile import churn_table, write_table
from pool_engine.workload import WorkloadSpec, generate
from tuner.cli import cli

Sim = Callable[..., dict[str, Any]]
ROOT = Path(__file__).resolve().parents[2]


def _reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "reference_replay", ROOT / "bench" / "reference_replay.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


REFERENCE = _reference()


def reference_json(trace: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    REFERENCE.main([str(trace), *args])
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def differences(ours: Any, theirs: Any, where: str = "") -> list[str]:
    """Paths where the documents differ; floats to 1e-9 relative (the totals are summed
    in another order), everything else exactly."""
    if isinstance(ours, dict):
        assert isinstance(theirs, dict) and ours.keys() == theirs.keys(), where
        return [d for k in ours for d in differences(ours[k], theirs[k], f"{where}.{k}")]
    if isinstance(ours, float) or isinstance(theirs, float):
        return [] if math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-9) else [where]
    return [] if ours == theirs else [f"{where}: {ours!r} != {theirs!r}"]


EXAMPLE = """
time,node,event,pod
10,node-a,start,p1
10,node-a,start,p2
10,node-a,start,p3
10,node-a,start,p4
10,node-a,start,p5
100,node-a,stop,p1
100,node-a,stop,p2
100,node-a,stop,p3
100,node-a,stop,p4
100,node-a,stop,p5
500,node-a,start,p6
"""


@pytest.mark.parametrize("release", [[], ["--quick-release"]])
def test_the_worked_example_of_the_contract(
    write: Callable[[str, str], Path], simulate_json: Sim, release: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    trace = write("ex.csv", EXAMPLE)
    args = ["--min-warm", "2", "--max-warm", "3", *release]
    ours = simulate_json(trace, *args)
    theirs = reference_json(trace, *args, capsys=capsys)
    assert differences(ours, theirs) == []
    assert theirs["nodes"]["node-a"]["idle_slot_seconds"] == (1476.0 if release else 2196.0)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--quick-release", "--min-warm", "1", "--max-warm", "3"],
        ["--max-slots", "12", "--bind-latency", "3.5", "--release-interval", "60"],
        ["--min-warm", "0", "--max-warm", "0", "--bind-latency", "0.25"],
    ],
)
def test_a_generated_workload_under_each_option(
    tmp_path: Path, simulate_json: Sim, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "w.csv"
    write_table(churn_table(generate(WorkloadSpec(nodes=6, days=0.5, seed=3, churn=2.0))), trace)
    ours = simulate_json(trace, *args)
    theirs = reference_json(trace, *args, capsys=capsys)
    assert ours["total"]["pod_starts"] > 1000
    assert differences(ours, theirs) == []


ROW = st.tuples(
    st.integers(0, 400).map(lambda t: t / 4),
    st.sampled_from(["a", "b", " c"]),
    st.sampled_from(["start", "start", "stop"]),
)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(ROW, min_size=1, max_size=60), quick=st.booleans(),
       m=st.integers(0, 3), extra=st.integers(0, 3), cap=st.none() | st.integers(0, 6))  # fmt: skip
def test_any_small_trace(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[float, str, str]],
    quick: bool,
    m: int,
    extra: int,
    cap: int | None,
) -> None:
    path = tmp_path_factory.mktemp("t") / "t.csv"
    path.write_text("time,node,event\n" + "".join(f"{t},{n},{e}\n" for t, n, e in rows))
    args = ["--min-warm", str(m), "--max-warm", str(m + extra), "--release-interval", "30"]
    args += ["--quick-release"] if quick else []
    args += ["--max-slots", str(cap)] if cap is not None else []
    result = CliRunner().invoke(cli, ["simulate", str(path), *args, "-o", "json"])
    assert result.exit_code == 0, result.output
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        REFERENCE.main([str(path), *args])
    assert differences(json.loads(result.stdout), json.loads(buffer.getvalue())) == []
