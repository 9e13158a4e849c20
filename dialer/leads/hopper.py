"""The hopper: lease the next leads a campaign may dial now, so that no two dialers dial the same one.

Theory of operation
-------------------
:func:`next_leads` reads the campaign's queue in dialling order (due callbacks, then fresh leads,
then retries; higher priority, then older first), judges each lead with :mod:`dialer.leads.rules`
and, in the same transaction, writes the outcome: a *lease* (owner and expiry) on those to dial, the
next time worth looking for those that must wait (so they stop costing reads), or a final status
(expired, failed, dnc, with history and webhook). A lease left by a process that died expires and
the lead comes back by itself.

Concurrency: on PostgreSQL the candidate rows are locked with ``FOR UPDATE SKIP LOCKED``, so two
dialer processes take disjoint leads without waiting for each other; on SQLite the transaction starts
with ``BEGIN IMMEDIATE`` (one writer at a time), which gives the same guarantee.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dialer.accounts.projects import ProjectRef
from dialer.calling_window import preset
from dialer.errors import DialerError
from dialer.leads import dnc
from dialer.leads.rules import CAP_PERIODS, Candidate, Policy, judge
from dialer.leads.schema import NOT_QUEUED, LeadStatus
from dialer.leads.store import set_status
from dialer.storage import reading, writing
from dialer.storage.tables import ATTEMPT, CAMPAIGN, LEAD, MESSAGE, PROJECT
from dialer.storage.types import utcnow

DEFAULT_LEASE = timedelta(minutes=2)
MAX_ROUNDS = 4
_COLUMNS = (
    LEAD.c.id,
    LEAD.c.external_id,
    LEAD.c.phones,
    LEAD.c.phone_extensions,
    LEAD.c.next_phone,
    LEAD.c.attempts,
    LEAD.c.time_zone,
    LEAD.c.expires_at,
    LEAD.c.status,
    LEAD.c.name,
    LEAD.c.data,
    LEAD.c.pinned_operator,
    LEAD.c.callback_at,
)


@dataclass(frozen=True)
class Lease:
    """A lead leased to one dialer process, with the number to dial."""

    lead_id: int
    external_id: str
    campaign_id: int
    phone: str
    phone_index: int
    status: LeadStatus
    name: str | None
    data: dict[str, Any]
    pinned_operator: str | None
    callback_at: datetime | None
    owner: str
    expires_at: datetime
    extension: str | None = None
    """Digits to send as DTMF once answered (the project dials extensions and the number has one)."""


async def next_leads(
    engine: AsyncEngine,
    campaign_id: int,
    n: int,
    *,
    owner: str,
    now: datetime | None = None,
    lease_for: timedelta = DEFAULT_LEASE,
    lead_ids: Sequence[int] | None = None,
    pinned_callbacks: bool = True,
    early: bool = False,
) -> list[Lease]:
    """Lease up to ``n`` leads of the campaign that may be dialled now: only ``lead_ids`` when given;
    without the callbacks pinned to an operator when ``pinned_callbacks`` is False (the engine dials
    those operator first, see :func:`due_callbacks`); ``early``: before their next attempt is due (an
    operator calls one by hand; the calling window, the DNC list and the caps still apply)."""
    if n <= 0 or (lead_ids is not None and not lead_ids):
        return []
    now = now or utcnow()
    async with writing(engine) as conn:
        project, policy = await _policy(conn, campaign_id)
        leases: list[Lease] = []
        for _ in range(MAX_ROUNDS):
            wanted = n - len(leases)
            rows = await _candidates(
                conn, campaign_id, now, limit=max(2 * wanted, 32), lead_ids=lead_ids,
                pinned_callbacks=pinned_callbacks, early=early and lead_ids is not None,
            )  # fmt: skip
            if not rows:
                break
            leases += await _judge_batch(
                conn,
                rows,
                project=project,
                policy=policy,
                campaign_id=campaign_id,
                now=now,
                owner=owner,
                lease_until=now + lease_for,
                wanted=wanted,
            )
            if len(leases) >= n:
                break
    return leases


async def release(
    engine: AsyncEngine, lead_ids: list[int], owner: str, *, not_before: datetime | None = None
) -> None:
    """Give back leases that were not used: the leads are dialable again at once, or from
    ``not_before`` (an operator skipped the lead: it goes behind the others for a while)."""
    if not lead_ids:
        return
    values: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None}
    if not_before is not None:
        values["next_attempt_at"] = not_before
    async with writing(engine) as conn:
        await conn.execute(
            update(LEAD).where(LEAD.c.id.in_(lead_ids), LEAD.c.lease_owner == owner).values(**values)
        )


async def _policy(conn: AsyncConnection, campaign_id: int) -> tuple[ProjectRef, Policy]:
    row = (
        await conn.execute(
            select(
                CAMPAIGN.c.calling_window.label("campaign_window"),
                CAMPAIGN.c.max_attempts,
                PROJECT.c.id,
                PROJECT.c.slug,
                PROJECT.c.region,
                PROJECT.c.webhook_url,
                PROJECT.c.vanity_numbers,
                PROJECT.c.dial_extensions,
                PROJECT.c.time_zone,
                PROJECT.c.calling_window,
                PROJECT.c.holidays,
                PROJECT.c.caps_per_day,
                PROJECT.c.caps_per_week,
                PROJECT.c.caps_per_month,
                PROJECT.c.sms_counts_as_contact,
            )
            .join(PROJECT, PROJECT.c.id == CAMPAIGN.c.project_id)
            .where(CAMPAIGN.c.id == campaign_id)
        )
    ).first()
    if row is None:
        raise DialerError(f"no campaign with id {campaign_id}")
    caps = tuple(
        (period, limit)
        for period, limit in zip(
            CAP_PERIODS, (row.caps_per_day, row.caps_per_week, row.caps_per_month), strict=True
        )
        if limit
    )
    policy = Policy(
        window=preset(row.campaign_window or row.calling_window),
        project_zone=row.time_zone,
        holidays=frozenset(date.fromisoformat(d) for d in row.holidays),
        max_attempts=row.max_attempts,
        caps=caps,
        sms_contacts=row.sms_counts_as_contact,
    )
    project = ProjectRef(
        row.id, row.slug, row.region, row.webhook_url, row.vanity_numbers, row.dial_extensions
    )
    return project, policy


@dataclass(frozen=True)
class DueCallback:
    """A callback pinned to an operator whose time has come (not leased)."""

    lead_id: int
    operator: str
    callback_at: datetime


async def due_callbacks(
    engine: AsyncEngine, campaign_id: int, *, now: datetime | None = None, limit: int = 100
) -> list[DueCallback]:
    """The campaign's due callbacks pinned to an operator, oldest first; nothing is leased."""
    now = now or utcnow()
    async with reading(engine) as conn:
        rows = await conn.execute(
            select(LEAD.c.id, LEAD.c.pinned_operator, LEAD.c.callback_at, LEAD.c.next_attempt_at)
            .where(
                LEAD.c.campaign_id == campaign_id,
                LEAD.c.status == LeadStatus.CALLBACK.value,
                LEAD.c.pinned_operator.is_not(None),
                LEAD.c.next_attempt_at <= now,
                or_(LEAD.c.lease_expires_at.is_(None), LEAD.c.lease_expires_at <= now),
            )
            .order_by(LEAD.c.next_attempt_at, LEAD.c.id)
            .limit(limit)
        )
        return [
            DueCallback(row.id, row.pinned_operator, row.callback_at or row.next_attempt_at)
            for row in rows.all()
        ]


