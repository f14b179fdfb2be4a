"""The error tree of pool_engine, drawn once.

    PoolEngineError              anything this package raises on purpose
    ├── InputError               bad user input; the CLI prints it on one line, exit 2
    │   ├── TraceError           a churn trace that breaks SPEC section 3
    │   └── TargetsError         a --targets file that breaks SPEC section 3
    └── ProviderError            a cloud provider call failed (see pool.Provider)
        ├── TransientError       throttling, timeouts: back off and retry
        └── PermanentError       quota exhausted, bad request: do not retry

A refused NEC annotation is *not* an exception: config.parse_targets returns a
:class:`pool_engine.config.Refusal` value, because refusing is a normal outcome.
"""

from __future__ import annotations


class PoolEngineError(Exception):
    """Base class of every error raised on purpose by pool_engine."""


class InputError(PoolEngineError):
    """Bad user input, reported as ``file:line: problem`` on one line."""

    def __init__(self, path: str, line: int | None, problem: str, *, unit: str = "") -> None:
        self.path = path
        self.line = line
        self.problem = problem
        where = path if line is None else f"{path}:{unit}{line}"
        super().__init__(f"{where}: {problem}")


class TraceError(InputError):
    """A churn trace that cannot be replayed."""


class TargetsError(InputError):
    """A per-node targets file that cannot be used."""


class ProviderError(PoolEngineError):
    """A cloud provider operation failed."""

    def __init__(self, operation: str, code: str, message: str = "") -> None:
        self.operation = operation
        self.code = code
        super().__init__(f"{operation} failed: {code}{': ' + message if message else ''}")


class TransientError(ProviderError):
    """Throttled or timed out: retry with backoff."""


class PermanentError(ProviderError):
    """Will fail again the same way: do not retry."""
