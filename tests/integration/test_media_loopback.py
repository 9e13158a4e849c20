"""Media legs on loopback UDP: bridging with transcoding, recording, playback, nailed-up re-bridging.

The far ends here are RtpLegs too (a client's phone and an operator's phone); tests against SIPp and
baresip as real peers live beside the signalling tests.
"""

from __future__ import annotations

import asyncio
import os
import wave
from pathlib import Path

import numpy as np
import pytest

from sip.streams.bridge import Bridge
from sip.streams.clock import MediaClock
from sip.streams.leg import PCMA, PCMU, RtpLeg
from sip.streams.player import Player, load_wav
from sip.streams.recorder import Recorder
from sip.streams.tap import Tap

RATE = 8000


def tone(freq: float, seconds: float, amplitude: float = 8000) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def dominant(pcm: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    return float(np.fft.rfftfreq(len(pcm), 1 / RATE)[np.argmax(spectrum)])


async def pair(clock: MediaClock, ours_codec=PCMU, theirs_codec=PCMU) -> tuple[RtpLeg, RtpLeg]:
    """Our leg and the far end's, pointed at each other."""
    ours = await RtpLeg.open(clock, ours_codec)
    theirs = await RtpLeg.open(clock, theirs_codec)
    ours.connect("127.0.0.1", theirs.local_port)
    theirs.connect("127.0.0.1", ours.local_port)
    return ours, theirs


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_bridged_parties_hear_each_other_across_codecs_and_the_recording_has_both(
    tmp_path: Path,
) -> None:
    clock = MediaClock()
    client, client_phone = await pair(clock, PCMU, PCMU)
    operator, operator_phone = await pair(clock, PCMA, PCMA)
    client_phone.source = Player(client_phone, tone(440, 5))._next  # the client says something at 440 Hz
    Player(operator_phone, tone(1000, 5))  # the operator at 1000 Hz
    bridge = Bridge(client, operator)
    recorder = Recorder(tmp_path / "call.wav", client, operator)
    await asyncio.sleep(0.3)  # past the jitter buffers' fill
    operator_hears = Tap(operator_phone, 1.0)
    client_hears = Tap(client_phone, 1.0)
    heard_by_operator, heard_by_client = await asyncio.wait_for(
        asyncio.gather(operator_hears.audio, client_hears.audio), 5
    )
    await recorder.close()
    bridge.close()
    for leg in (client, client_phone, operator, operator_phone):
        leg.close()

    assert abs(dominant(heard_by_operator) - 440) < 10
    assert abs(dominant(heard_by_client) - 1000) < 10
    assert np.abs(heard_by_operator).max() > 4000  # loud, not silence
    with wave.open(str(tmp_path / "call.wav")) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (2, 8000, 2)
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    assert len(stereo) >= 1.0 * RATE
    steady = stereo[len(stereo) // 2 :]
    assert abs(dominant(steady[:, 0]) - 440) < 10  # left: the client
    assert abs(dominant(steady[:, 1]) - 1000) < 10  # right: the operator
    assert operator.stats.malformed == client.stats.malformed == 0


async def test_mute_and_hold_silence_the_right_directions() -> None:
    """Mute: the client no longer hears the operator, the operator still hears the client. Hold: the
    client hears silence (never the operator), and so does the operator; resumed, both hear again."""
    clock = MediaClock()
    client, client_phone = await pair(clock)
    operator, operator_phone = await pair(clock)
    client_phone.source = Player(client_phone, tone(440, 20))._next
    operator_phone.source = Player(operator_phone, tone(1000, 20))._next
    bridge = Bridge(client, operator)

    async def loudness() -> tuple[float, float]:
        """How loud each side hears the other over the next half second."""
        await asyncio.sleep(0.2)  # the jitter buffers drain what was on its way
        by_client, by_operator = Tap(client_phone, 0.5), Tap(operator_phone, 0.5)
        heard = await asyncio.wait_for(asyncio.gather(by_client.audio, by_operator.audio), 5)
        return tuple(float(np.abs(pcm).max()) for pcm in heard)  # type: ignore[return-value]

    await asyncio.sleep(0.3)
    assert min(await loudness()) > 4000  # both hear each other
    bridge.hearing(a_hears_b=False, b_hears_a=True)  # the operator muted
    client_hears, operator_hears = await loudness()
    assert client_hears < 100 and operator_hears > 4000
    bridge.hearing(a_hears_b=False, b_hears_a=False)  # on hold
    assert max(await loudness()) < 100
    bridge.hearing(a_hears_b=True, b_hears_a=True)  # resumed
    assert min(await loudness()) > 4000
    bridge.close()
    for leg in (client, client_phone, operator, operator_phone):
        leg.close()


async def test_a_played_message_arrives_intact(tmp_path: Path) -> None:
    message = np.concatenate([tone(600, 0.5), tone(900, 0.7), tone(1200, 0.3)])
    path = tmp_path / "safe_harbor.wav"
    with wave.open(str(path), "wb") as wav:  # 16 kHz file: converted once to 8 kHz
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(np.repeat(message, 2).astype("<i2").tobytes())
    clock = MediaClock()
    ours, phone = await pair(clock)
    heard = Tap(phone, 2.0)
    player = Player(ours, load_wav(path))
    await asyncio.wait_for(player.done, 5)
    received = await asyncio.wait_for(heard.audio, 5)
    ours.close()
    phone.close()

    assert player.duration == pytest.approx(1.5, abs=0.02)
    usable = received[: len(received) // 80 * 80].astype(np.float64).reshape(-1, 80)
    loud = np.sqrt((usable**2).mean(axis=1)) > 2000  # 10 ms frames carrying the message
    assert loud.sum() * 0.010 == pytest.approx(1.5, abs=0.03)  # all of it, nothing doubled or cut
    start = int(np.argmax(loud)) * 80
    parts = [
        received[start + int(a * RATE) : start + int(b * RATE)]
        for a, b in ((0.1, 0.4), (0.6, 1.1), (1.25, 1.45))
    ]
    assert [round(dominant(p), -1) for p in parts] == [600, 900, 1200]


async def test_nailed_up_operator_leg_is_bridged_to_20_clients_without_gaps_or_leaks() -> None:
    clock = MediaClock()
    operator, operator_phone = await pair(clock, PCMU, PCMU)
    arrivals: list[float] = []
    loop = asyncio.get_running_loop()
    original = operator_phone.datagram_received

    def timed(data: bytes, addr: tuple[str, int]) -> None:
        arrivals.append(loop.time())
        original(data, addr)

    operator_phone.datagram_received = timed  # type: ignore[method-assign]
    before = open_fds()
    heard_frequencies = []
    for n in range(20):
        client, client_phone = await pair(clock)
        Player(client_phone, tone(300 + 50 * n, 1.0))
        bridge = Bridge(client, operator)
        await asyncio.sleep(0.15)
        listening = Tap(operator_phone, 0.2)
        heard_frequencies.append(dominant(await asyncio.wait_for(listening.audio, 2)))
        bridge.close()
        client.close()
        client_phone.close()
    await asyncio.sleep(0.1)
    after = open_fds()
    operator.close()
    operator_phone.close()

    assert [round(f / 50) * 50 for f in heard_frequencies] == [300 + 50 * n for n in range(20)]
    gaps = np.diff(arrivals)
    assert gaps.max() < 0.100, f"largest gap {gaps.max() * 1000:.0f} ms"
    assert operator_phone.jitter.stats.lost == 0
    assert after == before, "sockets leaked"


async def test_dtmf_digits_cross_as_rfc4733_events() -> None:
    clock = MediaClock()
    ours, phone = await pair(clock)
    pressed: list[str] = []
    phone.on_dtmf = pressed.append
    ours.send_dtmf("12#9", duration_ms=80)
    for _ in range(100):
        if len(pressed) == 4:
            break
        await asyncio.sleep(0.02)
    ours.close()
    phone.close()
    assert pressed == ["1", "2", "#", "9"]
    assert phone.stats.other_payload == 0 and phone.stats.malformed == 0
