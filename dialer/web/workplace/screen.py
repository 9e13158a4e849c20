"""What the operator's workplace shows, read in one go: the state bar and the call on screen (its
lead's card, the script where the call is, the CRM form with the draft typed so far, the outcomes to
choose from, the portal's address). The pages and the stream render these; nothing here writes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dialer.accounts.people import Person
from dialer.accounts.projects import ProjectRef
from dialer.engine.service import EngineService
from dialer.engine.views import OnScreen, OperatorScreen, PhoneState
from dialer.errors import DialerError, NotFound
from dialer.leads import store as leads
from dialer.leads.callbacks import Callback, pinned_to
from dialer.leads.schema import LeadOut
from dialer.storage import reading
from dialer.storage.tables import ATTEMPT, CAMPAIGN, LEAD, OPERATOR, OPERATOR_PROJECT, PROJECT
from dialer.storage.types import utcnow
from dialer.web.i18n import gettext
from dialer.workplace_settings import (
    DispositionCode,
    PauseReason,
    dispositions_of,
    masked,
    pause_reasons_of,
    portal_origin,
    portal_url,
)
from scripts_crm import drafts
from scripts_crm import store as scripts
from scripts_crm.model import FieldSet, MarkSuccess, ScheduleCallback, Script, SetOutcome
from scripts_crm.runner import Given, State, initial_fields, run
from scripts_crm.runner import render as render_text
from sms_email.schema import MessageOut
from sms_email.store import list_messages


@dataclass
class CallPanel:
    """The call (or the lead in preview) on the operator's screen."""

    shown: OnScreen
    project: Mapping[str, Any]
    campaign: str
    lead: LeadOut
    lead_id: int
    phone: str  # as the operator may see it
    zone: str  # the client's time zone
    attempts: list[dict[str, Any]]
    fields: FieldSet
    values: dict[str, Any]
    script: Script | None
    state: State | None
    text: str
    draft: dict[str, Any]
    dispositions: list[DispositionCode]
    chosen: dict[str, Any]
    messages: list[MessageOut]
    portal: str | None
    origin: str | None
    problems: dict[str, str] = field(default_factory=dict)  # field -> what is wrong (a refused save)

    @property
    def phase(self) -> str:
        return "preview" if self.shown.preview else "wrap_up" if self.shown.ended else "talking"

    @property
    def key(self) -> str:
        return key_of(self.shown)


def key_of(shown: OnScreen) -> str:
    """Changes when the page must draw the call panel anew (another call, or the same one ending)."""
    phase = "preview" if shown.preview else "wrap_up" if shown.ended else "talking"
    return f"{shown.call_id or 'preview'}:{shown.lead_id}:{phase}"


def state_label(state: str) -> str:
    """An operator's state in the page's language."""
    words = {
        "offline": gettext("Offline"), "ready": gettext("Ready for calls"),
        "reserved": gettext("A call is coming"), "talking": gettext("Talking"), "wrap_up": gettext("Wrap-up"),
        "paused": gettext("Paused"),
    }  # fmt: skip
    return words.get(state, state)


@dataclass(frozen=True)
class Bar:
    """The state bar."""

    screen: OperatorScreen
    phone: PhoneState
    calls_today: int
    successes_today: int
    pause_reasons: list[PauseReason]
    projects: list[str]
    by_hand: list[tuple[str, str]] = field(default_factory=list)  # (slug, name): calls by hand allowed

    def pause_label(self, language: str) -> str | None:
        """The pause's reason in words: the project's label for its code, else the code itself."""
        code = self.screen.pause_reason
        found = next((r for r in self.pause_reasons if r.code == code), None)
        return found.label.get(language) if found else code


async def projects_of(conn: AsyncConnection, login: str) -> list[dict[str, Any]]:
    """The projects ``login`` works, by name."""
    rows = await conn.execute(
        select(PROJECT)
        .join(OPERATOR_PROJECT, OPERATOR_PROJECT.c.project_id == PROJECT.c.id)
        .join(OPERATOR, OPERATOR.c.id == OPERATOR_PROJECT.c.operator_id)
        .where(OPERATOR.c.login == login)
        .order_by(PROJECT.c.name)
    )
    return [dict(r) for r in rows.mappings().all()]


async def bar(
    db: AsyncEngine, service: EngineService, login: str, projects: list[dict[str, Any]] | None = None
) -> Bar:
    """The state bar (``projects``: the operator's, when the caller has them already)."""
    async with reading(db) as conn:
        projects = projects if projects is not None else await projects_of(conn, login)
        midnight = _midnight(projects[0]["time_zone"] if projects else "Europe/Moscow")  # the operator's day
        talked, successes = (
            await conn.execute(
                select(func.count(ATTEMPT.c.connected_at), func.count().filter(ATTEMPT.c.success.is_(True)))
                .where(ATTEMPT.c.operator == login, ATTEMPT.c.started_at >= midnight)
            )
        ).one()  # fmt: skip
    reasons: list[PauseReason] = []
    for project in projects:  # every project's reasons, once each
        reasons += [r for r in pause_reasons_of(project) if r.code not in {x.code for x in reasons}]
    return Bar(service.screen(login), service.phone(login), int(talked or 0), int(successes or 0),
               reasons, [p["name"] for p in projects],
               [(p["slug"], p["name"]) for p in projects if p["manual_calls"]])  # fmt: skip


