"""Hourly sums of the calls, so a month of reports reads thousands of rows instead of a million.

Theory of operation
-------------------
:func:`refresh` (the server runs it every few minutes) sums the calls that started in each UTC hour
into ``call_hour`` (by campaign, trunk, tariff prefix, outcome and the leads' zone), ``operator_hour``
(talked calls by operator) and ``wait_hour`` (waits for an operator, in tenths of a second), and moves
the mark ``rollup_mark.until`` past those hours. An hour is summed once it ended ``SETTLE`` ago and no
call that started in it or after is still open (an outcome still owed keeps its call open), so a
summed hour never changes again. A report reads the sums for the hours before the mark and the calls
themselves after it (:func:`call_sums`, :func:`operator_sums`, :func:`wait_sums`): the same figures
either way, which the tests check. Zones whose offset is not whole hours (India, Nepal) read the calls
themselves by the minute, as do reports filtered to one operator's calls.

Whether an outcome asked for a callback is decided when its hour is summed, by the outcome codes
of the projects then.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import Integer, case, cast, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dialer.storage import reading, writing
from dialer.storage.tables import ATTEMPT, CALL_HOUR, LEAD, OPERATOR_HOUR, PROJECT, ROLLUP_MARK, WAIT_HOUR
from dialer.storage.types import utcnow
from dialer.workplace_settings import dispositions_of
from reports.query import attempts_in
from reports.scope import Scope
from reports.sql import bucket, bucket_instant, earlier, seconds_between, whole_hours

log = structlog.get_logger(__name__)
MARK = "calls"
SETTLE = timedelta(hours=1)
CHUNK = timedelta(days=1)  # hours summed in one transaction (a first run over a year does not block)
LONG_CALL = 300.0  # seconds: a call longer than this is "long" (the monthly targets count them)
WAIT_CAP = 600  # tenths: waits longer than a minute count as a minute


def hour_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H")


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


async def mark_of(conn: AsyncConnection) -> str | None:
    return (await conn.execute(select(ROLLUP_MARK.c.until).where(ROLLUP_MARK.c.name == MARK))).scalar()


async def _callback_codes(conn: AsyncConnection) -> list[str]:
    rows = (await conn.execute(select(PROJECT.c.dispositions))).all()
    return sorted({d.code for (stored,) in rows for d in dispositions_of({"dispositions": stored})
                   if d.effect == "callback"})  # fmt: skip


async def refresh(db: AsyncEngine, now: datetime | None = None) -> int:
    """Sum the hours that are settled and not summed yet; returns how many hours were summed."""
    now = now or utcnow()
    async with reading(db) as conn:
        current = await mark_of(conn)
        oldest_open = (await conn.execute(select(func.min(ATTEMPT.c.started_at))
                                          .where(ATTEMPT.c.ended_at.is_(None)))).scalar()  # fmt: skip
        first = (
            (await conn.execute(select(func.min(ATTEMPT.c.started_at)))).scalar() if current is None else None
        )
        codes = await _callback_codes(conn)
    until = floor_hour(now - SETTLE)
    if oldest_open is not None:
        until = min(until, floor_hour(oldest_open))
    start = bucket_instant(current) if current is not None else floor_hour(first or until)
    done = 0
    while start < until:
        end = min(until, start + CHUNK)
        async with writing(db) as conn:
            await _sum(conn, start, end, codes)
            changed = await conn.execute(update(ROLLUP_MARK).where(ROLLUP_MARK.c.name == MARK)
                                         .values(until=hour_text(end)))  # fmt: skip
            if not changed.rowcount:
                await conn.execute(insert(ROLLUP_MARK).values(name=MARK, until=hour_text(end)))
        done += int((end - start).total_seconds() // 3600)
        start = end
    if current is None and done == 0:
        async with writing(db) as conn:
            await conn.execute(insert(ROLLUP_MARK).values(name=MARK, until=hour_text(until)))
    return done


async def _sum(conn: AsyncConnection, start: datetime, end: datetime, codes: list[str]) -> None:
    d = conn.dialect.name
    hour = bucket(d, ATTEMPT.c.started_at, minutes=False)
    span = [ATTEMPT.c.started_at >= start, ATTEMPT.c.started_at < end]
    calls = (
        select(ATTEMPT.c.campaign_id, hour, ATTEMPT.c.trunk, ATTEMPT.c.tariff_prefix, ATTEMPT.c.outcome,
               LEAD.c.time_zone, *_call_columns())
        .join(LEAD, LEAD.c.id == ATTEMPT.c.lead_id)
        .where(*span, ATTEMPT.c.campaign_id.is_not(None))
        .group_by(ATTEMPT.c.campaign_id, hour, ATTEMPT.c.trunk, ATTEMPT.c.tariff_prefix, ATTEMPT.c.outcome,
                  LEAD.c.time_zone)
    )  # fmt: skip
    keys = ["campaign_id", "hour", "trunk", "tariff_prefix", "outcome", "time_zone"]
    await conn.execute(insert(CALL_HOUR).from_select([*keys, *CALL_SUMS], calls))
    talked = (
        select(ATTEMPT.c.campaign_id, hour, ATTEMPT.c.operator, *_operator_columns(d, codes))
        .where(*span, *TALKED, ATTEMPT.c.campaign_id.is_not(None))
        .group_by(ATTEMPT.c.campaign_id, hour, ATTEMPT.c.operator)
    )  # fmt: skip
    await conn.execute(
        insert(OPERATOR_HOUR).from_select(["campaign_id", "hour", "operator", *OPERATOR_SUMS], talked)
    )
    tenths = _tenths(d)
    waits = (
        select(ATTEMPT.c.campaign_id, hour, tenths, func.count())
        .where(*span, ATTEMPT.c.wait_to_operator.is_not(None), ATTEMPT.c.campaign_id.is_not(None))
        .group_by(ATTEMPT.c.campaign_id, hour, tenths)
    )  # fmt: skip
    await conn.execute(insert(WAIT_HOUR).from_select(["campaign_id", "hour", "tenths", "calls"], waits))


CALL_SUMS = (
    "calls",
    "answered",
    "connected",
    "abandoned",
    "successes",
    "billed_seconds",
    "connection_fee",
    "cost",
)
OPERATOR_SUMS = ("calls", "talk", "wrap", "long_calls", "successes", "callbacks", "kept")
TALKED = (
    ATTEMPT.c.operator.is_not(None),
    ATTEMPT.c.connected_at.is_not(None),
    ATTEMPT.c.ended_at.is_not(None),
)


def _call_columns() -> list[Any]:
    return [
        func.count().label("calls"), func.count(ATTEMPT.c.answered_at).label("answered"),
        func.count(ATTEMPT.c.connected_at).label("connected"),
        func.count().filter(ATTEMPT.c.abandoned.is_(True)).label("abandoned"),
        func.count().filter(ATTEMPT.c.success.is_(True)).label("successes"),
        func.coalesce(func.sum(ATTEMPT.c.billed_seconds), 0).label("billed_seconds"),
        func.coalesce(func.sum(ATTEMPT.c.connection_fee), 0).label("connection_fee"),
        func.coalesce(func.sum(ATTEMPT.c.cost), 0).label("cost"),
    ]  # fmt: skip


def _operator_columns(d: str, codes: list[str]) -> list[Any]:
    talk = seconds_between(d, ATTEMPT.c.connected_at, ATTEMPT.c.ended_at)
    wrap = case((ATTEMPT.c.disposed_at > ATTEMPT.c.ended_at,
                 seconds_between(d, ATTEMPT.c.ended_at, ATTEMPT.c.disposed_at)), else_=0.0)  # fmt: skip
    return [
        func.count().label("calls"), func.coalesce(func.sum(talk), 0.0).label("talk"),
        func.coalesce(func.sum(wrap), 0.0).label("wrap"),
        func.count().filter(talk > LONG_CALL).label("long_calls"),
        func.count().filter(ATTEMPT.c.success.is_(True)).label("successes"),
        func.count().filter(ATTEMPT.c.disposition.in_(codes or ["callback"])).label("callbacks"),
        func.count().filter(ATTEMPT.c.callback_for == ATTEMPT.c.operator).label("kept"),
    ]  # fmt: skip


def _tenths(d: str) -> Any:
    return cast(earlier(d, ATTEMPT.c.wait_to_operator * 10, WAIT_CAP), Integer).label("tenths")


# -- reading: the sums before the mark, the calls after it ----------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Where a report reads its calls: ``rolled`` hours [first, until) from the sums, ``raw_since`` on
    from the calls (None: nothing raw); ``minutes``: raw buckets are minutes (zone off the hour)."""

    rolled: tuple[str, str] | None
    raw_since: datetime | None
    minutes: bool


