"""The engine as ``dialer serve`` runs it: operators' phones, trunks, and one loop per running campaign.

:class:`EngineService` owns the phones' SIP stack with the registrar (credentials from the operator
accounts, refreshed every 30 s), the media clock, the operators' board, the trunk pool of the
configured SIP trunks, and a supervisor task that starts a :class:`CampaignLoop` for every campaign
whose status is ``running`` and stops it (letting calls finish) when it is paused or stopped.
Operators act through :meth:`ready`, :meth:`pause`, :meth:`offline`, :meth:`current`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.accounts.operators import SIP_REALM, accounts, sip_secrets
from dialer.accounts.projects import ProjectRef
from dialer.config import Settings
from dialer.engine.attempts import Disposition, close_interrupted
from dialer.engine.board import Operator, OperatorBoard, OperatorState
from dialer.engine.bus import EngineEvent, EventBus
from dialer.engine.callbacks import CallbackPolicy
from dialer.engine.callbook import CallPhase
from dialer.engine.connector import Connector
from dialer.engine.loop import CampaignLoop, CampaignSettings
from dialer.errors import DialerError
from dialer.storage import reading
from dialer.storage.tables import CAMPAIGN, LEAD, PROJECT
from dialer.storage.types import utcnow
from dialer.throttle import Throttle
from dialer.voice import bindings as phone_bindings
from dialer.voice.bindings import BindingKeeper
from dialer.voice.telephony import OperatorPhones, SipTelephony
from dialer.voice.trunks import advertised, open_agent
from pacing import make_pacer
from sip.media.clock import MediaClock
from sip.media.player import load_wav
from sip.registrar import Registrar
from sip.stack import SipStack
from sip.trunks import TrunkPool, TrunkState
from sip.useragent import UserAgent

SHUTDOWN_DRAIN = 60.0  # seconds the calls in progress may go on when the process stops
log = structlog.get_logger(__name__)
SUPERVISE_EVERY = 2.0
SECRETS_EVERY = 30.0
PACERS = {"predictive": "predictive", "progressive": "progressive"}  # preview, callback: no pacer


@dataclass(frozen=True)
class OnScreen:
    """What an operator's workplace shows: the connected call and its lead."""

    call_id: str | None  # None while the lead is shown for preview, before the call
    campaign: int
    lead_id: int
    phone: str
    preview: bool = False
    amd_check: bool = False  # judged a machine, let through: the operator marks person or machine


