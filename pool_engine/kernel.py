"""The compiled event loop behind :mod:`pool_engine.replay`.

One *run* replays one node's events (a slice of the sorted trace) under one set of
targets; the tuner replays the same slice under many targets by passing several
runs that share a slice. The rules themselves come from :mod:`pool_engine.policy`;
this module only keeps the books (docs/contracts/simulation.md): at one instant bind completions
come first, then the trace rows in file order, then a scheduled change of targets
(R7: R1, one release round; docs/contracts/schedules.md), then the periodic release
round, with R1 after each of them. Nothing happens between instants, so a round tick
that has nothing to release is never visited; an hour boundary where a run's
schedule changes is always visited, rows or not.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numba import njit

from pool_engine import policy, switches
from pool_engine.events import START
from pool_engine.runs import Knobs, Replayed, Rows, Runs, RunStats

# The rules of pool_engine.policy, compiled here so the loop below inlines them (the
# policy module itself stays free of numba: importing it must not load the compiler).
binds_to_request = njit(cache=True)(policy.binds_to_request)
is_round_tick = njit(cache=True)(policy.is_round_tick)
next_round_after = njit(cache=True)(policy.next_round_after)
releases_in_round = njit(cache=True)(policy.releases_in_round)
# The hour and bucket arithmetic of pool_engine.switches, compiled the same way; the
# bucket books close in close_buckets below.
hour_index = njit(cache=True)(switches.hour_index)
boundary_time = njit(cache=True)(switches.boundary_time)
next_table_switch = njit(cache=True)(switches.next_table_switch)
bucket_of = njit(cache=True)(switches.bucket_of)
bucket_end = njit(cache=True)(switches.bucket_end)


@njit(cache=True)
def close_buckets(
    buckets: np.ndarray,
    r: int,
    idle_before: float,
    level: int,
    t0: float,
    t1: float,
    mark: float,
    b: int,
    bucket_seconds: float,
    bucket_offset: float,
) -> tuple[float, int, float]:
    """Close the buckets that end within (t0, t1], where ``level`` idle slots held
    since ``t0`` and the run's idle slot-seconds were ``idle_before`` at ``t0``:
    each gets its idle slot-seconds (cumulative idle at its end minus ``mark``, the
    cumulative at its start). Returns the new (mark, open bucket, its end)."""
    n = buckets.shape[1]
    edge = bucket_end(b, bucket_seconds, bucket_offset, n)
    while t1 >= edge:
        at_edge = idle_before + level * max(0.0, edge - t0)
        buckets[r, b, 2] += at_edge - mark
        mark = at_edge
        b += 1
        edge = bucket_end(b, bucket_seconds, bucket_offset, n)
    return mark, b, edge


@njit(cache=True)
def percentile_with_zeros(sorted_waits: np.ndarray, zeros: int, q: float) -> float:
    """Linear-interpolated percentile of ``zeros`` zeros followed by ``sorted_waits``."""
    n = zeros + sorted_waits.shape[0]
    if n == 0:
        return 0.0
    pos = q / 100.0 * (n - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    v_lo = 0.0 if lo < zeros else float(sorted_waits[lo - zeros])
    v_hi = 0.0 if hi < zeros else float(sorted_waits[hi - zeros])
    return float(v_lo + (v_hi - v_lo) * (pos - lo))


@njit(cache=True)
def _grow(buf: np.ndarray, used: int) -> np.ndarray:
    if used < buf.shape[0]:
        return buf
    bigger = np.empty(max(16, buf.shape[0] * 2), dtype=buf.dtype)
    bigger[: buf.shape[0]] = buf
    return bigger


@njit(cache=True)
def wait_offsets(kinds: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Where each run's waits go: the running sum of its rows' starts (one more
    element than runs: the last is the total)."""
    offsets = np.zeros(lo.shape[0] + 1, dtype=np.int64)
    for r in range(lo.shape[0]):
        starts = 0
        for j in range(lo[r], hi[r]):
            starts += kinds[j] == START
        offsets[r + 1] = offsets[r] + starts
    return offsets


@njit(cache=True)
def _queue_binds(
    bind_at: np.ndarray, bind_n: np.ndarray, b_head: int, b_tail: int, done: float, need: int
) -> int:
    """Queue ``need`` binds completing at ``done`` (joining the last batch when it
    completes then too); returns the new tail."""
    if b_tail > b_head and bind_at[b_tail - 1] == done:
        bind_n[b_tail - 1] += need
        return b_tail
    bind_at[b_tail] = done
    bind_n[b_tail] = need
    return b_tail + 1


