"""Targets file bounds (docs/contracts/trace.md, "Limits"): every count a plain
decimal integer from 0 to 2^31 - 1, refused with ``file:line: column ...``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pool_engine.errors import TargetsError
from pool_engine.overrides import MAX_COUNT, load_overrides

Write = Callable[[str, str], Path]
HEADER = "node,min_warm,max_warm,max_slots\n"


def test_the_limit_is_two_to_the_31_minus_one() -> None:
    assert MAX_COUNT == 2**31 - 1


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("a,1,99999999999999999999", "max_warm 99999999999999999999 is above 2147483647"),
        ("a,1,2,99999999999999999999", "max_slots 99999999999999999999 is above 2147483647"),
        ("a,2147483648,2147483648", "min_warm 2147483648 is above 2147483647"),
        ("a,1,2,2147483648", "max_slots 2147483648 is above 2147483647"),
        ("a,1_0,20", "min_warm '1_0' is not an integer"),
        ("a,1,2,\u0663", "max_slots '\u0663' is not an integer"),
        ("a,1,2,nan", "max_slots 'nan' is not an integer"),
        ("a,1,inf", "max_warm 'inf' is not an integer"),
        ("a,1e3,2000", "min_warm '1e3' is not an integer"),
        ("a,1,2.0", "max_warm '2.0' is not an integer"),
        ("a,-1,2", "min_warm -1 is negative"),
        ("a,1,2,-99999999999999999999", "max_slots -99999999999999999999 is negative"),
    ],
)
def test_a_count_out_of_bounds_is_named_by_line_and_column(
    write: Write, row: str, problem: str
) -> None:
    path = write("t.csv", f"{HEADER}ok,1,2,3\n{row}\n")
    with pytest.raises(TargetsError) as caught:
        load_overrides(path)
    assert str(caught.value) == f"{path}:3: node 'a': {problem}"


def test_the_limit_itself_and_plus_signs_are_accepted(write: Write) -> None:
    targets = load_overrides(write("t.csv", f"{HEADER}a,+1,2147483647,2147483647\nb, 0 ,0,\n"))
    assert (targets["a"].min_warm, targets["a"].max_warm) == (1, MAX_COUNT)
    assert targets["a"].max_slots == MAX_COUNT
    assert (targets["b"].min_warm, targets["b"].max_slots) == (0, None)


def test_min_warm_above_max_slots_stays_accepted(write: Write) -> None:
    """B = min(C, m) (docs/contracts/pool.md): m above C is clamped, not refused."""
    targets = load_overrides(write("t.csv", f"{HEADER}a,10,20,5\n"))
    assert targets["a"].capacity() == 5


def test_a_huge_count_exits_2_with_one_line(write: Write) -> None:
    trace = write("trace.csv", "time,node,event\n0,a,start\n")
    path = write("t.csv", f"{HEADER}a,1,99999999999999999999\n")
    done = subprocess.run(
        [sys.executable, "-c", "from tuner.cli import main; main()",
         "simulate", str(trace), "--targets", str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: {path}:2: node 'a': max_warm 99999999999999999999 is above 2147483647"
    ]


@pytest.mark.parametrize(("digits", "problem"), [("9" * 5000, "is above 2147483647"),
                                                 ("-" + "9" * 5000, "is negative")])  # fmt: skip
def test_a_count_with_thousands_of_digits_is_refused(
    write: Write, digits: str, problem: str
) -> None:
    """Python's int() refuses more than 4,300 digits with a ValueError of its own."""
    path = write("t.csv", f"{HEADER}a,1,2,{digits}\n")
    with pytest.raises(TargetsError) as caught:
        load_overrides(path)
    assert str(caught.value) == f"{path}:2: node 'a': max_slots {digits} {problem}"


def test_blank_columns_and_trailing_commas_are_no_extra_fields(write: Write) -> None:
    """A spreadsheet's export (blank header cells, a trailing comma) reads as before;
    only a field with a value past the header is refused (code review, session 5)."""
    blank = load_overrides(write("b.csv", "node,min_warm,max_warm,,\na,1,2,,\n"))
    assert (blank["a"].min_warm, blank["a"].max_warm) == (1, 2)
    trailing = load_overrides(write("c.csv", "node,min_warm,max_warm\na,1,2,\n"))
    assert (trailing["a"].min_warm, trailing["a"].max_warm) == (1, 2)
    with pytest.raises(TargetsError, match="4 fields, the header has 3"):
        load_overrides(write("d.csv", "node,min_warm,max_warm\na,1,2,7\n"))
