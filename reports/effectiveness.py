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
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Integer, cast, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.storage.tables import ATTEMPT, DIAL_SAMPLE, LEAD
from dialer.storage.types import utcnow
from reports.period import midnight
from reports.query import attempts_in, day_bucket
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
    bucket_of, day_of = day_bucket(conn, scope, ATTEMPT.c.started_at)
    outcome = func.coalesce(ATTEMPT.c.outcome, "in progress")
    rows = await conn.execute(
        select(bucket_of, outcome, func.count(), func.count(ATTEMPT.c.answered_at),
               func.count(ATTEMPT.c.connected_at), func.count().filter(ATTEMPT.c.abandoned.is_(True)))
        .where(*attempts_in(scope)).group_by(bucket_of, outcome)
    )  # fmt: skip
    by_outcome: dict[str, int] = defaultdict(int)
    days: dict[Any, dict[str, int]] = {d.day: defaultdict(int) for d in scope.period.days()}
    attempts = answered = connected = abandoned = 0
    for text, ended_as, count, answers, talks, abandons in rows.all():
        by_outcome[ended_as] += count
        attempts, answered, connected, abandoned = (attempts + count, answered + answers, connected + talks,
                                                    abandoned + abandons)  # fmt: skip
        day = days.get(day_of(text))
        if day is not None:
            day["attempts"] += count
            day["answered"] += answers
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
    report.charts.append(await _heatmap(conn, scope))
    return report


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 2) if whole else None


async def _waits(conn: AsyncConnection, scope: Scope) -> tuple[float | None, float | None]:
    """Mean and 90th percentile of the seconds answered people waited (connected or gave up), from a
    histogram of tenths of a second counted in the database."""
    tenth = cast(ATTEMPT.c.wait_to_operator * 10, Integer)
    rows = (await conn.execute(
        select(tenth, func.count()).where(*attempts_in(scope), ATTEMPT.c.wait_to_operator.is_not(None))
        .group_by(tenth)
    )).all()  # fmt: skip
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
    """Per campaign: the abandon rate today (the project's day) and over its legal window ending now,
    and how many more abandons the window can take under its target."""
    today = midnight(now.astimezone(scope.zone).date(), scope.zone)
    rows_out = []
    for campaign_id in scope.chosen:
        campaign = scope.campaigns[campaign_id]
        window = timedelta(hours=24) if campaign.abandon_window == "24h" else timedelta(days=30)
        since = min(today, now - window)
        found = (await conn.execute(
            select(
                func.count().filter(ATTEMPT.c.outcome == "human", ATTEMPT.c.started_at >= today),
                func.count().filter(ATTEMPT.c.abandoned.is_(True), ATTEMPT.c.started_at >= today),
                func.count().filter(ATTEMPT.c.outcome == "human", ATTEMPT.c.started_at >= now - window),
                func.count().filter(ATTEMPT.c.abandoned.is_(True), ATTEMPT.c.started_at >= now - window),
            ).where(ATTEMPT.c.campaign_id == campaign_id, ATTEMPT.c.started_at >= since)
        )).one()  # fmt: skip
        talked_today, abandoned_today, talked, abandoned = found
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
    rows = (await conn.execute(
        select(DIAL_SAMPLE.c.campaign_id, DIAL_SAMPLE.c.at, DIAL_SAMPLE.c.level, DIAL_SAMPLE.c.calls,
               DIAL_SAMPLE.c.operators, DIAL_SAMPLE.c.reason)
        .where(DIAL_SAMPLE.c.campaign_id.in_(scope.chosen), DIAL_SAMPLE.c.at >= scope.period.start,
               DIAL_SAMPLE.c.at < scope.period.end)
        .order_by(DIAL_SAMPLE.c.at)
    )).all()  # fmt: skip
    series = []
    by_campaign: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_campaign[row.campaign_id].append(row)
    for campaign_id, found in by_campaign.items():
        step = max(1, len(found) // CHART_POINTS)
        points = [
            (r.at.astimezone(scope.zone).strftime("%m-%d %H:%M"), float(r.level or 0)) for r in found[::step]
        ]
        series.append(Series(scope.campaigns[campaign_id].name, points))
    listed = [
        {"at": r.at.astimezone(scope.zone).strftime("%Y-%m-%d %H:%M:%S"),
         "campaign": scope.campaigns[r.campaign_id].name,
         "level": r.level, "calls": r.calls, "operators": r.operators, "reason": r.reason}
        for r in rows[-SAMPLES_SHOWN:][::-1]
    ]  # fmt: skip
    table = Table("dial_levels", N_("Dial level and the pacer's reason (latest first)"), [
        Column("at", N_("When"), Kind.WHEN), Column("campaign", N_("Campaign")),
        Column("level", N_("Dial level"), Kind.NUMBER), Column("calls", N_("Calls in progress"), Kind.COUNT),
        Column("operators", N_("Operators at work"), Kind.COUNT), Column("reason", N_("Pacer's reason")),
    ], listed, more=max(0, len(rows) - len(listed)))  # fmt: skip
    return Chart("dial_level", N_("Dial level over time"), "line", series, Kind.NUMBER), table


async def _heatmap(conn: AsyncConnection, scope: Scope) -> Chart:
    """Answer rate by the lead's local weekday and hour (the project's zone for leads without one)."""
    hour = bucket(conn.dialect.name, ATTEMPT.c.started_at, minutes=False).label("hour")
    rows = await conn.execute(
        select(LEAD.c.time_zone, hour, func.count(), func.count(ATTEMPT.c.answered_at))
        .join(LEAD, LEAD.c.id == ATTEMPT.c.lead_id)
        .where(*attempts_in(scope)).group_by(LEAD.c.time_zone, hour)
    )  # fmt: skip
    cells: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    zones: dict[str | None, ZoneInfo] = {None: scope.zone}
    for zone_name, text, count, answers in rows.all():
        if zone_name not in zones:
            try:
                zones[zone_name] = ZoneInfo(zone_name)
            except (ValueError, KeyError, OSError):
                zones[zone_name] = scope.zone
        local = bucket_instant(text).astimezone(zones[zone_name])
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
