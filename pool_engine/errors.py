"""The error tree of the project, drawn once; each branch carries its exit code.

    PoolEngineError              anything we raise on purpose; exit 1 if it escapes
    ├── InputError               bad user input (flags, files, traces, kubeconfig); exit 2
    │   ├── TraceError           a churn trace that breaks docs/contracts/trace.md
    │   ├── TargetsError         a --targets file that breaks docs/contracts/trace.md
    │   └── KubeconfigError      a kubeconfig that is missing, malformed or lacks a context
    ├── HistoryUnavailable       history source unreachable, unusable or empty; exit 3
    │   └── NoChurn              it answers, but holds no pod churn of the pool
    ├── OutputError              standard output closed or unwritable (a full disk); exit 1
    ├── KubernetesError          Kubernetes API unreachable or refusing; exit 4
    │   └── KubernetesConflict   a precondition (resourceVersion) failed: re-read, retry
    └── ProviderError            a cloud provider call failed (see pool_engine.provider)
        ├── TransientError       throttling, internal errors: back off and retry
        │   └── OutcomeUnknown   timed out: the cloud may or may not have done it
        └── PermanentError       quota exhausted, bad request: do not retry
            └── NotFound         the IP or ENI is not there (a release or detach is done)

Both programs' ``main()`` catch click's exceptions and :class:`PoolEngineError` only,
print ``str(error)`` on one line and exit with ``error.exit_code`` (docs/contracts/cli.md).
Foreign exceptions (urllib3, kubernetes, requests) are mapped into this tree at the
adapter that calls them; nothing else catches them.

A refused NEC annotation is *not* an exception: config.parse_targets returns a
:class:`pool_engine.config.Refusal` value, because refusing is a normal outcome.
"""

from __future__ import annotations

import enum
from typing import ClassVar


class ExitCode(enum.IntEnum):
    """The exit codes of both programs (docs/contracts/cli.md)."""

    OK = 0
    FAILURE = 1
    BAD_INPUT = 2
    HISTORY_UNAVAILABLE = 3
    KUBERNETES_UNAVAILABLE = 4


class PoolEngineError(Exception):
    """Base class of every error raised on purpose by this project."""

    exit_code: ClassVar[int] = ExitCode.FAILURE


class InputError(PoolEngineError):
    """Bad user input, reported as ``file:line: problem`` on one line."""

    exit_code: ClassVar[int] = ExitCode.BAD_INPUT

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


class KubeconfigError(InputError):
    """A kubeconfig that is missing, malformed or has no such context."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(where, None, problem)


class OutputError(PoolEngineError):
    """The results could not be written to standard output (closed, a full disk)."""


class HistoryUnavailable(PoolEngineError):
    """The history source is unreachable, answers nonsense, or holds nothing usable."""

    exit_code: ClassVar[int] = ExitCode.HISTORY_UNAVAILABLE


class NoChurn(HistoryUnavailable):
    """The source answers, but holds no pod churn of the pool for the window (without
    ``--mode``, ``recommend`` goes on to the next pool)."""


class KubernetesError(PoolEngineError):
    """The Kubernetes API is unreachable or refuses a request."""

    exit_code: ClassVar[int] = ExitCode.KUBERNETES_UNAVAILABLE

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class KubernetesConflict(KubernetesError):
    """A write lost a resourceVersion race (HTTP 409): re-read and retry."""


class ProviderError(PoolEngineError):
    """A cloud provider operation failed."""

    def __init__(self, operation: str, code: str, message: str = "") -> None:
        self.operation = operation
        self.code = code
        super().__init__(f"{operation} failed: {code}{': ' + message if message else ''}")


class TransientError(ProviderError):
    """Throttled or failed inside the cloud: retry with backoff."""


class OutcomeUnknown(TransientError):
    """The call timed out: the cloud may or may not have carried it out.

    Only the provider's inventory can tell. The reconciler counts a bind that timed
    out as failed and leaves a release or detach that timed out *doubtful* (neither
    usable nor gone) until an inventory sync settles it (docs/contracts/fault-audit.md).
    """


class PermanentError(ProviderError):
    """Will fail again the same way: do not retry."""


class NotFound(PermanentError):
    """The IP or ENI named is not there. For a release or a detach that means done."""
