"""Report periods: local days from midnight to midnight (23 and 25 hours on clock changes), spans
split at the local midnights, nothing lost or counted twice."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.errors import Rejected
from reports.period import Period, parse_period, split

ZONES = ["Europe/Moscow", "America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe",
         "America/Santiago", "Pacific/Chatham"]  # fmt: skip


def test_the_days_the_clocks_change_have_23_and_25_hours() -> None:
    zone = ZoneInfo("America/New_York")
    spring = Period(zone, date(2026, 3, 8), date(2026, 3, 8)).days()[0]
    autumn = Period(zone, date(2026, 11, 1), date(2026, 11, 1)).days()[0]
    assert (spring.hours, autumn.hours) == (23, 25)
    moscow = Period(ZoneInfo("Europe/Moscow"), date(2026, 3, 29), date(2026, 3, 29)).days()[0]
    assert moscow.hours == 24  # no clock change there


def test_a_span_over_midnight_is_split_at_the_local_midnight() -> None:
    zone = ZoneInfo("Europe/Moscow")
    days = Period(zone, date(2026, 11, 10), date(2026, 11, 11)).days()
    start, end = datetime(2026, 11, 10, 20, 0, tzinfo=UTC), datetime(2026, 11, 10, 22, 0, tzinfo=UTC)
    assert list(split(start, end, days)) == [(date(2026, 11, 10), 3600.0), (date(2026, 11, 11), 3600.0)]


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    first=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 1)),
    length=st.integers(min_value=0, max_value=40),
    offset=st.integers(min_value=-3 * 86400, max_value=45 * 86400),
    seconds=st.integers(min_value=0, max_value=5 * 86400),
)
def test_days_tile_the_period_and_spans_split_without_loss(zone, first, length, offset, seconds) -> None:
    period = Period(ZoneInfo(zone), first, first + timedelta(days=length))
    days = period.days()
    assert days[0].start == period.start and days[-1].end == period.end
    assert all(a.end == b.start for a, b in itertools.pairwise(days))  # no gap, no overlap
    assert all(22 <= d.hours <= 26 for d in days)
    assert sum(d.hours for d in days) * 3600 == pytest.approx((period.end - period.start).total_seconds())
    start = period.start + timedelta(seconds=offset)
    end = start + timedelta(seconds=seconds)
    pieces = list(split(start, end, days))
    inside = max(timedelta(0), min(end, period.end) - max(start, period.start)).total_seconds()
    assert all(s > 0 for _, s in pieces)
    assert sum(s for _, s in pieces) == pytest.approx(inside)
    assert [d for d, _ in pieces] == sorted({d for d, _ in pieces})


def test_wrong_dates_are_named() -> None:
    zone = ZoneInfo("Europe/Moscow")
    with pytest.raises(Rejected) as refused:
        parse_period("2026-13-01", "yesterday", zone)
    assert {e.field for e in refused.value.errors} == {"from", "to"}
    with pytest.raises(Rejected):
        parse_period("2026-11-10", "2026-11-01", zone)
    with pytest.raises(Rejected):
        parse_period("2024-01-01", "2026-01-01", zone)
    assert parse_period(None, None, zone, today=date(2026, 5, 1)).first == date(2026, 5, 1)
