# ruff: noqa: RUF001  (Cyrillic letters that look like digits are the point of some cases)
"""The API under racing and hostile input: each class of defect a held-out battery found.

Idempotency keys claimed before the work (20 racing clients), numbers with letters, premium-rate
numbers, extensions kept, JSON that is not standard or nested too deep, bodies in windows-1251,
messages an integrator can act on, and password guessing slowed down; every case on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from dialer.leads.schema import MAX_BULK
from dialer.storage import create_engine, writing
from dialer.storage.models import Project
from tests.integration.api_fixtures import OPS, Tenants, make_tenants
from tests.integration.test_api_leads import count_leads

LEADS = "/api/v1/projects/loans/leads"
PROBLEM = "application/problem+json"


def lead(ext: str = "APP-1", *phones: str, **extra: object) -> dict:
    return {"external_id": ext, "phones": list(phones) or ["8 (912) 345-67-89"], **extra}


async def problem(response, status: int) -> dict:
    assert response.status == status, await response.text()
    assert response.content_type == PROBLEM
    return await response.json(content_type=PROBLEM)


async def set_project(tenants: Tenants, slug: str, **values: object) -> None:
    engine = create_engine(tenants.settings.database)
    try:
        async with writing(engine) as conn:
            table = Project.__table__  # type: ignore[attr-defined]
            await conn.execute(update(table).where(table.c.slug == slug).values(**values))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def tenants(request, tmp_path: Path) -> Tenants:
    """Every case of this battery on both backends (overrides the SQLite-only fixture)."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    return await make_tenants(tmp_path, url)


async def test_twenty_racing_retries_act_once_and_all_get_the_first_answer(
    client: TestClient, tenants: Tenants
) -> None:
    headers = {**tenants.auth(), "Idempotency-Key": "race-1"}
    payload = lead("RACE-1", data={"amount": 50000})
    responses = await asyncio.gather(*(client.post(LEADS, json=payload, headers=headers) for _ in range(20)))
    bodies = [await r.json() for r in responses]
    assert [r.status for r in responses].count(201) == 20  # every one answered as the first was
    assert all(b["result"] == "created" for b in bodies)
    assert len({json.dumps(b, sort_keys=True) for b in bodies}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 19
    assert await count_leads(tenants) == 1


async def test_racing_requests_with_one_key_and_different_bodies_act_once(
    client: TestClient, tenants: Tenants
) -> None:
    headers = {**tenants.auth(), "Idempotency-Key": "race-2"}
    responses = await asyncio.gather(
        *(client.post(LEADS, json=lead(f"DIFF-{i}"), headers=headers) for i in range(20))
    )
    statuses = sorted(r.status for r in responses)
    assert statuses == [201] + [422] * 19, statuses
    for response in responses:
        if response.status == 422:
            assert "different request" in (await response.json(content_type=PROBLEM))["detail"]
    assert await count_leads(tenants) == 1


async def test_a_refused_request_gives_its_key_back(client: TestClient, tenants: Tenants) -> None:
    headers = {**tenants.auth(), "Idempotency-Key": "again"}
    await problem(await client.post(LEADS, json=lead("K-1", campaign="nope"), headers=headers), 422)
    fixed = await client.post(LEADS, json=lead("K-1", campaign="nope"), headers=headers)
    await problem(fixed, 422)  # ran again (not a stored replay): a refusal stores nothing
    assert "Idempotent-Replayed" not in fixed.headers
    assert await count_leads(tenants) == 0


@pytest.mark.parametrize(
    ("phone", "why"),
    [
        ("+7 912 abc 67 89", "contains letters (abc)"),
        ("8 (912) З45-67-89", "contains letters"),  # a Cyrillic letter that looks like a 3
        ("8-809-505-12-34", "premium-rate"),
        ("+1 900 555 0123", "premium-rate"),
    ],
)
async def test_numbers_a_call_centre_must_not_dial_are_refused_with_the_reason(
    client: TestClient, tenants: Tenants, phone: str, why: str
) -> None:
    body = await problem(await client.post(LEADS, json=lead("P-1", phone), headers=tenants.auth()), 422)
    assert why in json.dumps(body, ensure_ascii=False)
    assert body["errors"][0]["field"] == "phones[0]"
    assert await count_leads(tenants) == 0


async def test_vanity_numbers_only_where_the_project_allows_them(
    client: TestClient, tenants: Tenants
) -> None:
    cards = "/api/v1/projects/cards/leads"
    await problem(
        await client.post(
            cards, json=lead("V-1", "1-800-FLOWERS"), headers=tenants.auth(tenants.other_token)
        ),
        422,
    )
    await set_project(tenants, "cards", vanity_numbers=True)
    created = await client.post(
        cards, json=lead("V-1", "1-800-FLOWERS"), headers=tenants.auth(tenants.other_token)
    )
    assert created.status == 201, await created.text()
    assert (await created.json())["lead"]["phones"] == ["+18003569377"]


async def test_an_extension_is_kept_with_its_number(client: TestClient, tenants: Tenants) -> None:
    payload = lead("EXT-1", "8 (912) 345-67-93 доб. 505", "+7 495 123-45-67")
    created = await client.post(LEADS, json=payload, headers=tenants.auth())
    assert created.status == 201, await created.text()
    shown = (await created.json())["lead"]
    assert shown["phones"] == ["+79123456793", "+74951234567"]
    assert shown["extensions"] == {"+79123456793": "505"}
    patched = await client.patch(f"{LEADS}/EXT-1", json={"phones": ["+7 912 345 67 93 ext 77"]},
                                 headers=tenants.auth())  # fmt: skip
    assert (await patched.json())["extensions"] == {"+79123456793": "77"}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            '{"external_id": "N-1", "phones": ["+79123456789"], "data": {"amount": NaN}}',
            "NaN is not a JSON number",
        ),
        ('{"external_id": "N-1", "phones": ["+79123456789"], "data": {"x": -Infinity}}', "-Infinity"),
        (
            '{"external_id": "N-1", "phones": ["+79123456789"], "external_id": "N-2"}',
            "duplicate key 'external_id'",
        ),
        (
            '{"external_id": "N-1", "phones": ["+79123456789"], "data": ' + "[" * 5000 + "]" * 5000 + "}",
            "nested deeper than 32",
        ),
        (
            '{"external_id": "N-1", "phones": ["+79123456789"], "data": {"a": ' + "[" * 40 + "]" * 40 + "}}",
            "nested deeper than 32",
        ),
    ],
    ids=["nan", "infinity", "duplicate-key", "deep-5000", "deep-40"],
)
async def test_json_that_is_not_standard_is_refused_naming_what(
    client: TestClient, tenants: Tenants, body: str, says: str
) -> None:
    response = await client.post(
        LEADS, data=body, headers={**tenants.auth(), "Content-Type": "application/json"}
    )
    found = await problem(response, 400)
    assert says in found["detail"], found
    assert await count_leads(tenants) == 0


