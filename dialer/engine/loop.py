"""The campaign loop: ask the pacer, lease leads, place calls, follow each to its end.

Theory of operation
-------------------
One :class:`CampaignLoop` per running campaign. :meth:`CampaignLoop.step` is one tick: apply the
telephony updates that arrived since the last one (answers, failures, hang-ups), let time pass for
operators (wrap-ups end) and waiting clients (connected or abandoned), ask the pacer how many calls
to launch from a snapshot of this campaign, lease that many leads from the hopper and originate
them. Every event reaches the pacer, and every call has one attempt row whose outcome moves its lead
on by the campaign's rules. :meth:`run` repeats ``step`` every ``tick`` seconds until stopped, then
lets the calls in progress finish (with a limit). Telephony is a :class:`Telephony`; the clocks are
injected, so tests drive ``step`` by hand.

Some calls are placed *operator first*: a due callback pinned to an operator is dialled when that
operator is ready (the operator is reserved before the client's phone rings), or by another operator
once the campaign's grace period is over (:func:`~dialer.engine.callbacks.callback_route`); in
``preview`` mode a ready operator is reserved with a lead on screen and starts the call themselves
(:meth:`CampaignLoop.start_preview`) or skips it. ``callback`` campaigns dial only callbacks.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.accounts.projects import ProjectRef
from dialer.campaigns import CampaignMode
from dialer.engine import attempts
from dialer.engine.board import OperatorBoard, OperatorState
from dialer.engine.bus import EngineEvent, EventBus
from dialer.engine.callbacks import CallbackPolicy, callback_route
from dialer.engine.callbook import CallBook
from dialer.engine.connector import Abandon, Command, Connect, Connector
from dialer.engine.telephony import CallAnswered, CallFailed, CallUpdate, Charge, Telephony
from dialer.errors import CallNotPlaced, Conflict
from dialer.leads import hopper
from dialer.leads.hopper import Lease
from dialer.storage.types import utcnow
from dialer.workplace_settings import NO_OUTCOME
from pacing import CallEvent, Decision, EventKind, Pacer

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class CampaignSettings:
    """What the loop needs of a campaign's configuration."""

    id: int
    project: ProjectRef
    caller_id: str | None = None
    ring_timeout: float = 25.0
    max_attempts: int = 5
    retry_delays: dict[str, int] = field(default_factory=dict)
    priority: int = 0
    wrap_up: float = 15.0
    mode: CampaignMode = CampaignMode.PREDICTIVE
    callback_grace: float = 600.0
    callback_policy: CallbackPolicy = CallbackPolicy.THEN_ANYONE
    preview_hold: float = 900.0  # seconds a lead shown for preview stays leased to the operator
    skip_delay: float = 300.0  # seconds before a lead skipped in preview is shown again
    amd: bool = False  # answering-machine detection on answered calls
    amd_action: str = (
        "hangup"  # for a machine: "hangup", or "message" (the safe-harbor message, then hang up)
    )
    amd_sample: float = 0.0  # share of machine verdicts let through to an operator for review
    disposition_limit: float | None = None
    """Seconds after the wrap-up until a talked call without an outcome is closed as such (the operator
    is paused); None: an outcome is not awaited, a call that ends without one is closed as talked."""


CALLBACK_POLL = 2.0  # seconds between looks for due callbacks
MIN_STEP = 0.05  # seconds between two steps at the least, however many events arrive
FALSE_POSITIVE_PRIOR = 0.05  # share of machine verdicts assumed to be people before any review
PRIOR_REVIEWS = 20  # what that assumption is worth, in reviews


@dataclass
class LoopStats:
    launched: int = 0
    answered: int = 0
    connected: int = 0
    abandoned: int = 0
    failed: int = 0
    callbacks: int = 0  # placed operator first for a pinned callback


@dataclass(frozen=True)
class Awaiting:
    """A talked call that has ended before its operator recorded the outcome (the wrap-up is for
    that): its attempt is closed when the outcome comes, or as without one when it never does."""

    call_id: str
    attempt_id: int
    operator: str
    lead_id: int
    phone: str
    ended: float  # on the loop's clock
    ended_at: datetime
    status: int | None
    charge: Charge | None
    recording: str | None


