"""Checking a project's settings as people type them (the CLI's options, the console's form): one
line per problem, naming the setting, what was wrong and what is allowed."""

from __future__ import annotations

from datetime import date

import phonenumbers

from dialer.calling_window import PRESETS, zone
from dialer.errors import DialerError


def invalid_settings(
    *, region: str | None, time_zone: str | None, window: str | None, webhook_url: str | None
) -> list[str]:
    """One line per setting that cannot be used (None: not given)."""
    problems = []
    if region is not None and region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        problems.append(f"region {region!r}: not an ISO 3166 country code phonenumbers knows (e.g. RU, US)")
    if window is not None and window not in PRESETS:
        problems.append(f"window {window!r}: presets are {', '.join(PRESETS)}")
    if time_zone is not None:
        try:
            zone(time_zone)
        except DialerError as exc:
            problems.append(f"time zone: {exc}")
    if webhook_url and not webhook_url.startswith(("http://", "https://")):
        problems.append("webhook url: must start with http:// or https://")
    return problems


def holiday_dates(text: str, problems: list[str]) -> list[str]:
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            out.append(date.fromisoformat(part).isoformat())
        except ValueError:
            problems.append(f"holiday {part!r}: not a date like 2027-01-07")
    return sorted(set(out))


def contact_caps(text: str, problems: list[str]) -> dict[str, int | None]:
    out: dict[str, int | None] = {"caps_per_day": None, "caps_per_week": None, "caps_per_month": None}
    for part in filter(None, (p.strip() for p in text.split(","))):
        period, _, limit = part.partition("=")
        key = f"caps_per_{period.strip()}"
        if key not in out or not limit.strip().isdigit() or int(limit) < 1:
            problems.append(f"cap {part!r}: expected day=N, week=N or month=N with N >= 1")
            continue
        out[key] = int(limit)
    return out
