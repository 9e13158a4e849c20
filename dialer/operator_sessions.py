"""Operators' workplace sessions: a bearer token per login, stored as SHA-256 with its expiry, so a
restart of the server (or another server on the same database) keeps everyone logged in.

The web layer keeps the sessions it has seen in memory and asks the database only for tokens it does
not know; a deactivated operator's sessions stop working at the next lookup.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.errors import DialerError
from dialer.operators import OPERATORS
from dialer.storage.models import OperatorSession
from dialer.storage.types import utcnow
from dialer.tokens import digest

PREFIX = "dlo_"
SESSIONS = OperatorSession.__table__  # type: ignore[attr-defined]


async def open_session(conn: AsyncConnection, login: str, *, seconds: float) -> tuple[str, datetime]:
    """A new token for the active operator ``login`` and when it expires; expired sessions go."""
    now = utcnow()
    found = (
        await conn.execute(
            select(OPERATORS.c.id).where(OPERATORS.c.login == login, OPERATORS.c.active.is_(True))
        )
    ).first()
    if found is None:
        raise DialerError(f"no active operator {login!r}")
    await conn.execute(delete(SESSIONS).where(SESSIONS.c.expires_at <= now))
    token = PREFIX + secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=seconds)
    await conn.execute(
        insert(SESSIONS).values(token_hash=digest(token), operator_id=found.id, expires_at=expires_at)
    )
    return token, expires_at


async def session_login(conn: AsyncConnection, token: str) -> tuple[str, datetime] | None:
    """The login a live token belongs to and when it expires; None for unknown, expired or
    deactivated."""
    query = (
        select(OPERATORS.c.login, SESSIONS.c.expires_at)
        .join(OPERATORS, OPERATORS.c.id == SESSIONS.c.operator_id)
        .where(SESSIONS.c.token_hash == digest(token), SESSIONS.c.expires_at > utcnow())
        .where(OPERATORS.c.active.is_(True))
    )
    row = (await conn.execute(query)).first()
    return None if row is None else (row.login, row.expires_at)
