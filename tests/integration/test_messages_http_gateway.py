"""SMS through a generic HTTP gateway described in the configuration, against a local provider."""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import timedelta
from decimal import Decimal

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import update

from dialer.config_channels import HttpGatewaySettings
from dialer.storage import writing
from dialer.storage.tables import LEAD
from tests.integration.messaging import make_world

pytestmark = pytest.mark.integration


class Provider:
    """A provider's JSON API: bearer token, ``{"to", "text", "ref"}``, answers with an id and a price."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.answers: deque[tuple[int, dict] | str] = deque()

    async def send(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Bearer tok-123":
            return web.json_response({"result": {"status": "error", "error": "bad token"}}, status=401)
        body = await request.json()
        self.bodies.append(body)
        if self.answers:
            planned = self.answers.popleft()
            if planned == "hang":
                await asyncio.sleep(3)
            else:
                status, answer = planned
                return web.json_response(answer, status=status)
        return web.json_response(
            {"result": {"status": "ok", "message_id": f"P-{len(self.bodies)}", "price": "1.90"}}
        )


@pytest.fixture
async def provider(aiohttp_server):
    fake = Provider()
    app = web.Application()
    app.router.add_post("/v2/sms", fake.send)
    server = await aiohttp_server(app)
    return fake, str(server.make_url("/v2/sms"))


@pytest.fixture
async def world(tmp_path, provider):
    _, url = provider
    channel = HttpGatewaySettings(
        kind="http", url=url, headers={"Authorization": "Bearer {{ secret }}"}, secret="tok-123",
        body='{"to": "{{ phone }}", "text": "{{ text }}", "ref": "{{ id }}"}', success_path="result.status",
        success_value="ok", id_path="result.message_id", cost_path="result.price", error_path="result.error",
        timeout=1,
    )  # fmt: skip
    async with aiohttp.ClientSession() as session:
        world = await make_world(tmp_path, {"gw": channel}, session)
        yield world
        await world.engine.dispose()


async def test_the_configured_request_goes_out_and_the_answer_is_read(world, provider) -> None:
    fake, _ = provider
    async with writing(world.engine) as conn:  # a quote and a backslash in the name must not break JSON
        await conn.execute(update(LEAD).values(name='Иван "Ваня" Петров\\'))
    queued = await world.queue()
    await world.sender().send_due()
    sent = await world.message(queued.id)
    assert sent.status == "sent" and sent.finished_at is not None  # this gateway reports no delivery
    assert sent.gateway_id == "P-1" and sent.cost == Decimal("1.9000")
    (body,) = fake.bodies
    assert body == {"to": "+79123456789", "text": queued.body, "ref": str(queued.id)}
    assert body["text"].startswith('Иван "Ваня" Петров\\,')


async def test_a_refusal_fails_and_a_server_error_retries(world, provider) -> None:
    fake, _ = provider
    fake.answers.append((400, {"result": {"status": "error", "error": "number blocked"}}))
    refused = await world.queue()
    await world.sender().send_due()
    failed = await world.message(refused.id)
    assert failed.status == "failed" and "number blocked" in failed.reason

    fake.answers.append((503, {"result": {"status": "error", "error": "maintenance"}}))
    later = await world.queue(idempotency_key="second")
    sender = world.sender()
    await sender.send_due()
    assert (await world.message(later.id)).status == "queued"
    world.clock.now += timedelta(minutes=1)
    await sender.send_due()
    assert (await world.message(later.id)).status == "sent"


async def test_a_200_that_says_no_fails_with_the_providers_words(world, provider) -> None:
    fake, _ = provider
    fake.answers.append((200, {"result": {"status": "error", "error": "text rejected by filter"}}))
    queued = await world.queue()
    await world.sender().send_due()
    failed = await world.message(queued.id)
    assert failed.status == "failed" and "text rejected by filter" in failed.reason


async def test_a_hanging_gateway_times_out_and_the_worker_goes_on(world, provider) -> None:
    fake, _ = provider
    fake.answers.append("hang")
    first = await world.queue()
    second = await world.queue(idempotency_key="second", to="+79123456780")
    await asyncio.wait_for(world.sender().send_due(), 5)
    states = {(await world.message(m.id)).status for m in (first, second)}
    assert states == {"queued", "sent"}
    assert len(fake.bodies) == 2  # both requests reached the provider
