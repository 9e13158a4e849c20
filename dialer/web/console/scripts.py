"""The script editor: a project's scripts, each step in a form beside the diagram of the graph (redrawn
as you type, problems highlighted), a *try it* mode that walks the script as an operator would see
it, versions with their differences and a way back. Without JavaScript every part still works: the
"Check and redraw" button posts the form and the page comes back with the diagram and the problems."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from sqlalchemy import select

from dialer.accounts.people import Role
from dialer.errors import DialerError, FieldError, Rejected
from dialer.storage import reading, writing
from dialer.storage.tables import LEAD
from dialer.web import i18n
from dialer.web.console.guard import person_of, project_for, render
from dialer.web.keys import DATABASE
from scripts_crm import store
from scripts_crm.diagram import layout
from scripts_crm.form import KINDS, from_form, to_form
from scripts_crm.model import Script
from scripts_crm.runner import Given, run
from scripts_crm.runner import render as render_text

_ = i18n.gettext
MANAGERS = (Role.ADMIN, Role.SUPERVISOR)
BLANK = {"id": "", "kind": "say", "title": "", "text_ru": "", "text_en": "", "next": "", "field": "",
         "default": "", "disposition": "", "answers": "", "rules": "", "actions": ""}  # fmt: skip


async def scripts_page(request: web.Request) -> web.StreamResponse:
    project = await project_for(request, request.match_info["slug"], *MANAGERS)
    wanted = request.query.get("name", "").strip().lower()
    if wanted and all(c.isascii() and (c.isalnum() or c in "-_") for c in wanted) and len(wanted) <= 64:
        raise web.HTTPSeeOther(f"/projects/{project['slug']}/scripts/{wanted}")
    async with reading(request.app[DATABASE]) as conn:
        found = await store.list_scripts(conn, project["id"])
    return render(request, "console/scripts.html", project=project, scripts=found, tab="scripts", problems=[])


async def _check(request: web.Request, project_id: int, payload: Mapping[str, Any],
                 unread: list[FieldError]) -> tuple[Script | None, list[FieldError]]:  # fmt: skip
    try:
        script = store.parse_script(payload)
    except Rejected as exc:
        return None, unread + list(exc.errors)
    async with reading(request.app[DATABASE]) as conn:
        return script, unread + await store.check(conn, project_id, script)


def _problem_steps(problems: list[FieldError]) -> frozenset[str]:
    return frozenset(
        p.field.removeprefix("steps.").split(".")[0] for p in problems if p.field.startswith("steps.")
    )


def _page(
    request: web.Request,
    project: Mapping[Any, Any],
    payload: Mapping[str, Any],
    rows: list[dict[str, str]],
    checked: tuple[Script | None, list[FieldError]],
    **extra: Any,
) -> web.Response:
    script, problems = checked
    diagram = (
        layout(script, problem_steps=_problem_steps(problems), language=i18n.current.get())
        if script
        else None
    )
    return render(request, "console/script.html", project=project, name=payload.get("name", ""),
                  start=payload.get("start", ""), title=payload.get("title") or {}, rows=rows, kinds=KINDS,
                  diagram=diagram, problems=problems, tab="scripts", status=extra.pop("status", 200),
                  **{"versions": [], "version": None, "saved": None, "changes": None, **extra})  # fmt: skip


async def editor(request: web.Request) -> web.StreamResponse:
    project = await project_for(request, request.match_info["slug"], *MANAGERS)
    name = request.match_info["name"]
    async with reading(request.app[DATABASE]) as conn:
        try:
            script, version = await store.get_script(conn, project["id"], name)
            history = await store.versions(conn, project["id"], name)
        except DialerError:
            script, version, history = None, None, []
    if script is None:  # a new script: one step to start from
        payload: dict[str, Any] = {"name": name, "start": "start", "title": {}}
        rows = [{**BLANK, "id": "start"}]
        return _page(request, project, payload, rows, (None, []), versions=history)
    payload = script.model_dump(mode="json")
    _script, problems = await _check(request, project["id"], payload, [])
    return _page(request, project, payload, to_form(script), (script, problems), versions=history,
                 version=version, saved=request.query.get("saved"))  # fmt: skip


def _rows(form: Mapping[str, str]) -> list[dict[str, str]]:
    count = int(form.get("count", "0") or 0)
    rows = [{key: form.get(f"s{i}.{key}", "") for key in BLANK} for i in range(min(count, 5000))
            if form.get(f"s{i}.delete") != "on"]  # fmt: skip
    return rows


async def save(request: web.Request) -> web.StreamResponse:
    """The editor's form: redraw and check, add a step, or save as the next version."""
    project = await project_for(request, request.match_info["slug"], *MANAGERS)
    person = person_of(request)
    form = {k: str(v) for k, v in (await request.post()).items()}
    form["name"] = request.match_info["name"]
    payload, unread = from_form(form)
    rows = _rows(form)
    if "add_step" in form:
        rows.append({**BLANK, "id": f"step{len(rows) + 1}"})
    script, problems = await _check(request, project["id"], payload, unread)
    async with reading(request.app[DATABASE]) as conn:
        try:
            history = await store.versions(conn, project["id"], request.match_info["name"])
        except DialerError:
            history = []
    if "save" in form and script is not None and not problems:
        async with writing(request.app[DATABASE]) as conn:
            version = await store.save_script(
                conn, project["id"], script, author=person.login, note=form.get("note")
            )
        raise web.HTTPSeeOther(f"/projects/{project['slug']}/scripts/{script.name}?saved={version}")
    status = 422 if "save" in form else 200
    return _page(request, project, payload, rows, (script, problems), versions=history, status=status)


