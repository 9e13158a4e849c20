"""Finding leads for the console's list: filters a supervisor types, newest first, a page at a time.

Pages are cut by id (keyset: "older than the last one shown"), never by OFFSET, so the hundredth page
of a million leads costs what the first does; ``ix_lead_project_id_id`` serves the default order.
Name search matches a part of the name as typed, capitalised or in lower case (SQLite folds the case
of ASCII letters only, and Russian names are the rule here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.storage.tables import LEAD

PAGE = 50


@dataclass(frozen=True)
class LeadFilter:
    status: str | None = None
    phone: str | None = None  # digits anywhere in any of the lead's numbers
    external_id: str | None = None  # a prefix
    name: str | None = None
    campaign_id: int | None = None
    created_from: date | None = None
    created_to: date | None = None  # inclusive


async def search(
    conn: AsyncConnection, project_id: int, found: LeadFilter, *, before: int | None = None, limit: int = PAGE
) -> tuple[Sequence[Mapping[Any, Any]], int | None]:
    """A page of the project's leads matching ``found``, newest first, and the id to pass as
    ``before`` for the next page (None on the last)."""
    query = select(
        LEAD.c.id, LEAD.c.external_id, LEAD.c.name, LEAD.c.phones, LEAD.c.status, LEAD.c.attempts,
        LEAD.c.campaign_id, LEAD.c.created_at, LEAD.c.next_attempt_at, LEAD.c.pinned_operator,
    ).where(LEAD.c.project_id == project_id)  # fmt: skip
    if found.status:
        query = query.where(LEAD.c.status == found.status)
    if found.campaign_id is not None:
        query = query.where(LEAD.c.campaign_id == found.campaign_id)
    if found.external_id:  # a range, not LIKE: the (project_id, external_id) index serves it
        prefix = found.external_id
        query = query.where(LEAD.c.external_id >= prefix, LEAD.c.external_id < prefix + "\U0010ffff")
    digits = "".join(ch for ch in found.phone or "" if ch.isdigit())
    if digits:
        query = query.where(cast(LEAD.c.phones, String).contains(digits, autoescape=True))
    if found.name:
        typed = found.name.strip()
        forms = {typed, typed.lower(), typed[:1].upper() + typed[1:].lower()}
        query = query.where(or_(*(LEAD.c.name.contains(f, autoescape=True) for f in forms)))
    if found.created_from:
        query = query.where(LEAD.c.created_at >= datetime.combine(found.created_from, time(), tzinfo=UTC))
    if found.created_to:
        query = query.where(
            LEAD.c.created_at < datetime.combine(found.created_to + timedelta(days=1), time(), tzinfo=UTC)
        )
    if before is not None:
        query = query.where(LEAD.c.id < before)
    rows = (await conn.execute(query.order_by(LEAD.c.id.desc()).limit(limit + 1))).mappings().all()
    more = len(rows) > limit
    page = rows[:limit]
    return page, (page[-1]["id"] if more and page else None)
