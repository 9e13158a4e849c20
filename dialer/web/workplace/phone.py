"""The browser phone's signalling on the workplace: ``POST /work/phone`` (the page's WebRTC offer,
answered by the runtime's voice side; the operator's signed-in session and its form token carry it)
and ``POST /work/phone/echo`` (the "can you hear me" test: the line plays the operator's voice back)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from dialer.engine.bus import EngineEvent
from dialer.errors import Conflict, Rejected
from dialer.web import i18n
from dialer.web.console.guard import person_of
from dialer.web.keys import RUNTIME, SETTINGS

_ = i18n.gettext
LONGEST_OFFER = 20_000  # characters of SDP


def ice_servers(request: web.Request) -> str:
    """The STUN/TURN servers for the page's peer connection, as JSON (empty: direct addresses)."""
    servers: list[dict[str, Any]] = []
    for server in request.app[SETTINGS].webrtc.ice_servers:
        entry: dict[str, Any] = {"urls": server.urls}
        if server.username:
            entry["username"] = server.username
        if server.credential:
            entry["credential"] = server.credential.get_secret_value()
        servers.append(entry)
    return json.dumps(servers)


async def offer(request: web.Request) -> web.StreamResponse:
    person = person_of(request)
    form = await request.post()
    sdp = str(form.get("sdp", ""))
    if not sdp.startswith("v=0") or len(sdp) > LONGEST_OFFER:
        return web.json_response({"error": _("The browser sent no usable audio offer.")}, status=422)
    runtime = request.app.get(RUNTIME)
    if runtime is None:
        raise web.HTTPServiceUnavailable(text=_("This server runs without the dialing engine."))
    try:
        answer = await runtime.browser_phone(person.login, sdp)
    except Conflict:
        return web.json_response({"error": _("The browser phone is off on this server.")}, status=409)
    except Rejected as exc:
        return web.json_response({"error": str(exc)}, status=422)
    if runtime.engine is not None:  # the operator's screens show the line at once
        runtime.engine.bus.publish(EngineEvent("operator.phone", operator=person.login))
    return web.json_response({"type": "answer", "sdp": answer})


async def echo(request: web.Request) -> web.StreamResponse:
    person = person_of(request)
    form = await request.post()
    runtime = request.app.get(RUNTIME)
    on = form.get("on") == "1"
    done = runtime is not None and runtime.echo(person.login, on)
    if not done:
        return web.json_response({"error": _("Connect the browser phone first.")}, status=409)
    return web.json_response({"echo": on})
