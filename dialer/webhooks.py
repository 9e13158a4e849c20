"""Webhooks: lead status changes POSTed to the project's URL, signed, retried, never lost.

Theory of operation
-------------------
Status changes write a row into ``webhook_delivery`` in the same transaction as the change itself
(an outbox), so a crash can lose neither. :class:`WebhookSender` claims due rows (pushing their next
try a minute ahead, with ``SKIP LOCKED`` on PostgreSQL so that several dialer processes share the
work), POSTs each one and marks it delivered on a 2xx answer; otherwise it retries with exponential
backoff (5 s doubling, at most an hour, with jitter) for as long as it takes. Delivery is *at least
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
from datetime import datetime, timedelta

import aiohttp
import structlog
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.storage import writing
from dialer.storage.tables import PROJECT, WEBHOOK_DELIVERY
from dialer.storage.types import utcnow

log = structlog.get_logger(__name__)
CLAIM = timedelta(seconds=60)
FIRST_RETRY = 5.0
MAX_RETRY = 3600.0
TIMEOUT = aiohttp.ClientTimeout(total=10)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Dialer-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def retry_delay(tries: int, rng: random.Random) -> float:
    """Seconds before try number ``tries + 1``: 5 s doubling up to an hour, +-20 % jitter."""
    base = min(MAX_RETRY, FIRST_RETRY * 2.0 ** min(max(0, tries - 1), 20))
    return float(base * rng.uniform(0.8, 1.2))


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
        self._rng = rng or random.Random()
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
        async with writing(self._engine) as conn:
            query = (
                select(
                    WEBHOOK_DELIVERY.c.id,
                    WEBHOOK_DELIVERY.c.payload,
                    WEBHOOK_DELIVERY.c.tries,
                    PROJECT.c.webhook_url,
                    PROJECT.c.webhook_secret,
                )
                .join(PROJECT, PROJECT.c.id == WEBHOOK_DELIVERY.c.project_id)
                .where(WEBHOOK_DELIVERY.c.delivered_at.is_(None), WEBHOOK_DELIVERY.c.next_try_at <= now)
                .order_by(WEBHOOK_DELIVERY.c.id)
                .limit(self._batch)
            )
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=WEBHOOK_DELIVERY)
            due = (await conn.execute(query)).all()
            if due:
                await conn.execute(
                    update(WEBHOOK_DELIVERY)
                    .where(WEBHOOK_DELIVERY.c.id.in_([d.id for d in due]))
                    .values(next_try_at=now + CLAIM)
                )
        results = await asyncio.gather(
            *(self._post(d.id, d.payload, d.webhook_url, d.webhook_secret) for d in due)
        )
        done = [{"_id": d.id} for d, error in zip(due, results, strict=True) if error is None]
        failed = [
            {
                "_id": d.id,
                "_tries": d.tries + 1,
                "_next": now + timedelta(seconds=retry_delay(d.tries + 1, self._rng)),
                "_error": error[:500],
            }
            for d, error in zip(due, results, strict=True)
            if error is not None
        ]
        if done or failed:
            async with writing(self._engine) as conn:
                if done:
                    await conn.execute(
                        update(WEBHOOK_DELIVERY)
                        .where(WEBHOOK_DELIVERY.c.id == bindparam("_id"))
                        .values(delivered_at=self._clock()),
                        done,
                    )
                if failed:
                    await conn.execute(
                        update(WEBHOOK_DELIVERY)
                        .where(WEBHOOK_DELIVERY.c.id == bindparam("_id"))
                        .values(
                            tries=bindparam("_tries"),
                            next_try_at=bindparam("_next"),
                            last_error=bindparam("_error"),
                        ),
                        failed,
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
