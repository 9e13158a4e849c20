"""A project's campaigns: the list, a new one, every setting the API has, start / pause / stop, and
the live view pushed over server-sent events (dial level and the pacer's reason, abandon rate and
budget, calls by state, operators)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from aiohttp.web_exceptions import HTTPException
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer import campaigns
from dialer.accounts.people import Role
from dialer.accounts.projects import ProjectRef, project_by_slug
from dialer.calling_window import PRESETS
from dialer.errors import Conflict, DialerError, field_errors
from dialer.leads import store
from dialer.storage import reading, writing
from dialer.web import i18n
from dialer.web.campaign_live import CampaignLive, live_view
from dialer.web.console.guard import project_for, render
from dialer.web.keys import DATABASE, RUNTIME

_ = i18n.gettext
MANAGERS = (Role.ADMIN, Role.SUPERVISOR)
PUSH_EVERY = 1.0


async def _ref(conn: AsyncConnection, slug: str) -> ProjectRef:
    ref = await project_by_slug(conn, slug)
    assert ref is not None
    return ref


async def campaigns_page(request: web.Request) -> web.StreamResponse:
    project = await project_for(request, request.match_info["slug"])
    async with reading(request.app[DATABASE]) as conn:
        found = (await campaigns.list_all(conn, await _ref(conn, project["slug"]))).campaigns
    return render(request, "console/campaigns.html", project=project, campaigns=found, tab="campaigns",
                  problems=[], new_name="")  # fmt: skip


def _settings(form: Mapping[str, Any], existing: campaigns.CampaignOut | None) -> campaigns.CampaignIn:
    """A campaign's settings from the form; percentages are typed as percent; left-out fields keep
    the campaign's values (or the defaults)."""

    def text(name: str) -> str | None:
        value = str(form.get(name, "")).strip()
        return value or None

    base: dict[str, Any] = existing.model_dump(exclude={"name", "status", "created_at"}) if existing else {}
    numbers = {
        "ring_timeout": float,
        "max_attempts": int,
        "priority": int,
        "wrap_up": float,
        "callback_grace": int,
    }
    payload: dict[str, Any] = dict(base)
    for key in ("mode", "abandon_window", "callback_policy", "amd_action"):
        if text(key):
            payload[key] = text(key)
    for key in ("trunk", "caller_id", "calling_window", "script"):
        if key in form:
            payload[key] = text(key)
    for key, kind in numbers.items():
        if text(key) is not None:
            payload[key] = _number(text(key), kind)
    if "budget" in form:
        payload["budget"] = _number(text("budget"), str) if text("budget") is not None else None
    for key in ("abandon_target", "amd_sample"):
        if text(key) is not None:
            percent = _number(text(key), float)
            payload[key] = percent / 100 if isinstance(percent, float) else percent
    if "settings_form" in form:
        payload["amd"] = form.get("amd") == "on"
    return campaigns.CampaignIn.model_validate(payload)


def _number(value: str | None, kind: type) -> Any:
    try:
        return kind((value or "").replace(",", ".").replace(" ", ""))
    except ValueError:
        return value  # left for validation to name


def _problems(exc: ValidationError) -> list[str]:
    return [e.described() for e in field_errors(exc)]


async def create_campaign(request: web.Request) -> web.StreamResponse:
    project = await project_for(request, request.match_info["slug"], *MANAGERS)
    form = await request.post()
    name = str(form.get("name", "")).strip().lower()
    problems = []
    if not name or not all(c.isascii() and (c.isalnum() or c in "-_") for c in name) or len(name) > 64:
        problems.append(_("Name: 1-64 of a-z, 0-9, - and _, e.g. incomplete-loans"))
    try:
        settings = _settings(form, None)
    except ValidationError as exc:
        problems += _problems(exc)
    if not problems:
        async with writing(request.app[DATABASE]) as conn:
            ref = await _ref(conn, project["slug"])
            if name in (c.name for c in (await campaigns.list_all(conn, ref)).campaigns):
                problems.append(_("A campaign with this name exists already."))
            else:
                await campaigns.put(conn, ref, name, settings)
    if problems:
        async with reading(request.app[DATABASE]) as conn:
            found = (await campaigns.list_all(conn, await _ref(conn, project["slug"]))).campaigns
        return render(request, "console/campaigns.html", status=422, project=project, campaigns=found,
                      tab="campaigns", problems=problems, new_name=name)  # fmt: skip
    raise web.HTTPSeeOther(f"/projects/{project['slug']}/campaigns/{name}")


