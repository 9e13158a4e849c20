"""The supervisors' reports: ``/reports/{costs,operators,successes,effectiveness}`` with filters in
the query string (the page is its own link), exports (``format=csv|xlsx|json``), monthly targets,
the daily summary subscription, and a call's review page. Thin handlers over :mod:`reports`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from dialer.accounts.people import Role, projects_seen
from dialer.errors import NotFound, Rejected
from dialer.storage import reading, writing
from dialer.web import i18n
from dialer.web.console.guard import project_for, render, require
from dialer.web.keys import DATABASE
from dialer.web.reports.view import duration, report_view
from dialer.workplace_settings import dispositions_of
from reports import review, summary
from reports.catalog import build
from reports.export import to_csv, to_json, to_xlsx
from reports.scope import Scope, scope_of
from reports.shape import Report

_ = i18n.gettext
READERS = (Role.SUPERVISOR, Role.ADMIN)
NAMES = {"costs": "Costs", "operators": "Operator statistics", "successes": "Successful applications",
         "effectiveness": "Dialer effectiveness"}  # fmt: skip
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def problems_of(exc: Rejected) -> list[str]:
    return [e.described() for e in exc.errors] or [str(exc)]


async def index(request: web.Request) -> web.StreamResponse:
    person = require(request, *READERS)
    async with reading(request.app[DATABASE]) as conn:
        projects = await projects_seen(conn, person)
    if not projects:
        return render(request, "console/error.html", status=404, title=_("Not found"),
                      message=_("You see no project to report on."))  # fmt: skip
    raise web.HTTPSeeOther(f"/reports/effectiveness?project={projects[0]['slug']}")


async def report_page(request: web.Request) -> web.StreamResponse:
    person = require(request, *READERS)
    name = request.match_info["name"]
    async with reading(request.app[DATABASE]) as conn:
        projects = await projects_seen(conn, person)
    slug = request.query.get("project") or (projects[0]["slug"] if projects else "")
    project = await project_for(request, slug, *READERS)
    wanted = request.query.get("format")
    problems: list[str] = []
    async with reading(request.app[DATABASE]) as conn:
        try:
            scope = await scope_of(conn, project, request.query, language=i18n.current.get())
        except Rejected as exc:
            if wanted:
                raise web.HTTPUnprocessableEntity(text="\n".join(problems_of(exc))) from None
            problems = problems_of(exc)
            scope = await scope_of(conn, project, {}, language=i18n.current.get())
        report = await build(conn, name, scope, whole=bool(wanted))
        subscribed = await summary.subscribed_at(conn, project["id"], person.id)
    if wanted:
        return _export(report, wanted, f"{project['slug']}-{name}-{scope.period.first}-{scope.period.last}")
    query = scope.query()
    return render(
        request, "console/report.html", status=422 if problems else 200, project=project, projects=projects,
        scope=scope, report=report_view(report), name=name, names=NAMES, problems=problems,
        query=query, link=lambda **changes: _link(name, project["slug"], query, changes),
        export=lambda kind: _link(name, project["slug"], query, {"format": kind}), subscribed=subscribed,
        quick=_quick(name, project["slug"], scope), month=scope.period.last.strftime("%Y-%m"),
        saved=request.query.get("saved") in ("target", "summary"),
    )  # fmt: skip


def _link(name: str, slug: str, query: Mapping[str, str], changes: Mapping[str, str | None]) -> str:
    merged = {"project": slug, **query, **changes}
    return f"/reports/{name}?" + urlencode({k: v for k, v in merged.items() if v})


def _quick(name: str, slug: str, scope: Scope) -> list[tuple[str, str]]:
    """Links to the usual periods: today, yesterday, the last 7 days, this month (the project's days)."""
    today = datetime.now(scope.zone).date()
    yesterday = today - timedelta(days=1)
    rest = {k: v for k, v in scope.query().items() if k not in ("from", "to")}
    periods = [(_("Today"), today, today), (_("Yesterday"), yesterday, yesterday),
               (_("Last 7 days"), today - timedelta(days=6), today),
               (_("This month"), today.replace(day=1), today)]  # fmt: skip
    return [(label, _link(name, slug, rest, {"from": first.isoformat(), "to": last.isoformat()}))
            for label, first, last in periods]  # fmt: skip


def _export(report: Report, kind: str, filename: str) -> web.Response:
    disposition = {"Content-Disposition": f'attachment; filename="{filename}.{kind}"'}
    if kind == "csv":
        return web.Response(text=to_csv(report, i18n.gettext), content_type="text/csv", charset="utf-8",
                            headers=disposition)  # fmt: skip
    if kind == "xlsx":
        return web.Response(body=to_xlsx(report, i18n.gettext), content_type=XLSX, headers=disposition)
    if kind == "json":
        return web.Response(text=to_json(report), content_type="application/json")
    raise web.HTTPUnprocessableEntity(text="format: one of csv, xlsx, json")


async def set_target(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    project = await project_for(request, str(form.get("project", "")), *READERS)
    back = dict(request.query)
    try:
        async with writing(request.app[DATABASE]) as conn:
            await review.set_target(conn, project["id"], str(form.get("operator", "")),
                                    month=str(form.get("month", "")), calls=str(form.get("calls", "")),
                                    long_calls=str(form.get("long_calls", "")))  # fmt: skip
    except Rejected as exc:
        return render(request, "console/error.html", status=422, title=_("Nothing was saved:"),
                      message="; ".join(problems_of(exc)))  # fmt: skip
    back.update({"project": project["slug"], "saved": "target"})
    raise web.HTTPSeeOther("/reports/operators?" + urlencode(back))


async def set_summary(request: web.Request) -> web.StreamResponse:
    person = require(request, *READERS)
    form = await request.post()
    project = await project_for(request, str(form.get("project", "")), *READERS)
    at = str(form.get("at", "")).strip() if form.get("action") != "stop" else ""
    try:
        async with writing(request.app[DATABASE]) as conn:
            await summary.subscribe(conn, project["id"], person.id, at or None)
    except Rejected as exc:
        return render(request, "console/error.html", status=422, title=_("Nothing was saved:"),
                      message="; ".join(problems_of(exc)))  # fmt: skip
    name = str(form.get("report", "effectiveness"))
    name = name if name in NAMES else "effectiveness"
    raise web.HTTPSeeOther(f"/reports/{name}?" + urlencode({"project": project["slug"], "saved": "summary"}))


async def _call(request: web.Request) -> tuple[review.CallToReview, Mapping[str, Any]]:
    require(request, *READERS)
    try:
        async with reading(request.app[DATABASE]) as conn:
            call = await review.call_to_review(conn, int(request.match_info["attempt"]))
            slug = call.slug
    except NotFound:
        raise web.HTTPNotFound(text=_("There is no such page, or it is not yours to see.")) from None
    return call, await project_for(request, slug, *READERS)


async def call_page(request: web.Request, *, problems: list[str] | None = None) -> web.StreamResponse:
    call, project = await _call(request)
    labels = {d.code: d.label.get(i18n.current.get()) for d in dispositions_of(project)}
    outcome = labels.get(call.disposition or "", call.disposition or "—")
    return render(request, "console/call_review.html", status=422 if problems else 200, call=call,
                  project=project, problems=problems or [], talk=duration(call.talk), outcome=outcome,
                  saved=request.query.get("saved") == "1")  # fmt: skip


async def mark_call(request: web.Request) -> web.StreamResponse:
    call, _project = await _call(request)
    person = require(request, *READERS)
    form = await request.post()
    try:
        async with writing(request.app[DATABASE]) as conn:
            await review.mark(conn, call.attempt_id, verdict=str(form.get("verdict", "")),
                              note=str(form.get("note", "")), reviewer=person.login)  # fmt: skip
    except Rejected as exc:
        return await call_page(request, problems=problems_of(exc))
    raise web.HTTPSeeOther(f"/reports/calls/{call.attempt_id}?saved=1")


def setup(app: web.Application) -> None:
    app.router.add_get("/reports", index)
    app.router.add_get(r"/reports/{name:costs|operators|successes|effectiveness}", report_page)
    app.router.add_post("/reports/targets", set_target)
    app.router.add_post("/reports/summary", set_summary)
    app.router.add_get(r"/reports/calls/{attempt:[0-9]{1,18}}", call_page)
    app.router.add_post(r"/reports/calls/{attempt:[0-9]{1,18}}", mark_call)
