"""The operator's workplace: ``/work`` and its forms.

Every form works without JavaScript (it posts, the server answers with a redirect back to ``/work``
or, when refused, the page again with what was typed and what is wrong). With JavaScript the page
posts the same forms with ``fetch`` (``Accept: application/json``) and redraws from the answer and
from the stream (:mod:`dialer.web.workplace.stream`). Handlers stay thin: the engine's operator
methods, :mod:`scripts_crm` (runner, fields, drafts, answers) and :mod:`sms_email` do the work; a
call named in a form must be the one on this operator's screen, so nobody reaches another's lead.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.accounts.people import Person, sees
from dialer.engine.attempts import Disposition
from dialer.engine.service import EngineService
from dialer.engine.views import OnScreen
from dialer.errors import DialerError, FieldError
from dialer.storage import reading, writing
from dialer.storage.types import utcnow
from dialer.web import i18n
from dialer.web.console.guard import CSP, person_of, render, render_part
from dialer.web.i18n import gettext as _
from dialer.web.keys import DATABASE, RUNTIME, SETTINGS
from dialer.web.workplace import screen
from dialer.web.workplace.phone import ice_servers
from dialer.workplace_settings import DispositionCode, dispositions_of
from scripts_crm import drafts
from scripts_crm import store as scripts
from scripts_crm.fields import checked
from scripts_crm.model import SendMessage
from scripts_crm.runner import Given, initial_fields, run
from sms_email.schema import MessageIn
from sms_email.store import project_row, queue_message

log = structlog.get_logger(__name__)
DIGITS = set("0123456789*#ABCD")


class Refused(Exception):
    """A form the workplace cannot take: what is wrong, per field (``""``: the form as a whole)."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(problems)
        self.problems = problems


def service_of(request: web.Request) -> EngineService:
    runtime = request.app.get(RUNTIME)
    service = runtime.engine if runtime is not None else None
    if service is None:
        raise web.HTTPServiceUnavailable(text=_("This server runs without the dialing engine."))
    return service


def wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


async def page(request: web.Request) -> web.StreamResponse:
    person = person_of(request)
    runtime = request.app.get(RUNTIME)
    if runtime is None or runtime.engine is None:  # [sip] enabled = false: nothing to work
        return render(request, "console/work_off.html")
    return await _page(request, person, {})


async def _page(request: web.Request, person: Person, problems: dict[str, str], status: int = 200,
                typed: dict[str, Any] | None = None) -> web.StreamResponse:  # fmt: skip
    service = service_of(request)
    db = request.app[DATABASE]
    bar = await screen.bar(db, service, person.login)
    shown = service.current(person.login)
    panel = await screen.call_panel(db, shown, person, i18n.current.get()) if shown else None
    if panel is not None:
        panel.problems = problems
        if typed:
            panel.values |= typed.get("fields", {})
            panel.chosen |= {k: v for k, v in typed.items() if k != "fields"}
    calls_back = await screen.callbacks(db, person.login)
    response = render(request, "console/work.html", status=status, bar=bar, panel=panel, callbacks=calls_back,
                      now=utcnow(), problems=problems, now_in=now_in, state_label=screen.state_label,
                      ice_servers=ice_servers(request),
                      browser_phone=request.app[SETTINGS].webrtc.enabled)  # fmt: skip
    if panel is not None and panel.origin:  # the portal may be framed by this page, nothing else
        response.headers["Content-Security-Policy"] = _policy(panel.origin)
    return response


def now_in(zone: str) -> str:
    """The time now in ``zone`` (the client's clock on the card)."""
    return utcnow().astimezone(ZoneInfo(zone)).strftime("%H:%M")


def _policy(origin: str) -> str:
    return CSP + f"; frame-src {origin}"


def _back(request: web.Request, **answer: Any) -> web.StreamResponse:
    if wants_json(request):
        return web.json_response({"ok": True, **answer})
    raise web.HTTPSeeOther("/work")