def plan(scope: Scope, mark: str | None, *, per_operator: bool = False) -> Plan:
    start, end = scope.period.start, scope.period.end
    if not whole_hours(scope.zone, scope.period) or mark is None or (scope.operator and not per_operator):
        return Plan(None, start, not whole_hours(scope.zone, scope.period))
    until = min(bucket_instant(mark), end)
    if until <= start:
        return Plan(None, start, False)
    return Plan((hour_text(start), hour_text(until)), until if until < end else None, False)


async def call_sums(conn: AsyncConnection, scope: Scope) -> list[Any]:
    """The scope's calls summed by (campaign, hour text, trunk, prefix, outcome, zone)."""
    how = plan(scope, await mark_of(conn))
    rows: list[Any] = []
    if how.rolled is not None:
        where = [CALL_HOUR.c.campaign_id.in_(scope.chosen), CALL_HOUR.c.hour >= how.rolled[0],
                 CALL_HOUR.c.hour < how.rolled[1]]  # fmt: skip
        if scope.trunk:
            where.append(CALL_HOUR.c.trunk == scope.trunk)
        rows += (await conn.execute(
            select(CALL_HOUR.c.campaign_id, CALL_HOUR.c.hour, CALL_HOUR.c.trunk, CALL_HOUR.c.tariff_prefix,
                   CALL_HOUR.c.outcome, CALL_HOUR.c.time_zone, *(CALL_HOUR.c[c] for c in CALL_SUMS))
            .where(*where)
        )).all()  # fmt: skip
    if how.raw_since is not None:
        hour = bucket(conn.dialect.name, ATTEMPT.c.started_at, minutes=how.minutes).label("hour")
        rows += (await conn.execute(
            select(ATTEMPT.c.campaign_id, hour, ATTEMPT.c.trunk, ATTEMPT.c.tariff_prefix, ATTEMPT.c.outcome,
                   LEAD.c.time_zone, *_call_columns())
            .join(LEAD, LEAD.c.id == ATTEMPT.c.lead_id)
            .where(*attempts_in(scope), ATTEMPT.c.started_at >= how.raw_since)
            .group_by(ATTEMPT.c.campaign_id, hour, ATTEMPT.c.trunk, ATTEMPT.c.tariff_prefix,
                      ATTEMPT.c.outcome, LEAD.c.time_zone)
        )).all()  # fmt: skip
    return rows


