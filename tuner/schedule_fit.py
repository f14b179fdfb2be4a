"""Fitting one day's schedule to a node's hour table (:mod:`tuner.hour_table`).

1. **What each pair costs in each hour**, per day: idle slot-hours, and an estimate of
   cold starts. An hour with a recurring burst (:mod:`tuner.recurrence`), or whose
   cold starts under a pair come on most days, keeps its own mean plus one standard
   error (Poisson: the days vary); the other hours' are pulled towards the node's
   background (the mean over its non-recurring cells) with
   :attr:`FitSettings.pseudo_days` days of weight: a burst seen once at 14:00 says
   little about 14:00 tomorrow (nor does its absence at 15:00), so a node without daily
   structure gets the same estimate in every hour, and one pair. A block
   raised for a burst is entered from a lower pair, so R1 binds up to its min only,
   where the pair's all-day replay may hold up to its max from the day before: in an
   hour with a recurring burst a pair is estimated as its band-0 sibling (min, min)
   sees it, if that is worse.
2. **Never lower on a prediction alone.** A pair below the all-day pair (either target
   lower) may run in an hour only where history shows that hour, under that pair, no
   worse than under the all-day pair on :attr:`FitSettings.quiet` of the days.
3. **One price for both.** Each hour takes the pair of least idle + lambda x cold
   starts; lambda is the smallest price whose day stays within the cold starts the
   aim allows (the objective's rate x the day's pod starts).
4. **Blocks only where they pay.** Neighbouring blocks (across midnight too) merge
   into the best pair for both while that costs less than :attr:`FitSettings.block_cost`
   slot-hours a day. Where the merged schedule (with its lead, 5.) spends more cold
   starts than the aim allows, a dearer price is tried, up to :data:`RAISES` of them.
5. **Lead time.** A block whose pair is higher than the hour before starts an hour
   early when more pods start within the bind latency after its first hour begins than
   the hour before keeps warm (the switch's binds would come late): on any day, at an
   hour with a recurring burst (:meth:`tuner.recurrence.Recurrence.lead_need`), else on
   half the days. The hour before then holds an upper bound of those pods, or the
   block's own pair when that bound fills the block's min.
6. **Do no harm, in sample.** A schedule that does not save
   :attr:`FitSettings.min_saving` of the all-day pair's idle, or costs cold starts
   beyond max(aim, the all-day pair's), is the all-day pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import poisson

from pool_engine.warm_schedule import HOURS, WarmSchedule
from tuner.hour_table import HourTable

LAMBDAS = np.concatenate(([0.0], np.geomspace(1e-3, 1e5, 64)))
"""Prices of a cold start tried, in idle slot-hours."""
LEAD_LEVEL = 0.99
"""A lead hour holds this upper quantile (Poisson, at the most seen on a day) of the
pods that beat the switch: a job's size varies from day to day."""
RAISES = 16
"""Dearer prices tried (two decades) when merging blocks and moving them early take
the schedule past the cold starts its aim allows."""


@dataclass(frozen=True)
class FitSettings:
    """How a schedule is fitted."""

    quiet: float = 0.75
    """Share of the days an hour must be no worse under a lower pair than under the
    all-day pair for that pair to run in it."""
    recurs: float = 0.5
    """Share of the days with cold starts in an hour that makes them recur."""
    pseudo_days: float = 1.0
    """Weight of the background in a non-recurring hour's estimate, in multiples of
    the days seen."""
    block_cost: float = 1.0
    """Idle slot-hours a day a block must save to stand apart from its neighbour."""
    min_saving: float = 0.05
    """Share of the all-day pair's idle a schedule must save to be worth it."""


@dataclass(frozen=True)
class Fitted:
    """A fitted schedule, as candidates of the table per hour."""

    choice: np.ndarray
    """(24,) the candidate in force each hour."""
    lead_hours: frozenset[int]
    """Hours a block was moved early into."""
    idle: float
    """Estimated idle slot-hours a day."""
    cold: float
    """Estimated cold starts a day."""

    def constant(self) -> bool:
        return bool((self.choice == self.choice[0]).all())

    def schedule(self, table: HourTable) -> WarmSchedule:
        return WarmSchedule(tuple(table.pair(int(c)) for c in self.choice))


