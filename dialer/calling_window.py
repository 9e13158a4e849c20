"""When a person may be called: the callee's time zone and the legal calling window.

Theory of operation
-------------------
*Time zone.* The number decides when it is unambiguous: ``phonenumbers`` gives one zone for a landline
area code (Moscow 495, Ekaterinburg 343, New York 212). Its data has known errors, corrected here
(Kaliningrad 4012 comes back as Europe/Bucharest, which is an hour off in summer). Russian mobiles
(+79...) map to every zone of the country, so the lead's own zone is used, else its region's, else
the project's.

*Window.* A :class:`CallingWindow` gives opening hours for weekdays, weekends and holidays in the
callee's local time, ``[start, end)``. Presets: ``daily-9-21``; ``ru-230fz`` (Russian Federal Law
230-FZ: weekdays 08-22, weekends and public holidays 09-20); ``us`` (TCPA: 08-21 every day). Holidays
are the project's calendar of local dates.

All instants in and out are timezone-aware; local arithmetic goes through :mod:`zoneinfo`, so DST
changes are handled (an 08:00 opening is 08:00 on the clock on the day the clocks move).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezones

from dialer.errors import DialerError

# Zones phonenumbers gets wrong, per (country code, zone it returns) -> the right zone.
_CORRECTIONS = {(7, "Europe/Bucharest"): "Europe/Kaliningrad"}
_LOOKAHEAD_DAYS = 31


class CallingRuleError(DialerError):
    """A calling rule was configured with an impossible value (unknown zone or preset)."""


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; a clear error when it does not exist."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CallingRuleError(
            f"unknown time zone {name!r}; use an IANA name such as Europe/Moscow"
        ) from None


def zone_of_number(e164: str) -> ZoneInfo | None:
    """The callee's zone when the number alone decides it, else None."""
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return None
    zones = phone_timezones.time_zones_for_number(parsed)
    if len(zones) != 1 or zones[0] == phone_timezones.UNKNOWN_TIMEZONE:
        return None
    name = _CORRECTIONS.get((parsed.country_code or 0, zones[0]), zones[0])
    return ZoneInfo(name)


def callee_zone(
    e164: str, *, project_zone: str, lead_zone: str | None = None, region_zone: str | None = None
) -> ZoneInfo:
    """The zone to judge calling hours in: the number's, else the lead's, region's, project's."""
    from_number = zone_of_number(e164)
    if from_number is not None:
        return from_number
    return zone(lead_zone or region_zone or project_zone)


@dataclass(frozen=True)
class Hours:
    """Opening hours of one kind of day, local clock time, ``[start, end)``."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise CallingRuleError(f"opening hours must start before they end, got {self.start}-{self.end}")


@dataclass(frozen=True)
class CallingWindow:
    """Hours a person may be called, by kind of day, in their local time."""

    name: str
    weekdays: Hours
    weekends: Hours
    holidays: Hours

    def hours_on(self, day: date, holidays: Collection[date]) -> Hours:
        if day in holidays:
            return self.holidays
        return self.weekends if day.weekday() >= 5 else self.weekdays

    def allows(self, instant: datetime, where: ZoneInfo, holidays: Collection[date] = ()) -> bool:
        """Whether ``instant`` (aware) falls inside the window for a callee in ``where``."""
        local = _aware(instant).astimezone(where)
        hours = self.hours_on(local.date(), holidays)
        return hours.start <= local.time().replace(tzinfo=None) < hours.end

    def next_opening(self, instant: datetime, where: ZoneInfo, holidays: Collection[date] = ()) -> datetime:
        """The earliest moment at or after ``instant`` when the callee may be called (in UTC)."""
        instant = _aware(instant)
        if self.allows(instant, where, holidays):
            return instant.astimezone(UTC)
        local = instant.astimezone(where)
        for offset in range(_LOOKAHEAD_DAYS + 1):
            day = local.date() + timedelta(days=offset)
            opening = datetime.combine(day, self.hours_on(day, holidays).start, tzinfo=where)
            if opening >= local:
                return opening.astimezone(UTC)
        raise CallingRuleError(f"no calling hours within {_LOOKAHEAD_DAYS} days (holiday calendar too full?)")


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise CallingRuleError("naive datetime given; attach a time zone (UTC)")
    return instant


def _every_day(name: str, start: int, end: int) -> CallingWindow:
    hours = Hours(time(start), time(end))
    return CallingWindow(name, hours, hours, hours)


PRESETS = {
    "daily-9-21": _every_day("daily-9-21", 9, 21),
    "ru-230fz": CallingWindow(
        "ru-230fz", Hours(time(8), time(22)), Hours(time(9), time(20)), Hours(time(9), time(20))
    ),
    "us": _every_day("us", 8, 21),
    # no limit: for the demo call centre's simulated clients and for tests, never for real people
    "any-hour": CallingWindow("any-hour", *[Hours(time(0), time.max)] * 3),
}


PresetName = Literal["daily-9-21", "ru-230fz", "us", "any-hour"]
assert set(get_args(PresetName)) == set(PRESETS)


def preset(name: str) -> CallingWindow:
    """A named calling window; a clear error listing the presets when unknown."""
    try:
        return PRESETS[name]
    except KeyError:
        raise CallingRuleError(f"unknown calling window {name!r}; presets: {', '.join(PRESETS)}") from None
