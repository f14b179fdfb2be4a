"""pool_engine: the per-node ENI/IP warm-pool policy as a pure core.

The rules live in :mod:`pool_engine.policy` (R1–R3 as functions of counts), the
configuration contract (annotation keys, validation, limits) in
:mod:`pool_engine.config`, the per-node state with ENI packing in
:mod:`pool_engine.pool`, and the fast discrete-event replay in
:mod:`pool_engine.replay` (summarised for ``simulate`` by :mod:`pool_engine.simulator`).
Nothing here imports Kubernetes, Prometheus, pandas or scikit-learn; time is always a
parameter.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"

import os as _os

# numba colours its compile errors through colorama, whose init() registers an exit hook
# that writes an ANSI reset to a terminal: a stray escape after `-o json` or under
# NO_COLOR. Our compile errors are bugs, read plain; the user can still override this.
_os.environ.setdefault("NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING", "1")
