"""Campaign and do-not-call endpoints over real HTTP against a migrated SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from dialer.cli import run
from tests.integration.api_fixtures import Tenants
from tests.integration.test_api_leads import LEADS, problem

CAMPAIGNS = "/api/v1/projects/loans/campaigns"
DNC = "/api/v1/projects/loans/dnc"


async def test_campaign_is_created_paused_changed_and_driven(client: TestClient, tenants: Tenants) -> None:
    created = await client.put(
        f"{CAMPAIGNS}/day", json={"mode": "progressive", "ring_timeout": 30}, headers=tenants.auth()
    )
    assert created.status == 201
    body = await created.json()
    assert (body["status"], body["mode"], body["ring_timeout"]) == ("paused", "progressive", 30.0)

    changed = await client.put(
        f"{CAMPAIGNS}/day", json={"priority": 5, "retry_delays": {"busy": 120}}, headers=tenants.auth()
    )
    assert changed.status == 200
    assert (await changed.json())["retry_delays"] == {"busy": 120}
    await client.put(f"{CAMPAIGNS}/night", json={}, headers=tenants.auth())
    listed = await (await client.get(CAMPAIGNS, headers=tenants.auth())).json()
    assert [c["name"] for c in listed["campaigns"]] == ["day", "night"]

    for action, status in (
        ("start", "running"),
        ("start", "running"),
        ("pause", "paused"),
        ("stop", "stopped"),
    ):
        response = await client.post(f"{CAMPAIGNS}/day/{action}", headers=tenants.auth())
        assert (await response.json())["status"] == status
    await problem(await client.post(f"{CAMPAIGNS}/day/explode", headers=tenants.auth()), 422)
    await problem(await client.post(f"{CAMPAIGNS}/nope/start", headers=tenants.auth()), 404)
    await problem(await client.get(f"{CAMPAIGNS}/nope", headers=tenants.auth()), 404)
    assert (await (await client.get(f"{CAMPAIGNS}/day", headers=tenants.auth())).json())[
        "status"
    ] == "stopped"

    # Leads name campaigns of their own project only.
    ok = await client.post(
        LEADS,
        json={"external_id": "A1", "phones": ["+79123456789"], "campaign": "day"},
        headers=tenants.auth(),
    )
    assert (await ok.json())["lead"]["campaign"] == "day"


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"ring_timeout": 10}, "ring_timeout"),
        ({"abandon_target": 0.05}, "abandon_target"),
        ({"mode": "blast"}, "mode"),
        ({"retry_delays": {"sunny": 5}}, "retry_delays.sunny.[key]"),
        ({"calling_window": "always"}, "calling_window"),
        ({"max_attempts": 0}, "max_attempts"),
    ],
)
async def test_illegal_campaign_settings_are_refused(
    client: TestClient, tenants: Tenants, settings: dict, field: str
) -> None:
    body = await problem(await client.put(f"{CAMPAIGNS}/day", json=settings, headers=tenants.auth()), 422)
    assert field in {e["field"] for e in body["errors"]}, body
    assert (await (await client.get(CAMPAIGNS, headers=tenants.auth())).json())["campaigns"] == []


async def test_dnc_add_check_remove_with_global_entries(
    client: TestClient, tenants: Tenants, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    added = await client.post(
        DNC,
        json={"phones": ["8 912 345-67-89", "+79123456789", "+74951234567"], "reason": "asked"},
        headers=tenants.auth(),
    )
    assert await added.json() == {"added": 2, "already_listed": 0}
    again = await client.post(DNC, json={"phones": ["+74951234567"]}, headers=tenants.auth())
    assert await again.json() == {"added": 0, "already_listed": 1}

    check = await (await client.get(f"{DNC}/89123456789", headers=tenants.auth())).json()
    assert check == {"phone": "+79123456789", "listed": True, "scopes": ["project"]}
    other = await (
        await client.get("/api/v1/projects/cards/dnc/+79123456789", headers=tenants.auth(tenants.other_token))
    ).json()
    assert other["listed"] is False

    config = tmp_path / "config.toml"
    config.write_text(f'[database]\npath = "{tenants.settings.database.path}"\n')
    argv = ["--config", str(config), "dnc", "add", "+79123456789", "--global"]
    assert await asyncio.to_thread(run, argv) == 0
    capsys.readouterr()
    check = await (await client.get(f"{DNC}/+79123456789", headers=tenants.auth())).json()
    assert sorted(check["scopes"]) == ["global", "project"]

    removed = await (await client.delete(f"{DNC}/+79123456789", headers=tenants.auth())).json()
    assert removed == {"phone": "+79123456789", "listed": True, "scopes": ["global"]}
    await problem(await client.delete(f"{DNC}/+79123456789", headers=tenants.auth()), 404)

    bad = await problem(await client.get(f"{DNC}/12", headers=tenants.auth()), 422)
    assert bad["errors"][0]["field"] == "phone"
    bad = await problem(
        await client.post(DNC, json={"phones": ["+7912", "+79123456789"]}, headers=tenants.auth()), 422
    )
    assert bad["errors"][0]["field"] == "phones[0]"
    assert (await (await client.get(f"{DNC}/+79123456789", headers=tenants.auth())).json())["scopes"] == [
        "global"
    ]
