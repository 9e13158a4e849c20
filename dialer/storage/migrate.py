"""Running Alembic migrations on the application's own engine.

Alembic runs synchronously; it is given a sync connection from inside ``AsyncConnection.run_sync``
(the Alembic cookbook's asyncio recipe), so the same code migrates SQLite and PostgreSQL and works both
from the CLI and from tests that already run an event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.errors import DatabaseNotMigrated

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations (no ``alembic.ini`` needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations directory has no revisions"
    return head


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None for a database never migrated."""

    def read(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(read)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema up to ``revision``."""
    await _run(engine, lambda cfg: command.upgrade(cfg, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Take the schema down to ``revision`` (``base`` removes every table)."""
    await _run(engine, lambda cfg: command.downgrade(cfg, revision))


async def ensure_migrated(engine: AsyncEngine, where: str) -> None:
    """Raise :class:`DatabaseNotMigrated` unless the schema is exactly at the head revision."""
    current = await current_revision(engine)
    head = head_revision()
    if current != head:
        raise DatabaseNotMigrated(where, current, head)


async def _run(engine: AsyncEngine, step: Callable[[Config], None]) -> None:
    cfg = alembic_config()

    def in_sync(conn: Connection) -> None:
        cfg.attributes["connection"] = conn
        step(cfg)

    async with engine.begin() as conn:
        await conn.run_sync(in_sync)
