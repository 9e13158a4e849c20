"""RFC 4733 telephone events (DTMF over RTP): payload format, what a sender emits, what a receiver reports.

Payload (section 2.3): event (8 bits), E end bit, R reserved, volume (6 bits, -dBm0), duration (16
bits, in RTP timestamp units since the event's start). Every packet of one event carries the event's
start timestamp; the first has the marker bit; the end packet is sent three times (section 2.5.1.4).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from sip.media.rtp import RtpError

EVENTS = "0123456789*#ABCD"
PAYLOAD = struct.Struct("!BBH")


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    """One telephone-event payload."""

    event: int
    end: bool
    volume: int
    duration: int

    @property
    def digit(self) -> str | None:
        """The DTMF digit (0-9, *, #, A-D), or None for other events (flash, tones)."""
        return EVENTS[self.event] if self.event < len(EVENTS) else None

    def __bytes__(self) -> bytes:
        return PAYLOAD.pack(
            self.event, (0x80 if self.end else 0) | (self.volume & 0x3F), self.duration & 0xFFFF
        )


def parse_event(payload: bytes) -> TelephoneEvent:
    if len(payload) < PAYLOAD.size:
        raise RtpError(f"telephone-event payload of {len(payload)} bytes; expected 4")
    event, flags, duration = PAYLOAD.unpack_from(payload)
    return TelephoneEvent(event, bool(flags & 0x80), flags & 0x3F, duration)


def event_payloads(
    digit: str, *, duration_ms: int = 100, packet_ms: int = 20, volume: int = 10, rate: int = 8000
) -> list[tuple[bytes, bool]]:
    """(payload, marker) for every packet of one digit, all sent with the event's start timestamp."""
    if len(digit) != 1 or digit.upper() not in EVENTS:
        raise ValueError(f"not a DTMF digit: {digit!r}; use one of {EVENTS}")
    if duration_ms < packet_ms:
        raise ValueError(f"a digit lasts at least one packet ({packet_ms} ms)")
    event = EVENTS.index(digit.upper())
    step = rate * packet_ms // 1000
    total = rate * duration_ms // 1000
    out = [(bytes(TelephoneEvent(event, False, volume, d)), d == step) for d in range(step, total, step)]
    end = bytes(TelephoneEvent(event, True, volume, total))
    out += [(end, not out)] + [(end, False)] * 2
    return out


class EventReceiver:
    """Reports each digit once, at its first packet (retransmitted and end packets are ignored)."""

    def __init__(self) -> None:
        self._last_start: int | None = None

    def feed(self, timestamp: int, payload: bytes) -> str | None:
        """The digit when this packet starts a new event, else None."""
        event = parse_event(payload)
        if timestamp == self._last_start:
            return None
        self._last_start = timestamp
        return event.digit
