"""A migrated SQLite database with two projects and a token each, and the app served on loopback."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.config import DatabaseSettings, Settings
from dialer.projects import create_project
from dialer.storage import create_engine, upgrade, writing
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
        project = await create_project(conn, slug, name=slug.title(), region=region)
        return await create_token(conn, project.id, "test")
