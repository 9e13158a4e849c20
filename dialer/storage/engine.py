"""Creating the asyncio engine for the configured backend, and its two kinds of transaction.

SQLite under WAL has one writer. A transaction that reads, then writes, would fail with "database is
locked" (no wait) when another connection wrote in between, so on SQLite every transaction opened with
:func:`writing` starts with ``BEGIN IMMEDIATE`` (waits up to the busy timeout for the write lock, then
has a stable view). :func:`reading` starts a plain deferred transaction that never blocks writers.
PostgreSQL needs neither; both are ordinary transactions there.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from dialer.config import DatabaseSettings

_READ_ONLY = "dialer_read_only"


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
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)

    @event.listens_for(engine.sync_engine, "begin")
    def _sqlite_begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


_WRITERS: weakref.WeakKeyDictionary[Engine, asyncio.Lock] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def writing(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction that may write; committed on success, rolled back on error.

    On SQLite the writers of this process also queue on an asyncio lock: SQLite's own busy handler
    waits by sleeping (up to 100 ms a try), which under concurrent requests costs far more than
    waiting in line; other processes still meet the busy timeout.
    """
    if engine.dialect.name != "sqlite":
        async with engine.begin() as conn:
            yield conn
        return
    lock = _WRITERS.setdefault(engine.sync_engine, asyncio.Lock())
    async with lock, engine.begin() as conn:
        yield conn


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A read-only transaction that does not take SQLite's write lock."""
    async with engine.connect() as conn:
        await conn.execution_options(**{_READ_ONLY: True})
        async with conn.begin():
            yield conn