async def test_a_body_in_windows_1251_is_read_as_labelled(client: TestClient, tenants: Tenants) -> None:
    body = json.dumps(lead("CP-1", name="Иван Петров"), ensure_ascii=False).encode("cp1251")
    headers = {**tenants.auth(), "Content-Type": "application/json; charset=windows-1251"}
    created = await client.post(LEADS, data=body, headers=headers)
    assert created.status == 201, await created.text()
    assert (await created.json())["lead"]["name"] == "Иван Петров"
    unlabelled = await client.post(
        LEADS, data=body, headers={**tenants.auth(), "Content-Type": "application/json"}
    )
    assert "send UTF-8" in (await problem(unlabelled, 400))["detail"]
    unknown = await client.post(
        LEADS, data=body, headers={**tenants.auth(), "Content-Type": "application/json; charset=klingon"}
    )
    assert "send UTF-8" in (await problem(unknown, 415))["detail"]


async def test_messages_say_what_the_limit_is(client: TestClient, tenants: Tenants) -> None:
    rows = [lead(f"B-{i}") for i in range(MAX_BULK + 1)]
    too_many = await problem(
        await client.post(f"{LEADS}/bulk", json={"leads": rows}, headers=tenants.auth()), 422
    )
    assert f"at most {MAX_BULK}" in too_many["detail"] and str(MAX_BULK + 1) in too_many["detail"]
    big = await client.post(LEADS, json=lead("BIG", data={"blob": "x" * 70_000}), headers=tenants.auth())
    assert "data may hold at most 16384 bytes" in (await problem(big, 413))["detail"]
    cyrillic = await client.post(LEADS, json=lead("З-2026-1042"), headers=tenants.auth())
    assert cyrillic.status == 201, await cyrillic.text()
    assert (await client.get(f"{LEADS}/З-2026-1042", headers=tenants.auth())).status == 200
    slash = await problem(await client.post(LEADS, json=lead("З-2026/1042"), headers=tenants.auth()), 422)
    assert "without '/'" in slash["errors"][0]["problem"]
    percent = await client.put(
        "/api/v1/projects/loans/campaigns/main", json={"abandon_target": 5}, headers=tenants.auth()
    )
    problem_text = json.dumps(await problem(percent, 422))
    assert "0.03 means 3 %" in problem_text and "looks like a percentage" in problem_text


async def test_password_guessing_is_slowed_without_telling_who_exists(engine_client: TestClient) -> None:
    for login in ("anna", "nobody"):
        for _ in range(5):
            wrong = await engine_client.post(f"{OPS}/{login}/session", json={"password": "guess"})
            assert wrong.status == 401
        locked = await engine_client.post(f"{OPS}/{login}/session", json={"password": "guess"})
        body = await problem(locked, 429)
        assert int(locked.headers["Retry-After"]) >= 1
        assert "try again in" in body["detail"]
    # the right password waits too, while the lock lasts: guessing cannot tell it from a wrong one
    right = await engine_client.post(f"{OPS}/anna/session", json={"password": "anna-secret-1"})
    assert right.status == 429


async def test_a_review_of_a_machine_verdict_is_person_or_machine(engine_client: TestClient) -> None:
    opened = await engine_client.post(f"{OPS}/anna/session", json={"password": "anna-secret-1"})
    anna = {"Authorization": f"Bearer {(await opened.json())['token']}"}
    wrong = await engine_client.post(f"{OPS}/anna/disposition", json={"amd_review": "maybe"}, headers=anna)
    body = await problem(wrong, 422)
    assert body["errors"][0]["field"] == "amd_review"
    fine = await engine_client.post(f"{OPS}/anna/disposition", json={"amd_review": "person"}, headers=anna)
    assert fine.status == 200 and (await fine.json()) == {
        "ended": False,
        "already": False,
    }  # no call on her screen
