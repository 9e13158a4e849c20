"""The rules a message obeys before it leaves: the same as a call's, where they apply.

An SMS goes only inside the callee-local calling window of the project (its preset and holidays,
the zone of the number, else of the lead, else of the project): one queued at 23:00 waits for the
opening. When the project counts an SMS as a contact (230-FZ), the project's caps hold for calls and
SMS together. Email has no window (it waits in the mailbox, it does not ring). Stop lists are
checked again at sending: a "stop" recorded after the message was queued still holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.calling_window import callee_zone, preset
from dialer.leads.hopper import sent_sms
from dialer.leads.rules import CAP_PERIODS, cap_ends
from dialer.storage.tables import ATTEMPT

Hold = tuple[datetime, str]


def caps_of(project: Mapping[Any, Any]) -> list[tuple[str, int]]:
    limits = (project["caps_per_day"], project["caps_per_week"], project["caps_per_month"])
    return [(period, limit) for period, limit in zip(CAP_PERIODS, limits, strict=True) if limit]


def window_hold(
    project: Mapping[Any, Any], lead: Mapping[Any, Any] | None, phone: str, now: datetime
) -> Hold | None:
    """When an SMS to ``phone`` may go, if not now."""
    window = preset(project["calling_window"])
    holidays = frozenset(date.fromisoformat(d) for d in project["holidays"] or ())
    where = callee_zone(phone, project_zone=project["time_zone"], lead_zone=(lead or {}).get("time_zone"))
    if window.allows(now, where, holidays):
        return None
    opening = window.next_opening(now, where, holidays)
    local = opening.astimezone(where)
    return opening, f"waits for the calling window: opens {local:%Y-%m-%d %H:%M} {where.key}"


async def cap_hold(
    conn: AsyncConnection, project: Mapping[Any, Any], phone: str, now: datetime
) -> Hold | None:
    """When the project's contact caps allow one more SMS to ``phone`` (when SMS count as contacts)."""
    caps = caps_of(project)
    if not caps or not project["sms_counts_as_contact"]:
        return None
    since = now - max(CAP_PERIODS.values())
    calls = await conn.execute(
        select(ATTEMPT.c.answered_at).where(
            ATTEMPT.c.phone == phone,
            and_(ATTEMPT.c.answered_at.is_not(None), ATTEMPT.c.answered_at > since),
            ATTEMPT.c.amd_result.is_distinct_from("machine"),
        )
    )
    contacts = [t for (t,) in calls.all()] + [t for _, t in await sent_sms(conn, [phone], since)]
    until = cap_ends(contacts, caps, now)
    if until is None:
        return None
    return until, "waits: the project's contact caps for this number are used up until then"