async def _refused(request: web.Request, person: Person, refused: Refused,
                   typed: dict[str, Any] | None = None) -> web.StreamResponse:  # fmt: skip
    if wants_json(request):
        html = await panel_html(request, person, refused.problems, typed) if typed is not None else None
        return web.json_response({"ok": False, "problems": refused.problems, "call_html": html}, status=422)
    return await _page(request, person, refused.problems, status=422, typed=typed)


async def panel_html(request: web.Request, person: Person, problems: dict[str, str] | None = None,
                     typed: dict[str, Any] | None = None) -> str:  # fmt: skip
    """The call panel as it is now (with ``problems`` at their fields and what was ``typed`` kept)."""
    shown = service_of(request).current(person.login)
    panel = (
        await screen.call_panel(request.app[DATABASE], shown, person, i18n.current.get()) if shown else None
    )
    if panel is None:
        return ""
    panel.problems = problems or {}
    if typed:
        panel.values |= typed.get("fields", {})
        panel.chosen |= {k: v for k, v in typed.items() if k != "fields"}
    return render_part(request, "console/_work_call.html", panel=panel, now_in=now_in)


def _on_screen(service: EngineService, login: str, call_id: str | None, *, placed: bool = False) -> OnScreen:
    """The call on the operator's screen, which must be the one the form names (``placed``: and
    dialled already, not a lead in preview)."""
    shown = service.current(login)
    if shown is None or (call_id or None) != shown.call_id:
        raise Refused({"": _("That call is no longer on your screen.")})
    if placed and shown.call_id is None:
        raise Refused({"": _("Start the call first.")})
    return shown


# -- the operator's state --------------------------------------------------------------------------


async def set_state(request: web.Request) -> web.StreamResponse:
    person = person_of(request)
    service = service_of(request)
    form = await request.post()
    wanted, reason = str(form.get("state", "")), str(form.get("reason", "")).strip()
    try:
        if wanted == "ready":
            await service.ready(person.login)
        elif wanted == "paused":
            if not reason:
                raise Refused({"reason": _("Choose why you pause.")})
            if service.operator(person.login) is None:
                await service.ready(person.login)  # signs in to the board (and calls the phone) first
            service.pause(person.login, reason)
        elif wanted == "offline":
            if service.operator(person.login) is not None:
                service.offline(person.login)
        else:
            raise Refused({"state": _("Unknown state.")})
    except Refused as refused:
        return await _refused(request, person, refused)
    except DialerError as exc:
        return await _refused(request, person, Refused({"": _explain(exc)}))
    return _back(request)


def _explain(exc: DialerError) -> str:
    text = str(exc)
    if "no phone registered" in text:
        return _("Your phone is not registered with the dialer: start your softphone and try again.")
    if "did not answer" in text:
        return _("Your phone did not answer: pick it up when the dialer calls it.")
    if "outcome of the last call" in text:
        return _("Record the outcome of the last call first.")
    if "cannot be called now" in text:
        return _("This lead cannot be called now: outside its calling window, on the do-not-call list, "
                 "over its contact caps, being called, or finished.")  # fmt: skip
    if "campaign is not running" in text:
        return _("The lead's campaign is not running.")
    return text


async def preview(request: web.Request) -> web.StreamResponse:
    person = person_of(request)
    service = service_of(request)
    action = str((await request.post()).get("action", ""))
    try:
        if action not in ("dial", "skip"):
            raise Refused({"": _("Unknown action.")})
        await service.preview(person.login, action)
    except Refused as refused:
        return await _refused(request, person, refused)
    except DialerError as exc:
        return await _refused(request, person, Refused({"": str(exc)}))
    return _back(request)


async def hang_up(request: web.Request) -> web.StreamResponse:
    person = person_of(request)
    service = service_of(request)
    form = await request.post()
    try:
        _on_screen(service, person.login, str(form.get("call_id", "")))
        service.hang_up_client(person.login)
    except Refused as refused:
        return await _refused(request, person, refused)
    return _back(request)


