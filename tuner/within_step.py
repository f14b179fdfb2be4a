"""Where in its step a pod start read from Prometheus goes (docs/contracts/metrics.md).

Prometheus holds counts per step (30 s by default), not instants. Put every start of a
step at one instant and a node with a pod every 10 s reads as bursts of three: the
replay then asks for three warm slots where one serves, and the recommendation grows
with ``--step`` (1.2-2.4x the idle of the true history at 30 s on the simulated daily
clusters, ``bench/bench_step_placement.py``). The exporter also counts, per pool, the
starts that began a *burst* (``eni_pool_pod_start_bursts_total``: a start at least a
bind latency and a quarter after the one that began the burst before) and the pairs of
starts within one burst (``eni_pool_pod_start_pairs_total``: s(s - 1) / 2 for a burst
of s). A step's n starts in b bursts with q pairs are placed as:

- b bursts evenly over the step, the last at its end; the last is the big one, of the
  size S whose pairs with the other b - 1 sharing the rest evenly come closest to q
  (the bigger on a tie: a deployment's scale-up is never split); b single pods when
  q = 0, b equal bursts when q is as small as n in b bursts allows;
- more pairs than n starts in b bursts can have: a burst that began in the step before
  went on into this one (a scrape fell inside it); the fewest starts that explain the
  pairs join the step before's last burst, at the step's start, and the rest are placed
  as above;
- no burst began in the step (b = 0): all its starts continue the step before's last
  burst, at the step's start;
- no burst count for the step (kube-state-metrics, an exporter before the counters,
  or one upgraded within the window, before its upgrade): all n at the step's end, as
  one burst (what a count alone can say without understating a burst).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from pool_engine.counters import BURST_WINDOW


@dataclass(frozen=True)
class StepCounts:
    """One node's burst and pair counts by step end (steps without a value: 0)."""

    bursts: Mapping[float, float]
    pairs: Mapping[float, float]
    since: float
    """The node's exporter counts bursts from this instant on (steps ending before it
    have no counts)."""


def start_times(end: float, step: float, starts: int, bursts: int | None,
                pairs: int | None = None, before: int = 0) -> list[float]:  # fmt: skip
    """The times of the ``starts`` pod starts of the step ending at ``end``, ``bursts``
    of which began a burst, with ``pairs`` pairs within bursts (None: not counted),
    after a step whose last burst had ``before`` starts at its end."""
    groups = _groups(end, step, starts, bursts, pairs, before)
    return [t for t, count in groups for _ in range(count)]


def _groups(end: float, step: float, starts: int, bursts: int | None, pairs: int | None,
            before: int = 0, open_at: float | None = None) -> list[tuple[float, int]]:  # fmt: skip
    """:func:`start_times` as (time, starts at it); starts that continue the open burst
    go to ``open_at`` (None: the step's start)."""
    if starts <= 0:
        return []
    if bursts is None:
        return [(end, starts)]
    joining = end - step if open_at is None else open_at
    if bursts <= 0:
        return [(joining, starts)]
    b = min(bursts, starts)
    if pairs == 0 and b == starts:  # the common case: single pods
        return [(end - step + step * (j + 1) / b, 1) for j in range(b)]
    carried = 0
    if pairs is not None and before > 0:
        carried = _carried(starts, b, pairs, before)
        pairs -= carried * before + carried * (carried - 1) // 2
    n = starts - carried
    big = big_burst(n, b, pairs)
    rest = _shares(n - big, b - 1)
    out = [(joining, carried)] if carried else []
    out += [(end - step + step * (j + 1) / b, size) for j, size in enumerate(rest) if size]
    return [*out, (end, big)]


def _carried(starts: int, bursts: int, pairs: int, before: int) -> int:
    """The fewest of the step's starts that, joining the step before's last burst of
    ``before`` starts, let the pairs reach ``pairs`` (0 when its own bursts can)."""
    carried = 0
    while carried < starts - bursts:
        joined = carried * before + carried * (carried - 1) // 2
        left = starts - carried - (bursts - 1)  # the biggest burst the rest allows
        if joined + left * (left - 1) // 2 >= pairs:
            break
        carried += 1
    return carried


def big_burst(starts: int, bursts: int, pairs: int | None) -> int:
    """The size of the big burst of ``starts`` pods in ``bursts`` bursts (the others
    sharing the rest evenly) whose pairs come closest to ``pairs`` (None: the biggest)."""
    lo, hi = -(-starts // bursts), starts - (bursts - 1)
    if pairs is None or bursts == 1:
        return hi
    if _pairs(lo, starts, bursts) >= pairs:
        return lo
    while hi - lo > 1:  # _pairs grows with the big burst: at lo below, at hi at or above
        mid = (lo + hi) // 2
        if _pairs(mid, starts, bursts) >= pairs:
            hi = mid
        else:
            lo = mid
    if _pairs(hi, starts, bursts) < pairs:
        return hi
    return lo if pairs - _pairs(lo, starts, bursts) < _pairs(hi, starts, bursts) - pairs else hi


def _shares(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal parts."""
    return [total // parts + (1 if j < total % parts else 0) for j in range(parts)]


def _pairs(big: int, starts: int, bursts: int) -> int:
    """Pairs within bursts of one burst of ``big`` and the others sharing the rest."""
    small, extra = divmod(starts - big, bursts - 1)  # ``extra`` of small + 1, the rest small
    others = extra * (small + 1) * small + (bursts - 1 - extra) * small * (small - 1)
    return (big * (big - 1) + others) // 2


def node_start_times(points: list[tuple[float, float]], step: float,
                     counts: StepCounts | None) -> list[tuple[float, int]]:  # fmt: skip
    """One node's starts as (time, starts at it), from its ``(step end, starts)``
    points (in time order) with its burst and pair counts (None: not counted, every
    step's starts at its end). A step is counted when its start is at or after the
    node's first burst sample (its difference needs one there). Starts that continue a
    burst join the open one where it was placed, however many steps it spans (a
    direct-eni burst lasts up to 25 s)."""
    if counts is None:
        return [(t, round(n)) for t, n in points]
    span = max(BURST_WINDOW.values()) + 2 * step
    out: list[tuple[float, int]] = []
    open_at, open_size = -math.inf, 0  # the latest burst: where placed, its starts so far
    for t, n in points:
        starts = round(n)
        if t - step < counts.since:
            groups = [(t, starts)]
        else:
            is_open = t - open_at <= span
            b, q = round(counts.bursts.get(t, 0.0)), round(counts.pairs.get(t, 0.0))
            groups = _groups(t, step, starts, b, q, open_size if is_open else 0,
                             open_at if is_open else None)  # fmt: skip
            if b <= 0 and groups:
                open_at, open_size = groups[0][0], (open_size if is_open else 0) + starts
                out.extend(groups)
                continue
        out.extend(groups)
        if groups:
            open_at, open_size = groups[-1]
    return out
