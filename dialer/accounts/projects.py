"""Projects (tenants): what every operation needs to know about one, finding one by slug, creating one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.errors import DialerError
from dialer.storage.tables import PROJECT
from dialer.storage.types import utcnow


@dataclass(frozen=True)
class ProjectRef:
    """What operations on a project's leads, campaigns and calls need to know about the project."""

    id: int
    slug: str
    region: str
    webhook_url: str | None
    vanity_numbers: bool = False
    dial_extensions: bool = False


async def project_by_slug(conn: AsyncConnection, slug: str) -> ProjectRef | None:
    row = (
        await conn.execute(
            select(
                PROJECT.c.id,
                PROJECT.c.slug,
                PROJECT.c.region,
                PROJECT.c.webhook_url,
                PROJECT.c.vanity_numbers,
            ).where(PROJECT.c.slug == slug)
        )
    ).first()
    return None if row is None else ProjectRef(*row)


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
        insert(PROJECT),
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
