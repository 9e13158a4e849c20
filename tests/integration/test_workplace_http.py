"""The workplace's forms over HTTP against the real app (the engine, the simulated carrier on SIP, the
operator's virtual softphone registered with the dialer): an outcome sent twice is applied once and
never to the next call, a refused outcome records nothing and says what is wrong, a call that is not
on your screen (another operator's, another project's) is refused, a draft comes back with the page,
and an operator whose workplace closed is paused after the project's limit."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from dialer import campaigns
from dialer.accounts.operators import add_operator
from dialer.accounts.projects import create_project
from dialer.config import DatabaseSettings, Settings, SimulationProfile, SipSettings, TrunkSettings
from dialer.demo.operators import VirtualPhone
from dialer.runtime import create_app
from dialer.storage import create_engine, reading, upgrade, writing
from dialer.storage.tables import ATTEMPT, CAMPAIGN, LEAD, LEAD_EVENT, PROJECT
from dialer.voice.carrier import Voices
from dialer.web.keys import DATABASE, RUNTIME
from sip.streams.clock import MediaClock
from tests.integration.api_fixtures import seed_campaign
from tests.integration.console_client import csrf_of
from tests.integration.servers import free_port
from tests.integration.test_engine_service import NOW, midday_zone

pytestmark = pytest.mark.integration
CALL = re.compile(r'data-call="([^"]+)"')


@dataclass
class Place:
    client: TestClient
    anna: aiohttp.ClientSession  # signed in to the console
    boris: aiohttp.ClientSession  # an operator of another project
    base: str
    portal: str  # the lender's portal (a page that refuses to be framed)


async def signed_in(base: str, login: str, password: str) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.get(f"{base}/sign-in") as response:
        token = csrf_of(await response.text())
    async with session.post(
        f"{base}/sign-in", data={"login": login, "password": password, "csrf": token}
    ) as r:
        assert r.status == 200, await r.text()
    return session


async def post(
    session: aiohttp.ClientSession, base: str, path: str, **form: str
) -> tuple[int, dict[str, Any]]:
    async with session.get(f"{base}/work") as page:
        token = csrf_of(await page.text())
    async with session.post(f"{base}{path}", data={"csrf": token, **form},
                            headers={"Accept": "application/json"}) as response:  # fmt: skip
        return response.status, await response.json()


async def page(session: aiohttp.ClientSession, base: str) -> str:
    async with session.get(f"{base}/work") as response:
        assert response.status == 200
        return await response.text()


async def until(check: Any, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {what}")


@contextlib.asynccontextmanager
async def place(aiohttp_client: Any, aiohttp_server: Any, tmp_path: Path) -> AsyncIterator[Place]:
    database = DatabaseSettings(path=tmp_path / "db.sqlite3")
    engine = create_engine(database)
    try:
        await upgrade(engine)
        quick = campaigns.CampaignIn(mode="progressive", wrap_up=2.0)
        project, _ = await seed_campaign(engine, ["+79120000007", "+79120000008"], now=NOW,
                                         time_zone=midday_zone(), settings=quick)  # fmt: skip
        async with writing(engine) as conn:
            other = await create_project(conn, "cards", window="any-hour")
            await add_operator(conn, "anna", name="Anna", password="anna-secret-1", project_ids=[project.id])
            await add_operator(conn, "boris", name="Boris", password="boris-secret-1", project_ids=[other.id])
            await conn.execute(update(PROJECT).where(PROJECT.c.id == project.id).values(away_limit=10))
    finally:
        await engine.dispose()
    sip_port = free_port(socket.SOCK_DGRAM)
    quiet = SimulationProfile(busy=0.0, no_answer=0.0, invalid=0.0, congestion=0.0, machine=0.0,
                              post_dial_delay=(0.1, 0.2), ring=(0.2, 0.3), talk=(600.0, 900.0))  # fmt: skip
    settings = Settings(database=database, sip=SipSettings(host="127.0.0.1", port=sip_port),
                        trunks={"simulated": TrunkSettings(kind="simulated", simulate=quiet)})  # fmt: skip
    locked = web.Application()
    locked.router.add_get(
        "/locked/{id}", lambda _: web.Response(text="no", headers={"X-Frame-Options": "DENY"})
    )
    portal = await aiohttp_server(locked)
    client: TestClient = await aiohttp_client(create_app(settings))
    base = str(client.make_url("")).rstrip("/")
    phone = VirtualPhone("anna", "anna-secret-1", ("127.0.0.1", sip_port), MediaClock(), Voices.load())
    await phone.start()
    anna = await signed_in(base, "anna", "anna-secret-1")
    boris = await signed_in(base, "boris", "boris-secret-1")
    try:
        yield Place(client, anna, boris, base, str(portal.make_url("")).rstrip("/"))
    finally:
        await anna.close()
        await boris.close()
        await phone.stop()


async def start_calling(place: Place) -> str:
    """anna goes ready, the campaign starts; the id of the call on her screen."""
    status, answer = await post(place.anna, place.base, "/work/state", state="ready")
    assert (status, answer) == (200, {"ok": True})
    async with writing(place.client.app[DATABASE]) as conn:
        await conn.execute(update(CAMPAIGN).values(status="running"))
    place.client.app[RUNTIME].engine.campaigns_changed()

    async def on_screen() -> str | None:
        found = CALL.search(await page(place.anna, place.base))
        return found[1] if found else None

    return await until(on_screen, 20, "a call on anna's screen")


async def test_an_outcome_sent_twice_is_applied_once_and_never_to_the_next_call(
    aiohttp_client: Any, aiohttp_server: Any, tmp_path: Path
) -> None:
    async with place(aiohttp_client, aiohttp_server, tmp_path) as p:
        first = await start_calling(p)
        # refused: no outcome chosen; nothing recorded, the problem named
        status, answer = await post(p.anna, p.base, "/work/outcome", call_id=first, notes="typed")
        assert status == 422 and "disposition" in answer["problems"]
        assert 'value="typed"' in answer["call_html"] or ">typed</textarea>" in answer["call_html"]  # kept
        # a reason is needed for "not interested"; then recorded
        status, answer = await post(
            p.anna, p.base, "/work/outcome", call_id=first, disposition="not_interested"
        )
        assert status == 422 and "reason" in answer["problems"]
        form = {"call_id": first, "disposition": "not_interested", "reason": "rate", "notes": "too dear"}
        status, answer = await post(p.anna, p.base, "/work/outcome", **form)
        assert (status, answer) == (200, {"ok": True, "recorded": "not_interested"})
        second = await until(lambda: _next_call(p, first), 20, "the next call")
        # the same outcome again (a retry after a timeout): applied once, not to the call now on screen
        status, answer = await post(p.anna, p.base, "/work/outcome", **form)
        assert (status, answer) == (200, {"ok": True, "already": True})
        async with reading(p.client.app[DATABASE]) as conn:
            query = select(ATTEMPT.c.call_id, ATTEMPT.c.disposition, ATTEMPT.c.disposition_reason)
            rows = (await conn.execute(query.order_by(ATTEMPT.c.id))).all()
            marks = (
                await conn.execute(select(LEAD_EVENT.c.detail).where(LEAD_EVENT.c.kind == "disposition"))
            ).all()
        assert (rows[0].call_id, rows[0].disposition, rows[0].disposition_reason) == (
            first,
            "not_interested",
            "rate",
        )
        assert rows[1].call_id == second and rows[1].disposition is None
        assert len(marks) == 1
        # boris (another project) names anna's call: refused, nothing changes
        status, answer = await post(p.boris, p.base, "/work/outcome", call_id=second,
                                    disposition="application_completed")  # fmt: skip
        assert (
            status == 422 and answer["problems"][""] == "Этого звонка уже нет на вашем экране."
        )  # ru: the default
        status, _ = await post(p.boris, p.base, "/work/hang-up", call_id=second)
        assert status == 422
        assert CALL.search(await page(p.anna, p.base))[1] == second  # still talking
        # the lender's portal refuses to be framed: the server reads it off the portal's headers
        async with writing(p.client.app[DATABASE]) as conn:
            await conn.execute(update(PROJECT).where(PROJECT.c.slug == "loans")
                               .values(portal_url=p.portal + "/locked/{external_id}"))  # fmt: skip
        async with p.anna.get(f"{p.base}/work/portal-check") as response:
            assert await response.json() == {
                "framable": False,
                "reason": "the portal refuses to be framed (X-Frame-Options: DENY)",
            }
        assert CALL.search(await page(p.anna, p.base)) is not None
        # a draft typed for the call comes back with the page
        status, _ = await post(p.anna, p.base, "/work/draft", call_id=second, notes="call at six")
        assert status == 200
        assert "call at six</textarea>" in await page(p.anna, p.base)


async def _next_call(p: Place, first: str) -> str | None:
    found = CALL.search(await page(p.anna, p.base))
    return found[1] if found and found[1] != first else None


async def test_an_operator_whose_workplace_closed_is_paused_after_the_limit(
    aiohttp_client: Any, aiohttp_server: Any, tmp_path: Path
) -> None:
    async with place(aiohttp_client, aiohttp_server, tmp_path) as p:
        status, _ = await post(p.anna, p.base, "/work/state", state="ready")
        assert status == 200
        service = p.client.app[RUNTIME].engine
        stream = await p.anna.get(f"{p.base}/work/events")
        assert stream.headers["Content-Type"] == "text/event-stream"
        await stream.content.readline()
        stream.close()  # the tab closed, the network went away
        await asyncio.sleep(5.0)
        assert service.operator("anna").state == "ready"  # within the limit: nothing yet
        state = await until(lambda: _paused(service), 15, "anna paused")
        assert state == "left the workplace"
        async with reading(p.client.app[DATABASE]) as conn:
            assert (await conn.execute(select(LEAD.c.status))).scalars().all() == ["new", "new"]


async def _paused(service: Any) -> str | None:
    operator = service.operator("anna")
    return operator.pause_reason if operator.state == "paused" else None
