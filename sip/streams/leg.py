"""An RTP leg: one UDP socket on the event loop, one remote party, one codec.

Theory of operation
-------------------
Incoming datagrams are parsed (RTCP and malformed packets are counted and dropped), telephone
events go to the DTMF receiver, audio into a jitter buffer. Symmetric RTP (RFC 4961): once a packet
arrives from an address other than the one the SDP named, we send there, which is how phones behind
NAT are reached.

On every tick of the shared :class:`~sip.streams.clock.MediaClock` the leg first *pulls* one frame from
its jitter buffer (``heard``: the payload, or None for a gap) and hands it, decoded, to its listeners
(recorder, AMD tap); then it *pushes* one frame: whatever its ``source`` gives (a bridge partner's
frame, a player), else silence. Outgoing SSRC, sequence number and timestamp belong to the leg, so
whatever the source, the far end sees one continuous stream (re-bridging included).
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt

from sip.media import g711
from sip.media.dtmf import EventReceiver, event_payloads
from sip.media.jitter import JitterBuffer
from sip.media.rtp import RtpError, RtpPacket, is_rtcp, parse, serialize
from sip.streams.clock import MediaClock

log = logging.getLogger(__name__)
FRAME = 160  # samples per 20 ms at 8 kHz
Pcm = npt.NDArray[np.int16]


@dataclass(frozen=True)
class Codec:
    """A G.711 codec as negotiated: payload type and name (PCMU or PCMA)."""

    payload_type: int
    name: str

    def __post_init__(self) -> None:
        if self.name not in ("PCMU", "PCMA"):
            raise ValueError(f"unsupported codec {self.name}; PCMU and PCMA are")

    @property
    def silence(self) -> bytes:
        return (b"\xff" if self.name == "PCMU" else b"\xd5") * FRAME

    def decode(self, payload: bytes) -> Pcm:
        return g711.ulaw_decode(payload) if self.name == "PCMU" else g711.alaw_decode(payload)

    def encode(self, pcm: Pcm) -> bytes:
        codes = g711.ulaw_encode(pcm) if self.name == "PCMU" else g711.alaw_encode(pcm)
        return codes.tobytes()

    def convert(self, payload: bytes, to: Codec) -> bytes:
        """The payload in ``to``'s encoding (a 256-entry table when they differ)."""
        if self.name == to.name:
            return payload
        return g711.transcode(payload, g711.ULAW_TO_ALAW if self.name == "PCMU" else g711.ALAW_TO_ULAW)


PCMU = Codec(0, "PCMU")
PCMA = Codec(8, "PCMA")


@dataclass
class LegStats:
    sent: int = 0
    received: int = 0
    rtcp: int = 0
    malformed: int = 0
    other_payload: int = 0


Source = Callable[[], bytes | None]
Listener = Callable[[Pcm | None], None]


def _shuffled_even(low: int, high: int) -> list[int]:
    """The even ports of [low, high] (RTP takes even ports, RTCP the odd one above), from a random
    start, so that consecutive legs do not all probe the same taken ports first."""
    ports = list(range(low + low % 2, high + 1, 2))
    start = secrets.randbelow(len(ports)) if ports else 0
    return ports[start:] + ports[:start]


