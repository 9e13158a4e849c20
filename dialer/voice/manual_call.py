"""A call placed by hand (``dialer call``): the client over a trunk, optionally bridged to an
operator's phone at a SIP URI, with a message played and both sides recorded.

Order, as the dialer does it: the operator's phone first (so nobody answers into silence), then the
client; when the client answers, the optional message plays to the client, then the two are
bridged. Either side hanging up ends the call; so does ``hold`` seconds after the bridge.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dialer.errors import DialerError
from sip.errors import SipError
from sip.sdp import SdpError
from sip.streams.bridge import Bridge
from sip.streams.clock import MediaClock
from sip.streams.leg import RtpLeg
from sip.streams.player import AudioFileError, Player, load_wav
from sip.streams.recorder import Recorder
from sip.streams.session import call_with_media
from sip.uri import SipUri
from sip.useragent import Call, CallProgress, UserAgent


@dataclass
class Leg:
    call: Call
    media: RtpLeg


async def _answered(agent: UserAgent, clock: MediaClock, *, number: str, caller_id: str, ring_timeout: float,
                    show: Callable[[str, CallProgress], None], label: str, uri: str | None = None,
                    address: tuple[str, int] | None = None) -> Leg | None:  # fmt: skip
    try:
        call, media = await call_with_media(
            agent, clock, number, caller_id=caller_id, ring_timeout=ring_timeout, uri=uri, address=address,
            listener=lambda event: show(label, event),
        )  # fmt: skip
    except SdpError as exc:
        raise DialerError(f"{label}: the answer's SDP cannot be used: {exc}") from None
    if media is None:
        return None
    return Leg(call, media)


async def _operator(
    agent: UserAgent, clock: MediaClock, bridge_uri: str, *, caller_id: str, ring_timeout: float,
    show: Callable[[str, CallProgress], None],
) -> Leg:  # fmt: skip
    try:
        uri = SipUri.parse(bridge_uri)
    except SipError as exc:
        raise DialerError(f"--bridge {bridge_uri!r}: not a SIP URI ({exc})") from None
    address = (uri.host, uri.port or 5060)
    phones = UserAgent(agent.stack, address, domain=uri.host)
    operator = await _answered(
        phones, clock, number=uri.user or "operator", caller_id=caller_id, ring_timeout=ring_timeout,
        show=show, label="operator", uri=str(uri), address=address,
    )  # fmt: skip
    if operator is None:
        raise DialerError(f"the operator's phone at {bridge_uri} did not answer")
    return operator


async def _until_someone_hangs_up(legs: list[Leg], hold: float) -> None:
    ends = [asyncio.ensure_future(leg.call.wait_ended()) for leg in legs]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait(ends, timeout=hold, return_when=asyncio.FIRST_COMPLETED)
    for pending in ends:
        pending.cancel()


async def place(
    agent: UserAgent,
    number: str,
    *,
    caller_id: str,
    ring_timeout: float,
    hold: float,
    show: Callable[[str, CallProgress], None],
    bridge_uri: str | None = None,
    record: Path | None = None,
    play: Path | None = None,
) -> bool:
    """Run the call; True when the client answered."""
    if record is not None and bridge_uri is None:
        raise DialerError("--record needs --bridge: the recording holds the client and the operator")
    try:
        message = load_wav(play) if play is not None else None
    except AudioFileError as exc:
        raise DialerError(str(exc)) from None
    clock = MediaClock()
    operator = None
    if bridge_uri is not None:
        operator = await _operator(agent, clock, bridge_uri, caller_id=caller_id, ring_timeout=ring_timeout,
                                   show=show)  # fmt: skip
    client = await _answered(agent, clock, number=number, caller_id=caller_id, ring_timeout=ring_timeout,
                             show=show, label="client")  # fmt: skip
    legs = [leg for leg in (client, operator) if leg is not None]
    recorder = None
    try:
        if client is None:
            return False
        if record is not None and operator is not None:
            recorder = Recorder(record, client.media, operator.media)
        if message is not None:
            await asyncio.wait_for(Player(client.media, message).done, len(message) / 8000 + 5)
        bridge = Bridge(client.media, operator.media) if operator is not None else None
        await _until_someone_hangs_up(legs, hold)
        if bridge is not None:
            bridge.close()
        return True
    finally:
        if recorder is not None:
            await recorder.close()
        for leg in legs:
            leg.call.hangup()
        await asyncio.sleep(0.2)  # let the BYEs go out
        for leg in legs:
            leg.media.close()
