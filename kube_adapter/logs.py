"""Logging of both programs: one setup, on stderr, readable lines or one JSON object per
line with the same fields everywhere: ``time``, ``level``, ``logger``, ``message`` (plus
``exc_info`` when there is a traceback)."""

from __future__ import annotations

import enum
import logging
import sys
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
