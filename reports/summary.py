# ruff: noqa: RUF001, E501  (the email speaks Russian; its words are a table)
"""The daily summary by email: a supervisor subscribes to a project's summary at a local time of
its zone; after that time each day, yesterday's key figures of the four reports go out through the
messaging outbox (queued once per day: the idempotency key is the project, the person and the day).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dialer.config_channels import ChannelSettings
from dialer.errors import DialerError, FieldError, Rejected
from dialer.storage import reading, writing
from dialer.storage.tables import OPERATOR, PROJECT, SUMMARY_SUBSCRIPTION
from dialer.storage.types import utcnow
from reports.costs import costs
from reports.effectiveness import effectiveness
from reports.operators import operators
from reports.period import zone_of
from reports.scope import scope_of
from reports.successes import successes
from sms_email.store import queue_system_email

log = structlog.get_logger(__name__)
HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
LOOK_EVERY = 60.0  # seconds between two looks for summaries due


async def subscribe(conn: AsyncConnection, project_id: int, operator_id: int, at_local: str | None) -> None:
    """Send the person the project's summary daily at ``at_local`` (HH:MM in the project's zone);
    None or empty: stop sending it."""
    key = (SUMMARY_SUBSCRIPTION.c.project_id == project_id, SUMMARY_SUBSCRIPTION.c.operator_id == operator_id)
    if not at_local:
        await conn.execute(delete(SUMMARY_SUBSCRIPTION).where(*key))
        return
    at_local = at_local.strip()
    if not HHMM.match(at_local):
        raise Rejected("the summary's time is wrong",
                       [FieldError(field="at", problem=f"not a time: {at_local[:10]!r}", expected="HH:MM")])  # fmt: skip
    email = (await conn.execute(select(OPERATOR.c.email).where(OPERATOR.c.id == operator_id))).scalar()
    if not email:
        raise Rejected("you have no email address to send the summary to",
                       [FieldError(field="at", problem="no email address on your account")])  # fmt: skip
    changed = await conn.execute(update(SUMMARY_SUBSCRIPTION).where(*key).values(at_local=at_local))
    if not changed.rowcount:
        await conn.execute(insert(SUMMARY_SUBSCRIPTION).values(project_id=project_id, operator_id=operator_id,
                                                               at_local=at_local))  # fmt: skip


async def subscribed_at(conn: AsyncConnection, project_id: int, operator_id: int) -> str | None:
    return (await conn.execute(
        select(SUMMARY_SUBSCRIPTION.c.at_local).where(SUMMARY_SUBSCRIPTION.c.project_id == project_id,
                                                      SUMMARY_SUBSCRIPTION.c.operator_id == operator_id)
    )).scalar()  # fmt: skip


@dataclass(frozen=True)
class Due:
    project: Mapping[Any, Any]
    operator_id: int
    email: str
    locale: str | None
    day: date  # the local day summarised (yesterday in the project's zone)
    today: date


async def due(conn: AsyncConnection, now: datetime) -> list[Due]:
    """Subscriptions whose local time has come today and whose summary of yesterday is not sent."""
    rows = (await conn.execute(
        select(SUMMARY_SUBSCRIPTION, OPERATOR.c.email, OPERATOR.c.locale, OPERATOR.c.active)
        .join(OPERATOR, OPERATOR.c.id == SUMMARY_SUBSCRIPTION.c.operator_id)
    )).mappings().all()  # fmt: skip
    projects = {r["id"]: r for r in (await conn.execute(select(PROJECT))).mappings().all()}
    out = []
    for row in rows:
        project = projects.get(row["project_id"])
        if project is None or not row["email"] or not row["active"]:
            continue
        try:
            local = now.astimezone(zone_of(project["time_zone"]))
        except Rejected:
            continue
        today = local.date()
        if local.strftime("%H:%M") >= row["at_local"] and row["last_sent_on"] != today.isoformat():
            out.append(Due(project, row["operator_id"], row["email"], row["locale"], today - timedelta(days=1),
                           today))  # fmt: skip
    return out


WORDS = {
    "ru": {"subject": "Сводка за {day}: {project}", "calls": "Звонков", "answer_rate": "Дозвон",
           "abandon_rate": "Брошенные", "successes": "Успешных заявок", "conversion": "Успех из обзвоненных",
           "cost": "Расходы", "per_success": "На успешную заявку", "operators": "Операторы",
           "handled": "звонков", "occupancy": "занятость", "link": "Отчёты"},
    "en": {"subject": "Summary of {day}: {project}", "calls": "Calls placed", "answer_rate": "Answer rate",
           "abandon_rate": "Abandon rate", "successes": "Successful applications",
           "conversion": "Success of the leads called", "cost": "Costs", "per_success": "Per successful application",
           "operators": "Operators", "handled": "calls", "occupancy": "occupancy", "link": "Reports"},
}  # fmt: skip


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:.2f}"


async def compose(conn: AsyncConnection, item: Due, base_url: str) -> tuple[str, str]:
    """The summary's subject and text in the person's language (Russian unless English is theirs)."""
    language = "en" if item.locale == "en" else "ru"
    w = WORDS[language]
    day = item.day.isoformat()
    scope = await scope_of(conn, item.project, {"from": day, "to": day}, today=item.today)
    spent, won = await costs(conn, scope), await successes(conn, scope, limit=0)
    dialer, staff = await effectiveness(conn, scope), await operators(conn, scope)
    lines = [
        f"{item.project['name']} — {day}",
        "",
        f"{w['calls']}: {dialer.figure('attempts')}; {w['answer_rate']}: {_pct(dialer.figure('answer_rate'))}; "
        f"{w['abandon_rate']}: {_pct(dialer.figure('abandon_rate'))}",
        f"{w['successes']}: {won.figure('successes')}; {w['conversion']}: {_pct(won.figure('conversion'))}",
        f"{w['cost']}: {_money(spent.figure('total'))}; {w['per_success']}: {_money(spent.figure('per_success'))}",
        "",
        f"{w['operators']}:",
    ]  # fmt: skip
    occupancy = {r["login"]: r["occupancy"] for r in staff.table("time").rows}
    for row in staff.table("calls").rows:
        lines.append(f"  {row['login']}: {row['calls']} {w['handled']}, {w['occupancy']} "
                     f"{_pct(occupancy.get(row['login']))}")  # fmt: skip
    query = f"project={item.project['slug']}&from={day}&to={day}"
    lines += ["", f"{w['link']}: {base_url}/reports/effectiveness?{query}"]
    return w["subject"].format(day=day, project=item.project["name"]), "\n".join(lines) + "\n"


class SummaryMailer:
    """Queues the daily summaries that are due, once a minute, until stopped."""

    def __init__(self, db: AsyncEngine, channels: Mapping[str, ChannelSettings], base_url: str) -> None:
        self.db = db
        self.channels = channels
        self.base_url = base_url.rstrip("/")

    async def send_due(self, now: datetime | None = None) -> int:
        now = now or utcnow()
        async with reading(self.db) as conn:
            items = await due(conn, now)
        sent = 0
        for item in items:
            async with writing(self.db) as conn:
                subject, body = await compose(conn, item, self.base_url)
                try:
                    await queue_system_email(
                        conn, self.channels, to=item.email, subject=subject, body=body,
                        key=f"summary:{item.project['id']}:{item.operator_id}:{item.day}", now=now,
                    )  # fmt: skip
                except DialerError as exc:
                    log.warning("daily summary not queued", project=item.project["slug"], error=str(exc))
                await conn.execute(
                    update(SUMMARY_SUBSCRIPTION)
                    .where(SUMMARY_SUBSCRIPTION.c.project_id == item.project["id"],
                           SUMMARY_SUBSCRIPTION.c.operator_id == item.operator_id)
                    .values(last_sent_on=item.today.isoformat())
                )  # fmt: skip
            sent += 1
        return sent

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.send_due()
            except Exception:
                log.exception("daily summaries failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), LOOK_EVERY)
