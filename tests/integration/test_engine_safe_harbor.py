"""An abandoned client hears the whole safe-harbor message, then the dialer hangs up: baresip plays
the client (called directly at its number), and what it decoded is the message."""

from __future__ import annotations

import asyncio
import time
import wave
from pathlib import Path

import numpy as np

from dialer.engine.telephony import CallAnswered, CallEnded, CallUpdate
from dialer.voice.phones import OperatorPhones
from dialer.voice.telephony import SipTelephony
from sip.registrar import Registrar
from sip.stack import SipStack
from sip.streams.clock import MediaClock
from sip.streams.player import load_wav
from sip.trunks import TrunkPool
from sip.useragent import UserAgent
from tests.integration.softphones import baresip
from tests.integration.test_media_loopback import dominant, tone
from tests.integration.test_operator_phone import microphone
from tests.integration.test_sip_failover import trunk

MESSAGE_HZ = 400.0


async def test_an_abandoned_client_hears_the_whole_message_then_the_call_ends(tmp_path: Path) -> None:
    message = tmp_path / "safe_harbor.wav"
    with wave.open(str(message), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)  # any rate: the player converts it once
        wav.writeframes(tone(MESSAGE_HZ, 3.0, amplitude=8000).repeat(2).astype("<i2").tobytes())
    stack, phone_stack = SipStack(), SipStack()
    await stack.open("127.0.0.1", 0)
    await phone_stack.open("127.0.0.1", 0)
    updates: list[CallUpdate] = []
    try:
        with baresip(tmp_path / "client", registrar=None, user="79120000001", password="",
                     microphone=microphone(tmp_path / "mic.wav", seconds=60)) as client:  # fmt: skip
            pool = TrunkPool({"carrier": trunk("carrier", 1, "1.00", stack, client.port)}, check_every=60)
            agent = UserAgent(phone_stack, ("127.0.0.1", 9), domain="dialer")
            phones = OperatorPhones(
                Registrar(phone_stack, realm="dialer", password_of={}.get), agent, MediaClock()
            )
            telephony = SipTelephony(pool, phones.clock, phones, message=load_wav(message))
            call_id = await telephony.originate("+79120000001", caller_id="100", ring_timeout=20,
                                                on_update=updates.append)  # fmt: skip
            deadline = time.monotonic() + 10
            while not any(isinstance(u, CallAnswered) for u in updates) and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            started = time.monotonic()
            await telephony.abandon(call_id)  # nobody to take them: the message, then hang up
            took = time.monotonic() - started
            await asyncio.sleep(1.0)  # the BYE and the dump file
            heard = client.heard()
    finally:
        stack.close()
        phone_stack.close()
    assert [type(u) for u in updates] == [CallAnswered, CallEnded] and updates[-1].by == "local"
    assert 2.9 <= took <= 4.0, took  # the whole 3 s message, not cut short
    frames = heard[: len(heard) // 160 * 160].reshape(-1, 160)
    loud = frames[np.sqrt((frames.astype(float) ** 2).mean(axis=1)) > 1000].reshape(-1)
    assert 2.5 * 8000 <= len(loud) <= 3.3 * 8000, len(loud) / 8000  # about 3 s of message arrived
    assert abs(dominant(loud) - MESSAGE_HZ) < 10
