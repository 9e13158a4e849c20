"""Dialer effectiveness: what the calls came to (answered, person, machine, busy, no answer, failed,
abandoned), the abandon rate in the period, today and over each campaign's legal window with the
budget left, how long answered people waited for an operator, the dial level over time with the
pacer's reason, contacts per lead, leads used up, and the answer rate by the lead's local weekday
and hour (when to call).

The abandon rate is abandoned / (talked + abandoned): the share of live answered calls that found no
operator, the figure the 3 % limit is about (machines are not counted).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.storage.tables import ATTEMPT, DIAL_SAMPLE, LEAD
from dialer.storage.types import utcnow
from reports.period import Period
from reports.query import attempts_in, days_of
from reports.rollup import call_sums, wait_sums
from reports.scope import Scope
from reports.shape import N_, Chart, Column, Figure, Kind, Report, Series, Table, share
from reports.sql import bucket, bucket_instant

OUTCOMES = ("human", "abandoned", "machine", "busy", "no_answer", "failed", "interrupted")
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
SAMPLES_SHOWN = 60  # dial level samples listed (the chart has up to CHART_POINTS)
CHART_POINTS = 240


async def effectiveness(conn: AsyncConnection, scope: Scope, *, now: datetime | None = None) -> Report:
    now = now or utcnow()
    report = Report("effectiveness", N_("Dialer effectiveness"), N_(
        "Calls started in the period; abandon rate = abandoned / (talked + abandoned), machines not counted."
    ), scope.period.first, scope.period.last)  # fmt: skip
    day_of = days_of(scope)
    rows = await call_sums(conn, scope)
    by_outcome: dict[str, int] = defaultdict(int)
    days: dict[Any, dict[str, int]] = {d.day: defaultdict(int) for d in scope.period.days()}
    attempts = answered = connected = abandoned = 0
    for row in rows:
        by_outcome[row.outcome or "in progress"] += row.calls
        attempts += row.calls
        answered += row.answered
        connected += row.connected
        abandoned += row.abandoned
        day = days.get(day_of(row.hour))
        if day is not None:
            day["attempts"] += row.calls
            day["answered"] += row.answered
    live = by_outcome["human"] + abandoned
    waits = await _waits(conn, scope)
    leads = int((await conn.execute(
        select(func.count(func.distinct(ATTEMPT.c.lead_id))).where(*attempts_in(scope))
    )).scalar() or 0)  # fmt: skip
    used_up = await _used_up(conn, scope)
    report.figures += [
        Figure("attempts", N_("Calls placed"), attempts),
        Figure("answer_rate", N_("Answer rate"), share(answered, attempts), Kind.SHARE),
        Figure("abandon_rate", N_("Abandon rate"), share(abandoned, live), Kind.SHARE),
        Figure("wait_mean", N_("Wait for an operator, mean"), waits[0], Kind.SECONDS),
        Figure("wait_p90", N_("Wait for an operator, 90th percentile"), waits[1], Kind.SECONDS),
        Figure("contacts_per_lead", N_("Calls per lead"), _ratio(attempts, leads),
               Kind.NUMBER),
        Figure("people_per_lead", N_("People reached per lead"), _ratio(connected, leads),
               Kind.NUMBER),
        Figure("exhausted", N_("Leads out of attempts"), used_up.get("failed", 0)),
        Figure("expired", N_("Leads expired"), used_up.get("expired", 0)),
    ]  # fmt: skip
    order = [o for o in OUTCOMES if by_outcome.get(o)] + sorted(set(by_outcome) - set(OUTCOMES))
    report.tables.append(Table("outcomes", N_("How the calls ended"), [
        Column("outcome", N_("Outcome"), Kind.LABEL), Column("calls", N_("Calls"), Kind.COUNT),
        Column("share", N_("Share"), Kind.SHARE),
    ], [{"outcome": o, "calls": by_outcome[o], "share": share(by_outcome[o], attempts)} for o in order],
        total={"outcome": N_("Total"), "calls": attempts, "share": share(attempts, attempts)}))  # fmt: skip
    report.charts.append(Chart("by_day", N_("Calls and answers by day"), "bars", [
        Series(N_("Answered"), [(d.isoformat(), float(v["answered"])) for d, v in days.items()]),
        Series(N_("Not answered"),
               [(d.isoformat(), float(v["attempts"] - v["answered"])) for d, v in days.items()]),
    ], Kind.COUNT))  # fmt: skip
    report.tables.append(await _abandons(conn, scope, now))
    level_chart, samples = await _dial_levels(conn, scope)
    report.charts.append(level_chart)
    report.tables.append(samples)
    report.charts.append(_heatmap(scope, rows))
    return report


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 2) if whole else None


async def _waits(conn: AsyncConnection, scope: Scope) -> tuple[float | None, float | None]:
    """Mean and 90th percentile of the seconds answered people waited (connected or gave up), from a
    histogram of tenths of a second counted in the database."""
    rows = await wait_sums(conn, scope)
    if not rows:
        return None, None
    values = np.array([r[0] for r in rows], dtype=float) / 10
    counts = np.array([r[1] for r in rows], dtype=float)
    order = np.argsort(values)
    values, counts = values[order], counts[order]
    mean = float((values * counts).sum() / counts.sum())
    p90 = float(values[np.searchsorted(np.cumsum(counts), 0.9 * counts.sum())])
    return round(mean, 2), p90


async def _used_up(conn: AsyncConnection, scope: Scope) -> dict[str, int]:
    rows = await conn.execute(
        select(LEAD.c.status, func.count())
        .where(LEAD.c.project_id == scope.project_id, LEAD.c.campaign_id.in_(scope.chosen),
               LEAD.c.status.in_(("failed", "expired")), LEAD.c.updated_at >= scope.period.start,
               LEAD.c.updated_at < scope.period.end)
        .group_by(LEAD.c.status)
    )  # fmt: skip
    return {status: count for status, count in rows.all()}


async def _abandons(conn: AsyncConnection, scope: Scope, now: datetime) -> Table:
    """Per campaign: the abandon rate today (the project's day) and over its legal window (the last 30
    local days with today, or yesterday and today for a 24-hour window), and how many more abandons the
    window can take under its target."""
    today = now.astimezone(scope.zone).date()
    window = Period(scope.zone, today - timedelta(days=30), today)
    day_of = days_of(replace(scope, period=window))
    # per campaign: (talked, abandoned) today, over two days, over 31 days
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0])
    for row in await call_sums(conn, replace(scope, period=window, operator=None, trunk=None)):
        age = (today - day_of(row.hour)).days
        talked = row.calls if row.outcome == "human" else 0
        for slot, days in enumerate((1, 2, 31)):
            if age < days:
                counts[row.campaign_id][2 * slot] += talked
                counts[row.campaign_id][2 * slot + 1] += row.abandoned
    rows_out = []
    for campaign_id in scope.chosen:
        campaign = scope.campaigns[campaign_id]
        talked_today, abandoned_today, *rest = counts[campaign_id]
        talked, abandoned = (rest[0], rest[1]) if campaign.abandon_window == "24h" else (rest[2], rest[3])
        live = talked + abandoned
        rows_out.append({
            "campaign": campaign.name, "today": share(abandoned_today, talked_today + abandoned_today),
            "window": campaign.abandon_window, "rate": share(abandoned, live), "abandoned": abandoned,
            "live": live, "target": campaign.abandon_target,
            "budget_left": round(campaign.abandon_target * live - abandoned, 2),
        })  # fmt: skip
    return Table("abandons", N_("Abandons by campaign (now)"), [
        Column("campaign", N_("Campaign")), Column("today", N_("Abandon rate today"), Kind.SHARE),
        Column("window", N_("Legal window")), Column("rate", N_("Abandon rate in the window"), Kind.SHARE),
        Column("abandoned", N_("Abandoned"), Kind.COUNT), Column("live", N_("Live answered"), Kind.COUNT),
        Column("target", N_("Target"), Kind.SHARE),
        Column("budget_left", N_("Abandons the window can still take"), Kind.NUMBER),
    ], rows_out)  # fmt: skip


async def _dial_levels(conn: AsyncConnection, scope: Scope) -> tuple[Chart, Table]:
    """The level by hour (its mean) for the chart; the latest samples with the pacer's reason."""
    where = [DIAL_SAMPLE.c.campaign_id.in_(scope.chosen), DIAL_SAMPLE.c.at >= scope.period.start,
             DIAL_SAMPLE.c.at < scope.period.end]  # fmt: skip
    hour = bucket(conn.dialect.name, DIAL_SAMPLE.c.at, minutes=False).label("hour")
    hourly = (await conn.execute(
        select(DIAL_SAMPLE.c.campaign_id, hour, func.avg(DIAL_SAMPLE.c.level))
        .where(*where).group_by(DIAL_SAMPLE.c.campaign_id, hour).order_by(hour)
    )).all()  # fmt: skip
    series = []
    by_campaign: dict[int, list[tuple[str, float]]] = defaultdict(list)
    for campaign_id, text, level in hourly:
        at = bucket_instant(text).astimezone(scope.zone)
        by_campaign[campaign_id].append((at.strftime("%m-%d %H:00"), float(level or 0)))
    for campaign_id, points in by_campaign.items():
        step = max(1, len(points) // CHART_POINTS)
        series.append(Series(scope.campaigns[campaign_id].name, points[::step]))
    counted = await conn.execute(select(func.count()).select_from(DIAL_SAMPLE).where(*where))
    total = int(counted.scalar() or 0)
    rows = (await conn.execute(
        select(DIAL_SAMPLE.c.campaign_id, DIAL_SAMPLE.c.at, DIAL_SAMPLE.c.level, DIAL_SAMPLE.c.calls,
               DIAL_SAMPLE.c.operators, DIAL_SAMPLE.c.reason)
        .where(*where).order_by(DIAL_SAMPLE.c.at.desc()).limit(SAMPLES_SHOWN)
    )).all()  # fmt: skip
    listed = [
        {"at": r.at.astimezone(scope.zone).strftime("%Y-%m-%d %H:%M:%S"),
         "campaign": scope.campaigns[r.campaign_id].name,
         "level": r.level, "calls": r.calls, "operators": r.operators, "reason": r.reason}
        for r in rows
    ]  # fmt: skip
    table = Table("dial_levels", N_("Dial level and the pacer's reason (latest first)"), [
        Column("at", N_("When"), Kind.WHEN), Column("campaign", N_("Campaign")),
        Column("level", N_("Dial level"), Kind.NUMBER), Column("calls", N_("Calls in progress"), Kind.COUNT),
        Column("operators", N_("Operators at work"), Kind.COUNT), Column("reason", N_("Pacer's reason")),
    ], listed, more=max(0, total - len(listed)))  # fmt: skip
    return Chart("dial_level", N_("Dial level over time"), "line", series, Kind.NUMBER), table


def _heatmap(scope: Scope, rows: list[Any]) -> Chart:
    """Answer rate by the lead's local weekday and hour (the project's zone for leads without one)."""
    cells: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    zones: dict[str | None, ZoneInfo] = {None: scope.zone}
    for row in rows:
        zone_name, text, count, answers = row.time_zone, row.hour, row.calls, row.answered
        if zone_name not in zones:
            try:
                zones[zone_name] = ZoneInfo(zone_name)
            except (ValueError, KeyError, OSError):
                zones[zone_name] = scope.zone
        local = bucket_instant(text[:13]).astimezone(zones[zone_name])
        cell = cells[(local.weekday(), local.hour)]
        cell[0] += count
        cell[1] += answers
    series = [
        Series(
            WEEKDAYS[day],
            [(f"{h:02d}", share(cells[(day, h)][1], cells[(day, h)][0]) or 0.0) for h in range(24)],
        )
        for day in range(7)
    ]
    return Chart(
        "heatmap", N_("Answer rate by the lead's local weekday and hour"), "heatmap", series, Kind.SHARE
    )
