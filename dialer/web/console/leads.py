"""A project's leads: search and filter, a lead's page (data, attempts, history, messages,
recordings to play), CSV upload with the per-row report, cancel, the do-not-call list."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select

from dialer.accounts.people import Role
from dialer.accounts.projects import ProjectRef, project_by_slug
from dialer.errors import DialerError
from dialer.leads import dnc, store
from dialer.leads.importer import MappingError, import_text
from dialer.leads.phones import PhoneError, normalize
from dialer.leads.schema import LeadStatus
from dialer.leads.search import LeadFilter, search
from dialer.storage import reading, writing
from dialer.storage.tables import ATTEMPT, LEAD
from dialer.web import i18n
from dialer.web.console.guard import project_for, render
from dialer.web.keys import DATABASE, SETTINGS
from scripts_crm import store as scripts
from sms_email import store as messages

_ = i18n.gettext
MANAGERS = (Role.ADMIN, Role.SUPERVISOR)
UPLOAD_LIMIT = 32 * 1024 * 1024


async def _ref(project: Any, request: web.Request) -> ProjectRef:
    async with reading(request.app[DATABASE]) as conn:
        ref = await project_by_slug(conn, project["slug"])
    assert ref is not None
    return ref


def _filter(query: Any, campaigns: dict[str, int]) -> tuple[LeadFilter, list[str]]:
    problems = []

    def day(name: str) -> date | None:
        raw = query.get(name, "").strip()
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            problems.append(_("{field}: not a date like 2026-12-06").format(field=name))
            return None

    status = query.get("status", "").strip() or None
    if status is not None and status not in {s.value for s in LeadStatus}:
        problems.append(_("status: unknown"))
        status = None
    campaign = query.get("campaign", "").strip()
    found = LeadFilter(
        status=status, phone=query.get("phone", "").strip() or None,
        external_id=query.get("external_id", "").strip() or None, name=query.get("name", "").strip() or None,
        campaign_id=campaigns.get(campaign, -1) if campaign else None,
        created_from=day("from"), created_to=day("to"),
    )  # fmt: skip
    return found, problems


async def leads_page(request: web.Request) -> web.StreamResponse:
    project = await project_for(request, request.match_info["slug"])
    before_raw = request.query.get("before", "")
    before = int(before_raw) if before_raw.isdigit() else None
    async with reading(request.app[DATABASE]) as conn:
        campaigns = await store.campaign_ids(conn, project["id"])
        found, problems = _filter(request.query, campaigns)
        rows, next_before = await search(conn, project["id"], found, before=before)
    names = {v: k for k, v in campaigns.items()}
    keep = {k: v for k, v in request.query.items() if k != "before" and v}
    return render(request, "console/leads.html", project=project, rows=rows, campaigns=names,
                  statuses=[s.value for s in LeadStatus], query=keep, problems=problems,
                  next_before=next_before, tab="leads", report=None, paged=before is not None)  # fmt: skip


EXPORT_PAGE = 2000


async def export_csv(request: web.Request) -> web.StreamResponse:
    """The leads the filters find, with their pushed data and CRM answers, as CSV (formulas made
    harmless for spreadsheets), streamed a page at a time."""
    project = await project_for(request, request.match_info["slug"], *MANAGERS)
    async with reading(request.app[DATABASE]) as conn:
        campaigns = await store.campaign_ids(conn, project["id"])
        fields = [f.name for f in (await scripts.get_fields(conn, project["id"])).fields]
    found, _problems = _filter(request.query, campaigns)
    names = {v: k for k, v in campaigns.items()}
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{project["slug"]}-leads.csv"',
    })  # fmt: skip
    await response.prepare(request)
    header = ["external_id", "name", "phones", "status", "campaign", "attempts", "created_at", *fields]
    await response.write(("\ufeff" + _csv_line(header)).encode())
    before = None
    while True:
        async with reading(request.app[DATABASE]) as conn:
            rows, before = await search(conn, project["id"], found, before=before, limit=EXPORT_PAGE)
            answers = await scripts.answers_of(conn, [r["id"] for r in rows])
        lines = []
        for r in rows:
            given = answers.get(r["id"], {})
            base = [
                r["external_id"],
                r["name"],
                " ".join(r["phones"]),
                r["status"],
                names.get(r["campaign_id"], ""),
            ]
            lines.append(
                _csv_line(
                    [*base, r["attempts"], r["created_at"].isoformat(), *(given.get(f) for f in fields)]
                )
            )
        chunk = "".join(lines)
        await response.write(chunk.encode())
        if before is None:
            break
    await response.write_eof()
    return response


def _csv_line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([_safe(v) for v in values])
    return out.getvalue()


async def lead_page(request: web.Request) -> web.StreamResponse:
    project = await project_for(request, request.match_info["slug"])
    ref = await _ref(project, request)
    external_id = request.match_info["external_id"]
    try:
        async with reading(request.app[DATABASE]) as conn:
            lead = await store.get(conn, ref, external_id)
            attempts = await store.attempts(conn, ref, external_id)
            history = await store.history(conn, ref, external_id)
            sent = await messages.list_messages(conn, project["id"], lead=external_id, limit=200)
            listed = await dnc.listed(conn, project["id"], lead.phones)
            lead_id = await scripts.lead_id_of(conn, project["id"], external_id)
            answers = await scripts.current_answers(conn, lead_id)
            answer_history = await scripts.answer_history(conn, lead_id)
            labels = {
                f.name: f.label.get(i18n.current.get())
                for f in (await scripts.get_fields(conn, project["id"])).fields
            }
    except DialerError:
        raise web.HTTPNotFound(text=_("There is no such page, or it is not yours to see.")) from None
    return render(request, "console/lead.html", project=project, lead=lead, attempts=attempts,
                  history=history, messages=sent, listed=listed, tab="leads", answers=answers,
                  answer_history=answer_history, labels=labels)  # fmt: skip


async def cancel_lead(request: web.Request) -> web.StreamResponse:
    project = await project_for(request, request.match_info["slug"], *MANAGERS)
    ref = await _ref(project, request)
    external_id = request.match_info["external_id"]
    try:
        async with writing(request.app[DATABASE]) as conn:
            await store.cancel(conn, ref, external_id)
    except DialerError:
        raise web.HTTPNotFound(text=_("There is no such page, or it is not yours to see.")) from None
    raise web.HTTPSeeOther(f"/projects/{project['slug']}/leads/{external_id}")


async def add_dnc(request: web.Request) -> web.StreamResponse:
    project = await project_for(request, request.match_info["slug"], *MANAGERS)
    form = await request.post()
    raw = str(form.get("phone", ""))
    back = str(form.get("back", f"/projects/{project['slug']}/leads"))
    try:
        phone = normalize(raw, project["region"])
    except PhoneError as exc:
        raise web.HTTPBadRequest(
            text=_("Not a phone number: {phone} ({reason})").format(phone=raw, reason=exc)
        ) from None
    async with writing(request.app[DATABASE]) as conn:
        await dnc.add(conn, project["id"], [phone], str(form.get("reason", "")).strip()[:200] or None)
    raise web.HTTPSeeOther(back if back.startswith("/projects/") else "/")


async def upload(request: web.Request) -> web.StreamResponse:
    """The import of a CSV file: every valid row stored, every rejected one listed with its reason."""
    project = await project_for(request, request.match_info["slug"], *MANAGERS)
    form = await request.post()
    field = form.get("file")
    campaign = str(form.get("campaign", "")).strip() or None
    problems: list[str] = []
    report = None
    if not isinstance(field, web.FileField):
        problems.append(_("Choose a CSV file to upload."))
    else:
        raw = field.file.read(UPLOAD_LIMIT + 1)
        text = _decode(raw, problems)
        if len(raw) > UPLOAD_LIMIT:
            problems.append(_("The file is larger than 32 MB; split it or use `dialer leads import`."))
        elif text is not None:
            try:
                report = await import_text(
                    request.app[DATABASE], await _ref(project, request), text, campaign=campaign
                )
            except MappingError as exc:
                problems.append(str(exc))
    if report is not None and report.rejected:
        request.app[REPORTS][project["slug"]] = _rejected_csv(report.header, report.rejected)
    async with reading(request.app[DATABASE]) as conn:
        rows, next_before = await search(conn, project["id"], LeadFilter())
        campaigns = {v: k for k, v in (await store.campaign_ids(conn, project["id"])).items()}
    return render(request, "console/leads.html", status=422 if problems else 200, project=project, rows=rows,
                  campaigns=campaigns, statuses=[s.value for s in LeadStatus], query={}, problems=problems,
                  next_before=next_before, tab="leads", report=report, paged=False)  # fmt: skip


def _decode(raw: bytes, problems: list[str]) -> str | None:
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    problems.append(_("The file is neither UTF-8 nor Windows-1251 text."))
    return None


def _safe(value: Any) -> str:
    """A cell that a spreadsheet will not run as a formula (=, +, -, @ and control starts)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _rejected_csv(header: list[str], rows: list[dict[str, Any]]) -> str:
    columns = ["line", "reason", *header]
    return _csv_line(columns) + "".join(_csv_line([row.get(c) for c in columns]) for row in rows)