async def extend(request: web.Request) -> web.StreamResponse:
    person = person_of(request)
    service = service_of(request)
    try:
        shown = _on_screen(service, person.login, str((await request.post()).get("call_id", "")))
        async with reading(request.app[DATABASE]) as conn:
            project = await _project_of_call(conn, shown)
        left = service.extend_wrap_up(person.login, float(project["wrap_up_extension"]))
    except Refused as refused:
        return await _refused(request, person, refused)
    except DialerError as exc:
        return await _refused(request, person, Refused({"": str(exc)}))
    return _back(request, left=round(left))


async def control(request: web.Request) -> web.StreamResponse:
    """Hold, mute, or send DTMF digits to the client."""
    person = person_of(request)
    service = service_of(request)
    form = await request.post()
    try:
        _on_screen(service, person.login, str(form.get("call_id", "")))
        digits = str(form.get("digits", "")).strip().upper()
        if digits and (len(digits) > 32 or not set(digits) <= DIGITS):
            raise Refused({"digits": _("Digits 0-9, * and # only.")})
        hold = _switch(form.get("hold"))
        mute = _switch(form.get("mute"))
        service.in_call(person.login, hold=hold, mute=mute, digits=digits or None)
    except Refused as refused:
        return await _refused(request, person, refused)
    except DialerError as exc:
        return await _refused(request, person, Refused({"": str(exc)}))
    return _back(request, hold=hold, mute=mute)


def _switch(value: Any) -> bool | None:
    return None if value in (None, "") else str(value) == "on"


# -- the script and the draft ------------------------------------------------------------------------


async def script_input(request: web.Request) -> web.StreamResponse:
    """An answer to the script's step (a button, a typed value, "next"), or ``back``: the draft takes
    it, the actions of the branch taken fire once (messages are queued with a key per call and action)."""
    person = person_of(request)
    service = service_of(request)
    form = await request.post()
    try:
        shown = _on_screen(service, person.login, str(form.get("call_id", "")), placed=True)
        sent = await _script_input(request, person, shown, form)
    except Refused as refused:
        return await _refused(request, person, refused)
    if sent:
        request.app[RUNTIME].messages_queued()
    if wants_json(request):
        return web.json_response({"ok": True, "call_html": await panel_html(request, person)})
    return _back(request)


async def _script_input(request: web.Request, person: Person, shown: OnScreen, form: Any) -> int:
    assert shown.call_id is not None
    async with writing(request.app[DATABASE]) as conn:
        project = await _project_of_call(conn, shown)
        panel_script = await screen.script_of_call(
            conn, project["id"], project["campaign_script"], shown.call_id
        )
        if panel_script is None:
            raise Refused({"": _("This campaign has no script.")})
        draft = await drafts.load(conn, shown.call_id, person.login)
        given = list(draft.get("given", []))
        if form.get("back"):
            given = given[:-1]
        else:
            step, value = str(form.get("step", "")), str(form.get("value", "next")).strip()
            given.append({"step": step, "value": value})
        fields = await scripts.get_fields(conn, project["id"])
        lead = await screen.lead_row(conn, shown.lead_id)
        saved = await scripts.current_answers(conn, shown.lead_id)
        start = initial_fields(fields, lead["data"], saved) | dict(draft.get("fields", {}))
        state = run(panel_script, [Given(g["step"], g["value"]) for g in given], fields=start)
        if state.refused:
            raise Refused({"": state.refused})
        typed = {k: v for k, v in state.fields.items() if k in {f.name for f in fields.fields}}
        draft |= {"given": given, "fields": dict(draft.get("fields", {})) | typed}
        sent = await _fire(conn, request, project, shown, person=person, state=state, draft=draft)
        await drafts.save(conn, shown.call_id, person.login, shown.lead_id, draft)
    return sent