class RtpLeg(asyncio.DatagramProtocol):
    """One party's media. Create with :meth:`open`; :meth:`close` releases the socket."""

    def __init__(self, clock: MediaClock, codec: Codec = PCMU, *, event_pt: int | None = 101) -> None:
        self.clock = clock
        self.codec = codec
        self.event_pt = event_pt
        self.stats = LegStats()
        self.jitter = JitterBuffer()
        self.source: Source | None = None
        self.heard: bytes | None = None
        self.on_dtmf: Callable[[str], None] | None = None
        self.remote: tuple[str, int] | None = None
        self._listeners: list[Listener] = []
        self._dtmf = EventReceiver()
        self._transport: asyncio.DatagramTransport | None = None
        self._ssrc = random.getrandbits(32)
        self._seq = random.getrandbits(16)
        self._ts = random.getrandbits(32)
        self._marker = True
        self._pending_events: list[tuple[bytes, bool]] = []
        self._event_ts = 0
        self.closed = asyncio.get_running_loop().create_future()
        self.last_received: float | None = None
        """When the last RTP packet arrived (time.monotonic); a nailed-up leg that falls silent is dead."""

    @classmethod
    async def open(
        cls,
        clock: MediaClock,
        codec: Codec = PCMU,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        event_pt: int | None = 101,
        ports: tuple[int, int] | None = None,
    ) -> RtpLeg:
        """A leg on ``host``: on ``port`` (0: any), or on a free even port of the range ``ports``
        (what a firewall or NAT forwards for media); OSError when the range is exhausted."""
        loop = asyncio.get_running_loop()
        candidates = [port] if ports is None else _shuffled_even(*ports)
        failure: OSError | None = None
        for candidate in candidates:
            try:
                _, leg = await loop.create_datagram_endpoint(
                    lambda: cls(clock, codec, event_pt=event_pt), local_addr=(host, candidate)
                )
            except OSError as exc:
                failure = exc
                continue
            clock.add(leg)
            return leg
        raise OSError(f"no free RTP port in {ports}: {failure}")

    @property
    def local_port(self) -> int:
        assert self._transport is not None
        return int(self._transport.get_extra_info("sockname")[1])

    def connect(self, host: str, port: int) -> None:
        """Where to send until the far end's own packets show where it really is."""
        self.remote = (host, port)

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def send_dtmf(self, digits: str, *, duration_ms: int = 100) -> None:
        """Queue RFC 4733 events; they replace audio frames on the next ticks."""
        if self.event_pt is None:
            raise ValueError("the far end did not accept telephone-event")
        for digit in digits:
            self._pending_events += event_payloads(digit, duration_ms=duration_ms)

    def frame_for(self, codec: Codec) -> bytes | None:
        """What this leg heard this tick, in ``codec`` (for a bridge partner)."""
        return None if self.heard is None else self.codec.convert(self.heard, codec)

    def close(self) -> None:
        self.clock.remove(self)
        if self._transport is not None:
            self._transport.close()

    # asyncio.DatagramProtocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.clock.remove(self)
        if not self.closed.done():
            self.closed.set_result(None)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if is_rtcp(data):
            self.stats.rtcp += 1
            return
        try:
            packet = parse(data)
        except RtpError:
            self.stats.malformed += 1
            return
        self.stats.received += 1
        self.last_received = time.monotonic()
        if addr != self.remote:
            self.remote = addr  # symmetric RTP: answer where the media comes from
        if packet.payload_type == self.codec.payload_type:
            self.jitter.push(packet)
        elif self.event_pt is not None and packet.payload_type == self.event_pt:
            try:
                digit = self._dtmf.feed(packet.timestamp, packet.payload)
            except RtpError:
                self.stats.malformed += 1
                return
            if digit and self.on_dtmf is not None:
                self.on_dtmf(digit)
        else:
            self.stats.other_payload += 1

    # MediaClock members

    def pull(self) -> None:
        packet = self.jitter.pop()
        self.heard = None if packet is None else packet.payload
        if self._listeners:
            pcm = None if self.heard is None else self.codec.decode(self.heard)
            for listener in list(self._listeners):
                listener(pcm)

    def push(self) -> None:
        if self._transport is None or self.remote is None:
            return
        if self._pending_events:
            payload, first = self._pending_events.pop(0)
            if first:
                self._event_ts = self._ts
            packet = RtpPacket(self.event_pt or 101, self._seq, self._event_ts, self._ssrc, payload, first)
        else:
            payload_or_none = self.source() if self.source is not None else None
            packet = RtpPacket(
                self.codec.payload_type,
                self._seq,
                self._ts,
                self._ssrc,
                payload_or_none or self.codec.silence,
                self._marker,
            )
            self._marker = False
        self._transport.sendto(serialize(packet), self.remote)
        self.stats.sent += 1
        self._seq = (self._seq + 1) & 0xFFFF
        self._ts = (self._ts + FRAME) & 0xFFFFFFFF
