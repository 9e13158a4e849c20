"""The dialing engine as ``dialer serve`` runs it: one loop per running campaign, and the operators.

:class:`EngineService` is handed its telephony and the operators' phones (the seams of
:mod:`dialer.engine.telephony`; :mod:`dialer.runtime` assembles the real ones), keeps the operators'
board and one :class:`~dialer.engine.loop.CampaignLoop` per campaign whose status is ``running``, and
stops a loop (letting its calls finish) when the campaign is paused or stopped. It learns of a change
at once when told (:meth:`campaigns_changed`, called by the API that started or paused it) and by a
slow look at the database otherwise (another process changed it). Operators act through
:meth:`ready`, :meth:`pause`, :meth:`offline`, :meth:`preview`, :meth:`dispose`; the web reads the
frozen views of :mod:`dialer.engine.views`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.accounts.operators import accounts
from dialer.accounts.projects import ProjectRef
from dialer.campaigns import CampaignMode, pause_the_spent
from dialer.engine.attempts import Disposition, close_interrupted
from dialer.engine.board import Operator, OperatorBoard, OperatorState
from dialer.engine.bus import EngineEvent, EventBus
from dialer.engine.callbacks import CallbackPolicy
from dialer.engine.callbook import CallPhase
from dialer.engine.connector import Connector
from dialer.engine.journal import Journal
from dialer.engine.loop import Awaiting, CampaignLoop, CampaignSettings
from dialer.engine.telephony import Phones, Telephony
from dialer.engine.views import CampaignView, OnScreen, OperatorScreen, OperatorView, PhoneState
from dialer.errors import Conflict, NotFound
from dialer.storage import reading
from dialer.storage.tables import CAMPAIGN, LEAD, PROJECT
from dialer.storage.types import utcnow
from pacing import make_pacer

SHUTDOWN_DRAIN = 60.0  # seconds the calls in progress may go on when the process stops
log = structlog.get_logger(__name__)
SUPERVISE_EVERY = 2.0  # seconds between two looks at the database for campaigns changed elsewhere
REMEMBER_DISPOSED = 10_000  # calls whose outcome was recorded, kept to answer a repeated one
BUDGET_EVERY = 10.0  # seconds between two looks at the running campaigns' spending
AWAY = "left the workplace"  # the pause reason of an operator whose workplace page closed


@dataclass(frozen=True)
class RunningCampaign:
    """A campaign's loop in this process, the event that stops it launching, and its task."""

    loop: CampaignLoop
    stop: asyncio.Event
    task: asyncio.Task[None]


