"""The engine over real SIP: SIPp as the carrier (answers, streams a tone, waits for our BYE), baresip
as the operator's phone registered to our registrar and called once (nailed-up), three leads dialled
by the campaign loop, each bridged to the operator, who ends each call."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import select

from dialer.config import DatabaseSettings
from dialer.engine.board import OperatorBoard, OperatorState
from dialer.engine.loop import CampaignLoop, CampaignSettings
from dialer.storage import create_engine, reading, upgrade
from dialer.storage.models import Attempt
from dialer.storage.tables import LEAD
from dialer.voice.phones import OperatorPhones
from dialer.voice.telephony import SipTelephony
from pacing import make_pacer
from sip.registrar import Registrar
from sip.stack import SipStack
from sip.streams.clock import MediaClock
from sip.trunks import TrunkPool
from sip.useragent import UserAgent
from tests.integration.api_fixtures import seed_campaign
from tests.integration.sip_peers import sipp_uas
from tests.integration.softphones import baresip
from tests.integration.test_media_loopback import dominant, tone
from tests.integration.test_media_sipp import write_ulaw_wav
from tests.integration.test_operator_phone import microphone, registered
from tests.integration.test_sip_failover import trunk

NOON_MOSCOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def test_three_leads_are_dialled_and_bridged_to_a_nailed_up_operator(tmp_path: Path) -> None:
    write_ulaw_wav(tmp_path / "tone.wav", tone(1250, 4.0))
    engine = create_engine(DatabaseSettings(path=tmp_path / "db.sqlite3"))
    trunk_stack, phone_stack = SipStack(), SipStack()
    await trunk_stack.open("127.0.0.1", 0)
    await phone_stack.open("127.0.0.1", 0)
    clock = MediaClock()
    try:
        await upgrade(engine)
        phones_to_call = [f"+7495000000{i}" for i in range(3)]
        project, campaign_id = await seed_campaign(engine, phones_to_call, now=NOON_MOSCOW)
        agent = UserAgent(
            phone_stack, ("127.0.0.1", 9), domain="dialer"
        )  # before the registrar, see OperatorPhones
        registrar = Registrar(phone_stack, realm="dialer", password_of={"100": "s3cret"}.get)
        registrar.install()
        board = OperatorBoard()
        phones = OperatorPhones(registrar, agent, clock, on_dropped=lambda login: None)
        with baresip(tmp_path / "phone", registrar=phone_stack.local, user="100", password="s3cret",
                     microphone=microphone(tmp_path / "mic.wav", seconds=60)) as phone, \
                sipp_uas("answer_stream_audio.xml", tmp_path, calls=3) as sipp:  # fmt: skip
            await registered(registrar, "100")
            await phones.call("100")  # the operator goes ready: their phone is called once, for the shift
            board.log_in("100", {project.id}, time.monotonic()).move(OperatorState.READY, time.monotonic())
            pool = TrunkPool({"carrier": trunk("carrier", 1, "1.00", trunk_stack, sipp.port)}, check_every=5)
            telephony = SipTelephony(pool, clock, phones, message=None)
            loop = CampaignLoop(
                engine=engine, telephony=telephony, board=board, owner="test",
                pacer=make_pacer("progressive", abandon_target=0.03, ring_timeout=25.0, abandon_after=2.0,
                                 rng=np.random.default_rng(1)),
                campaign=CampaignSettings(campaign_id, project, wrap_up=0.5),
                wall=lambda: NOON_MOSCOW,
            )  # fmt: skip
            talking_since: dict[str, float] = {}
            deadline = time.monotonic() + 45
            while time.monotonic() < deadline:
                await loop.step()
                now = time.monotonic()
                for call_id in list(telephony.bridges):
                    started = talking_since.setdefault(call_id, now)
                    if now - started > 1.5:  # the operator ends the call from the workplace
                        telephony.hangup(call_id)
                if loop.stats.launched == 3 and loop.calls_in_progress == 0:
                    break
                await asyncio.sleep(0.1)
            assert await asyncio.to_thread(sipp.wait) == 0, sipp.errors()
            phones.hang_up("100")
            await asyncio.sleep(0.5)
            heard = phone.heard()
        async with reading(engine) as conn:
            attempts = (await conn.execute(select(Attempt.__table__))).all()
            statuses = (await conn.execute(select(LEAD.c.status))).scalars().all()
    finally:
        trunk_stack.close()
        phone_stack.close()
        await engine.dispose()

    assert len(attempts) == 3
    assert {(a.outcome, a.operator, a.abandoned) for a in attempts} == {("human", "100", False)}
    assert all(a.answered_at and a.connected_at and a.ended_at for a in attempts)
    assert statuses == ["done", "done", "done"]
    assert loop.stats.connected == 3 and loop.stats.abandoned == 0
    assert board.get("100").calls_today == 3
    frames = heard[: len(heard) // 160 * 160].reshape(-1, 160)
    loud = frames[np.sqrt((frames.astype(float) ** 2).mean(axis=1)) > 1000].reshape(-1)
    assert len(loud) > 8000 and abs(dominant(loud) - 1250) < 15  # the operator heard the clients