def fit(table: HourTable, days: np.ndarray, rate: float, lead_need: np.ndarray,
        bursts: np.ndarray, settings: FitSettings) -> Fitted | None:  # fmt: skip
    """The schedule fitted on the table's rows ``days`` (bool) aiming at ``rate`` cold
    starts per pod start; ``bursts`` (24,) bool marks the hours with a recurring burst.
    None when some hour of day was never seen."""
    w = (table.seen & days[:, None]).astype(np.float64)
    seen = w.sum(axis=0)
    if (seen <= 0).any():
        return None
    total = (table.cold * w).sum(axis=1)
    cold = total / seen  # (C, 24) a day
    idle = (table.idle * w).sum(axis=1) / seen / 3600.0
    often = ((table.cold > 0) * w).sum(axis=1) / seen
    recurring = (often >= settings.recurs) | bursts[None, :]
    # a recurring hour's days vary: its estimate is pessimistic by one standard error
    cold = np.where(recurring, (total + np.sqrt(total)) / seen, cold)
    background = np.where(~recurring, cold * seen, 0.0).sum(axis=1) / np.maximum(
        np.where(~recurring, seen, 0.0).sum(axis=1), 1e-9)  # fmt: skip
    k = settings.pseudo_days * seen
    est = np.where(recurring, cold, (cold * seen + k * background[:, None]) / (seen + k))
    # a block raised for a burst is entered from a lower pair: R1 binds up to its min
    # only, where the pair's all-day replay may still hold up to its max from the day
    # before; a burst hour is estimated as the pair's band-0 sibling sees it, if worse
    sibling = _siblings(table.pairs)
    est = np.where(bursts[None, :], np.maximum(est, est[sibling]), est)
    allowed = _allowed(table, w, seen, settings.quiet)
    allowance = rate * float(((table.starts * w).sum(axis=0) / seen).sum())
    hours = np.arange(HOURS)
    picks, cheapest = _priced(idle, est, allowed, allowance)
    # merging blocks and moving them early change the cold starts: a dearer price
    # while the merged schedule spends more than the aim allows
    for j in range(cheapest, min(cheapest + RAISES + 1, len(LAMBDAS))):
        choice = _merged(picks[j], idle + LAMBDAS[j] * est, allowed, settings.block_cost)
        choice, lead = _led(choice, table, lead_need, idle)
        if float(est[choice, hours].sum()) <= allowance + 1e-9:
            break
    fb = table.fallback
    s_idle, s_cold = float(idle[choice, hours].sum()), float(est[choice, hours].sum())
    f_idle, f_cold = float(idle[fb].sum()), float(est[fb].sum())
    pays = s_idle <= (1.0 - settings.min_saving) * f_idle and s_cold <= max(
        allowance, f_cold) + 1e-9  # fmt: skip
    if not pays or (choice == choice[0]).all():
        return Fitted(np.full(HOURS, fb), frozenset(), f_idle, f_cold)
    return Fitted(choice, frozenset(lead), s_idle, s_cold)


def _allowed(table: HourTable, w: np.ndarray, seen: np.ndarray, quiet: float) -> np.ndarray:
    """(C, 24): pairs at or above the all-day pair anywhere; lower ones only in hours
    where they did no worse than it on ``quiet`` of the days."""
    fb = table.fallback
    pairs = np.array(table.pairs)
    above = (pairs[:, 0] >= pairs[fb, 0]) & (pairs[:, 1] >= pairs[fb, 1])
    no_worse = ((table.cold <= table.cold[fb][None] + 1e-9) * w).sum(axis=1) / seen
    out: np.ndarray = above[:, None] | (no_worse >= quiet - 1e-9)
    return out


