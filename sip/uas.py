"""An answering user agent (UAS): takes INVITEs, rings, answers or refuses, holds the call until a BYE.

The simulated carrier and the demo's virtual phones are built on it: whoever sets it up says, per
INVITE, what happens (:class:`Plan`: post-dial delay, ringing or early media, the final status, how long
to talk before hanging up) and what the answered call plays.

Theory of operation
-------------------
:meth:`Answerer.install` has the stack route INVITE, ACK, CANCEL and BYE here. An INVITE gets 100
Trying from its server transaction, then (after ``plan.delay``) 180 Ringing, or 183 with SDP and audio
when ``plan.early_media``; after ``plan.ring`` seconds the final status. A 200 carries an SDP answer
naming a new RTP leg and is retransmitted (T1 doubling up to T2) until the ACK comes (RFC 3261
sec. 13.3.1.4). A CANCEL before the final status is answered 200 and the INVITE 487 (sec. 9.2); one
after it, 200 and nothing else. A BYE from the caller is answered 200; with ``plan.talk`` we send our
own BYE after that long. Every call ends in :attr:`Answerer.finished` with its fate, so a test can
compare what the caller saw with what the far end decided.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sip.message import Request, Response
from sip.sdp import SdpError, SessionDescription, make_answer, negotiate
from sip.stack import Address, SipStack, new_tag, response_to, route_address
from sip.streams.clock import MediaClock
from sip.streams.leg import Codec, Pcm, RtpLeg
from sip.streams.player import Player
from sip.uri import NameAddr

log = logging.getLogger(__name__)
REASONS = {
    180: "Ringing", 183: "Session Progress", 200: "OK", 404: "Not Found", 480: "Temporarily Unavailable",
    486: "Busy Here", 487: "Request Terminated", 488: "Not Acceptable Here", 500: "Server Internal Error",
    503: "Service Unavailable", 603: "Decline",
}  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """What happens to one incoming call."""

    status: int  # the final status: 200 answers; 404, 480, 486, 503, ... refuse
    delay: float = 0.0  # seconds before the first 18x (post-dial delay)
    ring: float = 0.0  # seconds between the 18x and the final status
    early_media: bool = False  # 183 with SDP (and audio) instead of 180
    talk: float | None = None  # answered: seconds before we hang up (None: the caller hangs up)
    audio: Pcm | None = None  # answered: what the call plays (then silence)
    label: str = ""  # what the far end decided, in words (a test compares it with the caller's view)


@dataclass
class IncomingCall:
    invite: Request
    source: Address
    plan: Plan
    tag: str = field(default_factory=new_tag)
    leg: RtpLeg | None = None
    media_host: str = "127.0.0.1"  # where our leg listens (named in the SDP answer)
    final: int | None = None  # the final status sent
    acked: bool = False
    ended_by: str | None = None  # "caller" or "callee" for an answered call
    cancelled: bool = False
    task: asyncio.Task[None] | None = None
    bye_sent: asyncio.Future[Response | None] | None = None
    heard_packets: int = 0  # audio frames that arrived from the caller

    @property
    def call_id(self) -> str:
        return self.invite.call_id

    @property
    def outcome(self) -> str:
        """How the call ended from here: answered, cancelled, or the refusal status."""
        if self.final == 200:
            return "answered"
        if self.cancelled:
            return "cancelled"
        return str(self.final)


Decide = Callable[[Request], Plan]


class Answerer:
    def __init__(self, stack: SipStack, clock: MediaClock, decide: Decide, *, user: str = "uas") -> None:
        self.stack = stack
        self.clock = clock
        self.decide = decide
        self.user = user
        self.calls: dict[str, IncomingCall] = {}
        self.finished: dict[str, IncomingCall] = {}
        self.on_finished: Callable[[IncomingCall], None] | None = None

    def install(self) -> None:
        for method in ("INVITE", "ACK", "CANCEL", "BYE"):
            self.stack.route(method, self.handle)

    async def close(self) -> None:
        """Hang up every call (BYE or 480), wait a little for the BYEs' answers."""
        for call in list(self.calls.values()):
            if call.final is None:
                self._final(call, 480)
            elif call.final == 200 and call.ended_by is None:
                self._bye(call)
        pending = [
            c.bye_sent for c in self.finished.values() if c.bye_sent is not None and not c.bye_sent.done()
        ]
        if pending:
            await asyncio.wait(pending, timeout=2.0)
        for call in list(self.finished.values()):
            if call.task is not None and not call.task.done():
                call.task.cancel()

    # -- requests ---------------------------------------------------------------------------------

    def handle(self, request: Request, source: Address) -> None:
        call = self.calls.get(request.call_id)
        if request.method == "INVITE":
            if call is not None:  # a re-INVITE: keep the media as it is
                self.stack.respond(request, self._response(call, request, 200, sdp=True))
                return
            self._invite(request, source)
        elif request.method == "ACK":
            if call is not None and call.final == 200:
                call.acked = True
        elif request.method == "CANCEL":
            self.stack.respond(request, response_to(request, 200 if call else 481, "OK" if call else
                                                    "Call/Transaction Does Not Exist"))  # fmt: skip
            if call is not None and call.final is None:
                call.cancelled = True
                self._final(call, 487)
        elif request.method == "BYE":
            if call is None or call.final != 200:
                self.stack.respond(request, response_to(request, 481, "Call/Transaction Does Not Exist"))
                return
            self.stack.respond(request, response_to(request, 200, "OK"))
            call.ended_by = call.ended_by or "caller"
            self._finish(call)

    def _invite(self, invite: Request, source: Address) -> None:
        try:
            plan = self.decide(invite)
        except Exception:  # a broken profile must not leave the caller without an answer
            log.exception("deciding an incoming call failed; answering 500")
            self.stack.respond(invite, response_to(invite, 500, "Server Internal Error", to_tag=new_tag()))
            return
        call = IncomingCall(invite, source, plan)
        self.calls[call.call_id] = call
        call.task = asyncio.get_running_loop().create_task(self._run(call), name=f"uas-{call.call_id[:8]}")

    async def _run(self, call: IncomingCall) -> None:
        try:
            if await self._ring(call) and call.plan.status == 200:
                await self._answer(call)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("incoming call %s failed", call.call_id)
            if call.final is None:
                self._final(call, 500)

    async def _ring(self, call: IncomingCall) -> bool:
        """The post-dial delay, the 18x and the ringing; False when the call is already over."""
        plan = call.plan
        await asyncio.sleep(plan.delay)
        if call.final is not None:
            return False
        if plan.status != 200 and plan.ring <= 0:
            self._final(call, plan.status)
            return False
        if plan.early_media and await self._open_leg(call):
            if call.final is not None:
                return False
            self.stack.respond(call.invite, self._response(call, call.invite, 183, sdp=True))
            self._play(call)
        else:
            self.stack.respond(call.invite, self._response(call, call.invite, 180))
        await asyncio.sleep(plan.ring)
        if call.final is not None:
            return False
        if plan.status != 200:
            self._final(call, plan.status)
            return False
        return True

    async def _answer(self, call: IncomingCall) -> None:
        if call.leg is None and not await self._open_leg(call):
            self._final(call, 488)
            return
        if call.final is not None:  # cancelled while the leg was opening (the leg went with the call)
            return
        self._final(call, 200)
        if not call.plan.early_media:
            self._play(call)
        await self._retransmit_until_acked(call)
        if call.plan.talk is not None:
            await asyncio.sleep(call.plan.talk)
            if call.ended_by is None:
                self._bye(call)

    async def _open_leg(self, call: IncomingCall) -> bool:
        try:
            offer = negotiate(SessionDescription.parse(call.invite.body))
        except SdpError:
            return False
        call.media_host = route_address((offer.address, offer.port))
        leg = await RtpLeg.open(self.clock, Codec(offer.payload_type, offer.codec), host=call.media_host,
                                event_pt=offer.telephone_event)  # fmt: skip
        if call.call_id not in self.calls:  # it ended meanwhile (CANCEL)
            leg.close()
            return True
        call.leg = leg
        call.leg.connect(offer.address, offer.port)
        call.leg.add_listener(functools.partial(self._heard, call))
        return True

    @staticmethod
    def _heard(call: IncomingCall, pcm: Pcm | None) -> None:
        if pcm is not None:
            call.heard_packets += 1

    def _play(self, call: IncomingCall) -> None:
        if call.leg is not None and call.plan.audio is not None and len(call.plan.audio):
            Player(call.leg, call.plan.audio)

    async def _retransmit_until_acked(self, call: IncomingCall) -> None:
        """Send the 200 again at T1, 2*T1, ... (at most T2 apart) until the ACK, for 64*T1 at most."""
        timers = self.stack.timers
        interval, waited = timers.t1, 0.0
        ok = self._response(call, call.invite, 200, sdp=True)
        while not call.acked and call.ended_by is None and waited < 64 * timers.t1:
            await asyncio.sleep(interval)
            waited += interval
            if not call.acked and call.ended_by is None:
                self.stack.send_raw(ok, call.source)
                interval = min(interval * 2, timers.t2)

    # -- responses and our BYE --------------------------------------------------------------------

    def _response(self, call: IncomingCall, request: Request, status: int, *, sdp: bool = False) -> Response:
        response = response_to(request, status, REASONS.get(status, "Unknown"), to_tag=call.tag)
        if status < 300:
            host, port = self.stack.sent_by(call.source)
            response.headers.add("Contact", f"<sip:{self.user}@{host}:{port}>")
        if sdp and call.leg is not None:
            offer = SessionDescription.parse(call.invite.body)
            answer = make_answer(offer, call.media_host, call.leg.local_port, session_id=int(time.time()))
            response.headers.add("Content-Type", "application/sdp")
            response.body = bytes(answer)
        return response

    def _final(self, call: IncomingCall, status: int) -> None:
        call.final = status
        self.stack.respond(call.invite, self._response(call, call.invite, status, sdp=status == 200))
        if status != 200:
            self._finish(call)

    def _bye(self, call: IncomingCall) -> None:
        """End the answered call from our side (the caller's Contact is where the BYE goes)."""
        call.ended_by = "callee"
        invite = call.invite
        contact = invite.headers.get("Contact")
        target = NameAddr.parse(contact).uri if contact else invite.from_.uri
        bye = Request("BYE", target)
        h = bye.headers
        h.add("Via", self.stack.via(destination=call.source))
        h.add("Max-Forwards", "70")
        h.add("From", f"{invite.headers.get('To')};tag={call.tag}")
        h.add("To", invite.headers.get("From") or "")
        h.add("Call-ID", invite.call_id)
        h.add("CSeq", f"{invite.cseq.number + 1} BYE")
        call.bye_sent = self.stack.final_response(bye, call.source)
        self._finish(call)

    def _finish(self, call: IncomingCall) -> None:
        if self.calls.pop(call.call_id, None) is None:
            return
        if call.leg is not None:
            call.leg.close()
        self.finished[call.call_id] = call
        if self.on_finished is not None:
            self.on_finished(call)
