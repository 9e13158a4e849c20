"""Operators' softphones: called once when the operator goes ready, the line kept for the shift.

:class:`OperatorPhones` calls an operator's registered phone (through the built-in registrar's
binding) and keeps the leg; clients are bridged into it one after another (the operator hears silence
in between). If the phone hangs up or falls silent, ``on_dropped`` tells the engine at once (it pauses
the operator). Every watch task is owned: :meth:`OperatorPhones.close` hangs the lines up and awaits
their BYE transactions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from dialer.engine.views import PhoneState
from dialer.errors import PhoneUnavailable
from sip.registrar import Registrar
from sip.sdp import SdpError
from sip.streams.clock import MediaClock
from sip.streams.leg import RtpLeg
from sip.streams.session import call_with_media
from sip.useragent import Call, UserAgent

log = structlog.get_logger(__name__)
SILENCE_CHECK_EVERY = 1.0  # seconds between two looks at an operator's line for incoming audio
HANGUP_WAIT = 5.0  # seconds close() waits for the phones' BYE transactions


@dataclass
class _PhoneLeg:
    call: Call
    leg: RtpLeg


class OperatorPhones:
    """Operators' nailed-up legs, called through the built-in registrar's bindings."""

    def __init__(
        self,
        registrar: Registrar,
        agent: UserAgent,
        clock: MediaClock,
        *,
        on_dropped: Callable[[str], None] | None = None,
        silence_limit: float = 15.0,
    ) -> None:
        """``agent`` places the calls to phones, on the registrar's stack (which routes REGISTER to
        the registrar and the rest to the agent).

        A phone that sends no RTP for ``silence_limit`` seconds (0: never checked) is taken for dead
        (a crash, a lost Wi-Fi: no BYE ever comes): its leg is hung up and ``on_dropped`` called, so
        that no client is bridged into a line nobody is on."""
        self.registrar = registrar
        self.agent = agent
        self.clock = clock
        self.on_dropped = on_dropped
        self.silence_limit = silence_limit
        self.legs: dict[str, _PhoneLeg] = {}
        self._watches: set[asyncio.Task[None]] = set()

    async def call(self, login: str, *, ring_timeout: float = 20.0) -> RtpLeg:
        """Call ``login``'s registered phone (or return the leg already up)."""
        if login in self.legs:
            return self.legs[login].leg
        binding = self.registrar.binding(login)
        if binding is None:
            raise PhoneUnavailable(f"operator {login}: no phone registered")
        try:
            call, leg = await call_with_media(
                self.agent, self.clock, login, caller_id="dialer", ring_timeout=ring_timeout,
                uri=binding.contact, address=binding.address,
            )  # fmt: skip
        except SdpError as exc:
            raise PhoneUnavailable(f"operator {login}: unusable SDP answer ({exc})") from None
        if leg is None:
            raise PhoneUnavailable(f"operator {login}: the phone did not answer ({call.status})")
        self.legs[login] = _PhoneLeg(call, leg)
        watch = asyncio.get_running_loop().create_task(self._watch(login, call, leg), name=f"phone-{login}")
        self._watches.add(watch)
        watch.add_done_callback(self._watches.discard)
        return leg

    async def _watch(self, login: str, call: Call, leg: RtpLeg) -> None:
        answered = time.monotonic()
        ended = asyncio.ensure_future(call.wait_ended())
        while not ended.done():
            await asyncio.wait([ended], timeout=SILENCE_CHECK_EVERY)
            heard = leg.last_received or answered
            if not ended.done() and self.silence_limit and time.monotonic() - heard > self.silence_limit:
                log.warning("operator phone sends no audio; hanging up its line", operator=login,
                            silent_for=round(time.monotonic() - heard, 1))  # fmt: skip
                call.hangup()
                await ended
        log.info("operator phone call ended", operator=login, by=call.hangup_by, status=call.status,
                 events=[e.kind for e in call.events][-3:])  # fmt: skip
        phone = self.legs.pop(login, None)
        if phone is not None:
            phone.leg.close()
            if self.on_dropped is not None:
                self.on_dropped(login)

    def leg(self, login: str) -> RtpLeg:
        try:
            return self.legs[login].leg
        except KeyError:
            raise PhoneUnavailable(f"operator {login}: no phone leg up") from None

    def status(self, login: str) -> PhoneState:
        phone = self.legs.get(login)
        registered = self.registrar.binding(login) is not None
        if phone is None:
            return PhoneState(registered, line_up=False)
        heard = phone.leg.last_received
        silent = round(time.monotonic() - heard, 1) if heard else None
        return PhoneState(registered, line_up=True, silent_for=silent)

    def hang_up(self, login: str) -> None:
        phone = self.legs.get(login)
        if phone is not None:
            phone.call.hangup()

    async def close(self) -> None:
        """Hang every line up and wait (a few seconds at most) until their BYEs are answered."""
        for login in list(self.legs):
            self.hang_up(login)
        if self._watches:
            await asyncio.wait(set(self._watches), timeout=HANGUP_WAIT)