async def _fire(conn: AsyncConnection, request: web.Request, project: Any, shown: OnScreen, *,
                person: Person, state: Any, draft: dict[str, Any]) -> int:  # fmt: skip
    """Queue the messages of the actions on the way not queued for this call yet; returns how many."""
    fired: dict[str, Any] = dict(draft.get("fired", {}))
    queued = 0
    external_id = (await screen.lead_row(conn, shown.lead_id))["external_id"]
    row = await project_row(conn, project["slug"])
    for action in state.actions:
        if not isinstance(action.action, SendMessage) or action.key in fired:
            continue
        message = MessageIn(template=action.action.template, answers=state.fields, operator=person.login,
                            idempotency_key=f"{shown.call_id}:{action.key}")  # fmt: skip
        try:
            async with conn.begin_nested():
                out, created = await queue_message(
                    conn, request.app[SETTINGS].channels, row, external_id, message
                )
            fired[action.key] = {"message": out.id, "template": action.action.template}
            queued += created
        except DialerError as exc:  # no channel, a stop list, a value missing: said, the call goes on
            fired[action.key] = {"error": str(exc), "template": action.action.template}
            log.warning("script message not queued", call_id=shown.call_id, template=action.action.template,
                        error=str(exc))  # fmt: skip
    draft["fired"] = fired
    return queued


async def save_draft(request: web.Request) -> web.StreamResponse:
    """What is typed in the CRM form and the outcome form, kept for the call (every few seconds)."""
    person = person_of(request)
    service = service_of(request)
    form = await request.post()
    try:
        shown = _on_screen(service, person.login, str(form.get("call_id", "")), placed=True)
        assert shown.call_id is not None  # placed
        async with writing(request.app[DATABASE]) as conn:
            draft = await drafts.load(conn, shown.call_id, person.login)
            draft |= _typed(form)
            if len(json.dumps(draft, default=str)) > drafts.MAX_BYTES:
                raise Refused({"": _("The form is too large to keep.")})
            await drafts.save(conn, shown.call_id, person.login, shown.lead_id, draft)
    except Refused as refused:
        return await _refused(request, person, refused)
    return _back(request, saved=utcnow().isoformat())


def _typed(form: Any) -> dict[str, Any]:
    """The form's values: CRM fields are ``field.NAME``; the outcome's are plain."""
    fields: dict[str, Any] = {}
    for key in set(form.keys()):
        if key.startswith("field."):
            values = [str(v) for v in form.getall(key)]
            fields[key[6:]] = values if len(values) > 1 or key.endswith("[]") else values[0].strip()
    fields = {k.removesuffix("[]"): v for k, v in fields.items()}
    typed: dict[str, Any] = {"fields": fields} if fields else {}
    for key in ("disposition", "reason", "callback_at", "notes"):
        if key in form:
            typed[key] = str(form.get(key, "")).strip()
    return typed


# -- the outcome -------------------------------------------------------------------------------------


async def outcome(request: web.Request) -> web.StreamResponse:
    """Record the call's outcome with the CRM answers: checked first (every problem at its field, what
    was typed kept), then stored once, whatever the number of clicks."""
    person = person_of(request)
    service = service_of(request)
    form = await request.post()
    typed = _typed(form)
    call_id = str(form.get("call_id", ""))
    try:
        shown = service.current(person.login)
        if shown is None or shown.call_id != call_id:
            if call_id and service.disposed.get(call_id) == person.login:
                return _back(request, already=True)  # a second click, a retry: recorded once
            raise Refused({"": _("That call is no longer on your screen.")})
        disposition = await _record(request, person, service, shown, typed)
    except Refused as refused:
        return await _refused(request, person, refused, typed)
    return _back(request, recorded=disposition)


