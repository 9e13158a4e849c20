"""What an operator has typed for a call and not yet saved as its outcome: the script inputs, the
CRM field values, the notes and the outcome chosen. Saved every few seconds and after every answer,
keyed by the call, so that a reload, a lost network or a restart of the server loses nothing; dropped
once the outcome is recorded."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.storage.tables import WORKPLACE_DRAFT
from dialer.storage.types import utcnow

MAX_BYTES = 200_000  # a draft larger than this is refused (a runaway client, not a person typing)


async def load(conn: AsyncConnection, call_id: str, operator: str) -> dict[str, Any]:
    """The operator's draft for the call (empty when none)."""
    found = (
        await conn.execute(
            select(WORKPLACE_DRAFT.c.body).where(
                WORKPLACE_DRAFT.c.call_id == call_id, WORKPLACE_DRAFT.c.operator == operator
            )
        )
    ).scalar()
    return dict(found) if found else {}


async def save(
    conn: AsyncConnection,
    call_id: str,
    operator: str,
    lead_id: int,
    body: dict[str, Any],
    *,
    now: datetime | None = None,
) -> None:
    """Replace the draft of the call (written in the caller's transaction)."""
    values = {"body": body, "updated_at": now or utcnow()}
    key = (WORKPLACE_DRAFT.c.call_id == call_id) & (WORKPLACE_DRAFT.c.operator == operator)
    changed = await conn.execute(update(WORKPLACE_DRAFT).where(key).values(**values))
    if changed.rowcount:
        return
    try:
        async with conn.begin_nested():
            await conn.execute(
                insert(WORKPLACE_DRAFT).values(call_id=call_id, operator=operator, lead_id=lead_id, **values)
            )
    except IntegrityError:  # two saves raced: the other inserted it first
        await conn.execute(update(WORKPLACE_DRAFT).where(key).values(**values))


async def drop(conn: AsyncConnection, call_id: str) -> None:
    await conn.execute(delete(WORKPLACE_DRAFT).where(WORKPLACE_DRAFT.c.call_id == call_id))
