"""What every ``dialer`` command shares: the loaded configuration and running database work."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import typer
from alembic.util.exc import CommandError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.config import DatabaseSettings, Settings, load_settings
from dialer.errors import StorageError
from dialer.storage import create_engine, ensure_migrated

T = TypeVar("T")


@dataclass
class CliState:
    config_path: Path
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings


def state_of(ctx: typer.Context) -> CliState:
    state = ctx.find_object(CliState)
    assert state is not None
    return state


def with_database(db: DatabaseSettings, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``work`` on a fresh loop; turn driver and migration errors into one clear message."""
    try:
        return asyncio.run(work())
    except CommandError as exc:
        raise StorageError(f"migration failed on {db.display_url}: {exc}") from None
    except (SQLAlchemyError, OSError) as exc:
        reason = getattr(exc, "orig", None) or exc
        raise StorageError(f"database {db.display_url} cannot be used: {reason}") from None


def run_on_database(ctx: typer.Context, work: Callable[[AsyncEngine], Coroutine[Any, Any, T]]) -> T:
    """Run ``work`` with an engine on the configured, migrated database."""
    db = state_of(ctx).settings.database

    async def run() -> T:
        engine = create_engine(db)
        try:
            await ensure_migrated(engine, db.display_url)
            return await work(engine)
        finally:
            await engine.dispose()

    return with_database(db, run)
