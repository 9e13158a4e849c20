"""The composition root: everything one ``dialer serve`` process runs, assembled in one place.

:class:`Runtime` opens the database (migrated, or it refuses to start), starts the senders of the
webhook and message outboxes (:class:`~sms_email.sender.MessageSender` over the configured channels),
and, unless ``[sip] enabled = false``, the dialer's SIP side (:class:`~dialer.voice.side.
VoiceSide`: phones, registrar, trunks) and the engine (:class:`~dialer.engine.service.EngineService`)
on top of its two seams. It is the only module that knows all of them; the web application holds a
runtime and asks it, through the engine's frozen views, what is going on. Every task it starts is kept
and awaited on :meth:`Runtime.stop`, in the reverse order of starting.
"""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.accounts import people
from dialer.config import Settings
from dialer.engine.service import EngineService
from dialer.engine.views import TrunkView
from dialer.errors import Conflict, DialerError, Rejected
from dialer.storage import create_engine, ensure_migrated, reading
from dialer.throttle import Throttle
from dialer.voice.side import VoiceSide
from dialer.web import api, console, web_app, workplace
from dialer.web import reports as reports_pages
from dialer.webhooks import WebhookSender
from reports.rollup import keep_summed
from reports.summary import SummaryMailer
from sms_email.channels import open_gateways
from sms_email.sender import ChannelState, MessageSender

log = structlog.get_logger(__name__)


class Runtime:
    def __init__(
        self,
        settings: Settings,
        db: AsyncEngine | None = None,
        *,
        throttle: Throttle | None = None,
        webhooks: bool = True,
    ) -> None:
        """``db``: an open database to use (the caller disposes of it); None opens the configured one.
        ``webhooks`` False: no webhook or message sender (a second process on the same database may
        send)."""
        self.settings = settings
        self.throttle = throttle or Throttle()
        self.instance = settings.server.instance or f"{socket.gethostname()}:{settings.server.port}"
        self._given_db = db
        self._webhooks = webhooks
        self._db: AsyncEngine | None = db
        self.voice: VoiceSide | None = None
        self.engine: EngineService | None = None
        self.messages: MessageSender | None = None
        self._sending: list[asyncio.Task[None]] = []
        self._stop_sending = asyncio.Event()
        self._http: aiohttp.ClientSession | None = None

    @property
    def db(self) -> AsyncEngine:
        if self._db is None:
            raise DialerError("the runtime has not started")
        return self._db

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        if self._db is None:
            database = self.settings.database
            self._db = create_engine(database)
            await ensure_migrated(self._db, database.display_url)
            log.info("database ready", database=database.display_url)
        async with reading(self.db) as conn:
            if not await people.admins(conn):
                log.warning("no admin can sign in to the web console yet: "
                            "run `dialer user add LOGIN --role admin` on this server")  # fmt: skip
        if self._webhooks:
            self._http = aiohttp.ClientSession()
            sender = WebhookSender(self.db, self._http)
            self._sending.append(asyncio.create_task(sender.run(self._stop_sending), name="webhooks"))
            channels = self.settings.channels
            self.messages = MessageSender(self.db, open_gateways(channels, self._http), channels)
            self._sending.append(asyncio.create_task(self.messages.run(self._stop_sending), name="messages"))
            server = self.settings.server
            mailer = SummaryMailer(
                self.db, channels, server.public_url or f"http://{server.host}:{server.port}"
            )
            self._sending.append(asyncio.create_task(mailer.run(self._stop_sending), name="daily-summaries"))
            self._sending.append(
                asyncio.create_task(keep_summed(self.db, self._stop_sending), name="hourly-sums")
            )
        if not self.settings.sip.enabled:
            return
        self.voice = VoiceSide(self.settings, self.db, self.instance, self.throttle)
        try:
            await self.voice.start(on_phone_dropped=self._phone_dropped)
        except OSError as exc:
            sip = self.settings.sip
            raise DialerError(
                f"cannot listen for operators' phones on {sip.host}:{sip.port}: {exc.strerror or exc}"
            ) from None
        self.engine = EngineService(self.db, self.voice.telephony, self.voice.phones, instance=self.instance)
        await self.engine.start()

    async def stop(self) -> None:
        """Stop dialing (calls in progress drain), hang up the phones and trunks, stop sending
        webhooks and messages, close the database when the runtime opened it."""
        if self.engine is not None:
            await self.engine.stop()
        if self.voice is not None:
            await self.voice.stop()
        self._stop_sending.set()
        for task in self._sending:
            await task
        if self._http is not None:
            await self._http.close()
        if self._db is not None and self._given_db is None:
            await self._db.dispose()

    def _phone_dropped(self, login: str) -> None:
        if self.engine is not None:
            self.engine.phone_dropped(login)

    def trunks(self) -> list[TrunkView]:
        """The trunks by state (none without the SIP side)."""
        return self.voice.trunks() if self.voice is not None else []

    def messages_queued(self) -> None:
        """Messages were queued in this process: the sender looks at once."""
        if self.messages is not None:
            self.messages.wake()

    async def credentials_changed(self) -> None:
        """A password, role or account changed: phones use the new credentials at once."""
        if self.voice is not None:
            await self.voice.refresh_credentials()

    def channels(self) -> list[ChannelState]:
        """The message channels with their parking (none when this process sends no messages)."""
        return self.messages.states() if self.messages is not None else []

    async def browser_phone(self, login: str, offer_sdp: str) -> str:
        """Answer an operator's browser phone (WebRTC); :class:`Conflict` when this process has no
        phones or the browser phone is off, :class:`Rejected` for an offer that cannot be answered."""
        if self.voice is None or not self.settings.webrtc.enabled:
            raise Conflict("the browser phone is not available on this server")
        try:
            return await self.voice.browser_phone(login, offer_sdp)
        except ValueError as exc:
            raise Rejected(str(exc)) from None

    def echo(self, login: str, on: bool) -> bool:
        return self.voice.echo(login, on) if self.voice is not None else False


async def _started(settings: Settings, throttle: Throttle) -> Runtime:
    runtime = Runtime(settings, throttle=throttle)
    await runtime.start()
    return runtime


def create_app(settings: Settings) -> web.Application:
    """The web application serving a runtime for ``settings`` (opened when the server starts)."""
    return web_app(settings, _started, audiences=(console, workplace, reports_pages, api))
