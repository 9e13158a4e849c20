"""API tokens: random secrets shown once, stored only as SHA-256, scoped to one project.

A token is 32 random bytes, so a fast hash is the right tool (argon2 is for passwords people choose):
looking one up costs one indexed query per request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.errors import DialerError
from dialer.storage.tables import API_TOKEN, PROJECT
from dialer.storage.types import utcnow

PREFIX = "dlr_"
PREFIX_SHOWN = 10  # characters of a token kept in clear, to tell tokens apart in lists


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenOwner:
    """Who a presented token belongs to: its project, with what requests need to know of it."""

    token_id: int
    project_id: int
    project_slug: str
    region: str
    webhook_url: str | None
    vanity_numbers: bool = False


async def create_token(conn: AsyncConnection, project_id: int, name: str) -> str:
    """Store a new token for the project and return it; it cannot be shown again."""
    token = PREFIX + secrets.token_urlsafe(32)
    await conn.execute(
        insert(API_TOKEN),
        [
            {
                "project_id": project_id,
                "name": name,
                "token_hash": digest(token),
                "prefix": token[:PREFIX_SHOWN],
                "created_at": utcnow(),
            }
        ],
    )
    return token


async def owner_of(conn: AsyncConnection, token: str) -> TokenOwner | None:
    """The project a live token opens, or None for an unknown or revoked token."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    tokens, projects = API_TOKEN.c, PROJECT.c
    row = (
        await conn.execute(
            select(
                tokens.id,
                tokens.project_id,
                projects.slug,
                projects.region,
                projects.webhook_url,
                projects.vanity_numbers,
            )
            .join(PROJECT, projects.id == tokens.project_id)
            .where(tokens.token_hash == digest(token), tokens.revoked_at.is_(None))
        )
    ).first()
    return None if row is None else TokenOwner(*row)


@dataclass(frozen=True)
class TokenInfo:
    """A token as lists show it: never the secret, only its first characters."""

    prefix: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


async def list_tokens(conn: AsyncConnection, project_id: int) -> list[TokenInfo]:
    rows = await conn.execute(
        select(API_TOKEN.c.prefix, API_TOKEN.c.name, API_TOKEN.c.created_at, API_TOKEN.c.revoked_at)
        .where(API_TOKEN.c.project_id == project_id)
        .order_by(API_TOKEN.c.created_at)
    )
    return [TokenInfo(*row) for row in rows.all()]


async def revoke(conn: AsyncConnection, project_id: int, token_or_prefix: str) -> int:
    """Revoke the project's live tokens matching the whole token or the prefix `token list` shows;
    how many were revoked."""
    if len(token_or_prefix) > PREFIX_SHOWN:
        match = API_TOKEN.c.token_hash == digest(token_or_prefix)
    elif len(token_or_prefix) >= len(PREFIX) + 4:
        match = API_TOKEN.c.prefix.startswith(token_or_prefix, autoescape=True)
    else:
        raise DialerError(f"give at least {len(PREFIX) + 4} characters of the token (as `token list` shows)")
    result = await conn.execute(
        update(API_TOKEN)
        .where(API_TOKEN.c.project_id == project_id, match, API_TOKEN.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount)
