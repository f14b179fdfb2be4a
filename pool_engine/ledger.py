"""The operations one engine has in flight at the cloud, by token.

Every submitted operation gets a token ``"<engine id>:<n>"``: the engine id is
random per engine instance (a restart makes a new one), ``n`` counts up. An outcome
is applied only to the operation its token names; an outcome whose token is not in
the ledger belongs to another engine (one before a restart) or to a pool since
forgotten, and is never taken for one of ours. That is what keeps a bind result from
before a restart from freeing or re-adding a slot of the new engine (AWS VPC CNI
#712). (docs/contracts/fault-audit.md)
"""

from __future__ import annotations

import itertools
import secrets
from collections import Counter
from dataclasses import dataclass

from pool_engine.config import Mode
from pool_engine.pool import NodePool
from pool_engine.provider import Operation

Key = tuple[str, Mode]


@dataclass(frozen=True)
class Pending:
    """An operation of ours in flight: which pool, what, on which slot."""

    pool: NodePool
    kind: Operation
    op_id: int = 0
    """For a bind: the pool's :class:`pool_engine.plan.BindOp` id."""
    eni_id: str = ""
    ip: str = ""

    @property
    def key(self) -> Key:
        return (self.pool.node, self.pool.mode)


class Ledger:
    """Tokens of the operations in flight, and how many each pool has."""

    def __init__(self, engine_id: str | None = None) -> None:
        self.engine_id = secrets.token_hex(6) if engine_id is None else engine_id
        self._numbers = itertools.count(1)
        self._pending: dict[str, Pending] = {}
        self._per_pool: Counter[Key] = Counter()

    def issue(self, pending: Pending) -> str:
        """A fresh token for an operation about to be submitted."""
        token = f"{self.engine_id}:{next(self._numbers)}"
        self._pending[token] = pending
        self._per_pool[pending.key] += 1
        return token

    def take(self, token: str) -> Pending | None:
        """The operation ``token`` names, now ended; None when it is not ours."""
        pending = self._pending.pop(token, None)
        if pending is not None:
            self._per_pool[pending.key] -= 1
            if not self._per_pool[pending.key]:
                del self._per_pool[pending.key]
        return pending

    def busy(self, key: Key) -> bool:
        """Some operation of ours is in flight for the pool."""
        return key in self._per_pool

    def in_flight(self, key: Key) -> tuple[set[str], set[tuple[str, str]]]:
        """The pool's ENIs with a detach of ours in flight, and its (ENI, IP) with a
        release of ours in flight."""
        enis: set[str] = set()
        ips: set[tuple[str, str]] = set()
        if key not in self._per_pool:
            return enis, ips
        for pending in self._pending.values():
            if pending.key != key:
                continue
            if pending.kind is Operation.DETACH:
                enis.add(pending.eni_id)
            elif pending.kind is Operation.RELEASE:
                ips.add((pending.eni_id, pending.ip))
        return enis, ips

    def __len__(self) -> int:
        return len(self._pending)
