"""What outlives a restart when the engine acts (``--provider simulated``).

Each node's NEC object keeps the defaults in force when the node was first seen and
the targets last in force (:class:`kube_adapter.nec.NodeRecord`); a restarted
exporter takes them from there. In tke-observe nothing is read or written: records
live in memory only. Writes leave through the outbox (:mod:`exporter.outbox`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from exporter.kube import NecInfo
from kube_adapter.nec import NodeRecord, read_record
from pool_engine.config import Defaults
from pool_engine.pool import NodePool


class RecordWriter(Protocol):
    def remember(self, nec: str, annotations: Mapping[str, str]) -> None: ...


class NodeRecords:
    """Per node seen: the defaults of its first sight and the targets last in force."""

    def __init__(
        self,
        defaults: Callable[[], Defaults],
        writer: RecordWriter,
        necs: Mapping[str, NecInfo],
        *,
        keep: bool,
    ) -> None:
        self.defaults = defaults
        self.writer = writer
        self.necs = necs
        self.keep = keep
        """Acting (not observing): records are read from and written to NEC objects."""
        self._records: dict[str, NodeRecord] = {}

    def of(self, node: str) -> NodeRecord:
        """The node's record: kept in memory, else stored on its NEC by an earlier
        exporter (when acting), else new: this is the node's first sight."""
        record = self._records.get(node)
        if record is None:
            nec = self.necs.get(node)
            stored = read_record(nec.record) if nec and self.keep else None
            record = stored or NodeRecord(self.defaults())
            self._records[node] = record
        return record

    def remember(self, pool: NodePool) -> None:
        """The pool's targets are the last in force: keep them in the node's record."""
        record = self.of(pool.node)
        if record.targets.get(pool.mode) != pool.targets:
            self._records[pool.node] = record.with_targets(pool.mode, pool.targets)
        self.store(pool.node)

    def store(self, node: str) -> None:
        """Have the writer put the node's record on its NEC, unless the NEC holds it."""
        record, nec = self._records.get(node), self.necs.get(node)
        if not self.keep or record is None or nec is None:
            return
        wanted = record.annotations()
        if nec.record != wanted:
            self.writer.remember(node, wanted)

    def forget(self, node: str) -> None:
        self._records.pop(node, None)
