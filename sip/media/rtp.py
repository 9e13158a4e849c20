"""RTP packets (RFC 3550 section 5.1): parse and serialise, and telling RTCP apart (RFC 5761 4).

Only what a telephony media path needs: version 2, CSRC list, header extension (skipped, kept
opaque), padding. Sequence numbers and timestamps wrap; :func:`seq_delta` compares them modulo
2**16.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from sip.errors import SipError

HEADER = struct.Struct("!BBHII")
RTP_VERSION = 2


class RtpError(SipError):
    """A datagram is not a valid RTP packet (the remote's fault); it is dropped."""


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP packet. ``payload`` excludes padding; ``extension`` is (profile, data) or None."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False
    csrc: tuple[int, ...] = ()
    extension: tuple[int, bytes] | None = None

    def __bytes__(self) -> bytes:
        return serialize(self)


def is_rtcp(datagram: bytes) -> bool:
    """RTCP multiplexed on the RTP port: packet types 192-223 in the second octet (RFC 5761 4)."""
    return len(datagram) >= 2 and 192 <= datagram[1] <= 223


def parse(datagram: bytes) -> RtpPacket:
    """Parse one RTP packet; :class:`RtpError` says what is wrong."""
    if len(datagram) < HEADER.size:
        raise RtpError(f"{len(datagram)} bytes is shorter than the 12-byte RTP header")
    first, second, sequence, timestamp, ssrc = HEADER.unpack_from(datagram)
    if first >> 6 != RTP_VERSION:
        raise RtpError(f"RTP version {first >> 6}, expected 2")
    offset = HEADER.size + 4 * (first & 0x0F)
    if len(datagram) < offset:
        raise RtpError("CSRC list runs past the end of the packet")
    csrc = struct.unpack_from(f"!{first & 0x0F}I", datagram, HEADER.size)
    extension = None
    if first & 0x10:
        if len(datagram) < offset + 4:
            raise RtpError("header extension runs past the end of the packet")
        profile, words = struct.unpack_from("!HH", datagram, offset)
        end = offset + 4 + 4 * words
        if len(datagram) < end:
            raise RtpError("header extension runs past the end of the packet")
        extension = (profile, bytes(datagram[offset + 4 : end]))
        offset = end
    end = len(datagram)
    if first & 0x20:
        padding = datagram[-1]
        if padding == 0 or offset + padding > end:
            raise RtpError(f"padding of {padding} bytes does not fit the packet")
        end -= padding
    return RtpPacket(
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload=bytes(datagram[offset:end]),
        marker=bool(second & 0x80),
        csrc=tuple(csrc),
        extension=extension,
    )


def serialize(packet: RtpPacket) -> bytes:
    """The packet's bytes (no padding)."""
    if not 0 <= packet.payload_type <= 127:
        raise ValueError(f"payload type {packet.payload_type} is outside 0-127")
    if len(packet.csrc) > 15:
        raise ValueError("at most 15 CSRCs")
    first = (RTP_VERSION << 6) | len(packet.csrc) | (0x10 if packet.extension else 0)
    second = packet.payload_type | (0x80 if packet.marker else 0)
    parts = [
        HEADER.pack(first, second, packet.sequence & 0xFFFF, packet.timestamp & 0xFFFFFFFF, packet.ssrc),
        struct.pack(f"!{len(packet.csrc)}I", *packet.csrc),
    ]
    if packet.extension:
        profile, data = packet.extension
        if len(data) % 4:
            raise ValueError("header extension data must be a whole number of 32-bit words")
        parts.append(struct.pack("!HH", profile, len(data) // 4) + data)
    parts.append(packet.payload)
    return b"".join(parts)


def seq_delta(a: int, b: int) -> int:
    """``a - b`` for 16-bit sequence numbers, in -32768..32767 (wrap-around aware)."""
    return (a - b + 0x8000) % 0x10000 - 0x8000
