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

from dialer.accounts.tokens import digest
from dialer.errors import DialerError
from dialer.storage.tables import OPERATOR, OPERATOR_SESSION
from dialer.storage.types import utcnow

PREFIX = "dlo_"


async def open_session(conn: AsyncConnection, login: str, *, seconds: float) -> tuple[str, datetime]:
    """A new token for the active operator ``login`` and when it expires; expired sessions go."""
    now = utcnow()
    found = (
        await conn.execute(
            select(OPERATOR.c.id).where(OPERATOR.c.login == login, OPERATOR.c.active.is_(True))
        )
    ).first()
    if found is None:
        raise DialerError(f"no active operator {login!r}")
    await conn.execute(delete(OPERATOR_SESSION).where(OPERATOR_SESSION.c.expires_at <= now))
    token = PREFIX + secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=seconds)
    await conn.execute(
        insert(OPERATOR_SESSION).values(token_hash=digest(token), operator_id=found.id, expires_at=expires_at)
    )
    return token, expires_at


async def session_login(conn: AsyncConnection, token: str) -> tuple[str, datetime] | None:
    """The login a live token belongs to and when it expires; None for unknown, expired or
    deactivated."""
    query = (
        select(OPERATOR.c.login, OPERATOR_SESSION.c.expires_at)
        .join(OPERATOR, OPERATOR.c.id == OPERATOR_SESSION.c.operator_id)
        .where(OPERATOR_SESSION.c.token_hash == digest(token), OPERATOR_SESSION.c.expires_at > utcnow())
        .where(OPERATOR.c.active.is_(True))
    )
    row = (await conn.execute(query)).first()
    return None if row is None else (row.login, row.expires_at)
