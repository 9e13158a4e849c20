"""Storage: SQLModel tables on SQLAlchemy's asyncio engine, migrated by Alembic.

SQLite (the embedded default) is opened in WAL mode with foreign keys enforced and a busy timeout, so
the web server and the dialer core can read while one of them writes. PostgreSQL (asyncpg) is used when
the configuration gives a URL.
"""

from dialer.storage.engine import create_engine, reading, writing
from dialer.storage.migrate import (
    current_revision,
    downgrade,
    ensure_migrated,
    head_revision,
    upgrade,
)

__all__ = [
    "create_engine",
    "current_revision",
    "downgrade",
    "ensure_migrated",
    "head_revision",
    "reading",
    "upgrade",
    "writing",
]
