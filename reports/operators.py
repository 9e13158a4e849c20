"""Operator statistics: time in each state from the state spans the engine writes, the calls each
operator handled, how they ended, callbacks kept by the same operator, monthly targets and reviews.

Time: spans clipped to the period (a span over midnight counts in both days), the ones of another
project left out. ``ready`` includes the seconds a call was being connected (reserved). Occupancy is
(talking + wrap-up) / (signed in - paused). Calls: calls talked by the operator that started in the
period (:mod:`reports.rollup`'s sums); handling time is talk (connected to hang-up) plus wrap-up
(hang-up to the outcome, for calls whose outcome came after). A callback is kept when the callback
call was talked by the operator who asked for it.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.storage.tables import ATTEMPT, CALL_REVIEW, OPERATOR, OPERATOR_STATE, OPERATOR_TARGET
from dialer.storage.types import UtcDateTime, utcnow
from reports.period import Period, split
from reports.query import attempts_in
from reports.review import operator_calls
from reports.rollup import operator_sums
from reports.scope import Scope
from reports.shape import N_, Chart, Column, Figure, Kind, Report, Series, Table, share
from reports.sql import earlier, later, seconds_between


@dataclass
class Times:
    ready: float = 0.0
    talking: float = 0.0
    wrap_up: float = 0.0
    paused: dict[str, float] = field(default_factory=dict)

    @property
    def paused_total(self) -> float:
        return sum(self.paused.values())

    @property
    def signed_in(self) -> float:
        return self.ready + self.talking + self.wrap_up + self.paused_total

    def add(self, state: str, reason: str | None, seconds: float) -> None:
        if state in ("ready", "reserved"):
            self.ready += seconds
        elif state == "talking":
            self.talking += seconds
        elif state == "wrap_up":
            self.wrap_up += seconds
        elif state == "paused":
            self.paused[reason or ""] = self.paused.get(reason or "", 0.0) + seconds

    def occupancy(self) -> float | None:
        return share(self.talking + self.wrap_up, self.signed_in - self.paused_total)

    def merge(self, other: Times) -> None:
        """Add another operator's time (the team's total)."""
        self.ready += other.ready
        self.talking += other.talking
        self.wrap_up += other.wrap_up
        for reason, seconds in other.paused.items():
            self.paused[reason] = self.paused.get(reason, 0.0) + seconds


@dataclass
class Calls:
    calls: int = 0
    talk: float = 0.0
    wrap: float = 0.0
    successes: int = 0
    long: int = 0
    callbacks: int = 0
    kept: int = 0
    reviewed: int = 0
    good: int = 0
    bad: int = 0

    def merge(self, other: Calls) -> None:
        """Add another operator's calls (the team's total): every figure is a sum."""
        for name in fields(self):
            setattr(self, name.name, getattr(self, name.name) + getattr(other, name.name))


def _spans_where(scope: Scope, now: datetime) -> list[Any]:
    span_end = func.coalesce(OPERATOR_STATE.c.ended_at, literal(now, UtcDateTime()))
    who = [scope.operator] if scope.operator else list(scope.operators)
    return [
        OPERATOR_STATE.c.started_at < literal(scope.period.end, UtcDateTime()),
        span_end > literal(scope.period.start, UtcDateTime()),
        or_(OPERATOR_STATE.c.operator.in_(who), OPERATOR_STATE.c.project_id == scope.project_id)
        if not scope.operator else OPERATOR_STATE.c.operator == scope.operator,
        or_(OPERATOR_STATE.c.project_id.is_(None), OPERATOR_STATE.c.project_id == scope.project_id),
    ]  # fmt: skip


async def times(conn: AsyncConnection, scope: Scope, now: datetime) -> dict[str, Times]:
    """Each operator's seconds per state in the period (spans clipped to it), summed in SQL."""
    d = conn.dialect.name
    start = later(d, OPERATOR_STATE.c.started_at, literal(scope.period.start, UtcDateTime()))
    end = earlier(d, func.coalesce(OPERATOR_STATE.c.ended_at, literal(now, UtcDateTime())),
                  literal(scope.period.end, UtcDateTime()))  # fmt: skip
    rows = await conn.execute(
        select(OPERATOR_STATE.c.operator, OPERATOR_STATE.c.state, OPERATOR_STATE.c.reason,
               func.sum(seconds_between(d, start, end)))
        .where(*_spans_where(scope, now))
        .group_by(OPERATOR_STATE.c.operator, OPERATOR_STATE.c.state, OPERATOR_STATE.c.reason)
    )  # fmt: skip
    out: dict[str, Times] = defaultdict(Times)
    for login, state, reason, seconds in rows.all():
        out[login].add(state, reason, max(0.0, float(seconds or 0)))
    return out


