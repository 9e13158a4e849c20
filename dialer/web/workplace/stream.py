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
from typing import Any

from aiohttp import web

from dialer.engine.bus import EngineEvent, Subscription
from dialer.engine.service import EngineService
from dialer.storage import reading
from dialer.web import i18n
from dialer.web.console.guard import person_of, render_part
from dialer.web.keys import DATABASE
from dialer.web.workplace import screen
from dialer.web.workplace.pages import now_in, service_of

KEEP_ALIVE = 15.0
WHILE_ON_CALL = 3.0  # seconds between two looks at the call's messages
RETRY_MS = 2000
STREAMS = web.AppKey("workplace_streams", set[asyncio.Event])


async def events(request: web.Request) -> web.StreamResponse:
    person = person_of(request)
    service = service_of(request)
    login = person.login
    async with reading(request.app[DATABASE]) as conn:
        limits = [p["away_limit"] for p in await screen.projects_of(conn, login)]
    stop = asyncio.Event()
    request.app[STREAMS].add(stop)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    service.seen(login, True, away_limit=float(min(limits, default=60)))
    bridged: dict[str, float] = {}
    try:
        with service.bus.subscribe(lambda event: event.operator == login) as changes:
            await response.prepare(request)
            await response.write(f"retry: {RETRY_MS}\n\n".encode())
            sent, last_key, last_body = 0, None, ""
            while not stop.is_set():
                payload, key = await _payload(request, service, login, last_key, bridged)
                body = json.dumps(payload, ensure_ascii=False, default=str)
                if body != last_body:
                    sent, last_body, last_key = sent + 1, body, key
                    await response.write(f"id: {sent}\nevent: screen\ndata: {body}\n\n".encode())
                idle = WHILE_ON_CALL if key else KEEP_ALIVE
                if not await _changed(changes, stop, idle, bridged):
                    await response.write(b": keep-alive\n\n")
    except ConnectionResetError:
        pass  # the page went away
    finally:
        request.app[STREAMS].discard(stop)
        service.seen(login, False, away_limit=float(min(limits, default=60)))
    return response


async def _payload(
    request: web.Request, service: EngineService, login: str, last_key: str | None, bridged: dict[str, float]
) -> tuple[dict[str, Any], str | None]:
    db = request.app[DATABASE]
    bar = await screen.bar(db, service, login)
    shown = bar.screen.shown
    panel = await screen.call_panel(db, shown, login, i18n.current.get()) if shown else None
    key = panel.key if panel else None
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
        "messages": [
            {"id": m.id, "template": m.template, "status": m.status, "label": i18n.gettext(m.status)}
            for m in (panel.messages if panel else [])
        ],
    }
    if key != last_key:
        payload["call_html"] = (
            render_part(request, "console/_work_call.html", panel=panel, now_in=now_in) if panel else ""
        )
        payload["portal"] = {"url": panel.portal, "origin": panel.origin} if panel and panel.portal else None
        payload["lead"] = (
            {"external_id": panel.lead.external_id, "name": panel.lead.name, "data": panel.lead.data}
            if panel else None
        )  # fmt: skip
        payload["title"] = panel.lead.name or panel.lead.external_id if panel else None
        if shown is not None and shown.call_id in bridged:
            payload["bridged_at"] = bridged[shown.call_id]
    return payload, key


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


async def _changed(
    changes: Subscription, stop: asyncio.Event, idle: float, bridged: dict[str, float]
) -> bool:
    """Wait for the next event (taking every one already queued), ``stop``, or ``idle`` seconds."""
    getting = asyncio.ensure_future(changes.queue.get())
    stopping = asyncio.ensure_future(stop.wait())
    done, pending = await asyncio.wait([getting, stopping], timeout=idle, return_when=asyncio.FIRST_COMPLETED)
    for waiter in pending:
        waiter.cancel()
    got: list[EngineEvent] = [getting.result()] if getting in done else []
    while not changes.queue.empty():
        got.append(changes.queue.get_nowait())
    for event in got:
        if event.kind == "call.connected" and event.call_id:
            bridged[event.call_id] = event.at.timestamp() * 1000
    return bool(done)


async def end_streams(app: web.Application) -> None:
    for stop in app[STREAMS]:
        stop.set()


def setup(app: web.Application) -> None:
    app[STREAMS] = set()
    app.on_shutdown.append(end_streams)
    app.router.add_get("/work/events", events)
