"""Logging of both programs: one setup, on stderr, readable lines or one JSON object per
line with the same fields everywhere: ``time``, ``level``, ``logger``, ``message`` (plus
``exc_info`` when there is a traceback)."""

from __future__ import annotations

import enum
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO, assert_never

from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = {"asctime": "time", "levelname": "level", "name": "logger"}
"""Renamed record attributes; ``message`` keeps its name."""


class LogFormat(enum.StrEnum):
    """--log-format."""

    TEXT = "text"
    JSON = "json"


class LogLevel(enum.StrEnum):
    """--log-level."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted (so a test runner
    that swaps stderr, or a command run twice in one process, gets the lines)."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


def setup(
    fmt: LogFormat = LogFormat.TEXT, level: LogLevel = LogLevel.INFO, *, text: str = TEXT_FORMAT
) -> None:
    """Send every logger's records to stderr in ``fmt``, from ``level`` up. ``text`` is
    the line format of ``LogFormat.TEXT`` (the tuner, a command-line tool, prints the
    message alone); JSON lines have the same fields in both programs."""
    handler = _Stderr()
    handler.setFormatter(formatter(fmt, text))
    # urllib3 logs a warning per retry, with the request's URL (and its URL-encoded
    # query); the final failure is reported once, as one line, by whoever called.
    retries = logging.DEBUG if level is LogLevel.DEBUG else logging.ERROR
    logging.getLogger("urllib3.connectionpool").setLevel(retries)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def formatter(fmt: LogFormat, text: str = TEXT_FORMAT) -> logging.Formatter:
    match fmt:
        case LogFormat.TEXT:
            return logging.Formatter(text)
        case LogFormat.JSON:
            return JsonFormatter(
                "{asctime}{levelname}{name}{message}", style="{", rename_fields=JSON_FIELDS
            )
        case _:
            assert_never(fmt)


def error_line(error: BaseException) -> str:
    """The one line both programs print on stderr for a failure: ``error: <message>``.

    For click's errors (usage errors carry the command in ``ctx``) it is click's message
    without the usage block, pointing at the command's ``--help``; whitespace is folded
    so that a multi-line message stays one line. Duck-typed: no click import here.
    """
    format_message = getattr(error, "format_message", None)
    message = format_message() if callable(format_message) else str(error)
    line = " ".join(str(message).split())
    command = getattr(getattr(error, "ctx", None), "command_path", None)
    if command and type(error).__name__ != "ClickException":
        line += f" (see '{command} --help')"
    return f"error: {line}"


@contextmanager
def writing_output() -> Iterator[None]:
    """Results written to standard output, flushed at the end: a closed stdout (``>&-``)
    or one that cannot take them (``> /dev/full``) is :class:`OutputError`, one line and
    exit 1, not a traceback; a reader that went away (``| head -1``) ends the run with
    exit 1 and no word, as rich does for its tables. Either way stdout then points at
    /dev/null, so that Python's flush at exit has nothing to complain of."""
    from pool_engine.errors import OutputError

    if sys.stdout is None:
        raise OutputError("cannot write the output: standard output is closed")
    try:
        yield
        sys.stdout.flush()
    except OSError as exc:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, sys.stdout.fileno())
        finally:
            os.close(null)
        if isinstance(exc, BrokenPipeError):
            raise SystemExit(1) from None
        raise OutputError(f"cannot write the output: {exc.strerror or exc}") from exc
