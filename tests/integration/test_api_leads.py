"""The leads API over real HTTP on loopback against a migrated SQLite file: every endpoint and error."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, insert, select

from dialer.storage import create_engine, reading, writing
from dialer.storage.models import Attempt, Lead
from dialer.storage.types import utcnow
from tests.integration.api_fixtures import Tenants

LEADS = "/api/v1/projects/loans/leads"
PROBLEM = "application/problem+json"


def lead(ext: str = "APP-1", **extra) -> dict:
    return {"external_id": ext, "phones": ["8 (912) 345-67-89"], "name": "Ivan Petrov", **extra}


async def problem(response, status: int) -> dict:
    assert response.status == status, await response.text()
    assert response.content_type == PROBLEM
    body = await response.json(content_type=PROBLEM)
    assert body["status"] == status
    return body


async def count_leads(tenants: Tenants) -> int:
    engine = create_engine(tenants.settings.database)
    try:
        async with reading(engine) as conn:
            return (await conn.execute(select(func.count()).select_from(Lead.__table__))).scalar_one()
    finally:
        await engine.dispose()


async def test_post_creates_then_same_payload_changes_nothing_then_new_data_updates(
    client: TestClient, tenants: Tenants
) -> None:
    payload = lead(data={"application": "A-77", "amount": 50000, "address": "Moscow, Tverskaya 1"})
    first = await client.post(LEADS, json=payload, headers=tenants.auth())
    assert first.status == 201
    body = await first.json()
    assert body["result"] == "created"
    assert body["lead"]["phones"] == ["+79123456789"]
    assert body["lead"]["status"] == "new"
    assert body["lead"]["data"]["address"] == "Moscow, Tverskaya 1"

    again = await client.post(LEADS, json=payload, headers=tenants.auth())
    assert again.status == 200
    again_body = await again.json()
    assert again_body["result"] == "unchanged"
    assert again_body["lead"]["updated_at"] == body["lead"]["updated_at"]

    payload["data"]["amount"] = 60000
    changed = await client.post(LEADS, json=payload, headers=tenants.auth())
    assert (await changed.json())["result"] == "updated"
    read = await (await client.get(f"{LEADS}/APP-1", headers=tenants.auth())).json()
    assert read["data"]["amount"] == 60000
    history = await (await client.get(f"{LEADS}/APP-1/history", headers=tenants.auth())).json()
    assert [h["kind"] for h in history["history"]] == ["created", "updated"]
    assert history["history"][1]["detail"] == {"fields": ["data"]}
    assert await count_leads(tenants) == 1


async def test_fields_left_out_are_kept(client: TestClient, tenants: Tenants) -> None:
    await client.post(LEADS, json=lead(priority=7), headers=tenants.auth())
    response = await client.post(
        LEADS, json={"external_id": "APP-1", "phones": ["+79123456780"]}, headers=tenants.auth()
    )
    body = (await response.json())["lead"]
    assert body["priority"] == 7 and body["name"] == "Ivan Petrov"
    assert body["phones"] == ["+79123456780"]


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        (lead(phones=["12345"]), "phones[0]", "too short"),
        (lead(phones=["8 (912) 345-67-89", "not a number"]), "phones[1]", "not a phone number"),
        (lead(phones=[]), "phones", "at least 1"),
        (lead(phones=["+79123456789"] * 6), "phones", "at most 5"),
        (lead(expires_at="2026-12-01T10:00:00"), "expires_at", "timezone"),
        (lead(time_zone="Mars/Olympus"), "time_zone", "unknown time zone"),
        (lead(priority=10**6), "priority", "1000"),
        (lead(colour="red"), "colour", "Extra inputs"),
        (lead("bad/id"), "external_id", "without '/'"),  # any printable text but '/' is an id
        (lead(data={"note": "x" * 20_000}), "data", "bytes"),
        (lead(campaign="nope"), "campaign", "no campaign"),
        ({"phones": ["+79123456789"]}, "external_id", "required"),
    ],
)
async def test_a_wrong_field_is_named_with_what_was_expected(
    client: TestClient, tenants: Tenants, payload: dict, field: str, words: str
) -> None:
    response = await client.post(LEADS, json=payload, headers=tenants.auth())
    body = await problem(response, 422)
    assert body["type"] == "/api/problems/invalid-lead"
    errors = {e["field"]: e for e in body["errors"]}
    assert field in errors, body
    assert words.lower() in json.dumps(errors[field]).lower()
    assert await count_leads(tenants) == 0


async def test_broken_bodies_get_400_413_415(client: TestClient, tenants: Tenants) -> None:
    headers = {**tenants.auth(), "Content-Type": "application/json"}
    await problem(await client.post(LEADS, data=b"{not json", headers=headers), 400)
    await problem(await client.post(LEADS, data=b"x" * 70_000, headers=headers), 413)
    text = {**tenants.auth(), "Content-Type": "text/plain"}
    await problem(await client.post(LEADS, data=b"{}", headers=text), 415)
    body = await problem(await client.post(LEADS, json=[1, 2], headers=tenants.auth()), 422)
    assert body["errors"][0]["expected"] == "a JSON object"


async def test_tokens_open_only_their_own_project(client: TestClient, tenants: Tenants) -> None:
    none = await client.get(f"{LEADS}/APP-1")
    await problem(none, 401)
    assert none.headers["WWW-Authenticate"].startswith("Bearer")
    await problem(await client.get(f"{LEADS}/APP-1", headers=tenants.auth("dlr_forged")), 401)
    await problem(await client.get(f"{LEADS}/APP-1", headers={"Authorization": "Basic eDp5"}), 401)
    await client.post(LEADS, json=lead(), headers=tenants.auth())
    # The other tenant's token, on an existing and on a missing project: 403 both, nothing leaks.
    for path in (f"{LEADS}/APP-1", "/api/v1/projects/ghost/leads/APP-1"):
        body = await problem(await client.get(path, headers=tenants.auth(tenants.other_token)), 403)
        assert "Ivan" not in json.dumps(body)
    await problem(
        await client.post("/api/v1/projects/cards/leads", json=lead(), headers=tenants.auth(tenants.token)),
        403,
    )


async def test_bulk_keeps_every_valid_row_and_explains_each_rejected_one(
    client: TestClient, tenants: Tenants
) -> None:
    rows = [lead(f"APP-{i}", phones=[f"+7912000{i:04d}"]) for i in range(50)]
    rows[3]["phones"] = ["12"]
    rows[10] = "not an object"
    rows[20]["external_id"] = "APP-0"  # sent twice in one request
    response = await client.post(f"{LEADS}/bulk", json={"leads": rows}, headers=tenants.auth())
    assert response.status == 200
    body = await response.json()
    assert (body["created"], body["updated"], body["unchanged"], body["rejected"]) == (47, 0, 0, 3)
    rejected = {r["index"]: r for r in body["rows"] if r["result"] is None}
    assert set(rejected) == {3, 10, 20}
    assert rejected[3]["errors"][0]["field"] == "phones[0]"
    assert "row 0" in rejected[20]["errors"][0]["problem"]
    assert [r["index"] for r in body["rows"]] == list(range(50))
    assert await count_leads(tenants) == 47

    rows[3]["phones"] = ["+79120000003"]
    second = await (
        await client.post(f"{LEADS}/bulk", json={"leads": rows[:5]}, headers=tenants.auth())
    ).json()
    assert (second["created"], second["unchanged"]) == (1, 4)


async def test_bulk_over_the_limit_is_refused_whole(client: TestClient, tenants: Tenants) -> None:
    rows = [lead(f"A{i}") for i in range(10_001)]
    body = await problem(
        await client.post(f"{LEADS}/bulk", json={"leads": rows}, headers=tenants.auth()), 422
    )
    assert body["errors"][0]["field"] == "leads"
    assert await count_leads(tenants) == 0


async def test_idempotency_key_replays_and_refuses_reuse(client: TestClient, tenants: Tenants) -> None:
    headers = {**tenants.auth(), "Idempotency-Key": "req-1"}
    first = await client.post(LEADS, json=lead(), headers=headers)
    assert first.status == 201
    # Someone else changes the lead in between; the retry still gets the first answer, not a new write.
    await client.patch(f"{LEADS}/APP-1", json={"priority": 5}, headers=tenants.auth())
    retry = await client.post(LEADS, json=lead(), headers=headers)
    assert retry.status == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert await retry.json() == await first.json()
    other = await client.post(LEADS, json=lead(name="Someone Else"), headers=headers)
    await problem(other, 422)
    assert (await (await client.get(f"{LEADS}/APP-1", headers=tenants.auth())).json())["priority"] == 5


async def test_patch_merges_data_and_delete_cancels_keeping_history(
    client: TestClient, tenants: Tenants
) -> None:
    await client.post(LEADS, json=lead(data={"a": 1, "b": 2}), headers=tenants.auth())
    patched = await client.patch(f"{LEADS}/APP-1", json={"data": {"b": None, "c": 3}}, headers=tenants.auth())
    assert (await patched.json())["data"] == {"a": 1, "c": 3}
    await problem(await client.patch(f"{LEADS}/APP-1", json={}, headers=tenants.auth()), 422)
    await problem(await client.patch(f"{LEADS}/APP-1", json={"priority": None}, headers=tenants.auth()), 422)
    await problem(await client.patch(f"{LEADS}/NOPE", json={"priority": 1}, headers=tenants.auth()), 404)

    deleted = await client.delete(f"{LEADS}/APP-1", headers=tenants.auth())
    assert (await deleted.json())["status"] == "cancelled"
    again = await client.delete(f"{LEADS}/APP-1", headers=tenants.auth())
    assert (await again.json())["status"] == "cancelled"
    kinds = [
        h["kind"]
        for h in (await (await client.get(f"{LEADS}/APP-1/history", headers=tenants.auth())).json())[
            "history"
        ]
    ]
    assert kinds == ["created", "updated", "status"]

    revived = await client.post(LEADS, json=lead(data={"a": 1, "c": 3}), headers=tenants.auth())
    assert (await revived.json())["lead"]["status"] == "new"
    await problem(await client.delete(f"{LEADS}/NOPE", headers=tenants.auth()), 404)


async def test_attempts_are_listed_oldest_first(client: TestClient, tenants: Tenants) -> None:
    await client.post(LEADS, json=lead(), headers=tenants.auth())
    engine = create_engine(tenants.settings.database)
    try:
        async with writing(engine) as conn:
            lead_id = (await conn.execute(select(Lead.__table__.c.id))).scalar_one()
            now = utcnow()
            await conn.execute(
                insert(Attempt.__table__),
                [
                    {
                        "lead_id": lead_id,
                        "phone": "+79123456789",
                        "started_at": now,
                        "sip_status": 486,
                        "outcome": "busy",
                        "abandoned": False,
                    },
                    {
                        "lead_id": lead_id,
                        "phone": "+79123456789",
                        "started_at": now,
                        "sip_status": 200,
                        "outcome": "human",
                        "abandoned": True,
                        "wait_to_operator": 2.4,
                    },
                ],
            )
    finally:
        await engine.dispose()
    body = await (await client.get(f"{LEADS}/APP-1/attempts", headers=tenants.auth())).json()
    assert [(a["sip_status"], a["abandoned"]) for a in body["attempts"]] == [(486, False), (200, True)]
    await problem(await client.get(f"{LEADS}/NOPE/attempts", headers=tenants.auth()), 404)


async def test_unknown_routes_and_methods_are_problems(client: TestClient, tenants: Tenants) -> None:
    await problem(await client.get("/api/v1/nothing", headers=tenants.auth()), 404)
    response = await client.put(LEADS, json=lead(), headers=tenants.auth())
    await problem(response, 405)
    assert "POST" in response.headers["Allow"]


async def test_openapi_document_lists_every_api_route_and_the_docs_page_shows_them(
    client: TestClient,
) -> None:
    spec = await (await client.get("/api/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    served = {
        (r.method, r.resource.canonical)
        for r in client.app.router.routes()
        if r.resource is not None and r.resource.canonical.startswith("/api/v1/") and r.method != "HEAD"
    }
    assert served == documented
    page = await (await client.get("/api/docs")).text()
    for _, path in documented:
        assert path in page
