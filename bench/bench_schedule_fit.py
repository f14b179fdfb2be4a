"""Development check of `recommend --schedule` on the schedule quality protocol (issue 13):
recommend on the first half of a trace, replay the WHOLE trace in place and count the
second half (hours of day stay true). Beside the schedule: the all-day recommendation,
a plain greedy of one-hour blocks fitted on the first half (per hour, the cheapest pair
of the grid meeting 1.5 %), and the per-node static hindsight best on the second half
(cheapest pair meeting 1.5 %, else fewest cold starts, as bench_tuner_quality.py).
In-process (the library, not the CLI), for quick iterations on the search.

    python bench/bench_schedule_fit.py TRACE.csv [...]   # or a seed: daily_traces.mixed
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from pool_engine.config import Targets
from pool_engine.replay import NodeTargets, Run, SimulationSettings, replay
from pool_engine.trace import Trace, load_trace
from pool_engine.warm_schedule import WarmSchedule
from support import daily_traces as dt
from tuner import analysis
from tuner.history import load_history
from tuner.objective import AnalysisSettings
from tuner.schedule_search import search

MINS = (*range(1, 33), 40, 48, 64, 96)
BANDS = (0, 1, 2, 3, 4, 6, 8)
RATE = 0.015


def counted(trace: Trace, runs: list[Run], half: float) -> tuple[np.ndarray, ...]:
    """Per run: starts, cold starts, idle slot-seconds of the whole hours after ``half``,
    and the hourly buckets."""
    b = replay(trace, runs, SimulationSettings(), bucket_seconds=3600.0).buckets
    first = int(np.ceil(half / 3600.0))
    return b[:, first:, 0].sum(1), b[:, first:, 1].sum(1), b[:, first:, 2].sum(1), b


def evaluate(name: str, whole: Path, out: Path) -> str:
    t = load_trace(whole)
    half = t.end / 2
    rows = [(float(x), t.nodes[k], "start" if e == 0 else "stop")
            for k in range(len(t.nodes)) for x, e in zip(*t.node_rows(k), strict=True)]  # fmt: skip
    history = load_history(dt.write(out / f"{name}.first.csv", [r for r in rows if r[0] < half]))
    began = time.perf_counter()
    recs = analysis.recommend(history, AnalysisSettings())
    advice = search(history, AnalysisSettings(), recs)
    took = time.perf_counter() - began
    n, idx = len(t.nodes), {node: k for k, node in enumerate(t.nodes)}
    ks = [idx[r.node] for r in recs]
    s_st, s_c, s_i, _ = counted(t, [Run(k, NodeTargets.scheduled(a.schedule))
                                    for k, a in zip(ks, advice, strict=True)], half)  # fmt: skip
    _, a_c, a_i, _ = counted(t, [Run(k, NodeTargets(r.recommended.targets))
                                 for k, r in zip(ks, recs, strict=True)], half)  # fmt: skip
    pairs = [(m, m + d) for m in MINS for d in BANDS]
    g_st, g_c, g_i, g_b = counted(t, [Run(k, NodeTargets(Targets(*p)))
                                      for k in range(n) for p in pairs], half)  # fmt: skip
    p = len(pairs)
    g_st, g_c, g_i = g_st.reshape(n, p)[:, 0], g_c.reshape(n, p), g_i.reshape(n, p)
    meets = g_c <= RATE * g_st[:, None] + 1e-9
    usable = np.where(meets.any(1, keepdims=True), meets, g_c <= g_c.min(1, keepdims=True))
    pick = np.argmin(np.where(usable, g_i, np.inf), 1)
    h_c, h_i = g_c[np.arange(n), pick].sum(), g_i[np.arange(n), pick].sum()
    fitted = g_b.reshape(n, p, g_b.shape[1], -1)[:, :, : int(half // 3600)]
    hod = np.arange(fitted.shape[2]) % 24
    greedy = []
    for k in range(n):
        hourly = []
        for h in range(24):
            cells = fitted[k][:, hod == h]
            starts, cold, idle = cells[0, :, 0].sum(), cells[:, :, 1].sum(1), cells[:, :, 2].sum(1)
            ok = cold <= RATE * starts + 1e-9
            j = int(np.argmin(np.where(ok, idle, np.inf))) if ok.any() else int(np.argmin(cold))
            hourly.append(Targets(*pairs[j]))
        greedy.append(Run(k, NodeTargets.scheduled(WarmSchedule(tuple(hourly)))))
    _, r_c, r_i, _ = counted(t, greedy, half)
    total = s_st.sum()
    scheduled = sum(a.scheduled() for a in advice)
    return (f"| {name} | {n} | {scheduled} | {s_c.sum() / total:.2%} / {a_c.sum() / total:.2%} / "
            f"{r_c.sum() / total:.2%} / {h_c / total:.2%} | {s_i.sum() / h_i:.2f}x / "
            f"{a_i.sum() / h_i:.2f}x / {r_i.sum() / h_i:.2f}x | {took:.1f} s |")  # fmt: skip


def main(args: list[str]) -> None:
    out = Path(__file__).parent / "out" / "schedule"
    out.mkdir(parents=True, exist_ok=True)
    print(
        "| trace | nodes | scheduled | cold: schedule / all-day / greedy / hindsight "
        "| idle vs hindsight: schedule / all-day / greedy | recommend time |"
    )
    print("|---|---|---|---|---|---|")
    for arg in args:
        if arg.endswith((".csv", ".parquet")):
            print(evaluate(Path(arg).name, Path(arg), out))
        else:
            trace = dt.write(out / f"mixed-seed{arg}.csv", dt.mixed(40, int(arg)))
            print(evaluate(trace.name, trace, out))


if __name__ == "__main__":
    if {"-h", "--help"} & set(sys.argv[1:]):
        sys.exit(print(__doc__))
    main(sys.argv[1:])
