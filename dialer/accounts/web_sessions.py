"""Web console sessions: a random cookie value (only its SHA-256 is stored) with its expiry and the
CSRF token every state-changing form carries; in the database, so a restart signs nobody out, and a
deactivated person's or a reset password's sessions end at once."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.accounts.people import Person, person_by
from dialer.accounts.tokens import digest
from dialer.storage.tables import OPERATOR, WEB_SESSION
from dialer.storage.types import utcnow

LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class WebSession:
    person: Person
    csrf: str
    expires_at: datetime

    def csrf_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.csrf.encode())


async def open_session(
    conn: AsyncConnection, person_id: int, *, address: str | None, now: datetime | None = None
) -> tuple[str, WebSession]:
    """A new session for the person: the cookie value (shown once) and the session."""
    now = now or utcnow()
    await conn.execute(delete(WEB_SESSION).where(WEB_SESSION.c.expires_at <= now))
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    expires_at = now + LIFETIME
    await conn.execute(
        insert(WEB_SESSION).values(
            token_hash=digest(token), operator_id=person_id, csrf=csrf, address=(address or "")[:64],
            created_at=now, expires_at=expires_at,
        )
    )  # fmt: skip
    return token, WebSession(await person_by(conn, person_id=person_id), csrf, expires_at)


async def session_of(conn: AsyncConnection, token: str, *, now: datetime | None = None) -> WebSession | None:
    """The live session of a cookie value; None when unknown, expired, or the person is inactive."""
    row = (
        await conn.execute(
            select(WEB_SESSION.c.operator_id, WEB_SESSION.c.csrf, WEB_SESSION.c.expires_at)
            .join(OPERATOR, OPERATOR.c.id == WEB_SESSION.c.operator_id)
            .where(WEB_SESSION.c.token_hash == digest(token), WEB_SESSION.c.expires_at > (now or utcnow()))
            .where(OPERATOR.c.active.is_(True))
        )
    ).first()
    if row is None:
        return None
    return WebSession(await person_by(conn, person_id=row.operator_id), row.csrf, row.expires_at)


async def close_session(conn: AsyncConnection, token: str) -> None:
    await conn.execute(delete(WEB_SESSION).where(WEB_SESSION.c.token_hash == digest(token)))


async def close_everywhere(conn: AsyncConnection, person_id: int) -> int:
    """Sign the person out of every browser; returns how many sessions ended."""
    result = await conn.execute(delete(WEB_SESSION).where(WEB_SESSION.c.operator_id == person_id))
    return int(result.rowcount or 0)
