"""Tying a media leg to a call's SDP: our offer names the leg's port, the answer sets its codec,
telephone-event payload type and remote address."""

from __future__ import annotations

import time
from collections.abc import Callable

from sip.sdp import MediaParameters, SdpError, SessionDescription, make_offer, negotiate
from sip.stack import Address, route_address
from sip.streams.clock import MediaClock
from sip.streams.leg import Codec, RtpLeg
from sip.useragent import Call, CallProgress, CallState, UserAgent


async def offer_leg(
    clock: MediaClock,
    address: str,
    *,
    session_id: int,
    advertise: str | None = None,
    ports: tuple[int, int] | None = None,
) -> tuple[RtpLeg, bytes]:
    """A new leg listening on ``address`` (in the port range ``ports``, when given) and the SDP offer
    that names it, at ``advertise`` instead when the far end reaches us there (NAT)."""
    leg = await RtpLeg.open(clock, host=address, ports=ports)
    return leg, bytes(make_offer(advertise or address, leg.local_port, session_id=session_id))


def apply_answer(leg: RtpLeg, sdp: bytes) -> MediaParameters:
    """Configure ``leg`` from the far end's SDP answer; :class:`~sip.sdp.SdpError` when unusable."""
    params = negotiate(SessionDescription.parse(sdp))
    leg.codec = Codec(params.payload_type, params.codec)
    leg.event_pt = params.telephone_event
    leg.connect(params.address, params.port)
    return params


def media_address(remote: tuple[str, int]) -> str:
    """Our IP address on the route to ``remote`` (what to put in SDP)."""
    return route_address(remote)


async def agent_offer(
    agent: UserAgent, clock: MediaClock, destination: Address, *, session_id: int
) -> tuple[RtpLeg, bytes]:
    """A leg for a call of ``agent`` to ``destination`` and its offer: bound on the interface that
    routes there (in the agent's media port range), naming the agent's advertised address when it
    has one (configured for NAT, or learned from the far end's ``received``)."""
    local = media_address(destination)
    advertised = agent.stack.advertised[0] if agent.stack.advertised is not None else None
    return await offer_leg(clock, local, session_id=session_id, advertise=advertised, ports=agent.media_ports)


async def call_with_media(
    agent: UserAgent,
    clock: MediaClock,
    number: str,
    *,
    caller_id: str,
    ring_timeout: float | None,
    uri: str | None = None,
    address: Address | None = None,
    listener: Callable[[CallProgress], None] | None = None,
) -> tuple[Call, RtpLeg | None]:
    """Place a call whose SDP offer names a new leg and wait for its outcome.

    Answered: ``(call, leg)`` with the leg set from the answer. Not answered: ``(call, None)``, the
    leg closed. An answer whose SDP cannot be used hangs the call up, closes the leg and raises
    :class:`~sip.sdp.SdpError`.
    """
    leg, offer = await agent_offer(agent, clock, address or agent.trunk, session_id=int(time.time()))
    call = await agent.originate(
        number, caller_id=caller_id, sdp=offer, ring_timeout=ring_timeout, uri=uri, address=address,
        listener=listener,
    )  # fmt: skip
    if await call.wait() is not CallState.ANSWERED:
        leg.close()
        return call, None
    try:
        apply_answer(leg, call.remote_sdp)
    except SdpError:
        call.hangup()
        leg.close()
        raise
    return call, leg