async def calls(conn: AsyncConnection, scope: Scope) -> dict[str, Calls]:
    """Each operator's talked calls of the period (hourly sums and the calls after them), and the
    marks of the calls reviewed."""
    out: dict[str, Calls] = defaultdict(Calls)
    for row in await operator_sums(conn, scope, sorted(scope.codes("callback"))):
        found = out[row.operator]
        found.calls += row.calls
        found.talk += float(row.talk or 0)
        found.wrap += float(row.wrap or 0)
        found.successes += row.successes
        found.long += row.long_calls
        found.callbacks += row.callbacks
        found.kept += row.kept
    # the reviews first (few), then their calls by key: never a scan of the period's calls
    marks = (await conn.execute(
        select(CALL_REVIEW.c.attempt_id, CALL_REVIEW.c.verdict).where(CALL_REVIEW.c.at >= scope.period.start)
    )).all()  # fmt: skip
    verdicts = dict(marks)
    ids = list(verdicts)
    for first in range(0, len(ids), 500):
        reviewed = await conn.execute(
            select(ATTEMPT.c.id, ATTEMPT.c.operator).where(
                ATTEMPT.c.id.in_(ids[first : first + 500]), *attempts_in(scope)
            )
        )
        for attempt_id, login in reviewed.all():
            if login is None:
                continue
            out[login].reviewed += 1
            out[login].good += verdicts[attempt_id] == "good"
            out[login].bad += verdicts[attempt_id] == "bad"
    return out


async def targets(conn: AsyncConnection, scope: Scope) -> dict[str, dict[str, Any]]:
    """Progress on the monthly targets of the month the period ends in: productive calls (talked to
    a person) and long ones, counted over that whole month."""
    month = scope.period.last.strftime("%Y-%m")
    rows = (await conn.execute(
        select(OPERATOR.c.login, OPERATOR_TARGET.c.calls, OPERATOR_TARGET.c.long_calls)
        .join(OPERATOR, OPERATOR.c.id == OPERATOR_TARGET.c.operator_id)
        .where(OPERATOR_TARGET.c.project_id == scope.project_id, OPERATOR_TARGET.c.month == month)
    )).all()  # fmt: skip
    if not rows:
        return {}
    first = scope.period.last.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    month_scope = replace(scope, period=Period(scope.zone, first, last))
    done: dict[str, tuple[int, int]] = {}
    for row in await operator_sums(conn, month_scope, sorted(scope.codes("callback"))):
        count, long = done.get(row.operator, (0, 0))
        done[row.operator] = (count + row.calls, long + row.long_calls)
    out = {}
    for login, goal, long_goal in rows:
        count, long = done.get(login, (0, 0))
        out[login] = {"month": month, "goal": goal, "done": count, "long_goal": long_goal, "long_done": long,
                      "progress": share(count, goal), "long_progress": share(long, long_goal)}  # fmt: skip
    return out


