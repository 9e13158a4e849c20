"""The browser as an operator's phone: a WebRTC audio session (aiortc) that is the operator's
nailed-up leg, exactly like a SIP softphone's.

Theory of operation
-------------------
The workplace page offers a peer connection (audio only) over the operator's signed-in session; the
server answers with aiortc (G.711 preferred, Opus if the browser has nothing else; DTLS-SRTP; ICE
with the configured STUN/TURN servers) and
wraps the connection in a :class:`WebRtcLeg`: an :class:`~sip.streams.leg.RtpLeg` whose audio travels
inside the peer connection instead of a UDP socket of its own. On every tick of the shared media
clock it hands over, like any leg, the 20 ms the operator said (decoded by aiortc, resampled to
8 kHz and cut in frames; ``heard``) and takes what its source gives (the bridged client, a player)
for the browser (an outgoing track whose ``recv`` waits for the clock's next frame). So bridges,
recordings and taps cannot tell a browser from a softphone.

While nobody is bridged, the leg can echo the operator's voice back half a second later (``echo``):
the page's "can you hear me" test. The session ends when the page closes it, when ICE fails (a
network change: the page opens a new session, the operator is paused meanwhile) or when no audio
came for the phones' silence limit.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque
from dataclasses import dataclass

import av
import numpy as np
import structlog
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)

from sip.streams.clock import MediaClock
from sip.streams.leg import FRAME, PCMU, Pcm, RtpLeg

log = structlog.get_logger(__name__)
RATE = 8000
QUEUED = 6  # frames waiting for the browser's track at most (120 ms): older ones are dropped
HEARD_KEPT = 10  # frames heard from the browser kept for the clock (200 ms)
ECHO_DELAY = 25  # frames (0.5 s) the echo test waits before playing the operator's voice back


@dataclass(frozen=True)
class IceServer:
    urls: str
    username: str | None = None
    credential: str | None = None


class ClockTrack(MediaStreamTrack):
    """The audio the browser hears: one 20 ms frame each time the media clock pushes."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.frames: asyncio.Queue[Pcm] = asyncio.Queue()
        self._pts = 0

    def put(self, pcm: Pcm) -> None:
        while self.frames.qsize() >= QUEUED:
            self.frames.get_nowait()  # the browser fell behind: keep the latency bounded
        self.frames.put_nowait(pcm)

    async def recv(self) -> av.AudioFrame:
        pcm = await self.frames.get()
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, RATE)
        self._pts += len(pcm)
        return frame


class WebRtcLeg(RtpLeg):
    """An operator's browser on the media clock (see the module's docstring)."""

    def __init__(self, clock: MediaClock, pc: RTCPeerConnection) -> None:
        super().__init__(clock, PCMU, event_pt=None)
        self.pc = pc
        self.track = ClockTrack()
        self.echo = False
        self._heard: deque[Pcm] = deque(maxlen=HEARD_KEPT)
        self._echoes: deque[Pcm] = deque(maxlen=ECHO_DELAY)
        self._pending = np.zeros(0, dtype=np.int16)
        self._reading: asyncio.Task[None] | None = None
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)

    def listen_to(self, track: MediaStreamTrack) -> None:
        """Read the browser's microphone track until it ends."""
        self._reading = asyncio.get_running_loop().create_task(self._read(track), name="browser-phone-audio")

    async def _read(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                if not isinstance(frame, av.AudioFrame):
                    continue
                for part in self._resampler.resample(frame):
                    samples = part.to_ndarray().reshape(-1).astype(np.int16)
                    self._pending = np.concatenate([self._pending, samples])
                while len(self._pending) >= FRAME:
                    self._heard.append(self._pending[:FRAME].copy())
                    self._pending = self._pending[FRAME:]
                    self.last_received = time.monotonic()
                    self.stats.received += 1
        except Exception as exc:  # MediaStreamError when the track ends: the session is over
            log.info("browser phone audio ended", reason=type(exc).__name__)

    # MediaClock members

    def pull(self) -> None:
        pcm = self._heard.popleft() if self._heard else None
        self.heard = None if pcm is None else self.codec.encode(pcm)
        if self.echo and pcm is not None:
            self._echoes.append(pcm)
        if self._listeners:
            for listener in list(self._listeners):
                listener(pcm)

    def push(self) -> None:
        payload = self.source() if self.source is not None else None
        if payload is not None:
            pcm = self.codec.decode(payload)
        elif self.echo and len(self._echoes) == ECHO_DELAY:
            pcm = self._echoes.popleft()
        else:
            pcm = np.zeros(FRAME, dtype=np.int16)
        self.track.put(pcm)
        self.stats.sent += 1

    def close(self) -> None:
        self.clock.remove(self)
        if self._reading is not None:
            self._reading.cancel()
        if not self.closed.done():
            self.closed.set_result(None)
        asyncio.get_running_loop().create_task(self.pc.close(), name="browser-phone-close")


async def answer(clock: MediaClock, offer_sdp: str, ice_servers: list[IceServer]) -> tuple[WebRtcLeg, str]:
    """Answer the page's offer: a leg on ``clock`` and the answer's SDP (ICE candidates gathered, so
    the page needs no trickle). ValueError for an offer that is not one (the page says why)."""
    servers = [RTCIceServer(urls=s.urls, username=s.username, credential=s.credential) for s in ice_servers]
    config = RTCConfiguration(iceServers=servers)
    pc = RTCPeerConnection(configuration=config)
    leg = WebRtcLeg(clock, pc)
    failed = leg.closed

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            leg.listen_to(track)

    @pc.on("connectionstatechange")
    async def on_state() -> None:
        if pc.connectionState in ("failed", "closed") and not failed.done():
            log.info("browser phone connection ended", state=pc.connectionState)
            leg.close()

    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        audio = [t for t in pc.getTransceivers() if t.kind == "audio"]
        if not audio:
            raise ValueError("the offer has no audio")
        # G.711 first: the clients come from the telephone network at 8 kHz anyway, and Opus would
        # cost the dialer several times the CPU per operator
        codecs = RTCRtpSender.getCapabilities("audio").codecs
        ordered = [c for c in codecs if c.mimeType in ("audio/PCMU", "audio/PCMA")]
        audio[0].setCodecPreferences(ordered + [c for c in codecs if c not in ordered])
        pc.addTrack(leg.track)
        await pc.setLocalDescription(await pc.createAnswer())
    except Exception as exc:
        await pc.close()
        raise ValueError(f"the browser's offer could not be answered: {exc}") from None
    clock.add(leg)
    return leg, pc.localDescription.sdp
