"""``Idempotency-Key``: a retried POST gets the first answer again instead of acting twice.

The stored answer is written in the same transaction as the work it describes, so either both are
kept or neither. A key reused with a different request is refused (422); keys are kept 24 hours.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dialer.leads.store import ProjectRef
from dialer.storage import reading, writing
from dialer.storage.models import IdempotentRequest
from dialer.storage.types import utcnow
from dialer.web.problems import ProblemError

TABLE = IdempotentRequest.__table__  # type: ignore[attr-defined]
KEEP = timedelta(hours=24)
MAX_KEY = 200
Work = Callable[[AsyncConnection], Awaitable[tuple[int, str]]]


def _fingerprint(request: web.Request, body: bytes) -> str:
    return hashlib.sha256(f"{request.method} {request.path}\n".encode() + body).hexdigest()


async def _replay(
    engine: AsyncEngine, project: ProjectRef, key: str, fingerprint: str
) -> web.Response | None:
    async with reading(engine) as conn:
        row = (
            await conn.execute(
                select(TABLE.c.fingerprint, TABLE.c.status, TABLE.c.body).where(
                    TABLE.c.project_id == project.id, TABLE.c.key == key, TABLE.c.created_at > utcnow() - KEEP
                )
            )
        ).first()
    if row is None:
        return None
    if row.fingerprint != fingerprint:
        raise ProblemError(422, "this Idempotency-Key was used for a different request; use a new key")
    return web.Response(
        text=row.body,
        status=row.status,
        content_type="application/json",
        headers={"Idempotent-Replayed": "true"},
    )


async def once(
    request: web.Request, engine: AsyncEngine, project: ProjectRef, body: bytes, work: Work
) -> web.Response:
    """Run ``work`` (returns status and JSON text) in a write transaction, at most once per key."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        async with writing(engine) as conn:
            status, text = await work(conn)
        return web.Response(text=text, status=status, content_type="application/json")
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise ProblemError(400, f"Idempotency-Key must be 1-{MAX_KEY} printable characters")
    fingerprint = _fingerprint(request, body)
    replay = await _replay(engine, project, key, fingerprint)
    if replay is not None:
        return replay
    now = utcnow()
    try:
        async with writing(engine) as conn:
            status, text = await work(conn)
            await conn.execute(delete(TABLE).where(TABLE.c.project_id == project.id, TABLE.c.key == key))
            await conn.execute(
                insert(TABLE),
                [
                    {
                        "project_id": project.id,
                        "key": key,
                        "fingerprint": fingerprint,
                        "status": status,
                        "body": text,
                        "created_at": now,
                    }
                ],
            )
    except IntegrityError:  # the same key won a race a moment ago: answer as it did
        replay = await _replay(engine, project, key, fingerprint)
        if replay is None:
            raise ProblemError(
                409, "a request with this Idempotency-Key is in progress; retry later"
            ) from None
        return replay
    return web.Response(text=text, status=status, content_type="application/json")
