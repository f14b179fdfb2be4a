"""Write churn as a trace file (docs/contracts/trace.md), CSV or Parquet."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pool_engine.events import event_column
from pool_engine.filekind import PARQUET_SUFFIXES
from pool_engine.workload import NodeChurn

if TYPE_CHECKING:  # pyarrow loads where a table is read or written, not on import
    import pyarrow as pa


def churn_table(churn: Sequence[NodeChurn], *, with_pods: bool = False) -> pa.Table:
    """All nodes' rows in one table sorted by time (ties: node order, then row order)."""
    import pyarrow as pa

    times = np.concatenate([c.times for c in churn])
    node = np.concatenate([np.full(c.times.shape[0], k, np.int32) for k, c in enumerate(churn)])
    kinds = np.concatenate([c.kinds for c in churn])
    order = np.argsort(times, kind="stable")
    columns: dict[str, pa.Array] = {
        "time": pa.array(times[order]),
        "node": pa.DictionaryArray.from_arrays(
            pa.array(node[order]), pa.array([c.name for c in churn])
        ),
        "event": event_column(kinds[order]),
    }
    if with_pods:
        pods = np.concatenate([c.pods for c in churn])[order]
        columns["pod"] = pa.array(np.char.add("pod-", pods.astype(str)))
    return pa.table(columns)


def write_table(table: pa.Table, path: Path) -> None:
    """Write a trace (or any table) as Parquet when the name ends in .parquet/.pq, else CSV."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if path.suffix in PARQUET_SUFFIXES:
        pq.write_table(table, path, compression="zstd")
        return
    plain = table.cast(
        pa.schema(
            [
                pa.field(f.name, pa.string() if pa.types.is_dictionary(f.type) else f.type)
                for f in table.schema
            ]
        )
    )
    with pa.OSFile(str(path), "wb") as sink:
        sink.write((",".join(plain.column_names) + "\n").encode())
        pacsv.write_csv(plain, sink, pacsv.WriteOptions(include_header=False, quoting_style="none"))
