"""The outbox: messages written in the same transaction as the change they tell of, delivered later,
at least once, by whichever process claims them first.

An outbox table has ``id``, ``tries``, ``next_try_at``, ``delivered_at`` (or another ``done``
column: set when the row needs no more tries) and ``last_error`` columns (``webhook_delivery``;
``message``, whose sender records its own outcomes instead of calling :meth:`Outbox.settle`).
:meth:`Outbox.claim` takes the due rows and pushes their next try ``claim_for`` ahead in one
transaction: on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so several processes share the work
without taking the same row; on SQLite the single writer queue serialises the claims. A process that
dies after claiming leaves the rows to be claimed again when the claim runs out (restart-safe).
:meth:`Outbox.settle` marks what was delivered and reschedules what failed with exponential backoff
(``first_retry`` doubling, at most ``max_retry``, +-20 % jitter so that a receiver that was down is
not hit by every retry at once).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.storage.engine import writing

CLAIM = timedelta(seconds=60)


def retry_delay(tries: int, rng: random.Random, *, first: float = 5.0, most: float = 3600.0) -> float:
    """Seconds before try number ``tries + 1``: ``first`` doubling up to ``most``, +-20 % jitter."""
    base = min(most, first * 2.0 ** min(max(0, tries - 1), 20))
    return float(base * rng.uniform(0.8, 1.2))


@dataclass
class Outbox:
    table: Table
    done: str = "delivered_at"
    claim_for: timedelta = CLAIM
    first_retry: float = 5.0
    max_retry: float = 3600.0
    rng: random.Random = field(default_factory=random.Random)

    async def claim(
        self,
        db: AsyncEngine,
        now: datetime,
        batch: int,
        *columns: Any,
        join: tuple[Table, ColumnElement[bool]] | None = None,
    ) -> Sequence[Row[Any]]:
        """Up to ``batch`` due rows, oldest first, claimed for ``claim_for``: each with ``id`` and
        ``tries``, the outbox's other ``columns`` asked for, and those of the ``join``ed table."""
        table = self.table
        query = select(table.c.id, table.c.tries, *columns)
        if join is not None:
            query = query.join(*join)
        query = (
            query.where(table.c[self.done].is_(None), table.c.next_try_at <= now)
            .order_by(table.c.id)
            .limit(batch)
        )
        async with writing(db) as conn:
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=table)
            due = (await conn.execute(query)).all()
            if due:
                await conn.execute(
                    update(table)
                    .where(table.c.id.in_([d.id for d in due]))
                    .values(next_try_at=now + self.claim_for)
                )
        return due

    async def settle(
        self,
        db: AsyncEngine,
        now: datetime,
        results: Sequence[tuple[Row[Any], str | None]],
        *,
        delivered_at: datetime | None = None,
    ) -> None:
        """Record each claimed row's try (claimed at ``now``): delivered at ``delivered_at`` (default
        ``now``) when its error is None, else to be tried again after a backoff."""
        table = self.table
        done = [{"_id": row.id} for row, error in results if error is None]
        failed = [
            {
                "_id": row.id,
                "_tries": row.tries + 1,
                "_next": now + timedelta(seconds=self.retry_delay(row.tries + 1)),
                "_error": error[:500],
            }
            for row, error in results
            if error is not None
        ]
        if not done and not failed:
            return
        async with writing(db) as conn:
            if done:
                await conn.execute(
                    update(table)
                    .where(table.c.id == bindparam("_id"))
                    .values({self.done: delivered_at or now}),
                    done,
                )
            if failed:
                values: dict[str, Any] = {"tries": bindparam("_tries"), "next_try_at": bindparam("_next"),
                          "last_error": bindparam("_error")}  # fmt: skip
                await conn.execute(
                    update(table).where(table.c.id == bindparam("_id")).values(**values), failed
                )

    def retry_delay(self, tries: int) -> float:
        return retry_delay(tries, self.rng, first=self.first_retry, most=self.max_retry)
