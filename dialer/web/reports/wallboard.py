"""The live wall-board (``/wallboard?project=``): operators by state with time in state (coloured
past thresholds), calls ringing / waiting / talking, each running campaign's dial level, the pacer's
reason and abandon budget, the trunks; pushed over SSE every ``PUSH_EVERY`` seconds and when an
operator's state changes. Made to stay open on a big screen all day: the page reconnects by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import web
from aiohttp.web_exceptions import HTTPException

from dialer.accounts.people import projects_seen
from dialer.storage import reading
from dialer.web import i18n
from dialer.web.api.operator_events import STREAMS, next_changes
from dialer.web.console.guard import project_for, render, require
from dialer.web.keys import DATABASE, RUNTIME
from dialer.web.reports.pages import READERS
from dialer.web.reports.view import duration, text_of
from reports.scope import Scope, scope_of
from reports.shape import Kind
from reports.today import today_figures

PUSH_EVERY = 2.0
TOTALS_EVERY = 10.0
MIN_GAP = 0.5  # seconds between two pushes however often operators move
# seconds in a state after which the board shows it amber, then red
THRESHOLDS = {"paused": (600, 1200), "wrap_up": (60, 180), "talking": (600, 1200), "ready": (300, 900),
              "reserved": (10, 30)}  # fmt: skip
ORDER = {"talking": 0, "reserved": 1, "wrap_up": 2, "ready": 3, "paused": 4}


def level(state: str, seconds: float) -> str:
    warn, alert = THRESHOLDS.get(state, (None, None))
    if alert is not None and seconds >= alert:
        return "alert"
    if warn is not None and seconds >= warn:
        return "warn"
    return state


class Totals:
    """Today's totals from the database, read at most every ``TOTALS_EVERY`` seconds per board."""

    def __init__(self) -> None:
        self.read_at = -TOTALS_EVERY
        self.scope: Scope | None = None
        self.figures: dict[str, Any] = {}

    async def get(self, request: web.Request, project: Any) -> tuple[Scope, dict[str, Any]]:
        now = asyncio.get_running_loop().time()
        if self.scope is None or now - self.read_at >= TOTALS_EVERY:
            async with reading(request.app[DATABASE]) as conn:
                self.scope = await scope_of(conn, project, {}, language=i18n.current.get())
                self.figures = await today_figures(conn, self.scope)
            self.read_at = now
        return self.scope, self.figures


async def board(request: web.Request, project: Any, totals: Totals | None = None) -> dict[str, Any]:
    """The wall-board's figures now (what the page shows and the stream pushes)."""
    runtime = request.app.get(RUNTIME)
    engine = runtime.engine if runtime is not None else None
    scope, today = await (totals or Totals()).get(request, project)
    operators, calls, campaigns = [], {"ringing": 0, "waiting": 0, "connected": 0}, []
    if engine is not None:
        views = sorted((o for o in engine.operators(project["id"]) if o.state != "offline"),
                       key=lambda o: (ORDER.get(o.state, 9), -o.seconds_in_state))  # fmt: skip
        for o in views:
            state = i18n.gettext(o.state) + (
                f" · {scope.pause_label(o.pause_reason)}" if o.pause_reason else ""
            )
            operators.append({
                "login": o.login, "name": scope.operators.get(o.login, o.login), "state": o.state,
                "state_text": state, "in_state": duration(o.seconds_in_state, tenths=False),
                "level": level(o.state, o.seconds_in_state), "calls_today": o.calls_today,
            })  # fmt: skip
        calls = engine.calls_by_phase(project["id"])
        for campaign in scope.campaigns.values():
            view = engine.campaign_view(campaign.id)
            if view is None:
                continue
            campaigns.append({
                "name": campaign.name, "dial_level": text_of(view.dial_level, Kind.NUMBER),
                "reason": view.last_decision or "", "abandon_rate": text_of(view.abandon_rate, Kind.SHARE),
                "abandon_budget": text_of(view.abandon_budget, Kind.NUMBER),
                "calls": text_of(view.calls_in_progress, Kind.COUNT),
            })  # fmt: skip
    trunks = [{"name": t.name, "state": "up" if t.up else "down",
               "state_text": i18n.gettext("up") if t.up else i18n.gettext("down"),
               "calls": f"{t.calls}/{t.channels}", "reason": t.reason}
              for t in (runtime.trunks() if runtime is not None else [])]  # fmt: skip
    by_state = {
        s: sum(1 for o in operators if o["state"] == s) for s in ("ready", "talking", "wrap_up", "paused")
    }
    return {
        "operators": operators, "campaigns": campaigns, "trunks": trunks,
        "ringing": calls["ringing"], "waiting": calls["waiting"], "talking_calls": calls["connected"],
        **{f"n_{state}": count for state, count in by_state.items()},
        **{key: text_of(value, kind) for key, (value, kind) in today.items()},
    }  # fmt: skip


async def page(request: web.Request) -> web.StreamResponse:
    person = require(request, *READERS)
    async with reading(request.app[DATABASE]) as conn:
        projects = await projects_seen(conn, person)
    slug = request.query.get("project") or (projects[0]["slug"] if projects else "")
    project = await project_for(request, slug, *READERS)
    return render(request, "console/wallboard.html", project=project, projects=projects,
                  live=await board(request, project), thresholds=THRESHOLDS)  # fmt: skip


async def events(request: web.Request) -> web.StreamResponse:
    require(request, *READERS)
    project = await project_for(request, request.query.get("project", ""), *READERS)
    language = i18n.current.get()
    runtime = request.app.get(RUNTIME)
    engine = runtime.engine if runtime is not None else None
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})  # fmt: skip
    await response.prepare(request)
    stop = asyncio.Event()
    request.app[STREAMS].add(stop)  # ended when the server stops
    totals = Totals()
    try:
        with contextlib.ExitStack() as on, contextlib.suppress(ConnectionResetError, HTTPException):
            wanted = (
                on.enter_context(engine.bus.subscribe(lambda e: e.kind == "operator.state"))
                if engine
                else None
            )
            await response.write(b"retry: 2000\n\n")
            while not stop.is_set():
                i18n.current.set(language)
                data = json.dumps(await board(request, project, totals), ensure_ascii=False)
                await response.write(f"data: {data}\n\n".encode())
                await asyncio.sleep(MIN_GAP)
                if wanted is None:
                    await _sleep(stop, PUSH_EVERY - MIN_GAP)
                else:
                    await next_changes(wanted, stop, PUSH_EVERY - MIN_GAP)
    finally:
        request.app[STREAMS].discard(stop)
    return response


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def setup(app: web.Application) -> None:
    app.router.add_get("/wallboard", page)
    app.router.add_get("/wallboard/events", events)
