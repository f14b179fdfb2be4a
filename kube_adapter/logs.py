"""Logging of both programs: one setup, on stderr, readable lines or one JSON object per
line with the same fields everywhere: ``time``, ``level``, ``logger``, ``message`` (plus
``exc_info`` when there is a traceback)."""

from __future__ import annotations

import enum
import logging
import sys
from typing import assert_never

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


def setup(fmt: LogFormat = LogFormat.TEXT, level: LogLevel = LogLevel.INFO) -> None:
    """Send every logger's records to stderr in ``fmt``, from ``level`` up."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def formatter(fmt: LogFormat) -> logging.Formatter:
    match fmt:
        case LogFormat.TEXT:
            return logging.Formatter(TEXT_FORMAT)
        case LogFormat.JSON:
            return JsonFormatter(
                "{asctime}{levelname}{name}{message}", style="{", rename_fields=JSON_FIELDS
            )
        case _:
            assert_never(fmt)
