"""Persisting attempts and moving their leads on: one row per call, the lead's next step by the
campaign's rules. Every write is one short transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.accounts.projects import ProjectRef
from dialer.campaigns import Outcome, retry_delay
from dialer.engine.telephony import Charge
from dialer.errors import FieldError, Rejected
from dialer.leads.hopper import Lease
from dialer.leads.schema import LeadStatus
from dialer.leads.store import set_status
from dialer.storage import reading, writing
from dialer.storage.tables import ATTEMPT, CAMPAIGN, LEAD, LEAD_EVENT, SCRIPT

DispositionOutcome = Literal["completed", "not_interested", "wrong_number", "callback", "retry"]
"""What the operator says came of a connected call (the one definition: the API takes these);
``retry``: call again by the campaign's delays (the person could not talk, nobody recorded anything)."""
AmdReview = Literal["person", "machine"]
"""Who answered a machine verdict let through for review, as the operator heard it."""


@dataclass(frozen=True)
class Disposition:
    """What the operator recorded for the call: an outcome, notes, and a callback time when asked."""

    operator: str
    outcome: DispositionOutcome = "completed"
    notes: str | None = None
    callback_at: datetime | None = None
    amd_review: AmdReview | None = None
    """For a machine verdict let through for review: "person" or "machine", as the operator heard it."""
    code: str | None = None
    """The project's outcome code (``dialer.workplace_settings``); the outcome itself when None."""
    reason: str | None = None
    success: bool = False
    """The outcome counts as a successful application."""

    def check(self, now: datetime) -> None:
        """The rules a disposition must follow; :class:`~dialer.errors.Rejected` naming the field."""
        if (self.outcome == "callback") != (self.callback_at is not None):
            raise Rejected("the disposition was rejected", [FieldError(
                field="callback_at", problem="goes with outcome 'callback', and only with it",
                expected="an ISO 8601 instant with its offset")])  # fmt: skip
        if self.callback_at is not None and self.callback_at <= now:
            error = FieldError(field="callback_at", problem="in the past", expected="a future instant")
            raise Rejected("the disposition was rejected", [error])


async def started(
    engine: AsyncEngine, lease: Lease, call_id: str, *, at: datetime, trunk: str | None = None
) -> int:
    """An attempt row for a call about to be placed (with the Call-ID it will carry); the lead's
    attempt count goes up."""
    # the campaign's script as it is now: the call keeps this version even if the script changes
    version = (
        select(SCRIPT.c.current_version)
        .join(CAMPAIGN, (CAMPAIGN.c.project_id == SCRIPT.c.project_id) & (CAMPAIGN.c.script == SCRIPT.c.name))
        .where(CAMPAIGN.c.id == lease.campaign_id)
        .scalar_subquery()
    )
    async with writing(engine) as conn:
        result = await conn.execute(
            insert(ATTEMPT).values(
                lead_id=lease.lead_id, campaign_id=lease.campaign_id, phone=lease.phone, trunk=trunk,
                call_id=call_id, started_at=at, abandoned=False, script_version=version,
                callback_for=lease.pinned_operator if lease.status is LeadStatus.CALLBACK else None,
            )
        )  # fmt: skip
        await conn.execute(
            update(LEAD).where(LEAD.c.id == lease.lead_id).values(attempts=LEAD.c.attempts + 1)
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])


async def withdrawn(engine: AsyncEngine, attempt_id: int) -> None:
    """The call of a just-started attempt could not be placed at all: the row goes, and so does the
    lead's count for it."""
    async with writing(engine) as conn:
        lead_id = (
            await conn.execute(select(ATTEMPT.c.lead_id).where(ATTEMPT.c.id == attempt_id))
        ).scalar_one()
        await conn.execute(delete(ATTEMPT).where(ATTEMPT.c.id == attempt_id))
        await conn.execute(update(LEAD).where(LEAD.c.id == lead_id).values(attempts=LEAD.c.attempts - 1))


async def answered(
    engine: AsyncEngine,
    attempt_id: int,
    *,
    at: datetime,
    machine: bool,
    amd: str | None = None,
    confidence: float | None = None,
    sampled: bool = False,
) -> None:
    """The call was answered; ``amd`` and ``confidence``: the detector's verdict when it ran;
    ``sampled``: judged a machine but let through to an operator to check the detector."""
    async with writing(engine) as conn:
        values = {
            "answered_at": at,
            "amd_result": amd or ("machine" if machine or sampled else None),
            "amd_confidence": confidence,
            "amd_sampled": sampled,
        }
        await conn.execute(update(ATTEMPT).where(ATTEMPT.c.id == attempt_id).values(**values))


async def connected(
    engine: AsyncEngine, attempt_id: int, *, at: datetime, operator: str, waited: float
) -> None:
    async with writing(engine) as conn:
        await conn.execute(
            update(ATTEMPT)
            .where(ATTEMPT.c.id == attempt_id)
            .values(connected_at=at, operator=operator, wait_to_operator=waited)
        )


