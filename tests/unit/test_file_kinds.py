"""Files that are not UTF-8 CSV where a trace or a targets file is expected: compressed,
UTF-16, a device, unreadable. Each is one line naming the file and the problem, exit 2,
never a traceback (docs/contracts/trace.md, "Errors"). Found by an adversarial review
(session 6)."""

from __future__ import annotations

import gzip
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from pool_engine.errors import TargetsError, TraceError
from pool_engine.overrides import load_overrides
from pool_engine.trace import load_trace
from support.cli import run_tuner

TRACE = "time,node,event\n1,a,start\n100,a,stop\n"
TARGETS = "node,min_warm,max_warm\na,1,2\n"


def trace_refusal(path: Path) -> str:
    with pytest.raises(TraceError) as caught:
        load_trace(path)
    return str(caught.value)


def targets_refusal(path: Path) -> str:
    with pytest.raises(TargetsError) as caught:
        load_overrides(path)
    return str(caught.value)


def test_a_gzipped_trace_is_named_as_such(tmp_path: Path) -> None:
    """Before: 'missing column 'time' (header is <binary garbage>)'."""
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(TRACE.encode()))
    assert trace_refusal(path) == f"{path}: gzip-compressed; decompress it first"


def test_a_utf16_trace_is_named_as_such(tmp_path: Path) -> None:
    """Before: 'missing column 'time' (header is ��time,node,event)'."""
    path = tmp_path / "t.csv"
    path.write_bytes(TRACE.encode("utf-16"))
    assert trace_refusal(path) == f"{path}: UTF-16 text; save it as UTF-8"


@pytest.mark.parametrize("encoding", ["utf-32", "utf-32-be"])
def test_a_utf32_trace_is_not_called_utf16(tmp_path: Path, encoding: str) -> None:
    """Before (adversarial review, session 12): UTF-32 with its mark was 'UTF-16 text'."""
    path = tmp_path / "t.csv"
    mark = b"\x00\x00\xfe\xff" if encoding.endswith("be") else b""
    path.write_bytes(mark + TRACE.encode(encoding))
    assert trace_refusal(path) == f"{path}: UTF-32 text; save it as UTF-8"


def test_a_line_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    """Before: 'In CSV column #1: CSV conversion error to string: invalid UTF8 data'."""
    path = tmp_path / "t.csv"
    path.write_bytes(b"time,node,event\n1,a,start\n2,b\xff,stop\n")
    assert trace_refusal(path) == f"{path}:3: not UTF-8 text"


def test_dev_null_is_an_empty_trace_not_a_missing_one() -> None:
    """Before: '/dev/null: no such file' though it exists."""
    assert trace_refusal(Path("/dev/null")) == (
        "/dev/null:1: empty file, expected header time,node,event"
    )


@pytest.mark.skipif(not Path("/dev/fd").is_dir(), reason="needs /dev/fd")
def test_a_pipe_is_read_once_whole() -> None:
    """`eni-tuner simulate <(zcat t.csv.gz)`: the trace is a pipe, read more than once
    by the loader. Before: '/dev/fd/N: no such file'."""
    read, written = os.pipe()
    try:
        os.write(written, TRACE.encode())
        os.close(written)
        trace = load_trace(f"/dev/fd/{read}")
    finally:
        os.close(read)
    assert (trace.nodes, trace.times.tolist(), trace.end) == (["a"], [1.0, 100.0], 100.0)


def test_a_byte_order_mark_and_a_bad_row(tmp_path: Path) -> None:
    """The line-by-line pass read the mark as part of the first column's name. Before:
    a traceback ending in "ValueError: 'time' is not in list", exit 1."""
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbftime,node,event\n1,a,start\n2,a,strat\n")
    assert trace_refusal(path) == f"{path}:3: unknown event 'strat' (expected start or stop)"


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux procfs")
def test_a_read_error_is_one_line_not_a_traceback() -> None:
    """/proc/self/mem opens but fails to read (EIO), as a bad disk or a lost NFS server
    would. Before: a traceback ending in 'OSError: [Errno 5] Input/output error', exit 1."""
    done = run_tuner("simulate", "/proc/self/mem", "-o", "json")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == ["error: /proc/self/mem: Input/output error"]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (gzip.compress(TARGETS.encode()), "gzip-compressed; decompress it first"),
        (TARGETS.encode("utf-16"), "UTF-16 text; save it as UTF-8"),
        (b"node,min_warm,max_warm\na\xff,1,2\n", "not UTF-8 text (byte 0xff at offset 24)"),
    ],
    ids=["gzip", "utf-16", "latin-1"],
)
def test_a_targets_file_that_is_not_utf8_is_one_line(
    tmp_path: Path, data: bytes, problem: str
) -> None:
    """Before: a UnicodeDecodeError traceback, exit 1."""
    path = tmp_path / "targets.csv"
    path.write_bytes(data)
    assert targets_refusal(path) == f"{path}: {problem}"
    trace = tmp_path / "t.csv"
    trace.write_text(TRACE)
    done = run_tuner("simulate", str(trace), "--targets", str(path), "-o", "json")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [f"error: {path}: {problem}"]


def test_simulate_refuses_an_unknown_mode_too(tmp_path: Path) -> None:
    """The analysis commands refused 'mode' values other than the two; simulate replayed
    them as if they named a pool."""
    path = tmp_path / "t.csv"
    path.write_text("time,node,event,mode\n1,a,start,route-eni\n2,a,stop,ipvlan\n")
    done = run_tuner("simulate", str(path), "-o", "json")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [
        f"error: {path}: unknown mode 'ipvlan' (expected route-eni or direct-eni)"
    ]


