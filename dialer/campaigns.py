"""Campaigns: a dialer within a project (mode, trunk, caller id, limits, retry rules) and its state.

A campaign is created ``paused``; ``start`` makes the engine dial it, ``pause`` stops launching new
calls for a while, ``stop`` ends it (it can be started again).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
)
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dialer.accounts.projects import ProjectRef
from dialer.calling_window import PresetName
from dialer.errors import Conflict, NotFound
from dialer.storage import writing
from dialer.storage.tables import ATTEMPT, CALL_HOUR, CAMPAIGN, ROLLUP_MARK
from dialer.storage.types import utcnow


class Outcome(StrEnum):
    """How a call ended, for retry rules."""

    BUSY = "busy"
    NO_ANSWER = "no_answer"
    MACHINE = "machine"
    FAILED = "failed"
    ABANDONED = "abandoned"
    INTERRUPTED = "interrupted"


DEFAULT_RETRY_DELAYS: dict[Outcome, int] = {
    Outcome.BUSY: 300,
    Outcome.NO_ANSWER: 1800,
    Outcome.MACHINE: 3600,
    Outcome.FAILED: 600,
    Outcome.ABANDONED: 72 * 3600,  # an abandoned person is not called again for 72 h
    Outcome.INTERRUPTED: 60,
}


class CampaignMode(StrEnum):
    """How a campaign's calls start: paced by the dialer (predictive, progressive) or by operators."""

    PREDICTIVE = "predictive"  # several calls per free operator, as many as the abandon limit allows
    PROGRESSIVE = "progressive"  # one call per free operator
    PREVIEW = "preview"  # the operator reads the lead's card, then starts or skips the call
    CALLBACK = "callback"  # only callbacks that operators have asked for

    @property
    def paced(self) -> bool:
        """The dialer decides when calls start (a pacer runs)."""
        return self in (CampaignMode.PREDICTIVE, CampaignMode.PROGRESSIVE)


class CampaignStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


ACTIONS = {"start": CampaignStatus.RUNNING, "pause": CampaignStatus.PAUSED, "stop": CampaignStatus.STOPPED}


ABANDON_LIMIT = 0.03


def _abandon_fraction(value: float) -> float:
    if value > ABANDON_LIMIT:
        percent = f"; {value:g} looks like a percentage" if value >= 1 else ""
        raise ValueError(
            f"the target is a fraction of live answered calls (0.03 means 3 %), at most {ABANDON_LIMIT}"
            f"{percent}"
        )
    return value


class CampaignIn(BaseModel):
    """A campaign's settings; fields left out take their defaults."""

    model_config = ConfigDict(extra="forbid")

    mode: CampaignMode = CampaignMode.PREDICTIVE
    trunk: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")] | None = None
    caller_id: Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{3,20}$")] | None = None
    script: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    calling_window: PresetName | None = Field(default=None, description="preset; none: the project's")
    ring_timeout: StrictFloat = Field(
        default=25.0, ge=15.0, le=120.0, description="seconds; the law wants >= 15"
    )
    abandon_target: Annotated[StrictFloat, AfterValidator(_abandon_fraction)] = Field(
        default=0.03,
        gt=0.0,
        json_schema_extra={"maximum": ABANDON_LIMIT},
        description="a fraction of live answered calls: 0.03 means 3 %, the legal maximum",
    )
    abandon_window: Literal["30d", "24h"] = "30d"
    max_attempts: StrictInt = Field(default=5, ge=1, le=100)
    retry_delays: dict[Outcome, Annotated[StrictInt, Field(ge=0, le=90 * 86400)]] = Field(
        default_factory=dict, description="seconds before the next attempt, per outcome"
    )
    priority: StrictInt = Field(default=0, ge=-100, le=100)
    wrap_up: StrictFloat = Field(
        default=15.0, ge=0.0, le=900.0, description="seconds of after-call work before the next call"
    )
    callback_grace: StrictInt = Field(
        default=600, ge=0, le=86400,
        description="seconds a due callback waits for its operator before another one takes it",
    )  # fmt: skip
    callback_policy: Literal["then_anyone", "pinned_only"] = Field(
        default="then_anyone", description="after the grace period: any operator, or keep waiting"
    )
    amd: StrictBool = Field(default=False, description="answering-machine detection on answered calls")
    amd_action: Literal["hangup", "message"] = Field(
        default="hangup", description="for a machine: hang up, or leave the safe-harbor message"
    )
    amd_sample: StrictFloat = Field(
        default=0.0,
        ge=0.0,
        le=0.5,
        description="share (0-0.5) of machine verdicts let through to an operator (when one is free), who "
        "marks person or machine: the estimated share of people hung up on counts against the abandon limit",
    )
    budget: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)] | None = Field(
        default=None,
        description="the most its calls may cost (the tariffs' currency); once spent, the campaign pauses",
    )


class CampaignOut(CampaignIn):
    name: str
    status: CampaignStatus
    status_reason: str | None = Field(default=None, description="why the dialer paused it by itself")
    created_at: datetime


class CampaignList(BaseModel):
    campaigns: list[CampaignOut]


def retry_delay(delays: dict[str, int], outcome: Outcome) -> int:
    """Seconds to wait after ``outcome``: the campaign's rule, else the default."""
    return int(delays.get(outcome.value, DEFAULT_RETRY_DELAYS[outcome]))


