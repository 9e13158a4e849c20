"""Webhooks: lead status changes POSTed to the project's URL, signed, retried, never lost.

Theory of operation
-------------------
Status changes write a row into ``webhook_delivery`` in the same transaction as the change itself
(an outbox, :mod:`dialer.storage.outbox`), so a crash can lose neither. :class:`WebhookSender`
claims due rows (pushing their next try a minute ahead, with ``SKIP LOCKED`` on PostgreSQL so that
several dialer processes share the work), POSTs each one and marks it delivered on a 2xx answer;
otherwise it retries with exponential backoff (5 s doubling, at most an hour, with jitter) for as
long as it takes. Delivery is *at least
once*: receivers deduplicate on ``X-Dialer-Delivery``.

Signature: ``X-Dialer-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the project's
webhook secret>`` and ``X-Dialer-Timestamp`` (Unix seconds), so a receiver can refuse replays.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

import aiohttp
import structlog
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dialer.storage.outbox import Outbox
from dialer.storage.tables import PROJECT, WEBHOOK_DELIVERY
from dialer.storage.types import utcnow

log = structlog.get_logger(__name__)
TIMEOUT = aiohttp.ClientTimeout(total=10)


async def queue_webhook(
    conn: AsyncConnection, project_id: int, payload: dict[str, Any], now: datetime
) -> None:
    """Put one event into the project's webhook outbox (in the caller's transaction)."""
    row = {"project_id": project_id, "payload": payload, "tries": 0, "next_try_at": now, "created_at": now}
    await conn.execute(insert(WEBHOOK_DELIVERY), [row])


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Dialer-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookSender:
    """Delivers the outbox; :meth:`run` until stopped, or :meth:`deliver_due` once (tests)."""

    def __init__(
        self,
        engine: AsyncEngine,
        session: aiohttp.ClientSession,
        *,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        batch: int = 50,
    ) -> None:
        self._engine = engine
        self._session = session
        self._clock = clock
        self._outbox = Outbox(WEBHOOK_DELIVERY, rng=rng or random.Random())
        self._batch = batch

    async def run(self, stop: asyncio.Event, *, idle: float = 1.0) -> None:
        """Deliver until ``stop`` is set; sleeps ``idle`` seconds when nothing is due."""
        while not stop.is_set():
            try:
                sent = await self.deliver_due()
            except Exception:  # a database hiccup must not end webhook delivery for good
                log.exception("webhook delivery pass failed; retrying")
                sent = 0
            if not sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), idle)

    async def deliver_due(self) -> int:
        """Claim and try every due delivery once; returns how many were tried."""
        now = self._clock()
        project = (PROJECT, PROJECT.c.id == WEBHOOK_DELIVERY.c.project_id)
        wanted = (WEBHOOK_DELIVERY.c.payload, PROJECT.c.webhook_url, PROJECT.c.webhook_secret)
        due = await self._outbox.claim(self._engine, now, self._batch, *wanted, join=project)
        results = await asyncio.gather(
            *(self._post(d.id, d.payload, d.webhook_url, d.webhook_secret) for d in due)
        )
        await self._outbox.settle(
            self._engine, now, list(zip(due, results, strict=True)), delivered_at=self._clock()
        )
        return len(due)

    async def _post(
        self, delivery_id: int, payload: dict[str, object], url: str | None, secret: str | None
    ) -> str | None:
        """None when delivered, else what went wrong."""
        if not url:
            return "the project has no webhook URL (set one to receive these)"
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = int(self._clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            "X-Dialer-Event": str(payload.get("event", "")),
            "X-Dialer-Delivery": str(delivery_id),
            "X-Dialer-Timestamp": str(timestamp),
        }
        if secret:
            headers["X-Dialer-Signature"] = signature(secret, timestamp, body)
        try:
            async with self._session.post(url, data=body, headers=headers, timeout=TIMEOUT) as response:
                if 200 <= response.status < 300:
                    return None
                return f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"{type(exc).__name__}: {exc}"