@pytest.mark.parametrize(
    "value", ["1_000", "١٢", "٣.5"], ids=["underscore", "arabic", "arabic-decimal"]
)
def test_a_time_is_written_in_ascii_decimal(tmp_path: Path, value: str) -> None:
    """Python's float() reads '1_000' as 1000 and Arabic-Indic digits as numbers."""
    path = tmp_path / "t.csv"
    path.write_text(f"time,node,event\n1,a,start\n{value},a,stop\n", encoding="utf-8")
    assert trace_refusal(path) == (
        f"{path}:3: unparseable time {value!r} (expected seconds or RFC 3339)"
    )


@pytest.mark.parametrize("rows", [["0x10", "20"], ["5", "0X1f"]], ids=["first", "upper"])
def test_a_hex_time_is_refused_when_every_other_time_is_an_integer(
    tmp_path: Path, rows: list[str]
) -> None:
    """Arrow reads '0x10' as the integer 16 when the whole column is integers (a float
    anywhere made it text, which was refused): the file's meaning hung on its other rows."""
    path = tmp_path / "t.csv"
    path.write_text(f"time,node,event\n{rows[0]},a,start\n{rows[1]},a,stop\n")
    line, value = (2, rows[0]) if "x" in rows[0].lower() else (3, rows[1])
    assert trace_refusal(path) == (
        f"{path}:{line}: unparseable time {value!r} (expected seconds or RFC 3339)"
    )


def test_a_node_named_like_hex_is_no_hex_time(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time,node,event\n1,node-0x1,start\n2,node-0x1,stop\n")
    assert load_trace(path).nodes == ["node-0x1"]


def test_a_hex_name_leaves_the_slow_pass_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by an adversarial review (session 8): a '0x' anywhere in the file (a node
    named node-0x1f, an extra column) ran the line-by-line pass over the whole file: a
    300 MB trace loaded in 58 s instead of 5.4 s. Only a '0x' in a time is read by it."""
    import pool_engine.trace

    def slow(path: Path, name: str) -> None:
        raise AssertionError("the line-by-line pass ran")

    monkeypatch.setattr(pool_engine.trace, "locate_in_csv", slow)
    path = tmp_path / "t.csv"
    path.write_text("time,node,event,pod\n1,node-0x1,start,p-0X2\n2,node-0x1,stop,p-0X2\n")
    assert load_trace(path).nodes == ["node-0x1"]


def test_a_hex_name_does_not_change_what_a_file_means(tmp_path: Path) -> None:
    """Same review: with a '0x' anywhere, the slow pass also refused what the fast one
    reads (a byte that is not UTF-8 in a column the trace ignores): whether the file
    loaded hung on an unrelated name."""
    for note in (b"n-1", b"n-0x1"):
        path = tmp_path / "t.csv"
        path.write_bytes(b"time,node,event,note\n1,a,start,\xff\n2,a,stop," + note + b"\n")
        assert load_trace(path).times.tolist() == [1.0, 2.0], note


class EndlessPipe:
    """A pipe fed NUL bytes until its reader goes away, as /dev/zero would feed it for
    ever; for the test's sake it stops after ``cap`` bytes."""

    def __init__(self, cap: int = 64 << 20) -> None:
        self.read, self.written = os.pipe()
        self.sent = 0
        self.cap = cap
        self.feeder = threading.Thread(target=self._feed)
        self.feeder.start()

    def _feed(self) -> None:
        block = bytes(65536)
        try:
            while self.sent < self.cap:
                self.sent += os.write(self.written, block)
        except BrokenPipeError:  # the reader stopped early, as it should
            pass
        finally:
            os.close(self.written)

    def close(self) -> None:
        os.close(self.read)
        self.feeder.join()


@pytest.mark.skipif(not Path("/dev/fd").is_dir(), reason="needs /dev/fd")
@pytest.mark.parametrize("refusal", [trace_refusal, targets_refusal], ids=["trace", "targets"])
def test_an_endless_device_is_refused_from_its_first_bytes(
    refusal: Callable[[Path], str],
) -> None:
    """Found by an adversarial review (session 8): `eni-tuner simulate /dev/zero` copied
    the device to a temporary file until the disk was full (and left the file behind when
    stopped), `--targets /dev/zero` read it into memory until the kernel stopped it."""
    pipe = EndlessPipe()
    try:
        path = Path(f"/dev/fd/{pipe.read}")
        assert refusal(path) == f"{path}: binary data (a NUL byte at offset 0), not text"
    finally:
        pipe.close()
    assert pipe.sent < pipe.cap


LONG = "x" * 200_000
"""A field above the csv module's limit of 128 KiB (pyarrow reads it)."""


@pytest.mark.parametrize(
    ("text", "refusal", "line"),
    [
        (f"time,node,event,{LONG}\n1,a,start,1\n", trace_refusal, 1),
        (f"time,node,event\n1,a,start\n2,{LONG},strat\n", trace_refusal, 3),
        (f"node,min_warm,max_warm,{LONG}\na,1,2,3\n", targets_refusal, 1),
        (f"node,min_warm,max_warm\na,1,2\n{LONG},1,2\n", targets_refusal, 3),
    ],
    ids=["trace-header", "trace-bad-row", "targets-header", "targets-row"],
)
def test_a_field_above_the_csv_modules_limit_is_one_line(
    tmp_path: Path, text: str, refusal: Callable[[Path], str], line: int
) -> None:
    """Found by an adversarial review (session 8): a traceback ending in '_csv.Error:
    field larger than field limit (131072)', exit 1."""
    path = tmp_path / "t.csv"
    path.write_text(text)
    assert refusal(path) == f"{path}:{line}: unreadable CSV: field larger than field limit (131072)"
