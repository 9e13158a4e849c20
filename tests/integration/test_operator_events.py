"""The operator's screen streamed over Server-Sent Events by a real server: the card arrives when the
call is connected (a SIPp client bridged to a baresip operator), the stream refuses strangers, ends
with the session and when the server stops."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from dialer import campaigns
from dialer.accounts.operators import add_operator
from dialer.accounts.projects import project_by_slug
from dialer.config import DatabaseSettings, Settings, SipSettings, Tariff, TrunkSettings
from dialer.runtime import create_app
from dialer.storage import create_engine, upgrade, writing
from dialer.storage.types import utcnow
from dialer.web.api import operator_events
from dialer.web.api.operators import SESSIONS
from dialer.web.keys import RUNTIME, SETTINGS
from tests.integration.api_fixtures import OPS, seed_campaign, session
from tests.integration.servers import free_port
from tests.integration.sip_peers import sipp_uas
from tests.integration.softphones import Softphone, baresip
from tests.integration.test_api_leads import problem
from tests.integration.test_engine_service import NOW, midday_zone
from tests.integration.test_media_loopback import tone
from tests.integration.test_media_sipp import write_ulaw_wav
from tests.integration.test_operator_phone import microphone, registered


@dataclass
class Stream:
    """What an SSE client read: events (id, name, data) and keep-alive comments, until the end."""

    events: list[tuple[str, str, dict[str, Any]]]
    comments: int = 0
    retry: str | None = None
    ended: bool = False


async def read_stream(response: aiohttp.ClientResponse, into: Stream) -> None:
    fields: dict[str, str] = {}
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith(":"):
            into.comments += 1
        elif line:
            name, _, value = line.partition(": ")
            fields[name] = value
        elif fields:
            if "retry" in fields:
                into.retry = fields.pop("retry")
            if fields:
                into.events.append((fields["id"], fields["event"], json.loads(fields["data"])))
            fields = {}
    into.ended = True


async def until(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        await asyncio.sleep(0.05)


@dataclass
class Workplace:
    client: TestClient
    anna: dict[str, str]  # her session's Authorization header
    phone: Softphone
    stream: Stream  # her events, read in the background


@contextlib.asynccontextmanager
async def workplace(aiohttp_client: Any, tmp_path: Path, *, silence_limit: float) -> AsyncIterator[Workplace]:
    """The app with the engine; a progressive campaign "main" (not started) with one lead; anna's
    baresip registered; her session open and her events streaming; SIPp as the client's phone."""
    write_ulaw_wav(tmp_path / "tone.wav", tone(1250, 4.0))
    database = DatabaseSettings(path=tmp_path / "db.sqlite3")
    engine = create_engine(database)
    try:
        await upgrade(engine)
        project, _ = await seed_campaign(engine, ["+79120000007"], now=NOW, time_zone=midday_zone(),
                                         settings=campaigns.CampaignIn(mode="progressive"))  # fmt: skip
        async with writing(engine) as conn:
            await add_operator(conn, "anna", name="Anna", password="anna-secret-1", project_ids=[project.id])
    finally:
        await engine.dispose()
    sip_port = free_port(socket.SOCK_DGRAM)
    mic = microphone(tmp_path / "mic.wav", seconds=60)
    with sipp_uas("answer_stream_audio.xml", tmp_path, calls=10) as sipp, \
            baresip(tmp_path / "phone", registrar=("127.0.0.1", sip_port), user="anna",
                    password="anna-secret-1", microphone=mic) as phone:  # fmt: skip
        settings = Settings(
            database=database,
            sip=SipSettings(host="127.0.0.1", port=sip_port, phone_silence_limit=silence_limit),
            trunks={"carrier": TrunkSettings(host="127.0.0.1", port=sipp.port, register=False,
                                             tariffs=[Tariff(prefix="7", price_per_minute=Decimal("1"))])},
        )  # fmt: skip
        client: TestClient = await aiohttp_client(create_app(settings))
        anna = await session(client, "anna", "anna-secret-1")
        response = await client.get(f"{OPS}/anna/events", headers=anna)
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        stream = Stream([])
        reader = asyncio.create_task(read_stream(response, stream))
        await until(lambda: stream.events, 5, "the first snapshot")
        await registered(client.app[RUNTIME].voice.registrar, "anna")
        try:
            yield Workplace(client, anna, phone, stream)
        finally:
            reader.cancel()


