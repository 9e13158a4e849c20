"""``dialer demo``: the server of ``dialer serve`` with the demo call centre inside it.

The application is :func:`dialer.runtime.create_app`'s, plus one more resource started after the
runtime: it seeds the demo (once), prints what a person needs to look around (the project token and
the human operator's password, shown when they are made), registers the ten virtual operators' phones
and starts their bots, which sign in over the HTTP API once the server listens. On Ctrl-C the bots go
offline first, then the runtime stops as ``dialer serve`` does.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp
import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.config import Settings
from dialer.config_channels import SmscSettings, SmtpSettings
from dialer.demo import seed
from dialer.demo.mailbox import Mailbox
from dialer.demo.operators import OperatorBot, VirtualPhone
from dialer.demo.smsc_sink import SmscSink
from dialer.runtime import Runtime, create_app
from dialer.storage import writing
from dialer.voice.carrier import Voices
from dialer.web.keys import DATABASE, RUNTIME
from sip.streams.clock import MediaClock
from sms_email import store as messages
from sms_email.schema import MessageIn

log = structlog.get_logger(__name__)


def demo_app(settings: Settings, *, say: Callable[[str], None] = print, leads: int = 400) -> web.Application:
    base = f"http://{_reachable(settings.server.host)}:{settings.server.port}"
    sms, mailbox = SmscSink(price=Decimal("2.50"), deliver_after=5.0), Mailbox()
    mail_port = _free_port()
    settings = _with_demo_channels(settings, f"{base}/demo/sms", mail_port)
    app = create_app(settings)
    app.add_subapp("/demo/sms/", sms.app())
    app.add_subapp("/demo/mail/", mailbox.app())

    async def demo(app: web.Application) -> AsyncIterator[None]:
        await mailbox.start("127.0.0.1", mail_port)
        made = await seed.seed(app[DATABASE], leads=leads)
        runtime = app[RUNTIME]
        if isinstance(runtime, Runtime) and runtime.voice is not None:
            await runtime.voice.refresh_credentials()  # the virtual operators' phones register next
        _announce(made, base, say, sip=(_reachable(settings.sip.host), settings.sip.port))
        if runtime.engine is None:
            say("the engine is off ([sip] enabled = false): the demo seeds its data but nobody dials")
            yield
            await mailbox.stop()
            return
        clock = MediaClock()
        voices = Voices.load()
        registrar = (
            "127.0.0.1" if settings.sip.host in ("0.0.0.0", "::") else settings.sip.host,
            settings.sip.port,
        )
        phones = [
            VirtualPhone(login, made.virtual_password, registrar, clock, voices) for login in seed.VIRTUAL
        ]
        await asyncio.gather(*(phone.start() for phone in phones))
        http = aiohttp.ClientSession()
        answered = AnswerMessages(app[DATABASE], settings, runtime.messages_queued)
        bots = [
            OperatorBot(phone.login, made.virtual_password, base, phone, seed=n, answered=answered)
            for n, phone in enumerate(phones)
        ]
        tasks = [asyncio.create_task(bot.run(http), name=f"bot-{bot.login}") for bot in bots]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await http.close()
            await asyncio.gather(*(phone.stop() for phone in phones), return_exceptions=True)
            await mailbox.stop()

    app.cleanup_ctx.append(demo)
    return app


@dataclass(frozen=True)
class AnswerMessages:
    """What a script's answer would send: an SMS for a callback, the missing fields by email for a
    completed application (when the client gave an address). Once per call and template."""

    db: AsyncEngine
    settings: Settings
    queued: Callable[[], None]

    async def __call__(self, login: str, screen: dict[str, Any], outcome: str) -> None:
        card = screen.get("lead") or {}
        lead = card.get("external_id")
        template = {"callback": "callback-sms", "completed": "documents-email"}.get(outcome)
        if not lead or template is None:
            return
        if template == "documents-email" and not (card.get("data") or {}).get("email"):
            return
        request = MessageIn(template=template, operator=login, valid_for=3600,
                            idempotency_key=f"{lead}:{screen.get('call_id')}:{template}")  # fmt: skip
        async with writing(self.db) as conn:
            project = await messages.project_row(conn, seed.SLUG)
            await messages.queue_message(conn, self.settings.channels, project, lead, request)
        self.queued()


def _with_demo_channels(settings: Settings, sms_url: str, mail_port: int) -> Settings:
    """The demo project's SMS go to the local SMSC stand-in unless a channel serves it already; with
    no email channel at all, every email (the console's invitations too) goes to the demo mailbox."""
    channels = dict(settings.channels)
    served = {c.medium for c in channels.values() if not c.projects or seed.SLUG in c.projects}
    if "sms" not in served:
        channels["demo-sms"] = SmscSettings(kind="smsc", projects=[seed.SLUG], login="demo", password="demo",
                                            hosts=[sms_url], sender="ZaimyDemo", status_every=10)  # fmt: skip
    if not any(c.medium == "email" for c in channels.values()):
        # every project's and the console's own (invitations, resets): the demo's mailbox shows them
        channels["demo-email"] = SmtpSettings(
            kind="smtp", host="127.0.0.1", port=mail_port, security="none",
            from_address="zaimy-demo@example.net", from_name=seed.NAME,
        )  # fmt: skip
    return settings.model_copy(update={"channels": channels})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _reachable(host: str) -> str:
    """Where this process reaches a socket of its own bound to ``host`` (all interfaces: loopback)."""
    return "127.0.0.1" if host in ("0.0.0.0", "::") else host


def _announce(made: seed.Demo, base: str, say: Callable[[str], None], *, sip: tuple[str, int]) -> None:
    project = made.project.slug
    say(f"Demo call centre «{seed.NAME}» (project {project}) is dialling through the simulated carrier.")
    say(f"  open {base}/ for what runs, {base}/api/docs for the API, {base}/metrics for the counters")
    if made.token is not None:
        say(f"  project token (shown once): {made.token}")
        live = f"{base}/api/v1/projects/{project}/campaigns/predictive/live"
        say(f"  live view: curl -H 'Authorization: Bearer {made.token}' {live}")
    say(f"  messages the demo sends: SMS {base}/demo/sms/ , email {base}/demo/mail/")
    if made.admin_password is not None:
        say(f"  web console {base}/ : sign in as {seed.ADMIN}, password {made.admin_password} (shown once)")
    if made.person_password is not None:
        say(f"  your operator account (shown once): login {seed.PERSON}, password {made.person_password}")
        say(
            f"  work calls at {base}/work : open the Browser phone tab and connect it (nothing to install), "
            f"or register a SIP softphone as {seed.PERSON} (same password) at {sip[0]}:{sip[1]} (UDP); "
            "then press Ready"
        )
    if not made.created:
        say("  (made earlier: the token and password were shown then; `dialer demo reset` starts afresh)")
    say("  Ctrl-C stops it; `dialer demo reset` removes the demo's rows.")