def _replay_run_of(scheduled: bool) -> Callable[..., tuple[np.ndarray, np.ndarray, int]]:
    """The replay of one run (:func:`run_all`), compiled once per value of ``scheduled``:
    numba takes the closure's flag as a constant, so the static variant (runs with
    ``table[r] < 0``) carries no hour-switch code in its loop (bench/RESULTS.md,
    issue 13). Returns the timeline buffers and their fill, which may have grown."""

    @njit(cache=True)
    def replay_run(
        r: int, rows: Rows, runs: Runs, knobs: Knobs, stats: RunStats, buckets: np.ndarray,
        waits: np.ndarray, queue: np.ndarray, bind_at: np.ndarray, bind_n: np.ndarray,
        tl_t: np.ndarray, tl_i: np.ndarray, tl_used: int,
    ) -> tuple[np.ndarray, np.ndarray, int]:  # fmt: skip
        times, kinds = rows.times, rows.kinds
        seg_lo, seg_hi, wait_offset = runs.lo, runs.hi, runs.wait_offset
        table, hourly = runs.table, runs.hourly
        day_offset = knobs.day_offset
        bind_latency, interval, quick = knobs.bind_latency, knobs.interval, knobs.quick
        end, record = knobs.end, knobs.record
        bucket_seconds, n_buckets = knobs.bucket_seconds, knobs.n_buckets
        bucket_offset = knobs.bucket_offset
        count_from = knobs.count_from

        m = runs.min_warm[r]
        big_m = runs.max_warm[r]
        tab = table[r]
        switch_at = math.inf  # the next hour boundary where this run's targets change
        switch_k = -1
        if scheduled and tab >= 0:
            k0 = hour_index(0.0, day_offset)
            m = hourly[tab, k0 % 24, 0]
            big_m = hourly[tab, k0 % 24, 1]
            switch_k = next_table_switch(hourly, tab, k0)
            if switch_k >= 0:
                switch_at = boundary_time(switch_k, day_offset)
        cap = runs.capacity[r]
        lo = seg_lo[r]
        hi = seg_hi[r]
        w0 = wait_offset[r]

        holding = min(cap, runs.holding[r])
        bound = min(cap, holding + m)
        in_flight = 0
        q_head = 0
        q_tail = 0
        b_head = 0
        b_tail = 0
        served = 0
        starts = 0
        hits = 0
        binds = 0
        releases = 0
        ignored = 0
        peak = bound
        wait_sum = 0.0
        wait_max = 0.0
        idle_s = 0.0
        bound_s = 0.0
        t_prev = 0.0
        # buckets: the open one, where it ends (inf: none or the last), idle at its start
        cur_b = 0
        edge = math.inf
        mark = 0.0
        if n_buckets > 0:
            cur_b = bucket_of(0.0, bucket_seconds, bucket_offset, n_buckets)
            edge = bucket_end(cur_b, bucket_seconds, bucket_offset, n_buckets)
        next_tick = interval  # the first round tick after the last instant processed
        i = lo
        counting = False  # statistics count from count_from on

        if record:
            tl_t = _grow(tl_t, tl_used + 1)
            tl_i = _grow(tl_i, 4 * (tl_used + 1))
            tl_t[tl_used] = 0.0
            tl_i[4 * tl_used] = r
            tl_i[4 * tl_used + 1] = bound
            tl_i[4 * tl_used + 2] = holding
            tl_i[4 * tl_used + 3] = 0
            tl_used += 1

        while True:
            waiting = q_tail - q_head
            t = math.inf
            if i < hi:
                t = times[i]
            if b_head < b_tail and bind_at[b_head] < t:
                t = bind_at[b_head]
            if scheduled and switch_at < t:
                t = switch_at
            if next_tick < t and releases_in_round(
                bound, in_flight, holding, waiting, big_m, quick
            ):
                t = next_tick
            if t > end:
                break
            if t >= count_from and not counting:  # forget what came before count_from
                counting = True
                starts = hits = binds = releases = ignored = served = 0
                wait_sum = wait_max = 0.0
                peak = bound
                uncounted = -(bound - holding) * (count_from - t_prev)
                mark += uncounted - idle_s  # the open bucket's idle stays as it was
                idle_s = uncounted
                bound_s = -bound * (count_from - t_prev)

            if t >= edge:  # idle slot-seconds of the buckets this step closes
                mark, cur_b, edge = close_buckets(
                    buckets, r, idle_s, bound - holding, t_prev, t, mark, cur_b, bucket_seconds,
                    bucket_offset,
                )  # fmt: skip
            idle_s += (bound - holding) * (t - t_prev)
            bound_s += bound * (t - t_prev)
            t_prev = t

            # 1. bind completions (R4); R1 after each is a no-op (B + K unchanged).
            while b_head < b_tail and bind_at[b_head] <= t:
                n = bind_n[b_head]
                b_head += 1
                bound += n
                in_flight -= n
                while n > 0 and q_head < q_tail:
                    w = t - queue[q_head]
                    if n_buckets > 0:
                        b = bucket_of(queue[q_head], bucket_seconds, bucket_offset, n_buckets)
                        buckets[r, b, 3] += w
                    counted = queue[q_head] >= count_from
                    q_head += 1
                    holding += 1
                    if counted:
                        waits[w0 + served] = w
                        served += 1
                        wait_sum += w
                        wait_max = max(wait_max, w)
                    n -= 1
                peak = max(peak, bound)

            # 2. trace rows at this instant, in file order (R5, R6), R1 after each.
            while i < hi and times[i] == t:
                if kinds[i] == START:
                    starts += 1
                    hit = bound - holding > 0
                    if hit:
                        holding += 1
                        hits += 1
                    else:
                        queue[q_tail] = t
                        q_tail += 1
                    if n_buckets > 0:
                        b = bucket_of(t, bucket_seconds, bucket_offset, n_buckets)
                        buckets[r, b, 0] += 1
                        buckets[r, b, 1] += 0 if hit else 1
                elif holding > 0:
                    if q_head < q_tail:  # the freed slot goes straight to the oldest waiter
                        w = t - queue[q_head]
                        if n_buckets > 0:
                            b = bucket_of(queue[q_head], bucket_seconds, bucket_offset, n_buckets)
                            buckets[r, b, 3] += w
                        if queue[q_head] >= count_from:
                            waits[w0 + served] = w
                            served += 1
                            wait_sum += w
                            wait_max = max(wait_max, w)
                        q_head += 1
                    else:
                        holding -= 1
                elif q_head < q_tail:
                    q_tail -= 1  # the newest waiting pod goes away unserved
                else:
                    ignored += 1
                i += 1
                need = binds_to_request(bound, in_flight, holding, q_tail - q_head, m, cap)
                if need > 0:
                    in_flight += need
                    binds += need
                    b_tail = _queue_binds(bind_at, bind_n, b_head, b_tail, t + bind_latency, need)

            # 3. a scheduled change of targets (R7): R1, one release round, R3 (a no-op:
            # C never changes in a replay).
            if scheduled and t == switch_at:
                h = switch_k % 24
                m = hourly[tab, h, 0]
                big_m = hourly[tab, h, 1]
                need = binds_to_request(bound, in_flight, holding, q_tail - q_head, m, cap)
                if need > 0:
                    in_flight += need
                    binds += need
                    b_tail = _queue_binds(bind_at, bind_n, b_head, b_tail, t + bind_latency, need)
                n = releases_in_round(bound, in_flight, holding, q_tail - q_head, big_m, quick)
                bound -= n
                releases += n
                switch_k = next_table_switch(hourly, tab, switch_k)
                switch_at = boundary_time(switch_k, day_offset)

            # 4. the release round (R2), if this instant is a tick; R1 after it is a no-op.
            # Most instants fall before the next tick: one comparison, no division.
            if t == next_tick or (t > next_tick and is_round_tick(t, 0.0, interval)):
                n = releases_in_round(bound, in_flight, holding, q_tail - q_head, big_m, quick)
                bound -= n
                releases += n
            if t >= next_tick:
                next_tick = next_round_after(t, 0.0, interval)

            if record:
                last = 4 * (tl_used - 1)
                waiting = q_tail - q_head
                if (
                    tl_i[last + 1] != bound
                    or tl_i[last + 2] != holding
                    or tl_i[last + 3] != waiting
                ):
                    if tl_t[tl_used - 1] != t:
                        tl_t = _grow(tl_t, tl_used + 1)
                        tl_i = _grow(tl_i, 4 * (tl_used + 1))
                        tl_used += 1
                    last = 4 * (tl_used - 1)
                    tl_t[tl_used - 1] = t
                    tl_i[last] = r
                    tl_i[last + 1] = bound
                    tl_i[last + 2] = holding
                    tl_i[last + 3] = waiting

        if not counting:  # no instant from count_from on: only the stretch up to the end
            starts = hits = binds = releases = ignored = served = 0
            wait_sum = wait_max = 0.0
            peak = bound
            uncounted = -(bound - holding) * (min(count_from, end) - t_prev)
            mark += uncounted - idle_s  # the open bucket's idle stays as it was
            idle_s = uncounted
            bound_s = -bound * (min(count_from, end) - t_prev)
        if end >= edge:
            mark, cur_b, edge = close_buckets(
                buckets, r, idle_s, bound - holding, t_prev, end, mark, cur_b, bucket_seconds,
                bucket_offset,
            )  # fmt: skip
        idle_s += (bound - holding) * (end - t_prev)
        bound_s += bound * (end - t_prev)
        if n_buckets > 0:
            buckets[r, cur_b, 2] += idle_s - mark

        run_waits = waits[w0 : w0 + served]
        run_waits.sort()
        stats.pod_starts[r] = starts
        stats.warm_hits[r] = hits
        stats.cold_starts[r] = starts - hits
        stats.wait_seconds_sum[r] = wait_sum
        stats.wait_seconds_max[r] = wait_max
        stats.wait_seconds_p99[r] = percentile_with_zeros(run_waits, hits, 99.0)
        stats.idle_slot_seconds[r] = idle_s
        stats.bound_slot_seconds[r] = bound_s
        stats.bind_ops[r] = binds
        stats.release_ops[r] = releases
        stats.peak_bound[r] = peak
        stats.ignored_events[r] = ignored
        stats.served[r] = served
        return tl_t, tl_i, tl_used

    return replay_run  # type: ignore[no-any-return]


