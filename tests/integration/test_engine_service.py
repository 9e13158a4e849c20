"""The engine as `dialer serve` runs it: an operator account from the database registers its softphone
(baresip) with the account's password, goes ready, and the running campaign's leads are dialled over
the configured trunk (SIPp) and bridged to them; pausing the campaign stops the dialling."""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
import wave
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
from sqlalchemy import select

from dialer import campaigns
from dialer.accounts.operators import add_operator
from dialer.accounts.projects import project_by_slug
from dialer.config import (
    DatabaseSettings,
    RecordingSettings,
    ServerSettings,
    Settings,
    SipSettings,
    Tariff,
    TrunkSettings,
)
from dialer.engine.attempts import Disposition
from dialer.engine.board import OperatorState
from dialer.engine.service import lead_card
from dialer.runtime import Runtime
from dialer.storage import create_engine, reading, upgrade, writing
from dialer.storage.models import Attempt, LeadEvent
from dialer.storage.tables import OPERATOR_STATE
from tests.integration.api_fixtures import seed_campaign
from tests.integration.servers import free_port
from tests.integration.sip_peers import sipp_uas
from tests.integration.softphones import baresip
from tests.integration.test_media_loopback import dominant, tone
from tests.integration.test_media_sipp import write_ulaw_wav
from tests.integration.test_operator_phone import OPERATOR_VOICE, microphone, registered

NOW = datetime.now(UTC)


def midday_zone() -> str:
    """A fixed-offset zone where it is about noon now, so the 9-21 window is open whenever CI runs."""
    offset = (12 - NOW.hour + 12) % 24 - 12  # -12..+11 hours from UTC
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"


async def test_service_dials_a_running_campaign_for_a_ready_operator(tmp_path: Path) -> None:
    write_ulaw_wav(tmp_path / "tone.wav", tone(1250, 4.0))
    database = DatabaseSettings(path=tmp_path / "db.sqlite3")
    engine = create_engine(database)
    try:
        await upgrade(engine)
        phones = [f"+7912000000{i}" for i in range(2)]  # mobiles: the lead's zone decides the window
        progressive = campaigns.CampaignIn(mode="progressive")
        project, campaign_id = await seed_campaign(
            engine, phones, now=NOW, settings=progressive, time_zone=midday_zone()
        )
        async with writing(engine) as conn:
            await add_operator(conn, "anna", name="Anna", password="anna-secret-1", project_ids=[project.id])
        sip_port = free_port(socket.SOCK_DGRAM)
        mic = microphone(tmp_path / "mic.wav", seconds=120)
        with sipp_uas("answer_stream_audio.xml", tmp_path, calls=1000) as sipp, \
                baresip(tmp_path / "phone", registrar=("127.0.0.1", sip_port), user="anna",
                        password="anna-secret-1", microphone=mic):  # fmt: skip
            settings = Settings(
                database=database,
                sip=SipSettings(host="127.0.0.1", port=sip_port),
                trunks={
                    "carrier": TrunkSettings(
                        host="127.0.0.1",
                        port=sipp.port,
                        register=False,
                        tariffs=[Tariff(prefix="7", price_per_minute=Decimal("1.5"))],
                    )
                },
                recordings=RecordingSettings(directory=tmp_path / "recordings"),
            )
            service = Runtime(settings, engine, webhooks=False)
            await service.start()
            try:
                await registered(
                    service.voice.registrar, "anna"
                )  # the account's password, checked against its HA1
                assert await service.engine.ready("anna") is OperatorState.READY
                async with writing(engine) as conn:
                    project_ref = await project_by_slug(conn, "loans")
                    assert project_ref is not None
                    await campaigns.act(conn, project_ref, "main", "start")
                on_screen = None
                disposed: set[str] = set()
                deadline = time.monotonic() + 60  # two calls, 15 s of wrap-up between them
                while time.monotonic() < deadline and len(service.engine.loops) == 0:  # noqa: ASYNC110 (polling a service)
                    await asyncio.sleep(0.2)
                loop = service.engine.loops[campaign_id].loop
                while time.monotonic() < deadline:
                    current = service.engine.current("anna")
                    if current is not None and current.call_id not in disposed:
                        on_screen = on_screen or current
                        await asyncio.sleep(1.0)
                        done = Disposition("anna", "completed", "all documents collected")
                        assert (
                            await service.engine.dispose("anna", done) == "recorded"
                        )  # the operator records the outcome
                        disposed.add(current.call_id)
                    if loop.stats.launched == 2 and loop.calls_in_progress == 0:
                        break
                    await asyncio.sleep(0.2)
                assert loop.last_decision is not None and "progressive" in loop.last_decision.reason
                async with writing(engine) as conn:
                    await campaigns.act(conn, project_ref, "main", "pause")
                await asyncio.sleep(2.5)
                assert campaign_id not in service.engine.loops  # paused: the loop was stopped
                assert on_screen is not None
                card = await lead_card(engine, on_screen.lead_id)
                assert card["phones"][0] in phones
            finally:
                await service.stop()
            assert sipp.errors() == ""  # every INVITE and OPTIONS followed the far end's scenario
        async with reading(engine) as conn:
            attempts = (await conn.execute(select(Attempt.__table__))).all()
            notes = (await conn.execute(select(LeadEvent.__table__.c.detail).where(
                LeadEvent.__table__.c.kind == "disposition"))).scalars().all()  # fmt: skip
            spans = (await conn.execute(select(OPERATOR_STATE).order_by(OPERATOR_STATE.c.id))).all()
    finally:
        await engine.dispose()
    assert sorted((a.outcome, a.operator) for a in attempts) == [("human", "anna"), ("human", "anna")]
    for attempt in attempts:  # billed by the trunk's tariff: whole minutes at 1.50
        assert (attempt.trunk, attempt.cost) == ("carrier", Decimal("1.5"))
        assert (attempt.billed_seconds, attempt.tariff_prefix, attempt.connection_fee) == (
            60,
            "7",
            Decimal(0),
        )
        assert attempt.recording is not None and attempt.recording.startswith(str(tmp_path / "recordings"))
        with wave.open(attempt.recording) as wav:  # client left, anna right, about a second of talk
            assert wav.getnchannels() == 2 and wav.getnframes() > 4000
            stereo = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
        assert abs(dominant(stereo[:, 0]) - 1250) < 10  # SIPp's stream
        assert abs(dominant(stereo[:, 1]) - OPERATOR_VOICE) < 10  # baresip's microphone
    assert [n["notes"] for n in notes] == ["all documents collected"] * 2
    # the journal wrote anna's day as spans, each closed (the stop closed the last), talks with their campaign
    states = [span.state for span in spans]
    assert states[0] == "ready" and states.count("talking") == 2 and "wrap_up" in states, states
    assert all(span.ended_at is not None and span.ended_at >= span.started_at for span in spans)
    assert all(a.ended_at == b.started_at for a, b in itertools.pairwise(spans))  # one after the other
    assert {span.campaign_id for span in spans if span.state == "talking"} == {campaign_id}


