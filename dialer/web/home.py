"""``/``: what this server runs, in a page a person can read (until the web console lands): the
version, the database, the engine, the trunks by state, the campaigns by project, and where to go
next (the API docs, the live view, the metrics)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from dialer import __version__
from dialer.storage import reading
from dialer.storage.tables import CAMPAIGN, PROJECT
from dialer.web.keys import DATABASE, RUNTIME, SETTINGS
from dialer.web.render import TEMPLATES


def setup(app: web.Application) -> None:
    app.router.add_get("/", home, name="home")


async def home(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    async with reading(request.app[DATABASE]) as conn:
        rows = (
            await conn.execute(
                select(PROJECT.c.slug, PROJECT.c.name, CAMPAIGN.c.name.label("campaign"), CAMPAIGN.c.mode,
                       CAMPAIGN.c.status, CAMPAIGN.c.id)
                .join(CAMPAIGN, CAMPAIGN.c.project_id == PROJECT.c.id, isouter=True)
                .order_by(PROJECT.c.slug, CAMPAIGN.c.name)
            )
        ).all()  # fmt: skip
    engine = runtime.engine
    operators = engine.operators_by_state() if engine is not None else {}
    html = TEMPLATES.get_template("home.html").render(
        version=__version__,
        database=request.app[SETTINGS].database.display_url,
        dialing=engine is not None,
        trunks=runtime.trunks(),
        rows=rows,
        operators={state: len(people) for state, people in operators.items()},
        running={row.id for row in rows if engine is not None and engine.campaign_view(row.id) is not None},
    )
    return web.Response(text=html, content_type="text/html")