async def rejected_rows(request: web.Request) -> web.StreamResponse:
    """The last upload's rejected rows as CSV (formulas neutralised)."""
    project = await project_for(request, request.match_info["slug"], *MANAGERS)
    text = request.app[REPORTS].get(project["slug"])
    if text is None:
        raise web.HTTPNotFound(text=_("No rejected rows to download."))
    return web.Response(
        text=text, content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{project["slug"]}-rejected.csv"'},
    )  # fmt: skip


async def recording(request: web.Request) -> web.StreamResponse:
    """A call's recording, played in the browser, for people who see its project."""
    project = await project_for(request, request.match_info["slug"])
    attempt_id = request.match_info["attempt"]
    async with reading(request.app[DATABASE]) as conn:
        row = (
            await conn.execute(
                select(ATTEMPT.c.recording)
                .join(LEAD, LEAD.c.id == ATTEMPT.c.lead_id)
                .where(ATTEMPT.c.id == int(attempt_id), LEAD.c.project_id == project["id"])
            )
        ).first()
    directory = request.app[SETTINGS].recordings.directory
    path = await asyncio.to_thread(_inside, row.recording if row is not None else None, directory)
    if path is None:
        raise web.HTTPNotFound(text=_("There is no such page, or it is not yours to see."))
    return web.FileResponse(path, headers={"Content-Type": "audio/wav"})


def _inside(recording: str | None, directory: Path) -> Path | None:
    """The recording's file when it exists inside the recordings directory (nothing else is served)."""
    if not recording:
        return None
    path = Path(recording).resolve()
    return path if path.is_relative_to(directory.resolve()) and path.is_file() else None


REPORTS: web.AppKey[dict[str, str]] = web.AppKey("console_import_reports", dict)


def setup(app: web.Application) -> None:
    app[REPORTS] = {}
    app.router.add_get("/projects/{slug}/leads", leads_page)
    app.router.add_post("/projects/{slug}/leads/upload", upload)
    app.router.add_get("/projects/{slug}/leads/rejected.csv", rejected_rows)
    app.router.add_get("/projects/{slug}/leads/export.csv", export_csv)
    app.router.add_post("/projects/{slug}/dnc", add_dnc)
    app.router.add_get("/projects/{slug}/recordings/{attempt:[0-9]{1,18}}", recording)
    app.router.add_get("/projects/{slug}/leads/{external_id}", lead_page)
    app.router.add_post("/projects/{slug}/leads/{external_id}/cancel", cancel_lead)
