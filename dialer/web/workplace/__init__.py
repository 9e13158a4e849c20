"""The operators' workplace: the page they work calls in all day (``/work``), its forms and its stream,
on the console's guard and templates."""

from __future__ import annotations

from aiohttp import web

from dialer.web.workplace import pages, phone, portal, stream


def setup(app: web.Application) -> None:
    stream.setup(app)
    app.router.add_get("/work", pages.page)
    app.router.add_post("/work/state", pages.set_state)
    app.router.add_post("/work/preview", pages.preview)
    app.router.add_post("/work/hang-up", pages.hang_up)
    app.router.add_post("/work/extend", pages.extend)
    app.router.add_post("/work/control", pages.control)
    app.router.add_post("/work/script", pages.script_input)
    app.router.add_post("/work/draft", pages.save_draft)
    app.router.add_post("/work/outcome", pages.outcome)
    app.router.add_post("/work/call", pages.call_lead)
    app.router.add_get("/work/portal-check", portal.check)
    app.router.add_post("/work/phone", phone.offer)
    app.router.add_post("/work/phone/echo", phone.echo)
