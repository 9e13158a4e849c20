"""What the reports' queries share: the scope's conditions on attempts, and local days of buckets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from functools import cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.storage.tables import ATTEMPT
from reports.scope import Scope
from reports.sql import Expr, bucket, bucket_instant, whole_hours

CALL_SPAN = timedelta(days=1)  # longer than any call with its wrap-up


def attempts_in(scope: Scope, when: Any = None) -> list[Expr]:
    """Attempts of the chosen campaigns (and operator, trunk) whose ``when`` (default: the start of
    the call) falls in the period."""
    period = scope.period
    where: list[Expr] = [ATTEMPT.c.campaign_id.in_(scope.chosen)]
    if when is None or when is ATTEMPT.c.started_at:
        where += [ATTEMPT.c.started_at >= period.start, ATTEMPT.c.started_at < period.end]
    else:  # a later moment of the call: its start is at most a day before (lets the index serve)
        where += [when >= period.start, when < period.end, ATTEMPT.c.started_at >= period.start - CALL_SPAN,
                  ATTEMPT.c.started_at < period.end]  # fmt: skip
    if scope.operator:
        where.append(ATTEMPT.c.operator == scope.operator)
    if scope.trunk:
        where.append(ATTEMPT.c.trunk == scope.trunk)
    return where


def day_bucket(conn: AsyncConnection, scope: Scope, column: Any) -> tuple[Expr, Callable[[str], date]]:
    """A bucket of ``column`` to group by in SQL, and the local day of a bucket's text."""
    minutes = not whole_hours(scope.zone, scope.period)
    return bucket(conn.dialect.name, column, minutes=minutes).label("bucket"), days_of(scope)


def days_of(scope: Scope) -> Callable[[str], date]:
    """The local day of a bucket's text (an hour ``YYYY-MM-DD HH`` or a minute ``... HH:MM``, UTC)."""
    zone = scope.zone

    @cache
    def day_of(text: str) -> date:
        return bucket_instant(text).astimezone(zone).date()

    return day_of
