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
from sip.useragent import UserAgent

log = structlog.get_logger(__name__)
SILENCE_CHECK_EVERY = 1.0  # seconds between two looks at an operator's line for incoming audio
HANGUP_WAIT = 5.0  # seconds close() waits for the phones' BYE transactions


@dataclass
class _PhoneLeg:
    leg: RtpLeg
    hang_up: Callable[[], None]
    ended: asyncio.Future[None]  # done when the line is gone (a BYE, a closed browser session)
    browser: bool = False


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
        self._keep(login, _PhoneLeg(leg, call.hangup, asyncio.ensure_future(call.wait_ended())))
        return leg

    def attach_browser(self, login: str, leg: RtpLeg) -> None:
        """The operator's browser is their phone now (a WebRTC leg, :mod:`dialer.voice.browser_phone`);
        a line they had before (another tab, a softphone) is hung up first."""
        old = self.legs.pop(login, None)
        if old is not None:
            old.hang_up()
        self._keep(login, _PhoneLeg(leg, leg.close, asyncio.ensure_future(leg.closed), browser=True))

    def _keep(self, login: str, phone: _PhoneLeg) -> None:
        self.legs[login] = phone
        watch = asyncio.get_running_loop().create_task(self._watch(login, phone), name=f"phone-{login}")
        self._watches.add(watch)
        watch.add_done_callback(self._watches.discard)

    async def _watch(self, login: str, phone: _PhoneLeg) -> None:
        answered = time.monotonic()
        ended, leg = phone.ended, phone.leg
        while not ended.done():
            await asyncio.wait([ended], timeout=SILENCE_CHECK_EVERY)
            heard = leg.last_received or answered
            if not ended.done() and self.silence_limit and time.monotonic() - heard > self.silence_limit:
                log.warning("operator phone sends no audio; hanging up its line", operator=login,
                            silent_for=round(time.monotonic() - heard, 1))  # fmt: skip
                phone.hang_up()
                await ended
        log.info("operator phone line ended", operator=login, browser=phone.browser)
        if self.legs.get(login) is phone:  # not replaced by another line meanwhile
            del self.legs[login]
            phone.leg.close()
            if self.on_dropped is not None:
                self.on_dropped(login)
        else:
            phone.leg.close()

    def leg(self, login: str) -> RtpLeg:
        try:
            return self.legs[login].leg
        except KeyError:
            raise PhoneUnavailable(f"operator {login}: no phone leg up") from None

    def status(self, login: str) -> PhoneState:
        phone = self.legs.get(login)
        registered = self.registrar.binding(login) is not None or (phone is not None and phone.browser)
        if phone is None:
            return PhoneState(registered, line_up=False)
        heard = phone.leg.last_received
        silent = round(time.monotonic() - heard, 1) if heard else None
        return PhoneState(registered, line_up=True, silent_for=silent)

    def hang_up(self, login: str) -> None:
        phone = self.legs.get(login)
        if phone is not None:
            phone.hang_up()

    async def close(self) -> None:
        """Hang every line up and wait (a few seconds at most) until their BYEs are answered."""
        for login in list(self.legs):
            self.hang_up(login)
        if self._watches:
            await asyncio.wait(set(self._watches), timeout=HANGUP_WAIT)
