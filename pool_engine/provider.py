"""The cloud provider interface the reconciler drives.

Cloud calls take seconds, so the interface is asynchronous: ``bind``, ``release``
and ``detach`` *submit* an operation (raising :class:`TransientError` when the call
itself is throttled), and ``poll(now)`` returns the operations finished by ``now``.
Every operation carries a *token* unique across engine instances (the engine's
random id and a sequence number); its :class:`Outcome` comes back with it, so an
outcome is matched only to the operation that caused it, never to one of a later
engine that happens to reuse a number. A real provider passes the token as the
cloud's idempotency key (Tencent's ``ClientToken``).

An operation that timed out ends with :class:`pool_engine.errors.OutcomeUnknown`:
the cloud may or may not have carried it out. ``inventory`` (synchronous; it may
fail or time out like any call) is the truth that settles such doubts.

A real provider (e.g. one built on tencentcloud-sdk-python-vpc) implements it with
a worker pool: ``bind`` maps to CreateNetworkInterface + AttachNetworkInterface for
a new ENI and AssignPrivateIpAddresses for IPs, ``release`` to
UnassignPrivateIpAddresses, ``detach`` to DetachNetworkInterface +
DeleteNetworkInterface; ``inventory`` to DescribeNetworkInterfaces filtered by the
node's instance (with each private IP's State) and DescribeSubnets. The simulated
VPC in ``exporter/cloud.py`` implements it in virtual time.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from pool_engine.config import Mode
from pool_engine.errors import ProviderError
from pool_engine.inventory import EniRecord, EniState, Inventory
from pool_engine.plan import BindOp

__all__ = ["EniRecord", "EniState", "Inventory", "Operation", "Outcome", "Provider"]


class Operation(enum.StrEnum):
    """What a provider call does (the ``operation`` label of the API metrics)."""

    BIND = "bind"
    RELEASE = "release"
    DETACH = "detach"
    INVENTORY = "inventory"
    """Synchronous: it never ends in an :class:`Outcome`."""


@dataclass(frozen=True)
class Outcome:
    """A finished operation: ``error`` is None on success."""

    node: str
    mode: Mode
    kind: Operation
    eni_id: str
    token: str
    """The token the operation was submitted with."""
    ips: tuple[str, ...] = ()
    error: ProviderError | None = None
    seconds: float = 0.0
    """How long the operation took, for the API latency histogram."""


class Provider(Protocol):
    """What the reconciler needs from a cloud."""

    def bind(self, node: str, mode: Mode, op: BindOp, token: str, now: float) -> None:
        """Bind ``op.count`` slots on ``op.eni_id`` (a new ENI when ``op.new_eni``)."""

    def release(self, node: str, mode: Mode, eni_id: str, ip: str, token: str,
                now: float) -> None:  # fmt: skip
        """Unbind one slot."""

    def detach(self, node: str, mode: Mode, eni_id: str, token: str, now: float) -> None:
        """Detach and delete an ENI that holds no slot."""

    def poll(self, now: float) -> list[Outcome]:
        """Operations finished by ``now``."""
        ...

    def inventory(self, node: str, mode: Mode, now: float) -> Inventory:
        """Every ENI of the node in ``mode`` with its settled and changing IPs, and the
        subnets' free IPs. Raises :class:`ProviderError` like any call."""
        ...
