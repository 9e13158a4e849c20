"""``dialer demo``: the server of ``dialer serve`` with the demo call centre inside it.

The application is :func:`dialer.runtime.create_app`'s, plus one more resource started after the
runtime: it seeds the demo (once), prints what a person needs to look around (the project token and
the human operator's password, shown when they are made), registers the ten virtual operators' phones
and starts their bots, which sign in over the HTTP API once the server listens. On Ctrl-C the bots go
offline first, then the runtime stops as ``dialer serve`` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import aiohttp
import structlog
from aiohttp import web

from dialer.config import Settings
from dialer.demo import seed
from dialer.demo.operators import OperatorBot, VirtualPhone
from dialer.runtime import Runtime, create_app
from dialer.voice.carrier import Voices
from dialer.web.keys import DATABASE, RUNTIME
from sip.streams.clock import MediaClock

log = structlog.get_logger(__name__)


def demo_app(settings: Settings, *, say: Callable[[str], None] = print, leads: int = 400) -> web.Application:
    app = create_app(settings)

    async def demo(app: web.Application) -> AsyncIterator[None]:
        made = await seed.seed(app[DATABASE], leads=leads)
        runtime = app[RUNTIME]
        if isinstance(runtime, Runtime) and runtime.voice is not None:
            await runtime.voice.refresh_credentials()  # the virtual operators' phones register next
        base = f"http://{_reachable(settings.server.host)}:{settings.server.port}"
        _announce(made, base, say)
        if runtime.engine is None:
            say("the engine is off ([sip] enabled = false): the demo seeds its data but nobody dials")
            yield
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
        bots = [
            OperatorBot(phone.login, made.virtual_password, base, phone, seed=n)
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

    app.cleanup_ctx.append(demo)
    return app


def _reachable(host: str) -> str:
    """Where this process reaches a socket of its own bound to ``host`` (all interfaces: loopback)."""
    return "127.0.0.1" if host in ("0.0.0.0", "::") else host


def _announce(made: seed.Demo, base: str, say: Callable[[str], None]) -> None:
    project = made.project.slug
    say(f"Demo call centre «{seed.NAME}» (project {project}) is dialling through the simulated carrier.")
    say(f"  open {base}/ for what runs, {base}/api/docs for the API, {base}/metrics for the counters")
    if made.token is not None:
        say(f"  project token (shown once): {made.token}")
        live = f"{base}/api/v1/projects/{project}/campaigns/predictive/live"
        say(f"  live view: curl -H 'Authorization: Bearer {made.token}' {live}")
    if made.person_password is not None:
        say(f"  your operator account (shown once): login {seed.PERSON}, password {made.person_password}")
    if not made.created:
        say("  (made earlier: the token and password were shown then; `dialer demo reset` starts afresh)")
    say("  Ctrl-C stops it; `dialer demo reset` removes the demo's rows.")
