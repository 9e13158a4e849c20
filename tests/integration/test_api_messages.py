"""The messages API over HTTP with the runtime's sender running: templates checked when saved and
previewed with their SMS size, a template sent to a lead (idempotent), its status followed to
delivery, the stop list, and nothing of one project visible to another."""

from __future__ import annotations

import asyncio

import pytest

from dialer.config_channels import SmscSettings
from dialer.runtime import create_app

pytestmark = pytest.mark.integration
LOANS = "/api/v1/projects/loans"


@pytest.fixture
async def api(aiohttp_client, tenants, smsc):
    _, url = smsc
    channel = SmscSettings(
        kind="smsc", login="demo", password="demo", hosts=[url], status_every=0.2, timeout=2
    )
    settings = tenants.settings.model_copy(update={"channels": {"sms": channel}})
    client = await aiohttp_client(create_app(settings))
    headers = tenants.auth()
    lead = {
        "external_id": "A-1",
        "name": "Иван",
        "phones": ["8 912 345-67-89"],
        "data": {"application": "Z-1"},
    }
    async with client.post(f"{LOANS}/leads", json=lead, headers=headers) as r:
        assert r.status == 201
    return client, tenants


async def test_a_template_is_refused_with_every_problem_then_saved_and_previewed(api) -> None:
    client, tenants = api
    bad = {"medium": "sms", "body": "{{ lead.nmae }} {{ foo }} {% if %}"}
    async with client.put(f"{LOANS}/message-templates/hello", json=bad, headers=tenants.auth()) as r:
        assert r.status == 422
        problem = await r.json()
    assert problem["errors"][0]["field"] == "body" and "does not parse" in problem["errors"][0]["problem"]

    bad = {"medium": "sms", "body": "{{ lead.nmae }} {{ foo }}"}
    async with client.put(f"{LOANS}/message-templates/hello", json=bad, headers=tenants.auth()) as r:
        problems = [e["problem"] for e in (await r.json())["errors"]]
    assert problems == ["unknown variable 'foo'", "lead has no 'nmae'"]

    good = {"medium": "sms", "body": "{{ lead.name }}, по заявке {{ lead.data.application }} нужны документы"}
    async with client.put(f"{LOANS}/message-templates/hello", json=good, headers=tenants.auth()) as r:
        assert r.status == 201
        assert (await r.json())["sms"]["encoding"] == "ucs2"
    async with client.post(f"{LOANS}/message-templates/hello/preview", json={"lead": "A-1"},
                           headers=tenants.auth()) as r:  # fmt: skip
        preview = await r.json()
    assert preview["body"] == "Иван, по заявке Z-1 нужны документы"
    assert preview["sms"] == {"encoding": "ucs2", "length": 35, "parts": 1, "per_part": 70, "left": 35}
    async with client.post(f"{LOANS}/message-templates/hello/preview", json={}, headers=tenants.auth()) as r:
        assert (await r.json())["body"] == "[lead.name], по заявке [lead.data.application] нужны документы"


async def test_a_message_is_sent_once_and_followed_to_delivery(api, smsc) -> None:
    client, tenants = api
    sink, _ = smsc
    template = {"medium": "sms", "body": "Заявка {{ lead.data.application }}"}
    async with client.put(f"{LOANS}/message-templates/hello", json=template, headers=tenants.auth()):
        pass
    body = {"template": "hello", "idempotency_key": "A-1:call-1:step-2:hello"}
    async with client.post(f"{LOANS}/leads/A-1/messages", json=body, headers=tenants.auth()) as r:
        assert r.status == 201
        first = await r.json()
    async with client.post(f"{LOANS}/leads/A-1/messages", json=body, headers=tenants.auth()) as r:
        assert r.status == 200  # a double click: the same message, nothing new
        assert (await r.json())["id"] == first["id"]
    assert first["recipient"] == "+79123456789" and first["status"] == "queued"

    for _ in range(100):
        async with client.get(f"{LOANS}/messages/{first['id']}", headers=tenants.auth()) as r:
            message = await r.json()
        if message["status"] == "delivered":
            break
        await asyncio.sleep(0.1)
    assert message["status"] == "delivered" and message["cost"] == "2.5000"
    assert sink.sends_of(str(first["id"])) == 1
    async with client.get(f"{LOANS}/leads/A-1/messages", headers=tenants.auth()) as r:
        assert [m["id"] for m in (await r.json())["messages"]] == [first["id"]]
    async with client.get(f"{LOANS}/leads/A-1/history", headers=tenants.auth()) as r:
        kinds = [h["detail"].get("status") for h in (await r.json())["history"] if h["kind"] == "message"]
    assert kinds[0] == "queued" and kinds[-1] == "delivered"