async def finished(
    engine: AsyncEngine,
    project: ProjectRef,
    attempt_id: int,
    *,
    at: datetime,
    outcome: str,
    max_attempts: int,
    retry_delays: dict[str, int],
    status: int | None = None,
    abandoned: bool = False,
    waited: float | None = None,
    disposition: Disposition | None = None,
    charge: Charge | None = None,
    recording: str | None = None,
    disposed_at: datetime | None = None,
) -> LeadStatus:
    """Close the attempt with ``outcome`` and move its lead on; returns the lead's new status.

    ``human`` (talked to an operator) -> the operator's disposition decides (callback: pinned to the
    operator at the time asked; wrong number: failed; otherwise done); ``abandoned`` -> retry after
    the campaign's delay (72 h by default); busy, no_answer, machine, failed -> retry after their
    delays, or failed once the campaign's attempts are used up.
    """
    async with writing(engine) as conn:
        values: dict[str, object] = {
            "ended_at": at, "outcome": outcome, "sip_status": status, "abandoned": abandoned,
        }  # fmt: skip
        if waited is not None:
            values["wait_to_operator"] = waited
        values |= _review(disposition)
        if disposition is not None:
            values |= {"disposition": disposition.code or disposition.outcome, "success": disposition.success,
                       "disposition_reason": disposition.reason,
                       "disposed_at": disposed_at or at}  # fmt: skip
        if charge is not None:
            billing = {"trunk": charge.trunk, "cost": charge.cost, "billed_seconds": charge.billed_seconds,
                       "tariff_prefix": charge.tariff, "connection_fee": charge.fee}  # fmt: skip
            values |= {key: value for key, value in billing.items() if value is not None}
        if recording is not None:
            values["recording"] = recording
        await conn.execute(update(ATTEMPT).where(ATTEMPT.c.id == attempt_id).values(**values))
        row = (
            await conn.execute(
                select(LEAD.c.id, LEAD.c.status, LEAD.c.external_id, LEAD.c.attempts)
                .join(ATTEMPT, ATTEMPT.c.lead_id == LEAD.c.id)
                .where(ATTEMPT.c.id == attempt_id)
            )
        ).one()
        new, next_at, reason = _next_step(
            outcome, disposition, row.attempts, max_attempts, retry_delays=retry_delays, at=at
        )
        pinned: dict[str, object] = {}
        if new is LeadStatus.CALLBACK and disposition is not None:
            pinned = {"callback_at": next_at, "pinned_operator": disposition.operator}
        mapping = {"id": row.id, "status": row.status, "external_id": row.external_id}
        if new.value != row.status:
            await set_status(conn, project, mapping, new, now=at, reason=reason)
        if disposition is not None:
            detail: dict[str, object] = {
                "operator": disposition.operator,
                "outcome": disposition.outcome,
                "notes": disposition.notes,
            }
            extra = {"code": disposition.code, "reason": disposition.reason, "success": disposition.success}
            detail |= {key: value for key, value in extra.items() if value}
            await conn.execute(
                insert(LEAD_EVENT), [{"lead_id": row.id, "at": at, "kind": "disposition", "detail": detail}]
            )
        values2: dict[str, object] = {"lease_owner": None, "lease_expires_at": None, **pinned}
        if next_at is not None:
            values2["next_attempt_at"] = next_at
        await conn.execute(update(LEAD).where(LEAD.c.id == row.id).values(**values2))
        return new


def _next_step(  # noqa: PLR0911 (one return per rule)
    outcome: str, disposition: Disposition | None, made: int, max_attempts: int, *,
    retry_delays: dict[str, int], at: datetime,
) -> tuple[LeadStatus, datetime | None, str]:  # fmt: skip
    """Where the lead goes after an attempt that ended with ``outcome``: its status, when it is due
    again, and the reason for its history."""
    said = disposition.code or disposition.outcome if disposition else None
    if outcome == "human" and disposition is not None and disposition.callback_at is not None:
        at_time = disposition.callback_at
        return (
            LeadStatus.CALLBACK,
            at_time,
            f"callback at {at_time:%Y-%m-%d %H:%M} UTC with {disposition.operator}",
        )
    if outcome == "human" and disposition is not None and disposition.outcome == "wrong_number":
        return LeadStatus.FAILED, None, f"wrong number (operator {disposition.operator})"
    if outcome == "human" and disposition is not None and disposition.outcome == "retry":
        if made >= max_attempts:
            return LeadStatus.FAILED, None, f"{made} attempts, the last without a result ({said})"
        later = at + timedelta(seconds=retry_delay(retry_delays, Outcome.NO_ANSWER))
        return LeadStatus.RETRY, later, f"talked, to call again ({said}); next at {later:%Y-%m-%d %H:%M} UTC"
    if outcome == "human":
        return LeadStatus.DONE, None, f"talked to an operator ({said})" if said else "talked to an operator"
    if made >= max_attempts and outcome != "abandoned":
        return LeadStatus.FAILED, None, f"{made} attempts, the last {outcome}"
    later = at + timedelta(seconds=retry_delay(retry_delays, Outcome(outcome)))
    return LeadStatus.RETRY, later, f"{outcome}; next attempt at {later:%Y-%m-%d %H:%M} UTC"


