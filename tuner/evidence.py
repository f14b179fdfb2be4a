"""What a node's history proves: how long it is, how busy the node is at most, and
which nodes are alike.

- **Quiet nodes by evidence, not by a count.** A node with ``n`` pod starts in ``h``
  hours has an arrival rate below the upper confidence bound ``gamma.ppf(level, n + 1)
  / h`` (the exact Poisson bound). A few starts over weeks is strong evidence of a
  quiet node, whose pool can be small; the same few starts over an hour prove nothing.
  A node's own history counts as evidence when it has at least ``min_arrivals``
  starts, or when even the bound says it would see fewer than that in a day. Only a
  history shorter than ``min_history_hours`` is too short to use at all.
- **Groups.** Nodes of one shape (the same max-attach) and of one order of magnitude
  of that bound form a group; the analysis shrinks each node's noisy cold-start rates
  towards its group's (when a scheduler packs pods, nodes of one shape see the same
  bursts, and one node's past says little about its next burst).
- **Folds.** The history is cut into folds (days, when there are enough of them), for
  rolling-origin validation: fit on earlier folds, check on the next."""

from __future__ import annotations

import enum
import math

import numpy as np

LEVEL = 0.95
"""Confidence of the upper bound on a node's arrival rate."""
CLASS_BASE = 4.0
"""Nodes whose rate bounds differ by less than this factor may share a group."""
DAY = 86400.0


class Evidence(enum.StrEnum):
    """How much a node's own history says."""

    OWN = "own"
    """Enough to choose from: many starts, or a long history proving a quiet node."""
    FEW = "few"
    """A history long enough, but too few starts to prove the node quiet yet."""
    SHORT = "short"
    """Shorter than the minimum history."""


def rate_upper_bound(arrivals: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """Upper confidence bound (``LEVEL``) on each node's arrivals per hour."""
    from scipy.stats import gamma  # scipy loads with the analysis, not the command line

    bound = gamma.ppf(LEVEL, np.asarray(arrivals, dtype=float) + 1.0)
    with np.errstate(divide="ignore"):
        out: np.ndarray = np.where(hours > 0, bound / np.maximum(hours, 1e-12), np.inf)
    return out


def evidence(
    arrivals: np.ndarray, hours: np.ndarray, min_arrivals: int, min_history_hours: float
) -> list[Evidence]:
    """Each node's :class:`Evidence`."""
    per_day = rate_upper_bound(arrivals, hours) * 24.0
    out = []
    for n, h, bound in zip(arrivals, hours, per_day, strict=True):
        if h < min_history_hours or h <= 0:
            out.append(Evidence.SHORT)
        elif n >= min_arrivals or bound <= min_arrivals:
            out.append(Evidence.OWN)
        else:
            out.append(Evidence.FEW)
    return out


def groups(arrivals: np.ndarray, hours: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """A group number per node: the same max-attach and the same order of magnitude
    (base :data:`CLASS_BASE`) of the rate bound. Not the bursts a node happened to
    see: a node that saw none yet is not safe from the next."""
    bound = rate_upper_bound(arrivals, hours)
    finite = np.where(np.isfinite(bound), bound, 1e6)
    rate_class = np.floor(np.log(finite + 1e-3) / math.log(CLASS_BASE)).astype(np.int64)
    keys = [(int(c), int(r)) for c, r in zip(caps, rate_class, strict=True)]
    numbers = {key: j for j, key in enumerate(sorted(set(keys)))}
    return np.array([numbers[key] for key in keys], dtype=np.int64)


def fold_seconds(end: float) -> float:
    """Length of a validation fold: a day when the history holds two or more (at most
    14 folds over long histories), else a quarter of it (at least an hour)."""
    if end >= 2 * DAY:
        return max(DAY, math.ceil(end / DAY / 14) * DAY)
    return max(3600.0, math.ceil(end / 4 / 3600.0) * 3600.0)


def fold_weights(n_folds: int, fold: float, end: float, half_life_hours: float) -> np.ndarray:
    """Recency weight of each fold of a history ending at ``end`` (an hour
    ``half_life_hours`` old counts half), by the age of the fold's middle."""
    middles = np.minimum((np.arange(n_folds) + 0.5) * fold, end)
    age_h = np.maximum(0.0, end - middles) / 3600.0
    weights: np.ndarray = 0.5 ** (age_h / half_life_hours)
    return weights
