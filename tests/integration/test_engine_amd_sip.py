"""Answering-machine detection on live calls: SIPp answers one number with a person's "hello" and
another with a voicemail greeting; the answer reaches the engine once the detector is sure, with the
verdict, and a person is let through soon after their hello."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np

from dialer.engine.telephony import CallAnswered, CallUpdate
from dialer.voice.phones import OperatorPhones
from dialer.voice.telephony import SipTelephony
from sip.registrar import Registrar
from sip.stack import SipStack
from sip.streams.clock import MediaClock
from sip.trunks import TrunkPool
from sip.useragent import UserAgent
from tests.integration.sip_peers import sipp_uas
from tests.integration.test_media_sipp import write_ulaw_wav
from tests.integration.test_sip_failover import trunk
from tests.unit.test_engine_amd import call, gap, word


async def test_a_person_is_let_through_and_a_machine_is_caught(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    write_ulaw_wav(tmp_path / "human.wav", call(gap(0.4), word(0.5, rng), gap(4.0), rng=rng))
    greeting = np.concatenate([word(0.35, rng) if i % 2 == 0 else gap(0.08) for i in range(15)])
    write_ulaw_wav(tmp_path / "machine.wav", call(gap(0.3), greeting, gap(2.0), rng=rng))
    stack, phone_stack = SipStack(), SipStack()
    await stack.open("127.0.0.1", 0)
    await phone_stack.open("127.0.0.1", 0)
    try:
        with sipp_uas("answer_amd.xml", tmp_path, calls=2) as sipp:
            pool = TrunkPool({"carrier": trunk("carrier", 1, "1.00", stack, sipp.port)}, check_every=60)
            agent = UserAgent(phone_stack, ("127.0.0.1", 9), domain="dialer")
            phones = OperatorPhones(
                Registrar(phone_stack, realm="dialer", password_of={}.get), agent, MediaClock()
            )
            telephony = SipTelephony(pool, phones.clock, phones, message=None)
            updates: list[CallUpdate] = []
            person = await telephony.originate("+74950000010", caller_id="100", ring_timeout=20,
                                               on_update=updates.append, amd=True)  # fmt: skip
            machine = await telephony.originate("+74950000011", caller_id="100", ring_timeout=20,
                                                on_update=updates.append, amd=True)  # fmt: skip
            started = time.monotonic()
            while len(updates) < 2 and time.monotonic() - started < 10:  # noqa: ASYNC110 (waiting on callbacks)
                await asyncio.sleep(0.05)
            answered = {u.call_id: u for u in updates if isinstance(u, CallAnswered)}
            for call_id in (person, machine):
                telephony.hangup(call_id)
            assert await asyncio.to_thread(sipp.wait) == 0, sipp.errors()
    finally:
        stack.close()
        phone_stack.close()
    assert (answered[person].machine, answered[person].amd) == (False, "human")
    assert (answered[machine].machine, answered[machine].amd) == (True, "machine")
    assert answered[machine].amd_confidence is not None and answered[machine].amd_confidence >= 0.6
    # the person said hello 0.4-0.9 s after answering, then 0.8 s of silence decides: well before 2.5 s
    person_at = answered[person].at - started
    assert person_at < 2.5, person_at