@dataclass(frozen=True)
class Preview:
    """A lead reserved for an operator who is reading its card (preview mode)."""

    lease: Lease
    since: float


class CampaignLoop:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        telephony: Telephony,
        campaign: CampaignSettings,
        pacer: Pacer,
        board: OperatorBoard,
        owner: str,
        abandon_after: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = utcnow,
        connector: Connector | None = None,
        bus: EventBus | None = None,
    ) -> None:
        """``connector`` is shared by every loop of the process (a private one when None); what
        happens to calls is published on ``bus``."""
        self.engine = engine
        self.telephony = telephony
        self.campaign = campaign
        self.pacer = pacer
        self.board = board
        self.owner = owner
        self.connector = connector or Connector(board, abandon_after=abandon_after)
        self.bus = bus or EventBus()
        self.book = CallBook(campaign.project.id)
        self.clock = clock
        self.wall = wall
        self.stats = LoopStats()
        self.last_decision: Decision | None = None
        self.launching = True  # False: calls in progress go on, no new ones are placed
        self._updates: list[CallUpdate] = []
        self._forwarded: list[Command] = []  # the connector's commands for our calls, from other loops
        self._wrapping: dict[str, float] = {}  # operator -> when their wrap-up after our call began
        self._talked_to: dict[str, str] = {}  # call -> the operator it was connected to
        self._attempts: dict[str, int] = {}  # open attempts by call
        self._answered_at: dict[str, float] = {}
        self._pinned: dict[str, str] = {}  # call -> the lead's pinned operator (callbacks)
        self._trunks: dict[str, tuple[Charge, str | None]] = {}  # the call's bill, its recording
        self.previews: dict[str, Preview] = {}  # operator -> the lead on their screen
        self.callback_reasons: dict[int, str] = {}  # due callback (lead) -> why it waits
        self._callbacks_at = -math.inf
        self.dispositions: dict[str, attempts.Disposition] = {}
        self.awaiting: dict[str, Awaiting] = {}  # ended talked calls whose outcome is not recorded yet
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self.drain_until: float | None = None
        """Once stopped, when the calls still in progress are hung up (None: when they end)."""
        self.amd_sampled: set[str] = set()  # calls judged machines, let through for an operator's review
        self.amd_reviews = 0
        self.amd_people = 0
        self._sampler = random.Random()

    # -- telephony callbacks (any time) ----------------------------------------------------------

    def on_update(self, update: CallUpdate) -> None:
        self._updates.append(update)
        self._wake.set()

    def on_command(self, command: Command) -> None:
        self._forwarded.append(command)
        self._wake.set()

    # -- one tick ---------------------------------------------------------------------------------

    async def step(self) -> Decision:
        now, wall = self.clock(), self.wall()
        updates, self._updates = self._updates, []
        for update in updates:
            await self._apply(update, now, wall)
        forwarded, self._forwarded = self._forwarded, []
        await self._execute([c for c in forwarded if c.call_id in self._attempts], now, wall)
        await self._execute(self.connector.tick(now), now, wall)
        self._wrap_ups_ended(now)
        await self._outcomes_overdue(now)
        if self.launching:
            await self._callbacks(now, wall)
            if self.campaign.mode == CampaignMode.PREVIEW:
                await self._previews(now, wall)
        decided_at = self.clock()  # after the awaits above: operators may have moved meanwhile
        decision = self.pacer.decide(self.book.snapshot(decided_at, self.board))
        if not CampaignMode(self.campaign.mode).paced:
            decision = Decision(0, f"{self.campaign.mode} mode: operators start the calls")
        room = self.telephony.room()
        if room is not None and decision.calls > room:  # no lead leaves the queue to find the trunks full
            decision = replace(
                decision, calls=room, reason=f"{decision.reason}; the trunks have room for {room} now"
            )
        self.last_decision = decision
        if decision.calls > 0 and self.launching:
            leases = await hopper.next_leads(
                self.engine, self.campaign.id, decision.calls, owner=self.owner, now=wall,
                pinned_callbacks=False,
            )  # fmt: skip
            for i, lease in enumerate(leases):
                try:
                    await self._place(lease, now, wall)
                except Exception as exc:
                    log.warning("call not placed", campaign=self.campaign.id, error=str(exc))
                    if isinstance(exc, CallNotPlaced) and exc.retry_after is not None:  # this number
                        later = wall + timedelta(seconds=exc.retry_after)
                        await hopper.release(self.engine, [lease.lead_id], self.owner, not_before=later)
                        continue  # the others may still go
                    await hopper.release(self.engine, [rest.lead_id for rest in leases[i:]], self.owner)
                    break  # trunks down or full: keep the rest for a later tick
        return decision

    async def _place(self, lease: Lease, now: float, wall: datetime, *, operator: str | None = None) -> str:
        """Dial a leased lead for ``operator`` (already moved to reserved by the caller) or for whoever
        is free when the client answers. The attempt, with the call's id, is stored before the INVITE
        leaves: a crash at any instant leaves an open attempt that the restart closes (the number is
        busy until then), never a call without one. When the call cannot be placed (no trunk can take
        it), the attempt is withdrawn, the operator goes back to ready, and the error up to the
        caller, who gives the lease back."""
        call_id = f"{uuid.uuid4()}"
        attempt_id = await attempts.started(self.engine, lease, call_id, at=wall)
        try:
            await self.telephony.originate(
                lease.phone, caller_id=self.campaign.caller_id, ring_timeout=self.campaign.ring_timeout,
                on_update=self.on_update, amd=self.campaign.amd, call_id=call_id, extension=lease.extension,
            )  # fmt: skip
        except Exception:
            await attempts.withdrawn(self.engine, attempt_id)
            if operator is not None:
                self._unreserve(operator)
            raise  # the caller gives the lease back (at once, or later for a forbidden number)
        self._attempts[call_id] = attempt_id
        self.pacer.observe(self.book.dialed(call_id, lead_id=lease.lead_id, phone=lease.phone, now=now))
        self._publish("call.dialed", call_id, lead_id=lease.lead_id, phone=lease.phone, reserved_for=operator)
        if operator is not None:
            self.connector.reserve(call_id, operator, now)
        if lease.pinned_operator:
            self._pinned[call_id] = lease.pinned_operator
        self.stats.launched += 1
        return call_id

    async def _callbacks(self, now: float, wall: datetime) -> None:
        """Dial due callbacks for their pinned operator, or for another after the grace period."""
        if now - self._callbacks_at < CALLBACK_POLL:
            return
        self._callbacks_at = now
        due = await hopper.due_callbacks(self.engine, self.campaign.id, now=wall)
        self.callback_reasons = {}
        for callback in due:
            overdue = (wall - callback.callback_at).total_seconds()
            route = callback_route(
                project=self.campaign.project.id, pinned=callback.operator, due_at=now - overdue, now=now,
                board=self.board, grace=self.campaign.callback_grace, policy=self.campaign.callback_policy,
            )  # fmt: skip
            if route.operator is None:
                self.callback_reasons[callback.lead_id] = route.reason
                continue
            leases = await hopper.next_leads(
                self.engine, self.campaign.id, 1, owner=self.owner, now=wall, lead_ids=[callback.lead_id]
            )
            if not leases:  # outside the calling window now, or taken by another dialer
                continue
            operator = self.board.get(route.operator)
            if operator.state is not OperatorState.READY:  # another campaign took them meanwhile
                await hopper.release(self.engine, [leases[0].lead_id], self.owner)
                continue
            operator.move(OperatorState.RESERVED, now)
            log.info("callback dialled", lead=callback.lead_id, reason=route.reason)
            try:
                await self._place(leases[0], now, wall, operator=route.operator)
            except Exception as exc:
                log.warning("callback not placed", lead=callback.lead_id, error=str(exc))
                await hopper.release(self.engine, [callback.lead_id], self.owner)
                return
            self.stats.callbacks += 1

    async def call_now(self, login: str, lead_id: int) -> str:
        """The operator calls the lead by hand (one of their callbacks early, or any lead when the
        project allows it): leased if the law allows it now (window, DNC, caps), dialled for them."""
        operator = self.board.get(login)
        if operator.state in (OperatorState.PAUSED, OperatorState.WRAP_UP) and operator.owes is None:
            operator.move(OperatorState.READY, self.clock())  # from a break, or ending the wrap-up early
        if operator.state is not OperatorState.READY:
            raise Conflict(f"operator {login} is {operator.state.value}: a call by hand needs them ready")
        now, wall = self.clock(), self.wall()
        leases = await hopper.next_leads(self.engine, self.campaign.id, 1, owner=self.owner, now=wall,
                                         lead_ids=[lead_id], early=True)  # fmt: skip
        if not leases:
            raise Conflict("this lead cannot be called now: outside its calling window, on the do-not-call "
                           "list, over its contact caps, being called, or finished")  # fmt: skip
        operator.move(OperatorState.RESERVED, now)
        try:
            return await self._place(leases[0], now, wall, operator=login)
        except Exception:
            await hopper.release(self.engine, [lead_id], self.owner)
            raise

    def _unreserve(self, login: str) -> None:
        operator = self.board.operators.get(login)
        if operator is not None and operator.state is OperatorState.RESERVED:
            operator.move(OperatorState.READY, self.clock())

    async def _previews(self, now: float, wall: datetime) -> None:
        """Preview mode: reserve each ready operator with the next lead on their screen."""
        while (operator := self.board.pick(self.campaign.project.id)) is not None:
            leases = await hopper.next_leads(
                self.engine, self.campaign.id, 1, owner=self.owner, now=wall, pinned_callbacks=False,
                lease_for=timedelta(seconds=self.campaign.preview_hold),
            )  # fmt: skip
            if not leases:
                return
            if operator.state is not OperatorState.READY:  # another campaign took them meanwhile
                await hopper.release(self.engine, [leases[0].lead_id], self.owner)
                continue
            operator.move(OperatorState.RESERVED, now)
            self.previews[operator.login] = Preview(leases[0], now)

    async def start_preview(self, login: str) -> str:
        """The operator read the card and starts the call; returns its id."""
        preview = self.previews.pop(login, None)
        if preview is None:
            raise Conflict(f"operator {login} has no lead in preview")
        try:
            return await self._place(preview.lease, self.clock(), self.wall(), operator=login)
        except Exception:
            await hopper.release(self.engine, [preview.lease.lead_id], self.owner)
            raise

    async def skip_preview(self, login: str) -> None:
        """The operator passes on the lead: it goes back to the queue (not shown again for
        ``skip_delay`` seconds), they are ready again."""
        preview = self.previews.pop(login, None)
        if preview is None:
            raise Conflict(f"operator {login} has no lead in preview")
        later = self.wall() + timedelta(seconds=self.campaign.skip_delay)
        await hopper.release(self.engine, [preview.lease.lead_id], self.owner, not_before=later)
        self._unreserve(login)

    async def release_previews(self) -> None:
        """Give back every lead held for preview (the campaign stops)."""
        logins = list(self.previews)
        held = [self.previews[login].lease.lead_id for login in logins]
        await hopper.release(self.engine, held, self.owner)
        for login in logins:
            del self.previews[login]
            self._unreserve(login)

    async def _apply(self, update: CallUpdate, now: float, wall: datetime) -> None:
        call_id = update.call_id
        if call_id not in self._attempts:
            return  # already settled (abandoned by us, then hung up)
        if isinstance(update, CallFailed):
            self._trunks[call_id] = (Charge.of(update), None)
        elif not isinstance(update, CallAnswered):
            self._trunks[call_id] = (Charge.of(update), update.recording)
        if isinstance(update, CallAnswered):
            sampled = update.machine and self._sample(call_id)
            machine = update.machine and not sampled
            self._publish("call.answered", call_id, machine=machine, amd=update.amd, amd_sampled=sampled)
            self.pacer.observe(self.book.answered(call_id, now, machine=machine))
            await attempts.answered(self.engine, self._attempts[call_id], at=wall, machine=machine,
                                    amd=update.amd, confidence=update.amd_confidence,
                                    sampled=sampled)  # fmt: skip
            if machine:
                if self.campaign.amd_action == "message":
                    self._spawn(self.telephony.abandon(call_id))  # the message, then hang up
                else:
                    self.telephony.hangup(call_id)
                commands = self.connector.ended(call_id, now, wrap_up=self.campaign.wrap_up)
                await self._finish(call_id, wall, "machine", update.status)
                await self._execute(commands, now, wall)
                return
            self.stats.answered += 1
            self._answered_at[call_id] = now
            commands = self.connector.answered(
                call_id, project=self.campaign.project.id, now=now, priority=self.campaign.priority,
                prefer=self._pinned.get(call_id), sink=self.on_command,
            )  # fmt: skip
            await self._execute(commands, now, wall)
        elif isinstance(update, CallFailed):
            self.pacer.observe(self.book.failed(call_id, now, update.outcome))
            self.stats.failed += 1
            commands = self.connector.ended(call_id, now, wrap_up=self.campaign.wrap_up)
            await self._finish(call_id, wall, update.outcome, update.status)
            await self._execute(commands, now, wall)
        else:
            await self._ended(update, now, wall)

    async def _ended(self, update: CallUpdate, now: float, wall: datetime) -> None:
        """The client's call ended after an answer: talked (the outcome applies, or is awaited) or
        hung up while waiting for an operator (abandoned)."""
        call_id = update.call_id
        talked = call_id in self.connector.operator_of
        lead = self.book.calls.get(call_id)
        for event in self.book.ended(call_id, now):
            self.pacer.observe(event)
        if not talked:  # hung up while waiting for an operator: counted as abandoned
            waited = now - self._answered_at.get(call_id, now)
            self.pacer.observe(CallEvent(EventKind.ABANDONED, now, waited))
            self.stats.abandoned += 1
        operator = self.connector.operator_of.get(call_id)
        commands = self.connector.ended(call_id, now, wrap_up=self.campaign.wrap_up)
        if operator is not None and self.board.operators[operator].state is OperatorState.WRAP_UP:
            self._wrapping[operator] = self.board.operators[operator].since
        awaits = self.campaign.disposition_limit is not None and call_id not in self.dispositions
        if talked and awaits and operator is not None and lead is not None:
            self._await_outcome(call_id, operator, lead.lead_id, lead.phone, now=now, wall=wall,
                                status=update.status)  # fmt: skip
        else:
            await self._finish(call_id, wall, "human" if talked else "abandoned", update.status,
                               abandoned=not talked)  # fmt: skip
        await self._execute(commands, now, wall)

    def _sample(self, call_id: str) -> bool:
        """Let this machine verdict through to an operator for review? Only while one is free, so the
        check never makes anyone wait (a machine left waiting would count as an abandon)."""
        share = self.campaign.amd_sample
        if share <= 0 or self._sampler.random() >= share:
            return False
        free = bool(self.board.ready(self.campaign.project.id))
        if free:
            self.amd_sampled.add(call_id)
        return free

    def review(self, call_id: str, verdict: str) -> None:
        """An operator's mark on a sampled machine verdict ("person" or "machine"): the estimate of
        people hung up on as machines follows, and with it the abandon window."""
        if call_id not in self.amd_sampled:
            return
        self.amd_reviews += 1
        self.amd_people += verdict == "person"
        self._estimate_false_positives()

    @property
    def amd_false_positive_rate(self) -> float:
        """People among machine verdicts: reviews so far, shrunk towards a cautious 5 % prior worth 20
        reviews (until operators have checked enough, the detector is assumed to err now and then)."""
        return (self.amd_people + FALSE_POSITIVE_PRIOR * PRIOR_REVIEWS) / (self.amd_reviews + PRIOR_REVIEWS)

    def _estimate_false_positives(self) -> None:
        if self.campaign.amd:
            self.pacer.machines_were_people(self.amd_false_positive_rate)

    def _wrap_ups_ended(self, now: float) -> None:
        """Teach the pacer the wrap-up time of operators whose wrap-up after our call is over."""
        for login, began in list(self._wrapping.items()):
            operator = self.board.operators.get(login)
            if operator is None or operator.state is not OperatorState.WRAP_UP or operator.since != began:
                del self._wrapping[login]
                if operator is not None and operator.state is OperatorState.READY:
                    self.pacer.observe(CallEvent(EventKind.WRAP_ENDED, now, operator.since - began))

    async def _execute(self, commands: list[Command], now: float, wall: datetime) -> None:
        for command in commands:
            if command.call_id not in self._attempts:  # another campaign's call (shared connector)
                self.connector.forward(command)
                continue
            if isinstance(command, Connect):
                self.pacer.observe(self.book.connected(command.call_id, now, command.operator))
                self.connector.connected(command.call_id, now)
                self.stats.connected += 1
                self._talked_to[command.call_id] = command.operator
                self._publish("call.connected", command.call_id, operator=command.operator,
                              waited=round(command.waited, 3))  # fmt: skip
                await attempts.connected(self.engine, self._attempts[command.call_id], at=wall,
                                         operator=command.operator, waited=command.waited)  # fmt: skip
                self._spawn(self.telephony.connect(command.call_id, command.operator))
            elif isinstance(command, Abandon):
                self.pacer.observe(self.book.abandoned(command.call_id, now))
                self.stats.abandoned += 1
                self._publish("call.abandoned", command.call_id, waited=round(command.waited, 3))
                await self._finish(
                    command.call_id, wall, "abandoned", None, abandoned=True, waited=command.waited
                )
                self._spawn(self.telephony.abandon(command.call_id))

    async def _finish(
        self, call_id: str, wall: datetime, outcome: str, status: int | None, *, abandoned: bool = False,
        waited: float | None = None,
    ) -> None:  # fmt: skip
        attempt_id = self._attempts.pop(call_id, None)
        self._answered_at.pop(call_id, None)
        self._pinned.pop(call_id, None)
        self.amd_sampled.discard(call_id)
        disposition = self.dispositions.pop(call_id, None)
        charge, recording = self._trunks.pop(call_id, (None, None))
        operator = self._talked_to.pop(call_id, None)
        if attempt_id is None:
            return
        self._publish("call.ended", call_id, operator=operator, outcome=outcome, status=status)
        await attempts.finished(
            self.engine, self.campaign.project, attempt_id, at=wall, outcome=outcome,
            max_attempts=self.campaign.max_attempts, retry_delays=self.campaign.retry_delays,
            status=status, abandoned=abandoned, waited=waited, disposition=disposition, charge=charge,
            recording=recording,
        )  # fmt: skip

    def _publish(self, kind: str, call_id: str, *, operator: str | None = None, **data: Any) -> None:
        self.bus.publish(EngineEvent(kind, self.campaign.id, operator, call_id, data))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("telephony command failed", error=repr(task.exception()))

    def next_due(self) -> float | None:
        """The next instant a step must not miss while a client waits for an operator: their abandon
        deadline, or the end of an operator's wrap-up (who may take them)."""
        deadline = self.connector.next_deadline()
        if deadline is None:
            return None  # nobody waits: the regular tick is soon enough
        wrap_end = self.board.next_wrap_end()
        return deadline if wrap_end is None else min(deadline, wrap_end)

    async def _step_and_wait(self, tick: float, stop: asyncio.Event | None) -> None:
        self._wake.clear()  # before the step: an event that arrives during it wakes the next one
        started = self.clock()
        try:
            await self.step()
        except Exception:  # one failed tick (database hiccup) must not end the campaign
            log.exception("campaign tick failed", campaign=self.campaign.id)
        await asyncio.sleep(max(0.0, MIN_STEP - (self.clock() - started)))
        waits = [asyncio.ensure_future(self._wake.wait())]
        if stop is not None:
            waits.append(asyncio.ensure_future(stop.wait()))
        timeout = max(0.0, tick - MIN_STEP)
        due = self.next_due()
        if due is not None:  # a waiting client's 2 s run out, or an operator's wrap-up ends, sooner
            timeout = min(timeout, max(0.0, due - self.clock()))
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for waiting in waits:
            waiting.cancel()

    def dispose(self, call_id: str, disposition: attempts.Disposition) -> None:
        """The operator's disposition for a connected call; applied when the call ends (a review of a
        sampled machine verdict counts at once)."""
        if call_id in self._attempts:
            self.dispositions[call_id] = disposition
            if disposition.amd_review is not None:
                self.review(call_id, disposition.amd_review)

    def _await_outcome(
        self, call_id: str, operator: str, lead_id: int, phone: str, *, now: float, wall: datetime,
        status: int | None,
    ) -> None:  # fmt: skip
        """The client hung up (or the operator did) before the outcome was recorded: the attempt stays
        open for it, the operator's wrap-up does not end by itself until it comes."""
        attempt_id = self._attempts.pop(call_id)
        self._answered_at.pop(call_id, None)
        self._pinned.pop(call_id, None)
        self._talked_to.pop(call_id, None)
        charge, recording = self._trunks.pop(call_id, (None, None))
        self.awaiting[call_id] = Awaiting(call_id, attempt_id, operator, lead_id, phone, now, wall, status,
                                          charge, recording)  # fmt: skip
        found = self.board.operators.get(operator)
        if found is not None and found.state is OperatorState.WRAP_UP:
            found.owes = call_id
        self._publish("call.ended", call_id, operator=operator, outcome="human", status=status, awaiting=True)

    async def record_outcome(self, call_id: str, disposition: attempts.Disposition) -> bool:
        """The outcome of an ended call that waited for it: the attempt is closed and the lead moved
        on; False when the call is not waiting (recorded already, or not ours)."""
        waiting = self.awaiting.pop(call_id, None)
        if waiting is None:
            return False
        if disposition.amd_review is not None:
            self.review(call_id, disposition.amd_review)
        self.amd_sampled.discard(call_id)
        self._publish("call.disposed", call_id, operator=waiting.operator, outcome=disposition.outcome)
        await attempts.finished(
            self.engine, self.campaign.project, waiting.attempt_id, at=waiting.ended_at, outcome="human",
            max_attempts=self.campaign.max_attempts, retry_delays=self.campaign.retry_delays,
            status=waiting.status, disposition=disposition, charge=waiting.charge,
            recording=waiting.recording, disposed_at=self.wall(),
        )  # fmt: skip
        operator = self.board.operators.get(waiting.operator)
        if operator is not None and operator.owes == call_id:
            operator.owes = None
            if operator.state is OperatorState.WRAP_UP and (operator.wrap_up_until or 0) <= self.clock():
                operator.move(OperatorState.READY, self.clock())  # the wrap-up ran out while they wrote
        self._wake.set()
        return True

    async def _outcomes_overdue(self, now: float) -> None:
        """Calls whose operator recorded nothing within the wrap-up and the limit after it: closed as
        without an outcome (the lead is called again), the operator paused (they are not there)."""
        for call_id, waiting in list(self.awaiting.items()):
            operator = self.board.operators.get(waiting.operator)
            ends = waiting.ended + self.campaign.wrap_up  # paused meanwhile: the wrap-up it had
            if operator is not None and operator.owes == call_id and operator.wrap_up_until is not None:
                ends = operator.wrap_up_until  # extended, perhaps
            limit = self.campaign.disposition_limit or 0.0
            if now < ends + limit:
                continue
            log.warning("no outcome recorded for a call; closed without one", call_id=call_id,
                        operator=waiting.operator)  # fmt: skip
            await self.record_outcome(call_id, attempts.Disposition(
                waiting.operator, "retry", notes=f"no outcome recorded within {limit:.0f} s of the wrap-up",
                code=NO_OUTCOME))  # fmt: skip
            if operator is not None and operator.state in (OperatorState.WRAP_UP, OperatorState.READY):
                operator.move(OperatorState.PAUSED, self.clock(), reason=NO_OUTCOME)

    async def _settle_outcomes(self, tick: float) -> None:
        """Stopping: wait for the outcomes still owed (within the drain), then close the rest as
        without one."""
        while self.awaiting and (self.drain_until is None or self.clock() < self.drain_until):
            await self._step_and_wait(tick, None)
        for call_id, waiting in list(self.awaiting.items()):
            await self.record_outcome(call_id, attempts.Disposition(
                waiting.operator, "retry", notes="the dialer stopped before an outcome was recorded",
                code=NO_OUTCOME))  # fmt: skip

    def screen_of(self, login: str) -> Awaiting | None:
        """The ended call ``login`` still owes an outcome for, if it is one of ours."""
        return next((w for w in self.awaiting.values() if w.operator == login), None)

    # -- running ----------------------------------------------------------------------------------

    @property
    def calls_in_progress(self) -> int:
        return len(self._attempts)

    async def restore_window(self) -> int:
        """Count this campaign's live answers and abandons of the legal window from the stored
        attempts into the pacer's governor, so a restart does not reset the abandon budget; returns
        how many answers were counted."""
        now, wall = self.clock(), self.wall()
        since = wall - timedelta(seconds=self.pacer.window(now).window_seconds)
        rows = await attempts.live_answers(self.engine, self.campaign.id, since=since)
        for answered_at, abandoned in rows:
            at = now - (wall - answered_at).total_seconds()
            self.pacer.remember(CallEvent(EventKind.ANSWERED_HUMAN, at, 0.0))
            if abandoned:
                self.pacer.remember(CallEvent(EventKind.ABANDONED, at, 0.0))
        if self.campaign.amd:
            for answered_at in await attempts.machine_verdicts(self.engine, self.campaign.id, since=since):
                at = now - (wall - answered_at).total_seconds()
                self.pacer.remember(CallEvent(EventKind.ANSWERED_MACHINE, at, 0.0))
            self.amd_reviews, self.amd_people = await attempts.amd_reviews(
                self.engine, self.campaign.id, since=since
            )
            self._estimate_false_positives()
        return len(rows)

    async def run(
        self, stop: asyncio.Event, *, tick: float = 0.5, drain: float | None = None, settle: float = 10.0
    ) -> None:
        """Step every ``tick`` seconds, and sooner (at most every ``MIN_STEP``) when a call's event
        arrives, until ``stop`` is set; then stop launching and let the calls in progress go on until
        they end: operators keep talking, their dispositions apply, every attempt gets its true
        outcome. With a drain limit (``drain`` seconds, or :attr:`drain_until` set meanwhile, as a
        shutting-down process does) the calls still up then are hung up and ``settle`` seconds more
        let their endings arrive; an attempt whose ending never comes is closed as interrupted and its
        lead queued again."""
        restored = await self.restore_window()
        if restored:
            state = self.pacer.window(self.clock())
            log.info("abandon window restored", campaign=self.campaign.id, answers=state.answers,
                     abandons=state.abandons)  # fmt: skip
        while not stop.is_set():
            await self._step_and_wait(tick, stop)
        self.launching = False
        await self.release_previews()
        if drain is not None:
            self.drain_until = self.clock() + drain
        if self._attempts:
            log.info("campaign stopping: no new calls; the calls in progress go on",
                     campaign=self.campaign.id, calls=len(self._attempts))  # fmt: skip
        while self._attempts and (self.drain_until is None or self.clock() < self.drain_until):
            await self._step_and_wait(tick, None)
        if self._attempts:
            log.warning("hanging up the calls still in progress", campaign=self.campaign.id,
                        calls=len(self._attempts))  # fmt: skip
            for call_id in list(self._attempts):
                self.telephony.hangup(call_id)
            settled_by = self.clock() + settle
            while self._attempts and self.clock() < settled_by:
                await self._step_and_wait(tick, None)
        if self._attempts:
            left = dict(self._attempts)
            for call_id in left:
                self.connector.ended(call_id, self.clock(), wrap_up=self.campaign.wrap_up)
                self._attempts.pop(call_id)
            await attempts.close_interrupted(
                self.engine, self.campaign.project, at=self.wall(), attempt_ids=list(left.values()),
                reason="campaign stopped; the call's end never came",
            )  # fmt: skip
        await self._settle_outcomes(tick)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
