"""Calling rules for one lead: final states, number rotation, windows per callee zone, caps, busy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from dialer.calling_window import preset
from dialer.campaigns import DEFAULT_RETRY_DELAYS
from dialer.leads.rules import Candidate, Policy, after_attempt, cap_ends, judge
from dialer.leads.schema import LeadStatus

MOSCOW_LANDLINE = "+74951234567"  # Europe/Moscow, UTC+3
EKATERINBURG_LANDLINE = "+73432123456"  # Asia/Yekaterinburg, UTC+5
VLADIVOSTOK_LANDLINE = "+74232123456"  # Asia/Vladivostok, UTC+10
MOBILE = "+79123456789"  # every Russian zone: the lead's or project's zone decides
POLICY = Policy(window=preset("ru-230fz"), project_zone="Europe/Moscow", max_attempts=3)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


MONDAY_NOON_MOSCOW = utc(2026, 11, 23, 9, 0)


def test_expired_failed_and_dnc_leave_the_queue() -> None:
    now = MONDAY_NOON_MOSCOW
    assert judge(Candidate((MOBILE,), expires_at=now), POLICY, now).final is LeadStatus.EXPIRED
    assert judge(Candidate((MOBILE,), attempts=3), POLICY, now).final is LeadStatus.FAILED
    both = Candidate((MOBILE, MOSCOW_LANDLINE))
    assert judge(both, POLICY, now, dnc={MOBILE, MOSCOW_LANDLINE}).final is LeadStatus.DNC
    verdict = judge(both, POLICY, now, dnc={MOBILE})
    assert (verdict.dial, verdict.phone_index) == (MOSCOW_LANDLINE, 1)


def test_numbers_rotate_from_next_phone_and_skip_busy_ones() -> None:
    lead = Candidate((MOBILE, MOSCOW_LANDLINE, "+74951234568"), next_phone=1)
    assert judge(lead, POLICY, MONDAY_NOON_MOSCOW).dial == MOSCOW_LANDLINE
    assert judge(lead, POLICY, MONDAY_NOON_MOSCOW, busy={MOSCOW_LANDLINE}).dial == "+74951234568"
    wrapped = Candidate(lead.phones, next_phone=2)
    assert judge(wrapped, POLICY, MONDAY_NOON_MOSCOW, busy={"+74951234568"}).dial == MOBILE
    everyone_busy = judge(Candidate((MOBILE,)), POLICY, MONDAY_NOON_MOSCOW, busy={MOBILE})
    assert everyone_busy.dial is None
    assert everyone_busy.wait_until == MONDAY_NOON_MOSCOW + timedelta(seconds=60)


def test_each_russian_zone_opens_at_its_own_eight() -> None:
    # 03:30 UTC on a Monday: 06:30 Moscow, 08:30 Ekaterinburg, 13:30 Vladivostok.
    now = utc(2026, 11, 23, 3, 30)
    assert judge(Candidate((VLADIVOSTOK_LANDLINE,)), POLICY, now).dial == VLADIVOSTOK_LANDLINE
    assert judge(Candidate((EKATERINBURG_LANDLINE,)), POLICY, now).dial == EKATERINBURG_LANDLINE
    moscow = judge(Candidate((MOSCOW_LANDLINE,)), POLICY, now)
    assert moscow.dial is None
    assert moscow.wait_until == utc(2026, 11, 23, 5, 0)  # 08:00 Moscow
    # Weekdays close at 22:00: 12:30 UTC is 22:30 in Vladivostok, while Moscow is at 15:30.
    late = judge(Candidate((VLADIVOSTOK_LANDLINE,)), POLICY, utc(2026, 11, 23, 12, 30))
    assert late.dial is None
    assert late.wait_until == utc(2026, 11, 23, 22, 0)  # 08:00 Tuesday in Vladivostok


def test_mobile_uses_the_leads_zone_then_the_projects() -> None:
    now = utc(2026, 11, 23, 3, 30)  # 06:30 Moscow, 08:30 Ekaterinburg
    assert judge(Candidate((MOBILE,)), POLICY, now).dial is None
    assert judge(Candidate((MOBILE,), time_zone="Asia/Yekaterinburg"), POLICY, now).dial == MOBILE


def test_the_earliest_opening_among_numbers_is_when_to_look_again() -> None:
    now = utc(2026, 11, 23, 2, 0)  # 05:00 Moscow, 07:00 Ekaterinburg
    verdict = judge(Candidate((MOSCOW_LANDLINE, EKATERINBURG_LANDLINE)), POLICY, now)
    assert verdict.wait_until == utc(2026, 11, 23, 3, 0)  # 08:00 in Ekaterinburg


def test_us_window_across_the_spring_dst_change() -> None:
    us = Policy(window=preset("us"), project_zone="America/New_York")
    new_york = "+12125550100"
    # Sunday 8 March 2026, clocks go 02:00 -> 03:00 in New York; 08:00 EDT is 12:00 UTC.
    verdict = judge(Candidate((new_york,)), us, utc(2026, 3, 8, 6, 0))
    assert verdict.wait_until == utc(2026, 3, 8, 12, 0)
    assert judge(Candidate((new_york,)), us, utc(2026, 3, 8, 12, 0)).dial == new_york
    # The day before (EST) 08:00 was 13:00 UTC.
    assert judge(Candidate((new_york,)), us, utc(2026, 3, 7, 12, 30)).dial is None


def test_a_full_cap_waits_until_the_oldest_contact_leaves_the_window() -> None:
    policy = Policy(window=preset("daily-9-21"), project_zone="Europe/Moscow", caps=(("day", 1), ("week", 2)))
    now = MONDAY_NOON_MOSCOW
    yesterday = now - timedelta(hours=20)
    verdict = judge(Candidate((MOSCOW_LANDLINE,)), policy, now, contacts=[yesterday])
    assert verdict.wait_until == yesterday + timedelta(days=1)
    three_days_ago = now - timedelta(days=3)
    older = judge(
        Candidate((MOSCOW_LANDLINE,)), policy, now, contacts=[three_days_ago, now - timedelta(days=2)]
    )
    assert older.wait_until == three_days_ago + timedelta(days=7)
    assert judge(Candidate((MOSCOW_LANDLINE,)), policy, now, contacts=[now - timedelta(days=8)]).dial


@given(
    contacts=st.lists(st.integers(min_value=0, max_value=40 * 24 * 60), max_size=12),
    day=st.integers(1, 3),
    week=st.integers(1, 6),
    month=st.integers(1, 12),
)
def test_cap_end_is_the_first_instant_every_cap_allows(
    contacts: list[int], day: int, week: int, month: int
) -> None:
    now = MONDAY_NOON_MOSCOW
    times = [now - timedelta(minutes=m) for m in contacts]
    caps = (("day", day), ("week", week), ("month", month))

    def allowed(at: datetime) -> bool:
        spans = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}
        return all(sum(1 for t in times if at - spans[p] < t <= at) < n for p, n in caps)

    end = cap_ends(times, caps, now)
    if end is None:
        assert allowed(now)
    else:
        assert not allowed(now)
        assert allowed(end)
        assert not allowed(end - timedelta(seconds=1))


def test_after_an_attempt_the_outcome_decides_the_delay_until_attempts_run_out() -> None:
    delays = {k.value: v for k, v in DEFAULT_RETRY_DELAYS.items()} | {"busy": 120}
    now = MONDAY_NOON_MOSCOW
    assert after_attempt("busy", 1, POLICY, delays, now) == (LeadStatus.RETRY, now + timedelta(seconds=120))
    assert after_attempt("abandoned", 2, POLICY, delays, now) == (LeadStatus.RETRY, now + timedelta(hours=72))
    assert after_attempt("no_answer", 3, POLICY, delays, now) == (LeadStatus.FAILED, None)


def test_an_abandoned_person_is_not_called_for_72_hours_unless_an_operator_is_reserved() -> None:
    now = MONDAY_NOON_MOSCOW
    abandoned_at = now - timedelta(hours=10)
    lead = Candidate((MOSCOW_LANDLINE,))
    quiet = judge(lead, POLICY, now, abandoned=[abandoned_at])
    assert quiet.dial is None and quiet.wait_until == abandoned_at + timedelta(hours=72)
    assert judge(lead, POLICY, now, abandoned=[abandoned_at], operator_reserved=True).dial == MOSCOW_LANDLINE
    assert judge(lead, POLICY, now, abandoned=[now - timedelta(hours=73)]).dial == MOSCOW_LANDLINE
