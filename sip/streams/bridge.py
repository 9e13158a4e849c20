"""Bridging two answered legs so each hears the other.

Each leg sends, every tick, the frame its partner received in the same tick: relayed as is when both
use the same codec, through a 256-entry table when one is PCMU and the other PCMA. Sequence numbers,
timestamps and SSRC stay the sending leg's own, so unbridging an operator's leg and bridging it to
the next client is seamless for the operator's phone (silence in between).
"""

from __future__ import annotations

from sip.streams.leg import RtpLeg


class Bridge:
    """A two-way audio path between ``a`` and ``b``; :meth:`close` leaves both legs up, silent."""

    def __init__(self, a: RtpLeg, b: RtpLeg) -> None:
        if a is b:
            raise ValueError("a leg cannot be bridged to itself")
        self.a = a
        self.b = b
        self.open = True
        self.hearing(a_hears_b=True, b_hears_a=True)

    def hearing(self, *, a_hears_b: bool, b_hears_a: bool) -> None:
        """Who hears whom (hold: neither; mute of ``b``: ``a`` does not hear it); the other way,
        silence is sent."""
        if not self.open:
            return
        a, b = self.a, self.b
        a.source = (lambda: b.frame_for(a.codec)) if a_hears_b else None
        b.source = (lambda: a.frame_for(b.codec)) if b_hears_a else None

    def close(self) -> None:
        if self.open:
            self.a.source = None
            self.b.source = None
            self.open = False
