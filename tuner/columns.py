"""Plain column tables as kubectl prints them, and the console they go to.

A :class:`Columns` is a header of upper-case names and rows of cells, padded to the
widest cell of each column with three spaces between columns and no borders. Nothing
is ever cut: a long node name widens its column (the terminal wraps a line wider than
itself, as it does for ``kubectl get``), so what is printed can always be copied.

:func:`stdout_console` is where every human table goes: colour and bold only on a
terminal (never in a pipe or a file), none at all under ``NO_COLOR``, no highlighting
of numbers, and no wrapping or cutting by rich itself.

:class:`CsvRows` is how every ``-o csv`` is written: rows ending in ``\n``, and a field
holding a line break of either kind quoted, so the file reads back as written.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rich.console import Console
from rich.text import Text

GAP = "   "
"""Between two columns, as kubectl's tabwriter pads them."""


@dataclass(frozen=True)
class Column:
    """One column: its header and which side its cells keep to."""

    header: str
    """Shown upper-case, as kubectl does."""
    right: bool = False
    """Right-aligned (numbers), else left-aligned."""


@dataclass(frozen=True)
class Cell:
    """One cell's text, with a style for a terminal (e.g. ``"green"``; "" for none)."""

    text: str
    style: str = ""


@dataclass
class Columns:
    """A table under construction: add rows, then take its lines."""

    columns: Sequence[Column]
    rows: list[list[Cell]] = field(default_factory=list)

    def add(self, *cells: str | Cell, style: str = "") -> None:
        """One row; ``style`` applies to every cell that has none of its own."""
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append([
            Cell(c, style) if isinstance(c, str) else Cell(c.text, c.style or style)
            for c in cells
        ])  # fmt: skip

    def lines(self) -> list[Text]:
        """The header and every row, each padded to its column's widest cell."""
        header = [Cell(c.header.upper(), "bold") for c in self.columns]
        table = [header, *self.rows]
        widths = [max(len(row[i].text) for row in table) for i in range(len(self.columns))]
        return [self._line(row, widths) for row in table]

    def _line(self, row: Sequence[Cell], widths: Sequence[int]) -> Text:
        line = Text()
        last = len(row) - 1
        for i, (cell, column, width) in enumerate(zip(row, self.columns, widths, strict=True)):
            if i:
                line.append(GAP)
            pad = " " * (width - len(cell.text))
            if column.right:
                line.append(pad)
            line.append(cell.text, style=cell.style)
            if not column.right and i < last:
                line.append(pad)
        return line


def stdout_console() -> Console:
    """stdout for people: styles only on a terminal and without ``NO_COLOR``; lines
    as they are, neither wrapped nor cut nor highlighted by rich."""
    plain = bool(os.environ.get("NO_COLOR"))  # no-color.org: no styles at all, bold too
    return Console(
        highlight=False,
        soft_wrap=True,
        emoji=False,
        markup=False,
        color_system=None if plain else "auto",
    )


def print_lines(console: Console, lines: Sequence[Text | str]) -> None:
    """Each line as it is (a ``str`` is printed without markup)."""
    for line in lines:
        console.print(line)


class CsvRows:
    """A ``csv.writer`` whose rows end in ``\n`` and that still quotes a field holding a
    bare CR (``csv.writer(lineterminator="\n")`` leaves it bare, and a reader then sees
    two rows): each row is written with ``\r\n``, whose characters make the writer quote
    them, and that end is swapped for ``\n``."""

    def __init__(self, out: io.StringIO) -> None:
        self._out = out
        self._row = io.StringIO()
        self._writer = csv.writer(self._row, lineterminator="\r\n")

    def writerow(self, row: Iterable[object]) -> None:
        self._row.seek(0)
        self._row.truncate()
        self._writer.writerow(row)
        self._out.write(self._row.getvalue()[:-2] + "\n")

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)
