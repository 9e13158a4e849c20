"""The few SQL expressions that differ between SQLite and PostgreSQL, for the reports' queries.

SQLite keeps a timestamp as text ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC (which sorts and compares
as time does); PostgreSQL as ``timestamptz``. Reports group by the UTC hour (or minute, for zones
whose offset is not whole hours) in the database and map those buckets to local days in Python:
exact across clock changes, and the database returns a few hundred rows instead of every row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, cast, func, literal_column
from sqlalchemy.sql.elements import ColumnElement

from reports.period import Period

Expr = ColumnElement[Any]


def seconds_between(dialect: str, start: Any, end: Any) -> Expr:
    """``end - start`` in seconds (to the millisecond on SQLite, whose julian days carry a few
    microseconds of rounding)."""
    if dialect == "sqlite":
        return func.round((func.julianday(end) - func.julianday(start)) * 86400.0, 3)
    return cast(func.extract("epoch", end - start), Float)


def later(dialect: str, a: Any, b: Any) -> Expr:
    return func.max(a, b) if dialect == "sqlite" else func.greatest(a, b)


def earlier(dialect: str, a: Any, b: Any) -> Expr:
    return func.min(a, b) if dialect == "sqlite" else func.least(a, b)


def whole_hours(zone: ZoneInfo, period: Period) -> bool:
    """Every offset of ``zone`` during the period is whole hours (hour buckets map to local days)."""
    return all(_offset_seconds(zone, day.start) % 3600 == 0 for day in period.days()) and (
        _offset_seconds(zone, period.end) % 3600 == 0
    )


def _offset_seconds(zone: ZoneInfo, instant: datetime) -> int:
    offset = instant.astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def bucket(dialect: str, column: Any, *, minutes: bool) -> Expr:
    """The UTC hour (or minute) of ``column`` as text ``YYYY-MM-DD HH[:MM]``."""
    if dialect == "sqlite":
        return func.substr(column, 1, 16 if minutes else 13)
    pattern = "YYYY-MM-DD HH24:MI" if minutes else "YYYY-MM-DD HH24"
    return func.to_char(column.op("AT TIME ZONE")(literal_column("'UTC'")), pattern)


def bucket_instant(text: str) -> datetime:
    """The UTC instant a bucket's text names."""
    if len(text) == 13:
        text += ":00"
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