async def test_bad_requests_name_the_field_and_queue_nothing(api) -> None:
    client, tenants = api
    async with client.post(
        f"{LOANS}/leads/A-1/messages", json={"template": "nope"}, headers=tenants.auth()
    ) as r:
        assert r.status == 404 and "no template 'nope'" in (await r.json())["detail"]
    template = {"medium": "sms", "body": "hi"}
    async with client.put(f"{LOANS}/message-templates/hello", json=template, headers=tenants.auth()):
        pass
    async with client.post(f"{LOANS}/leads/A-1/messages", json={"template": "hello", "to": "12"},
                           headers=tenants.auth()) as r:  # fmt: skip
        assert r.status == 422 and (await r.json())["errors"][0]["field"] == "to"
    async with client.post(
        f"{LOANS}/leads/A-404/messages", json={"template": "hello"}, headers=tenants.auth()
    ) as r:
        assert r.status == 404
    async with client.post(f"{LOANS}/leads/A-1/messages", json={"template": "hello", "colour": "red"},
                           headers=tenants.auth()) as r:  # fmt: skip
        assert r.status == 422 and (await r.json())["errors"][0]["field"] == "colour"
    async with client.get(f"{LOANS}/messages?limit=0", headers=tenants.auth()) as r:
        assert r.status == 422 and (await r.json())["errors"][0]["field"] == "query.limit"
    async with client.get(f"{LOANS}/messages", headers=tenants.auth()) as r:
        assert (await r.json())["messages"] == []


async def test_another_projects_token_sees_nothing(api) -> None:
    client, tenants = api
    template = {"medium": "sms", "body": "Секретное предложение"}
    async with client.put(f"{LOANS}/message-templates/hello", json=template, headers=tenants.auth()):
        pass
    async with client.post(
        f"{LOANS}/leads/A-1/messages", json={"template": "hello"}, headers=tenants.auth()
    ) as r:
        message_id = (await r.json())["id"]
    other = tenants.auth(tenants.other_token)
    for path in (f"{LOANS}/messages/{message_id}", f"{LOANS}/messages", f"{LOANS}/message-templates/hello",
                 f"{LOANS}/leads/A-1/messages"):  # fmt: skip
        async with client.get(path, headers=other) as r:
            assert r.status == 403, path
            assert "Секретное" not in await r.text()
    async with client.get(f"/api/v1/projects/cards/messages/{message_id}", headers=other) as r:
        assert r.status == 404


async def test_stop_list_by_api(api) -> None:
    client, tenants = api
    body = {"medium": "email", "addresses": ["ivan@example.net", "not an address"]}
    async with client.post(f"{LOANS}/message-stops", json=body, headers=tenants.auth()) as r:
        assert r.status == 422 and (await r.json())["errors"][0]["field"] == "addresses.1"
    body = {"medium": "sms", "addresses": ["8 912 345-67-89"], "reason": "STOP"}
    async with client.post(f"{LOANS}/message-stops", json=body, headers=tenants.auth()) as r:
        assert await r.json() == {"medium": "sms", "added": ["+79123456789"], "already": []}


async def test_supervisors_see_a_channel_parked_for_lack_of_funds(api, smsc) -> None:
    client, tenants = api
    sink, _ = smsc
    async with client.get(f"{LOANS}/message-channels", headers=tenants.auth()) as r:
        (channel,) = (await r.json())["channels"]
    assert channel["name"] == "sms" and channel["parked_until"] is None
    sink.plan.append(("error", 3))
    async with client.put(f"{LOANS}/message-templates/hello", json={"medium": "sms", "body": "hi"},
                          headers=tenants.auth()):  # fmt: skip
        pass
    async with client.post(f"{LOANS}/leads/A-1/messages", json={"template": "hello"}, headers=tenants.auth()):
        pass
    for _ in range(50):
        async with client.get(f"{LOANS}/message-channels", headers=tenants.auth()) as r:
            (channel,) = (await r.json())["channels"]
        if channel["parked_until"]:
            break
        await asyncio.sleep(0.1)
    assert channel["parked_until"] and "no funds" in channel["reason"]
