"""An operator's softphone (baresip) registered to our built-in registrar, called by the dialer, and
bridged to a client (SIPp streaming a known file): both hear each other, proven by decoding."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np

from sip.registrar import Binding, Registrar
from sip.stack import SipStack
from sip.streams.bridge import Bridge
from sip.streams.clock import MediaClock
from sip.streams.recorder import Recorder
from sip.streams.session import apply_answer, offer_leg
from sip.useragent import CallState, UserAgent
from tests.integration.sip_peers import sipp_uas
from tests.integration.softphones import baresip
from tests.integration.test_media_loopback import dominant, tone
from tests.integration.test_media_sipp import write_ulaw_wav

OPERATOR_VOICE = 700.0  # Hz, the operator's "microphone"
CLIENT_VOICE = 1250.0  # Hz, what SIPp streams as the client


def microphone(path: Path, seconds: float = 10.0) -> Path:
    """The operator's "voice": baresip's aufile source (baresip 1.0 ends the call when it runs out)."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(tone(OPERATOR_VOICE, seconds).astype("<i2").tobytes())
    return path


async def registered(registrar: Registrar, user: str, seconds: float = 10) -> Binding:
    for _ in range(int(seconds * 20)):
        binding = registrar.binding(user)
        if binding is not None:
            return binding
        await asyncio.sleep(0.05)
    raise AssertionError(f"{user} did not register within {seconds} s")


async def test_wrong_password_is_refused(stack: SipStack, tmp_path: Path) -> None:
    registrar = Registrar(stack, realm="dialer", password_of={"100": "right"}.get)
    registrar.install()
    with baresip(tmp_path, registrar=stack.local, user="100", password="wrong",
                 microphone=microphone(tmp_path / "mic.wav")) as phone:  # fmt: skip
        await asyncio.sleep(2.0)
        assert registrar.binding("100") is None
        assert "403" in phone.log() or "Forbidden" in phone.log()


async def test_operator_phone_and_client_hear_each_other_through_the_bridge(
    stack: SipStack, tmp_path: Path
) -> None:
    UserAgent(stack, ("127.0.0.1", 9), domain="127.0.0.1")  # answers in-dialog requests (BYE)
    registrar = Registrar(stack, realm="dialer", password_of={"100": "s3cret"}.get)
    registrar.install()
    write_ulaw_wav(tmp_path / "tone.wav", tone(CLIENT_VOICE, 4.0))
    clock = MediaClock()
    phone_dir = tmp_path / "phone"
    with baresip(phone_dir, registrar=stack.local, user="100", password="s3cret",
                 microphone=microphone(tmp_path / "mic.wav")) as phone:  # fmt: skip
        binding = await registered(registrar, "100")
        assert binding.user_agent and "baresip" in binding.user_agent
        # The operator's leg first (as when an operator goes ready), then the client.
        operator_leg, offer = await offer_leg(clock, "127.0.0.1", session_id=1)
        agent = UserAgent(stack, binding.address, domain="127.0.0.1")
        operator = await agent.originate("100", caller_id="dialer", sdp=offer, uri=binding.contact,
                                         address=binding.address)  # fmt: skip
        assert await asyncio.wait_for(operator.wait(), 10) is CallState.ANSWERED
        apply_answer(operator_leg, operator.remote_sdp)
        with sipp_uas("answer_stream_audio.xml", tmp_path) as sipp:
            client_leg, offer = await offer_leg(clock, "127.0.0.1", session_id=2)
            trunk = UserAgent(stack, ("127.0.0.1", sipp.port), domain="127.0.0.1")
            client = await trunk.originate("79123456789", caller_id="dialer", sdp=offer)
            assert await asyncio.wait_for(client.wait(), 10) is CallState.ANSWERED
            apply_answer(client_leg, client.remote_sdp)
            bridge = Bridge(client_leg, operator_leg)
            recorder = Recorder(tmp_path / "call.wav", client_leg, operator_leg)
            await asyncio.sleep(2.0)
            await recorder.close()
            bridge.close()
            client.hangup()
            operator.hangup()
            await asyncio.wait_for(asyncio.gather(client.wait_ended(), operator.wait_ended()), 10)
            assert await asyncio.to_thread(sipp.wait) == 0, sipp.errors()
        client_leg.close()
        operator_leg.close()
        await asyncio.sleep(0.5)  # baresip closes its dump files at hangup
        operator_heard = phone.heard()

    # The operator heard the client: baresip's own decoding of what we sent it.
    assert len(operator_heard) > 8000
    loud = operator_heard[np.abs(operator_heard) > 1000]
    assert (
        abs(dominant(operator_heard[-8000:]) - CLIENT_VOICE) < 15 or abs(dominant(loud) - CLIENT_VOICE) < 15
    )
    # Our recording: left the client (SIPp's file), right the operator (baresip's microphone).
    with wave.open(str(tmp_path / "call.wav")) as wav:
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    steady = stereo[len(stereo) // 2 :]
    assert abs(dominant(steady[:, 0]) - CLIENT_VOICE) < 15
    assert abs(dominant(steady[:, 1]) - OPERATOR_VOICE) < 15
    assert client_leg.stats.sent >= 100  # (what SIPp hears is not observable; the loopback tests decode it)
