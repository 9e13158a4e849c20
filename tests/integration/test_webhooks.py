"""Webhooks to a real HTTP receiver on loopback: signed, retried with backoff, kept across restarts."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import insert, select

from dialer.accounts.projects import create_project
from dialer.config import DatabaseSettings
from dialer.leads import store
from dialer.storage import create_engine, reading, upgrade, writing
from dialer.storage.models import WebhookDelivery
from dialer.storage.outbox import retry_delay
from dialer.webhooks import WebhookSender, signature

SECRET = "s3cret"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def receiver(aiohttp_server):
    """A lender's endpoint that fails the first two calls, then accepts; it checks the signature."""
    seen: list[dict] = []
    answers = [500, 503]

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        stamp = int(request.headers["X-Dialer-Timestamp"])
        valid = request.headers["X-Dialer-Signature"] == signature(SECRET, stamp, body)
        seen.append(
            {"body": json.loads(body), "valid": valid, "delivery": request.headers["X-Dialer-Delivery"]}
        )
        return web.Response(status=answers.pop(0) if answers else 204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = await aiohttp_server(app)
    return server, seen


async def test_status_change_is_signed_retried_and_survives_a_restart(receiver, tmp_path: Path) -> None:
    server, seen = receiver
    engine = create_engine(DatabaseSettings(path=tmp_path / "db.sqlite3"))
    clock = Clock()
    try:
        await upgrade(engine)
        async with writing(engine) as conn:
            project = await create_project(
                conn, "loans", webhook_url=str(server.make_url("/hook")), webhook_secret=SECRET
            )
            await store.upsert_many(
                conn, project, [{"external_id": "A-1", "phones": ["+79123456789"]}], now=clock.now
            )
            await store.cancel(conn, project, "A-1", now=clock.now)

        async with aiohttp.ClientSession() as session:
            first = WebhookSender(engine, session, clock=clock, rng=random.Random(1))
            assert await first.deliver_due() == 1  # answered 500
            assert await first.deliver_due() == 0  # not due again yet
        # The process "restarts": a new sender on the same database picks the delivery up when due.
        async with aiohttp.ClientSession() as session:
            second = WebhookSender(engine, session, clock=clock, rng=random.Random(2))
            clock.now += timedelta(seconds=7)
            assert await second.deliver_due() == 1  # answered 503
            clock.now += timedelta(seconds=13)
            assert await second.deliver_due() == 1  # accepted
            clock.now += timedelta(hours=2)
            assert await second.deliver_due() == 0
        async with reading(engine) as conn:
            row = (await conn.execute(select(WebhookDelivery.__table__))).one()
    finally:
        await engine.dispose()

    assert len(seen) == 3
    assert all(s["valid"] for s in seen)
    assert {s["delivery"] for s in seen} == {str(row.id)}
    body = seen[0]["body"]
    assert (body["event"], body["external_id"], body["from"], body["to"]) == (
        "lead.status_changed",
        "A-1",
        "new",
        "cancelled",
    )
    assert row.delivered_at is not None and row.tries == 2 and row.last_error == "HTTP 503"


async def test_unreachable_receiver_is_retried_with_growing_delays(tmp_path: Path) -> None:
    engine = create_engine(DatabaseSettings(path=tmp_path / "db.sqlite3"))
    clock = Clock()
    try:
        await upgrade(engine)
        async with writing(engine) as conn:
            await create_project(conn, "loans", webhook_url="http://127.0.0.1:9/nothing-listens-here")
            await conn.execute(
                insert(WebhookDelivery.__table__),
                [
                    {
                        "project_id": 1,
                        "payload": {"event": "x"},
                        "tries": 0,
                        "next_try_at": clock.now,
                        "created_at": clock.now,
                    }
                ],
            )
        gaps = []
        async with aiohttp.ClientSession() as session:
            sender = WebhookSender(engine, session, clock=clock, rng=random.Random(3))
            for _ in range(4):
                assert await sender.deliver_due() == 1
                async with reading(engine) as conn:
                    row = (await conn.execute(select(WebhookDelivery.__table__))).one()
                gaps.append((row.next_try_at - clock.now).total_seconds())
                clock.now = row.next_try_at
        assert row.delivered_at is None and "ClientConnectorError" in row.last_error
        assert gaps == sorted(gaps) and gaps[0] >= 4 and gaps[-1] >= 4 * 8 * 0.8
    finally:
        await engine.dispose()
    assert retry_delay(40, random.Random(0)) <= 3600 * 1.2
