"""The demo's virtual operators: a softphone and a person at the keyboard, both inside the process.

:class:`VirtualPhone` registers its extension to the dialer's registrar like any softphone (digest
authentication, re-registered before it expires) and answers the dialer's call at once (the nailed-up
line of a shift); it speaks when a client is put through. :class:`OperatorBot` works through the same
operator API as a person: opens a session with the password, goes ready, follows its screen on the
event stream, talks for a drawn time, then records a disposition (sometimes a callback pinned to
itself in a few minutes); now and then it pauses with a reason and comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import structlog

from dialer.accounts.operators import SIP_REALM
from dialer.storage.types import utcnow
from dialer.voice.carrier import Voices
from sip.stack import Address, SipStack
from sip.streams.clock import MediaClock
from sip.streams.player import Player
from sip.uas import Answerer, Plan
from sip.useragent import Credentials, UserAgent

log = structlog.get_logger(__name__)
REGISTER_FOR = 300  # seconds a registration lasts; renewed at 80 %
OUTCOMES = [("completed", 0.55), ("not_interested", 0.2), ("wrong_number", 0.1), ("callback", 0.15)]


class VirtualPhone:
    def __init__(
        self, login: str, password: str, registrar: Address, clock: MediaClock, voices: Voices
    ) -> None:
        self.login = login
        self.password = password
        self.registrar = registrar
        self.clock = clock
        self.voices = voices
        self.stack = SipStack()
        self.answerer = Answerer(self.stack, clock, lambda _invite: Plan(200, ring=0.2), user=login)
        self.agent: UserAgent | None = None
        self._renewing: asyncio.Task[None] | None = None
        self.rng = random.Random(login)

    async def start(self) -> None:
        await self.stack.open("127.0.0.1", 0)
        self.answerer.install()
        credentials = Credentials(self.login, self.password)
        self.agent = UserAgent(self.stack, self.registrar, domain=SIP_REALM, credentials=credentials,
                               user_agent="dialer-demo-phone")  # fmt: skip
        await self.agent.register(expires=REGISTER_FOR)
        self._renewing = asyncio.create_task(self._renew(), name=f"register-{self.login}")

    async def _renew(self) -> None:
        assert self.agent is not None
        while True:
            await asyncio.sleep(REGISTER_FOR * 0.8)
            try:
                await self.agent.register(expires=REGISTER_FOR)
            except Exception as exc:
                log.warning("virtual phone could not register again", operator=self.login, error=str(exc))

    def speak(self) -> None:
        """Say a phrase to whoever is on the line."""
        for call in self.answerer.calls.values():
            if call.leg is not None and self.voices.operators:
                Player(call.leg, self.rng.choice(self.voices.operators))

    async def stop(self) -> None:
        if self._renewing is not None:
            self._renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing
        await self.answerer.close()
        if self.agent is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.agent.register(expires=0), 2.0)
            await self.agent.settle(1.0)
        self.stack.close()


Answered = Callable[[str, dict[str, Any], str], Awaitable[None]]


class OperatorBot:
    """A virtual operator on the operator API; ``answered(login, screen, outcome)`` is told of every
    disposition (the demo sends the client an SMS or email from it, as a script's answer would)."""

    def __init__(
        self,
        login: str,
        password: str,
        base: str,
        phone: VirtualPhone,
        *,
        seed: int = 0,
        answered: Answered | None = None,
    ) -> None:
        self.login = login
        self.answered = answered
        self.password = password
        self.base = f"{base}/api/v1/operators/{login}"
        self.phone = phone
        self.rng = random.Random(f"{login}-{seed}")
        self.calls = 0
        self._token = ""

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    async def run(self, http: aiohttp.ClientSession) -> None:
        """Work the shift until cancelled (then go offline)."""
        try:
            await self._sign_in(http)
            await self._state(http, "ready")
            await self._follow(http)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._state(http, "offline"))

    async def _sign_in(self, http: aiohttp.ClientSession) -> None:
        for _ in range(100):  # the server may still be starting
            try:
                async with http.post(f"{self.base}/session", json={"password": self.password}) as response:
                    if response.status == 201:
                        self._token = (await response.json())["token"]
                        return
                    log.warning(
                        "virtual operator cannot sign in", operator=self.login, status=response.status
                    )
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.5)
        raise RuntimeError(f"virtual operator {self.login} could not sign in")

    async def _state(self, http: aiohttp.ClientSession, state: str, reason: str | None = None) -> None:
        body: dict[str, Any] = {"state": state} | ({"reason": reason} if reason else {})
        async with http.put(f"{self.base}/state", json=body, headers=self._auth) as response:
            if response.status != 200:
                log.info("virtual operator's state not changed", operator=self.login, state=state,
                         answer=(await response.text())[:200])  # fmt: skip

    async def _follow(self, http: aiohttp.ClientSession) -> None:
        handled: set[str] = set()
        talking: asyncio.Task[None] | None = None
        try:
            async for screen in self._screens(http):
                call_id = screen.get("call_id")
                if screen.get("preview") or not call_id or call_id in handled:
                    continue
                handled.add(call_id)
                if talking is not None and not talking.done():
                    talking.cancel()
                talking = asyncio.create_task(self._talk(http, screen))
        finally:
            if talking is not None and not talking.done():
                talking.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await talking

    async def _screens(self, http: aiohttp.ClientSession) -> AsyncIterator[dict[str, Any]]:
        """The operator's screen from the event stream (reconnecting as a browser would)."""
        while True:
            try:
                timeout = aiohttp.ClientTimeout(total=None, sock_read=60)
                async with http.get(f"{self.base}/events", headers=self._auth, timeout=timeout) as response:
                    data: list[str] = []
                    async for raw in response.content:
                        line = raw.decode().rstrip("\r\n")
                        if line.startswith("data:"):
                            data.append(line[5:].strip())
                        elif not line and data:
                            yield json.loads("\n".join(data))
                            data = []
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(1.0)

    async def _talk(self, http: aiohttp.ClientSession, screen: dict[str, Any]) -> None:
        try:
            await self._converse(http, screen)
        except (aiohttp.ClientError, TimeoutError) as exc:  # the server went away mid-call
            log.info("virtual operator's call ended without a disposition", operator=self.login,
                     call_id=screen.get("call_id"), error=str(exc))  # fmt: skip

    async def _converse(self, http: aiohttp.ClientSession, screen: dict[str, Any]) -> None:
        amd_check = bool(screen.get("amd_check"))
        self.phone.speak()
        await asyncio.sleep(self.rng.uniform(6.0, 20.0))
        outcome = self.rng.choices([o for o, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]
        body: dict[str, Any] = {"outcome": outcome, "notes": "демо: уточнены недостающие поля заявки"}
        if outcome == "callback":
            body["callback_at"] = (utcnow() + timedelta(minutes=self.rng.uniform(2, 5))).isoformat()
        if amd_check:
            body["amd_review"] = "machine" if self.rng.random() < 0.8 else "person"
        async with http.post(f"{self.base}/disposition", json=body, headers=self._auth) as response:
            await response.read()
            disposed = response.status == 200
        self.calls += 1
        if disposed and self.answered is not None:
            try:
                await self.answered(self.login, screen, outcome)
            except Exception:  # a message that cannot go must not stop the operator's shift
                log.exception("virtual operator's message not queued", operator=self.login)
        if self.rng.random() < 0.08:  # a short break now and then
            await asyncio.sleep(6.0)  # after the wrap-up
            await self._state(http, "paused", "перерыв")
            await asyncio.sleep(self.rng.uniform(15.0, 40.0))
            await self._state(http, "ready")
