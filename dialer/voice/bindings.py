"""Operators' phone registrations kept in the database, per engine instance.

Many softphones register for an hour; if the engine restarts (an upgrade, a crash) and forgets where
they are, operators cannot go ready until their phones happen to register again. The registrar's
bindings are written here as they change and restored at start, before the first REGISTER is
answered. Expiry is stored as wall time and converted to and from the registrar's monotonic clock.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import structlog
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.storage import reading, writing
from dialer.storage.tables import PHONE_BINDING
from dialer.storage.types import utcnow
from sip.registrar import Binding

log = structlog.get_logger(__name__)


async def load(engine: AsyncEngine, instance: str) -> list[Binding]:
    """The instance's bindings that have not expired, on the monotonic clock."""
    now, mono = utcnow(), time.monotonic()
    async with reading(engine) as conn:
        rows = (
            await conn.execute(
                select(PHONE_BINDING).where(
                    PHONE_BINDING.c.instance == instance, PHONE_BINDING.c.expires_at > now
                )
            )
        ).all()
    found = []
    for row in rows:
        expires_at = mono + (row.expires_at - now).total_seconds()
        found.append(Binding(row.login, row.contact, (row.host, row.port), expires_at, row.user_agent))
    return found


class BindingKeeper:
    """Writes the registrar's changes in the order they happened, off the SIP path: the registrar
    calls :meth:`changed` (sync), a task writes."""

    def __init__(self, engine: AsyncEngine, instance: str) -> None:
        self.engine = engine
        self.instance = instance
        self._changes: asyncio.Queue[tuple[str, Binding | None] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="phone-bindings")

    def changed(self, login: str, binding: Binding | None) -> None:
        self._changes.put_nowait((login, binding))

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._task is not None:
            self._changes.put_nowait(None)
            await self._task

    async def _run(self) -> None:
        while (change := await self._changes.get()) is not None:
            login, binding = change
            try:
                await self._write(login, binding)
            except (SQLAlchemyError, OSError) as exc:  # the phone still works; only a restart would forget it
                log.warning("phone registration not stored", operator=login, error=str(exc))

    async def _write(self, login: str, binding: Binding | None) -> None:
        async with writing(self.engine) as conn:
            where = (PHONE_BINDING.c.instance == self.instance) & (PHONE_BINDING.c.login == login)
            await conn.execute(delete(PHONE_BINDING).where(where))
            if binding is None:
                return
            expires_at = utcnow() + timedelta(seconds=binding.expires_at - time.monotonic())
            host, port = binding.address
            await conn.execute(
                insert(PHONE_BINDING).values(instance=self.instance, login=login, contact=binding.contact,
                                        host=host, port=port, user_agent=binding.user_agent,
                                        expires_at=expires_at)
            )  # fmt: skip
