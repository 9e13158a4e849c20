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
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.engine import attempts
from dialer.engine.callbook import CallBook
from dialer.engine.connector import Abandon, Command, Connect, Connector
from dialer.engine.operators import OperatorBoard
from dialer.engine.telephony import CallUpdate, Telephony
from dialer.leads import hopper
from dialer.leads.store import ProjectRef
from dialer.storage.types import utcnow
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


@dataclass
class LoopStats:
    launched: int = 0
    answered: int = 0
    connected: int = 0
    abandoned: int = 0
    failed: int = 0


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
    ) -> None:
        self.engine = engine
        self.telephony = telephony
        self.campaign = campaign
        self.pacer = pacer
        self.board = board
        self.owner = owner
        self.connector = Connector(board, abandon_after=abandon_after)
        self.book = CallBook(campaign.project.id)
        self.clock = clock
        self.wall = wall
        self.stats = LoopStats()
        self.last_decision: Decision | None = None
        self.launching = True  # False: calls in progress go on, no new ones are placed
        self._updates: list[CallUpdate] = []
        self._attempts: dict[str, int] = {}  # open attempts by call
        self._answered_at: dict[str, float] = {}
        self._pinned: dict[str, str] = {}  # call -> the lead's pinned operator (callbacks)
        self.dispositions: dict[str, attempts.Disposition] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()

    # -- telephony callbacks (any time) ----------------------------------------------------------

    def on_update(self, update: CallUpdate) -> None:
        self._updates.append(update)
        self._wake.set()

    # -- one tick ---------------------------------------------------------------------------------

    async def step(self) -> Decision:
        now, wall = self.clock(), self.wall()
        updates, self._updates = self._updates, []
        for update in updates:
            await self._apply(update, now, wall)
        for _ in self.board.tick(now):
            self.pacer.observe(CallEvent(EventKind.WRAP_ENDED, now, self.campaign.wrap_up))
        await self._execute(self.connector.tick(now), now, wall)
        decision = self.pacer.decide(self.book.snapshot(now, self.board))
        self.last_decision = decision
        if decision.calls > 0 and self.launching:
            leases = await hopper.next_leads(
                self.engine, self.campaign.id, decision.calls, owner=self.owner, now=wall
            )
            for lease in leases:
                call_id = await self.telephony.originate(
                    lease.phone, caller_id=self.campaign.caller_id, ring_timeout=self.campaign.ring_timeout,
                    on_update=self.on_update,
                )  # fmt: skip
                self.pacer.observe(
                    self.book.dialed(call_id, lead_id=lease.lead_id, phone=lease.phone, now=now)
                )
                if lease.pinned_operator:
                    self._pinned[call_id] = lease.pinned_operator
                self._attempts[call_id] = await attempts.started(self.engine, lease, call_id, at=wall)
                self.stats.launched += 1
        return decision

    async def _apply(self, update: CallUpdate, now: float, wall: datetime) -> None:
        call_id = update.call_id
        if call_id not in self._attempts:
            return  # already settled (abandoned by us, then hung up)
        if update.kind == "answered":
            self.pacer.observe(self.book.answered(call_id, now, machine=update.machine))
            await attempts.answered(self.engine, self._attempts[call_id], at=wall, machine=update.machine)
            if update.machine:
                self.telephony.hangup(call_id)
                await self._finish(call_id, wall, "machine", update.status)
                return
            self.stats.answered += 1
            self._answered_at[call_id] = now
            commands = self.connector.answered(
                call_id, project=self.campaign.project.id, now=now, priority=self.campaign.priority,
                prefer=self._pinned.get(call_id),
            )  # fmt: skip
            await self._execute(commands, now, wall)
        elif update.kind == "failed":
            self.pacer.observe(self.book.failed(call_id, now, update.outcome or "failed"))
            self.stats.failed += 1
            await self._finish(call_id, wall, update.outcome or "failed", update.status)
        else:  # ended
            talked = call_id in self.connector.operator_of
            for event in self.book.ended(call_id, now):
                self.pacer.observe(event)
            if not talked:  # hung up while waiting for an operator: counted as abandoned
                waited = now - self._answered_at.get(call_id, now)
                self.pacer.observe(CallEvent(EventKind.ABANDONED, now, waited))
                self.stats.abandoned += 1
            commands = self.connector.ended(call_id, now, wrap_up=self.campaign.wrap_up)
            await self._finish(call_id, wall, "human" if talked else "abandoned", update.status,
                               abandoned=not talked)  # fmt: skip
            await self._execute(commands, now, wall)

    async def _execute(self, commands: list[Command], now: float, wall: datetime) -> None:
        for command in commands:
            if isinstance(command, Connect):
                self.pacer.observe(self.book.connected(command.call_id, now, command.operator))
                self.connector.connected(command.call_id, now)
                self.stats.connected += 1
                await attempts.connected(self.engine, self._attempts[command.call_id], at=wall,
                                         operator=command.operator, waited=command.waited)  # fmt: skip
                self._spawn(self.telephony.connect(command.call_id, command.operator))
            elif isinstance(command, Abandon):
                self.pacer.observe(self.book.abandoned(command.call_id, now))
                self.stats.abandoned += 1
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
        disposition = self.dispositions.pop(call_id, None)
        if attempt_id is None:
            return
        await attempts.finished(
            self.engine, self.campaign.project, attempt_id, at=wall, outcome=outcome,
            max_attempts=self.campaign.max_attempts, retry_delays=self.campaign.retry_delays,
            status=status, abandoned=abandoned, waited=waited, disposition=disposition,
        )  # fmt: skip

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("telephony command failed", error=repr(task.exception()))

    def dispose(self, call_id: str, disposition: attempts.Disposition) -> None:
        """The operator's disposition for a connected call; applied when the call ends."""
        if call_id in self._attempts:
            self.dispositions[call_id] = disposition

    # -- running ----------------------------------------------------------------------------------

    @property
    def calls_in_progress(self) -> int:
        return len(self._attempts)

    async def run(self, stop: asyncio.Event, *, tick: float = 0.5, drain: float = 60.0) -> None:
        """Tick until ``stop`` is set; then stop launching and let calls finish, at most ``drain`` s."""
        while not stop.is_set():
            try:
                await self.step()
            except Exception:  # one failed tick (database hiccup) must not end the campaign
                log.exception("campaign tick failed", campaign=self.campaign.id)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), tick)
        self.launching = False
        deadline = self.clock() + drain
        while self._attempts and self.clock() < deadline:
            await self.step()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), tick)
        for call_id in list(self._attempts):
            self.telephony.hangup(call_id)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
