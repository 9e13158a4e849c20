"""Trunk choice by prefix, priority and price; billing increments."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.config import Tariff, TrunkSettings
from sip.routing import NoRoute, billed_seconds, call_cost, choose_trunks


def trunk(
    priority: int,
    *tariffs: tuple[str, str],
    allowed: list[str] | None = None,
    blocked: list[str] | None = None,
) -> TrunkSettings:
    return TrunkSettings(
        host="sip.example", register=False, priority=priority,
        allowed_prefixes=allowed or [], blocked_prefixes=blocked or [],
        tariffs=[Tariff(prefix=p, price_per_minute=Decimal(price)) for p, price in tariffs],
    )  # fmt: skip


TRUNKS = {
    "main": trunk(10, ("+7", "1.50"), ("+79", "1.20"), allowed=["+7"], blocked=["+7809"]),
    "cheap": trunk(10, ("+79", "0.90")),
    "backup": trunk(20, ("", "3.00")),
}


def test_priority_then_price() -> None:
    order = [c.trunk for c in choose_trunks(TRUNKS, "+79123456789")]
    assert order == ["cheap", "main", "backup"]
    assert choose_trunks(TRUNKS, "+79123456789")[1].tariff.price_per_minute == Decimal(
        "1.20"
    )  # longest prefix


def test_allowed_and_blocked_prefixes_and_plus_insensitivity() -> None:
    assert [c.trunk for c in choose_trunks(TRUNKS, "74951234567")] == ["main", "cheap", "backup"]
    assert "main" not in [c.trunk for c in choose_trunks(TRUNKS, "+78091234567")]
    assert [c.trunk for c in choose_trunks(TRUNKS, "+380441234567")] == ["cheap", "backup"]


def test_down_trunks_are_skipped_and_no_route_says_why() -> None:
    assert [c.trunk for c in choose_trunks(TRUNKS, "+79123456789", down={"cheap", "main"})] == ["backup"]
    with pytest.raises(NoRoute) as caught:
        choose_trunks(TRUNKS, "+78091234567", down={"backup", "cheap"})
    assert caught.value.reasons == {"main": "prefix +7809 is blocked", "cheap": "down", "backup": "down"}
    assert "no trunk can call +78091234567" in str(caught.value)
    assert not caught.value.forbidden  # two trunks are only down: try again later


def test_a_number_every_trunk_refuses_is_forbidden_whatever_else_is_down() -> None:
    trunks = {"ru": trunk(10, allowed=["+7"]), "no-premium": trunk(20, blocked=["+7809", "+1"])}
    with pytest.raises(NoRoute) as caught:
        choose_trunks(trunks, "+12125550100", down={"ru": "all 30 channels busy"})
    assert caught.value.forbidden
    assert caught.value.reasons == {"ru": "only +7 allowed", "no-premium": "prefix +1 is blocked"}
    with pytest.raises(NoRoute) as none:
        choose_trunks({}, "+79123456789")
    assert not none.value.forbidden and "no trunks configured" in str(none.value)


@pytest.mark.parametrize(
    ("duration", "increments", "billed"),
    [(0, (60, 60), 0), (1, (60, 60), 60), (60, (60, 60), 60), (61, (60, 60), 120), (61.2, (1, 1), 62),
     (5, (30, 6), 30), (31, (30, 6), 36), (42, (30, 6), 42)],
)  # fmt: skip
def test_billing_increments(duration: float, increments: tuple[int, int], billed: int) -> None:
    assert billed_seconds(duration, increments) == billed


def test_cost_with_connection_fee() -> None:
    tariff = Tariff(
        prefix="+79", price_per_minute=Decimal("1.20"), increment="60/60", connection_fee=Decimal("0.10")
    )
    assert call_cost(tariff, 61) == (120, Decimal("2.5000"))
    assert call_cost(tariff, 0) == (0, Decimal(0))
    assert call_cost(None, 30) == (0, Decimal(0))


@given(st.floats(0.001, 10_000), st.integers(1, 120), st.integers(1, 60))
def test_billed_time_covers_the_call_by_less_than_one_block(duration: float, first: int, step: int) -> None:
    billed = billed_seconds(duration, (first, step))
    assert billed >= duration
    assert billed - duration < max(first, step)
