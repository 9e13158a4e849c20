"""Do-not-call lists: per project, and global (``project_id`` null) for every project."""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.leads.schema import Phone
from dialer.storage.tables import DNC
from dialer.storage.types import utcnow


class DncIn(BaseModel):
    """Numbers to add to the project's list (any notation; stored in E.164)."""

    model_config = ConfigDict(extra="forbid")

    phones: list[Phone] = Field(min_length=1, max_length=10_000)
    reason: Annotated[str, StringConstraints(max_length=200)] | None = None


class DncAdded(BaseModel):
    added: int
    already_listed: int


class DncCheck(BaseModel):
    phone: str
    listed: bool
    scopes: list[str] = Field(description="'project' and/or 'global'")


async def add(
    conn: AsyncConnection, project_id: int | None, phones: Collection[str], reason: str | None
) -> DncAdded:
    """List ``phones`` (E.164) for the project, or globally when ``project_id`` is None."""
    scope = DNC.c.project_id.is_(None) if project_id is None else DNC.c.project_id == project_id
    unique = list(dict.fromkeys(phones))
    present: set[str] = set()
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        present.update(
            (await conn.execute(select(DNC.c.phone).where(scope, DNC.c.phone.in_(chunk)))).scalars()
        )
    new = [p for p in unique if p not in present]
    if new:
        now = utcnow()
        await conn.execute(
            insert(DNC),
            [{"project_id": project_id, "phone": p, "reason": reason, "created_at": now} for p in new],
        )
    return DncAdded(added=len(new), already_listed=len(unique) - len(new))


async def remove(conn: AsyncConnection, project_id: int | None, phone: str) -> bool:
    """Unlist the number in that scope; False when it was not listed there."""
    scope = DNC.c.project_id.is_(None) if project_id is None else DNC.c.project_id == project_id
    result = await conn.execute(delete(DNC).where(scope, DNC.c.phone == phone))
    return bool(result.rowcount)


async def listed(conn: AsyncConnection, project_id: int, phones: Collection[str]) -> dict[str, list[str]]:
    """For each listed number among ``phones``: the scopes it is listed in."""
    out: dict[str, list[str]] = {}
    rows = await conn.execute(
        select(DNC.c.phone, DNC.c.project_id).where(
            DNC.c.phone.in_(list(phones)),
            or_(DNC.c.project_id.is_(None), DNC.c.project_id == project_id),
        )
    )
    for phone, pid in rows.all():
        out.setdefault(phone, []).append("global" if pid is None else "project")
    return out