class EngineService:
    def __init__(
        self, db: AsyncEngine, telephony: Telephony | None, phones: Phones, *, instance: str
    ) -> None:
        """``telephony`` None: no trunk, campaigns do not dial (operators can still go ready)."""
        self.db = db
        self.telephony = telephony
        self.phones = phones
        self.instance = instance
        self.board = OperatorBoard()
        self.connector = Connector(self.board)  # one for every campaign: priorities across them
        self.bus = EventBus()
        self.board.listeners.append(self._operator_moved)
        self.journal = Journal(db)
        self._budgets_checked = -BUDGET_EVERY
        self._last_campaign: dict[str, tuple[int, int]] = {}  # operator -> campaign, project of their call
        self.loops: dict[int, RunningCampaign] = {}
        self.disposed: dict[str, str] = {}  # call -> operator, the outcomes recorded lately (oldest first)
        self.present: dict[str, int] = {}  # operator -> their workplace pages open
        self.away: dict[str, float] = {}  # operator -> when they are paused unless they come back
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._recover()
        await self.journal.start()
        self._supervisor = asyncio.create_task(self._supervise(), name="engine-supervisor")

    async def _recover(self) -> None:
        """Close the calls this instance left open when it died (kill -9, power cut): their leads go
        back to the queue. Before any dialling, so nothing is dialled twice at once."""
        async with reading(self.db) as conn:
            rows = (await conn.execute(select(PROJECT.c.id, PROJECT.c.slug, PROJECT.c.region,
                                              PROJECT.c.webhook_url))).all()  # fmt: skip
        closed = 0
        for row in rows:
            project = ProjectRef(row.id, row.slug, row.region, row.webhook_url)
            closed += await close_interrupted(self.db, project, at=utcnow(), owner=self.instance)
        if closed:
            log.warning("calls interrupted by the last stop closed; their leads are queued again",
                        attempts=closed, instance=self.instance)  # fmt: skip

    async def stop(self) -> None:
        """Stop launching; the calls in progress may go on for ``SHUTDOWN_DRAIN`` seconds."""
        self._stop.set()
        if self._supervisor is not None:
            await self._supervisor
        for running in list(self.loops.values()):
            if running.loop.drain_until is None:  # shutting down: calls still up after the drain are hung up
                running.loop.drain_until = running.loop.clock() + SHUTDOWN_DRAIN
            running.stop.set()
            await running.task
        self.loops.clear()
        await self.journal.stop()

    # -- campaigns ---------------------------------------------------------------------------------

    def campaigns_changed(self) -> None:
        """A campaign was started, paused or stopped here: look at the database now."""
        self._wake.set()

    async def _supervise(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self._pause_the_away()
                self._sample_dial_levels()
                await self._pause_the_spent()
                await self._sync_campaigns()
            except Exception:
                log.exception("engine supervision failed; retrying")
            stop, wake = asyncio.ensure_future(self._stop.wait()), asyncio.ensure_future(self._wake.wait())
            await asyncio.wait([stop, wake], timeout=SUPERVISE_EVERY, return_when=asyncio.FIRST_COMPLETED)
            for waiter in (stop, wake):
                waiter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiter

    async def _sync_campaigns(self) -> None:
        async with reading(self.db) as conn:
            rows = (
                await conn.execute(
                    select(
                        CAMPAIGN,
                        PROJECT.c.slug,
                        PROJECT.c.region,
                        PROJECT.c.webhook_url,
                        PROJECT.c.disposition_limit,
                    )
                    .join(PROJECT, PROJECT.c.id == CAMPAIGN.c.project_id)
                    .where(CAMPAIGN.c.status == "running")
                )
            ).all()
        running = {row.id: row for row in rows if self.telephony is not None}
        for campaign_id, found in list(self.loops.items()):
            if campaign_id not in running and not found.stop.is_set() and not found.task.done():
                # stopped or paused: no new calls, but the loop stays (its calls are still on the
                # operators' screens, their dispositions apply) until its last call ends
                found.stop.set()
        for campaign_id, row in running.items():
            if campaign_id not in self.loops:
                self._start_loop(row)

    def _sample_dial_levels(self) -> None:
        now = time.monotonic()
        for campaign_id, running in self.loops.items():
            view = self.campaign_view(campaign_id)
            decision = running.loop.last_decision
            if view is None or decision is None:
                continue
            at_work = len([o for o in self.operators(running.loop.campaign.project.id)
                           if o.state not in ("offline", "paused")])  # fmt: skip
            self.journal.dial_level(campaign_id, now, level=view.dial_level, calls=view.calls_in_progress,
                                    operators=at_work, reason=decision.reason,
                                    strategy=decision.strategy)  # fmt: skip

    async def _pause_the_spent(self) -> None:
        """A running campaign whose calls cost its budget or more pauses itself, saying why."""
        now = time.monotonic()
        if now < self._budgets_checked + BUDGET_EVERY:
            return
        self._budgets_checked = now
        for campaign_id, reason in (await pause_the_spent(self.db, list(self.loops))).items():
            log.warning("campaign budget spent; paused", campaign=campaign_id, reason=reason)
            self._wake.set()

    def _start_loop(self, row: Any) -> None:
        assert self.telephony is not None
        project = ProjectRef(row.project_id, row.slug, row.region, row.webhook_url)
        mode = CampaignMode(row.mode)
        pacer = make_pacer(
            mode.value if mode.paced else CampaignMode.PROGRESSIVE.value, abandon_target=row.abandon_target,
            ring_timeout=row.ring_timeout, abandon_after=2.0, rng=np.random.default_rng(),
            window_seconds=86400.0 if row.abandon_window == "24h" else 30 * 86400.0,
        )  # fmt: skip
        loop = CampaignLoop(
            engine=self.db, telephony=self.telephony, pacer=pacer, board=self.board, owner=self.instance,
            connector=self.connector, bus=self.bus,
            campaign=CampaignSettings(row.id, project, caller_id=row.caller_id, ring_timeout=row.ring_timeout,
                                      max_attempts=row.max_attempts, retry_delays=dict(row.retry_delays),
                                      priority=row.priority, wrap_up=row.wrap_up, mode=mode,
                                      callback_grace=float(row.callback_grace),
                                      callback_policy=CallbackPolicy(row.callback_policy), amd=row.amd,
                                      amd_action=row.amd_action, amd_sample=row.amd_sample,
                                      disposition_limit=float(row.disposition_limit)),
        )  # fmt: skip
        stop = asyncio.Event()
        task = asyncio.create_task(loop.run(stop), name=f"campaign-{row.id}")
        self.loops[row.id] = RunningCampaign(loop, stop, task)
        task.add_done_callback(functools.partial(self._loop_ended, row.id))
        log.info("campaign started", campaign=row.id, mode=mode.value)

    def _loop_ended(self, campaign_id: int, task: asyncio.Task[None]) -> None:
        """A stopped campaign's last call has ended (or its loop failed): forget the loop."""
        found = self.loops.get(campaign_id)
        if found is not None and found.task is task:
            del self.loops[campaign_id]
        if not task.cancelled() and task.exception() is not None:
            log.error("campaign loop failed", campaign=campaign_id, error=repr(task.exception()))

    # -- operators ---------------------------------------------------------------------------------

    async def ready(self, login: str) -> OperatorState:
        """Call the operator's phone (once per shift) and make them ready for calls."""
        async with reading(self.db) as conn:
            account = next((a for a in await accounts(conn) if a.login == login and a.active), None)
        if account is None:
            raise NotFound(f"no active operator {login!r}")
        owed = self._owed(login)
        if owed is not None:
            raise Conflict(f"operator {login}: record the outcome of the last call first")
        await self.phones.call(login)
        operator = self.board.log_in(login, account.projects, time.monotonic())
        if operator.state in (OperatorState.OFFLINE, OperatorState.PAUSED, OperatorState.WRAP_UP):
            operator.move(OperatorState.READY, time.monotonic())  # wrap-up ends early when they say so
        return operator.state  # reserved or talking: a call is on its way or on, nothing changes

    def pause(self, login: str, reason: str) -> OperatorState:
        operator = self.board.get(login)
        operator.move(OperatorState.PAUSED, time.monotonic(), reason=reason)
        return operator.state

    def offline(self, login: str) -> OperatorState:
        """The operator leaves: a client still on their line is hung up (never left bridged to a line
        nobody is on; the attempt ends as a talked call), then their phone."""
        operator = self.board.get(login)
        self._hang_up_client_of(login, why="operator went offline")
        operator.move(OperatorState.OFFLINE, time.monotonic())
        self.phones.hang_up(login)
        return operator.state

    def _hang_up_client_of(self, login: str, *, why: str) -> None:
        on_screen = self.current(login)
        if on_screen is not None and on_screen.call_id is not None and self.telephony is not None:
            log.warning("hanging up the client of an operator who left", operator=login,
                        call_id=on_screen.call_id, why=why)  # fmt: skip
            self.telephony.hangup(on_screen.call_id)

    def _owed(self, login: str) -> tuple[int, Awaiting] | None:
        """The ended call ``login`` has not recorded the outcome of, with its campaign."""
        for campaign_id, running in self.loops.items():
            found = running.loop.screen_of(login)
            if found is not None:
                return campaign_id, found
        return None

    def current(self, login: str) -> OnScreen | None:
        # One connector serves every loop: find the operator's calls there once, then their campaign.
        calls = [call_id for call_id, operator in self.connector.operator_of.items() if operator == login]
        for campaign_id, running in self.loops.items():
            loop = running.loop
            for call_id in calls:
                call = loop.book.calls.get(call_id)
                if call is not None and call.phase is CallPhase.CONNECTED:
                    return OnScreen(call_id, campaign_id, call.lead_id, call.phone,
                                    amd_check=call_id in loop.amd_sampled)  # fmt: skip
            preview = loop.previews.get(login)
            if preview is not None:
                lease = preview.lease
                return OnScreen(None, campaign_id, lease.lead_id, lease.phone, preview=True)
        owed = self._owed(login)
        if owed is not None:
            campaign_id, waiting = owed
            sampled = waiting.call_id in self.loops[campaign_id].loop.amd_sampled
            return OnScreen(waiting.call_id, campaign_id, waiting.lead_id, waiting.phone, ended=True,
                            amd_check=sampled)  # fmt: skip
        return None

    async def preview(self, login: str, action: str) -> str | None:
        """The operator starts (``dial``: returns the call's id) or skips the lead in preview."""
        for running in self.loops.values():
            if login in running.loop.previews:
                if action == "dial":
                    return await running.loop.start_preview(login)
                await running.loop.skip_preview(login)
                return None
        raise Conflict(f"operator {login} has no lead in preview")

    async def dispose(self, login: str, disposition: Disposition, call_id: str | None = None) -> str:
        """Record the operator's outcome for their call: during the call (it is hung up, the outcome
        applies when it ends) or after it. ``call_id`` names the call the operator saw: the same
        outcome sent again (a double click, a retry after a timeout) is applied once and never to
        the next call. Returns ``recorded``, ``already`` (that call's outcome was recorded before)
        or ``none`` (no call, and none named)."""
        on_screen = self.current(login)
        if call_id is not None and (on_screen is None or on_screen.call_id != call_id):
            if self.disposed.get(call_id) == login:
                return "already"
            raise Conflict(f"operator {login}: call {call_id} is not on your screen")
        if on_screen is None or on_screen.call_id is None or self.telephony is None:
            return "none"
        loop = self.loops[on_screen.campaign].loop
        self._remember_disposed(on_screen.call_id, login)
        if on_screen.ended:
            await loop.record_outcome(on_screen.call_id, disposition)
        else:
            loop.dispose(on_screen.call_id, disposition)
            self.telephony.hangup(on_screen.call_id)
        return "recorded"

    async def call_lead(self, login: str, lead_id: int, campaign_id: int) -> str:
        """The operator calls a lead of ``campaign_id`` by hand; the call's id."""
        running = self.loops.get(campaign_id)
        if running is None or not running.loop.launching:
            raise Conflict("the lead's campaign is not running")
        if self._owed(login) is not None:
            raise Conflict(f"operator {login}: record the outcome of the last call first")
        return await running.loop.call_now(login, lead_id)

    def _remember_disposed(self, call_id: str, login: str) -> None:
        self.disposed[call_id] = login
        while len(self.disposed) > REMEMBER_DISPOSED:
            del self.disposed[next(iter(self.disposed))]

    def hang_up_client(self, login: str) -> bool:
        """The operator ends the call with their client (the wrap-up follows); False when none."""
        on_screen = self.current(login)
        if on_screen is None or on_screen.call_id is None or on_screen.ended or self.telephony is None:
            return False
        self.telephony.hangup(on_screen.call_id)
        return True

    def extend_wrap_up(self, login: str, seconds: float) -> float:
        """Give the operator ``seconds`` more of wrap-up; returns the seconds left."""
        operator = self.board.get(login)
        if operator.state is not OperatorState.WRAP_UP or operator.wrap_up_until is None:
            raise Conflict(f"operator {login} is not in wrap-up")
        now = time.monotonic()
        operator.wrap_up_until = max(operator.wrap_up_until, now) + seconds
        self._operator_moved(operator)
        return operator.wrap_up_until - now

    def in_call(self, login: str, *, hold: bool | None = None, mute: bool | None = None,
                digits: str | None = None) -> None:  # fmt: skip
        """Hold, mute, or send DTMF digits on the operator's call with the client."""
        on_screen = self.current(login)
        if on_screen is None or on_screen.call_id is None or on_screen.ended or self.telephony is None:
            raise Conflict(f"operator {login} is not on a call")
        if hold is not None or mute is not None:
            self.telephony.audio(on_screen.call_id, hold=hold, mute=mute)
        if digits:
            self.telephony.send_digits(on_screen.call_id, digits)

    def seen(self, login: str, present: bool, *, away_limit: float) -> None:
        """The operator's workplace page opened (``present``) or its last one closed: a ready operator
        away longer than ``away_limit`` seconds is paused (``left the workplace``)."""
        if present:
            self.present[login] = self.present.get(login, 0) + 1
            self.away.pop(login, None)
            return
        self.present[login] = max(0, self.present.get(login, 0) - 1)
        if self.present[login] == 0:
            self.away[login] = time.monotonic() + away_limit

    def _pause_the_away(self) -> None:
        now = time.monotonic()
        for login, until in list(self.away.items()):
            if now < until:
                continue
            del self.away[login]
            operator = self.board.operators.get(login)
            if operator is not None and operator.state is OperatorState.READY:
                operator.move(OperatorState.PAUSED, now, reason=AWAY)
                log.warning("operator left the workplace; paused", operator=login)

    def _operator_moved(self, operator: Operator) -> None:
        data = {"state": operator.state.value, "reason": operator.pause_reason}
        self.bus.publish(EngineEvent("operator.state", operator=operator.login, data=data))
        self.journal.moved(operator.login, operator.state.value, operator.pause_reason,
                           self._campaign_of_state(operator))  # fmt: skip

    def _campaign_of_state(self, operator: Operator) -> tuple[int, int] | None:
        """The campaign and project an operator's new state belongs to: their call's while reserved or
        talking, the call just ended's in wrap-up, none otherwise."""
        login = operator.login
        if operator.state in (OperatorState.RESERVED, OperatorState.TALKING):
            shown = self.current(login)
            running = self.loops.get(shown.campaign) if shown is not None else None
            if shown is not None and running is not None:
                self._last_campaign[login] = (shown.campaign, running.loop.campaign.project.id)
                return self._last_campaign[login]
            return None
        if operator.state is OperatorState.WRAP_UP:
            return self._last_campaign.get(login)
        return None

    def phone_dropped(self, login: str) -> None:
        """The operator's phone line ended on its own: their client is hung up, they are paused."""
        if self._stop.is_set():
            return  # we hung the legs up ourselves while stopping
        operator = self.board.operators.get(login)
        self._hang_up_client_of(login, why="operator's phone dropped")
        if operator is not None and operator.state is not OperatorState.OFFLINE:
            with contextlib.suppress(Conflict):
                operator.move(OperatorState.PAUSED, time.monotonic(), reason="phone dropped")
            log.warning("operator phone dropped; operator paused", operator=login)

    # -- views for the web -------------------------------------------------------------------------

    def operators(self, project_id: int | None = None) -> list[OperatorView]:
        """The operators on the board (those working ``project_id`` when given), by login."""
        now = time.monotonic()
        return [
            OperatorView(
                o.login,
                o.state.value,
                round(now - o.since, 1),
                o.calls_today,
                o.pause_reason,
                frozenset(o.projects),
            )
            for o in sorted(self.board.operators.values(), key=lambda o: o.login)
            if project_id is None or project_id in o.projects
        ]

    def operator(self, login: str) -> OperatorView | None:
        """``login`` on the board; None when they have not gone ready since the start."""
        return next((o for o in self.operators() if o.login == login), None)

    def operators_by_state(self, project_id: int | None = None) -> dict[str, list[OperatorView]]:
        by_state: dict[str, list[OperatorView]] = {state.value: [] for state in OperatorState}
        for operator in self.operators(project_id):
            by_state[operator.state].append(operator)
        return by_state

    def calls_by_phase(self, project_id: int) -> dict[str, int]:
        """The project's calls in progress here: ringing, waiting for an operator, talking."""
        counts = {phase.value: 0 for phase in (CallPhase.RINGING, CallPhase.WAITING, CallPhase.CONNECTED)}
        for running in self.loops.values():
            if running.loop.campaign.project.id != project_id:
                continue
            for call in running.loop.book.calls.values():
                if call.phase.value in counts:
                    counts[call.phase.value] += 1
        return counts

    def campaign_view(self, campaign_id: int) -> CampaignView | None:
        """The campaign's loop in this process; None when it runs no loop here."""
        running = self.loops.get(campaign_id)
        if running is None:
            return None
        loop = running.loop
        stats = loop.stats
        window = loop.pacer.window(loop.clock())
        project = loop.campaign.project.id
        at_work = [o for o in self.operators(project) if o.state not in ("offline", "paused")]
        amd = loop.campaign.amd
        return CampaignView(
            dialing=loop.launching, calls_in_progress=loop.calls_in_progress, launched=stats.launched,
            answered=stats.answered, connected=stats.connected, abandoned=stats.abandoned,
            last_decision=loop.last_decision.reason if loop.last_decision else None,
            dial_level=round(loop.calls_in_progress / len(at_work), 2) if at_work else None,
            window_answers=window.answers, window_abandons=window.abandons,
            abandon_rate=round(window.rate, 4), abandon_budget=round(window.budget_left, 2), amd=amd,
            amd_false_positive_rate=round(loop.amd_false_positive_rate, 4) if amd else None,
            amd_hidden_abandons=round(window.hidden_abandons, 2) if amd else None,
            amd_reviews=loop.amd_reviews if amd else None,
        )  # fmt: skip

    def phone(self, login: str) -> PhoneState:
        """The operator's phone as the dialer sees it (registered, line up, silent for how long)."""
        return self.phones.status(login)

    def screen(self, login: str) -> OperatorScreen:
        operator = self.board.operators.get(login)
        if operator is None:
            return OperatorScreen(OperatorState.OFFLINE.value, self.current(login))
        now = time.monotonic()
        left = None
        if operator.state is OperatorState.WRAP_UP and operator.wrap_up_until is not None:
            left = round(operator.wrap_up_until - now, 1)
        return OperatorScreen(operator.state.value, self.current(login), round(now - operator.since, 1),
                              operator.pause_reason, left, operator.calls_today)  # fmt: skip


def _view(operator: Operator, now: float) -> OperatorView:
    o = operator
    return OperatorView(o.login, o.state.value, round(now - o.since, 1), o.calls_today, o.pause_reason,
                        frozenset(o.projects))  # fmt: skip


async def lead_card(db: AsyncEngine, lead_id: int) -> dict[str, Any]:
    """The lead as the operator's card shows it."""
    async with reading(db) as conn:
        row = (await conn.execute(select(LEAD).where(LEAD.c.id == lead_id))).mappings().one()
    return {
        "external_id": row["external_id"],
        "name": row["name"],
        "phones": row["phones"],
        "extensions": row["phone_extensions"] or {},
        "data": row["data"],
    }