async def _campaign(request: web.Request, *roles: Role) -> tuple[Any, campaigns.CampaignOut, int]:
    project = await project_for(request, request.match_info["slug"], *roles)
    try:
        async with reading(request.app[DATABASE]) as conn:
            ref = await _ref(conn, project["slug"])
            settings = await campaigns.get(conn, ref, request.match_info["name"])
            campaign_id = (await store.campaign_ids(conn, ref.id))[settings.name]
    except DialerError:
        raise web.HTTPNotFound(text=_("There is no such page, or it is not yours to see.")) from None
    return project, settings, campaign_id


async def campaign_page(request: web.Request, *, problems: list[str] | None = None) -> web.StreamResponse:
    project, settings, campaign_id = await _campaign(request)
    live = live_view(request.app.get(RUNTIME), project["id"], campaign_id, settings)
    return render(request, "console/campaign.html", status=422 if problems else 200, project=project,
                  campaign=settings, live=_live_fields(live), presets=list(PRESETS), problems=problems or [],
                  tab="campaigns", saved=request.query.get("saved") == "1")  # fmt: skip


async def save_campaign(request: web.Request) -> web.StreamResponse:
    project, existing, _id = await _campaign(request, *MANAGERS)
    form = await request.post()
    try:
        settings = _settings(form, existing)
    except ValidationError as exc:
        return await campaign_page(request, problems=_problems(exc))
    async with writing(request.app[DATABASE]) as conn:
        await campaigns.put(conn, await _ref(conn, project["slug"]), existing.name, settings)
    raise web.HTTPSeeOther(f"/projects/{project['slug']}/campaigns/{existing.name}?saved=1")


async def act(request: web.Request) -> web.StreamResponse:
    project, existing, _id = await _campaign(request, *MANAGERS)
    action = request.match_info["action"]
    if action not in campaigns.ACTIONS:
        raise web.HTTPNotFound(text=_("There is no such page, or it is not yours to see."))
    try:
        async with writing(request.app[DATABASE]) as conn:
            await campaigns.act(conn, await _ref(conn, project["slug"]), existing.name, action)
    except Conflict:
        return await campaign_page(
            request, problems=[_("The campaign's budget is spent: raise it to start.")]
        )
    runtime = request.app.get(RUNTIME)
    if runtime is not None and runtime.engine is not None:
        runtime.engine.campaigns_changed()
    raise web.HTTPSeeOther(f"/projects/{project['slug']}/campaigns/{existing.name}")


def _live_fields(live: CampaignLive) -> dict[str, Any]:
    """The live view as the page shows it: formatted in the reader's language."""
    return {
        "status": live.status,
        "status_text": _(live.status),
        "dialing": _("dialing") if live.dialing else _("not dialing"),
        "calls_in_progress": i18n.fmt_number(live.calls_in_progress),
        "launched": i18n.fmt_number(live.launched),
        "answered": i18n.fmt_number(live.answered),
        "connected": i18n.fmt_number(live.connected),
        "abandoned": i18n.fmt_number(live.abandoned),
        "dial_level": i18n.fmt_number(live.dial_level, 2) if live.dial_level is not None else "—",
        "abandon_rate": i18n.fmt_percent(live.abandon_rate),
        "abandon_budget": i18n.fmt_number(live.abandon_budget, 1) if live.abandon_budget is not None else "—",
        "last_decision": live.last_decision or _("no decision yet"),
        "operators": [_operator(o) for o in live.operators],
    }


def _operator(o: Any) -> dict[str, str]:
    seconds = int(o.seconds_in_state)
    return {"login": o.login, "state": o.state, "state_text": _(o.state),
            "in_state": f"{seconds // 60}:{seconds % 60:02d}", "calls_today": str(o.calls_today)}  # fmt: skip


async def live_stream(request: web.Request) -> web.StreamResponse:
    """The live view, pushed every second for as long as the page is open."""
    project, settings, campaign_id = await _campaign(request)
    language = i18n.current.get()
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    await response.prepare(request)
    with contextlib.suppress(ConnectionResetError, asyncio.CancelledError, HTTPException):
        while True:
            async with reading(request.app[DATABASE]) as conn:
                current = await campaigns.get(conn, await _ref(conn, project["slug"]), settings.name)
            i18n.current.set(language)
            live = live_view(request.app.get(RUNTIME), project["id"], campaign_id, current)
            data = json.dumps(_live_fields(live), ensure_ascii=False)
            await response.write(f"data: {data}\n\n".encode())
            await asyncio.sleep(PUSH_EVERY)
    return response


def setup(app: web.Application) -> None:
    app.router.add_get("/projects/{slug}/campaigns", campaigns_page)
    app.router.add_post("/projects/{slug}/campaigns", create_campaign)
    app.router.add_get("/projects/{slug}/campaigns/{name}", campaign_page)
    app.router.add_post("/projects/{slug}/campaigns/{name}", save_campaign)
    app.router.add_post("/projects/{slug}/campaigns/{name}/{action}", act)
    app.router.add_get("/projects/{slug}/campaigns/{name}/live", live_stream)
