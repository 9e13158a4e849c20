"""API tokens: random secrets shown once, stored only as SHA-256, scoped to one project.

A token is 32 random bytes, so a fast hash is the right tool (argon2 is for passwords people choose):
looking one up costs one indexed query per request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.storage.models import ApiToken, Project
from dialer.storage.types import utcnow

PREFIX = "dlr_"
TOKENS = ApiToken.__table__  # type: ignore[attr-defined]
PROJECTS = Project.__table__  # type: ignore[attr-defined]


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


async def create_token(conn: AsyncConnection, project_id: int, name: str) -> str:
    """Store a new token for the project and return it; it cannot be shown again."""
    token = PREFIX + secrets.token_urlsafe(32)
    await conn.execute(
        insert(TOKENS),
        [
            {
                "project_id": project_id,
                "name": name,
                "token_hash": digest(token),
                "prefix": token[:10],
                "created_at": utcnow(),
            }
        ],
    )
    return token


async def owner_of(conn: AsyncConnection, token: str) -> TokenOwner | None:
    """The project a live token opens, or None for an unknown or revoked token."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    tokens, projects = TOKENS.c, PROJECTS.c
    row = (
        await conn.execute(
            select(tokens.id, tokens.project_id, projects.slug, projects.region, projects.webhook_url)
            .join(PROJECTS, projects.id == tokens.project_id)
            .where(tokens.token_hash == digest(token), tokens.revoked_at.is_(None))
        )
    ).first()
    return None if row is None else TokenOwner(*row)