async def _candidates(
    conn: AsyncConnection,
    campaign_id: int,
    now: datetime,
    *,
    limit: int,
    lead_ids: Sequence[int] | None = None,
    pinned_callbacks: bool = True,
    early: bool = False,
) -> list[Any]:
    due = [] if early else [LEAD.c.next_attempt_at <= now]
    query = (
        select(*_COLUMNS)
        .where(
            LEAD.c.campaign_id == campaign_id,
            LEAD.c.queue_rank < NOT_QUEUED,
            *due,
            or_(LEAD.c.lease_expires_at.is_(None), LEAD.c.lease_expires_at <= now),
        )
        .order_by(LEAD.c.queue_rank, LEAD.c.priority.desc(), LEAD.c.created_at, LEAD.c.id)
        .limit(limit)
    )
    if lead_ids is not None:
        query = query.where(LEAD.c.id.in_(list(lead_ids)))
    if not pinned_callbacks:
        query = query.where(or_(LEAD.c.status != LeadStatus.CALLBACK.value, LEAD.c.pinned_operator.is_(None)))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list((await conn.execute(query)).all())


async def _judge_batch(
    conn: AsyncConnection,
    rows: list[Any],
    *,
    project: ProjectRef,
    policy: Policy,
    campaign_id: int,
    now: datetime,
    owner: str,
    lease_until: datetime,
    wanted: int,
) -> list[Lease]:
    phones = sorted({p for row in rows for p in row.phones})
    listed = await dnc.listed(conn, project.id, phones)
    contacts, busy, abandons = await _phone_activity(conn, phones, now, sms=policy.sms_contacts)
    leases: list[Lease] = []
    waits: list[dict[str, Any]] = []
    leased: list[dict[str, Any]] = []
    for row in rows:
        lead_contacts = [t for p in row.phones for t in contacts.get(p, ())]
        verdict = judge(
            Candidate(tuple(row.phones), row.next_phone, row.attempts, row.time_zone, row.expires_at),
            policy,
            now,
            dnc=listed,
            contacts=lead_contacts,
            busy=busy,
            abandoned=[t for p in row.phones for t in abandons.get(p, ())],
            operator_reserved=row.status == LeadStatus.CALLBACK and row.pinned_operator is not None,
        )
        if verdict.final is not None:
            await set_status(
                conn,
                project,
                {"id": row.id, "status": row.status, "external_id": row.external_id},
                verdict.final,
                now=now,
                reason=verdict.reason,
            )
        elif verdict.dial is not None and len(leases) < wanted:
            assert verdict.phone_index is not None
            busy.add(verdict.dial)  # the same number on two leads: only one of them now
            leased.append(
                {
                    "_id": row.id,
                    "_owner": owner,
                    "_until": lease_until,
                    "_next": (verdict.phone_index + 1) % len(row.phones),
                }
            )
            leases.append(
                Lease(
                    row.id,
                    row.external_id,
                    campaign_id,
                    verdict.dial,
                    verdict.phone_index,
                    LeadStatus(row.status),
                    row.name,
                    row.data,
                    row.pinned_operator,
                    row.callback_at,
                    owner,
                    lease_until,
                    (row.phone_extensions or {}).get(verdict.dial) if project.dial_extensions else None,
                )
            )
        elif verdict.wait_until is not None:
            waits.append({"_id": row.id, "_at": verdict.wait_until})
    if leased:
        await conn.execute(
            update(LEAD)
            .where(LEAD.c.id == bindparam("_id"))
            .values(
                lease_owner=bindparam("_owner"),
                lease_expires_at=bindparam("_until"),
                next_phone=bindparam("_next"),
            ),
            leased,
        )
    if waits:
        await conn.execute(
            update(LEAD).where(LEAD.c.id == bindparam("_id")).values(next_attempt_at=bindparam("_at")), waits
        )
    return leases


