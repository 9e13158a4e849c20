"""Opening and closing the dialer's SIP side for the runtime: phones, registrar, trunks, media clock.

:class:`VoiceSide` listens for the operators' phones (the built-in registrar, with the credentials of
the operator accounts refreshed every 30 s and the bindings remembered across restarts), opens the
configured trunks as one :class:`~sip.trunks.TrunkPool` (starting the built-in simulated carrier of
a ``kind = "simulated"`` trunk first: :mod:`dialer.voice.carrier`), and gives the engine its two seams:
:attr:`telephony` (None when no SIP trunk is configured) and :attr:`phones`. Its only task, the
credentials refresh, is kept and awaited on :meth:`stop`, which also waits for the BYEs it sent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.accounts.operators import SIP_REALM, sip_secrets
from dialer.config import Settings
from dialer.engine.views import TrunkView
from dialer.storage import reading
from dialer.throttle import Throttle
from dialer.voice import bindings, browser_phone
from dialer.voice.browser_phone import IceServer, WebRtcLeg
from dialer.voice.carrier import SimulatedCarrier
from dialer.voice.phones import OperatorPhones
from dialer.voice.telephony import SipTelephony
from dialer.voice.trunks import advertised, open_agent
from sip.registrar import Registrar
from sip.stack import SipStack
from sip.streams.clock import MediaClock
from sip.streams.player import load_wav
from sip.trunks import TrunkPool, TrunkState
from sip.useragent import UserAgent

log = structlog.get_logger(__name__)
SECRETS_EVERY = 30.0  # seconds between two reads of the operators' SIP credentials
BYE_WAIT = 5.0  # seconds stop() waits for the far ends to answer our BYEs


class VoiceSide:
    def __init__(self, settings: Settings, db: AsyncEngine, instance: str, throttle: Throttle) -> None:
        self.settings = settings
        self.db = db
        self.instance = instance
        self.throttle = throttle
        self.clock = MediaClock()
        self.pool: TrunkPool | None = None
        self.telephony: SipTelephony | None = None
        self._secrets: dict[str, str] = {}
        self._stacks: list[SipStack] = []
        self._agents: list[UserAgent] = []
        self._bindings: bindings.BindingKeeper | None = None
        self._refreshing: asyncio.Task[None] | None = None
        self.carriers: dict[str, SimulatedCarrier] = {}  # the built-in simulated carriers, by trunk
        self._stop = asyncio.Event()

    async def start(self, on_phone_dropped: Callable[[str], None]) -> None:
        """Listen for the phones, open the trunks; ``on_phone_dropped(login)`` when a phone's line
        ends on its own (hung up, silent, lost)."""
        sip = self.settings.sip
        remembered = await bindings.load(self.db, self.instance)  # before any REGISTER arrives
        phone_stack = SipStack()
        await phone_stack.open(sip.host, sip.port)
        phone_stack.advertised = advertised(sip.public_address, phone_stack.local[1])
        self._stacks.append(phone_stack)
        # each phone sees us its own way, so nothing is learned from their answers
        agent = UserAgent(phone_stack, (sip.host, 9), domain=SIP_REALM, learn_address=False)
        agent.media_ports = sip.rtp_ports
        self._agents.append(agent)
        self._bindings = bindings.BindingKeeper(self.db, self.instance)
        self.registrar = Registrar(phone_stack, realm=SIP_REALM, ha1_of=self._secrets.get,
                                   on_change=self._bindings.changed, guard=self.throttle)  # fmt: skip
        for binding in remembered:
            self.registrar.restore(binding)
        self.registrar.install()
        self._bindings.start()
        self.phones = OperatorPhones(self.registrar, agent, self.clock, on_dropped=on_phone_dropped,
                                     silence_limit=sip.phone_silence_limit)  # fmt: skip
        await self.refresh_credentials()
        self._refreshing = asyncio.create_task(self._keep_secrets(), name="sip-credentials")
        trunks: dict[str, TrunkState] = {}
        for name, configured in self.settings.trunks.items():
            trunk = configured
            if configured.kind == "simulated":
                carrier = SimulatedCarrier(name, configured, self.clock)
                await carrier.start()
                self.carriers[name] = carrier
                trunk = carrier.trunk()  # reached like any carrier: an ordinary SIP trunk to it
            elif configured.host is None:
                continue
            ua = await open_agent(name, trunk, sip)
            self._stacks.append(ua.stack)
            self._agents.append(ua)
            trunks[name] = TrunkState(name, trunk, ua)
        if not trunks:
            log.warning("no trunk configured: campaigns will not dial")
            return
        self.pool = TrunkPool(trunks)
        await self.pool.start()
        message = load_wav(sip.safe_harbor) if sip.safe_harbor else None
        recordings = self.settings.recordings
        self.telephony = SipTelephony(
            self.pool, self.clock, self.phones, message=message,
            recordings=recordings.directory if recordings.enabled else None,
        )  # fmt: skip

    async def stop(self) -> None:
        """Hang up the phones, finish the recordings, unregister the trunks, wait for the BYEs."""
        self._stop.set()
        if self._refreshing is not None:
            await self._refreshing
        if hasattr(self, "phones"):
            await self.phones.close()
        if self.telephony is not None:
            await self.telephony.close()
        if self.pool is not None:
            await self.pool.stop()
        await asyncio.gather(*(agent.settle(BYE_WAIT) for agent in self._agents))
        for carrier in self.carriers.values():
            await carrier.stop()
        for stack in self._stacks:
            stack.close()
        if self._bindings is not None:
            await self._bindings.stop()

    def trunks(self) -> list[TrunkView]:
        """The trunks by state, for the supervisor's screens."""
        if self.pool is None:
            return []
        now = asyncio.get_running_loop().time()
        return [
            TrunkView(
                name, state.up, state.registered, state.reason, len(state.active), state.config.max_channels,
                cps=float(sum(1 for t in state.launches if t > now - 1.0)), max_cps=state.config.max_cps,
            )
            for name, state in sorted(self.pool.trunks.items())
        ]  # fmt: skip

    async def browser_phone(self, login: str, offer_sdp: str) -> str:
        """The operator's browser offers its audio: answer it and make it their phone; the answer's
        SDP. ValueError when the offer cannot be answered."""
        servers = [IceServer(s.urls, s.username, s.credential.get_secret_value() if s.credential else None)
                   for s in self.settings.webrtc.ice_servers]  # fmt: skip
        leg, sdp = await browser_phone.answer(self.clock, offer_sdp, servers)
        self.phones.attach_browser(login, leg)
        log.info("operator's browser is their phone", operator=login)
        return sdp

    def echo(self, login: str, on: bool) -> bool:
        """Play the operator's voice back to them (the browser phone's test); False without one."""
        phone = self.phones.legs.get(login)
        if phone is None or not isinstance(phone.leg, WebRtcLeg):
            return False
        phone.leg.echo = on
        return True

    async def refresh_credentials(self) -> None:
        """Read the operators' SIP credentials now (an account was just added: it may register at once)."""
        async with reading(self.db) as conn:
            fresh = await sip_secrets(conn)
        self._secrets.clear()
        self._secrets.update(fresh)

    async def _keep_secrets(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), SECRETS_EVERY)
            if self._stop.is_set():
                return
            try:
                await self.refresh_credentials()
            except Exception:
                log.exception("reading the operators' SIP credentials failed; retrying")
