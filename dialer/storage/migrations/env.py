"""Alembic environment.

``dialer migrate`` hands us a sync connection in ``config.attributes["connection"]``. Run by hand
(``alembic -c alembic.ini revision --autogenerate -m ...`` from the repository root), we open the
database named by the dialer's own configuration (``DIALER_CONFIG``, default ``config.toml``).
"""

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import dialer.storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)

target_metadata = SQLModel.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copy-and-move
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_settings() -> None:
    from dialer.config import load_settings
    from dialer.storage.engine import create_engine

    settings = load_settings(os.environ.get("DIALER_CONFIG", "config.toml"))
    engine = create_engine(settings.database)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `dialer migrate`")

shared = context.config.attributes.get("connection")
if shared is not None:
    run_migrations(shared)
else:
    asyncio.run(run_from_settings())
