"""Files a run writes (``simulate --timeline``, ``backtest --png/--html``): never one it
reads or another it writes (exit 2, before anything is read), and an OS error while
writing is one line (exit 2)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from pool_engine.errors import InputError


def distinct(outputs: dict[str, Path | None], inputs: dict[str, Path | None]) -> None:
    """An output file that is an input, or another output, is bad input (exit 2): it
    would overwrite what the run reads, or what it wrote a moment before."""
    seen: dict[str, str] = {}
    for flag, path in inputs.items():
        if path is not None:
            seen.setdefault(identity(path), flag)
    for flag, path in outputs.items():
        if path is None:
            continue
        other = seen.setdefault(identity(path), flag)
        if other != flag:
            raise InputError(str(path), None, f"{flag} names the file of {other}: it would "
                             "be overwritten; give another file")  # fmt: skip


def identity(path: Path) -> str:
    """The file a path names (through links), or the path it would have (links and ..
    resolved) when there is none; a device or a pipe (/dev/null twice) is no file to
    overwrite."""
    try:
        info = path.stat()
    except OSError:  # not there yet: the file it would be (links and .. resolved)
        return os.path.realpath(path)
    return f"{info.st_dev}:{info.st_ino}" if stat.S_ISREG(info.st_mode) else f"{id(path)}"


def writing(path: Path, write: Callable[[Path], None]) -> None:
    """Write an output file; an OS error (disk full, permissions) is one line, exit 2."""
    try:
        write(path)
    except OSError as error:  # pyarrow's strerror is a paragraph; its errno the reason
        reason = os.strerror(error.errno) if error.errno else error.strerror
        raise InputError(str(path), None, reason or "cannot write") from None
