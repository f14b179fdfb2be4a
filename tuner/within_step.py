"""Where in its step a pod start read from Prometheus goes (docs/contracts/metrics.md).

Prometheus holds counts per step (30 s by default), not instants. Put every start of a
step at one instant and a node with a pod every 10 s reads as bursts of three: the
replay then asks for three warm slots where one serves, and the recommendation grows
with ``--step`` (2.1-2.4x the idle of the true history at 30 s on the simulated daily
clusters, ``bench/bench_step_placement.py``). The exporter also counts, per pool, the
starts that began a *burst* (``eni_pool_pod_start_bursts_total``: a start at least a
bind latency and a quarter after the one that began the burst before) and the pairs of
starts within one burst (``eni_pool_pod_start_pairs_total``: s(s - 1) / 2 for a burst
of s). A step's n starts in b bursts with q pairs are placed as:

- b bursts evenly over the step, the last at its end; the last is the big one, of the
  size S whose pairs with the other b - 1 sharing the rest evenly come closest to q
  (the bigger on a tie: a deployment's scale-up is never split); b single pods when
  q = 0, b equal bursts when q is as small as n in b bursts allows;
- no burst began in the step (b = 0): the starts continue the step before's last
  burst, at the step's start;
- no burst count for the step (kube-state-metrics, an exporter before the counters,
  or one upgraded within the window, before its upgrade): all n at the step's end, as
  one burst (what a count alone can say without understating a burst); a burst count
  without a pair count: the biggest burst the counts allow.
"""

from __future__ import annotations

from collections.abc import Mapping


def start_times(end: float, step: float, starts: int, bursts: int | None,
                pairs: int | None = None) -> list[float]:  # fmt: skip
    """The times of the ``starts`` pod starts of the step ending at ``end``, ``bursts``
    of which began a burst, with ``pairs`` pairs within bursts (None: not counted)."""
    return [t for t, count in _groups(end, step, starts, bursts, pairs) for _ in range(count)]


def _groups(end: float, step: float, starts: int, bursts: int | None,
            pairs: int | None) -> list[tuple[float, int]]:  # fmt: skip
    """:func:`start_times` as (time, starts at it)."""
    if starts <= 0:
        return []
    if bursts is None:
        return [(end, starts)]
    if bursts <= 0:
        return [(end - step, starts)]
    b = min(bursts, starts)
    big = big_burst(starts, b, pairs)
    rest = _shares(starts - big, b - 1)
    out = [(end - step + step * (j + 1) / b, size) for j, size in enumerate(rest) if size]
    return [*out, (end, big)]


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


def node_start_times(
    points: list[tuple[float, float]],
    step: float,
    bursts: Mapping[float, float],
    pairs: Mapping[float, float],
) -> list[tuple[float, int]]:
    """One node's starts as (time, starts at it), from its ``(step end, starts)``
    points with its burst and pair counts by step end; a step without a burst count
    (none for the node, or its exporter did not count bursts then) has its starts at
    its end."""
    out: list[tuple[float, int]] = []
    for t, n in points:
        b = bursts.get(t)
        if b is None:
            out.append((t, round(n)))
        else:
            q = pairs.get(t)
            out.extend(_groups(t, step, round(n), round(b), None if q is None else round(q)))
    return out
