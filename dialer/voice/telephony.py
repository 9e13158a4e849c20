"""Client calls over the company's SIP trunks, with media.

:class:`SipTelephony` is the engine's :class:`~dialer.engine.telephony.Telephony`: each client call
gets its own RTP leg and SDP offer, goes out through the :class:`~sip.trunks.TrunkPool`, and its
events become :class:`~dialer.engine.telephony.CallUpdate`. ``connect`` bridges the client to the
operator's leg; ``abandon`` plays the safe-harbor message, then hangs up.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import structlog

from dialer.engine.amd import AmdResult, AmdSettings, detect
from dialer.engine.telephony import CallAnswered, CallEnded, CallFailed, UpdateSink
from dialer.errors import CallNotPlaced, Conflict
from dialer.voice.phones import OperatorPhones
from sip.routing import NoRoute
from sip.sdp import SdpError
from sip.streams.bridge import Bridge
from sip.streams.clock import MediaClock
from sip.streams.leg import Pcm, RtpLeg
from sip.streams.player import Player
from sip.streams.recorder import Recorder
from sip.streams.session import agent_offer, apply_answer
from sip.streams.tap import Tap
from sip.trunks import TrunkPool
from sip.useragent import Call, CallProgress, Category

log = structlog.get_logger(__name__)
AMD_EVERY = 0.2  # seconds between two looks at the audio heard so far
EXTENSION_PAUSE = 1.5  # seconds after the answer before an extension's digits are sent
FORBIDDEN_RETRY = 3600.0  # seconds before a number no trunk allows is tried again (the config may change)
OUTCOMES = {Category.BUSY: "busy", Category.NO_ANSWER: "no_answer", Category.CANCELLED: "no_answer"}


class SipTelephony:
    """Client calls over trunks with media; bridges into operators' legs; safe-harbor playback."""

    def __init__(
        self,
        pool: TrunkPool,
        clock: MediaClock,
        phones: OperatorPhones,
        *,
        message: Pcm | None,
        recordings: Path | None = None,
        amd: AmdSettings | None = None,
    ) -> None:
        """``message``: the safe-harbor message for abandoned clients; ``recordings``: the directory
        where every bridged call is recorded (``<date>/<call id>.wav``), None to record nothing."""
        self.pool = pool
        self.clock = clock
        self.phones = phones
        self.message = message
        self.recordings = recordings
        self.calls: dict[str, tuple[Call, RtpLeg]] = {}
        self.bridges: dict[str, Bridge] = {}
        self.controls: dict[str, tuple[bool, bool]] = {}  # call -> (on hold, muted)
        self.recorders: dict[str, Recorder] = {}
        self.detecting: dict[str, asyncio.Task[None]] = {}  # calls whose answer AMD is judging
        self.amd = amd or AmdSettings()
        self._closing: set[asyncio.Task[None]] = set()

    async def originate(
        self,
        phone: str,
        *,
        caller_id: str | None,
        ring_timeout: float,
        on_update: UpdateSink,
        amd: bool = False,
        call_id: str | None = None,
        extension: str | None = None,
    ) -> str:
        agent = next(iter(self.pool.trunks.values())).agent
        leg, offer = await agent_offer(agent, self.clock, agent.trunk, session_id=int(time.time()))
        box: list[Call] = []

        def follow(event: CallProgress) -> None:
            if box:
                self._event(box[0], leg, event, on_update, amd=amd and not extension, extension=extension)

        try:
            call = await self.pool.originate(
                phone, caller_id=(caller_id or "").lstrip("+"), ring_timeout=ring_timeout, sdp=offer,
                listener=follow, call_id=call_id,
            )  # fmt: skip
        except NoRoute as exc:
            leg.close()
            raise CallNotPlaced(str(exc), retry_after=FORBIDDEN_RETRY if exc.forbidden else None) from None
        except Exception:
            leg.close()
            raise
        box.append(call)
        self.calls[call.call_id] = (call, leg)
        return call.call_id

    def _event(
        self,
        call: Call,
        leg: RtpLeg,
        event: CallProgress,
        on_update: UpdateSink,
        *,
        amd: bool,
        extension: str | None = None,
    ) -> None:
        if event.kind == "answered":
            try:
                apply_answer(leg, call.remote_sdp)
            except SdpError as exc:
                log.warning("answer without usable SDP; hanging up", call_id=call.call_id, error=str(exc))
                call.hangup()
                return
            if extension:
                self._dial_extension(call, leg, extension)
            if amd:
                task = asyncio.get_running_loop().create_task(self._detect(call, leg, event, on_update))
                self.detecting[call.call_id] = task
                return
            on_update(CallAnswered(call.call_id, event.at, status=event.status))
        elif event.kind == "failed":
            outcome = OUTCOMES.get(call.category, "failed") if call.category is not None else "failed"
            record = self.pool.record(call)
            on_update(CallFailed(call.call_id, event.at, outcome=outcome, status=event.status,
                                 trunk=record.trunk or None, cost=record.cost,
                                 billed_seconds=record.billed_seconds, tariff=record.tariff_prefix,
                                 fee=record.connection_fee))  # fmt: skip
            self._release(call.call_id)
        elif event.kind == "ended":
            detecting = self.detecting.pop(call.call_id, None)
            if detecting is not None and not detecting.done():  # hung up while we listened: a person
                detecting.cancel()
                unsure = AmdResult.UNSURE.value
                on_update(CallAnswered(call.call_id, event.at, status=200, amd=unsure, amd_confidence=0.0))
            record = self.pool.record(call)
            recorder = self.recorders.get(call.call_id)
            on_update(CallEnded(call.call_id, event.at, by=call.hangup_by or "remote", status=event.status,
                                 trunk=record.trunk or None, cost=record.cost,
                                 recording=str(recorder.path) if recorder else None,
                                 billed_seconds=record.billed_seconds, tariff=record.tariff_prefix,
                                 fee=record.connection_fee))  # fmt: skip
            self._release(call.call_id)

    def _dial_extension(self, call: Call, leg: RtpLeg, extension: str) -> None:
        """Send the extension as RFC 4733 events after a pause (exchanges ignore digits sent before
        their greeting starts)."""

        def send() -> None:
            if call.call_id not in self.calls:
                return
            try:
                leg.send_dtmf(extension)
            except ValueError as exc:  # the far end refused telephone-event
                log.warning("extension not dialled", call_id=call.call_id, error=str(exc))
            else:
                log.info("extension dialled", call_id=call.call_id, digits=len(extension))

        asyncio.get_running_loop().call_later(EXTENSION_PAUSE, send)

    async def _detect(self, call: Call, leg: RtpLeg, answer: CallProgress, on_update: UpdateSink) -> None:
        """Listen to the first seconds of the call until the detector is sure (or time is up)."""
        tap = Tap(leg, self.amd.max_seconds)
        try:
            verdict = detect(tap.collected(), self.amd)
            while not tap.audio.done() and verdict.result is AmdResult.UNSURE:
                await asyncio.sleep(AMD_EVERY)
                verdict = detect(tap.collected(), self.amd)
        finally:
            tap.stop()
        self.detecting.pop(call.call_id, None)
        log.info("answering machine detection", call_id=call.call_id, result=verdict.result.value,
                 confidence=verdict.confidence, reason=verdict.reason)  # fmt: skip
        machine = verdict.result is AmdResult.MACHINE
        on_update(CallAnswered(call.call_id, time.monotonic(), machine=machine,
                             status=answer.status, amd=verdict.result.value,
                             amd_confidence=verdict.confidence))  # fmt: skip

    def _release(self, call_id: str) -> None:
        self.controls.pop(call_id, None)
        bridge = self.bridges.pop(call_id, None)
        if bridge is not None:
            bridge.close()
        recorder = self.recorders.pop(call_id, None)
        if recorder is not None:
            task = asyncio.get_running_loop().create_task(recorder.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        found = self.calls.pop(call_id, None)
        if found is not None:
            found[1].close()

    async def connect(self, call_id: str, operator: str) -> None:
        found = self.calls.get(call_id)
        if found is None:
            return
        operator_leg = self.phones.leg(operator)
        self.bridges[call_id] = Bridge(found[1], operator_leg)
        if self.recordings is not None:
            day = time.strftime("%Y-%m-%d", time.gmtime())
            name = re.sub(r"[^A-Za-z0-9._-]", "_", call_id)[:120]
            self.recorders[call_id] = Recorder(self.recordings / day / f"{name}.wav", found[1], operator_leg)

    async def abandon(self, call_id: str) -> None:
        found = self.calls.get(call_id)
        if found is None:
            return
        call, leg = found
        if self.message is not None:
            player = Player(leg, self.message)
            ended = asyncio.ensure_future(call.wait_ended())
            await asyncio.wait([player.done, ended], timeout=player.duration + 5,
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
            ended.cancel()
            log.info("safe-harbor message played", call_id=call_id, complete=player.done.done(),
                     seconds=round(player.duration, 2), packets_sent=leg.stats.sent)  # fmt: skip
        call.hangup()

    async def close(self) -> None:
        """Stop the detections still listening, finish writing the recordings still open."""
        listening = list(self.detecting.values())
        for task in listening:
            task.cancel()
        await asyncio.gather(*listening, return_exceptions=True)
        self.detecting.clear()
        for call_id in list(self.recorders):
            self._release(call_id)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    def room(self) -> int | None:
        return self.pool.room()

    def hangup(self, call_id: str) -> None:
        found = self.calls.get(call_id)
        if found is not None:
            found[0].hangup()

    def audio(self, call_id: str, *, hold: bool | None = None, mute: bool | None = None) -> None:
        bridge = self.bridges.get(call_id)
        if bridge is None:
            return
        held, muted = self.controls.get(call_id, (False, False))
        held = held if hold is None else hold
        muted = muted if mute is None else mute
        self.controls[call_id] = (held, muted)
        # a = the client's leg, b = the operator's: on hold neither hears the other
        bridge.hearing(a_hears_b=not (held or muted), b_hears_a=not held)

    def send_digits(self, call_id: str, digits: str) -> None:
        found = self.calls.get(call_id)
        if found is None:
            return
        try:
            found[1].send_dtmf(digits)
        except ValueError as exc:  # the far end did not accept telephone-event
            raise Conflict(f"the client's side does not take DTMF: {exc}") from None
