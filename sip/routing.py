"""Choosing a trunk for a number, and what a call costs on it.

Routing: a trunk may carry a number unless a blocked prefix matches, and only if an allowed prefix
matches (no allowed prefixes: any number). Candidates are ordered by priority (lower first), then by
the per-minute price of the longest matching tariff prefix, then by name, so the order is stable.
Trunks that are down (registration lost, OPTIONS unanswered, repeated 503s) are skipped; a number no
trunk can take raises :class:`NoRoute` with every trunk's reason.

Billing: ``increment`` "first/next" bills the first ``first`` seconds as a block, then whole ``next``
blocks (60/60 per started minute, 1/1 per second, 30/6 ...); unanswered calls cost nothing; the
connection fee is added to answered calls. Money is ``Decimal``.

Prefixes and numbers are compared without a leading ``+``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from sip.errors import SipError


class TariffLike(Protocol):
    @property
    def prefix(self) -> str: ...
    @property
    def price_per_minute(self) -> Decimal: ...
    @property
    def connection_fee(self) -> Decimal: ...
    @property
    def increments(self) -> tuple[int, int]: ...


class TrunkLike(Protocol):
    @property
    def priority(self) -> int: ...
    @property
    def max_channels(self) -> int: ...
    @property
    def max_cps(self) -> float: ...
    @property
    def allowed_prefixes(self) -> Sequence[str]: ...
    @property
    def blocked_prefixes(self) -> Sequence[str]: ...
    @property
    def tariffs(self) -> Sequence[TariffLike]: ...


class NoRoute(SipError):
    """No trunk may carry this number; ``reasons`` maps each trunk to why not. ``forbidden``: every
    trunk refuses the number itself (its prefix rules), so waiting will not help, unlike trunks that
    are down or full."""

    def __init__(self, number: str, reasons: dict[str, str], *, forbidden: bool = False) -> None:
        self.number = number
        self.reasons = reasons
        self.forbidden = forbidden
        detail = "; ".join(f"{name}: {why}" for name, why in reasons.items()) or "no trunks configured"
        super().__init__(f"no trunk can call {number}: {detail}")


def _digits(value: str) -> str:
    return value.lstrip("+")


def refusal(trunk: TrunkLike, number: str) -> str | None:
    """Why ``trunk`` may not carry ``number``, or None if it may."""
    digits = _digits(number)
    for prefix in trunk.blocked_prefixes:
        if digits.startswith(_digits(prefix)):
            return f"prefix {prefix} is blocked"
    allowed = trunk.allowed_prefixes
    if allowed and not any(digits.startswith(_digits(p)) for p in allowed):
        return f"only {', '.join(allowed)} allowed"
    return None


def tariff_for(trunk: TrunkLike, number: str) -> TariffLike | None:
    """The tariff with the longest prefix matching ``number``."""
    digits = _digits(number)
    matching = [t for t in trunk.tariffs if digits.startswith(_digits(t.prefix))]
    return max(matching, key=lambda t: len(_digits(t.prefix)), default=None)


@dataclass(frozen=True)
class RouteChoice:
    trunk: str
    tariff: TariffLike | None


def choose_trunks(
    trunks: Mapping[str, TrunkLike], number: str, *, down: Collection[str] | Mapping[str, str] = ()
) -> list[RouteChoice]:
    """Trunks that may carry ``number``, best first; raises :class:`NoRoute` when there are none.

    ``down``: trunks not to use now, with the reason when it is a mapping (down, full, rate limit).
    """
    reasons: dict[str, str] = {}
    refused = 0  # trunks that refuse the number itself
    candidates: list[tuple[int, Decimal, str, TariffLike | None]] = []
    for name, trunk in trunks.items():
        unavailable = (down.get(name) if isinstance(down, Mapping) else None) or (
            "down" if name in down else None
        )
        rule = refusal(trunk, number)
        refused += rule is not None
        why = rule or unavailable
        if why is not None:
            reasons[name] = why
            continue
        tariff = tariff_for(trunk, number)
        price = tariff.price_per_minute if tariff is not None else Decimal("Infinity")
        candidates.append((trunk.priority, price, name, tariff))
    if not candidates:
        raise NoRoute(number, reasons, forbidden=bool(trunks) and refused == len(trunks))
    return [RouteChoice(name, tariff) for _, _, name, tariff in sorted(candidates, key=lambda c: c[:3])]


def billed_seconds(duration: float, increments: tuple[int, int]) -> int:
    """Seconds billed for a call of ``duration`` seconds under "first/next" increments."""
    if duration <= 0:
        return 0
    first, step = increments
    if duration <= first:
        return first
    return first + math.ceil((duration - first) / step) * step


def call_cost(tariff: TariffLike | None, duration: float) -> tuple[int, Decimal]:
    """(billed seconds, cost) of an answered call that lasted ``duration`` seconds (0: unanswered)."""
    if tariff is None or duration <= 0:
        return 0, Decimal(0)
    billed = billed_seconds(duration, tariff.increments)
    cost = tariff.connection_fee + tariff.price_per_minute * Decimal(billed) / Decimal(60)
    return billed, cost.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
