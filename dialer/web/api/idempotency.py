"""``Idempotency-Key``: a retried POST gets the first answer again instead of acting twice.

Theory of operation
-------------------
The key is *claimed* before the work, in a transaction of its own: a row with status 0 ("in
progress") that the unique index on (project, key) lets only one request create, on SQLite and on
PostgreSQL alike. The request that claimed it does the work and, in the same transaction as the work,
turns the claim into the stored answer; so either both are kept or neither (a failed or refused work
gives the claim back, and a retry runs it again). Requests racing with the same key wait for that
answer and replay it (``Idempotent-Replayed: true``); after :data:`WAIT_SECONDS` they get 409 with
``Retry-After``. A key reused with a different request is refused (422) whether the first one is done
or still running. A claim left by a process killed mid-work is taken over after :data:`STALE`.
Answers are kept 24 hours.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dialer.accounts.projects import ProjectRef
from dialer.storage import reading, writing
from dialer.storage.tables import IDEMPOTENT_REQUEST
from dialer.storage.types import utcnow
from dialer.web.api.problems import ProblemError

KEEP = timedelta(hours=24)
STALE = timedelta(minutes=2)
WAIT_SECONDS = 15.0
IN_PROGRESS = 0
MAX_KEY = 200
Work = Callable[[AsyncConnection], Awaitable[tuple[int, str]]]


class _Busy:
    """The key is claimed by a request still at work."""


BUSY = _Busy()


def _fingerprint(request: web.Request, body: bytes) -> str:
    return hashlib.sha256(f"{request.method} {request.path}\n".encode() + body).hexdigest()


def _answer(row: Any, fingerprint: str) -> web.Response | _Busy:
    if row.fingerprint != fingerprint:
        raise ProblemError(422, "this Idempotency-Key was used for a different request; use a new key")
    if row.status == IN_PROGRESS:
        return BUSY
    return web.Response(
        text=row.body,
        status=row.status,
        content_type="application/json",
        headers={"Idempotent-Replayed": "true"},
    )


def _where(project: ProjectRef, key: str) -> Any:
    return (IDEMPOTENT_REQUEST.c.project_id == project.id) & (IDEMPOTENT_REQUEST.c.key == key)


async def _row(conn: AsyncConnection, project: ProjectRef, key: str) -> Any:
    """The key's stored row (answer or claim), or None."""
    query = select(
        IDEMPOTENT_REQUEST.c.fingerprint,
        IDEMPOTENT_REQUEST.c.status,
        IDEMPOTENT_REQUEST.c.body,
        IDEMPOTENT_REQUEST.c.created_at,
    )
    return (await conn.execute(query.where(_where(project, key)))).first()


async def _claim(
    engine: AsyncEngine, project: ProjectRef, key: str, fingerprint: str
) -> web.Response | _Busy | None:
    """Claim ``key`` (None), or what its holder has: a stored answer, or BUSY while it works."""
    now = utcnow()
    try:
        async with writing(engine) as conn:
            row = await _row(conn, project, key)
            if row is not None and row.created_at > now - KEEP:
                answer = _answer(row, fingerprint)
                if answer is not BUSY or row.created_at > now - STALE:
                    return answer
                # the claim of a process that died mid-work: take it over
                await conn.execute(
                    update(IDEMPOTENT_REQUEST).where(_where(project, key)).values(created_at=now)
                )
                return None
            if row is not None:
                await conn.execute(delete(IDEMPOTENT_REQUEST).where(_where(project, key)))
            await conn.execute(
                insert(IDEMPOTENT_REQUEST),
                [
                    {
                        "project_id": project.id,
                        "key": key,
                        "fingerprint": fingerprint,
                        "status": IN_PROGRESS,
                        "body": "",
                        "created_at": now,
                    }
                ],
            )
            return None
    except IntegrityError:  # another request claimed it between our read and our insert
        return BUSY


async def _release(engine: AsyncEngine, project: ProjectRef, key: str) -> None:
    async with writing(engine) as conn:
        await conn.execute(
            delete(IDEMPOTENT_REQUEST).where(
                _where(project, key) & (IDEMPOTENT_REQUEST.c.status == IN_PROGRESS)
            )
        )


async def _await_answer(
    engine: AsyncEngine, project: ProjectRef, key: str, fingerprint: str
) -> web.Response | None:
    """Wait for the request holding ``key``: its answer, or None when it gave the claim back."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    pause = 0.02
    while loop.time() < deadline:
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.25)
        async with reading(engine) as conn:
            row = await _row(conn, project, key)
        if row is None:
            return None
        answer = _answer(row, fingerprint)
        if isinstance(answer, web.Response):
            return answer
    raise ProblemError(
        409,
        "a request with this Idempotency-Key is still in progress; retry later",
        headers={"Retry-After": "2"},
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
    while True:
        claimed = await _claim(engine, project, key, fingerprint)
        if isinstance(claimed, web.Response):
            return claimed
        if claimed is None:
            break
        replay = await _await_answer(engine, project, key, fingerprint)
        if replay is not None:
            return replay
    try:
        async with writing(engine) as conn:
            status, text = await work(conn)
            await conn.execute(
                update(IDEMPOTENT_REQUEST)
                .where(_where(project, key))
                .values(status=status, body=text, created_at=utcnow())
            )
    except BaseException:
        # the work was rolled back: give the key back so a retry runs it (shielded: a cancelled
        # request must not leave its claim behind for the next two minutes)
        await asyncio.shield(_release(engine, project, key))
        raise
    return web.Response(text=text, status=status, content_type="application/json")