def _midnight(zone: str) -> datetime:
    local = utcnow().astimezone(ZoneInfo(zone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


async def callbacks(db: AsyncEngine, login: str) -> list[Callback]:
    async with reading(db) as conn:
        ids = [p["id"] for p in await projects_of(conn, login)]
        return await pinned_to(conn, login, ids)


async def project_of_call(conn: AsyncConnection, campaign_id: int) -> dict[str, Any]:
    """The project of the campaign (every column), with ``campaign_name`` and ``campaign_script``."""
    row = (
        await conn.execute(
            select(PROJECT, CAMPAIGN.c.name.label("campaign_name"),
                   CAMPAIGN.c.script.label("campaign_script"))
            .join(CAMPAIGN, CAMPAIGN.c.project_id == PROJECT.c.id)
            .where(CAMPAIGN.c.id == campaign_id)
        )
    ).mappings().one_or_none()  # fmt: skip
    if row is None:
        raise NotFound(f"no campaign {campaign_id}")
    return dict(row)


async def lead_of_project(conn: AsyncConnection, slug: str, external_id: str) -> dict[str, Any] | None:
    """The lead ``external_id`` of project ``slug`` with the project's ``manual_calls``; None: none."""
    row = (
        await conn.execute(
            select(LEAD.c.id, LEAD.c.project_id, LEAD.c.campaign_id, LEAD.c.status, LEAD.c.pinned_operator,
                   PROJECT.c.manual_calls)
            .join(PROJECT, PROJECT.c.id == LEAD.c.project_id)
            .where(PROJECT.c.slug == slug, LEAD.c.external_id == external_id)
        )
    ).mappings().one_or_none()  # fmt: skip
    return dict(row) if row is not None else None


async def lead_row(conn: AsyncConnection, lead_id: int) -> dict[str, Any]:
    found = (await conn.execute(select(LEAD).where(LEAD.c.id == lead_id))).mappings().one_or_none()
    if found is None:
        raise NotFound(f"no lead {lead_id}")
    return dict(found)


async def script_of_call(conn: AsyncConnection, project_id: int, name: str | None,
                         call_id: str | None) -> Script | None:  # fmt: skip
    """The campaign's script in the version the call started with (the current one in preview)."""
    if not name:
        return None
    version = None
    if call_id:
        version = (
            await conn.execute(select(ATTEMPT.c.script_version).where(ATTEMPT.c.call_id == call_id))
        ).scalar()
    try:
        return (await scripts.get_script(conn, project_id, name, version))[0]
    except DialerError:
        return None


async def call_panel(db: AsyncEngine, shown: OnScreen, operator: Person, language: str) -> CallPanel | None:
    """The panel of the call on ``operator``'s screen; None when it vanished meanwhile (the lead was
    removed)."""
    login = operator.login
    async with reading(db) as conn:
        try:
            project = await project_of_call(conn, shown.campaign)
            ref = ProjectRef(project["id"], project["slug"], project["region"], project["webhook_url"])
            external_id = (await lead_row(conn, shown.lead_id))["external_id"]
            lead = await leads.get(conn, ref, external_id)
            tried = await leads.attempts(conn, ref, external_id)
        except DialerError:
            return None
        saved = await scripts.current_answers(conn, shown.lead_id)
        fields = await scripts.get_fields(conn, project["id"])
        script = await script_of_call(conn, project["id"], project["campaign_script"], shown.call_id)
        draft = await drafts.load(conn, shown.call_id, login) if shown.call_id else {}
        sent = await list_messages(conn, project["id"], lead=external_id, limit=10)
    zone = lead.time_zone or project["time_zone"]
    start = initial_fields(fields, lead.data, saved) | dict(draft.get("fields", {}))
    given = [Given(g["step"], g["value"]) for g in draft.get("given", [])]
    state = run(script, given, fields=start) if script else None
    values = state.fields if state else start
    variables = {
        "lead": {"name": lead.name, "external_id": lead.external_id, "data": lead.data},
        "fields": values, "operator": {"login": login, "name": operator.name},
        "project": {"name": project["name"]},
    }  # fmt: skip
    current = state.current if state else None
    text = render_text(current.text.get(language), variables) if current and current.text else ""
    codes = dispositions_of(project)
    template = project.get("portal_url")
    phone = shown.phone if not project["mask_phones"] else masked(shown.phone)
    earlier = [a for a in tried if a["call_id"] != shown.call_id]
    return CallPanel(
        shown, project, project["campaign_name"], lead, shown.lead_id, phone, zone, earlier, fields, values,
        script, state, text, draft, codes, _chosen(draft, state, codes, zone), sent,
        portal_url(template, lead.model_dump(mode="json")) if template else None,
        portal_origin(template) if template else None,
    )  # fmt: skip


def _chosen(
    draft: Mapping[str, Any], state: State | None, codes: list[DispositionCode], zone: str
) -> dict[str, Any]:
    """The outcome as the form shows it: what the operator picked, else what the script suggests."""
    chosen = {k: draft.get(k, "") for k in ("disposition", "reason", "callback_at", "notes")}
    if chosen["disposition"] or state is None:
        return chosen
    by_effect = {c.effect: c.code for c in reversed(codes)}
    success = next((c.code for c in codes if c.success), None)
    suggested = state.disposition if state.disposition in {c.code for c in codes} else None
    for fired in state.actions:
        action = fired.action
        if isinstance(action, SetOutcome) and action.outcome in {c.code for c in codes}:
            suggested = action.outcome
        elif isinstance(action, MarkSuccess) and success:
            suggested = success
        elif isinstance(action, ScheduleCallback) and "callback" in by_effect:
            suggested = by_effect["callback"]
            if action.after_minutes and not chosen["callback_at"]:
                when = utcnow().astimezone(ZoneInfo(zone)) + timedelta(minutes=action.after_minutes)
                chosen["callback_at"] = when.strftime("%Y-%m-%dT%H:%M")
    chosen["disposition"] = suggested or ""
    return chosen