class EngineService:
    def __init__(self, settings: Settings, engine: AsyncEngine, throttle: Throttle | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.throttle = throttle or Throttle()
        self.instance = settings.server.instance or f"{socket.gethostname()}:{settings.server.port}"
        self.board = OperatorBoard()
        self.connector = Connector(self.board)  # one for every campaign: priorities across them
        self.bus = EventBus()
        self.board.listeners.append(self._operator_moved)
        self.clock = MediaClock()
        self.loops: dict[int, tuple[CampaignLoop, asyncio.Event, asyncio.Task[None]]] = {}
        self._secrets: dict[str, str] = {}
        self._secrets_at = 0.0
        self._stop = asyncio.Event()
        self._stacks: list[SipStack] = []
        self._supervisor: asyncio.Task[None] | None = None
        self._bindings: BindingKeeper | None = None
        self.pool: TrunkPool | None = None
        self.telephony: SipTelephony | None = None

    async def start(self) -> None:
        sip = self.settings.sip
        remembered = await phone_bindings.load(self.engine, self.instance)  # before any REGISTER arrives
        phone_stack = SipStack()
        await phone_stack.open(sip.host, sip.port)
        phone_stack.advertised = advertised(sip.public_address, phone_stack.local[1])
        self._stacks.append(phone_stack)
        # before the registrar; each phone sees us its own way, so nothing is learned from their answers
        agent = UserAgent(phone_stack, (sip.host, 9), domain=SIP_REALM, learn_address=False)
        agent.media_ports = sip.rtp_ports
        self._bindings = BindingKeeper(self.engine, self.instance)
        self.registrar = Registrar(phone_stack, realm=SIP_REALM, ha1_of=self._secrets.get,
                                   on_change=self._bindings.changed, guard=self.throttle)  # fmt: skip
        for binding in remembered:
            self.registrar.restore(binding)
        self.registrar.install()
        self._bindings.start()
        self.phones = OperatorPhones(self.registrar, agent, self.clock, on_dropped=self._phone_dropped,
                                     silence_limit=sip.phone_silence_limit)  # fmt: skip
        await self._refresh_secrets()
        trunks: dict[str, TrunkState] = {}
        for name, trunk in self.settings.trunks.items():
            if trunk.kind != "sip" or trunk.host is None:
                continue
            ua = await open_agent(name, trunk, sip)
            self._stacks.append(ua.stack)
            trunks[name] = TrunkState(name, trunk, ua)
        if trunks:
            self.pool = TrunkPool(trunks)
            await self.pool.start()
            message = load_wav(sip.safe_harbor) if sip.safe_harbor else None
            recordings = self.settings.recordings
            self.telephony = SipTelephony(
                self.pool, self.clock, self.phones, message=message,
                recordings=recordings.directory if recordings.enabled else None,
            )  # fmt: skip
        else:
            log.warning(
                "no SIP trunk configured: campaigns will not dial (the simulated carrier has no SIP side)"
            )
        await self._recover()
        self._supervisor = asyncio.create_task(self._supervise(), name="engine-supervisor")

    async def _recover(self) -> None:
        """Close the calls this instance left open when it died (kill -9, power cut): their leads go
        back to the queue. Before any dialling, so nothing is dialled twice at once."""
        async with reading(self.engine) as conn:
            rows = (await conn.execute(select(PROJECT.c.id, PROJECT.c.slug, PROJECT.c.region,
                                              PROJECT.c.webhook_url))).all()  # fmt: skip
        closed = 0
        for row in rows:
            project = ProjectRef(row.id, row.slug, row.region, row.webhook_url)
            closed += await close_interrupted(self.engine, project, at=utcnow(), owner=self.instance)
        if closed:
            log.warning("calls interrupted by the last stop closed; their leads are queued again",
                        attempts=closed, instance=self.instance)  # fmt: skip

    async def stop(self) -> None:
        self._stop.set()
        if self._supervisor is not None:
            await self._supervisor
        for loop, loop_stop, task in list(self.loops.values()):
            if loop.drain_until is None:  # shutting down: calls still up after the drain are hung up
                loop.drain_until = loop.clock() + SHUTDOWN_DRAIN
            loop_stop.set()
            await task
        self.loops.clear()
        for login in list(self.phones.legs):
            self.phones.hang_up(login)
        if self.telephony is not None:
            await self.telephony.close()
        if self.pool is not None:
            await self.pool.stop()
        await asyncio.sleep(0.2)  # let BYEs go out
        for stack in self._stacks:
            stack.close()
        if self._bindings is not None:
            await self._bindings.stop()

    # -- supervision -------------------------------------------------------------------------------

    async def _refresh_secrets(self) -> None:
        async with reading(self.engine) as conn:
            fresh = await sip_secrets(conn)
        self._secrets.clear()
        self._secrets.update(fresh)
        self._secrets_at = time.monotonic()

    async def _supervise(self) -> None:
        while not self._stop.is_set():
            try:
                if time.monotonic() - self._secrets_at > SECRETS_EVERY:
                    await self._refresh_secrets()
                await self._sync_campaigns()
            except Exception:
                log.exception("engine supervision failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), SUPERVISE_EVERY)

    async def _sync_campaigns(self) -> None:
        async with reading(self.engine) as conn:
            rows = (
                await conn.execute(
                    select(CAMPAIGN, PROJECT.c.slug, PROJECT.c.region, PROJECT.c.webhook_url)
                    .join(PROJECT, PROJECT.c.id == CAMPAIGN.c.project_id)
                    .where(CAMPAIGN.c.status == "running")
                )
            ).all()
        running = {row.id: row for row in rows if self.telephony is not None}
        for campaign_id, (_, loop_stop, task) in list(self.loops.items()):
            if campaign_id not in running and not loop_stop.is_set() and not task.done():
                # stopped or paused: no new calls, but the loop stays (its calls are still on the
                # operators' screens, their dispositions apply) until its last call ends
                loop_stop.set()
        for campaign_id, row in running.items():
            if campaign_id not in self.loops:
                self._start_loop(row)

    def _start_loop(self, row: Any) -> None:
        assert self.telephony is not None
        project = ProjectRef(row.project_id, row.slug, row.region, row.webhook_url)
        pacer = make_pacer(
            PACERS.get(row.mode, "progressive"), abandon_target=row.abandon_target,
            ring_timeout=row.ring_timeout, abandon_after=2.0, rng=np.random.default_rng(),
            window_seconds=86400.0 if row.abandon_window == "24h" else 30 * 86400.0,
        )  # fmt: skip
        loop = CampaignLoop(
            engine=self.engine, telephony=self.telephony, pacer=pacer, board=self.board, owner=self.instance,
            connector=self.connector, bus=self.bus,
            campaign=CampaignSettings(row.id, project, caller_id=row.caller_id, ring_timeout=row.ring_timeout,
                                      max_attempts=row.max_attempts, retry_delays=dict(row.retry_delays),
                                      priority=row.priority, wrap_up=row.wrap_up, mode=row.mode,
                                      callback_grace=float(row.callback_grace),
                                      callback_policy=CallbackPolicy(row.callback_policy), amd=row.amd,
                                      amd_action=row.amd_action, amd_sample=row.amd_sample),
        )  # fmt: skip
        stop = asyncio.Event()
        task = asyncio.create_task(loop.run(stop), name=f"campaign-{row.id}")
        self.loops[row.id] = (loop, stop, task)
        task.add_done_callback(functools.partial(self._loop_ended, row.id))
        log.info("campaign started", campaign=row.id, mode=row.mode)

    def _loop_ended(self, campaign_id: int, task: asyncio.Task[None]) -> None:
        """A stopped campaign's last call has ended (or its loop failed): forget the loop."""
        if self.loops.get(campaign_id, (None, None, None))[2] is task:
            del self.loops[campaign_id]
        if not task.cancelled() and task.exception() is not None:
            log.error("campaign loop failed", campaign=campaign_id, error=repr(task.exception()))

    # -- operators ---------------------------------------------------------------------------------

    async def ready(self, login: str) -> OperatorState:
        """Call the operator's phone (once per shift) and make them ready for calls."""
        async with reading(self.engine) as conn:
            account = next((a for a in await accounts(conn) if a.login == login and a.active), None)
        if account is None:
            raise DialerError(f"no active operator {login!r}")
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

    def current(self, login: str) -> OnScreen | None:
        # One connector serves every loop: find the operator's calls there once, then their campaign.
        calls = [call_id for call_id, operator in self.connector.operator_of.items() if operator == login]
        for campaign_id, (loop, _, _) in self.loops.items():
            for call_id in calls:
                call = loop.book.calls.get(call_id)
                if call is not None and call.phase is CallPhase.CONNECTED:
                    return OnScreen(call_id, campaign_id, call.lead_id, call.phone,
                                    amd_check=call_id in loop.amd_sampled)  # fmt: skip
            preview = loop.previews.get(login)
            if preview is not None:
                lease = preview.lease
                return OnScreen(None, campaign_id, lease.lead_id, lease.phone, preview=True)
        return None

    async def preview(self, login: str, action: str) -> str | None:
        """The operator starts (``dial``: returns the call's id) or skips the lead in preview."""
        for loop, _, _ in self.loops.values():
            if login in loop.previews:
                if action == "dial":
                    return await loop.start_preview(login)
                await loop.skip_preview(login)
                return None
        raise DialerError(f"operator {login} has no lead in preview")

    def dispose(self, login: str, disposition: Disposition) -> bool:
        """Record the operator's disposition for their current call and end it; False when none."""
        on_screen = self.current(login)
        if on_screen is None or on_screen.call_id is None or self.telephony is None:
            return False
        loop = self.loops[on_screen.campaign][0]
        loop.dispose(on_screen.call_id, disposition)
        self.telephony.hangup(on_screen.call_id)
        return True

    def _operator_moved(self, operator: Operator) -> None:
        data = {"state": operator.state.value, "reason": operator.pause_reason}
        self.bus.publish(EngineEvent("operator.state", operator=operator.login, data=data))

    def _phone_dropped(self, login: str) -> None:
        if self._stop.is_set():
            return  # we hung the legs up ourselves while stopping
        operator = self.board.operators.get(login)
        self._hang_up_client_of(login, why="operator's phone dropped")
        if operator is not None and operator.state is not OperatorState.OFFLINE:
            with contextlib.suppress(DialerError):
                operator.move(OperatorState.PAUSED, time.monotonic(), reason="phone dropped")
            log.warning("operator phone dropped; operator paused", operator=login)


async def lead_card(engine: AsyncEngine, lead_id: int) -> dict[str, Any]:
    """The lead as the operator's card shows it."""
    async with reading(engine) as conn:
        row = (await conn.execute(select(LEAD).where(LEAD.c.id == lead_id))).mappings().one()
    return {
        "external_id": row["external_id"],
        "name": row["name"],
        "phones": row["phones"],
        "extensions": row["phone_extensions"] or {},
        "data": row["data"],
    }
