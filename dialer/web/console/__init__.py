"""The web console: the pages people sign in to (supervisors and admins today; the operators'
workplace joins it). Server-rendered with Jinja2; live parts pushed over server-sent events; every
page, form and stream passes :mod:`dialer.web.console.guard`'s check of role and project."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from dialer.accounts.people import Role
from dialer.web.console import auth, campaigns, leads, people_pages, projects, scripts
from dialer.web.console.guard import guard, render, require
from dialer.web.keys import RUNTIME

STATIC = Path(__file__).resolve().parent.parent / "static"


async def trunks(request: web.Request) -> web.StreamResponse:
    require(request, Role.ADMIN)
    runtime = request.app[RUNTIME]
    return render(request, "console/trunks.html", trunks=runtime.trunks(), channels=runtime.channels())


def setup(app: web.Application) -> None:
    app.middlewares.append(guard)
    app.router.add_static("/static/", STATIC, name="static", append_version=False)
    for part in (auth, projects, campaigns, leads, people_pages, scripts):
        part.setup(app)
    app.router.add_get("/trunks", trunks)
