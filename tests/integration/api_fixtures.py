"""A migrated SQLite database with two projects and a token each, and the app served on loopback."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.config import DatabaseSettings, Settings
from dialer.storage import create_engine, upgrade, writing
from dialer.storage.models import Project
from dialer.storage.types import utcnow
from dialer.tokens import create_token


@dataclass
class Tenants:
    settings: Settings
    token: str  # project "loans"
    other_token: str  # project "cards"

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}


async def make_tenants(tmp_path: Path) -> Tenants:
    settings = Settings(database=DatabaseSettings(path=tmp_path / "db" / "dialer.sqlite3"))
    engine = create_engine(settings.database)
    try:
        await upgrade(engine)
        tokens = [await _project(engine, slug, region) for slug, region in (("loans", "RU"), ("cards", "US"))]
    finally:
        await engine.dispose()
    return Tenants(settings, *tokens)


async def _project(engine: AsyncEngine, slug: str, region: str) -> str:
    async with writing(engine) as conn:
        result = await conn.execute(
            insert(Project.__table__),  # type: ignore[attr-defined]
            [
                {
                    "slug": slug,
                    "name": slug.title(),
                    "region": region,
                    "time_zone": "Europe/Moscow",
                    "calling_window": "ru-230fz",
                    "holidays": [],
                    "created_at": utcnow(),
                }
            ],
        )
        project_id = result.inserted_primary_key[0]
        return await create_token(conn, project_id, "test")
