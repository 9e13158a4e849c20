"""Costs: calls per trunk and direction (the tariff prefix that billed them), messages per channel,
what a connected call and a successful application cost, by day, and the campaigns' budgets.

A call's cost is what its trunk's tariff billed when it ended: the connection fee plus the price per
minute of the seconds billed by the tariff's increments (``sip.routing.call_cost``). A message's cost
is what its gateway answered.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.campaigns import spent
from dialer.storage.tables import MESSAGE
from reports.query import day_bucket, days_of
from reports.rollup import call_sums, money
from reports.scope import Scope
from reports.shape import N_, Chart, Column, Figure, Kind, Report, Series, Table, share

ZERO = Decimal(0)


async def costs(conn: AsyncConnection, scope: Scope) -> Report:
    counts = N_(
        "Calls started in the period (their trunk's tariff) and messages sent in it (their gateway's price)."
    )
    report = Report("costs", N_("Costs"), counts, scope.period.first, scope.period.last)
    days = {d.day: {"calls": ZERO, "sms": ZERO, "email": ZERO} for d in scope.period.days()}
    day_of = days_of(scope)
    trunks: dict[tuple[str, str], Line] = {}
    connected = successes = 0
    for row in await call_sums(conn, scope):
        trunk, prefix = row.trunk, row.tariff_prefix
        line = trunks.setdefault((trunk or "", prefix if prefix is not None else "-"),
                                 Line(trunk or N_("not placed"), _direction(prefix)))  # fmt: skip
        cost = money(row.cost)
        line.add(row.calls, row.answered, int(row.billed_seconds or 0), money(row.connection_fee), cost)
        day = day_of(row.hour)
        if day in days:
            days[day]["calls"] += cost
        connected += row.connected
        successes += row.successes
    lines = sorted(trunks.values(), key=lambda line: (line.trunk, line.direction))
    total_line = Line(N_("Total"), "")
    for line in lines:
        total_line.add(line.calls, line.answered, line.billed, line.fees, line.cost)
    calls_cost = total_line.cost
    report.tables.append(Table("calls", N_("Calls by trunk and direction"), [
        Column("trunk", N_("Trunk"), Kind.LABEL),
        Column("direction", N_("Direction (tariff prefix)"), Kind.LABEL),
        Column("calls", N_("Calls"), Kind.COUNT), Column("answered", N_("Answered"), Kind.COUNT),
        Column("minutes", N_("Billed minutes"), Kind.NUMBER),
        Column("fees", N_("Connection fees"), Kind.MONEY), Column("cost", N_("Cost"), Kind.MONEY),
    ], [line.row() for line in lines], total=total_line.row()))  # fmt: skip

    message_rows, messages_cost = await _messages(conn, scope, days)
    report.tables.append(Table("messages", N_("Messages by channel"), [
        Column("medium", N_("Medium"), Kind.LABEL), Column("channel", N_("Channel")),
        Column("messages", N_("Messages"), Kind.COUNT), Column("parts", N_("SMS parts"), Kind.COUNT),
        Column("cost", N_("Cost"), Kind.MONEY),
    ], message_rows, total={
        "medium": N_("Total"), "channel": "", "messages": sum(r["messages"] for r in message_rows),
        "parts": sum(r["parts"] for r in message_rows), "cost": messages_cost,
    }))  # fmt: skip
    total = calls_cost + messages_cost
    report.figures += [
        Figure("total", N_("Total cost"), total, Kind.MONEY),
        Figure("calls_cost", N_("Calls"), calls_cost, Kind.MONEY),
        Figure("messages_cost", N_("Messages"), messages_cost, Kind.MONEY),
        Figure("per_connected", N_("Per call connected to an operator"), _per(calls_cost, connected),
               Kind.MONEY),
        Figure("per_success", N_("Per successful application"), _per(total, successes), Kind.MONEY),
    ]  # fmt: skip
    report.charts.append(Chart("by_day", N_("Cost by day"), "bars", [
        Series(N_("Calls"), [(d.isoformat(), float(v["calls"])) for d, v in days.items()]),
        Series(N_("SMS"), [(d.isoformat(), float(v["sms"])) for d, v in days.items()]),
        Series(N_("Email"), [(d.isoformat(), float(v["email"])) for d, v in days.items()]),
    ], Kind.MONEY))  # fmt: skip
    report.tables.append(await _budgets(conn, scope))
    return report


@dataclass
class Line:
    """Calls of one trunk and direction."""

    trunk: str
    direction: str
    calls: int = 0
    answered: int = 0
    billed: int = 0  # seconds
    fees: Decimal = ZERO
    cost: Decimal = ZERO

    def add(self, calls: int, answered: int, billed: int, fees: Decimal, cost: Decimal) -> None:
        self.calls += calls
        self.answered += answered
        self.billed += billed
        self.fees += fees
        self.cost += cost

    def row(self) -> dict[str, Any]:
        return {"trunk": self.trunk, "direction": self.direction, "calls": self.calls,
                "answered": self.answered, "minutes": round(self.billed / 60, 2), "fees": self.fees,
                "cost": self.cost}  # fmt: skip


def _direction(prefix: str | None) -> str:
    if prefix is None:
        return N_("not billed")
    return f"+{prefix}" if prefix else N_("any number")


def _per(cost: Decimal, count: int) -> Decimal | None:
    return (cost / count).quantize(Decimal("0.0001")) if count else None


async def _messages(
    conn: AsyncConnection, scope: Scope, days: dict[date, dict[str, Decimal]]
) -> tuple[list[dict[str, Any]], Decimal]:
    """Messages of the project sent in the period, by medium and channel (all campaigns: a message
    belongs to a lead, not a call)."""
    when = MESSAGE.c.sent_at
    where = [MESSAGE.c.project_id == scope.project_id, when >= scope.period.start, when < scope.period.end]
    if scope.operator:
        where.append(MESSAGE.c.operator == scope.operator)
    if scope.trunk:
        return [], ZERO  # a trunk carries calls only
    bucket, day_of = day_bucket(conn, scope, when)
    rows = await conn.execute(
        select(bucket, MESSAGE.c.medium, MESSAGE.c.channel, func.count(), func.sum(MESSAGE.c.parts),
               func.sum(MESSAGE.c.cost))
        .where(*where, or_(MESSAGE.c.status.in_(("sent", "delivered")), MESSAGE.c.cost.is_not(None)))
        .group_by(bucket, MESSAGE.c.medium, MESSAGE.c.channel)
    )  # fmt: skip
    found: dict[tuple[str, str], list[int | Decimal]] = defaultdict(lambda: [0, 0, ZERO])
    total = ZERO
    for text, medium, channel, count, parts, cost in rows.all():
        line = found[(medium, channel)]
        line[0] += count
        line[1] += int(parts or 0)
        line[2] += money(cost)
        total += money(cost)
        day = day_of(text)
        if day in days and medium in ("sms", "email"):
            days[day][medium] += money(cost)
    lines = [{"medium": medium, "channel": channel, "messages": found[(medium, channel)][0],
              "parts": found[(medium, channel)][1], "cost": found[(medium, channel)][2]}
             for medium, channel in sorted(found)]  # fmt: skip
    return lines, total


async def _budgets(conn: AsyncConnection, scope: Scope) -> Table:
    """Every campaign with a budget: what its calls have cost so far (all time) and what is left."""
    with_budget = [c for c in scope.campaigns.values() if c.budget is not None and c.id in scope.chosen]
    used_by = await spent(conn, [c.id for c in with_budget]) if with_budget else {}
    rows_out = []
    for campaign in with_budget:
        budget = money(campaign.budget)
        used = used_by.get(campaign.id, ZERO)
        rows_out.append({
            "campaign": campaign.name, "budget": budget, "spent": used, "left": max(budget - used, ZERO),
            "used": share(float(used), float(budget)), "status": campaign.status_reason or campaign.status,
        })  # fmt: skip
    return Table("budgets", N_("Campaign budgets (spent so far, all time)"), [
        Column("campaign", N_("Campaign")), Column("budget", N_("Budget"), Kind.MONEY),
        Column("spent", N_("Spent"), Kind.MONEY), Column("left", N_("Left"), Kind.MONEY),
        Column("used", N_("Used"), Kind.SHARE), Column("status", N_("Status"), Kind.LABEL),
    ], rows_out)  # fmt: skip
