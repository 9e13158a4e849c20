"""Successful applications: the calls whose outcome counts as a success (the project's outcomes say
which), each with its lead, operator, campaign, the attempts it took, the time from the
application's arrival to success and the CRM answers of that call; per day; and the funnel of the
period's leads: called, reached a person, success."""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from urllib.parse import quote

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from dialer.storage.tables import ATTEMPT, LEAD, LEAD_ANSWER
from reports.query import attempts_in, days_of
from reports.rollup import call_sums
from reports.scope import Scope
from reports.shape import N_, Chart, Column, Figure, Kind, Report, Series, Table, share

PAGE = 500  # rows a page shows; exports have them all


async def successes(conn: AsyncConnection, scope: Scope, *, limit: int | None = PAGE) -> Report:
    counts = N_("Calls started in the period whose outcome counts as a success; the funnel: leads called.")
    report = Report("successes", N_("Successful applications"), counts, scope.period.first, scope.period.last)
    when = func.coalesce(ATTEMPT.c.disposed_at, ATTEMPT.c.ended_at)
    where = [*attempts_in(scope), ATTEMPT.c.success.is_(True)]
    earlier = aliased(ATTEMPT)
    needed = (
        select(func.count()).where(earlier.c.lead_id == ATTEMPT.c.lead_id, earlier.c.id <= ATTEMPT.c.id)
        .scalar_subquery()
    )  # fmt: skip
    sums = await call_sums(conn, scope)
    total = sum(row.successes for row in sums)
    query = (
        select(ATTEMPT.c.id, ATTEMPT.c.call_id, ATTEMPT.c.lead_id, ATTEMPT.c.operator, ATTEMPT.c.campaign_id,
               ATTEMPT.c.disposition, when.label("at"), LEAD.c.external_id, LEAD.c.name, LEAD.c.created_at,
               needed.label("needed"))
        .join(LEAD, LEAD.c.id == ATTEMPT.c.lead_id)
        .where(*where).order_by(ATTEMPT.c.started_at.desc(), ATTEMPT.c.id.desc())
    )  # fmt: skip
    if limit is not None:
        query = query.limit(limit)
    rows = (await conn.execute(query)).mappings().all()
    answers = await _answers(conn, [r["call_id"] for r in rows if r["call_id"]])
    listed = []
    for r in rows:
        campaign = scope.campaigns.get(r["campaign_id"])
        listed.append({
            "at": r["at"].astimezone(scope.zone).strftime("%Y-%m-%d %H:%M"),
            "lead": {"text": r["external_id"],
                     "href": f"/projects/{scope.slug}/leads/{quote(r['external_id'], safe='')}"},
            "name": r["name"] or "", "operator": r["operator"] or "",
            "campaign": campaign.name if campaign else "",
            "attempts": r["needed"], "time_to_success": (r["at"] - r["created_at"]).total_seconds(),
            "answers": answers.get(r["call_id"], ""), "attempt_id": r["id"],
            "review": {"text": N_("Listen and mark"), "href": f"/reports/calls/{r['id']}", "translate": True},
        })  # fmt: skip
    report.tables.append(Table("list", N_("Successful applications"), [
        Column("at", N_("When"), Kind.WHEN), Column("lead", N_("Application"), Kind.LINK),
        Column("name", N_("Name")), Column("operator", N_("Operator")), Column("campaign", N_("Campaign")),
        Column("attempts", N_("Attempts needed"), Kind.COUNT),
        Column("time_to_success", N_("From arrival to success"), Kind.SECONDS),
        Column("answers", N_("CRM answers")), Column("review", N_("Call review"), Kind.LINK),
    ], listed, more=max(0, total - len(listed))))  # fmt: skip

    day_of = days_of(scope)
    per_day: dict[Any, int] = defaultdict(int)
    for row in sums:
        per_day[day_of(row.hour)] += row.successes
    days = [d.day for d in scope.period.days()]
    report.charts.append(Chart("per_day", N_("Successes by day"), "bars",
                               [Series(N_("Successes"), [(d.isoformat(), float(per_day[d])) for d in days])],
                               Kind.COUNT))  # fmt: skip
    report.tables.append(Table("per_day", N_("By day"), [
        Column("day", N_("Day"), Kind.DAY), Column("successes", N_("Successes"), Kind.COUNT),
    ], [{"day": d.isoformat(), "successes": per_day[d]} for d in days],
        total={"day": N_("Total"), "successes": sum(per_day.values())}))  # fmt: skip

    called, reached, won = (await conn.execute(
        select(func.count(func.distinct(ATTEMPT.c.lead_id)),
               func.count(func.distinct(case((ATTEMPT.c.outcome == "human", ATTEMPT.c.lead_id)))),
               func.count(func.distinct(case((ATTEMPT.c.success.is_(True), ATTEMPT.c.lead_id)))))
        .where(*attempts_in(scope))
    )).one()  # fmt: skip
    arrived = int((await conn.execute(
        select(func.count()).select_from(LEAD)
        .where(LEAD.c.project_id == scope.project_id, LEAD.c.created_at >= scope.period.start,
               LEAD.c.created_at < scope.period.end)
    )).scalar() or 0)  # fmt: skip
    report.tables.append(Table("funnel", N_("Funnel"), [
        Column("step", N_("Step"), Kind.LABEL), Column("leads", N_("Leads"), Kind.COUNT),
        Column("of_called", N_("Of the leads called"), Kind.SHARE),
    ], [
        {"step": N_("Leads called"), "leads": called, "of_called": share(called, called)},
        {"step": N_("Reached a person"), "leads": reached, "of_called": share(reached, called)},
        {"step": N_("Success"), "leads": won, "of_called": share(won, called)},
    ]))  # fmt: skip
    report.figures += [
        Figure("successes", N_("Successful applications"), total),
        Figure("arrived", N_("Applications that arrived"), arrived),
        Figure("called", N_("Leads called"), called),
        Figure("reached", N_("Reached a person"), reached),
        Figure("conversion", N_("Success of the leads called"), share(won, called), Kind.SHARE),
    ]  # fmt: skip
    return report


async def _answers(conn: AsyncConnection, call_ids: list[str]) -> dict[str, str]:
    """The CRM answers saved with each call, as ``field: value`` pairs."""
    out: dict[str, list[str]] = defaultdict(list)
    for start in range(0, len(call_ids), 500):
        rows = await conn.execute(
            select(LEAD_ANSWER.c.call_id, LEAD_ANSWER.c.field, LEAD_ANSWER.c.value)
            .where(LEAD_ANSWER.c.call_id.in_(call_ids[start : start + 500]))
            .order_by(LEAD_ANSWER.c.id)
        )
        for call_id, name, value in rows.all():
            out[call_id].append(f"{name}: {value}")
    return {call_id: "; ".join(pairs) for call_id, pairs in out.items()}
