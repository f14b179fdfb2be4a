"""The cloud provider interface the reconciler drives.

Cloud calls take seconds, so the interface is asynchronous: ``bind``, ``release``
and ``detach`` *submit* an operation (raising :class:`TransientError` when the call
itself is throttled), and ``poll(now)`` returns the operations finished by ``now``.
A real provider (e.g. one built on tencentcloud-sdk-python-vpc) implements it with
a worker pool: ``bind`` maps to CreateNetworkInterface + AttachNetworkInterface for
a new ENI and AssignPrivateIpAddresses for IPs, ``release`` to
UnassignPrivateIpAddresses, ``detach`` to DetachNetworkInterface +
DeleteNetworkInterface; ``inventory`` to DescribeNetworkInterfaces filtered by the
node's instance. The simulated VPC in ``exporter/cloud.py`` implements it in
virtual time.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

from pool_engine.config import Mode
from pool_engine.errors import ProviderError
from pool_engine.plan import BindOp


class Operation(enum.StrEnum):
    """What a provider call does (the ``operation`` label of the API metrics)."""

    BIND = "bind"
    RELEASE = "release"
    DETACH = "detach"


@dataclass(frozen=True)
class Outcome:
    """A finished operation: ``error`` is None on success."""

    node: str
    mode: Mode
    kind: Operation
    eni_id: str
    op_id: int | None = None
    ips: tuple[str, ...] = ()
    error: ProviderError | None = None
    seconds: float = 0.0
    """How long the operation took, for the API latency histogram."""


@dataclass(frozen=True)
class EniRecord:
    """An ENI as the provider sees it: the truth a restart rebuilds from."""

    eni_id: str
    subnet: str
    ips: tuple[str, ...] = field(default_factory=tuple)


class Provider(Protocol):
    """What the reconciler needs from a cloud."""

    def bind(self, node: str, mode: Mode, op: BindOp, now: float) -> None:
        """Bind ``op.count`` slots on ``op.eni_id`` (a new ENI when ``op.new_eni``)."""

    def release(self, node: str, mode: Mode, eni_id: str, ip: str, now: float) -> None:
        """Unbind one slot."""

    def detach(self, node: str, mode: Mode, eni_id: str, now: float) -> None:
        """Detach and delete an ENI that holds no slot."""

    def poll(self, now: float) -> list[Outcome]:
        """Operations finished by ``now``."""
        ...

    def inventory(self, node: str, mode: Mode) -> list[EniRecord]:
        """Every ENI bound to the node, with its slots."""
        ...

    def subnets(self) -> dict[str, int]:
        """Free IPs per subnet."""
        ...