async def _phone_activity(
    conn: AsyncConnection, phones: list[str], now: datetime, *, sms: bool = False
) -> tuple[dict[str, list[datetime]], set[str], dict[str, list[datetime]]]:
    """Per number: contacts in the last 30 days (with the SMS sent to it when ``sms``), whether it is
    in a call now, abandoned calls."""
    contacts: dict[str, list[datetime]] = defaultdict(list)
    abandons: dict[str, list[datetime]] = defaultdict(list)
    busy: set[str] = set()
    if not phones:
        return contacts, busy, abandons
    since = now - max(CAP_PERIODS.values())
    rows = await conn.execute(
        select(
            ATTEMPT.c.phone,
            ATTEMPT.c.answered_at,
            ATTEMPT.c.ended_at,
            ATTEMPT.c.amd_result,
            ATTEMPT.c.abandoned,
        ).where(
            ATTEMPT.c.phone.in_(phones),
            or_(
                ATTEMPT.c.ended_at.is_(None),
                and_(ATTEMPT.c.answered_at.is_not(None), ATTEMPT.c.answered_at > since),
            ),
        )
    )
    for phone, answered_at, ended_at, amd, abandoned in rows.all():
        if ended_at is None:
            busy.add(phone)
        if answered_at is not None and amd != "machine":
            contacts[phone].append(answered_at)
            if abandoned:
                abandons[phone].append(answered_at)
    if sms:
        for phone, sent_at in await sent_sms(conn, phones, since):
            contacts[phone].append(sent_at)
    return contacts, busy, abandons


async def sent_sms(
    conn: AsyncConnection, phones: Sequence[str], since: datetime
) -> list[tuple[str, datetime]]:
    """(number, when) of every SMS that left for these numbers since ``since`` (contacts, when the
    project counts SMS as contacts)."""
    rows = await conn.execute(
        select(MESSAGE.c.recipient, MESSAGE.c.sent_at).where(
            MESSAGE.c.medium == "sms",
            MESSAGE.c.recipient.in_(list(phones)),
            MESSAGE.c.sent_at.is_not(None),
            MESSAGE.c.sent_at > since,
        )
    )
    return [(phone, sent_at) for phone, sent_at in rows.all()]