async def diagram_part(request: web.Request) -> web.StreamResponse:
    """The diagram and the problems for the form as it is now (the page's script asks as you type)."""
    project = await project_for(request, request.match_info["slug"], *MANAGERS)
    form = {k: str(v) for k, v in (await request.post()).items()}
    form["name"] = request.match_info["name"]
    payload, unread = from_form(form)
    script, problems = await _check(request, project["id"], payload, unread)
    diagram = (
        layout(script, problem_steps=_problem_steps(problems), language=i18n.current.get())
        if script
        else None
    )
    return render(request, "console/_script_check.html", diagram=diagram, problems=problems)


async def try_it(request: web.Request) -> web.StreamResponse:
    """Walk the saved script (or a version) with a sample lead, as the operator's screen shows it."""
    project = await project_for(request, request.match_info["slug"], *MANAGERS)
    person = person_of(request)
    name = request.match_info["name"]
    try:
        given = [Given(g["step"], g["value"]) for g in json.loads(request.query.get("given", "[]"))]
    except (ValueError, KeyError, TypeError):
        given = []
    if request.query.get("at") and "typed" in request.query:
        given.append(Given(request.query["at"], request.query["typed"].strip()))
    async with reading(request.app[DATABASE]) as conn:
        try:
            script, version = await store.get_script(conn, project["id"], name)
        except DialerError:
            raise web.HTTPNotFound(text=_("There is no such page, or it is not yours to see.")) from None
        lead = (
            (await conn.execute(select(LEAD).where(LEAD.c.project_id == project["id"]).limit(1)))
            .mappings()
            .first()
        )
        fields = await store.get_fields(conn, project["id"])
    data = dict(lead["data"]) if lead else {"application": "Z-0001", "amount": 15000}
    sample = {
        "name": (lead["name"] if lead else None) or "Иван Петров",
        "external_id": lead["external_id"] if lead else "Z-0001",
        "phone": (lead["phones"] or [""])[0] if lead else "+79000000000",
        "data": data,
    }
    state = run(
        script, given, fields={f.name: data[f.default_from] for f in fields.fields if f.default_from in data}
    )
    variables = {
        "lead": sample,
        "fields": state.fields,
        "operator": {"name": person.name},
        "project": {"name": project["name"]},
    }
    language = i18n.current.get()
    current = state.current
    text = render_text(current.text.get(language), variables) if current is not None and current.text else ""
    history = [{"step": g.step, "value": g.value} for g in given]
    answers = current.answers if current is not None else []
    here = current.id if current is not None else ""
    steps = {
        "answers": [
            (a.value, a.label.get(language), json.dumps([*history, {"step": here, "value": a.value}]))
            for a in answers
        ],
        "next": json.dumps([*history, {"step": current.id, "value": "next"}]) if current is not None else "",
        "back": json.dumps(history[:-1]) if history else None,
        "here": json.dumps(history),
    }
    return render(request, "console/script_try.html", project=project, name=name, version=version,
                  state=state, text=text, sample=sample, steps=steps, tab="scripts")  # fmt: skip


async def differences(request: web.Request) -> web.StreamResponse:
    """What changed between two versions, step by step."""
    project = await project_for(request, request.match_info["slug"], *MANAGERS)
    name = request.match_info["name"]
    try:
        older_version, newer_version = int(request.query["from"]), int(request.query["to"])
        async with reading(request.app[DATABASE]) as conn:
            older, _ = await store.get_script(conn, project["id"], name, older_version)
            newer, _ = await store.get_script(conn, project["id"], name, newer_version)
    except (KeyError, ValueError, DialerError):
        raise web.HTTPNotFound(text=_("There is no such page, or it is not yours to see.")) from None
    return render(request, "console/script_diff.html", project=project, name=name, older=older_version,
                  newer=newer_version, changes=store.diff(older, newer), tab="scripts")  # fmt: skip


async def restore(request: web.Request) -> web.StreamResponse:
    project = await project_for(request, request.match_info["slug"], *MANAGERS)
    person = person_of(request)
    name, version = request.match_info["name"], int(request.match_info["version"])
    async with writing(request.app[DATABASE]) as conn:
        try:
            saved = await store.restore(conn, project["id"], name, version, author=person.login)
        except DialerError as exc:
            raise web.HTTPNotFound(text=str(exc)) from None
    raise web.HTTPSeeOther(f"/projects/{project['slug']}/scripts/{name}?saved={saved}")


def setup(app: web.Application) -> None:
    app.router.add_get("/projects/{slug}/scripts", scripts_page)
    app.router.add_get("/projects/{slug}/scripts/{name}", editor)
    app.router.add_post("/projects/{slug}/scripts/{name}", save)
    app.router.add_post("/projects/{slug}/scripts/{name}/check", diagram_part)
    app.router.add_get("/projects/{slug}/scripts/{name}/try", try_it)
    app.router.add_get("/projects/{slug}/scripts/{name}/diff", differences)
    app.router.add_post("/projects/{slug}/scripts/{name}/restore/{version:[0-9]{1,7}}", restore)
