"""Today's running totals for the wall-board: the project's local day so far, one query."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.storage.tables import ATTEMPT
from dialer.storage.types import utcnow
from reports.period import midnight
from reports.scope import Scope
from reports.shape import Kind, share


async def today_figures(
    conn: AsyncConnection, scope: Scope, now: datetime | None = None
) -> dict[str, tuple[Any, Kind]]:
    now = now or utcnow()
    start = midnight(now.astimezone(scope.zone).date(), scope.zone)
    calls, answered, talked, abandoned, won, cost = (await conn.execute(
        select(func.count(), func.count(ATTEMPT.c.answered_at),
               func.count().filter(ATTEMPT.c.outcome == "human"),
               func.count().filter(ATTEMPT.c.abandoned.is_(True)),
               func.count().filter(ATTEMPT.c.success.is_(True)), func.coalesce(func.sum(ATTEMPT.c.cost), 0))
        .where(ATTEMPT.c.campaign_id.in_(list(scope.campaigns)), ATTEMPT.c.started_at >= start)
    )).one()  # fmt: skip
    return {
        "today_calls": (calls, Kind.COUNT),
        "today_answer_rate": (share(answered, calls), Kind.SHARE),
        "today_abandon_rate": (share(abandoned, talked + abandoned), Kind.SHARE),
        "today_successes": (won, Kind.COUNT),
        "today_cost": (Decimal(str(cost)), Kind.MONEY),
    }