def _priced(idle: np.ndarray, est: np.ndarray, allowed: np.ndarray,
            allowance: float) -> tuple[np.ndarray, int]:  # fmt: skip
    """(L, 24) the per-hour picks at every price, and the cheapest price whose picks stay
    within ``allowance`` cold starts a day (else the one of fewest cold starts)."""
    cost = idle[None] + LAMBDAS[:, None, None] * est[None]
    cost = np.where(allowed[None], cost, np.inf)
    picks = np.argmin(cost, axis=1)  # (L, 24)
    hours = np.arange(HOURS)
    colds = est[picks, hours].sum(axis=1)
    idles = idle[picks, hours].sum(axis=1)
    ok = colds <= allowance + 1e-9
    j = int(np.argmin(np.where(ok, idles, np.inf))) if ok.any() else int(np.argmin(colds))
    return picks, j


def _merged(choice: np.ndarray, cost: np.ndarray, allowed: np.ndarray,
            block_cost: float) -> np.ndarray:  # fmt: skip
    """Merge neighbouring blocks (cyclically) while the cheapest merge costs less than
    ``block_cost``; a merged block takes the best pair allowed in all its hours."""
    blocks = _blocks(choice)
    while len(blocks) > 1:
        best, at, pick = np.inf, -1, -1
        for j in range(len(blocks)):
            a, b = blocks[j], blocks[(j + 1) % len(blocks)]
            if len(blocks) == 2 and j == 1:
                break
            hours = a[0] + b[0]
            ok = allowed[:, hours].all(axis=1)
            if not ok.any():
                continue
            union = np.where(ok, cost[:, hours].sum(axis=1), np.inf)
            c = int(np.argmin(union))
            delta = float(union[c]) - cost[a[1], a[0]].sum() - cost[b[1], b[0]].sum()
            if delta < best:
                best, at, pick = delta, j, c
        if at < 0 or best >= block_cost:
            break
        a, b = blocks[at], blocks[(at + 1) % len(blocks)]
        merged = (a[0] + b[0], pick)
        if at + 1 < len(blocks):
            blocks[at : at + 2] = [merged]
        else:
            blocks = [merged, *blocks[1:-1]]
    out = np.empty(HOURS, dtype=np.int64)
    for hours, c in blocks:
        out[hours] = c
    return out


def _blocks(choice: np.ndarray) -> list[tuple[list[int], int]]:
    """Runs of equal choices as (hours, candidate), a run across midnight as one."""
    if (choice == choice[0]).all():
        return [(list(range(HOURS)), int(choice[0]))]
    start = next(h for h in range(HOURS) if choice[h] != choice[h - 1])
    out: list[tuple[list[int], int]] = []
    for j in range(HOURS):
        h = (start + j) % HOURS
        if out and out[-1][1] == choice[h]:
            out[-1][0].append(h)
        else:
            out.append(([h], int(choice[h])))
    return out


def _led(choice: np.ndarray, table: HourTable, lead_need: np.ndarray,
         idle: np.ndarray) -> tuple[np.ndarray, set[int]]:  # fmt: skip
    """Blocks moved an hour early where the hour before keeps too few slots warm for
    the pods that start before the switch's binds complete. That hour holds what such
    pods may number on a day not seen (:data:`LEAD_LEVEL` Poisson upper bound of the
    most seen): the block's own pair when that fills its min, else the pair of least
    idle there that holds them (and is no lower than the hour's own)."""
    out = choice.copy()
    lead: set[int] = set()
    pairs = np.array(table.pairs)
    for h in range(HOURS):
        prev = (h - 1) % HOURS
        now_m, before = int(pairs[choice[h], 0]), pairs[choice[prev]]
        need = int(lead_need[h])
        if now_m <= before[0] or need <= before[0]:
            continue
        lead.add(prev)
        hold = int(poisson.ppf(LEAD_LEVEL, need))
        if hold >= now_m:
            out[prev] = choice[h]
            continue
        keeps = (pairs[:, 0] >= hold) & (pairs[:, 0] >= before[0]) & (pairs[:, 1] >= before[1])
        out[prev] = int(np.argmin(np.where(keeps, idle[:, prev], np.inf)))
    return out, lead


def _siblings(pairs: list[tuple[int, int]]) -> np.ndarray:
    """(C,) for each pair (m, M) the index of (m, m), or its own where there is none."""
    index = {pair: c for c, pair in enumerate(pairs)}
    return np.array([index.get((m, m), c) for c, (m, _) in enumerate(pairs)], dtype=np.int64)