async def go_ready(place: Workplace) -> None:
    ready = await place.client.put(f"{OPS}/anna/state", json={"state": "ready"}, headers=place.anna)
    assert ready.status == 200, await ready.text()
    await until(lambda: place.stream.events[-1][2]["state"] == "ready", 5, "ready on the stream")


async def test_the_card_arrives_on_the_stream_when_the_call_is_connected(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    async with workplace(aiohttp_client, tmp_path, silence_limit=2.0) as place:
        client, anna, stream = place.client, place.anna, place.stream
        assert stream.retry == "3000"
        offline = {"state": "offline", "call_id": None, "campaign": None, "phone": None, "lead": None,
                   "preview": False, "amd_check": False, "ended": False}  # fmt: skip
        assert stream.events[0][1:] == ("current", offline)
        await go_ready(place)
        await asyncio.sleep(3.0)  # longer than the silence limit: a phone that sends audio stays up
        assert stream.events[-1][2]["state"] == "ready"
        engine = create_engine(client.app[SETTINGS].database)
        try:
            async with writing(engine) as conn:
                ref = await project_by_slug(conn, "loans")
                assert ref is not None
                await campaigns.act(conn, ref, "main", "start")
        finally:
            await engine.dispose()

        def talking() -> bool:
            return any(data["call_id"] is not None for _, _, data in stream.events)

        await until(talking, 30, "the connected call on the stream")
        connected = next(data for _, _, data in stream.events if data["call_id"] is not None)
        assert connected["state"] == "talking"
        assert connected["phone"] == "+79120000007"
        assert connected["lead"]["external_id"] == "L0" and connected["lead"]["phones"] == ["+79120000007"]
        polled = await (await client.get(f"{OPS}/anna/current", headers=anna)).json()
        assert polled == connected  # the stream says what /current says
        done = await client.post(f"{OPS}/anna/disposition", json={"outcome": "completed"}, headers=anna)
        assert await done.json() == {"ended": True, "already": False}
        await until(lambda: stream.events[-1][2]["state"] == "wrap_up", 10, "wrap-up after the disposition")
        assert stream.events[-1][2]["call_id"] is None
        ids = [int(event_id) for event_id, _, _ in stream.events]
        assert ids == list(range(1, len(ids) + 1))
        snapshots = [json.dumps(data, sort_keys=True) for _, _, data in stream.events]
        assert all(a != b for a, b in itertools.pairwise(snapshots))  # changes only
        assert not stream.ended
        await client.server.close()  # the server stops: the stream ends instead of holding the shutdown
        await until(lambda: stream.ended, 15, "the end of the stream")


async def test_a_phone_that_dies_without_a_bye_pauses_its_operator(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    async with workplace(aiohttp_client, tmp_path, silence_limit=2.0) as place:
        await go_ready(place)
        runtime = place.client.app[RUNTIME]
        assert "anna" in runtime.voice.phones.legs
        place.phone.process.kill()  # a crash, a lost network: no BYE, the audio just stops
        await until(lambda: place.stream.events[-1][2]["state"] == "paused", 10, "paused on the stream")
        assert runtime.engine.board.get("anna").pause_reason == "phone dropped"
        assert "anna" not in runtime.voice.phones.legs  # the line was hung up: nobody is bridged into it


async def test_the_stream_refuses_strangers_and_ends_with_the_session(
    engine_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(operator_events, "KEEP_ALIVE", 0.1)
    client = engine_client
    await problem(await client.get(f"{OPS}/anna/events"), 401)
    anna = await session(client, "anna", "anna-secret-1")
    await problem(await client.get(f"{OPS}/boris/events", headers=anna), 403)
    await problem(await client.get(f"{OPS}/Bad Login/events", headers=anna), 422)
    response = await client.get(f"{OPS}/anna/events", headers=anna)
    stream = Stream([])
    reader = asyncio.create_task(read_stream(response, stream))
    await until(lambda: stream.comments >= 3, 5, "keep-alive comments while nothing changes")
    assert [event[2]["state"] for event in stream.events] == ["offline"]  # one snapshot: nothing changed
    assert client.app[operator_events.STREAMS]
    token = anna["Authorization"].split()[1]
    known = client.app[SESSIONS][token]
    client.app[SESSIONS][token] = replace(known, expires_at=utcnow() - timedelta(seconds=1))  # it expires
    await asyncio.wait_for(reader, 5)
    assert stream.ended
    assert not client.app[operator_events.STREAMS]
