"""A report's period: whole local days of the project's time zone, and spans split at its midnights.

A day is from one local midnight to the next, so it lasts 23 or 25 hours on the days the clocks
change; every instant of the period belongs to exactly one day. Bounds are UTC instants (what the
database keeps); dates are local.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialer.errors import FieldError, Rejected

LONGEST = 366  # days a report may cover
ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant the local ``day`` begins (the first instant at or after local 00:00)."""
    local = datetime.combine(day, time(0), tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).date() != day:  # 00:00 does not exist that day (clocks jumped at midnight)
        instant = datetime.combine(day, time(1), tzinfo=zone).astimezone(UTC)
    return instant


@dataclass(frozen=True)
class Day:
    day: date
    start: datetime  # UTC
    end: datetime  # UTC, the next day's start

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


@dataclass(frozen=True)
class Period:
    """The local days ``first`` to ``last`` (both included) in ``zone``."""

    zone: ZoneInfo
    first: date
    last: date

    @property
    def start(self) -> datetime:
        return midnight(self.first, self.zone)

    @property
    def end(self) -> datetime:
        return midnight(self.last + timedelta(days=1), self.zone)

    def days(self) -> list[Day]:
        out = []
        day = self.first
        while day <= self.last:
            out.append(Day(day, midnight(day, self.zone), midnight(day + timedelta(days=1), self.zone)))
            day += timedelta(days=1)
        return out

    def day_of(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def describe(self) -> str:
        return self.first.isoformat() if self.first == self.last else f"{self.first} - {self.last}"


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Rejected(f"unknown time zone {name!r}", [FieldError(field="zone", problem="unknown")]) from None


def parse_period(first: str | None, last: str | None, zone: ZoneInfo, *, today: date | None = None) -> Period:
    """The period from two ISO dates (``last`` left out: one day; both: today in ``zone``)."""
    today = today or datetime.now(zone).date()
    errors = []
    days: list[date] = []
    for name, value in (("from", first), ("to", last)):
        if not value:
            days.append(days[0] if days else today)
            continue
        try:
            if not ISO_DATE.match(value.strip()):
                raise ValueError(value)
            days.append(date.fromisoformat(value.strip()))
        except ValueError:
            errors.append(
                FieldError(field=name, problem=f"not a date: {value[:40]!r}", expected="YYYY-MM-DD")
            )
            days.append(today)
    if errors:
        raise Rejected("the period's dates are wrong", errors)
    start, end = days
    if end < start:
        wrong = FieldError(field="to", problem="before 'from'", expected=f"{start} or later")
        raise Rejected("the period ends before it starts", [wrong])
    if (end - start).days >= LONGEST:
        wrong = FieldError(field="to", problem=f"more than {LONGEST} days after 'from'")
        raise Rejected("the period is too long", [wrong])
    return Period(zone, start, end)


def split(start: datetime, end: datetime, days: list[Day]) -> Iterator[tuple[date, float]]:
    """The seconds of the span [start, end) in each of ``days`` it touches (nothing outside them)."""
    for day in days:
        lo, hi = max(start, day.start), min(end, day.end)
        if hi > lo:
            yield day.day, (hi - lo).total_seconds()
