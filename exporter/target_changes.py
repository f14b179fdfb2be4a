"""The changes of each pool's warm targets that NEC updates brought, by who made them
(``eni_pool_target_changes_total{node,mode,source}``, docs/contracts/metrics.md).

A NEC update whose annotations change a pool's min/max warm targets in force counts
once for that pool: ``source="tuner"`` when the same update rewrote the tuner's record
of the values it replaced (``eni-pool.io/previous-warm-targets``, direct-eni
``eni-pool.io/previous-direct-eni-warm-targets``, which ``eni-tuner apply`` and ``apply
--rollback`` write with every change), else ``source="other"`` (a
hand edit, another tool). A NEC seen at the exporter's first sync, a refused change
and a pool's first configuration count nothing. Grafana marks the changes on the
dashboards (dashboards/links.py).
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping

from exporter.snapshot import Items
from pool_engine.config import Mode

TUNER_RECORDS = (
    "eni-pool.io/previous-warm-targets",
    "eni-pool.io/previous-direct-eni-warm-targets",
)
"""The tuner's records of the values it replaced, route-eni's and direct-eni's
(docs/contracts/annotations.md)."""


class Source(enum.StrEnum):
    """Who changed the targets (the ``source`` label)."""

    TUNER = "tuner"
    OTHER = "other"


def source_of(before: Mapping[str, str], after: Mapping[str, str]) -> Source:
    """Who made the NEC update from ``before`` to ``after`` (annotations)."""
    for key in TUNER_RECORDS:
        record = after.get(key)
        if record is not None and record != before.get(key):
            return Source.TUNER
    return Source.OTHER


class TargetChanges:
    """Counts per pool; every pool shows both sources from its first sight (0 until a
    change), so ``increase()`` sees the first change too."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, Mode], Counter[Source]] = {}

    def changed(self, node: str, mode: Mode, source: Source) -> None:
        self._counts.setdefault((node, mode), Counter())[source] += 1

    def forget(self, node: str) -> None:
        """The node is gone: drop its pools' counts."""
        for mode in Mode:
            self._counts.pop((node, mode), None)

    def items(self, node: str, mode: Mode) -> Items:
        """(source, count) of the pool, every source, in label order."""
        counts = self._counts.get((node, mode), Counter())
        return tuple(sorted((source.value, float(counts[source])) for source in Source))