def _out(row: Any) -> CampaignOut:
    return CampaignOut.model_validate(
        {k: row[k] for k in (*CampaignIn.model_fields, "name", "status", "status_reason", "created_at")}
    )


async def put(
    conn: AsyncConnection, project: ProjectRef, name: str, settings: CampaignIn
) -> tuple[bool, CampaignOut]:
    """Create the campaign or replace its settings (its status is kept); True when created."""
    values = settings.model_dump(mode="json")
    existing = (
        await conn.execute(
            select(CAMPAIGN.c.id).where(CAMPAIGN.c.project_id == project.id, CAMPAIGN.c.name == name)
        )
    ).first()
    if existing is None:
        await conn.execute(
            insert(CAMPAIGN),
            [{**values, "project_id": project.id, "name": name, "status": "paused", "created_at": utcnow()}],
        )
    else:
        await conn.execute(update(CAMPAIGN).where(CAMPAIGN.c.id == existing.id).values(**values))
    return existing is None, await get(conn, project, name)


async def get(conn: AsyncConnection, project: ProjectRef, name: str) -> CampaignOut:
    row = (
        (
            await conn.execute(
                select(CAMPAIGN).where(CAMPAIGN.c.project_id == project.id, CAMPAIGN.c.name == name)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no campaign {name!r} in project {project.slug!r}")
    return _out(row)


async def list_all(conn: AsyncConnection, project: ProjectRef) -> CampaignList:
    rows = await conn.execute(
        select(CAMPAIGN)
        .where(CAMPAIGN.c.project_id == project.id)
        .order_by(CAMPAIGN.c.priority.desc(), CAMPAIGN.c.name)
    )
    return CampaignList(campaigns=[_out(r) for r in rows.mappings().all()])


async def act(conn: AsyncConnection, project: ProjectRef, name: str, action: str) -> CampaignOut:
    """Start, pause or stop the campaign (idempotent); a campaign whose budget is spent does not start."""
    found = await get(conn, project, name)
    if action == "start" and found.budget is not None and found.status is not CampaignStatus.RUNNING:
        row = (await conn.execute(select(CAMPAIGN.c.id).where(CAMPAIGN.c.project_id == project.id,
                                                              CAMPAIGN.c.name == name))).one()  # fmt: skip
        used = (await spent(conn, [row.id])).get(row.id, Decimal(0))
        if used >= found.budget:
            raise Conflict(f"the campaign's budget is spent ({used} of {found.budget}); raise it to start")
    await conn.execute(
        update(CAMPAIGN)
        .where(CAMPAIGN.c.project_id == project.id, CAMPAIGN.c.name == name)
        .values(status=ACTIONS[action].value, status_reason=None)
    )
    return await get(conn, project, name)


async def spent(conn: AsyncConnection, campaign_ids: list[int]) -> dict[int, Decimal]:
    """What the calls of each campaign have cost so far: the hourly sums of the reports up to their
    mark (``reports.rollup``), the calls themselves after it."""
    mark = (await conn.execute(select(ROLLUP_MARK.c.until).where(ROLLUP_MARK.c.name == "calls"))).scalar()
    out: dict[int, Decimal] = {}
    raw = select(ATTEMPT.c.campaign_id, func.coalesce(func.sum(ATTEMPT.c.cost), 0)).where(
        ATTEMPT.c.campaign_id.in_(campaign_ids)
    )
    if mark is not None:
        since = datetime.strptime(mark, "%Y-%m-%d %H").replace(tzinfo=UTC)
        raw = raw.where(ATTEMPT.c.started_at >= since)
        rolled = await conn.execute(
            select(CALL_HOUR.c.campaign_id, func.coalesce(func.sum(CALL_HOUR.c.cost), 0))
            .where(CALL_HOUR.c.campaign_id.in_(campaign_ids), CALL_HOUR.c.hour < mark)
            .group_by(CALL_HOUR.c.campaign_id)
        )
        out = {campaign_id: Decimal(str(total)) for campaign_id, total in rolled.all()}
    for campaign_id, total in (await conn.execute(raw.group_by(ATTEMPT.c.campaign_id))).all():
        out[campaign_id] = out.get(campaign_id, Decimal(0)) + Decimal(str(total))
    return out


async def pause_the_spent(db: AsyncEngine, campaign_ids: list[int]) -> dict[int, str]:
    """Pause the running campaigns among ``campaign_ids`` whose calls cost their budget or more; the
    reason (what was spent of what) is kept on the campaign. Returns the paused ones and why."""
    paused: dict[int, str] = {}
    async with writing(db) as conn:
        budgets = dict((await conn.execute(
            select(CAMPAIGN.c.id, CAMPAIGN.c.budget)
            .where(CAMPAIGN.c.id.in_(campaign_ids), CAMPAIGN.c.budget.is_not(None),
                   CAMPAIGN.c.status == "running")
        )).all())  # fmt: skip
        if not budgets:
            return paused
        for campaign_id, used in (await spent(conn, list(budgets))).items():
            budget = Decimal(budgets[campaign_id])
            if used >= budget:
                paused[campaign_id] = f"budget spent: {used:.2f} of {budget:.2f}"
                await conn.execute(
                    update(CAMPAIGN).where(CAMPAIGN.c.id == campaign_id)
                    .values(status=CampaignStatus.PAUSED.value, status_reason=paused[campaign_id])
                )  # fmt: skip
    return paused
