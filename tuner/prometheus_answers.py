"""What a Prometheus query answered, read defensively: its series, each one's ``node``
label and its [timestamp, value] points, and the values that are no counts. JSON that
is no query result (another API's, a proxy's error) is a ValueError, which
:mod:`tuner.prometheus` reports as history unavailable (exit 3), never a traceback.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any


class Dropped:
    """Counts the values thrown away, for one line on stderr."""

    def __init__(self) -> None:
        self.values = 0

    def number(self, raw: object, limit: float, *, went_back: bool = False) -> float | None:
        """``raw`` as a finite count in [0, limit], else None (counted). With
        ``went_back``, a finite value below 0 (a counter's difference where the counter
        went back) is returned as it is."""
        try:
            value = float(str(raw))
        except ValueError:
            value = math.nan
        if went_back and -math.inf < value < 0.0:
            return value
        if not (0.0 <= value <= limit):  # NaN fails every comparison
            self.values += 1
            return None
        return value

    def within(self, t: float, lo: float, hi: float) -> bool:
        """Whether a point's timestamp lies in the [lo, hi] asked for (else counted)."""
        if lo <= t <= hi:
            return True
        self.values += 1
        return False


def series_of(ask: Callable[[], object]) -> list[dict[str, Any]]:
    """The series a query answered; ValueError when the JSON is no query result (another
    API's, a proxy's error; the client indexes it blindly: TypeError, KeyError)."""
    try:
        result = ask()
    except (TypeError, KeyError, AttributeError):
        raise ValueError("not a Prometheus API answer (JSON without data.result)") from None
    if not isinstance(result, list) or not all(isinstance(r, dict) for r in result):
        raise ValueError("not a Prometheus API answer (a result that is no list of series)")
    return result


NO_SERIES = "not a Prometheus API answer (a series without a label set or its points)"


def node_of(series: dict[str, Any]) -> str:
    """A series' ``node`` label ("" without one); ValueError when it has no label set."""
    metric = series.get("metric", {})
    node = metric.get("node", "") if isinstance(metric, dict) else None
    if not isinstance(node, str):
        raise ValueError(NO_SERIES)
    return node


def point_of(point: object) -> tuple[str, str]:
    """A [timestamp, value] pair as text; ValueError when it is not one."""
    if not isinstance(point, list) or len(point) != 2:
        raise ValueError(NO_SERIES)
    return str(point[0]), str(point[1])
