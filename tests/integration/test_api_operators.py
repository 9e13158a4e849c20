"""The operator API over real HTTP: sessions by password, per-operator tokens, states, the call on
screen; the engine running (no trunk, no phone) or switched off."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

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
                       "preview": False}  # fmt: skip
    nothing = await client.post(f"{OPS}/anna/preview", json={"action": "dial"}, headers=anna)
    assert "no lead in preview" in (await problem(nothing, 409))["detail"]
    await problem(await client.post(f"{OPS}/anna/preview", json={"action": "call"}, headers=anna), 422)
    done = await client.post(f"{OPS}/anna/disposition", json={"outcome": "completed"}, headers=anna)
    assert await done.json() == {"ended": False}  # no call on screen
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
