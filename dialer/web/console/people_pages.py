"""People: who works where, invitations (one by one or from a CSV file), resending and revoking
them, roles, projects, deactivation, and the operators' live states.

Admins manage everyone. A supervisor sees the people of their projects and manages operators there
(invites them into those projects only, deactivates them); roles above operator are admins' to give.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Mapping
from typing import Any

import structlog
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.accounts import people
from dialer.accounts.people import Person, Purpose, Role
from dialer.errors import Conflict, DialerError, Rejected
from dialer.storage import reading, writing
from dialer.storage.tables import PROJECT
from dialer.web import i18n
from dialer.web.console.guard import render, require
from dialer.web.console.mail import send_link
from dialer.web.keys import DATABASE, RUNTIME

log = structlog.get_logger(__name__)
_ = i18n.gettext
MANAGERS = (Role.ADMIN, Role.SUPERVISOR)
CSV_LIMIT = 2 * 1024 * 1024


async def _projects(conn: AsyncConnection, person: Person) -> list[Mapping[Any, Any]]:
    query = select(PROJECT.c.id, PROJECT.c.slug, PROJECT.c.name).order_by(PROJECT.c.name)
    if not person.is_admin:
        query = query.where(PROJECT.c.id.in_(list(person.projects)))
    return list((await conn.execute(query)).mappings().all())


async def people_page(request: web.Request, *, problems: list[str] | None = None, done: str | None = None,
                      status: int = 200) -> web.StreamResponse:  # fmt: skip
    me = require(request, *MANAGERS)
    async with reading(request.app[DATABASE]) as conn:
        everyone = await people.people(conn, seen_by=me)
        projects = await _projects(conn, me)
        invited = await people.invited_at(conn, [p.id for p in everyone if p.pending])
    engine = request.app[RUNTIME].engine
    states = {}
    if engine is not None:
        for project in projects:
            for o in engine.operators(project["id"]):
                states[o.login] = o.state
    names = {p["id"]: p["name"] for p in projects}
    return render(request, "console/people.html", status=status, people=everyone, projects=projects,
                  names=names,
                  invited=invited, states=states, problems=problems or [], done=done,
                  roles=[r.value for r in Role] if me.is_admin else [Role.OPERATOR.value])  # fmt: skip


def _allowed(me: Person, role: Role, project_ids: Collection[int]) -> list[str]:
    if me.is_admin:
        return []
    problems = []
    if role is not Role.OPERATOR:
        problems.append(_("Only an admin can give the role {role}.").format(role=_(role.value)))
    if set(project_ids) - me.projects:
        problems.append(_("You can invite people only into your own projects."))
    return problems


def _login_from(email: str, name: str) -> str:
    local = email.split("@", 1)[0].lower() if email else name.lower()
    return re.sub(r"[^a-z0-9._-]", "", local)[:64] or "user"


async def _invite(request: web.Request, conn: AsyncConnection, me: Person, row: Mapping[str, Any],
                  slugs: Mapping[str, int]) -> Person:  # fmt: skip
    """Add one invited person and queue their email; :class:`Rejected` or :class:`Conflict` says why not."""
    name, email = str(row.get("name", "")).strip(), str(row.get("email", "")).strip().lower()
    try:
        role = Role(str(row.get("role", "operator")).strip().lower() or "operator")
    except ValueError:
        raise Rejected(_("role: give admin, supervisor or operator")) from None
    wanted = [s.strip() for s in re.split(r"[;,|\s]+", str(row.get("projects", ""))) if s.strip()]
    unknown = [s for s in wanted if s not in slugs]
    if unknown:
        raise Rejected(_("projects: unknown or not yours: {slugs}").format(slugs=", ".join(unknown)))
    project_ids = [slugs[s] for s in wanted]
    problems = _allowed(me, role, project_ids)
    if problems:
        raise Rejected("; ".join(problems))
    if not email:
        raise Rejected(_("email: needed to send the invitation"))
    login = str(row.get("login", "")).strip().lower() or _login_from(email, name)
    person = await people.add_person(conn, login, name=name or login, role=role, email=email,
                                     project_ids=project_ids)  # fmt: skip
    await send_link(request, conn, person.id, Purpose.INVITE)
    return person


def _why(exc: DialerError) -> str:
    if isinstance(exc, Rejected) and exc.errors:
        return "; ".join(f"{e.field}: {e.problem}" for e in exc.errors)
    return str(exc)


async def invite(request: web.Request) -> web.StreamResponse:
    me = require(request, *MANAGERS)
    form = await request.post()
    async with reading(request.app[DATABASE]) as conn:
        slugs = {p["slug"]: p["id"] for p in await _projects(conn, me)}
    row = {"name": form.get("name", ""), "email": form.get("email", ""), "role": form.get("role", "operator"),
           "login": form.get("login", ""),
           "projects": " ".join(str(v) for v in form.getall("projects", []))}  # fmt: skip
    try:
        async with writing(request.app[DATABASE]) as conn:
            person = await _invite(request, conn, me, row, slugs)
    except (Rejected, Conflict) as exc:
        return await people_page(request, problems=[_why(exc)], status=422)
    request.app[RUNTIME].messages_queued()
    log.info("person invited", login=person.login, role=str(person.role), by=me.login)
    return await people_page(request, done=_("Invitation sent to {email}.").format(email=person.email))


async def invite_csv(request: web.Request) -> web.StreamResponse:
    """Invite everyone of a CSV file (name, email, role, projects; login optional): each row on its
    own, so that one bad row never stops the others; the page lists what happened to each."""
    me = require(request, *MANAGERS)
    form = await request.post()
    field = form.get("file")
    if not isinstance(field, web.FileField):
        return await people_page(request, problems=[_("Choose a CSV file to upload.")], status=422)
    raw = field.file.read(CSV_LIMIT + 1)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1251", errors="replace")
    if len(raw) > CSV_LIMIT:
        return await people_page(request, problems=[_("The file is larger than 2 MB.")], status=422)
    reader = csv.DictReader(
        io.StringIO(text, newline=""), delimiter=";" if text.split("\n", 1)[0].count(";") else ","
    )
    header = {h.strip().lower() for h in reader.fieldnames or []}
    if not {"name", "email"} <= header:
        needed = _("The file needs the columns name and email (and role, projects).")
        return await people_page(request, problems=[needed], status=422)
    async with reading(request.app[DATABASE]) as conn:
        slugs = {p["slug"]: p["id"] for p in await _projects(conn, me)}
    problems, invited = [], 0
    for row in reader:
        clean = {(k or "").strip().lower(): (v or "") for k, v in row.items() if k}
        try:
            async with writing(request.app[DATABASE]) as conn:
                await _invite(request, conn, me, clean, slugs)
            invited += 1
        except (Rejected, Conflict) as exc:
            problems.append(_("line {line}: {why}").format(line=reader.line_num, why=_why(exc)))
    request.app[RUNTIME].messages_queued()
    done = _("Invitations sent: {count}.").format(count=invited)
    return await people_page(
        request, problems=problems, done=done, status=422 if problems and not invited else 200
    )


async def _target(request: web.Request, me: Person) -> Person:
    async with reading(request.app[DATABASE]) as conn:
        try:
            target = await people.person_by(conn, login=request.match_info["login"])
        except DialerError:
            target = None
    if target is None or not (
        me.is_admin or (target.role is Role.OPERATOR and target.projects & me.projects)
    ):
        raise web.HTTPNotFound(text=_("There is no such page, or it is not yours to see."))
    return target


async def resend(request: web.Request) -> web.StreamResponse:
    me = require(request, *MANAGERS)
    target = await _target(request, me)
    try:
        async with writing(request.app[DATABASE]) as conn:
            await send_link(request, conn, target.id, Purpose.INVITE if target.pending else Purpose.RESET)
    except Rejected as exc:
        return await people_page(request, problems=[str(exc)], status=422)
    request.app[RUNTIME].messages_queued()
    return await people_page(request, done=_("A new link was sent to {email}.").format(email=target.email))


async def revoke(request: web.Request) -> web.StreamResponse:
    me = require(request, *MANAGERS)
    target = await _target(request, me)
    async with writing(request.app[DATABASE]) as conn:
        await people.revoke_links(conn, target.id)
        if target.pending:
            await people.change_person(conn, target.id, active=False)
    return await people_page(
        request, done=_("The invitation of {login} was withdrawn.").format(login=target.login)
    )


async def change(request: web.Request) -> web.StreamResponse:
    me = require(request, *MANAGERS)
    target = await _target(request, me)
    form = await request.post()
    async with reading(request.app[DATABASE]) as conn:
        slugs = {p["slug"]: p["id"] for p in await _projects(conn, me)}
    role = None
    if me.is_admin and form.get("role"):
        try:
            role = Role(str(form.get("role")))
        except ValueError:
            return await people_page(
                request, problems=[_("role: give admin, supervisor or operator")], status=422
            )
    project_ids = None
    if "projects_form" in form:
        chosen = {slugs[s] for s in (str(v) for v in form.getall("projects", [])) if s in slugs}
        outside = target.projects - set(slugs.values())  # projects this supervisor does not see stay
        project_ids = chosen | outside
    active = {"on": True, "off": False}.get(str(form.get("active", "")))
    if target.id == me.id and (active is False or (role is not None and role is not me.role)):
        refused = _("You cannot deactivate yourself or change your own role.")
        return await people_page(request, problems=[refused], status=422)
    async with writing(request.app[DATABASE]) as conn:
        await people.change_person(conn, target.id, role=role, project_ids=project_ids, active=active)
    await request.app[RUNTIME].credentials_changed()
    return await people_page(request, done=_("{login} was updated.").format(login=target.login))


def setup(app: web.Application) -> None:
    app.router.add_get("/people", people_page)
    app.router.add_post("/people/invite", invite)
    app.router.add_post("/people/invite-csv", invite_csv)
    app.router.add_post("/people/{login}/resend", resend)
    app.router.add_post("/people/{login}/revoke", revoke)
    app.router.add_post("/people/{login}", change)
