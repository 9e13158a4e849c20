"""Migrations on both backends: round trip, no drift from the models, aware timestamps, refusal to
run on an unmigrated schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from dialer.config import DatabaseSettings
from dialer.errors import DatabaseNotMigrated
from dialer.storage import create_engine, current_revision, downgrade, ensure_migrated, head_revision, upgrade
from dialer.storage.models import Project


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> DatabaseSettings:
    if request.param == "sqlite":
        return DatabaseSettings(path=tmp_path / "db" / "dialer.sqlite3")
    return DatabaseSettings(url=request.getfixturevalue("postgres_url"))


@pytest.fixture
async def engine(database: DatabaseSettings):
    eng = create_engine(database)
    yield eng
    await eng.dispose()


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_round_trip_upgrade_downgrade_upgrade(engine: AsyncEngine) -> None:
    assert await current_revision(engine) is None
    await upgrade(engine)
    assert await current_revision(engine) == head_revision()
    assert "project" in await tables(engine)

    await downgrade(engine, "base")
    assert await current_revision(engine) is None
    assert await tables(engine) <= {"alembic_version"}

    await upgrade(engine)
    assert await current_revision(engine) == head_revision()
    assert "project" in await tables(engine)


async def test_migrations_match_the_models(engine: AsyncEngine) -> None:
    await upgrade(engine)

    def diff(conn) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_timestamps_come_back_aware_in_utc(engine: AsyncEngine) -> None:
    await upgrade(engine)
    created = datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=3)))
    async with AsyncSession(engine) as session:
        session.add(Project(slug="loans", name="Loans", created_at=created))
        await session.commit()
    async with AsyncSession(engine) as session:
        project = (await session.exec(select(Project).where(Project.slug == "loans"))).one()
    assert project.created_at == created
    assert project.created_at.tzinfo == UTC


async def test_unmigrated_database_is_refused_with_what_to_run(engine: AsyncEngine) -> None:
    with pytest.raises(DatabaseNotMigrated, match="run `dialer migrate`"):
        await ensure_migrated(engine, "test db")
    await upgrade(engine)
    await ensure_migrated(engine, "test db")


async def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(DatabaseSettings(path=tmp_path / "x.sqlite3", busy_timeout_ms=1234))
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 1234
    finally:
        await engine.dispose()