async def live_answers(
    engine: AsyncEngine, campaign_id: int, *, since: datetime
) -> list[tuple[datetime, bool]]:
    """(answered at, abandoned) of the campaign's calls a person answered since ``since``: the calls
    the legal abandon rate counts (talked to an operator, or abandoned)."""
    async with reading(engine) as conn:
        rows = await conn.execute(
            select(ATTEMPT.c.answered_at, ATTEMPT.c.abandoned)
            .where(
                ATTEMPT.c.campaign_id == campaign_id,
                ATTEMPT.c.answered_at >= since,
                ATTEMPT.c.outcome.in_(("human", "abandoned")),
            )
            .order_by(ATTEMPT.c.answered_at)
        )
        return [(answered_at, bool(abandoned)) for answered_at, abandoned in rows.all()]


def _review(disposition: Disposition | None) -> dict[str, object]:
    """The operator's mark on a sampled machine verdict, for the attempt row."""
    if disposition is None or disposition.amd_review is None:
        return {}
    return {"amd_review": disposition.amd_review}


async def amd_reviews(engine: AsyncEngine, campaign_id: int, *, since: datetime) -> tuple[int, int]:
    """(reviewed machine verdicts, of which people) of the campaign's attempts since ``since``."""
    async with reading(engine) as conn:
        rows = (
            await conn.execute(
                select(ATTEMPT.c.amd_review)
                .where(ATTEMPT.c.campaign_id == campaign_id, ATTEMPT.c.started_at >= since)
                .where(ATTEMPT.c.amd_review.is_not(None))
            )
        ).all()
    return len(rows), sum(1 for (review,) in rows if review == "person")


async def machine_verdicts(engine: AsyncEngine, campaign_id: int, *, since: datetime) -> list[datetime]:
    """When the campaign's calls judged machines (and hung up as such) were answered, since ``since``."""
    async with reading(engine) as conn:
        rows = (
            await conn.execute(
                select(ATTEMPT.c.answered_at).where(
                    ATTEMPT.c.campaign_id == campaign_id,
                    ATTEMPT.c.answered_at >= since,
                    ATTEMPT.c.outcome == "machine",
                )
            )
        ).all()
    return [at for (at,) in rows]


async def close_interrupted(
    engine: AsyncEngine,
    project: ProjectRef,
    *,
    at: datetime,
    retry_after: int = 60,
    owner: str | None = None,
    attempt_ids: Sequence[int] | None = None,
    reason: str = "dialer restarted mid-call",
) -> int:
    """After a crash: close the project's attempts left open as ``interrupted`` and put their leads
    back in the queue (their leases cleared, next attempt after ``retry_after`` seconds). Run once at
    start, before dialling; returns how many attempts were closed.

    With ``owner`` (the restarted process's stable instance name) only the attempts of leads leased
    by that instance are closed, and its other leases are given back: other dialer processes sharing
    the database keep their calls. With ``attempt_ids`` only those are closed (a stopping loop's calls
    whose ending never came)."""
    async with writing(engine) as conn:
        query = (
            select(ATTEMPT.c.id, ATTEMPT.c.lead_id, LEAD.c.status, LEAD.c.external_id)
            .join(LEAD, LEAD.c.id == ATTEMPT.c.lead_id)
            .where(ATTEMPT.c.ended_at.is_(None), LEAD.c.project_id == project.id)
        )
        if owner is not None:
            query = query.where(LEAD.c.lease_owner == owner)
        if attempt_ids is not None:
            query = query.where(ATTEMPT.c.id.in_(list(attempt_ids)))
        open_rows = (await conn.execute(query)).all()
        for attempt_id, lead_id, status, external_id in open_rows:
            await conn.execute(
                update(ATTEMPT).where(ATTEMPT.c.id == attempt_id).values(ended_at=at, outcome="interrupted")
            )
            if status in (LeadStatus.NEW, LeadStatus.RETRY, LeadStatus.CALLBACK):
                target = LeadStatus(status) if status == LeadStatus.CALLBACK else LeadStatus.RETRY
                if target.value != status:
                    mapping = {"id": lead_id, "status": status, "external_id": external_id}
                    await set_status(conn, project, mapping, target, now=at, reason=reason)
                await conn.execute(
                    update(LEAD)
                    .where(LEAD.c.id == lead_id)
                    .values(
                        lease_owner=None,
                        lease_expires_at=None,
                        next_attempt_at=at + timedelta(seconds=retry_after),
                    )
                )
        if owner is not None:
            await conn.execute(
                update(LEAD)
                .where(LEAD.c.project_id == project.id, LEAD.c.lease_owner == owner)
                .values(lease_owner=None, lease_expires_at=None)
            )
        return len(open_rows)
