"""Creating a project (a tenant) with its calling rules and webhook."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.errors import DialerError
from dialer.leads.store import ProjectRef, project_by_slug
from dialer.storage.models import Project
from dialer.storage.types import utcnow

TABLE = Project.__table__  # type: ignore[attr-defined]


async def create_project(
    conn: AsyncConnection,
    slug: str,
    *,
    name: str | None = None,
    region: str = "RU",
    time_zone: str = "Europe/Moscow",
    window: str = "ru-230fz",
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
) -> ProjectRef:
    """Insert the project (values already validated); :class:`DialerError` when the slug is taken."""
    if await project_by_slug(conn, slug) is not None:
        raise DialerError(f"project {slug!r} already exists")
    await conn.execute(
        insert(TABLE),
        [
            {
                "slug": slug,
                "name": name or slug,
                "region": region.upper(),
                "time_zone": time_zone,
                "calling_window": window,
                "holidays": [],
                "webhook_url": webhook_url,
                "webhook_secret": webhook_secret,
                "created_at": utcnow(),
            }
        ],
    )
    project = await project_by_slug(conn, slug)
    assert project is not None
    return project
