"""Typed keys for what the application stores."""

from __future__ import annotations

from typing import Protocol

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.config import Settings
from dialer.engine.service import EngineService
from dialer.engine.views import TrunkView
from dialer.throttle import Throttle
from dialer.web.metrics import HttpMetrics
from sms_email.sender import ChannelState


class Served(Protocol):
    """What the web needs of the runtime it serves (:class:`dialer.runtime.Runtime`): the database,
    the engine when this process dials (None with ``[sip] enabled = false``), the trunks' and the
    message channels' states."""

    @property
    def db(self) -> AsyncEngine: ...

    @property
    def engine(self) -> EngineService | None: ...

    def trunks(self) -> list[TrunkView]: ...

    def channels(self) -> list[ChannelState]: ...

    def messages_queued(self) -> None: ...

    async def credentials_changed(self) -> None: ...

    async def browser_phone(self, login: str, offer_sdp: str) -> str: ...

    def echo(self, login: str, on: bool) -> bool: ...

    async def stop(self) -> None: ...


SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", AsyncEngine)
METRICS = web.AppKey("metrics", HttpMetrics)
RUNTIME = web.AppKey("runtime", Served)
THROTTLE = web.AppKey("throttle", Throttle)  # failed password checks, shared by the API and the registrar
