"""A bounded jitter buffer: packets in as they arrive, one frame out per 20 ms tick, in order.

It holds at most ``capacity`` packets. Playout starts once ``depth`` packets are buffered (or the
oldest waited ``depth`` ticks). Each :meth:`JitterBuffer.pop` gives the next sequence number's
payload; when it is missing but later packets are waiting, the gap is declared lost (None: the caller
plays silence or conceals) and playout moves on, so one lost packet never stalls the stream. Packets
older than the playout point are late and dropped; duplicates are dropped. Counters say what happened.
"""

from __future__ import annotations

from dataclasses import dataclass

from sip.media.rtp import RtpPacket, seq_delta


@dataclass
class JitterStats:
    received: int = 0
    played: int = 0
    lost: int = 0
    late: int = 0
    duplicate: int = 0
    overflow: int = 0


class JitterBuffer:
    """Reorders RTP packets of one stream (one SSRC; a new SSRC restarts the buffer)."""

    def __init__(self, *, depth: int = 3, capacity: int = 50) -> None:
        if not 1 <= depth <= capacity:
            raise ValueError("need 1 <= depth <= capacity")
        self.depth = depth
        self.capacity = capacity
        self.stats = JitterStats()
        self._packets: dict[int, RtpPacket] = {}
        self._next: int | None = None
        self._ssrc: int | None = None
        self._waited = 0

    def __len__(self) -> int:
        return len(self._packets)

    def push(self, packet: RtpPacket) -> None:
        self.stats.received += 1
        if packet.ssrc != self._ssrc:
            self._packets.clear()
            self._next = None
            self._ssrc = packet.ssrc
            self._waited = 0
        if self._next is not None and seq_delta(packet.sequence, self._next) < 0:
            self.stats.late += 1
            return
        if packet.sequence in self._packets:
            self.stats.duplicate += 1
            return
        if len(self._packets) >= self.capacity:
            oldest = min(self._packets, key=lambda s: seq_delta(s, self._start()))
            del self._packets[oldest]
            self.stats.overflow += 1
            if self._next is not None:
                self._next = (oldest + 1) & 0xFFFF
        self._packets[packet.sequence] = packet

    def pop(self) -> RtpPacket | None:
        """The packet to play this tick, or None (nothing yet, or a gap: see ``stats.lost``)."""
        if not self._packets:
            return None
        if self._next is None:
            self._waited += 1
            if len(self._packets) < self.depth and self._waited < self.depth:
                return None
            self._next = self._start()
        packet = self._packets.pop(self._next, None)
        self._next = (self._next + 1) & 0xFFFF
        if packet is None:
            self.stats.lost += 1
            return None
        self.stats.played += 1
        return packet

    def _start(self) -> int:
        """The lowest waiting sequence number (relative to any one of them, wrap-aware)."""
        anchor = next(iter(self._packets))
        return min(self._packets, key=lambda s: seq_delta(s, anchor))
