"""Where a step's pod starts go when read from Prometheus (tuner/within_step.py), and
the exporter's burst counters they are placed by (pool_engine/counters.py)."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from pool_engine.config import Mode
from pool_engine.counters import BURST_WINDOW, PoolCounters
from tuner.within_step import StepCounts, big_burst, start_times
from tuner.within_step import node_start_times as grouped


def node_start_times(points: list[tuple[float, float]], step: float, bursts: dict[float, float],
                     pairs: dict[float, float], since: float = -1e18) -> list[float]:  # fmt: skip
    counts = StepCounts(bursts, pairs, since) if bursts or pairs else None
    return [t for t, count in grouped(points, step, counts) for _ in range(count)]


def per_step(times: list[float], step: float,
             mode: Mode = Mode.ROUTE_ENI) -> dict[float, list[int]]:  # fmt: skip
    """Per step end: starts, bursts begun and pairs, counted with the engine's rule."""
    counters = PoolCounters()
    per: dict[float, list[int]] = {}
    for t in sorted(times):
        before = (counters.pod_start_bursts, counters.pod_start_pairs)
        counters.started(mode, t)
        end = max(step, -(-t // step) * step)
        cell = per.setdefault(end, [0, 0, 0])
        cell[0] += 1
        cell[1] += counters.pod_start_bursts - before[0]
        cell[2] += counters.pod_start_pairs - before[1]
    return per


def read_back(times: list[float], step: float, mode: Mode = Mode.ROUTE_ENI) -> list[float]:
    """The starts as the tuner places them from the per-step counts."""
    per = per_step(times, step, mode)
    points = [(end, float(c[0])) for end, c in sorted(per.items())]
    counts = StepCounts({e: float(c[1]) for e, c in per.items() if c[1]},
                        {e: float(c[2]) for e, c in per.items() if c[2]}, -1e18)  # fmt: skip
    return [t for t, count in grouped(points, step, counts) for _ in range(count)]


def counted(times: list[float], mode: Mode = Mode.ROUTE_ENI) -> PoolCounters:
    counters = PoolCounters()
    for t in times:
        counters.started(mode, t)
    return counters


def test_a_burst_is_the_starts_within_its_window_of_its_first() -> None:
    w = BURST_WINDOW[Mode.ROUTE_ENI]
    # 0, 1, 2 (one burst of 3), w + 0.5 (new: w after 0), 2w + 0.4 (same: under w of it)
    c = counted([0.0, 1.0, 2.0, w + 0.5, 2 * w + 0.4])
    assert (c.pod_starts, c.pod_start_bursts, c.pod_start_pairs) == (5, 2, 3 + 1)
    # a chain of starts 1 s apart is not one burst: each burst is measured from its first
    c = counted([float(t) for t in range(10)])
    assert c.pod_start_bursts == 4 and c.pod_start_pairs == 3 + 3 + 3 + 0  # 0-2, 3-5, 6-8, 9
    # direct-eni's window is an ENI attach's
    c = counted([0.0, 10.0, 20.0, 30.0], Mode.DIRECT_ENI)
    assert (c.pod_start_bursts, c.pod_start_pairs) == (2, 3 + 0)


def test_without_burst_counts_every_start_is_at_the_step_end() -> None:
    assert start_times(60.0, 30.0, 4, None) == [60.0] * 4
    assert node_start_times([(30.0, 2.0), (90.0, 1.0)], 30.0, {}, {}) == [30.0, 30.0, 90.0]


def test_a_step_without_a_burst_count_keeps_its_starts_at_its_end() -> None:
    """An exporter upgraded within the window counts bursts only from then on: the
    steps before have no burst value (not 0, which says the starts continue a burst)."""
    points = [(30.0, 3.0), (60.0, 3.0), (90.0, 2.0)]
    placed = node_start_times(points, 30.0, {60.0: 3.0}, {90.0: 1.0}, since=30.0)
    assert placed == [30.0, 30.0, 30.0, 40.0, 50.0, 60.0, 60.0, 60.0]


def test_a_burst_across_a_scrape_is_read_back_whole() -> None:
    """20 pods from 29.5 s on, a scrape at 30 s inside them, then three single pods:
    the second step's pairs are more than its own 3 bursts of 12 starts can have, so
    9 of its starts join the burst before (not two bursts of ~10, 30 s apart)."""
    times = [29.5 + 0.05 * i for i in range(20)] + [38.0, 46.0, 54.0]
    placed = Counter(read_back(times, 30.0))
    assert placed[30.0] == 20 and sorted(placed.values()) == [1, 1, 1, 20]


def test_bursts_of_two_are_read_back_as_such() -> None:
    # 6 starts in 3 bursts with 3 pairs: three bursts of two, not 1 + 1 + 4
    assert (
        node_start_times([(30.0, 6.0)], 30.0, {30.0: 3.0}, {30.0: 3.0})
        == [10.0] * 2 + [20.0] * 2 + [30.0] * 2
    )


def test_singles_spread_over_the_step() -> None:
    # a pod every 10 s read at 30 s steps: three bursts of one, not a burst of three
    assert start_times(60.0, 30.0, 3, 3, 0) == [40.0, 50.0, 60.0]


def test_one_burst_stays_whole_at_the_step_end() -> None:
    assert start_times(60.0, 30.0, 20, 1, 190) == [60.0] * 20


def test_starts_without_a_new_burst_continue_the_step_before() -> None:
    assert start_times(60.0, 30.0, 2, 0, 5) == [30.0, 30.0]


def test_the_big_burst_matches_the_pairs() -> None:
    # a burst of 7 and one of 5: 21 + 10 pairs
    times = start_times(30.0, 30.0, 12, 2, 31)
    assert sorted(Counter(times).values()) == [5, 7]
    assert big_burst(12, 2, 31) == 7
    # the fewest pairs n starts in b bursts can have: equal bursts
    assert sorted(Counter(start_times(30.0, 30.0, 12, 3, 18)).values()) == [4, 4, 4]
    # pairs unknown: the biggest burst the counts allow
    assert sorted(Counter(start_times(30.0, 30.0, 12, 3, None)).values()) == [1, 1, 10]


@given(st.lists(st.integers(1, 40), min_size=1, max_size=12), st.integers(1, 40))
def test_one_big_and_equal_others_are_read_back_exactly(others: list[int], big: int) -> None:
    """Bursts of one big size and the others alike (b - 1 of size s) come back as they
    were: the same sizes, every start in the step, the big one at its end."""
    b = len(others) + 1
    size = others[0]
    sizes = [size] * (b - 1) + [max(big, size)]
    n, pairs = sum(sizes), sum(s * (s - 1) // 2 for s in sizes)
    times = start_times(300.0, 30.0, n, b, pairs)
    assert len(times) == n and all(270.0 < t <= 300.0 for t in times)
    assert sorted(Counter(times).values()) == sorted(sizes)
    assert Counter(times)[300.0] == max(sizes)


@given(st.integers(1, 300), st.integers(0, 300), st.integers(0, 50_000))
def test_every_start_is_placed_in_its_step(n: int, b: int, pairs: int) -> None:
    """Whatever the counts say (even counts no burst could give, from counters read at
    different instants), the step's starts all land in it, the big burst at its end."""
    times = start_times(90.0, 30.0, n, b, pairs)
    assert len(times) == n
    assert all(60.0 <= t <= 90.0 for t in times)
    if b >= 1:
        assert times[-1] == 90.0 and len(set(times)) == min(b, n)


@given(st.lists(st.floats(0.0, 600.0), min_size=1, max_size=60))
def test_the_counters_read_back_per_step_keep_each_count(raw: list[float]) -> None:
    """Counting a node's starts with the engine's rule and placing them back from the
    per-step counts keeps the number of starts in every step."""
    step = 30.0
    per = per_step(raw, step)
    placed = read_back(raw, step)
    assert len(placed) == len(raw)
    at = 0
    for end, (n, b, _) in sorted(per.items()):
        mine = placed[at : at + n]  # each step's own starts, in step order
        at += n
        assert all(end - step <= t <= end for t in mine)
        assert (mine[0] == end - step) == (b == 0) or mine[0] == end - step  # a continuation
        if b == 0:
            assert set(mine) == {end - step}


@given(
    st.lists(
        st.tuples(st.floats(0.0, 3000.0), st.integers(1, 30), st.floats(0.0, 2.4)),
        min_size=1,
        max_size=12,
    )
)
def test_no_burst_is_read_back_smaller(bursts: list[tuple[float, int, float]]) -> None:
    """Bursts of pods (size, spread within the burst window) read back from per-step
    counts: the biggest group of starts placed at one instant is at least the biggest
    burst the engine counted (the reading never understates a burst)."""
    times = sorted(t + spread * i / size for t, size, spread in bursts for i in range(size))
    counters, biggest = PoolCounters(), 0
    for t in times:
        counters.started(Mode.ROUTE_ENI, t)
        biggest = max(biggest, counters.burst_size)
    placed = Counter(read_back(times, 30.0))
    assert max(placed.values()) >= biggest


def test_the_step_of_an_upgrade_is_not_counted() -> None:
    """The step holding a node's first burst sample has no burst difference (none at
    its start): its starts are not a continuation of the uncounted step before."""
    placed = grouped([(1000.0, 3.0), (1030.0, 2.0)], 30.0, StepCounts({}, {}, 1020.0))
    assert placed == [(1000.0, 3), (1030.0, 2)]


@given(
    st.lists(
        st.tuples(st.floats(0.0, 3000.0), st.integers(1, 12), st.floats(0.0, 24.9)),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from([5.0, 10.0, 15.0, 30.0]),
)
def test_no_direct_eni_burst_is_read_back_smaller(
    bursts: list[tuple[float, int, float]], step: float
) -> None:
    """A direct-eni burst lasts up to 25 s, over several short steps: continuations
    join the open burst however many steps it spans."""
    times = sorted(t + spread * i / size for t, size, spread in bursts for i in range(size))
    counters, biggest = PoolCounters(), 0
    for t in times:
        counters.started(Mode.DIRECT_ENI, t)
        biggest = max(biggest, counters.burst_size)
    placed = Counter(read_back(times, step, Mode.DIRECT_ENI))
    assert sum(placed.values()) == len(times)
    assert max(placed.values()) >= biggest
