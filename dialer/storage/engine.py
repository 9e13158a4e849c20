"""Creating the asyncio engine for the configured backend."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from dialer.config import DatabaseSettings


def create_engine(db: DatabaseSettings) -> AsyncEngine:
    """An engine for ``db``; for SQLite every new connection gets WAL, foreign keys and a busy timeout.

    The SQLite file's directory is created when missing, so a fresh checkout runs with no setup.
    """
    if not db.is_sqlite:
        return create_async_engine(
            db.sqlalchemy_url, echo=db.echo, pool_size=db.pool_size, pool_pre_ping=True
        )
    if not db.url:
        db.path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(db.sqlalchemy_url, echo=db.echo)
    busy_timeout_ms = db.busy_timeout_ms

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine
