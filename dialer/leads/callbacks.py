"""An operator's own callbacks: the leads pinned to them with a time to call back, soonest first."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.leads.schema import LeadStatus
from dialer.storage.tables import LEAD, PROJECT


@dataclass(frozen=True)
class Callback:
    lead_id: int
    project: str  # slug
    project_name: str
    project_zone: str
    external_id: str
    name: str | None
    at: datetime
    time_zone: str | None  # the client's zone, when the lead has one

    def overdue(self, now: datetime) -> bool:
        return self.at < now


async def pinned_to(
    conn: AsyncConnection, login: str, project_ids: Collection[int], *, limit: int = 200
) -> list[Callback]:
    """The callbacks pinned to ``login`` in ``project_ids``, soonest first."""
    if not project_ids:
        return []
    rows = await conn.execute(
        select(LEAD.c.id, PROJECT.c.slug, PROJECT.c.name.label("project_name"), PROJECT.c.time_zone,
               LEAD.c.external_id, LEAD.c.name,
               LEAD.c.callback_at, LEAD.c.time_zone.label("lead_zone"))
        .join(PROJECT, PROJECT.c.id == LEAD.c.project_id)
        .where(LEAD.c.pinned_operator == login, LEAD.c.status == LeadStatus.CALLBACK.value,
               LEAD.c.project_id.in_(list(project_ids)), LEAD.c.callback_at.is_not(None))
        .order_by(LEAD.c.callback_at)
        .limit(limit)
    )  # fmt: skip
    return [Callback(*row) for row in rows.all()]
