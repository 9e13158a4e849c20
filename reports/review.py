"""Call review and monthly targets: a supervisor listens to a call and marks it good or bad with a
note; an operator's monthly target in a project (productive calls, and how many of them long)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.errors import FieldError, NotFound, Rejected
from dialer.storage.tables import ATTEMPT, CALL_REVIEW, CAMPAIGN, LEAD, OPERATOR, OPERATOR_TARGET, PROJECT
from dialer.storage.types import utcnow
from reports.query import attempts_in
from reports.scope import Scope
from reports.shape import N_, Column, Kind, Table
from reports.sql import seconds_between

VERDICTS = ("good", "bad")
NOTE_LONGEST = 2000
MONTH = re.compile(r"^(20[0-9]{2})-(0[1-9]|1[0-2])$")
CALLS_LISTED = 50


@dataclass(frozen=True)
class CallToReview:
    attempt_id: int
    project_id: int
    slug: str
    lead: str
    lead_name: str | None
    phone: str
    operator: str | None
    campaign: str | None
    started_at: datetime
    talk: float | None
    disposition: str | None
    recording: bool
    verdict: str | None
    note: str | None
    reviewer: str | None
    reviewed_at: datetime | None


async def call_to_review(conn: AsyncConnection, attempt_id: int) -> CallToReview:
    """The call and its review so far; :class:`NotFound` when there is no such call."""
    talk = seconds_between(conn.dialect.name, ATTEMPT.c.connected_at, ATTEMPT.c.ended_at)
    row = (await conn.execute(
        select(ATTEMPT.c.id, LEAD.c.project_id, PROJECT.c.slug, LEAD.c.external_id, LEAD.c.name,
               ATTEMPT.c.phone, ATTEMPT.c.operator, CAMPAIGN.c.name.label("campaign"), ATTEMPT.c.started_at,
               talk.label("talk"),
               ATTEMPT.c.disposition, ATTEMPT.c.recording, CALL_REVIEW.c.verdict, CALL_REVIEW.c.note,
               CALL_REVIEW.c.reviewer, CALL_REVIEW.c.at)
        .join(LEAD, LEAD.c.id == ATTEMPT.c.lead_id).join(PROJECT, PROJECT.c.id == LEAD.c.project_id)
        .outerjoin(CAMPAIGN, CAMPAIGN.c.id == ATTEMPT.c.campaign_id)
        .outerjoin(CALL_REVIEW, CALL_REVIEW.c.attempt_id == ATTEMPT.c.id)
        .where(ATTEMPT.c.id == attempt_id)
    )).first()  # fmt: skip
    if row is None:
        raise NotFound(f"no call {attempt_id}")
    return CallToReview(
        row.id, row.project_id, row.slug, row.external_id, row.name, row.phone, row.operator, row.campaign,
        row.started_at, float(row.talk) if row.talk is not None else None, row.disposition,
        bool(row.recording),
        row.verdict, row.note, row.reviewer, row.at,
    )  # fmt: skip


async def mark(conn: AsyncConnection, attempt_id: int, *, verdict: str, note: str, reviewer: str) -> None:
    """Mark the call good or bad (again: the new mark replaces the old); :class:`Rejected` naming what
    is wrong."""
    errors = []
    if verdict not in VERDICTS:
        errors.append(FieldError(field="verdict", problem="choose good or bad", expected="good or bad"))
    if len(note) > NOTE_LONGEST:
        errors.append(FieldError(field="note", problem=f"longer than {NOTE_LONGEST} characters"))
    if errors:
        raise Rejected("the review was not saved", errors)
    values = {"verdict": verdict, "note": note.strip() or None, "reviewer": reviewer, "at": utcnow()}
    changed = await conn.execute(
        update(CALL_REVIEW).where(CALL_REVIEW.c.attempt_id == attempt_id).values(**values)
    )
    if not changed.rowcount:
        await conn.execute(insert(CALL_REVIEW).values(attempt_id=attempt_id, **values))


async def operator_calls(conn: AsyncConnection, scope: Scope, login: str) -> Table:
    """The operator's latest calls of the period, each with a link to listen to and mark it."""
    talk = seconds_between(conn.dialect.name, ATTEMPT.c.connected_at, ATTEMPT.c.ended_at)
    rows = (await conn.execute(
        select(ATTEMPT.c.id, ATTEMPT.c.connected_at, LEAD.c.external_id, talk.label("talk"),
               ATTEMPT.c.disposition, ATTEMPT.c.recording, CALL_REVIEW.c.verdict)
        .join(LEAD, LEAD.c.id == ATTEMPT.c.lead_id)
        .outerjoin(CALL_REVIEW, CALL_REVIEW.c.attempt_id == ATTEMPT.c.id)
        .where(*attempts_in(scope, ATTEMPT.c.connected_at), ATTEMPT.c.operator == login)
        .order_by(ATTEMPT.c.connected_at.desc()).limit(CALLS_LISTED)
    )).all()  # fmt: skip
    listed = [{
        "at": r.connected_at.astimezone(scope.zone).strftime("%Y-%m-%d %H:%M"), "lead": r.external_id,
        "talk": float(r.talk) if r.talk is not None else None, "outcome": scope.outcome_label(r.disposition),
        "recording": N_("yes") if r.recording else N_("no"), "verdict": r.verdict or "",
        "review": {"text": N_("Listen and mark"), "href": f"/reports/calls/{r.id}", "translate": True},
    } for r in rows]  # fmt: skip
    return Table("operator_calls", N_("The operator's calls (latest first)"), [
        Column("at", N_("When"), Kind.WHEN), Column("lead", N_("Application")),
        Column("talk", N_("Talk"), Kind.SECONDS), Column("outcome", N_("Outcome")),
        Column("recording", N_("Recorded"), Kind.LABEL), Column("verdict", N_("Mark"), Kind.LABEL),
        Column("review", N_("Call review"), Kind.LINK),
    ], listed)  # fmt: skip


