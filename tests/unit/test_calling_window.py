"""Calling windows in the callee's time zone: presets, holidays, Russian zones, DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.calling_window import CallingRuleError, callee_zone, preset, zone, zone_of_number

FZ230 = preset("ru-230fz")
MOSCOW = zone("Europe/Moscow")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("local", "allowed"),
    [
        ((2026, 11, 23, 7, 59), False),  # Monday
        ((2026, 11, 23, 8, 0), True),
        ((2026, 11, 23, 21, 59), True),
        ((2026, 11, 23, 22, 0), False),
        ((2026, 11, 28, 8, 30), False),  # Saturday
        ((2026, 11, 28, 9, 0), True),
        ((2026, 11, 28, 20, 0), False),
    ],
)
def test_230fz_weekdays_and_weekends(local: tuple[int, ...], allowed: bool) -> None:
    instant = datetime(*local, tzinfo=MOSCOW)
    assert FZ230.allows(instant, MOSCOW) is allowed


def test_holidays_use_weekend_hours() -> None:
    christmas = date(2027, 1, 7)  # a Thursday
    assert not FZ230.allows(datetime(2027, 1, 7, 8, 30, tzinfo=MOSCOW), MOSCOW, {christmas})
    assert FZ230.allows(datetime(2027, 1, 7, 8, 30, tzinfo=MOSCOW), MOSCOW)
    opening = FZ230.next_opening(datetime(2027, 1, 7, 8, 30, tzinfo=MOSCOW), MOSCOW, {christmas})
    assert opening == datetime(2027, 1, 7, 9, 0, tzinfo=MOSCOW)


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("+74951234567", "Europe/Moscow"),
        ("+73432123456", "Asia/Yekaterinburg"),
        ("+73832123456", "Asia/Novosibirsk"),
        ("+74232123456", "Asia/Vladivostok"),
        ("+74012123456", "Europe/Kaliningrad"),  # phonenumbers says Europe/Bucharest
        ("+12125551234", "America/New_York"),
    ],
)
def test_zone_from_landline_numbers(number: str, expected: str) -> None:
    found = zone_of_number(number)
    assert found is not None and found.key == expected


def test_one_utc_moment_is_morning_in_one_region_and_night_in_another() -> None:
    monday_3utc = utc(2026, 11, 23, 3, 0)
    assert not FZ230.allows(monday_3utc, callee_zone("+74951234567", project_zone="Europe/Moscow"))  # 06:00
    assert FZ230.allows(monday_3utc, callee_zone("+73432123456", project_zone="Europe/Moscow"))  # 08:00
    assert FZ230.allows(monday_3utc, callee_zone("+74232123456", project_zone="Europe/Moscow"))  # 13:00


def test_kaliningrad_correction_changes_the_decision_in_summer() -> None:
    # 05:30 UTC on a July weekday: 07:30 in Kaliningrad (UTC+2), but 08:30 in Bucharest (UTC+3 in summer)
    instant = utc(2026, 7, 15, 5, 30)
    assert not FZ230.allows(instant, callee_zone("+74012123456", project_zone="Europe/Moscow"))
    assert FZ230.allows(instant, zone("Europe/Bucharest"))


def test_mobiles_fall_back_to_lead_region_then_project_zone() -> None:
    assert zone_of_number("+79123456789") is None
    assert callee_zone("+79123456789", project_zone="Europe/Moscow", lead_zone="Asia/Omsk").key == "Asia/Omsk"
    assert (
        callee_zone("+79123456789", project_zone="Europe/Moscow", region_zone="Asia/Irkutsk").key
        == "Asia/Irkutsk"
    )
    assert callee_zone("+79123456789", project_zone="Europe/Moscow").key == "Europe/Moscow"
    with pytest.raises(CallingRuleError, match="unknown time zone 'Mars/Olympus'"):
        callee_zone("+79123456789", project_zone="Mars/Olympus")


def test_next_opening_over_a_weekend() -> None:
    friday_late = datetime(2026, 11, 27, 22, 30, tzinfo=MOSCOW)
    assert FZ230.next_opening(friday_late, MOSCOW) == datetime(2026, 11, 28, 9, 0, tzinfo=MOSCOW)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 3, 8, 5, 0), utc(2026, 3, 8, 12, 0)),  # DST starts at 02:00: 08:00 EDT is 12:00 UTC
        (utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 13, 0)),  # DST ends at 02:00: 08:00 EST is 13:00 UTC
        (utc(2026, 3, 7, 5, 0), utc(2026, 3, 7, 13, 0)),  # the day before, still EST
    ],
)
def test_us_window_across_dst_changes(now: datetime, expected: datetime) -> None:
    new_york = callee_zone("+12125551234", project_zone="Europe/Moscow")
    assert preset("us").next_opening(now, new_york) == expected


def test_bad_presets_and_naive_times_are_refused() -> None:
    with pytest.raises(CallingRuleError, match="presets: daily-9-21, ru-230fz, us"):
        preset("whenever")
    with pytest.raises(CallingRuleError, match="naive"):
        FZ230.allows(datetime(2026, 1, 1, 12, 0), MOSCOW)


ZONES = ["Europe/Moscow", "Europe/Kaliningrad", "Asia/Vladivostok", "America/New_York", "Europe/London"]


@given(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31)),
    st.sampled_from(ZONES),
    st.sampled_from(["daily-9-21", "ru-230fz", "us"]),
)
def test_next_opening_is_allowed_not_earlier_and_nothing_opens_before_it(
    naive: datetime, zone_name: str, window_name: str
) -> None:
    now, where, window = naive.replace(tzinfo=UTC), zone(zone_name), preset(window_name)
    opening = window.next_opening(now, where)
    assert opening >= now and window.allows(opening, where)
    if window.allows(now, where):
        assert opening == now
    else:
        probe = now + timedelta(minutes=15)
        while probe < opening:
            assert not window.allows(probe, where)
            probe += timedelta(minutes=15)
