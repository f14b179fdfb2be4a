"""The tuner's logs: one handler on stderr, plain text or JSON lines.

Until the shared Kubernetes adapter package (``kube_adapter``) lands, this module
and :mod:`tuner.kubeconfig` hold what ``tuner/options.py`` used to.
"""

from __future__ import annotations

import enum
import logging
import sys
from typing import TextIO, assert_never

from pythonjsonlogger.json import JsonFormatter


class LogFormat(enum.StrEnum):
    """How log lines look on stderr (``--log-format``)."""

    TEXT = "text"
    """The message alone."""
    JSON = "json"
    """One JSON object per line: time, level, logger, message."""


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


def setup_logs(fmt: LogFormat) -> None:
    """Log INFO and above to stderr in ``fmt``, replacing the root logger's handlers."""
    handler = _Stderr()
    match fmt:
        case LogFormat.TEXT:
            handler.setFormatter(logging.Formatter("%(message)s"))
        case LogFormat.JSON:
            handler.setFormatter(JsonFormatter("{asctime}{levelname}{name}{message}", style="{"))
        case _:
            assert_never(fmt)
    logging.getLogger().handlers[:] = [handler]
    logging.getLogger().setLevel(logging.INFO)