async def set_target(
    conn: AsyncConnection, project_id: int, login: str, *, month: str, calls: str, long_calls: str
) -> None:
    """Set (or with 0 calls, remove) an operator's target for a month; :class:`Rejected` naming every
    wrong field. ``calls`` and ``long_calls`` as typed."""
    errors = []
    operator_id = (await conn.execute(select(OPERATOR.c.id).where(OPERATOR.c.login == login))).scalar()
    if operator_id is None:
        errors.append(FieldError(field="operator", problem=f"no operator {login[:64]!r}"))
    if not MONTH.match(month.strip()):
        errors.append(FieldError(field="month", problem=f"not a month: {month[:20]!r}", expected="YYYY-MM"))
    numbers = []
    for name, text in (("calls", calls), ("long_calls", long_calls or "0")):
        try:
            value = int(text.strip())
            if not 0 <= value <= 100_000:
                raise ValueError
            numbers.append(value)
        except ValueError:
            errors.append(FieldError(field=name, problem=f"not a whole number 0-100000: {text[:20]!r}"))
    if not errors and numbers[1] > numbers[0]:
        errors.append(FieldError(field="long_calls", problem="more than the calls"))
    if errors:
        raise Rejected("the target was not saved", errors)
    key = (OPERATOR_TARGET.c.operator_id == operator_id, OPERATOR_TARGET.c.project_id == project_id,
           OPERATOR_TARGET.c.month == month.strip())  # fmt: skip
    await conn.execute(delete(OPERATOR_TARGET).where(*key))
    if numbers[0]:
        await conn.execute(insert(OPERATOR_TARGET).values(
            operator_id=operator_id, project_id=project_id, month=month.strip(), calls=numbers[0],
            long_calls=numbers[1],
        ))  # fmt: skip
