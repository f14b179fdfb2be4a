"""A trace's vocabulary and how its rows become arrays (docs/contracts/trace.md).

A trace row is ``time,node,event`` with ``event`` one of :class:`Event`. Everything
that replays, generates or writes rows (the kernel, the workload generator, the
trace loader and writer, the tuner's history) speaks in the integer codes
:data:`START` and :data:`STOP`, which the compiled kernel compares against; only
this module knows how an event is spelled in a file.

Columns of names (nodes, events) are encoded as dictionary codes that stay stable
across the batches of one file (:class:`Codes`).
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, assert_never

import numpy as np

if TYPE_CHECKING:  # pyarrow loads where a table is read or written, not on import
    import pyarrow as pa

COLUMNS = ("time", "node", "event")
"""The columns a trace must have; others are ignored."""

START = 0
"""Code of a pod start in a ``kinds`` array (int8)."""
STOP = 1
"""Code of a pod stop in a ``kinds`` array (int8)."""


class Event(enum.StrEnum):
    """What happened to a pod at a row's time."""

    START = "start"
    STOP = "stop"


def code_of(event: Event) -> int:
    """The array code of ``event``."""
    match event:
        case Event.START:
            return START
        case Event.STOP:
            return STOP
        case _:
            assert_never(event)


CODES: dict[str, int] = {event.value: code_of(event) for event in Event}
"""Event as spelled in a file -> its code."""


class Unencodable(Exception):
    """A value the fast path cannot encode; the trace loader then looks for the line
    to name. Never leaves :mod:`pool_engine.trace`."""


class Codes:
    """Maps each batch's dictionary onto codes that are stable across batches.

    With ``fixed`` only those values are allowed (events); otherwise each new value
    gets the next code (node names) and the empty string is refused.
    """

    def __init__(self, fixed: dict[str, int] | None = None) -> None:
        self._fixed = fixed is not None
        self._codes: dict[str, int] = dict(fixed or {})

    @classmethod
    def events(cls) -> Codes:
        return cls(CODES)

    def encode(self, column: pa.Array) -> np.ndarray:
        """The codes of every value in ``column``; raises :class:`Unencodable`."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if not pa.types.is_dictionary(column.type):
            column = pc.dictionary_encode(column.cast(pa.string()))
        if column.null_count:
            raise Unencodable("missing value")
        mapping = np.empty(len(column.dictionary), dtype=np.int32)
        for j, value in enumerate(column.dictionary.to_pylist()):
            code = self._codes.get(value)
            if code is None:
                if self._fixed or value == "":
                    raise Unencodable(f"unexpected value {value!r}")
                code = self._codes[value] = len(self._codes)
            mapping[j] = code
        result: np.ndarray = mapping[values_of(column.indices)]
        return result

    def names(self) -> list[str]:
        """Every value seen, in code order."""
        return list(self._codes)


def values_of(column: pa.Array) -> np.ndarray:
    """A column's values as a numpy array; a null-free integer or float column's
    without a copy, read straight from its data buffer.

    pyarrow's own ``to_numpy`` passes through its pandas conversion, which imports
    pandas (a third of a second) the first time: ``eni-tuner simulate`` has no use for
    it. The view is read-only and keeps the column's buffer alive."""
    import pyarrow as pa

    kind = column.type
    numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind)
    if not numeric or column.null_count:
        values: np.ndarray = column.to_numpy(zero_copy_only=False)
        return values
    code = "f" if pa.types.is_floating(kind) else "i" if pa.types.is_signed_integer(kind) else "u"
    dtype = np.dtype(f"{code}{kind.bit_width // 8}")
    if len(column) == 0:
        return np.zeros(0, dtype)
    return np.frombuffer(column.buffers()[1], dtype, len(column), column.offset * dtype.itemsize)


def event_column(kinds: np.ndarray) -> pa.DictionaryArray:
    """``kinds`` (codes) as a dictionary column of event names, for writing."""
    import pyarrow as pa

    names = sorted(Event, key=code_of)
    return pa.DictionaryArray.from_arrays(
        pa.array(kinds.astype(np.int32)), pa.array([name.value for name in names])
    )
