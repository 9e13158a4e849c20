"""Media against SIPp as the far end: SIPp answers and streams a known audio file; we decode it."""

from __future__ import annotations

import asyncio
import socket
import wave
from pathlib import Path

import numpy as np
import pytest

from sip.media import g711
from sip.stack import SipStack
from sip.streams.clock import MediaClock
from sip.streams.player import Player
from sip.streams.session import apply_answer, offer_leg
from sip.streams.tap import Tap
from sip.useragent import CallState, UserAgent
from tests.integration.servers import free_port
from tests.integration.sip_peers import sipp_uas
from tests.integration.test_media_loopback import dominant, tone


def write_ulaw_wav(path: Path, pcm: np.ndarray) -> None:
    """A WAV of mu-law samples (SIPp skips the header and sends the bytes as PCMU payload)."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(8000)
        wav.writeframes(g711.ulaw_encode(pcm).tobytes())


async def test_audio_streamed_by_sipp_is_received_and_decoded(stack: SipStack, tmp_path: Path) -> None:
    write_ulaw_wav(tmp_path / "tone.wav", tone(1250, 2.0))
    clock = MediaClock()
    with sipp_uas("answer_stream_audio.xml", tmp_path) as sipp:
        leg, offer = await offer_leg(clock, "127.0.0.1", session_id=7)
        agent = UserAgent(stack, ("127.0.0.1", sipp.port), domain="127.0.0.1")
        call = await agent.originate("79123456789", caller_id="dialer", sdp=offer)
        assert await asyncio.wait_for(call.wait(), 10) is CallState.ANSWERED
        params = apply_answer(leg, call.remote_sdp)
        assert (params.codec, params.telephone_event) == ("PCMU", 101)
        heard = await asyncio.wait_for(Tap(leg, 1.0).audio, 5)
        call.hangup()
        await asyncio.wait_for(call.wait_ended(), 10)
        leg.close()
        assert await asyncio.to_thread(sipp.wait) == 0, sipp.errors()
    assert abs(dominant(heard) - 1250) < 10
    assert np.sqrt(np.mean(heard.astype(float) ** 2)) > 3000  # the tone, not silence
    assert leg.stats.malformed == 0 and leg.stats.received >= 45


async def test_a_message_played_to_sipp_comes_back_intact(stack: SipStack, tmp_path: Path) -> None:
    """SIPp echoes our RTP: what returns is what we played, in duration and content."""
    message = np.concatenate([tone(600, 0.5), tone(900, 0.7), tone(1200, 0.3)])
    clock = MediaClock()
    with sipp_uas(
        "answer_echo_audio.xml", tmp_path, extra=["-rtp_echo", "-mp", str(free_port(socket.SOCK_DGRAM))]
    ) as sipp:
        leg, offer = await offer_leg(clock, "127.0.0.1", session_id=8)
        agent = UserAgent(stack, ("127.0.0.1", sipp.port), domain="127.0.0.1")
        call = await agent.originate("79123456789", caller_id="dialer", sdp=offer)
        assert await asyncio.wait_for(call.wait(), 10) is CallState.ANSWERED
        apply_answer(leg, call.remote_sdp)
        back = Tap(leg, 2.5)
        player = Player(leg, message)
        await asyncio.wait_for(player.done, 5)
        heard = await asyncio.wait_for(back.audio, 5)
        call.hangup()
        await asyncio.wait_for(call.wait_ended(), 10)
        leg.close()
        assert await asyncio.to_thread(sipp.wait) == 0, sipp.errors()
    frames = heard[: len(heard) // 80 * 80].astype(np.float64).reshape(-1, 80)
    loud = np.sqrt((frames**2).mean(axis=1)) > 2000
    assert loud.sum() * 0.010 == pytest.approx(1.5, abs=0.03)
    start = int(np.argmax(loud)) * 80
    parts = [
        heard[start + int(a * 8000) : start + int(b * 8000)]
        for a, b in ((0.1, 0.4), (0.6, 1.1), (1.25, 1.45))
    ]
    assert [round(dominant(p), -1) for p in parts] == [600, 900, 1200]