_replay_static = _replay_run_of(False)
_replay_scheduled = _replay_run_of(True)


@njit(cache=True)
def run_all(rows: Rows, runs: Runs, knobs: Knobs) -> Replayed:
    """Replay every run.

    A run's pool starts with min(C, P + m) bound, P its initial holders, m the
    targets of the hour of time 0 for a scheduled run. With ``knobs.n_buckets > 0``,
    ``buckets[r, b]`` holds (pod starts, cold starts, idle slot-seconds, seconds
    waited by the pods started in it) in bucket b (:attr:`Knobs.bucket_offset`), for
    recency weighting and hour-of-day statistics. With ``knobs.record`` the timeline
    holds (time) and (run, bound, in_use, waiting) at every change.
    """
    seg_lo, seg_hi, wait_offset = runs.lo, runs.hi, runs.wait_offset
    table, hourly = runs.table, runs.hourly
    day_offset = knobs.day_offset
    end, record = knobs.end, knobs.record
    n_buckets = knobs.n_buckets

    n_runs = seg_lo.shape[0]
    buckets = np.zeros((n_runs, max(n_buckets, 0), 4), dtype=np.float64)
    stats = RunStats(
        np.zeros(n_runs, dtype=np.int64),  # pod_starts
        np.zeros(n_runs, dtype=np.int64),  # warm_hits
        np.zeros(n_runs, dtype=np.int64),  # cold_starts
        np.zeros(n_runs, dtype=np.float64),  # wait_seconds_sum
        np.zeros(n_runs, dtype=np.float64),  # wait_seconds_max
        np.zeros(n_runs, dtype=np.float64),  # wait_seconds_p99
        np.zeros(n_runs, dtype=np.float64),  # idle_slot_seconds
        np.zeros(n_runs, dtype=np.float64),  # bound_slot_seconds
        np.zeros(n_runs, dtype=np.int64),  # bind_ops
        np.zeros(n_runs, dtype=np.int64),  # release_ops
        np.zeros(n_runs, dtype=np.int64),  # peak_bound
        np.zeros(n_runs, dtype=np.int64),  # ignored_events
        np.zeros(n_runs, dtype=np.int64),  # served
    )
    waits = np.empty(max(1, int(wait_offset[n_runs])), dtype=np.float64)

    longest = 1
    for r in range(n_runs):
        longest = max(longest, seg_hi[r] - seg_lo[r] + 1)
    if hourly.shape[0] > 0:  # a bind batch per scheduled switch too
        longest += hour_index(end, day_offset) - hour_index(0.0, day_offset) + 1
    queue = np.empty(longest, dtype=np.float64)  # start times of waiting pods
    bind_at = np.empty(longest, dtype=np.float64)  # completion time of a bind batch
    bind_n = np.empty(longest, dtype=np.int64)  # binds in that batch

    tl_t = np.empty(16 if record else 0, dtype=np.float64)
    tl_i = np.empty((16 if record else 0) * 4, dtype=np.int64)
    tl_used = 0

    for r in range(n_runs):
        if table[r] >= 0:
            tl_t, tl_i, tl_used = _replay_scheduled(
                r, rows, runs, knobs, stats, buckets, waits, queue, bind_at, bind_n, tl_t,
                tl_i, tl_used,
            )  # fmt: skip
        else:
            tl_t, tl_i, tl_used = _replay_static(
                r, rows, runs, knobs, stats, buckets, waits, queue, bind_at, bind_n, tl_t,
                tl_i, tl_used,
            )  # fmt: skip

    timeline_i = tl_i[: 4 * tl_used].reshape((tl_used, 4))
    return Replayed(stats, waits, tl_t[:tl_used], timeline_i, buckets)
