"""``GET /work/events``: the workplace as Server-Sent Events, so the client's card is on the screen the
moment the call is bridged (and in a background tab too: a stream is not throttled like a timer).

Each event (``event: screen``) is a JSON object: the state bar's values, and, when the call on screen
changed (another call, or the same one ending), the call panel as HTML (``call_html``) with
``bridged_at`` (the engine's bridge, epoch milliseconds) so the page can measure how long the card
took. The stream wakes on the operator's events on the engine's bus, and every few seconds while a
call is on screen (its messages' statuses). An open stream is the operator's presence: when the last
one closes, a ready operator is paused after the project's limit.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from dialer.accounts.people import Person
from dialer.engine.service import EngineService
from dialer.storage import reading
from dialer.web import i18n
from dialer.web.api.operator_events import next_changes
from dialer.web.console.guard import person_of, render_part
from dialer.web.keys import DATABASE
from dialer.web.workplace import screen
from dialer.web.workplace.pages import now_in, service_of
from sms_email.store import list_messages

KEEP_ALIVE = 15.0
WHILE_ON_CALL = 3.0  # seconds between two looks at the call's messages
RETRY_MS = 2000
STREAMS = web.AppKey("workplace_streams", set[asyncio.Event])


@dataclass
class _Shown:
    """What this stream last sent: the call panel's key, and where its messages are."""

    key: str | None = None
    project_id: int | None = None
    external_id: str | None = None
    body: str = ""
    bridged: dict[str, float] = field(default_factory=dict)  # call -> the engine's bridge, epoch ms


async def events(request: web.Request) -> web.StreamResponse:
    person = person_of(request)
    service = service_of(request)
    login = person.login
    async with reading(request.app[DATABASE]) as conn:
        projects = await screen.projects_of(conn, login)
    away_limit = float(min((p["away_limit"] for p in projects), default=60))
    stop = asyncio.Event()
    request.app[STREAMS].add(stop)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    service.seen(login, True, away_limit=away_limit)
    last = _Shown()
    try:
        with service.bus.subscribe(lambda event: event.operator == login) as changes:
            await response.prepare(request)
            await response.write(f"retry: {RETRY_MS}\n\n".encode())
            sent = 0
            while not stop.is_set():
                payload = await _payload(request, service, person, projects, last)
                body = json.dumps(payload, ensure_ascii=False, default=str)
                if body != last.body:
                    sent, last.body = sent + 1, body
                    await response.write(f"id: {sent}\nevent: screen\ndata: {body}\n\n".encode())
                idle = WHILE_ON_CALL if last.key else KEEP_ALIVE
                got = await next_changes(changes, stop, idle)
                if got is None:
                    await response.write(b": keep-alive\n\n")
                for event in got or []:
                    if event.kind == "call.connected" and event.call_id:
                        last.bridged[event.call_id] = event.at.timestamp() * 1000
    except ConnectionResetError:
        pass  # the page went away
    finally:
        request.app[STREAMS].discard(stop)
        service.seen(login, False, away_limit=away_limit)
    return response


async def _payload(
    request: web.Request, service: EngineService, person: Person, projects: list[dict[str, Any]], last: _Shown
) -> dict[str, Any]:
    """The state bar's values; the call panel only when the call changed (else its messages only)."""
    db = request.app[DATABASE]
    bar = await screen.bar(db, service, person.login, projects)
    shown = bar.screen.shown
    key = screen.key_of(shown) if shown else None
    payload: dict[str, Any] = {
        "state": bar.screen.state,
        "state_label": screen.state_label(bar.screen.state),
        "seconds_in_state": bar.screen.seconds_in_state,
        "pause_reason": i18n.gettext(label) if (label := bar.pause_label(i18n.current.get())) else None,
        "wrap_up_left": bar.screen.wrap_up_left,
        "calls_today": bar.calls_today,
        "successes_today": bar.successes_today,
        "phone": _phone(bar.phone),
        "call_key": key,
    }
    if key != last.key:
        panel = await screen.call_panel(db, shown, person, i18n.current.get()) if shown else None
        last.key = key if panel else None
        last.project_id, last.external_id = (
            (panel.project["id"], panel.lead.external_id) if panel else (None, None)
        )
        payload |= _panel(request, panel)
        if shown is not None and shown.call_id in last.bridged:
            payload["bridged_at"] = last.bridged.pop(shown.call_id)
        sent = panel.messages if panel else []
    elif last.project_id is not None and last.external_id is not None:
        async with reading(db) as conn:
            sent = await list_messages(conn, last.project_id, lead=last.external_id, limit=10)
    else:
        sent = []
    payload["messages"] = [
        {"id": m.id, "template": m.template, "status": m.status, "label": i18n.gettext(m.status)}
        for m in sent
    ]
    return payload


def _panel(request: web.Request, panel: screen.CallPanel | None) -> dict[str, Any]:
    """The call panel's part of an event: its HTML, the portal, the lead for the portal, the title."""
    if panel is None:
        return {"call_html": "", "portal": None, "lead": None, "title": None}
    lead = panel.lead
    return {
        "call_html": render_part(request, "console/_work_call.html", panel=panel, now_in=now_in),
        "portal": {"url": panel.portal, "origin": panel.origin} if panel.portal else None,
        "lead": {"external_id": lead.external_id, "name": lead.name, "data": lead.data},
        "title": lead.name or lead.external_id,
    }


def _phone(phone: Any) -> dict[str, Any]:
    if not phone.registered:
        label = i18n.gettext("not registered")
    elif not phone.line_up:
        label = i18n.gettext("registered, no line")
    elif phone.silent_for is not None and phone.silent_for > 3:
        label = i18n.gettext("line up, silent")
    else:
        label = i18n.gettext("line up")
    return {"registered": phone.registered, "line_up": phone.line_up, "label": label,
            "ok": phone.registered and phone.line_up}  # fmt: skip


async def end_streams(app: web.Application) -> None:
    for stop in app[STREAMS]:
        stop.set()


def setup(app: web.Application) -> None:
    app[STREAMS] = set()
    app.on_shutdown.append(end_streams)
    app.router.add_get("/work/events", events)