async def operators(conn: AsyncConnection, scope: Scope, *, now: datetime | None = None) -> Report:
    now = now or utcnow()
    report = Report("operators", N_("Operator statistics"), N_(
        "Time: the operators' state spans clipped to the period; calls: their talks that started in it."
    ), scope.period.first, scope.period.last)  # fmt: skip
    spent = await times(conn, scope, now)
    handled = await calls(conn, scope)
    goals = await targets(conn, scope)
    logins = sorted(set(spent) | set(handled) | ({scope.operator} if scope.operator else set()))
    reasons = sorted({reason for t in spent.values() for reason in t.paused})
    team_times, team_calls = Times(), Calls()
    time_rows, call_rows = [], []
    for login in logins:
        t, c = spent.get(login, Times()), handled.get(login, Calls())
        time_rows.append(_time_row(login, scope.operators.get(login, login), t, reasons))
        call_rows.append(_call_row(login, scope.operators.get(login, login), c, goals.get(login)))
        team_times.merge(t)
        team_calls.merge(c)
    pause_columns = [Column(f"paused:{r}", _pause_label(scope, r), Kind.SECONDS) for r in reasons]
    report.tables.append(Table("time", N_("Time"), [
        Column("login", N_("Operator")), Column("name", N_("Name")),
        Column("signed_in", N_("Signed in"), Kind.SECONDS),
        Column("ready", N_("Ready (waiting)"), Kind.SECONDS),
        Column("talking", N_("Talking"), Kind.SECONDS), Column("wrap_up", N_("Wrap-up"), Kind.SECONDS),
        Column("paused", N_("Paused"), Kind.SECONDS), *pause_columns,
        Column("occupancy", N_("Occupancy"), Kind.SHARE),
    ], time_rows, total=_time_row(N_("Team"), "", team_times, reasons)))  # fmt: skip
    report.tables.append(
        Table(
            "calls",
            N_("Calls"),
            [
                Column("login", N_("Operator")),
                Column("name", N_("Name")),
                Column("calls", N_("Calls handled"), Kind.COUNT),
                Column("aht", N_("Average handling time"), Kind.SECONDS),
                Column("successes", N_("Successes"), Kind.COUNT),
                Column("conversion", N_("Conversion"), Kind.SHARE),
                Column("callbacks", N_("Callbacks set"), Kind.COUNT),
                Column("kept", N_("Kept by the same operator"), Kind.COUNT),
                Column("long", N_("Calls over 5 minutes"), Kind.COUNT),
            ],
            call_rows,
            total=_call_row(N_("Team"), "", team_calls, None),
        )
    )
    report.tables.append(Table("quality", N_("Targets and call review"), [
        Column("login", N_("Operator")), Column("name", N_("Name")), Column("target", N_("Monthly target")),
        Column("reviewed", N_("Reviewed"), Kind.SHARE), Column("good", N_("Good"), Kind.COUNT),
        Column("bad", N_("Bad"), Kind.COUNT),
    ], call_rows, total=_call_row(N_("Team"), "", team_calls, None)))  # fmt: skip
    report.figures += [
        Figure("operators", N_("Operators"), len(logins)),
        Figure("calls", N_("Calls handled"), team_calls.calls),
        Figure("aht", N_("Average handling time"), _per(team_calls.talk + team_calls.wrap, team_calls.calls),
               Kind.SECONDS),
        Figure("occupancy", N_("Occupancy"), team_times.occupancy(), Kind.SHARE),
        Figure("conversion", N_("Conversion"), share(team_calls.successes, team_calls.calls), Kind.SHARE),
    ]  # fmt: skip
    report.charts.append(Chart("time", N_("Where the time went"), "bars", [
        Series(N_("Talking"), [(r["login"], r["talking"]) for r in time_rows], "st-talking"),
        Series(N_("Wrap-up"), [(r["login"], r["wrap_up"]) for r in time_rows], "st-wrap_up"),
        Series(N_("Ready (waiting)"), [(r["login"], r["ready"]) for r in time_rows], "st-ready"),
        Series(N_("Paused"), [(r["login"], r["paused"]) for r in time_rows], "st-paused"),
    ], Kind.SECONDS))  # fmt: skip
    if scope.operator:
        report.charts.append(await timeline(conn, scope, now))
        report.tables.append(await operator_calls(conn, scope, scope.operator))
    return report


def _pause_label(scope: Scope, reason: str) -> str:
    return f"{N_('Paused')}: {scope.pause_label(reason) or '-'}"


def _per(total: float, count: int) -> float | None:
    return total / count if count else None


def _time_row(login: str, name: str, t: Times, reasons: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {"login": login, "name": name, "signed_in": t.signed_in, "ready": t.ready,
                           "talking": t.talking, "wrap_up": t.wrap_up, "paused": t.paused_total,
                           "occupancy": t.occupancy()}  # fmt: skip
    row |= {f"paused:{r}": t.paused.get(r, 0.0) for r in reasons}
    return row


def _call_row(login: str, name: str, c: Calls, goal: dict[str, Any] | None) -> dict[str, Any]:
    target = ""
    if goal is not None:
        target = f"{goal['done']}/{goal['goal']} ({goal['long_done']}/{goal['long_goal']} > 5 min)"
    return {"login": login, "name": name, "calls": c.calls, "aht": _per(c.talk + c.wrap, c.calls),
            "successes": c.successes, "conversion": share(c.successes, c.calls), "callbacks": c.callbacks,
            "kept": c.kept, "long": c.long, "target": target, "target_progress": goal,
            "reviewed": share(c.reviewed, c.calls), "good": c.good, "bad": c.bad}  # fmt: skip


async def timeline(conn: AsyncConnection, scope: Scope, now: datetime) -> Chart:
    """The chosen operator's days: each day's states in order, from local midnight, as (state, seconds)
    segments; gaps are offline."""
    rows = (await conn.execute(
        select(OPERATOR_STATE.c.state, OPERATOR_STATE.c.reason, OPERATOR_STATE.c.started_at,
               OPERATOR_STATE.c.ended_at)
        .where(*_spans_where(scope, now)).order_by(OPERATOR_STATE.c.started_at)
    )).all()  # fmt: skip
    days = scope.period.days()[-31:]
    series = []
    for day in days:
        points: list[tuple[str, float]] = []
        cursor = day.start
        for state, _reason, started, ended in rows:
            for _d, seconds in split(started, ended or now, [day]):
                begin = max(started, day.start)
                if begin > cursor:
                    points.append(("offline", (begin - cursor).total_seconds()))
                points.append((state, seconds))
                cursor = max(cursor, min(ended or now, day.end))
        if day.end > cursor:
            points.append(("offline", (day.end - cursor).total_seconds()))
        series.append(Series(day.day.isoformat(), points))
    return Chart("timeline", N_("The operator's day"), "timeline", series, Kind.SECONDS)