async def _record(request: web.Request, person: Person, service: EngineService, shown: OnScreen,
                  typed: dict[str, Any]) -> str:  # fmt: skip
    assert shown.call_id is not None
    db = request.app[DATABASE]
    async with reading(db) as conn:
        project = await _project_of_call(conn, shown)
        fields = await scripts.get_fields(conn, project["id"])
        zone = (await screen.lead_row(conn, shown.lead_id))["time_zone"] or project["time_zone"]
    codes = {c.code: c for c in dispositions_of(project)}
    problems: dict[str, str] = {}
    code = codes.get(typed.get("disposition", ""))
    if code is None:
        problems["disposition"] = _("Choose the outcome of the call.")
    values, errors = checked(fields, typed.get("fields", {}), region=project["region"])
    problems |= {f"field.{e.field}": _field_problem(e) for e in errors}
    callback_at = _callback_time(typed, code, zone, problems)
    reason = typed.get("reason") or None
    if code is not None and code.reasons and reason not in {r.code for r in code.reasons}:
        problems["reason"] = _("Choose the reason.")
    if problems or code is None:
        raise Refused(problems)
    disposition = Disposition(person.login, code.effect, typed.get("notes") or None, callback_at,
                              code=code.code, reason=reason, success=code.success)  # fmt: skip
    async with writing(db) as conn:
        await scripts.record_answers(conn, shown.lead_id, {k: v for k, v in values.items() if v is not None},
                                     author=person.login, call_id=shown.call_id)  # fmt: skip
    try:
        result = await service.dispose(person.login, disposition, shown.call_id)
    except DialerError as exc:
        raise Refused({"": str(exc)}) from None
    async with writing(db) as conn:
        await drafts.drop(conn, shown.call_id)
    log.info("outcome recorded", operator=person.login, call_id=shown.call_id, code=code.code, result=result)
    return code.code


def _field_problem(error: FieldError) -> str:
    problem = _(error.problem)  # the common words ("required") are translated; the rest says the value
    return problem if not error.expected else f"{problem} ({error.expected})"


def _callback_time(typed: dict[str, Any], code: DispositionCode | None, zone: str,
                   problems: dict[str, str]) -> datetime | None:  # fmt: skip
    if code is None or code.effect != "callback":
        return None
    raw = typed.get("callback_at", "")
    try:
        local = datetime.fromisoformat(raw)
    except ValueError:
        problems["callback_at"] = _("Pick the date and time to call back.")
        return None
    when = local.replace(tzinfo=ZoneInfo(zone)) if local.tzinfo is None else local
    if when <= utcnow():
        problems["callback_at"] = _("That time has passed.")
        return None
    return when


async def call_lead(request: web.Request) -> web.StreamResponse:
    """Call a lead by hand: one of the operator's own callbacks (early), or any lead of their project
    when the project allows calls by hand. A lead of another project is refused as one that does not
    exist."""
    person = person_of(request)
    service = service_of(request)
    form = await request.post()
    slug, external_id = str(form.get("project", "")), str(form.get("external_id", "")).strip()
    try:
        async with reading(request.app[DATABASE]) as conn:
            found = await screen.lead_of_project(conn, slug, external_id)
        if found is None or not sees(person, found["project_id"]):
            raise Refused({"external_id": _("No such application in your projects.")})
        own = found["status"] == "callback" and found["pinned_operator"] == person.login
        if not (own or found["manual_calls"]):
            raise Refused({"external_id": _("This project does not allow calls by hand.")})
        if found["campaign_id"] is None:
            raise Refused({"external_id": _("This application is in no campaign.")})
        await service.call_lead(person.login, found["id"], found["campaign_id"])
    except Refused as refused:
        return await _refused(request, person, Refused({"": next(iter(refused.problems.values()))}))
    except DialerError as exc:
        return await _refused(request, person, Refused({"": _explain(exc)}))
    return _back(request)


# -- helpers -----------------------------------------------------------------------------------------


async def _project_of_call(conn: AsyncConnection, shown: OnScreen) -> dict[str, Any]:
    return await screen.project_of_call(conn, shown.campaign)
