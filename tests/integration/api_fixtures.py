"""A migrated SQLite database with two projects and a token each, and the app served on loopback."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer import campaigns
from dialer.accounts.operators import add_operator
from dialer.accounts.projects import ProjectRef, create_project
from dialer.accounts.tokens import create_token
from dialer.campaigns import CampaignIn
from dialer.config import DatabaseSettings, Settings, SipSettings
from dialer.leads import store
from dialer.storage import create_engine, upgrade, writing

OPS = "/api/v1/operators"


@dataclass
class Tenants:
    settings: Settings
    token: str  # project "loans"
    other_token: str  # project "cards"

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}


async def make_tenants(tmp_path: Path, database_url: str | None = None) -> Tenants:
    """Projects "loans" (RU) and "cards" (US) on SQLite under ``tmp_path``, or on ``database_url``."""
    database = (
        DatabaseSettings(url=database_url)
        if database_url
        else DatabaseSettings(path=tmp_path / "db" / "dialer.sqlite3")
    )
    settings = Settings(database=database, sip=SipSettings(enabled=False))
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


async def seed_campaign(
    engine: AsyncEngine,
    phones: list[str],
    *,
    now: datetime,
    settings: CampaignIn | None = None,
    time_zone: str | None = None,
) -> tuple[ProjectRef, int]:
    """Project "loans" (9-21 window), campaign "main", one lead L<i> per phone (in ``time_zone`` when
    given); returns (project, campaign id)."""
    async with writing(engine) as conn:
        project = await create_project(conn, "loans", window="daily-9-21")
        await campaigns.put(conn, project, "main", settings or CampaignIn())
        campaign_id = (await store.campaign_ids(conn, project.id))["main"]
        rows = [{"external_id": f"L{i}", "phones": [p], "campaign": "main"} for i, p in enumerate(phones)]
        if time_zone is not None:
            for row in rows:
                row["time_zone"] = time_zone
        result = await store.upsert_many(conn, project, rows, now=now)
    assert result.created == len(phones), result
    return project, campaign_id


async def with_operators(tenants: Tenants) -> None:
    """Operators anna and boris (passwords ``LOGIN-secret-1``) in project "loans"."""
    engine = create_engine(tenants.settings.database)
    try:
        async with writing(engine) as conn:
            await add_operator(conn, "anna", name="Anna", password="anna-secret-1", project_ids=[1])
            await add_operator(conn, "boris", name="Boris", password="boris-secret-1", project_ids=[1])
    finally:
        await engine.dispose()


async def session(client: TestClient, login: str, password: str) -> dict[str, str]:
    """Open an operator session; the Authorization header that carries it."""
    response = await client.post(f"{OPS}/{login}/session", json={"password": password})
    assert response.status == 201, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}
