"""Tying a media leg to a call's SDP: our offer names the leg's port, the answer sets its codec,
telephone-event payload type and remote address."""

from __future__ import annotations

import socket

from sip.media.clock import MediaClock
from sip.media.leg import Codec, RtpLeg
from sip.sdp import MediaParameters, SessionDescription, make_offer, negotiate


async def offer_leg(clock: MediaClock, address: str, *, session_id: int) -> tuple[RtpLeg, bytes]:
    """A new leg listening on ``address`` and the SDP offer that names it."""
    leg = await RtpLeg.open(clock, host=address)
    return leg, bytes(make_offer(address, leg.local_port, session_id=session_id))


def apply_answer(leg: RtpLeg, sdp: bytes) -> MediaParameters:
    """Configure ``leg`` from the far end's SDP answer; :class:`~sip.sdp.SdpError` when unusable."""
    params = negotiate(SessionDescription.parse(sdp))
    leg.codec = Codec(params.payload_type, params.codec)
    leg.event_pt = params.telephone_event
    leg.connect(params.address, params.port)
    return params


def media_address(remote: tuple[str, int]) -> str:
    """Our IP address on the route to ``remote`` (what to put in SDP)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(remote)
        return str(probe.getsockname()[0])
