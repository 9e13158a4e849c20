"""The start page (the projects a person sees), a project's settings, its API tokens."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from sqlalchemy import func, select, update

from dialer import workplace_settings as workplace
from dialer.accounts.people import Role, projects_seen
from dialer.accounts.project_settings import contact_caps, holiday_dates, invalid_settings
from dialer.accounts.projects import create_project
from dialer.accounts.tokens import create_token, list_tokens, revoke
from dialer.calling_window import PRESETS
from dialer.errors import DialerError
from dialer.storage import reading, writing
from dialer.storage.tables import CAMPAIGN, LEAD, PROJECT
from dialer.web import i18n
from dialer.web.console.guard import person_of, project_for, render, require
from dialer.web.keys import DATABASE

_ = i18n.gettext
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MANAGERS = (Role.ADMIN, Role.SUPERVISOR)


async def home(request: web.Request) -> web.StreamResponse:
    if person_of(request).role is Role.OPERATOR:
        raise web.HTTPSeeOther("/work")  # an operator's start page is the workplace
    return await _home(request, [])


async def _home(request: web.Request, problems: list[str]) -> web.StreamResponse:
    person = person_of(request)
    async with reading(request.app[DATABASE]) as conn:
        projects = await projects_seen(conn, person)
        wanted = [p["id"] for p in projects]
        campaigns = (
            await conn.execute(
                select(CAMPAIGN.c.project_id, CAMPAIGN.c.name, CAMPAIGN.c.status, CAMPAIGN.c.mode)
                .where(CAMPAIGN.c.project_id.in_(wanted))
                .order_by(CAMPAIGN.c.priority.desc(), CAMPAIGN.c.name)
            )
        ).all()
        counts = (
            await conn.execute(
                select(LEAD.c.project_id, LEAD.c.status, func.count())
                .where(LEAD.c.project_id.in_(wanted))
                .group_by(LEAD.c.project_id, LEAD.c.status)
            )
        ).all()
    by_project: dict[int, list[Any]] = {}
    for row in campaigns:
        by_project.setdefault(row.project_id, []).append(row)
    leads: dict[int, dict[str, int]] = {}
    for project_id, status, count in counts:
        leads.setdefault(project_id, {})[status] = count
    return render(request, "console/home.html", status=422 if problems else 200, projects=projects,
                  campaigns=by_project, leads=leads, presets=list(PRESETS), problems=problems)  # fmt: skip


async def create(request: web.Request) -> web.StreamResponse:
    """A new project (admins): its slug, name, region, zone and calling window; the rest on its page."""
    require(request, Role.ADMIN)
    form = await request.post()

    def text(name: str) -> str:
        return str(form.get(name, "")).strip()

    slug, name = text("slug").lower(), text("name")
    problems = invalid_settings(region=text("region") or "RU", time_zone=text("time_zone") or "Europe/Moscow",
                                window=text("calling_window") or "ru-230fz", webhook_url=None)  # fmt: skip
    if not SLUG.match(slug):
        problems.append(
            _("slug: 1-64 of a-z, 0-9 and -, starting with a letter or digit (it is in API paths)")
        )
    if not problems:
        try:
            async with writing(request.app[DATABASE]) as conn:
                await create_project(conn, slug, name=name or slug, region=text("region") or "RU",
                                     time_zone=text("time_zone") or "Europe/Moscow",
                                     window=text("calling_window") or "ru-230fz")  # fmt: skip
        except DialerError as exc:
            problems.append(str(exc))
    if problems:
        return await _home(request, problems)
    raise web.HTTPSeeOther(f"/projects/{slug}/settings")


async def settings_page(request: web.Request) -> web.StreamResponse:
    project = await project_for(request, request.match_info["slug"], *MANAGERS)
    return render(request, "console/project.html", project=project, presets=list(PRESETS), problems=[],
                  saved=request.query.get("saved") == "1", tab="settings")  # fmt: skip


async def save_settings(request: web.Request) -> web.StreamResponse:
    project = await project_for(request, request.match_info["slug"], *MANAGERS)
    form = await request.post()

    def text(name: str) -> str:
        return str(form.get(name, "")).strip()

    problems = invalid_settings(
        region=text("region"), time_zone=text("time_zone"), window=text("calling_window"),
        webhook_url=text("webhook_url"),
    )  # fmt: skip
    values: dict[str, Any] = {
        "name": text("name") or project["name"], "region": text("region").upper(),
        "time_zone": text("time_zone"), "calling_window": text("calling_window"),
        "webhook_url": text("webhook_url") or None,
        "sms_counts_as_contact": form.get("sms_counts_as_contact") == "on",
        "holidays": holiday_dates(text("holidays"), problems),
        **contact_caps(text("caps"), problems),
    }  # fmt: skip
    if problems:
        return render(request, "console/project.html", status=422, project={**project, **values},
                      presets=list(PRESETS), problems=problems, saved=False, tab="settings")  # fmt: skip
    async with writing(request.app[DATABASE]) as conn:
        await conn.execute(update(PROJECT).where(PROJECT.c.id == project["id"]).values(**values))
    raise web.HTTPSeeOther(f"/projects/{project['slug']}/settings?saved=1")


async def workplace_page(request: web.Request) -> web.StreamResponse:
    project = await project_for(request, request.match_info["slug"], *MANAGERS)
    form = {
        "portal_url": project["portal_url"] or "", "mask_phones": project["mask_phones"],
        "manual_calls": project["manual_calls"],
        "wrap_up_extension": project["wrap_up_extension"], "disposition_limit": project["disposition_limit"],
        "away_limit": project["away_limit"],
        "dispositions": workplace.as_json(workplace.dispositions_of(project)),
        "pause_reasons": workplace.as_json(workplace.pause_reasons_of(project)),
    }  # fmt: skip
    return render(request, "console/project_workplace.html", project=project, form=form, problems=[],
                  saved=request.query.get("saved") == "1", tab="workplace")  # fmt: skip


async def save_workplace(request: web.Request) -> web.StreamResponse:
    project = await project_for(request, request.match_info["slug"], *MANAGERS)
    form = {key: str(value) for key, value in (await request.post()).items()}
    values, problems = workplace.parse_settings(form)
    if problems:
        typed = form | {key: form.get(key) == "on" for key in ("mask_phones", "manual_calls")}
        return render(request, "console/project_workplace.html", status=422, project=project, form=typed,
                      problems=problems, saved=False, tab="workplace")  # fmt: skip
    async with writing(request.app[DATABASE]) as conn:
        await conn.execute(update(PROJECT).where(PROJECT.c.id == project["id"]).values(**values))
    raise web.HTTPSeeOther(f"/projects/{project['slug']}/workplace?saved=1")


async def tokens_page(request: web.Request, *, shown: str | None = None) -> web.StreamResponse:
    project = await project_for(request, request.match_info["slug"], *MANAGERS)
    async with reading(request.app[DATABASE]) as conn:
        tokens = await list_tokens(conn, project["id"])
    return render(request, "console/tokens.html", project=project, tokens=tokens, shown=shown, tab="tokens")


async def add_token(request: web.Request) -> web.StreamResponse:
    project = await project_for(request, request.match_info["slug"], *MANAGERS)
    form = await request.post()
    name = str(form.get("name", "")).strip()[:100] or _("console")
    async with writing(request.app[DATABASE]) as conn:
        token = await create_token(conn, project["id"], name)
    return await tokens_page(request, shown=token)


async def revoke_token(request: web.Request) -> web.StreamResponse:
    project = await project_for(request, request.match_info["slug"], *MANAGERS)
    async with writing(request.app[DATABASE]) as conn:
        await revoke(conn, project["id"], request.match_info["prefix"])
    raise web.HTTPSeeOther(f"/projects/{project['slug']}/tokens")


def setup(app: web.Application) -> None:
    app.router.add_get("/", home, name="console_home")
    app.router.add_get("/projects/{slug}/workplace", workplace_page)
    app.router.add_post("/projects/{slug}/workplace", save_workplace)
    app.router.add_post("/projects", create)
    app.router.add_get("/projects/{slug}/settings", settings_page)
    app.router.add_post("/projects/{slug}/settings", save_settings)
    app.router.add_get("/projects/{slug}/tokens", tokens_page)
    app.router.add_post("/projects/{slug}/tokens", add_token)
    app.router.add_post("/projects/{slug}/tokens/{prefix}/revoke", revoke_token)
