"""The supervisors' reports and the live wall-board, on the console's guard and templates; the
figures come from :mod:`reports`."""

from __future__ import annotations

from aiohttp import web

from dialer.web.reports import pages, wallboard


def setup(app: web.Application) -> None:
    pages.setup(app)
    wallboard.setup(app)