async def operator_sums(conn: AsyncConnection, scope: Scope, codes: list[str]) -> list[Any]:
    """The scope's talked calls summed by operator (several rows for one: the sums' and the calls')."""
    how = plan(scope, await mark_of(conn), per_operator=True)
    rows: list[Any] = []
    if how.rolled is not None:
        where = [OPERATOR_HOUR.c.campaign_id.in_(scope.chosen), OPERATOR_HOUR.c.hour >= how.rolled[0],
                 OPERATOR_HOUR.c.hour < how.rolled[1]]  # fmt: skip
        if scope.operator:
            where.append(OPERATOR_HOUR.c.operator == scope.operator)
        rows += (await conn.execute(
            select(OPERATOR_HOUR.c.operator, *(func.sum(OPERATOR_HOUR.c[c]).label(c) for c in OPERATOR_SUMS))
            .where(*where).group_by(OPERATOR_HOUR.c.operator)
        )).all()  # fmt: skip
    if how.raw_since is not None:
        d = conn.dialect.name
        rows += (await conn.execute(
            select(ATTEMPT.c.operator, *_operator_columns(d, codes))
            .where(*attempts_in(scope), *TALKED, ATTEMPT.c.started_at >= how.raw_since)
            .group_by(ATTEMPT.c.operator)
        )).all()  # fmt: skip
    return rows


async def wait_sums(conn: AsyncConnection, scope: Scope) -> list[tuple[int, int]]:
    """(tenths of a second waited, calls) of the scope."""
    how = plan(scope, await mark_of(conn))
    rows: list[tuple[int, int]] = []
    if how.rolled is not None:
        rows += [(t, n) for t, n in (await conn.execute(
            select(WAIT_HOUR.c.tenths, func.sum(WAIT_HOUR.c.calls))
            .where(WAIT_HOUR.c.campaign_id.in_(scope.chosen), WAIT_HOUR.c.hour >= how.rolled[0],
                   WAIT_HOUR.c.hour < how.rolled[1])
            .group_by(WAIT_HOUR.c.tenths)
        )).all()]  # fmt: skip
    if how.raw_since is not None:
        tenths = _tenths(conn.dialect.name)
        rows += [(t, n) for t, n in (await conn.execute(
            select(tenths, func.count())
            .where(*attempts_in(scope), ATTEMPT.c.wait_to_operator.is_not(None),
                   ATTEMPT.c.started_at >= how.raw_since)
            .group_by(tenths)
        )).all()]  # fmt: skip
    return rows


def money(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


async def keep_summed(db: AsyncEngine, stop: asyncio.Event, every: float = 300.0) -> None:
    """Sum the settled hours every ``every`` seconds until ``stop`` is set."""
    while not stop.is_set():
        try:
            hours = await refresh(db)
            if hours:
                log.info("calls summed by the hour for the reports", hours=hours)
        except Exception:
            log.exception("summing the calls by the hour failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
