"""The operator API over real HTTP: sessions by password, per-operator tokens, states, the call on
screen; the engine running (no trunk, no phone) or switched off."""

from __future__ import annotations

import time
from datetime import timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from dialer.runtime import create_app
from dialer.storage import create_engine, writing
from dialer.storage.tables import OPERATOR as OPERATORS
from dialer.storage.tables import OPERATOR_SESSION
from dialer.storage.types import utcnow
from dialer.web.api.operators import SESSIONS, Session
from tests.integration.api_fixtures import OPS, Tenants, session, with_operators
from tests.integration.test_api_leads import problem


async def test_sessions_and_tokens_open_only_the_operators_own_endpoints(engine_client: TestClient) -> None:
    client = engine_client
    await problem(await client.post(f"{OPS}/anna/session", json={"password": "guess"}), 401)
    await problem(await client.post(f"{OPS}/ghost/session", json={"password": "anything"}), 401)
    await problem(await client.post(f"{OPS}/anna/session", json={"pass": "x"}), 422)
    anna = await session(client, "anna", "anna-secret-1")
    await problem(await client.get(f"{OPS}/anna/current"), 401)
    await problem(await client.get(f"{OPS}/boris/current", headers=anna), 403)
    current = await (await client.get(f"{OPS}/anna/current", headers=anna)).json()
    assert current == {"state": "offline", "call_id": None, "campaign": None, "phone": None, "lead": None,
                       "preview": False, "amd_check": False, "ended": False}  # fmt: skip
    nothing = await client.post(f"{OPS}/anna/preview", json={"action": "dial"}, headers=anna)
    assert "no lead in preview" in (await problem(nothing, 409))["detail"]
    await problem(await client.post(f"{OPS}/anna/preview", json={"action": "call"}, headers=anna), 422)
    done = await client.post(f"{OPS}/anna/disposition", json={"outcome": "completed"}, headers=anna)
    assert await done.json() == {"ended": False, "already": False}  # no call on screen
    body = await problem(
        await client.post(f"{OPS}/anna/disposition", json={"outcome": "callback"}, headers=anna), 422
    )
    assert body["errors"][0]["field"] == "callback_at"
    past = {"outcome": "callback", "callback_at": "2020-01-01T10:00:00+03:00"}
    body = await problem(await client.post(f"{OPS}/anna/disposition", json=past, headers=anna), 422)
    assert body["errors"][0]["problem"] == "in the past"


async def test_states_explain_why_they_cannot_change(engine_client: TestClient) -> None:
    client = engine_client
    anna = await session(client, "anna", "anna-secret-1")
    body = await problem(await client.put(f"{OPS}/anna/state", json={"state": "ready"}, headers=anna), 409)
    assert "no phone registered" in body["detail"]
    body = await problem(await client.put(f"{OPS}/anna/state", json={"state": "paused"}, headers=anna), 409)
    assert "not logged in" in body["detail"]
    body = await problem(await client.put(f"{OPS}/anna/state", json={"state": "asleep"}, headers=anna), 422)
    assert body["errors"][0]["field"] == "state"


async def test_without_the_engine_the_workplace_endpoints_say_so(
    client: TestClient, tenants: Tenants
) -> None:
    await with_operators(tenants)
    anna = await session(client, "anna", "anna-secret-1")
    body = await problem(await client.put(f"{OPS}/anna/state", json={"state": "ready"}, headers=anna), 503)
    assert "without the dialing engine" in body["detail"]


async def test_sessions_survive_a_restart_and_end_with_the_account(aiohttp_client, tenants: Tenants) -> None:
    await with_operators(tenants)
    first = await aiohttp_client(create_app(tenants.settings))
    gone = Session("boris", utcnow() - timedelta(seconds=1), time.monotonic() + 60)
    first.app[SESSIONS]["dlo_never-presented-again"] = gone
    anna = await session(first, "anna", "anna-secret-1")
    assert [known.login for known in first.app[SESSIONS].values()] == ["anna"]  # the expired one pruned
    await first.close()
    restarted = await aiohttp_client(create_app(tenants.settings))  # a new process: nothing in memory
    body = await problem(await restarted.put(f"{OPS}/anna/state", json={"state": "ready"}, headers=anna), 503)
    assert "without the dialing engine" in body["detail"]  # authorized from the database, then refused
    await problem(await restarted.get(f"{OPS}/boris/current", headers=anna), 403)
    await problem(await restarted.get(f"{OPS}/anna/current", headers={"Authorization": "Bearer dlo_x"}), 401)
    engine = create_engine(tenants.settings.database)
    try:
        async with writing(engine) as conn:
            await conn.execute(update(OPERATORS).where(OPERATORS.c.login == "anna").values(active=False))
            stored = (await conn.execute(select(OPERATOR_SESSION))).all()
    finally:
        await engine.dispose()
    assert len(stored) == 1 and stored[0].token_hash != anna["Authorization"].split()[1]  # hashed
    again = await aiohttp_client(create_app(tenants.settings))
    await problem(await again.get(f"{OPS}/anna/current", headers=anna), 401)  # deactivated
