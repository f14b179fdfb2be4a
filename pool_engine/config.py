"""Targets and limits: the NEC annotation contract (docs/contracts/annotations.md).

Annotations live on the node's NEC object (``kubectl annotate nec <node> ...``).
A change is all or nothing: when it breaks a rule it is *refused* — the previous
values stay in force and the caller reports the :class:`Refusal` (log line,
Kubernetes Event, ``eni_pool_config_rejections_total{reason}``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import assert_never

PREFIX = "tke.cloud.tencent.com/"


class Mode(enum.StrEnum):
    """Networking mode of a pool: what one slot is."""

    ROUTE_ENI = "route-eni"
    """Shared-ENI mode: a slot is a secondary IP on an ENI."""
    DIRECT_ENI = "direct-eni"
    """Exclusive-ENI mode: a slot is a whole ENI."""


MIN_WARM_KEY = {
    Mode.ROUTE_ENI: PREFIX + "route-eni-ip-min-warm-target",
    Mode.DIRECT_ENI: PREFIX + "direct-eni-min-warm-target",
}
MAX_WARM_KEY = {
    Mode.ROUTE_ENI: PREFIX + "route-eni-ip-max-warm-target",
    Mode.DIRECT_ENI: PREFIX + "direct-eni-max-warm-target",
}
MAX_ATTACH_KEY = {
    Mode.ROUTE_ENI: PREFIX + "route-eni-max-attach",
    Mode.DIRECT_ENI: PREFIX + "direct-eni-max-attach",
}
IPS_PER_ENI_KEY = PREFIX + "max-ip-per-route-eni"

# Physical ceilings, far above any instance type's (TKE's largest default is 7 ENIs x 29
# IPs, 39 exclusive ENIs): a value above them is a typo, and refused (out_of_range).
MAX_ROUTE_ENIS = 64
"""The most ENIs one node can attach (``route-eni-max-attach``)."""
MAX_IPS_PER_ENI = 256
"""The most secondary IPs one ENI can hold (``max-ip-per-route-eni``)."""
MAX_DIRECT_ENIS = 256
"""The most exclusive ENIs one node can attach (``direct-eni-max-attach``)."""
MAX_SLOTS = {Mode.ROUTE_ENI: MAX_ROUTE_ENIS * MAX_IPS_PER_ENI, Mode.DIRECT_ENI: MAX_DIRECT_ENIS}
"""The most slots a node can bind in each mode: no warm target can be above it."""
_DECIMAL = re.compile(r"-?[0-9]+", re.ASCII)


class Reason(enum.StrEnum):
    """Why a configuration change was refused (the metric's ``reason`` label)."""

    MISSING_PAIR_KEY = "missing_pair_key"
    NOT_INTEGER = "not_integer"
    NEGATIVE = "negative"
    MIN_ABOVE_MAX = "min_above_max"
    BELOW_IN_USE = "below_in_use"
    OUT_OF_RANGE = "out_of_range"
    INVALID_SCHEDULE = "invalid_schedule"
    """A time-of-day schedule annotation that is not one (docs/contracts/annotations.md)."""


@dataclass(frozen=True)
class Refusal:
    """A refused change: the previous values stay in force."""

    reason: Reason
    message: str


@dataclass(frozen=True)
class Targets:
    """Min and max warm slots (m, M): bound stays within [P + W + m, P + W + M]."""

    min_warm: int
    max_warm: int


DEFAULT_ROUTE_ENI_TARGETS = Targets(5, 5)
"""TKE's route-eni targets when neither a flag nor an annotation says otherwise."""
DEFAULT_DIRECT_ENI_TARGETS = Targets(1, 1)
"""TKE's direct-eni targets when neither a flag nor an annotation says otherwise."""


@dataclass(frozen=True)
class Limits:
    """How many slots a node can bind.

    route-eni: ``max_enis`` ENIs of ``ips_per_eni`` secondary IPs each;
    direct-eni: ``max_enis`` exclusive ENIs (``ips_per_eni`` is 1).
    """

    max_enis: int
    ips_per_eni: int = 1

    @property
    def capacity(self) -> int:
        """C, the max bindable slots."""
        return self.max_enis * self.ips_per_eni


@dataclass(frozen=True)
class Usage:
    """What pods hold on a node now: limits below it are refused."""

    slots: int = 0
    """P: slots held by pods."""
    enis: int = 0
    """ENIs holding at least one pod's IP (route-eni)."""
    most_on_one_eni: int = 0
    """The most pod-held IPs on one ENI (route-eni)."""


@dataclass(frozen=True)
class Defaults:
    """Engine flags (the seed's ipamd flags). They apply to nodes first seen after a change."""

    ip_min_warm: int = DEFAULT_ROUTE_ENI_TARGETS.min_warm
    """--ip-min-warm-target (route-eni)."""
    ip_max_warm: int = DEFAULT_ROUTE_ENI_TARGETS.max_warm
    """--ip-max-warm-target (route-eni)."""
    eni_min_warm: int = DEFAULT_DIRECT_ENI_TARGETS.min_warm
    """--eni-min-warm-target (direct-eni)."""
    eni_max_warm: int = DEFAULT_DIRECT_ENI_TARGETS.max_warm
    """--eni-max-warm-target (direct-eni)."""
    quick_release: bool = False
    """--enable-quick-release: release every excess idle slot per round."""

    def targets(self, mode: Mode) -> Targets:
        match mode:
            case Mode.ROUTE_ENI:
                return Targets(self.ip_min_warm, self.ip_max_warm)
            case Mode.DIRECT_ENI:
                return Targets(self.eni_min_warm, self.eni_max_warm)
            case _:
                assert_never(mode)

    def check(self) -> Refusal | None:
        """Flags obey the same rules as annotations."""
        for low, high, name, mode in (
            (self.ip_min_warm, self.ip_max_warm, "ip", Mode.ROUTE_ENI),
            (self.eni_min_warm, self.eni_max_warm, "eni", Mode.DIRECT_ENI),
        ):
            if low < 0 or high < 0:
                return Refusal(Reason.NEGATIVE, f"--{name}-*-warm-target must be >= 0")
            if max(low, high) > MAX_SLOTS[mode]:
                return Refusal(
                    Reason.OUT_OF_RANGE,
                    f"--{name}-*-warm-target must be <= {MAX_SLOTS[mode]}, the most slots"
                    " a node can bind",
                )
            if low > high:
                return Refusal(
                    Reason.MIN_ABOVE_MAX,
                    f"--{name}-min-warm-target {low} > --{name}-max-warm-target {high}",
                )
        return None


def parse_targets(annotations: Mapping[str, str], mode: Mode) -> Targets | Refusal | None:
    """Targets from NEC annotations: None when neither key is set, else Targets or a Refusal."""
    low_key, high_key = MIN_WARM_KEY[mode], MAX_WARM_KEY[mode]
    present = [k for k in (low_key, high_key) if k in annotations]
    if not present:
        return None
    if len(present) == 1:
        missing = high_key if present[0] == low_key else low_key
        return Refusal(Reason.MISSING_PAIR_KEY, f"{present[0]} is set but {missing} is not")
    values: list[int] = []
    for key in (low_key, high_key):
        number = _number(key, annotations[key], MAX_SLOTS[mode])
        if isinstance(number, Refusal):
            return number
        values.append(number)
    low, high = values
    if low > high:
        return Refusal(Reason.MIN_ABOVE_MAX, f"{low_key}={low} > {high_key}={high}")
    return Targets(low, high)


def parse_limits(
    annotations: Mapping[str, str], mode: Mode, current: Limits, in_use: Usage
) -> Limits | Refusal | None:
    """Limits from NEC annotations, each key optional; refused below what pods hold:
    fewer slots than held, fewer ENIs than hold a pod's IP, or fewer IPs per ENI than
    one ENI holds (docs/contracts/annotations.md)."""
    attach_key = MAX_ATTACH_KEY[mode]
    keys = [attach_key] + ([IPS_PER_ENI_KEY] if mode is Mode.ROUTE_ENI else [])
    if not any(k in annotations for k in keys):
        return None
    numbers: dict[str, int] = {}
    for key in keys:
        if key not in annotations:
            continue
        number = _number(key, annotations[key], _LIMIT_CEILING[key])
        if isinstance(number, Refusal):
            return number
        numbers[key] = number
    limits = Limits(
        numbers.get(attach_key, current.max_enis),
        numbers.get(IPS_PER_ENI_KEY, current.ips_per_eni) if mode is Mode.ROUTE_ENI else 1,
    )
    if mode is Mode.ROUTE_ENI and attach_key in numbers and limits.max_enis < in_use.enis:
        return Refusal(
            Reason.BELOW_IN_USE,
            f"{attach_key}={limits.max_enis} is below the {in_use.enis} ENIs in use",
        )
    if IPS_PER_ENI_KEY in numbers and limits.ips_per_eni < in_use.most_on_one_eni:
        return Refusal(
            Reason.BELOW_IN_USE,
            f"{IPS_PER_ENI_KEY}={limits.ips_per_eni} is below the {in_use.most_on_one_eni}"
            " IPs in use on one ENI",
        )
    if limits.capacity < in_use.slots:
        return Refusal(
            Reason.BELOW_IN_USE,
            f"max {limits.capacity} slots ({', '.join(f'{k}={v}' for k, v in numbers.items())})"
            f" is below the {in_use.slots} slots in use",
        )
    return limits


_LIMIT_CEILING = {
    MAX_ATTACH_KEY[Mode.ROUTE_ENI]: MAX_ROUTE_ENIS,
    IPS_PER_ENI_KEY: MAX_IPS_PER_ENI,
    MAX_ATTACH_KEY[Mode.DIRECT_ENI]: MAX_DIRECT_ENIS,
}


def _number(key: str, text: object, ceiling: int) -> int | Refusal:
    """A value of ``key``: decimal digits only (a leading ``-`` aside: no ``+``, spaces or
    underscores), not negative, at most ``ceiling``; else the Refusal saying why. A
    value is never converted before its length is checked, however long it is."""
    if not isinstance(text, str) or not _DECIMAL.fullmatch(text):
        shown = repr(text) if len(repr(text)) <= 40 else repr(text)[:36] + "...'"
        return Refusal(Reason.NOT_INTEGER, f"{key}={shown} is not an integer")
    digits = text.lstrip("-").lstrip("0")
    shown = text if len(text) <= 24 else text[:20] + "..."
    if text.startswith("-") and digits:
        return Refusal(Reason.NEGATIVE, f"{key}={shown} is negative")
    if len(digits) > len(str(ceiling)) or int(digits or "0") > ceiling:
        return Refusal(Reason.OUT_OF_RANGE, f"{key}={shown} is above {ceiling}")
    return int(digits or "0")


# Default limits by CPU cores, from the TKE documentation.
_ROUTE_ENI_BY_CORES = (
    (12, Limits(7, 29)),
    (8, Limits(5, 19)),
    (2, Limits(3, 9)),
    (0, Limits(1, 5)),
)
_S5_TABLE = ((128, 23), (8, 39), (4, 19), (2, 9), (0, 4))
_DIRECT_ENI_BY_CORES = {
    "S5": _S5_TABLE,
    "SA2": _S5_TABLE,
    "IT5": _S5_TABLE,
    "SA3": ((4, 15), (2, 9), (0, 4)),
}
DIRECT_ENI_FAMILIES = frozenset(_DIRECT_ENI_BY_CORES)
"""Instance families with a documented exclusive-ENI table; any other takes S5's."""


def instance_family(instance_type: str) -> str:
    """The family of a CVM instance type, upper case: ``SA3.2XLARGE16`` -> ``SA3``;
    ``""`` when there is no type."""
    return instance_type.strip().split(".", 1)[0].upper()


def default_limits(cores: int, mode: Mode, family: str = "") -> Limits:
    """TKE's default limits for a node with ``cores`` CPU cores of instance ``family``.

    Shared mode (any family): 1 core 1 ENI x 5 IPs; 2–6 cores 3 x 9; 8–10 cores 5 x 19;
    12+ 7 x 29. Exclusive mode (S5/SA2/IT5): 1 core 4 ENIs, 2 cores 9, 4 cores 19, 8+ 39,
    128+ 23; SA3: 4, 9, 15, 15, 15; any other family, or none, S5's (NEC annotations
    override them). Core counts between rows take the row below.
    """
    match mode:
        case Mode.ROUTE_ENI:
            return next(limits for floor, limits in _ROUTE_ENI_BY_CORES if cores >= floor)
        case Mode.DIRECT_ENI:
            table = _DIRECT_ENI_BY_CORES.get(family.upper(), _S5_TABLE)
            return Limits(next(enis for floor, enis in table if cores >= floor))
        case _:
            assert_never(mode)