async def test_a_restarted_engine_calls_phones_that_registered_before_it(tmp_path: Path) -> None:
    database = DatabaseSettings(path=tmp_path / "db.sqlite3")
    engine = create_engine(database)
    try:
        await upgrade(engine)
        project, _ = await seed_campaign(engine, [], now=NOW)
        async with writing(engine) as conn:
            await add_operator(conn, "anna", name="Anna", password="anna-secret-1", project_ids=[project.id])
        sip_port = free_port(socket.SOCK_DGRAM)
        settings = Settings(database=database, sip=SipSettings(host="127.0.0.1", port=sip_port))
        mic = microphone(tmp_path / "mic.wav", seconds=60)
        with baresip(tmp_path / "phone", registrar=("127.0.0.1", sip_port), user="anna",
                     password="anna-secret-1", microphone=mic, regint=3600) as phone:  # fmt: skip
            first = Runtime(settings, engine, webhooks=False)
            await first.start()
            try:
                registration = await registered(first.voice.registrar, "anna")
            finally:
                await first.stop()  # the phone registered for an hour and will not say so again soon
            elsewhere = Runtime(
                settings.model_copy(update={"server": ServerSettings(instance="another")}),
                engine,
                webhooks=False,
            )
            await elsewhere.start()
            try:
                assert (
                    elsewhere.voice.registrar.binding("anna") is None
                )  # registered with the first instance only
            finally:
                await elsewhere.stop()
            second = Runtime(settings, engine, webhooks=False)
            await second.start()
            try:
                restored = second.voice.registrar.binding("anna")
                assert restored is not None
                assert (restored.contact, restored.address) == (registration.contact, registration.address)
                assert abs(restored.expires_at - registration.expires_at) < 5
                assert (
                    await second.engine.ready("anna") is OperatorState.READY
                )  # the phone was called and answered
                assert "anna" in second.voice.phones.legs
            finally:
                await second.stop()
            assert phone.log().count("{0/UDP/v4} 200 OK") == 1  # it registered once, with the first
    finally:
        await engine.dispose()
